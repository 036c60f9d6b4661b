"""The skiplists' declarations (testmatrix.schema) and the loader built on them.

One table of bad files and the exact lines they give; good files and the model they
build; the shipped JSON Schemas are the declarations' and agree with the loader.
Fast: files in tmp_path, no subprocess.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import sys
import textwrap
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from selftest.helpers import REPO, write
from testmatrix.config import buildkite_keys, codec, schema, schemafiles
from testmatrix.config import cache as wscache
from testmatrix.config.loader import load_workspace
from testmatrix.config.tables import Document
from testmatrix.core.model import (
    BuildkiteSettings,
    DeselectEntry,
    Exclude,
    FlakyEntry,
    IgnoreEntry,
    Location,
    ModelList,
    Platform,
    SkipEntry,
    Suite,
    Variant,
    Workspace,
)
from testmatrix.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SUITE = '[suites.unit]\npath = "tests/unit"\n'
ROCM = """[platform]
hardware = "rocm"

[variants.mi300]
match = ["gfx942"]

[variants.mi355]
match = ["gfx950"]
"""  # entries appended to it start at line 9
BASE = {
    "skiplists/suites.toml": SUITE,
    "skiplists/models.toml": '[model_lists.enc]\nmodels = ["org/enc"]\n',
    "skiplists/platforms/rocm.toml": ROCM,
    "skiplists/platforms/cuda.toml": '[platform]\nhardware = "cuda"\n',
    "tests/unit/test_alpha.py": "",
    "tests/unit/data.txt": "",
    "tests/unit/sub/test_beta.py": "",
    "tests/other/test_c.py": "",
}


@dataclasses.dataclass(frozen=True)
class Bad:
    file: str  # under skiplists/, replaced by `text`
    text: str
    # "LINE: message" in the row's file, or "FILE[:LINE]: message" under skiplists/
    problems: tuple[str, ...]
    schema: bool = True  # whether the JSON Schema refuses the file too


MARKS = "a pytest {} expression: "
ENV_NAME = (
    "not an environment variable name (letters, digits and '_', not starting with a "
    "digit)"
)
NO_REASON = (
    "[suites.unit] gives 'platforms' but no 'platforms_reason': say why it runs only "
    "there (explain shows it where the suite has no session)"
)

# a suite's args: the first four are accepted, the rest refused (lines 8 to 25)
ARGS = (
    "--timeout=600",
    "-x",
    "--pyargs",
    "--ignore-me",
    "--ignore=tests/unit/sub",
    "--ignore-glob=*_slow.py",
    "--deselect tests/unit/test_alpha.py",
    "-pno:cacheprovider",
    "-m",
    "-knot_slow",
    "--platform=rocm",
    "--variant",
    "--suite=unit",
    "--no-skiplist",
    "--skiplists=x",
    "--junitxml=r.xml",
    "--junit-xml",
    "--summary-json=s.json",
    "--shard-id=0",
    "--num-shards=2",
    "--rootdir=.",
    "-c",
)
EXCLUDE = "use 'exclude' (every platform) or an [[ignore]] entry (one platform)"
DESELECT = "use a [[deselect]] entry in the platform's file"
PLUGINS = "declare plugins in conftest.py (pytest_plugins): sessions load testmatrix's"
REPORTS = "the session writes its reports under 'reports_dir' in [workspace]"
SHARDS = "use 'parallelism' in the suite's 'buildkite' table"
ROOT = "the workspace root (which holds skiplists/)"


def refused(line: int, arg: str, advice: str) -> str:
    return f"{line}: 'args' in [suites.unit] may not pass '{arg}': {advice}"


BAD = {
    # -- suites.toml: [workspace] ----------------------------------------------------
    "workspace-kinds": Bad(
        "suites.toml",
        '[workspace]\ngpus = "two"\ninstall = "."\nmodel_pattern = "("\nlease_dir = 1\n'
        'reports_dir = "/tmp/r"\ninstal = ["."]\n' + SUITE,
        (
            "2: 'gpus' in [workspace] must be an integer >= 0, got 'two'",
            "3: 'install' in [workspace] must be a list of pip arguments (strings), "
            "got '.'",
            "4: 'model_pattern' in [workspace] is not a regular expression: missing ), "
            "unterminated subpattern at position 0",
            "5: 'lease_dir' in [workspace] must be a non-empty string, got 1",
            "6: 'reports_dir' in [workspace] must be a relative path, got '/tmp/r'",
            "7: unknown key 'instal' in [workspace] (did you mean 'install'?)",
        ),
    ),
    "workspace-patterns-that-backtrack": Bad(
        "suites.toml",
        '[workspace]\nmodel_params = "(?<!x)model"\nmodel_pattern = "(a)\\\\1"\n'
        + SUITE,
        (
            "2: 'model_params' in [workspace] is refused: lookbehinds are refused "
            "(column 1)",
            "3: 'model_pattern' in [workspace] is refused: '\\1': backreferences and "
            "octal escapes are refused (column 4)",
        ),
        schema=False,  # JSON Schema's "regex" format is any regular expression
    ),
    "workspace-gpus-negative": Bad(
        "suites.toml",
        "[workspace]\ngpus = -1\n" + SUITE,
        ("2: 'gpus' in [workspace] must be an integer >= 0, got -1",),
    ),
    "reports-dir-leaves": Bad(
        "suites.toml",
        '[workspace]\nreports_dir = "../out"\n' + SUITE,
        ("2: path '../out' leaves the workspace",),
        schema=False,
    ),
    "reports-dir-root": Bad(
        "suites.toml",
        '[workspace]\nreports_dir = "."\n' + SUITE,
        ("2: path '.' is the workspace root itself",),
        schema=False,
    ),
    "workspace-buildkite": Bad(
        "suites.toml",
        '[workspace.buildkite]\npipeline = 1\nqueue = ""\nagents = "gpu"\n'
        "soft_fail = 1\n" + SUITE,
        (
            "2: 'pipeline' in [workspace.buildkite] must be a non-empty string, got 1",
            "3: 'queue' in [workspace.buildkite] must be a non-empty string, got ''",
            "4: 'agents' in [workspace.buildkite] must be a table of names to strings, "
            "numbers or booleans, got 'gpu'",
            "5: 'soft_fail' in [workspace.buildkite] must be true, false or a list "
            "of exit statuses, got 1",
        ),
    ),
    # -- suites.toml: the file and [suites.NAME] tables ------------------------------
    "unknown-table": Bad(
        "suites.toml",
        '[suite.unit]\npath = "tests/unit"\n',
        (
            "1: unknown table 'suite' (did you mean 'suites'?); expected [workspace], "
            "[groups.NAME] or [suites.NAME]",
            "1: no suites declared (expected [suites.NAME] tables)",
        ),
    ),
    "no-suites": Bad(
        "suites.toml",
        '[workspace]\ninstall = ["."]\n',
        ("1: no suites declared (expected [suites.NAME] tables)",),
    ),
    "empty-suites": Bad(
        "suites.toml",
        "[suites]\n",
        ("1: no suites declared (expected [suites.NAME] tables)",),
    ),
    "suite-name": Bad(
        "suites.toml",
        '[suites.Unit]\npath = "tests/unit"\n',
        ("1: suite name 'Unit' must be lower-case letters, digits, '-' or '_'",),
    ),
    "suite-not-a-table": Bad(
        "suites.toml",
        '[suites]\nunit = "tests/unit"\n',
        ("2: 'unit' in [suites] must be a table, got 'tests/unit'",),
    ),
    "suite-scalars": Bad(
        "suites.toml",
        SUITE + 'description = ""\nexclude_reason = 3\ndurations = 3\ngpus = 0\n'
        'reruns = 21\nreruns_delay = "soon"\nbuildkite = 3\n',
        (
            "3: 'description' in [suites.unit] must be a non-empty string, got ''",
            "4: 'exclude_reason' in [suites.unit] must be a non-empty string, got 3",
            "5: 'durations' in [suites.unit] must be a relative path, got 3",
            "6: 'gpus' in [suites.unit] must be an integer from 1 to 64, got 0",
            "7: 'reruns' in [suites.unit] must be an integer from 1 to 20, got 21",
            "8: 'reruns_delay' in [suites.unit] must be a number of seconds from 0 to "
            "3600, got 'soon'",
            "9: 'buildkite' in [suites.unit] must be a table, got 3",
        ),
    ),
    "gpus-boolean": Bad(
        "suites.toml",
        SUITE + "gpus = true\nreruns_delay = -0.5\n",
        (
            "3: 'gpus' in [suites.unit] must be an integer from 1 to 64, got true",
            "4: 'reruns_delay' in [suites.unit] must be a number of seconds from 0 to "
            "3600, got -0.5",
        ),
    ),
    "path-absolute": Bad(
        "suites.toml",
        '[suites.unit]\npath = "/abs"\n',
        ("2: 'path' in [suites.unit] must be a relative path, got '/abs'",),
    ),
    "path-leaves": Bad(
        "suites.toml",
        '[suites.unit]\npath = "../x"\n',
        ("2: path '../x' leaves the workspace",),
        schema=False,
    ),
    "paths-empty": Bad(
        "suites.toml",
        "[suites.unit]\npaths = []\n",
        (
            "2: 'paths' in [suites.unit] must be a non-empty list of relative paths, "
            "got an empty array",
        ),
    ),
    "path-and-paths": Bad(
        "suites.toml",
        '[suites.unit]\npath = "tests/unit"\npaths = ["tests/other"]\n',
        ("3: [suites.unit] gives both 'path' and 'paths': use one",),
    ),
    "no-path": Bad(
        "suites.toml",
        '[suites.unit]\ndescription = "unit tests"\n',
        ("1: [suites.unit] has no 'path' (or 'paths', or 'runs')",),
    ),
    "path-missing-file": Bad(
        "suites.toml",
        '[suites.unit]\npath = "tests/unit/test_x.py"\n',
        ("2: suite 'unit': file 'tests/unit/test_x.py' does not exist",),
        schema=False,
    ),
    "path-not-python": Bad(
        "suites.toml",
        '[suites.unit]\npath = "tests/unit/data.txt"\n',
        (
            "2: suite 'unit': 'tests/unit/data.txt' is neither a directory nor a .py "
            "file",
        ),
        schema=False,
    ),
    "paths-overlap": Bad(
        "suites.toml",
        '[suites.unit]\npaths = [\n  "tests/unit",\n  "tests/unit/",\n'
        '  "tests/unit/sub",  # "a quoted comment"\n  "tests/gone",\n]\n',
        (
            "4: duplicate path 'tests/unit/' in [suites.unit]",
            "5: paths 'tests/unit/sub' and 'tests/unit' in [suites.unit] overlap",
            "6: suite 'unit': directory 'tests/gone' does not exist",
        ),
        schema=False,
    ),
    "excludes": Bad(
        "suites.toml",
        SUITE + 'exclude = [\n  "../other",\n  "sub/test_betta.py",\n  "sub",\n'
        '  "./sub/",\n  ".",\n]\n',
        (
            "4: excluded path '../other' is outside suite 'unit' (tests/unit)",
            "5: excluded path 'sub/test_betta.py' does not exist in suite 'unit' "
            "(tests/unit/sub/test_betta.py); was it renamed or deleted? (did you mean "
            "'sub/test_beta.py'?)",
            "7: duplicate exclude of 'tests/unit/sub' (first at "
            "skiplists/suites.toml:6)",
            "8: excluded path '.' is all of the suite's path 'tests/unit': exclude "
            "part of it, or drop the path",
        ),
        schema=False,
    ),
    "exclude-kind": Bad(
        "suites.toml",
        SUITE + 'exclude = "sub"\n',
        ("3: 'exclude' in [suites.unit] must be a list of relative paths, got 'sub'",),
    ),
    "expressions": Bad(
        "suites.toml",
        SUITE + 'markexpr = "not"\nkeyword = "a b"\n',
        (
            "3: 'markexpr' in [suites.unit] is not a valid pytest -m expression: "
            "expected not, ( or an identifier; found end of input (column 4)",
            "4: 'keyword' in [suites.unit] is not a valid pytest -k expression: "
            "expected end of input; found 'b' (column 3)",
        ),
        schema=False,
    ),
    "env": Bad(
        "suites.toml",
        SUITE + '[suites.unit.env]\n1X = "a"\nY = { z = 1 }\nZ = [1]\n',
        (
            f"4: 'env' in [suites.unit] names '1X', {ENV_NAME}",
            "5: 'env' in [suites.unit] must map 'Y' to a string, number or boolean, "
            "got a table",
            "6: 'env' in [suites.unit] must map 'Z' to a string, number or boolean, "
            "got an array",
        ),
    ),
    "env-kind": Bad(
        "suites.toml",
        SUITE + 'env = "X=1"\n',
        (
            "3: 'env' in [suites.unit] must be a table of environment variable names "
            "to strings, numbers or booleans, got 'X=1'",
        ),
    ),
    "args-refused": Bad(
        "suites.toml",
        SUITE + "args = [\n" + "".join(f'  "{a}",\n' for a in ARGS) + "]\n",
        (
            refused(8, "--ignore=tests/unit/sub", EXCLUDE),
            refused(9, "--ignore-glob=*_slow.py", EXCLUDE),
            refused(10, "--deselect tests/unit/test_alpha.py", DESELECT),
            refused(11, "-pno:cacheprovider", PLUGINS),
            refused(12, "-m", "use 'markexpr'"),
            refused(13, "-knot_slow", "use 'keyword'"),
            refused(
                14,
                "--platform=rocm",
                "use 'platforms': the session passes --testmatrix-platform",
            ),
            refused(
                15,
                "--variant",
                "use 'platforms' ('platform:variant'): the session passes "
                "--testmatrix-variant",
            ),
            refused(
                16,
                "--suite=unit",
                "the session passes --testmatrix-suite: declare another suite instead",
            ),
            refused(
                17,
                "--no-skiplist",
                "pass it when running: nox -s SESSION -- --no-skiplist",
            ),
            refused(
                18, "--skiplists=x", "the session passes the workspace's skiplists/"
            ),
            refused(19, "--junitxml=r.xml", REPORTS),
            refused(20, "--junit-xml", REPORTS),
            refused(21, "--summary-json=s.json", REPORTS),
            refused(22, "--shard-id=0", SHARDS),
            refused(23, "--num-shards=2", SHARDS),
            refused(24, "--rootdir=.", f"{ROOT} is the rootdir"),
            refused(25, "-c", f"{ROOT} has the pytest configuration"),
        ),
    ),
    "args-kind": Bad(
        "suites.toml",
        SUITE + 'args = "-x"\n',
        (
            "3: 'args' in [suites.unit] must be a list of pytest arguments (strings), "
            "got '-x'",
        ),
    ),
    "platforms-references": Bad(
        "suites.toml",
        SUITE + 'platforms = [\n  "rocn",\n  "rocm:mi35",\n  "rocm",\n  "rocm:mi300",\n'
        '  "rocm",\n  "cuda:h100",\n]\nplatforms_reason = "needs a GPU"\n',
        (
            "4: unknown platform 'rocn' (did you mean 'rocm'?); known: cuda, rocm",
            "5: unknown rocm variant 'mi35' (did you mean 'mi355'?); known: mi300, "
            "mi355",
            "7: 'rocm:mi300' in [suites.unit] is redundant: 'rocm' runs it on every "
            "variant",
            "8: duplicate platform 'rocm' in [suites.unit]",
            "9: unknown cuda variant 'h100'; known: none",
        ),
        schema=False,
    ),
    "platforms-kind": Bad(
        "suites.toml",
        SUITE + 'platforms = ["ROCm"]\nplatforms_reason = "needs a GPU"\n',
        (
            "3: 'platforms' in [suites.unit] must be a non-empty list of platforms "
            "('rocm') or variants ('rocm:mi355'), got 'ROCm'",
        ),
    ),
    "platforms-without-reason": Bad(
        "suites.toml", SUITE + 'platforms = ["rocm"]\n', (f"3: {NO_REASON}",)
    ),
    "reason-without-platforms": Bad(
        "suites.toml",
        SUITE + 'platforms_reason = "needs a GPU"\n',
        (
            "3: 'platforms_reason' in [suites.unit] explains 'platforms', which it "
            "does not give",
        ),
    ),
    "suite-buildkite": Bad(
        "suites.toml",
        SUITE + '[suites.unit.buildkite]\nqueu = "x"\npipeline = "p.yml"\n'
        "timeout_in_minutes = 0\nparallelism = 1.5\nretry = 11\n"
        'command_style = "bash"\nagents = { gpu = [1] }\nenv = { "A-B" = 1 }\n'
        "bogus = 1\n",
        (
            "4: unknown key 'queu' in [suites.unit.buildkite] (did you mean 'queue'?)",
            "5: 'pipeline' does not belong in [suites.unit.buildkite]: set it in "
            "[workspace.buildkite]",
            "6: 'timeout_in_minutes' in [suites.unit.buildkite] must be an integer "
            ">= 1, got 0",
            "7: 'parallelism' in [suites.unit.buildkite] must be an integer >= 1, got "
            "1.5",
            "8: 'retry' in [suites.unit.buildkite] must be an integer from 0 to 10, "
            "got 11",
            "9: unknown command style 'bash'; known: nox, pytest",
            "10: 'agents' in [suites.unit.buildkite] must map 'gpu' to a string, "
            "number or boolean, got an array",
            f"11: 'env' in [suites.unit.buildkite] names 'A-B', {ENV_NAME}",
            "12: unknown key 'bogus' in [suites.unit.buildkite]; known: queue, agents, "
            "timeout_in_minutes, parallelism, soft_fail, env, retry, retry_rules, "
            "command_style, command_template, depends_on, plugins, if_changed, "
            "source_file_dependencies, concurrency, concurrency_group, priority, "
            "test_collector, test_collector_token_env",
        ),
    ),
    "session-names-collide": Bad(
        "suites.toml",
        SUITE + '\n[suites.mi300-unit]\npath = "tests/other"\n',
        (
            "1: session name 'rocm-mi300-unit' is ambiguous: suite 'mi300-unit' "
            "(skiplists/suites.toml:4) on rocm (skiplists/platforms/rocm.toml:1) and "
            "suite 'unit' (skiplists/suites.toml:1) on rocm:mi300 "
            "(skiplists/platforms/rocm.toml:4); rename one",
        ),
        schema=False,
    ),
    # -- models.toml -----------------------------------------------------------------
    "model-lists": Bad(
        "models.toml",
        "[model_lists.enc]\ndescription = 3\n\n[model_lists.dec]\n"
        'models = ["org/a", "org/a"]\nmodel = ["org/b"]\n\n[model_lists.bad]\n'
        "models = 3\n",
        (
            "2: 'description' in [model_lists.enc] must be a non-empty string, got 3",
            "1: [model_lists.enc] has no 'models'",
            "6: unknown key 'model' in [model_lists.dec] (did you mean 'models'?)",
            "9: 'models' in [model_lists.bad] must be a non-empty string or a "
            "non-empty list of non-empty strings, got 3",
            "5: duplicate model 'org/a' in [model_lists.dec]",
        ),
    ),
    "models-unknown-table": Bad(
        "models.toml",
        '[models.enc]\nmodels = ["org/enc"]\n',
        (
            "1: unknown table 'models' (did you mean 'model_lists'?); expected "
            "[model_lists.NAME]",
        ),
    ),
    # -- platforms/NAME.toml: [platform] and [variants.NAME] -------------------------
    "platform-head": Bad(
        "platforms/rocm.toml",
        '[platform]\nhardwre = "rocm"\nvisible_devices_env = "X-Y"\ndescription = 3\n'
        'hardware = "rocm7"\nbuildkite = { command_style = 1, soft_fail = true }\n',
        (
            "2: unknown key 'hardwre' in [platform] (did you mean 'hardware'?)",
            "3: 'visible_devices_env' in [platform] must name a device-visibility "
            "variable (upper case, with _VISIBLE_ in it, like CUDA_VISIBLE_DEVICES or "
            "HIP_VISIBLE_DEVICES), got 'X-Y': a session sets it to the GPUs it leases",
            "4: 'description' in [platform] must be a non-empty string, got 3",
            "5: unknown hardware 'rocm7' (did you mean 'rocm'?); known: cuda, none, "
            "rocm",
            "6: 'command_style' in [platform.buildkite] must be 'nox' or 'pytest', "
            "got 1",
        ),
    ),
    "platform-not-tables": Bad(
        "platforms/rocm.toml",
        "platform = 1\nvariants = 2\nignore = 3\n",
        (
            "1: 'platform' must be a table, got 1",
            "2: 'variants' must be a table, got 2",
            "3: 'ignore' must be an array of tables: write [[ignore]]",
        ),
    ),
    "variants": Bad(
        "platforms/rocm.toml",
        '[platform]\nhardware = "rocm"\n\n[variants.MI300]\nmatch = "gfx942"\n\n'
        '[variants.mi325]\nmatch = ["gfx942", "GFX942"]\ndescriptio = "MI325X"\n\n'
        '[variants.mi355]\nmatch = ["gfx942"]\nbuildkite = { queue = "" }\n',
        (
            "4: variant name 'MI300' must be lower-case letters, digits, '-' or '_'",
            "5: 'match' in [variants.MI300] must be a non-empty list of non-empty "
            "strings, got 'gfx942'",
            "9: unknown key 'descriptio' in [variants.mi325] (did you mean "
            "'description'?)",
            "13: 'queue' in [variants.mi355.buildkite] must be a non-empty string, "
            "got ''",
            "8: duplicate match 'GFX942' in [variants.mi325]",
            "12: variants 'mi325' and 'mi355' both match 'gfx942': detection cannot "
            "tell them apart",
        ),
    ),
    "platform-file-name": Bad(
        "platforms/none.toml",
        "[platform]\n",
        (
            "platforms/none.toml: platform file name 'none' must be lower-case "
            "letters, digits, '-' or '_' and not one of ['all', 'none']",
        ),
        schema=False,
    ),
    "platform-and-variant-collide": Bad(
        "platforms/rocm-mi300.toml",
        '[platform]\nhardware = "rocm"\n',
        (
            "platforms/rocm.toml:4: session name 'rocm-mi300-unit' is ambiguous: "
            "suite 'unit' (skiplists/suites.toml:1) on rocm-mi300 "
            "(skiplists/platforms/rocm-mi300.toml:1) and suite 'unit' "
            "(skiplists/suites.toml:1) on rocm:mi300 (skiplists/platforms/rocm.toml:4);"
            " rename one",
        ),
        schema=False,
    ),
    # -- platforms/NAME.toml: entries ------------------------------------------------
    "entry-kinds": Bad(
        "platforms/rocm.toml",
        ROCM + '[[ignore]]\npath = 3\nreason = ""\nissue = "#1"\nexpires = 5\n'
        'variants = "mi300"\n',
        (
            "10: 'path' in [[ignore]] entry must be a relative path or a non-empty "
            "list of relative paths, got 3",
            "11: 'reason' in [[ignore]] entry must be a non-empty string, got ''",
            "12: 'issue' in [[ignore]] entry must be a link (http:// or https://), got "
            "'#1'",
            "13: 'expires' in [[ignore]] entry must be a date (YYYY-MM-DD), got 5",
            "14: 'variants' in [[ignore]] entry must be a list of names (lower-case "
            "letters, digits, '-' or '_'), got 'mi300'",
            "9: [[ignore]] entry has no 'suite'",
        ),
    ),
    "ignore-references": Bad(
        "platforms/rocm.toml",
        ROCM + '[[ignore]]\nsuite = "unti"\npath = "test_alpha.py"\nreason = "r"\n\n'
        '[[ignore]]\nsuite = "unit"\nreason = "r"\n'
        'variants = ["mi35", "mi300", "mi300"]\npaths = [\n  "../other/test_c.py",\n'
        '  "../../../x",\n  "test_alpah.py",\n  "sub",\n]\n\n'
        '[[ignore]]\nsuite = "unit"\npath = "sub/"\nreason = "r"\n'
        'variants = ["mi300"]\n\n'
        '[[ignore]]\nsuite = "unit"\npath = "sub"\nreason = "r"\n'
        'variants = ["mi355"]\n',
        (
            "10: unknown suite 'unti' (did you mean 'unit'?); known: unit",
            "17: unknown rocm variant 'mi35' (did you mean 'mi355'?); known: mi300, "
            "mi355",
            "17: duplicate variant 'mi300' in [[ignore]] entry",
            "19: ignored path '../other/test_c.py' is outside suite 'unit' "
            "(tests/unit)",
            "20: path '../../../x' leaves the workspace",
            "21: ignored path 'test_alpah.py' does not exist in suite 'unit' "
            "(tests/unit/test_alpah.py); was it renamed or deleted? (did you mean "
            "'test_alpha.py'?)",
            "27: duplicate ignore of 'tests/unit/sub' (first at "
            "skiplists/platforms/rocm.toml:22)",
        ),
        schema=False,
    ),
    "skip": Bad(
        "platforms/rocm.toml",
        ROCM + '[[skip]]\nmarker = "enc-dec"\nreason = "r"\nexpires = "soon"\n\n'
        '[[skip]]\nreason = "r"\nmodels = ["org/a"]\n\n'
        '[[skip]]\nmarker = "enc"\nreason = "r"\n\n'
        '[[skip]]\nmarker = "enc"\nmodel_lists = ["encc"]\nmodels = "org/enc"\n'
        'reason = "r"\n',
        (
            "10: marker 'enc-dec' is not a valid pytest marker name",
            "12: 'expires' in [[skip]] entry must be a date (YYYY-MM-DD), got 'soon'",
            "9: [[skip]] entry names no models (give 'models' and/or 'model_lists')",
            "14: [[skip]] entry has no 'marker'",
            "18: [[skip]] entry names no models (give 'models' and/or 'model_lists')",
            "24: unknown model list 'encc' (did you mean 'enc'?); known: enc",
        ),
    ),
    "skip-duplicates": Bad(
        "platforms/rocm.toml",
        ROCM + '[[skip]]\nmarker = "enc"\nmodel_lists = ["enc"]\nmodels = ["org/enc"]\n'
        'reason = "r"\nvariants = ["mi300"]\n\n'
        '[[skip]]\nmarker = "enc"\nmodels = ["org/enc", "org/dec"]\nreason = "r"\n\n'
        '[[skip]]\nmarker = "enc"\nmodels = ["org/dec"]\nreason = "r"\n'
        'variants = ["mi355"]\n',
        (
            "12: duplicate model 'org/enc' in [[skip]] entry",
            "18: duplicate entry: model 'org/enc' with marker 'enc' is already skipped "
            "at skiplists/platforms/rocm.toml:9",
            "23: duplicate entry: model 'org/dec' with marker 'enc' is already skipped "
            "at skiplists/platforms/rocm.toml:16",
        ),
        schema=False,
    ),
    "deselect-and-flaky": Bad(
        "platforms/rocm.toml",
        '[[deselect]]\ntests = [\n  "./tests/unit/test_alpha.py::t",\n'
        '  "tests/other/test_c.py::t",\n  "tests/unit/test_alpah.py::t",\n'
        '  "tests/unit/test_alpha.py::t",\n  "tests/unit/test_alpha.py::t",\n]\n'
        'reason = "r"\n\n[[deselect]]\nreason = "r"\n\n'
        '[[flaky]]\ntest = "test_x"\nreruns = 0\ndelay = -1\nreason = "r"\n\n'
        '[[flaky]]\ntests = ["test_y", "test_y"]\nreason = "r"\n',
        (
            "11: [[deselect]] entry has no 'test' (or 'tests')",
            "16: 'reruns' in [[flaky]] entry must be an integer from 1 to 20, got 0",
            "17: 'delay' in [[flaky]] entry must be a number of seconds from 0 to "
            "3600, got -1",
            "3: test id './tests/unit/test_alpha.py::t' must be a pytest node id "
            "relative to the workspace root (write 'tests/unit/test_alpha.py')",
            "4: test id 'tests/other/test_c.py::t' is outside every suite",
            "5: test id 'tests/unit/test_alpah.py::t': file 'tests/unit/test_alpah.py' "
            "does not exist; was it renamed or deleted? (did you mean "
            "'tests/unit/test_alpha.py'?)",
            "7: duplicate test id 'tests/unit/test_alpha.py::t' (first at "
            "skiplists/platforms/rocm.toml:6)",
            "21: duplicate flaky test 'test_y' (first at "
            "skiplists/platforms/rocm.toml:21)",
        ),
    ),
}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small workspace; messages name files relative to it."""
    write(tmp_path, BASE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def expected_lines(case: Bad) -> list[str]:
    return [
        f"skiplists/{case.file}:{p}" if re.match(r"\d+: ", p) else f"skiplists/{p}"
        for p in case.problems
    ]


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_each_bad_input_is_one_located_line(root: Path, case: Bad) -> None:
    (root / "skiplists" / case.file).write_text(case.text)
    with pytest.raises(ConfigError) as info:
        load_workspace(root)
    assert str(info.value).splitlines() == expected_lines(case)


@pytest.mark.parametrize(
    "broken, text, naming, other, first",
    [
        (
            "platforms/rocm.toml",
            "[platform\n",
            "suites.toml",
            SUITE + 'platforms = ["rocm:mi300"]\nplatforms_reason = "GPUs"\n',
            "skiplists/platforms/rocm.toml:1: invalid TOML",
        ),
        (
            "models.toml",
            "[model_lists.enc\n",
            "platforms/rocm.toml",
            ROCM + '[[skip]]\nmarker = "enc"\nmodel_lists = ["enc"]\nreason = "r"\n',
            "skiplists/models.toml:1: invalid TOML",
        ),
        (
            "suites.toml",
            '[suites.unit]\npath = "/abs"\n',
            "platforms/rocm.toml",
            ROCM + '[[ignore]]\nsuite = "unit"\npath = "sub"\nreason = "r"\n',
            "skiplists/suites.toml:2: 'path' in [suites.unit] must be a relative path",
        ),
    ],
    ids=["platform-file", "models-file", "suite"],
)
def test_a_broken_declaration_is_not_news_where_it_is_named(
    root: Path, broken: str, text: str, naming: str, other: str, first: str
) -> None:
    (root / "skiplists" / naming).write_text(other)
    (root / "skiplists" / broken).write_text(text)
    with pytest.raises(ConfigError) as info:
        load_workspace(root)
    (only,) = str(info.value).splitlines()
    assert only.startswith(first)


# -- good input builds the model ------------------------------------------------------

GOOD = {
    "skiplists/suites.toml": """
        [workspace]
        install = [".", "pytest-timeout"]
        model_pattern = "^[a-z]+/[a-z-]+$"
        gpus = 4
        lease_dir = "/tmp/leases"
        reports_dir = "out/reports/"

        [workspace.buildkite]
        pipeline = "ci/pipeline.yml"
        timeout_in_minutes = 60
        retry = 2
        agents = { os = "linux" }
        env = { SHARED = "workspace", ONLY_HERE = 1 }

        [suites.unit]
        paths = ["tests/unit/", "tests/other/test_c.py"]
        description = "Unit tests"
        exclude = ["unit/sub"]
        exclude_reason = "runs in suite sub"
        markexpr = "not slow"
        keyword = "not flaky_thing"
        env = { VLLM_X = "spawn", N = 2, RATIO = 0.5, ON = true, OFF = false }
        args = ["--timeout=600", "-x"]
        gpus = 2
        platforms = ["rocm", "cuda:h100"]
        platforms_reason = "needs a GPU"
        reruns = 2
        reruns_delay = 1
        durations = "ci/durations.json"

        [suites.unit.buildkite]
        parallelism = 2
        soft_fail = true
        command_style = "pytest"
        env = { SHARED = "suite" }

        [suites.sub]
        path = "tests/unit/sub"
    """,
    "skiplists/platforms/rocm.toml": """
        [platform]
        description = "AMD GPUs"
        hardware = "rocm"
        buildkite = { queue = "amd", env = { SHARED = "platform" } }

        [variants.mi300]
        match = ["gfx942"]
        buildkite = { queue = "amd-mi300-{gpus}" }

        [variants.mi355]
        description = "MI355X"
        match = ["gfx950"]

        [[ignore]]
        suite = "unit"
        path = "unit/test_alpha.py"
        reason = "crashes on mi300"
        variants = ["mi300"]

        [[ignore]]
        suite = "unit"
        path = "unit/test_alpha.py"
        reason = "hangs on mi355"
        variants = ["mi355"]

        [[skip]]
        marker = "enc"
        model_lists = ["enc"]
        models = ["org/dec"]
        reason = "no encoders"
        issue = "https://example.com/issues/1"
        expires = 2030-01-31

        [[deselect]]
        tests = ["tests/unit/test_alpha.py::test_one", "tests/other/test_c.py::t"]
        reason = "wrong results"
        variants = ["mi355"]

        [[flaky]]
        test = "test_alpha.py::test_three"
        reruns = 3
        delay = 0.5
        reason = "timing"
    """,
    "skiplists/platforms/cuda.toml": """
        [platform]
        hardware = "cuda"

        [variants.h100]
        match = ["H100"]
    """,
    "skiplists/models.toml": """
        [model_lists.enc]
        description = "encoders"
        models = ["org/enc"]
    """,
}


def at(root: Path, file: str, needle: str, nth: int = 1) -> Location:
    """Where the nth line holding `needle` stands in skiplists/`file`."""
    lines = (root / "skiplists" / file).read_text().splitlines()
    found = [i + 1 for i, line in enumerate(lines) if needle in line]
    return Location(f"skiplists/{file}", found[nth - 1])


def test_good_files_build_the_model(root: Path) -> None:
    write(root, GOOD)
    ws = load_workspace(root)
    suites, rocm = "suites.toml", "platforms/rocm.toml"
    assert ws.suites == {
        "unit": Suite(
            name="unit",
            paths=("tests/unit", "tests/other/test_c.py"),
            description="Unit tests",
            location=at(root, suites, "[suites.unit]"),
            excludes=(
                Exclude(
                    "unit/sub",
                    "tests/unit/sub",
                    "runs in suite sub",
                    at(root, suites, "exclude = "),
                ),
            ),
            markexpr="not slow",
            keyword="not flaky_thing",
            env={"VLLM_X": "spawn", "N": "2", "RATIO": "0.5", "ON": "1", "OFF": "0"},
            args=("--timeout=600", "-x"),
            gpus=2,
            runs_on=("rocm", "cuda:h100"),
            runs_on_reason="needs a GPU",
            reruns=2,
            reruns_delay=1.0,
            durations="ci/durations.json",
            buildkite=BuildkiteSettings(
                parallelism=2,
                soft_fail=True,
                command_style="pytest",
                env={"SHARED": "suite"},
            ),
        ),
        "sub": Suite(
            name="sub",
            paths=("tests/unit/sub",),
            description="tests under tests/unit/sub",
            location=at(root, suites, "[suites.sub]"),
        ),
    }
    assert (
        ws.install,
        ws.model_pattern,
        ws.gpus,
        ws.lease_dir,
        ws.reports_dir,
        ws.pipeline,
    ) == (
        (".", "pytest-timeout"),
        "^[a-z]+/[a-z-]+$",
        4,
        "/tmp/leases",
        "out/reports",
        "ci/pipeline.yml",
    )
    assert ws.buildkite == BuildkiteSettings(
        timeout_in_minutes=60,
        retry=2,
        agents={"os": "linux"},
        env={"SHARED": "workspace", "ONLY_HERE": 1},
    )
    assert ws.model_lists == {
        "enc": ModelList(
            "enc", ("org/enc",), "encoders", at(root, "models.toml", "[model_lists")
        )
    }
    common = {"platform": "rocm", "issue": None, "expires": None}
    assert ws.platforms["rocm"] == Platform(
        name="rocm",
        description="AMD GPUs",
        hardware="rocm",
        visible_devices_env="HIP_VISIBLE_DEVICES",
        location=at(root, rocm, "[platform]"),
        ignores=(
            IgnoreEntry(
                reason="crashes on mi300",
                location=at(root, rocm, 'path = "unit/test_alpha.py"'),
                variants=("mi300",),
                suite="unit",
                path="unit/test_alpha.py",
                target="tests/unit/test_alpha.py",
                **common,
            ),
            IgnoreEntry(
                reason="hangs on mi355",
                location=at(root, rocm, 'path = "unit/test_alpha.py"', nth=2),
                variants=("mi355",),
                suite="unit",
                path="unit/test_alpha.py",
                target="tests/unit/test_alpha.py",
                **common,
            ),
        ),
        skips=(
            SkipEntry(
                platform="rocm",
                reason="no encoders",
                issue="https://example.com/issues/1",
                expires=dt.date(2030, 1, 31),
                location=at(root, rocm, "[[skip]]"),
                marker="enc",
                models=frozenset({"org/enc", "org/dec"}),
                model_lists=("enc",),
            ),
        ),
        deselects=tuple(
            DeselectEntry(
                reason="wrong results",
                location=at(root, rocm, "tests = ["),
                variants=("mi355",),
                nodeid=nodeid,
                **common,
            )
            for nodeid in (
                "tests/unit/test_alpha.py::test_one",
                "tests/other/test_c.py::t",
            )
        ),
        flaky=(
            FlakyEntry(
                reason="timing",
                location=at(root, rocm, "test = "),
                pattern="test_alpha.py::test_three",
                reruns=3,
                delay=0.5,
                **common,
            ),
        ),
        variants={
            "mi300": Variant(
                "mi300",
                "rocm",
                "rocm mi300",
                ("gfx942",),
                at(root, rocm, "[variants.mi300]"),
                BuildkiteSettings(queue="amd-mi300-{gpus}"),
            ),
            "mi355": Variant(
                "mi355",
                "rocm",
                "MI355X",
                ("gfx950",),
                at(root, rocm, "[variants.mi355]"),
            ),
        },
        buildkite=BuildkiteSettings(queue="amd", env={"SHARED": "platform"}),
    )
    cuda = "platforms/cuda.toml"
    assert ws.platforms["cuda"] == Platform(
        name="cuda",
        description="cuda platform",
        hardware="cuda",
        visible_devices_env="CUDA_VISIBLE_DEVICES",
        location=at(root, cuda, "[platform]"),
        variants={
            "h100": Variant(
                "h100", "cuda", "cuda h100", ("H100",), at(root, cuda, "[variants")
            )
        },
    )
    # the layers of the rocm:mi300 unit step, general to specific
    layered = ws.suites["unit"].buildkite.over(
        ws.platforms["rocm"]
        .variants["mi300"]
        .buildkite.over(ws.platforms["rocm"].buildkite.over(ws.buildkite))
    )
    assert layered == BuildkiteSettings(
        queue="amd-mi300-{gpus}",
        agents={"os": "linux"},
        timeout_in_minutes=60,
        parallelism=2,
        soft_fail=True,
        env={"SHARED": "suite", "ONLY_HERE": 1},
        retry=2,
        command_style="pytest",
    )


def test_absent_keys_take_the_declared_defaults(root: Path) -> None:
    ws = load_workspace(root)
    defaults = {f.name: f.default for f in dataclasses.fields(Workspace)}
    for name in ("install", "model_pattern", "gpus", "lease_dir", "reports_dir"):
        assert getattr(ws, name) == defaults[name], name
    assert ws.pipeline == defaults["pipeline"]
    assert ws.buildkite == BuildkiteSettings()
    assert ws.suites["unit"] == Suite(
        "unit",
        ("tests/unit",),
        "tests under tests/unit",
        Location("skiplists/suites.toml", 1),
    )
    rocm = ws.platforms["rocm"]
    assert rocm.variants["mi355"].description == "rocm mi355"
    assert rocm.description == "rocm platform"


def test_flaky_defaults_and_string_or_list_keys(root: Path) -> None:
    (root / "skiplists/platforms/rocm.toml").write_text(
        ROCM + '[[flaky]]\ntests = "test_x"\nreason = "r"\n\n'
        '[[ignore]]\nsuite = "unit"\npaths = "sub"\npath = ["test_alpha.py"]\n'
        'reason = "r"\n'
    )
    rocm = load_workspace(root).platforms["rocm"]
    (flaky,) = rocm.flaky
    assert (flaky.pattern, flaky.reruns, flaky.delay) == ("test_x", 2, 0.0)
    assert [e.target for e in rocm.ignores] == [
        "tests/unit/test_alpha.py",
        "tests/unit/sub",
    ]


def test_cache_serves_only_a_workspace_loaded_by_this_code(root, monkeypatch):
    first = load_workspace(root)
    assert load_workspace(root) is not first and load_workspace(root) == first
    # a cache written by other loading code (an older model) is never served
    stale = dataclasses.replace(first, reports_dir="from-older-code")
    skiplists = root / "skiplists"
    files = wscache.read_files(skiplists)
    with monkeypatch.context() as patched:
        patched.setattr(wscache, "code_digest", lambda: "older code")
        older = wscache.stamp(skiplists, files)
        wscache.put(skiplists, "workspace", older, codec.encode(stale), root=str(root))
    assert wscache.get(skiplists, "workspace", wscache.stamp(skiplists, files)) is None
    assert load_workspace(root).reports_dir == "reports"


def test_cache_sees_a_file_replaced_by_one_of_the_same_size_and_mtime(root):
    suites = root / "skiplists/suites.toml"
    suites.write_text(SUITE + 'description = "aaaa"\n')
    assert load_workspace(root).suites["unit"].description == "aaaa"
    stat = suites.stat()
    suites.write_text(SUITE + 'description = "bbbb"\n')
    os.utime(suites, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert suites.stat().st_size == stat.st_size
    assert load_workspace(root).suites["unit"].description == "bbbb"


def test_one_cache_serves_every_working_directory(root, monkeypatch):
    monkeypatch.chdir(root)
    assert load_workspace(root).suites["unit"].location.file == "skiplists/suites.toml"
    monkeypatch.chdir(root / "tests")
    monkeypatch.setattr("testmatrix.config.reader.Reader.load", None)  # cached only
    unit = load_workspace(root).suites["unit"]
    assert unit.location.file == "../skiplists/suites.toml"
    cached = sorted((root / "skiplists/__pycache__").glob("testmatrix-*"))
    assert [p.name for p in cached] == [
        "testmatrix-sessions.json",
        "testmatrix-workspace.json",
    ]


def test_cache_is_dropped_when_an_excluded_path_disappears(root: Path) -> None:
    (root / "skiplists/suites.toml").write_text(SUITE + 'exclude = ["sub"]\n')
    load_workspace(root)
    (root / "tests/unit/sub/test_beta.py").unlink()
    (root / "tests/unit/sub").rmdir()
    with pytest.raises(ConfigError, match="excluded path 'sub' does not exist"):
        load_workspace(root)


# -- the JSON Schemas -----------------------------------------------------------------

REGENERATE = "stale; regenerate with: python -m testmatrix.schema --write"


@pytest.mark.parametrize("document", schema.DOCUMENTS, ids=lambda d: d.name)
def test_shipped_schemas_are_the_declarations(document: Document) -> None:
    shipped = schemafiles.schema_path(document)
    assert shipped.is_file(), f"{shipped} is missing; {REGENERATE}"
    assert shipped.read_text(encoding="utf-8") == schemafiles.schema_text(document), (
        f"{shipped.name} is {REGENERATE}"
    )
    Draft7Validator.check_schema(json.loads(shipped.read_text()))


def _validator(file: str) -> Draft7Validator:
    name = {"suites.toml": "suites", "models.toml": "models"}.get(file, "platform")
    shipped = schemafiles.SCHEMA_DIR / f"{name}.schema.json"
    return Draft7Validator(
        json.loads(shipped.read_text()), format_checker=Draft7Validator.FORMAT_CHECKER
    )


def _as_json(value: object) -> object:
    """A parsed TOML value as an editor hands it to the schema: dates as text."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return value


def _schema_errors(file: str, text: str) -> list[str]:
    data = _as_json(tomllib.loads(text))
    return [e.message for e in _validator(file).iter_errors(data)]


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_the_schema_refuses_what_a_declaration_says(case: Bad) -> None:
    errors = _schema_errors(Path(case.file).name, case.text)
    assert bool(errors) == case.schema, errors


def test_the_repos_and_good_skiplists_satisfy_the_schemas() -> None:
    files = sorted((REPO / "skiplists").rglob("*.toml"))
    assert len(files) >= 3
    for path in files:
        assert _schema_errors(path.name, path.read_text()) == [], path
    for name, text in GOOD.items():
        assert _schema_errors(Path(name).name, textwrap.dedent(text)) == [], name


def test_buildkite_keys_are_the_model_fields() -> None:
    fields = [f.name for f in dataclasses.fields(BuildkiteSettings)]
    assert list(buildkite_keys.BUILDKITE_KEYS) == fields
    workspace_keys = set(buildkite_keys.WORKSPACE_BUILDKITE.keys)
    assert workspace_keys == {*fields, "pipeline", "annotate", "history"}


def _glob(pattern: str) -> re.Pattern[str]:
    """A Taplo include glob as a regular expression (** any folders, * one name)."""
    out = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*")
    return re.compile(out)


def test_taplo_associates_each_schema_with_its_files() -> None:
    config = tomllib.loads((REPO / ".taplo.toml").read_text())
    where = {}
    for rule in config["rule"]:
        path = REPO / rule["schema"]["path"]
        assert path.is_file(), path
        where[path.resolve()] = [_glob(p) for p in rule["include"]]
    files = {
        "suites": "skiplists/suites.toml",
        "models": "skiplists/models.toml",
        "platform": "skiplists/platforms/rocm.toml",
    }
    for document in schema.DOCUMENTS:
        globs = where[schemafiles.schema_path(document).resolve()]
        assert any(g.fullmatch(files[document.name]) for g in globs), document.name
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    package_data = pyproject["tool"]["setuptools"]["package-data"]["testmatrix"]
    assert "schemas/*.json" in package_data


def test_schema_check_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert schemafiles.main(["--check"]) == 0
    assert schemafiles.main(["--bogus"]) == 2
    assert "usage" in capsys.readouterr().err
