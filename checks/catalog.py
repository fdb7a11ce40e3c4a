"""The one registry every layer module adds its checks to."""

from dockbench.benchmark.check_registry import Registry

CATALOG = Registry()
check = CATALOG.check
