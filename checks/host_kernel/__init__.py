"""The host under Docker (CIS 1.x, and beyond CIS): Docker's data partition, who controls the
daemon and the audit rules on Docker's files, then how well the host kernel holds containers in
(known breakout flaws, user namespaces, mandatory access control, seccomp, hardening sysctls).

One module per concern; importing the package registers them all, in this order (the order
`dockbench checks list` shows them): the host's configuration, then the kernel's hardening.
"""
# isort: skip_file

from dockbench.checks.host_kernel import host, hardening  # noqa: F401
