"""nox sessions, generated from skiplists/: run `nox -l` to list them."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "src"))  # nox's own interpreter need not install us

from testmatrix.noxsessions import register  # noqa: E402

WORKSPACE = register(Path(__file__).parent)
