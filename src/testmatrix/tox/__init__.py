"""tox adapter: every `<platform>-<suite>` session as a tox environment of that name.

Installed with the package (the `tox` entry point group), so `tox l` lists the
sessions beside a project's own environments, `tox -e rocm-pooling` runs the
session's command (plan.session_command) and `tox -m rocm` runs a platform's. The
hooks live in `plugin`; what an environment is configured with, in `envs`.
"""
