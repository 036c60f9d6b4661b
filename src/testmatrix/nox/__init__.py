"""nox: one session per platform, variant and suite (sessions), GPU leases shared by
parallel sessions (lease), and virtualenvs of their own for concurrent runs (envdir)."""
