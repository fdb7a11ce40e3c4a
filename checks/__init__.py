"""The check catalog: one module or package per layer, and benchmark mappings as data in mappings/.

A check is declared in one of three ways, all in checks/catalog.py. Each reads the host only
through `Facts` (benchmark/judge/facts.py) and registers when its module is imported (see `load`).

A plain check: a function of the facts that returns an Outcome. `layer` says where it belongs;
`needs=DOCKER` makes the runner settle it when the daemon cannot answer.

    @check("daemon-live-restore", title="Live restore is enabled", layer=Layer.DAEMON_CONFIG,
           severity=Severity.LOW, rationale="...", remediation="...")
    def live_restore(facts: Facts) -> Outcome:
        option = facts.daemon_option("live-restore")
        return passed("live restore is enabled") if option and option.value is True else failed("...")

A per-container check: a function of one selected container that returns the offending value,
or None when the container is fine; the verdict "N of M containers <offense>" with each
offender's value as evidence is built for it (layer CONTAINERS, needs DOCKER).

    @container_check("container-not-privileged", title="...", offense="run privileged",
                     severity=Severity.CRITICAL, rationale="...", remediation="...")
    def privileged(c: Container, facts: Facts):
        return "Privileged=true" if c.host_config.get("Privileged") else None

A table of file rules: the owner and most permissive mode of each file, judged by the two
checks `<id>-owner` and `<id>-mode`, with no function to write.

    register_file_rules(Layer.SOCKET_PERMISSIONS, [
        FileRule("perm-etc-docker", "The /etc/docker directory", "/etc/docker",
                 lambda f: "/etc/docker", "", ("root", "root"), 0o755, "It holds the daemon configuration."),
    ])

Where a table generates plain checks (audit watches, sysctls), a small function builds each
row's judge and the loop over the table calls `check`, with the check ids written out in the
table so that a search for an id finds where it is declared.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

from dockbench.benchmark.judge.check_registry import Registry

MAPPINGS = Path(__file__).parent / "mappings"
_loading = threading.Lock()


def load() -> Registry:
    """The catalog, loaded once: the threads of a sweep worker may ask for it at the same moment."""
    with _loading:
        return _load()


@cache
def _load() -> Registry:
    """Import every layer, module or package (each registers its checks), and attach the CIS mappings."""
    from dockbench.checks import containers, daemon_config, host_kernel, images, operations, registries, socket_permissions, swarm, tls  # noqa: F401
    from dockbench.checks.catalog import CATALOG

    for mapping in sorted(MAPPINGS.glob("*.yaml")):
        CATALOG.apply_mapping(mapping)
    return CATALOG
