"""The check catalog: one module per layer, and benchmark mappings as data in mappings/."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from dockbench.benchmark.check_registry import Registry

MAPPINGS = Path(__file__).parent / "mappings"


@cache
def load() -> Registry:
    """Import every layer module (each registers its checks) and attach the CIS mappings."""
    from dockbench.checks import containers, daemon_config, daemon_config_security, host_kernel, host_kernel_hardening, images, operations, registries, socket_permissions, swarm, tls, tls_certs  # noqa: F401
    from dockbench.checks.catalog import CATALOG

    for mapping in sorted(MAPPINGS.glob("*.yaml")):
        CATALOG.apply_mapping(mapping)
    return CATALOG
