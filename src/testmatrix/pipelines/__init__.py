"""Import any CI's pytest commands: plain Buildkite pipelines and GitHub workflows.

The readers (`buildkite_plain`, `github`) turn steps and jobs into the `vllm.jobs.Job`
records vLLM's CI files become, so the vLLM import's planner and proof decide and
prove them unchanged; `runners` tells each job's platform; `command` is the glue the
`testmatrix import` subcommand calls.
"""
