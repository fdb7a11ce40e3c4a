"""Where a plan's changes land: a target path under the mounted root, and the one host a script is for."""

from __future__ import annotations

from dockbench.benchmark.remediate.plan import PlanError


def on_disk(host: dict, path: str) -> str:
    """The target's absolute `path` as the script sees it: under the root a --root scan mounted."""
    if not path.startswith("/"):
        raise PlanError(f"{path!r} is not an absolute path on the target")
    root = host["root"].rstrip("/")
    return root + path


def single_host(plan: dict, fmt: str) -> dict:
    """A script acts on one host: a sweep's plan is rendered for one of its hosts (--host)."""
    if len(plan["hosts"]) != 1:
        names = ", ".join(h["host"] for h in plan["hosts"]) or "none"
        raise PlanError(f"a {fmt} plan is for one host, and this plan has {len(plan['hosts'])} (pick one with --host: {names})")
    return plan["hosts"][0]
