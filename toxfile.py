"""tox environments: every `<platform>-<suite>` session from skiplists/ (`tox l`)."""

import sys
from importlib.metadata import entry_points
from pathlib import Path

# this checkout's testmatrix, as the noxfile's: tox need not install us
sys.path.insert(0, str(Path(__file__).parent / "src"))
# Installed, the package's entry point loads the hooks (from here, src/ being first);
# registering them here too would run each twice.
if not any(ep.value == "testmatrix.tox.plugin" for ep in entry_points(group="tox")):
    from testmatrix.tox.plugin import (  # noqa: F401
        tox_add_core_config,
        tox_add_env_config,
        tox_after_run_commands,
        tox_before_run_commands,
        tox_extend_envs,
    )
