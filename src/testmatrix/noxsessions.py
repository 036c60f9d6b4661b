"""The nox front door at its published path: `testmatrix.noxsessions.register`."""

from testmatrix.nox.sessions import pytest_session, register

__all__ = ["pytest_session", "register"]
