"""Buildkite: the pipeline export (one step per session, the annotate step) and the\nimport of a pipeline's --ignore flags as entries."""
