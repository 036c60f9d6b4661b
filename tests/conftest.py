"""Shared fixtures of the bundled suite (a miniature of vLLM's tests/conftest.py)."""

import math

import pytest


@pytest.fixture(scope="session")
def audio_sample() -> list[float]:
    """Two seconds of a decaying tone, as feature frames."""
    return [math.sin(i * 0.3) * math.exp(-i / 40) for i in range(48)]


@pytest.fixture(scope="session")
def long_audio_sample(audio_sample) -> list[float]:
    return audio_sample * 6


@pytest.fixture(scope="session")
def image_sample() -> list[float]:
    """A tiny 4x4 grey-scale image, flattened."""
    return [((x * 7 + y * 3) % 11) / 10 for x in range(4) for y in range(4)]
