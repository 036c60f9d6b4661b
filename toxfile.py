"""tox environments: every `<platform>-<suite>` session from skiplists/ (`tox l`)."""

import sys
from importlib.metadata import entry_points
from pathlib import Path

# Installed, the package's entry point loads the hooks (from here, src/ being first);
# registering them here too would run each twice. Asked before src/ joins the path: an
# editable install's metadata under src/ (nox -s tests makes one) is not tox's plugin.
installed = any(ep.value == "testmatrix.tox.plugin" for ep in entry_points(group="tox"))
# this checkout's testmatrix, as the noxfile's: tox need not install us
sys.path.insert(0, str(Path(__file__).parent / "src"))
if not installed:
    from testmatrix.tox.plugin import (  # noqa: F401
        tox_add_core_config,
        tox_add_env_config,
        tox_after_run_commands,
        tox_before_run_commands,
        tox_extend_envs,
    )
