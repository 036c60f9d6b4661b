"""tox environments: every `<platform>-<suite>` session from skiplists/ (`tox l`)."""

import sys
from importlib.metadata import entry_points
from pathlib import Path

# Installed, the package's entry point loads the hooks; registering them here too
# would run each twice. Otherwise tox need not install us, as nox need not.
if not any(ep.value == "testmatrix.tox.plugin" for ep in entry_points(group="tox")):
    sys.path.insert(0, str(Path(__file__).parent / "src"))
    from testmatrix.tox.plugin import (  # noqa: F401
        tox_add_core_config,
        tox_add_env_config,
        tox_after_run_commands,
        tox_before_run_commands,
        tox_extend_envs,
    )
