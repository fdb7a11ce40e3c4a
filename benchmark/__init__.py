"""dockbench runner: probe a host once, judge the facts with pure checks, report from one JSON document."""

__version__ = "0.1.0"
