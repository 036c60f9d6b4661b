"""GitHub Actions export: `testmatrix export --format github` writes a workflow with
one job per session, its shards a matrix dimension, and a last job that merges every
job's summary into the matrix on the run's summary page.

`workflow` builds the workflow from the plan; `literal` keeps every string from the
skiplists a literal for GitHub's expressions and for bash; `export` renders, checks
for drift and writes.
"""
