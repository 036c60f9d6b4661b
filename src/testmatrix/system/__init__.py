"""Probes of the machine and the installation: the accelerator (detect) and where the\nrunning testmatrix came from (installed). The core reads only their records."""
