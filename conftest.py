"""Hands pytest over to testmatrix: the skiplists apply to every run, bare or from
nox."""

pytest_plugins = ["testmatrix.plugin"]
