"""An example workspace whose two suites each need a GPU: `nox -t cuda -j 2`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from testmatrix.nox.sessions import register  # noqa: E402

register(Path(__file__).parent)
