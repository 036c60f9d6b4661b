"""The commands a pipeline's last step runs to record its build in the history
(opt-in: `[workspace.buildkite] history`). Plain strings: the Buildkite exporter
puts them in its step; `$$` leaves each variable to the agent's shell."""

from __future__ import annotations

import shlex

from .store import DEFAULT_DB, ENV_DB

ENV_FROM = (
    "TESTMATRIX_HISTORY_FROM"  # the build (UUID) whose artifact holds the history
)


def ingest_commands(mode: str | None, reports_dir: str) -> list[str]:
    """Download every job's reports, then ingest them: into the SQLite file carried
    as an artifact from the build named by $TESTMATRIX_HISTORY_FROM ('artifact'), or
    into the PostgreSQL URL in $TESTMATRIX_HISTORY_DB ('postgresql')."""
    if not mode:
        return []
    folder = shlex.quote(reports_dir)
    reports = shlex.quote(f"{reports_dir}/*/*")
    ingest = (
        f'testmatrix history ingest {folder} --build "$$BUILDKITE_BUILD_NUMBER"'
        ' --commit "$$BUILDKITE_COMMIT" --branch "$$BUILDKITE_BRANCH"'
    )
    commands = [
        f"buildkite-agent artifact download {reports} . || "
        "echo 'testmatrix: no job uploaded reports'",
    ]
    if mode == "artifact":
        commands += [
            f'if [ -n "$${{{ENV_FROM}:-}}" ]; then buildkite-agent artifact download'
            f' {DEFAULT_DB} . --build "$${ENV_FROM}" || echo "testmatrix: no history'
            f' in build $${ENV_FROM}: starting a new one"; fi',
            f"{ingest} --db {DEFAULT_DB}",
            f"buildkite-agent artifact upload {DEFAULT_DB}",
        ]
    else:
        commands += [
            f'test -n "$${ENV_DB}" || {{ echo "testmatrix: set {ENV_DB} to the'
            ' history database URL on this agent"; exit 1; }',
            ingest,  # reads the URL from the environment: never on a command line
        ]
    return commands


def report_option(mode: str | None) -> str:
    """`testmatrix report`'s option that puts streaks beside red cells."""
    if not mode:
        return ""
    return f" --history {DEFAULT_DB}" if mode == "artifact" else " --history"
