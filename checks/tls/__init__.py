"""TLS on the daemon's API (CIS 2.8 and 3.9-3.14 of v1.8.0, and beyond CIS): its TCP listeners
(TLS, client verification, where they bind), the protection of its TLS files, and the
certificates and keys the daemon and its registries rely on.

One module per concern; importing the package registers them all, in this order (the order
`dockbench checks list` shows them): the API and its TLS files, then the certificates.
"""
# isort: skip_file

from dockbench.checks.tls import api, certs  # noqa: F401
