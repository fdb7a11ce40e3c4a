"""Daemon-wide settings (CIS 2.x, and beyond CIS), read from the running daemon where it reports
them, else from its command line and daemon.json: its options (a valid daemon.json, icc, log
level, iptables, live restore, storage driver and the like), then its isolation and
accountability (rootless mode, user namespaces, seccomp, authorization plugins, remote logging).

One module per concern; importing the package registers them all, in this order (the order
`dockbench checks list` shows them): the options, then the security settings.
"""
# isort: skip_file

from dockbench.checks.daemon_config import options, security  # noqa: F401
