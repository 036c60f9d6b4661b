"""The decisions, made once: the typed model of the skiplists, each test's fate on a
target with the entry that decided it, target choice, and each session's command.

Imports nothing above it and no private pytest API (the import contract says so)."""
