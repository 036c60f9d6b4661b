"""Reading JSON inputs with one-line, located errors."""

from __future__ import annotations

import json
from pathlib import Path

from .errors import TestmatrixError


def read_json(path: Path, what: str) -> object:
    """The parsed file; a missing or malformed file is one line naming it."""
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise TestmatrixError(f"{path}: cannot read {what}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise TestmatrixError(
            f"{path}:{exc.lineno}: {what} is not JSON: {exc.msg}"
        ) from None
