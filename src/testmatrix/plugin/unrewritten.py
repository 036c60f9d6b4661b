"""testmatrix's modules imported past pytest's assertion-rewriting loader."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def unrewritten() -> Iterator[None]:
    """testmatrix's own modules imported by Python's loader, not pytest's.

    pytest rewrites the asserts of every module of a plugin's package (of its whole
    distribution, when installed) and loads each from its own cache with
    `marshal.load` on an open file, which reads object by object: about 2 M
    instructions a module, a fifth of what the plugin added to a one-test run. Our
    modules hold no test's assertions; so the plugin's imports run with pytest's
    import hook set aside (and put back where it was), and only `testmatrix.plugin`
    (a list of names) and this module go through it. Only import statements run
    inside: nothing else is imported meanwhile."""
    hooks = [
        (i, finder)
        for i, finder in enumerate(sys.meta_path)
        if type(finder).__module__ == "_pytest.assertion.rewrite"
    ]
    for _, finder in reversed(hooks):
        sys.meta_path.remove(finder)
    try:
        yield
    finally:
        for i, finder in hooks:
            sys.meta_path.insert(i, finder)
