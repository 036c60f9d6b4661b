"""vLLM's CI files: read them as jobs, plan and prove an import into suites and
entries, check them against the skiplists, and write the skiplists back into them."""
