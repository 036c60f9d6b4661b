"""CI text readers shared by the importers: a step's shell commands and the pytest\nargv behind them (shell), and CI YAML with its lines and comments (yamlsrc)."""
