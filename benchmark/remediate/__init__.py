"""Remediation plans: from a judged report (and its facts snapshot) to the changes that fix its
findings, for a person to review and apply.

`plan.build` makes the plan (a JSON-ready dict, one entry per host) from the fix declarations
next to the checks (checks/fixes.py); `FORMATS` renders it for reviewers (md), for tools
(json), as a POSIX shell script (sh) and as an Ansible playbook (ansible). Nothing here touches
a host: the scripts it writes do, when a person runs them.
"""

from __future__ import annotations

from dockbench.benchmark.remediate.plan import PlanError, build
from dockbench.benchmark.remediate.render import EXTENSIONS, FORMATS, format_for_path, render

__all__ = ["EXTENSIONS", "FORMATS", "PlanError", "build", "format_for_path", "render"]
