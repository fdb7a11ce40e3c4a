"""The one-screen summary a host report's page opens with, for the person who receives the
audit: what was judged (the scope), the score with and without waivers (and attestations), the
worst failures, and what changed since the host's previous archived scan; and Archived, what
the archive knows of a report beyond the report itself, which the command line hands over when
it renders a page from the archive."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockbench.benchmark.document.report import STATUS_ORDER, cis_ids, score_of
from dockbench.benchmark.render.document import SEVERITY_ORDER, cis_order

TOP = 5  # failures, newly failing and fixed checks listed by name; the rest are counted


@dataclass(frozen=True)
class Archived:
    """What the archive adds to a host report (`dockbench show`, or `scan` with an archive):
    the judging options the scan was stored with, and the same host's scan before it (None:
    this is its first) with how this one differs from it (archive.diff.diff_hosts)."""

    options: dict[str, Any] | None = None
    previous: dict[str, Any] | None = None
    changes: dict[str, Any] | None = None


def _gravest(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Critical first; the order given kept within a severity."""
    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    return sorted(items, key=lambda item: rank.get(item.get("severity"), len(rank)))


def _containers(options: dict[str, Any]) -> str:
    which = "running or stopped" if options.get("include_stopped") else "running"
    chosen = [f"named {', '.join(options['containers'])}"] if options.get("containers") else []
    chosen += [f"labelled {', '.join(options['labels'])}"] if options.get("labels") else []
    return f"{which} containers " + " and ".join(chosen) if chosen else f"every {which} container"


def scope(report: dict[str, Any], archived: Archived | None) -> dict[str, Any]:
    """What was judged, and where that is said: the report's own scope block when it has one
    (schema 1.3), else the options the archive stored with the scan, else the benchmark alone."""
    benchmark = report["benchmark"]
    rows: list[tuple[str, Any]] = [("benchmark", f"{benchmark.get('title') or benchmark['id']} ({benchmark['id']})")]
    stated = report.get("scope") if isinstance(report.get("scope"), dict) else None
    options = stated or (archived.options if archived else None)
    if not options:
        rows.append(("checks judged", report["summary"]["total"]))
        return {"source": "as the report states it: the level, include/exclude and container selection are in the archive (dockbench show adds them)", "rows": rows}
    rows += [
        ("CIS level", options.get("level") or "1 and 2"),
        ("include", ", ".join(options.get("include") or ()) or "every check"),
        ("exclude", ", ".join(options.get("exclude") or ()) or "nothing"),
        ("containers", _containers(options)),
        ("checks judged", report["summary"]["total"]),
    ]
    return {"source": "as the report states it" if stated else "as the scan was stored in the archive", "rows": rows}


def scores(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The score as judged, with waivers (waived FAILs left out) when the report has waivers,
    and without attestations (each attested result counted as it was judged before a person
    attested it, its attested_from) when some result is attested."""
    summary = report["summary"]
    rows = [{"label": "score", "score": summary["score"], "note": "share of the decided checks (PASS or FAIL) that passed"}]
    if "score_with_waivers" in summary:
        waived = (summary.get("waived") or {}).get("total", 0)
        rows.append({"label": "with waivers", "score": summary["score_with_waivers"], "note": f"{waived} waived result(s) left out as accepted risks"})
    attested = [r for r in report["results"] if r.get("attested_from")]
    if attested:
        judged = {s: 0 for s in STATUS_ORDER}
        for r in report["results"]:
            status = r.get("attested_from") or r["status"]
            judged[status] = judged.get(status, 0) + 1
        rows.append({"label": "without attestations", "score": score_of(judged), "note": f"{len(attested)} attested result(s) counted as judged"})
    return rows


def worst_failures(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The FAILs no waiver covers as a whole, gravest first (in CIS order within a severity):
    the first TOP of them, how many in all, and how many FAILs are waived."""
    fails = [r for r in cis_order(results) if r["status"] == "FAIL"]
    open_ = _gravest([r for r in fails if not r.get("waived")])
    return {"top": open_[:TOP], "total": len(open_), "waived": len(fails) - len(open_)}


def _changed(items: list[dict[str, Any]], cis: dict[str, list[str]]) -> dict[str, Any]:
    gravest = _gravest(items)
    return {"top": [dict(item, cis=cis.get(item["id"], [])) for item in gravest[:TOP]], "total": len(items)}


def since_previous(report: dict[str, Any], archived: Archived | None) -> dict[str, Any]:
    """What changed since the host's previous archived scan: "unknown" when the page was not
    rendered from the archive, "first" when there is none, else "compared" with the newly
    failing and fixed checks (gravest first) and the previous scan's id, time and score."""
    if archived is None:
        return {"state": "unknown"}
    if archived.previous is None or archived.changes is None:
        return {"state": "first"}
    previous, changes = archived.previous, archived.changes
    cis = {r["id"]: cis_ids(r) for r in report["results"]}
    return {
        "state": "compared",
        "scan_id": previous.get("scan_id"), "started_at": previous.get("started_at"), "score": (previous.get("summary") or {}).get("score"),
        "benchmarks_differ": changes.get("benchmarks_differ"),
        "newly_failing": _changed(changes.get("newly_failing") or [], cis), "fixed": _changed(changes.get("fixed") or [], cis),
    }


def summary_view(report: dict[str, Any], archived: Archived | None) -> dict[str, Any]:
    """The template variables of a host page's summary."""
    return {"scope": scope(report, archived), "scores": scores(report), "failures": worst_failures(report["results"]),
            "since": since_previous(report, archived)}
