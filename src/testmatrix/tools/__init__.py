"""Tools over a collected suite: explain (every test's fate), lint (entries that rot),
audit (run what the entries keep out), and the collection they share."""
