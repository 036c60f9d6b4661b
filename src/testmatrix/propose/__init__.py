"""`testmatrix propose`: skiplist edits from the history's evidence (new expected
failures clustered by error signature, new flaky entries, stale entries removed),
written as text so every comment and blank line of the files stays."""
