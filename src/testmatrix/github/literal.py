"""Strings from the skiplists as literals: GitHub evaluates `${{ ... }}` in every
value of a workflow (run scripts and env values included) before any shell sees it,
and bash expands what is not single-quoted. Nothing from a skiplist may reach either
as code.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from testmatrix.errors import TestmatrixError

OPEN = "${{"
# GitHub has no escape character for "${{": an expression whose value is the string
# "${{" stands for it (its closing "}}" comes before any text that follows)
OPEN_LITERAL = "${{ '${{' }}"
SHARD_ENV = "TESTMATRIX_SHARD_ID"  # set from the job's matrix value
SHARD_PLACEHOLDER = f"${SHARD_ENV}"  # what the plan is given as the shard id


def expression_free(text: str) -> str:
    """`text` as GitHub must receive it to keep every `${{` literal."""
    return text.replace(OPEN, OPEN_LITERAL)


def bash_words(argv: Sequence[str]) -> str:
    """The command line for bash: every word single-quoted where it needs quotes, and
    the shard placeholder, the only thing bash expands, double-quoted."""
    return " ".join(_word(arg) for arg in argv)


def _word(arg: str) -> str:
    parts = arg.split(SHARD_PLACEHOLDER)
    quoted = [shlex.quote(p) if p else "" for p in parts]
    return f'"${{{SHARD_ENV}}}"'.join(quoted) or "''"


def check_no_placeholder(argv: Sequence[str], session: str) -> None:
    """Refuse a command whose own words hold the shard placeholder: bash would expand
    it there too."""
    for arg in argv:
        if SHARD_PLACEHOLDER in arg:
            raise TestmatrixError(
                f"session {session}: {arg!r} holds {SHARD_PLACEHOLDER}, which the "
                "GitHub workflow's shards set; rename it"
            )


JOB_ID = re.compile(r"^[_A-Za-z][A-Za-z0-9_-]*$")


def job_id(session: str) -> str:
    """A session's job id: its name (GitHub's ids start with a letter or '_')."""
    return session if JOB_ID.match(session) else f"_{session}"
