"""CI text readers shared by the importers: a step's shell commands and the pytest
argv behind them (shell), and CI YAML with its lines and comments (yamlsrc)."""
