"""One skiplist drives nox sessions, pytest skips and Buildkite pipelines."""

__version__ = "0.1.0"
