"""The inventory of in-code platform skips: what a project's test files skip, xfail
or need in GPUs on which target, read statically (no test module is imported)."""
