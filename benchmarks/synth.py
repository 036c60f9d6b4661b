"""Build a synthetic vLLM-scale workspace: many files, many parametrized tests, many
entries."""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


@dataclass(frozen=True)
class Scale:
    files: int = 1500
    items: int = 100_000
    models: int = 200
    entries: int = 300
    suites: int = 10
    seed: int = 27442


def model_names(n: int) -> list[str]:
    return [f"org{i % 23}/model-{i:03d}" for i in range(n)]


def build(root: Path, scale: Scale = Scale()) -> dict:
    """Write the workspace under `root`; returns what was built (counts the benchmark
    reports)."""
    rng = random.Random(scale.seed)
    if root.exists():
        shutil.rmtree(root)
    models = model_names(scale.models)
    encoders = set(models[: scale.models // 4])  # a quarter need encoder attention
    per_file = scale.items // scale.files
    files: list[str] = []
    mixed: list[str] = []
    encoder_only: list[str] = []
    for i in range(scale.files):
        suite = f"suite{i % scale.suites}"
        rel = f"tests/{suite}/group{(i // scale.suites) % 15}/test_file{i:04d}.py"
        kind = rng.choice(["decoder", "decoder", "mixed", "encoder"])
        pool = (
            sorted(encoders)
            if kind == "encoder"
            else models
            if kind == "mixed"
            else sorted(set(models) - encoders)
        )
        chosen = rng.sample(pool, min(len(pool), 10))
        variants = max(1, -(-per_file // (2 * len(chosen))))
        params = ", ".join(repr(m) for m in chosen)
        mark = "@pytest.mark.encoder_decoder\n" if kind == "mixed" else ""
        test = (
            mark
            + f'@pytest.mark.parametrize("variant", range({variants}))\n'
            + '@pytest.mark.parametrize("model", MODELS)\n'
        )
        body = (
            f"import pytest\n\nMODELS = [{params}]\n\n\n"
            + test
            + "def test_generate(model, variant):\n"
            + "    assert model and variant >= 0\n\n\n"
            + test
            + "def test_pool(model, variant):\n    assert model and variant >= 0\n"
        )
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
        files.append(rel)
        (
            mixed if kind == "mixed" else encoder_only if kind == "encoder" else []
        ).append(rel)
    suites = "\n".join(
        f'[suites.suite{s}]\npath = "tests/suite{s}"\n' for s in range(scale.suites)
    )
    (root / "skiplists/platforms").mkdir(parents=True)
    (root / "skiplists/suites.toml").write_text(
        '[workspace]\ninstall = ["."]\n\n' + suites
    )
    enc = sorted(encoders)
    (root / "skiplists/models.toml").write_text(
        "[model_lists.encoders]\nmodels = [\n"
        + "".join(f'    "{m}",\n' for m in enc[: len(enc) // 2])
        + "]\n"
    )
    # entries: ignores for encoder-only files, skips for the remaining encoder models,
    # deselects
    n_skip = max(1, scale.entries * 2 // 15)
    n_deselect = max(1, scale.entries // 15)
    n_ignore = scale.entries - n_skip - n_deselect
    ignored = encoder_only[:n_ignore]
    lines = ['[platform]\nhardware = "rocm"\n']
    for rel in ignored:
        suite, rest = rel.split("/", 2)[1], rel.split("/", 2)[2]
        lines.append(
            f'[[ignore]]\nsuite = "{suite}"\npath = "{rest}"\n'
            'reason = "encoder-only file"\nissue = "https://example.org/1"\n'
        )
    rest_models = enc[len(enc) // 2 :]
    for k in range(n_skip):
        chunk = rest_models[k::n_skip] if k < len(rest_models) else []
        models_toml = ", ".join(f'"{m}"' for m in chunk)
        lists = '\nmodel_lists = ["encoders"]' if k == 0 else ""
        lines.append(
            f'[[skip]]\nmarker = "encoder_decoder"\nmodels = [{models_toml}]{lists}\n'
            'reason = "encoder attention"\nissue = "https://example.org/2"\n'
        )
    decoder_files = [f for f in files if f not in mixed and f not in encoder_only]
    for rel in decoder_files[:n_deselect]:
        lines.append(
            f'[[deselect]]\ntest = "{rel}::test_pool"\nreason = "flaky on rocm"\n'
            'issue = "https://example.org/3"\n'
        )
    (root / "skiplists/platforms/rocm.toml").write_text("\n".join(lines))
    (root / "skiplists/platforms/cuda.toml").write_text(
        '[platform]\nhardware = "cuda"\n'
    )
    (root / "pytest.ini").write_text(
        f"[pytest]\npythonpath = {SRC}\n"
        "addopts = -p no:cacheprovider --import-mode=importlib\n"
        "markers =\n    encoder_decoder: encoder models\n"
    )
    (root / "conftest.py").write_text('pytest_plugins = ["testmatrix.plugin"]\n')
    (root / "noxfile.py").write_text(
        f"import sys\nsys.path.insert(0, {str(SRC)!r})\n"
        "from testmatrix.noxsessions import register\nregister()\n"
    )
    return {
        "files": len(files),
        "items": _count_items(root),
        "models": scale.models,
        "entries": len(ignored) + n_skip + min(n_deselect, len(decoder_files)),
        "suites": scale.suites,
    }


def _count_items(root: Path) -> int:
    import re

    total = 0
    for path in root.rglob("test_*.py"):
        text = path.read_text()
        models = len(re.search(r"MODELS = \[(.*)\]", text).group(1).split(","))
        variants = int(re.search(r"range\((\d+)\)", text).group(1))
        total += 2 * models * variants
    return total


def build_import_heavy(
    root: Path, files: int = 60, ignored: int = 50, import_ms: int = 40
) -> None:
    """A suite whose ignored modules are expensive to import (they build big tables at
    import time)."""
    if root.exists():
        shutil.rmtree(root)
    (root / "tests/heavy").mkdir(parents=True)
    (root / "skiplists/platforms").mkdir(parents=True)
    entries = ['[platform]\nhardware = "rocm"\n']
    for i in range(files):
        heavy = i < ignored
        setup = (
            "import time\n_t = time.perf_counter()\n"
            f"while time.perf_counter() - _t < {import_ms / 1000}:\n    pass\n"
            if heavy
            else ""
        )
        (root / f"tests/heavy/test_m{i:03d}.py").write_text(
            setup
            + "import pytest\n\n@pytest.mark.parametrize('x', range(20))\n"
            + "def test_x(x):\n    assert x >= 0\n"
        )
        if heavy:
            entries.append(
                f'[[ignore]]\nsuite = "heavy"\npath = "test_m{i:03d}.py"\n'
                'reason = "encoder-only"\n'
            )
    (root / "skiplists/suites.toml").write_text(
        '[suites.heavy]\npath = "tests/heavy"\n'
    )
    (root / "skiplists/platforms/rocm.toml").write_text("\n".join(entries))
    (root / "pytest.ini").write_text(
        f"[pytest]\npythonpath = {SRC}\n"
        "addopts = -p no:cacheprovider --import-mode=importlib\n"
    )
    (root / "conftest.py").write_text('pytest_plugins = ["testmatrix.plugin"]\n')
