"""The one registry every layer module adds its checks to."""

from benchmark.registry import Registry

CATALOG = Registry()
check = CATALOG.check
