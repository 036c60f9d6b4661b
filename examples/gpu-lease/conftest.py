pytest_plugins = ["testmatrix.plugin"]
