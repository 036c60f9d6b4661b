"""What `[workspace.inventory]` may say: the predicates, skip decorators and GPU
marks the in-code skip inventory reads (testmatrix.inventory)."""

from __future__ import annotations

from typing import Any

from testmatrix.config.kinds import Choice, Kind, List, Pattern, ScalarMap
from testmatrix.config.tables import Key, Table
from testmatrix.config.values import RELATIVE_PATH, TEXT
from testmatrix.core.model import FrozenMap

# where a predicate holds: a platform, a variant, or 'rocm:?' (some variants of rocm,
# undeclared which: the inventory says "depends" there)
INVENTORY_PLACE = Pattern(
    r"^[a-z0-9][a-z0-9_-]*(:([a-z0-9][a-z0-9_-]*|\?))?$",
    "a platform ('rocm'), a variant ('rocm:mi355') or 'rocm:?'",
    "platforms ('rocm'), variants ('rocm:mi355') or 'rocm:?'",
)


class PlacesMap(Kind):
    """A table of Python expressions to the places where each is true."""

    expect = "a table of Python expressions to lists of platforms or variants"

    def accepts(self, value: object) -> bool:
        return isinstance(value, dict) and all(
            isinstance(places, list) and all(INVENTORY_PLACE.accepts(p) for p in places)
            for places in value.values()
        )

    def cast(self, value: Any) -> Any:
        return FrozenMap({k: tuple(v) for k, v in value.items()})

    def json(self) -> dict[str, Any]:
        items = {"type": "array", "items": INVENTORY_PLACE.json()}
        return {"type": "object", "additionalProperties": items}


INVENTORY = Table(
    "What testmatrix inventory reads as in-code platform skips and GPU needs.",
    {
        "presets": Key(
            List(Choice("inventory preset", ("vllm", "pytorch"))),
            "Built-in predicates, skip decorators and GPU marks to start from.",
            default=["vllm", "pytorch"],
        ),
        "paths": Key(
            List(RELATIVE_PATH),
            "Test paths to read (default: every suite's paths).",
        ),
        "predicates": Key(
            PlacesMap(),
            "Python expressions ('current_platform.is_rocm()', 'f(...)' for any "
            "arguments) to where they are true; false elsewhere.",
        ),
        "skips": Key(
            ScalarMap(),
            "Names of skip marks or decorators ('skipIfRocm') to the condition "
            "under which they skip ('torch.version.hip').",
        ),
        "gpu_marks": Key(
            ScalarMap(),
            "Names of GPU-requirement decorators or mark helpers ('multi_gpu_test') "
            "to the keyword giving the GPU count ('num_gpus').",
        ),
        "device_counts": Key(
            List(TEXT),
            "Calls that count GPUs ('torch.cuda.device_count()'): 'N() < 2' in a "
            "condition is a need of 2 GPUs.",
        ),
    },
)
