"""Per-container checks (CIS 4.1 and 5.x, and the container dangers CIS misses), judged from
`docker inspect` and host facts alone: nothing is ever run inside a container. Each failure
names every offending container with its offending value.

One module per concern; importing the package registers them all, in this order (the order
`dockbench checks list` shows them): isolation first, then mounts, resources, network, workload.
"""
# isort: skip_file

from dockbench.checks.containers import privileges, mounts, resources, network, workload  # noqa: F401
