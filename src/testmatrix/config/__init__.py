"""The skiplists as files: key declarations (schema), reading and validating them
into the core's model (loader), the session listing for nox -l, and the cache."""
