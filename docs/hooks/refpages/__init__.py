"""Reference pages generated from testmatrix's own declarations, so they cannot drift.

Each module's `page()` returns `(markdown, missing)`: the page, and what it found
undocumented (options without help text), for the build to report. They import
testmatrix by its published module paths only, at call time.
"""
