"""Buildkite: the pipeline export (one step per session, the annotate step) and the
import of a pipeline's --ignore flags as entries."""
