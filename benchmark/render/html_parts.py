"""What the HTML pages share: the Jinja2 environment (autoescape on) over the top-level
``templates`` package, the inline style and script with the Content-Security-Policy that allows
only them (by hash), so no page can fetch anything, from file:// or anywhere else; the layer
chart; the fleet Tally; and a host report's page (alone, or one of a big sweep's host pages)."""

from __future__ import annotations

import base64
import hashlib
from functools import cache, lru_cache
from typing import Any

from dockbench.benchmark.document import scope
from dockbench.benchmark.document.report import STATUS_ORDER, score_of
from dockbench.benchmark.judge.waivers import listed
from dockbench.benchmark.render.document import (
    LAYER_ORDER,
    SEVERITY_ORDER,
    STATUS_LABEL,
    cis_order,
    count_check,
    gravest_first,
    host_label,
    observed_lines,
    sorted_results,
    waived_label,
    worst_status,
)
from dockbench.benchmark.render.summary import Archived, summary_view


@lru_cache(maxsize=1)
def jinja_environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dockbench.templates", "."),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["observed"] = observed_lines
    env.filters["waived_label"] = waived_label
    env.globals["waiver_lists"] = listed
    env.globals.update(scope_checks=scope.checks_text, scope_containers=scope.containers_text)
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "separators": (",", ":"), "ensure_ascii": False}
    env.globals.update(STATUS_ORDER=STATUS_ORDER, STATUS_LABEL=STATUS_LABEL, SEVERITY_ORDER=SEVERITY_ORDER)
    return env


@cache
def page_assets(script: str = "report.js", style: str | None = None) -> dict[str, str]:
    """The inline style (report.css, then style's) and script (report.js, or the fleet summary's),
    and the CSP that allows exactly them (by SHA-256) and nothing else."""
    env = jinja_environment()
    css = "".join(env.get_template(name).render() for name in ("report.css", style) if name)
    js = env.get_template(script).render()

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    csp = (f"default-src 'none'; style-src {digest(css)}; script-src {digest(js)}; img-src 'none'; "
           "connect-src 'none'; font-src 'none'; form-action 'none'; base-uri 'none'")
    return {"css": css, "js": js, "csp": csp}


CHART_WIDTH, CHART_LABEL, CHART_ROW = 820, 150, 22


def _chart(by_layer: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Geometry of a stacked horizontal bar per layer (numbers only: the template draws it)."""
    layers = [layer for layer in LAYER_ORDER if layer in by_layer] + [layer for layer in by_layer if layer not in LAYER_ORDER]
    most = max([sum(by_layer[layer].values()) for layer in layers] or [1]) or 1
    span = CHART_WIDTH - CHART_LABEL - 250
    rows = []
    for i, layer in enumerate(layers):
        x, segments = float(CHART_LABEL), []
        for status in STATUS_ORDER:
            count = by_layer[layer].get(status, 0)
            if count:
                width = span * count / most
                segments.append({"status": status, "x": round(x, 1), "width": round(width, 1), "count": count})
                x += width
        rows.append({"layer": layer, "y": 28 + i * CHART_ROW, "segments": segments, "end": round(x + 6, 1), "total": sum(by_layer[layer].values())})
    legend = [{"status": s, "x": CHART_LABEL + i * 90} for i, s in enumerate(STATUS_ORDER)]
    return {"width": CHART_WIDTH, "height": 36 + len(layers) * CHART_ROW, "rows": rows, "legend": legend, "label_x": CHART_LABEL - 8}


class Tally:
    """What a fleet's pages add up over its hosts, taken one host at a time: results by layer
    and status, each check's counts, the layers and CIS levels seen, whether any host was
    judged with waivers."""

    def __init__(self):
        self.by_layer: dict[str, dict[str, int]] = {}
        self.checks: dict[str, dict[str, Any]] = {}
        self.levels: set = set()
        self.waivers = False

    def add(self, host: dict[str, Any]) -> None:
        for layer, counts in host["summary"]["by_layer"].items():
            total = self.by_layer.setdefault(layer, {s: 0 for s in STATUS_ORDER})
            for status, n in counts.items():
                total[status] = total.get(status, 0) + n
        for r in host["results"]:
            count_check(self.checks, r)
            self.levels.add(r["level"])
        self.waivers = self.waivers or bool(host.get("waivers"))

    def counts(self) -> dict[str, int]:
        """Results by status over every host."""
        counts = {s: 0 for s in STATUS_ORDER}
        for check in self.checks.values():
            for status, n in check["counts"].items():
                counts[status] = counts.get(status, 0) + n
        return counts

    def filters(self) -> dict[str, Any]:
        """The choices the filter bar offers: the layers and CIS levels seen, and waivers if any."""
        layers = {c["layer"] for c in self.checks.values()}
        return {
            "layers": [layer for layer in LAYER_ORDER if layer in layers] + sorted(layers - set(LAYER_ORDER)),
            "levels": sorted(level for level in self.levels if level is not None) + (["none"] if None in self.levels else []),
            "waivers": self.waivers,
        }

    def view(self) -> dict[str, Any]:
        """The template variables of a fleet page's header, chart and check list."""
        checks = gravest_first(self.checks)
        for check in checks:
            check["statuses"] = " ".join(s for s in STATUS_ORDER if check["counts"][s])
        counts = self.counts()
        return {"checks": checks, "counts": counts, "score": score_of(counts), "chart": _chart(self.by_layer), "filters": self.filters()}


def host_view(report: dict[str, Any], anchor: str) -> dict[str, Any]:
    layers: dict[str, dict[str, int]] = report["summary"]["by_layer"]
    return {
        "report": report,
        "anchor": anchor,
        "label": host_label(report),
        "scope": scope.of(report),
        "results": sorted_results(report["results"]),
        "worst": {layer: worst_status(counts) for layer, counts in layers.items()},
        "worst_overall": worst_status(report["summary"]["by_status"]),
    }


def sort_ranks(results: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Each result's place (by its id) in every order a host page's findings sort by: status,
    severity, layer, check id, and CIS (the order the results are given in)."""
    status, severity, layer = ({v: i for i, v in enumerate(order)} for order in (STATUS_ORDER, SEVERITY_ORDER, LAYER_ORDER))
    check = {rid: i for i, rid in enumerate(sorted(r["id"] for r in results))}
    return {r["id"]: {"status": status.get(r["status"], len(status)), "severity": severity.get(r["severity"], len(severity)),
                      "layer": layer.get(r["layer"], len(layer)), "check": check[r["id"]], "cis": i} for i, r in enumerate(results)}


def host_page(report: dict[str, Any], fleet: str | None = None, archived: Archived | None = None) -> str:
    """A host report's page, its findings in CIS order; with fleet (the relative address of a
    fleet summary page) it links back to it; archived: what the archive knows of the scan
    (its stored options, the previous scan of the host), for the summary."""
    tally = Tally()
    tally.add(report)
    host = dict(host_view(report, "findings"), results=cis_order(report["results"]))
    return jinja_environment().get_template("host.html.j2").render(
        doc=report, host=host, ranks=sort_ranks(host["results"]), summary=summary_view(report, archived),
        chart=_chart(report["summary"]["by_layer"]), filters=tally.filters(), assets=page_assets(), fleet=fleet,
    )
