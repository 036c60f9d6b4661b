"""Probes of the machine and the installation: the accelerator (detect) and where the
running testmatrix came from (installed). The core reads only their records."""
