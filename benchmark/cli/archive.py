"""The archive's commands: history, show, diff, reevaluate, archive verify|export|prune|keygen
(COMMANDS, added to the group by cli/main.py); what to judge comes from JudgingOptions, as for
scan and evaluate. How a scan stores itself is cli/archiving.py."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from dockbench.benchmark import clock, exit_codes, render
from dockbench.benchmark.archive import (
    Ambiguous,
    ArchiveError,
    NotFound,
    default_path,
    open_archive,
    postgres,
)
from dockbench.benchmark.archive import diff as diffs
from dockbench.benchmark.archive.chain import GENESIS, WAIVED, content, verify
from dockbench.benchmark.archive.signing import Signer, Verifier, keygen
from dockbench.benchmark.cli.options import judged, judging_options
from dockbench.benchmark.document import report as report_mod
from dockbench.benchmark.document import scope
from dockbench.benchmark.judge.options import STORED, JudgingOptions
from dockbench.benchmark.judge.waivers import WaiverError, WaiverFile
from dockbench.benchmark.render import trend
from dockbench.benchmark.render.terminal import clean


def _fail(message: str, code: int = exit_codes.CANNOT_RUN):
    click.echo(f"dockbench: {message}", err=True)
    sys.exit(code)


def archive_option(func):
    return click.option(
        "--archive", "archive_path", envvar="DOCKBENCH_ARCHIVE", metavar="PATH|URL",
        help="Archive file, or a team archive on PostgreSQL (postgresql://USER@HOST/DB). Default: $DOCKBENCH_ARCHIVE, "
             "else $XDG_DATA_HOME/dockbench/archive.sqlite3 (~/.local/share/...).",
    )(func)


def shown(location) -> str:
    """An archive location as messages show it: a URL's password masked."""
    text = str(location)
    return postgres.mask(text) if postgres.is_url(text) else text


def open_or_fail(path: str | None, create: bool = False):
    location = path or default_path()
    try:
        return open_archive(location, create=create)
    except NotFound:
        _fail(f"no archive at {shown(location)} (every `dockbench scan` stores one there; see --archive)")
    except ArchiveError as exc:
        _fail(str(exc))


def load_signer(path: str) -> Signer:
    try:
        return Signer.load(path)
    except ArchiveError as exc:
        if "encrypted" not in str(exc) or not sys.stdin.isatty():
            raise click.BadParameter(str(exc), param_hint="--sign-key") from exc
    password = click.prompt(f"Passphrase for {path}", hide_input=True)
    try:
        return Signer.load(path, password.encode())
    except ArchiveError as exc:
        raise click.BadParameter(str(exc), param_hint="--sign-key") from exc


def _resolve(archive, prefix: str, kind: str | None = None) -> str:
    try:
        return archive.resolve(prefix, kind)
    except (NotFound, Ambiguous) as exc:
        _fail(str(exc))


# ---------------------------------------------------------------- helpers


def parse_since(text: str) -> str:
    """7d, 12h, 2w (ago), or a date / ISO time (UTC unless it says otherwise) -> UTC ISO time."""
    relative = re.fullmatch(r"\s*(\d+)\s*([hdw])\s*", text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        moment = clock.now() - timedelta(**{{"h": "hours", "d": "days", "w": "weeks"}[unit]: amount})
    else:
        try:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as exc:
            raise click.BadParameter(f"{text!r} is not a date (2026-01-31), a time (2026-01-31T08:00:00Z) or an age (7d, 12h, 2w)", param_hint="--since") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
    return clock.stamp(moment)


def _sweep_document(archive, entry, lite: bool = False) -> tuple[dict[str, Any], list[str]]:
    """A stored sweep put back together from its skeleton and its host entries."""
    hosts, missing = [], []
    for scan_id in entry.report.get("hosts") or []:
        try:
            hosts.append(archive.get(scan_id, facts=False, lite=lite).report)
        except NotFound:
            missing.append(scan_id)
    return dict(entry.report, hosts=hosts), missing


def _document(archive, entry, lite: bool = False) -> dict[str, Any]:
    if entry.kind != "sweep":
        return entry.report
    document, missing = _sweep_document(archive, entry, lite)
    if missing:
        click.echo(f"dockbench: warning: {len(missing)} host scan(s) of sweep {entry.scan_id} are no longer in the archive (pruned)", err=True)
    return document


def entry_before(archive, kind: str, host: str | None, seq: int):
    """The newest entry of that kind (of that host: None for sweeps) stored before entry seq,
    lite (enough to compare with), or None when there is none."""
    earlier = [i for i in archive.scans(host=host, kind=kind, statuses=False) if i.seq < seq]
    return archive.get(earlier[-1].scan_id, facts=False, lite=True) if earlier else None


def archived_context(archive, host: str, report: dict[str, Any], options: dict[str, Any] | None, seq: int) -> render.Archived:
    """What the archive knows of a stored host report, for its HTML page: the options stored
    with it, the host's scan before it and what changed since."""
    before = entry_before(archive, "host", host, seq)
    if before is None:
        return render.Archived(options)
    return render.Archived(options, before.report, diffs.diff_hosts(before.report, report))


def _info_dict(info) -> dict[str, Any]:
    return {"scan_id": info.scan_id, "kind": info.kind, "host": info.host, "hostname": info.hostname, "sweep_id": info.sweep_id,
            "started_at": info.started_at, "finished_at": info.finished_at, "recorded_at": info.recorded_at, "score": info.score,
            "counts": info.counts, "total": info.total, "signed_by": info.signed_by}


def _table(head: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]

    def line(row):
        return "  ".join(v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(row, widths))).rstrip()
    return [line(head)] + [line(r) for r in rows]


# ---------------------------------------------------------------- history


@click.command("history")
@click.option("--host", metavar="HOST", help="Only this host (its inventory/target name or its hostname).")
@click.option("--check", "check_id", metavar="ID", help="Show this check's status in each scan (and where it changed).")
@click.option("--since", metavar="DATE", help="Only scans started since: a date, an ISO time, or an age (7d, 12h, 2w).")
@click.option("--sweeps", is_flag=True, help="List fleet sweeps instead of host scans.")
@click.option("--last", type=click.IntRange(1), metavar="N", help="Only the newest N.")
@click.option("--json", "as_json", is_flag=True, help="JSON output (the same as --format json).")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json", "html"]), default="table", show_default=True,
              help="html: the trend page (score and status counts per scan as charts, the checks that flipped), one self-contained file.")
@click.option("-o", "--output", metavar="FILE", default="-", show_default=True, help="Where to write.")
@archive_option
def history_cmd(host, check_id, since, sweeps, last, as_json, fmt, output, archive_path) -> None:
    """Scans and their score over time, oldest first (with --check: that check's status).

    --format html -o trend.html writes the trend page of every host in the archive, or of
    --host alone; --since and --last narrow it as they narrow the table.
    """
    since_at = parse_since(since) if since else None
    if fmt == "html" and (sweeps or check_id or as_json):
        raise click.UsageError("the trend page (--format html) follows host scans: drop --sweeps, --check and --json")
    with open_or_fail(archive_path) as archive:
        infos = archive.scans(host=host, kind="sweep" if sweeps else "host", since=since_at, last=last,
                              statuses=True if fmt == "html" else check_id or False, options=True)   # the table needs one check's status at most
        if fmt == "html":
            selection = f"host {host}" if host else "every host"
            page = trend.render_trend(infos, archive.location, selection + (f", since {since_at}" if since_at else ""),
                                      report_of=lambda scan_id: archive.get(scan_id, facts=False, lite=True).report)
            render.write_text(page, output)
            if output != "-":
                click.echo(f"html: {output} ({len(infos)} scans)", err=True)
            return
        as_json = as_json or fmt == "json"
        show_waived = any(i.waived for i in infos)
        previous: dict[str | None, Any] = {}
        rows, records = [], []
        for info in infos:
            before = previous.get(info.host)
            previous[info.host] = info
            record = _info_dict(info)
            record["waived"] = info.waived
            moved = scope.delta(before.options or {}, info.options or {}) if before else None
            record["scope_changed"] = sorted(moved["options"]) if moved else []
            if check_id:
                record["check"] = _check_history(archive, check_id, before, info, moved)
            else:   # scores of two scopes are not compared
                delta = info.score - before.score if before and not moved and info.score is not None and before.score is not None else None
                record["score_change"] = round(delta, 1) if delta is not None else None
            records.append(record)
            c = info.counts
            cells = [info.scan_id[:8], info.started_at or "?", clean(info.host or "(fleet)")]
            if sweeps:
                cells += [str(info.total)]
            if check_id:
                check = record["check"]
                status = (check["status"] or "(not run)") + (" (waived)" if check["waived"] else "")
                note = check["change"] or (f"was {check['was'] or '(not run)'}" + (" (waived)" if check["was_waived"] else "") if check["changed"] else "")
                rows.append(cells + [status, note])
            else:
                change = record["score_change"]
                rows.append(cells + [str(c["FAIL"]), str(c["ERROR"]), str(c["MANUAL"]), str(c["PASS"]), str(c["NOT_APPLICABLE"])]
                            + ([str(record["waived"])] if show_waived else [])
                            + [report_mod.score_text(info.score), "scope" if moved else f"{change:+.1f}" if change else "", (info.sweep_id or "")[:8]])
    if as_json:
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    if not infos:
        click.echo("no scans match" if (host or since) else "the archive holds no scans yet")
        return
    head = ["scan", "started", "host"] + (["hosts"] if sweeps else [])
    if check_id:
        if not any(r["check"]["status"] for r in records):
            click.echo(f"dockbench: no listed scan ran check {check_id!r}", err=True)
        head += [check_id, ""]
        right = set()
    else:
        head += ["FAIL", "ERROR", "MANUAL", "PASS", "N/A"] + (["waived"] if show_waived else []) + ["score", "change", "sweep"]
        right = set(range(len(head) - 8 - show_waived, len(head) - 1))
    for line in _table(head, rows, right):
        click.echo(line)


def _check_history(archive, check_id: str, before, info, moved: dict[str, Any] | None) -> dict[str, Any]:
    """One check in one scan against the scan before it: status, waived, and how it changed
    (moved: how the scope's options changed between them, if they did)."""
    def split(status: str | None) -> tuple[str | None, bool]:
        return (status[: -len(WAIVED)], True) if status and status.endswith(WAIVED) else (status, False)

    def reports() -> list[dict[str, Any]]:
        return [archive.get(i.scan_id, facts=False, lite=True).report for i in (before, info)]

    def result(report: dict[str, Any]) -> dict[str, Any] | None:
        return next((r for r in report["results"] if r["id"] == check_id), None)

    status, waived = split(info.statuses.get(check_id))
    was, was_waived = split(before.statuses.get(check_id)) if before else (None, False)
    changed = before is not None and (was, was_waived) != (status, waived)
    change = None
    if changed and moved:
        old, new = reports()
        if scope.explains(scope.delta(scope.of(old, before.options), scope.of(new, info.options)), result(old), result(new)):
            change = "scope changed"
    if change is None and changed and waived and not was_waived:
        change = "newly waived"
    elif change is None and changed and was_waived and not waived and status in diffs.WAIVABLE:
        old, new = reports()
        change = f"waiver {diffs.waiver_lapse(result(old), result(new), new)}"
    return {"id": check_id, "status": status, "waived": waived, "changed": changed, "was": was, "was_waived": was_waived, "change": change}


# ---------------------------------------------------------------- show


@click.command("show")
@click.argument("scan_id")
@click.option("-f", "--format", "fmt", type=click.Choice(render.formats()), help="Output format. Default: from -o's extension, else json (the stored report).")
@click.option("-o", "--output", metavar="FILE", default="-", show_default=True, help="Where to write.")
@click.option("--facts", "facts_only", is_flag=True, help="The stored facts snapshot instead (JSON; `dockbench evaluate` reads it).")
@archive_option
def show_cmd(scan_id, fmt, output, facts_only, archive_path) -> None:
    """Re-render a stored scan (or a whole sweep, by its sweep id) in any report format.

    SCAN_ID may be any unique prefix of a scan or sweep id (see `dockbench history`). A host
    scan's HTML page also states the options it was stored with and what changed since the
    host's scan before it.
    """
    with open_or_fail(archive_path) as archive:
        entry = archive.get(_resolve(archive, scan_id))
        if facts_only:
            if fmt not in (None, "json"):
                raise click.UsageError("--facts writes JSON only")
            if entry.kind == "sweep":
                facts = {"kind": "facts-sweep", "hosts": {}}
                for host_id in entry.report.get("hosts") or []:
                    try:
                        host = archive.get(host_id)
                    except NotFound:
                        continue
                    facts["hosts"][host.report["target"]["name"]] = host.facts
            else:
                facts = entry.facts
            if facts is None:
                _fail(f"scan {entry.scan_id} was stored without facts")
            text = json.dumps(facts, indent=2, ensure_ascii=False) + "\n"
            if output == "-":
                sys.stdout.write(text)
            else:
                Path(output).write_text(text, encoding="utf-8")
            return
        if fmt is None:
            try:
                fmt = render.format_for_path(output) if output != "-" else "json"
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--output") from exc
        document = _document(archive, entry)
        archived = archived_context(archive, entry.host, entry.report, entry.options, entry.seq) if entry.kind == "host" and fmt == "html" else None
    render.write(document, output, fmt, archived)
    if output != "-":
        click.echo(f"{fmt}: {output}", err=True)


# ---------------------------------------------------------------- diff


def _pair(archive, a, b, host, last):
    """The two entries to compare, by ids, by --host/--last, or an id and the scan before it."""
    if a and b:
        return archive.get(_resolve(archive, a), facts=False, lite=True), archive.get(_resolve(archive, b), facts=False, lite=True)
    if a:
        entry = archive.get(_resolve(archive, a), facts=False, lite=True)
        before = entry_before(archive, entry.kind, entry.host if entry.kind == "host" else None, entry.seq)
        if before is None:
            _fail(f"{entry.scan_id} is the first {'sweep' if entry.kind == 'sweep' else 'scan of ' + str(entry.host)} in the archive: nothing to compare it with")
        return before, entry
    last = last or 2
    infos = archive.scans(host=host, kind="host" if host else "sweep", last=last, statuses=False)
    if len(infos) < 2:
        what = f"scans of {host}" if host else "sweeps"
        _fail(f"the archive holds {len(infos)} {what}: need two to compare")
    return archive.get(infos[0].scan_id, facts=False, lite=True), archive.get(infos[-1].scan_id, facts=False, lite=True)


@click.command("diff")
@click.argument("a", required=False, metavar="[A]")
@click.argument("b", required=False, metavar="[B]")
@click.option("--host", metavar="HOST", help="Compare scans of this host (with --last).")
@click.option("--last", type=click.IntRange(2), metavar="N", help="Compare the Nth newest with the newest (default 2): of --host's scans, else of the sweeps.")
@click.option("-v", "--verbose", is_flag=True, help="Show the evidence of checks whose evidence alone changed.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@archive_option
def diff_cmd(a, b, host, last, verbose, as_json, archive_path) -> None:
    """What changed between two stored scans (or two sweeps): newly failing, fixed, status and
    evidence changes; for sweeps also hosts appearing and disappearing.

    \b
    dockbench diff A B              two scan ids (or two sweep ids; prefixes work)
    dockbench diff A                A against the scan of the same host before it
    dockbench diff --host H         the last two scans of H (--last N: Nth newest vs newest)
    dockbench diff --last 2         the last two sweeps

    Exit 1 when B has newly failing checks (or hosts no longer audited), else 0.
    """
    if (a or b) and (host or last):
        raise click.UsageError("give scan ids, or --host/--last, not both")
    with open_or_fail(archive_path) as archive:
        first, second = _pair(archive, a, b, host, last)
        if first.kind != second.kind:
            raise click.UsageError(f"{first.scan_id} is a {first.kind} entry and {second.scan_id} a {second.kind} entry: compare two of a kind")
        options = (first.options, second.options)
        if first.kind == "sweep":
            result = diffs.diff_sweeps(_document(archive, first, lite=True), _document(archive, second, lite=True), options)
        else:
            result = diffs.diff_hosts(first.report, second.report, options)
    click.echo(json.dumps(result, indent=2, ensure_ascii=False) if as_json else diffs.render_text(result, verbose=verbose))
    sys.exit(exit_codes.FINDINGS if diffs.worse(result) else exit_codes.OK)


# ---------------------------------------------------------------- reevaluate


def _stored_judge(judging: dict[str, Any], entry):
    """The current checks, judged as the scan was (its stored options and policy) unless overridden."""
    ctx = click.get_current_context()
    # scans stored before --benchmark existed record it only in their report
    stored = {"benchmark": entry.report["benchmark"]["id"], **(entry.options or {})}
    chosen = {}
    for key in STORED:
        given = ctx.get_parameter_source(key) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)
        chosen[key] = judging[key] if given or key not in stored else stored[key]
    options = judged(lambda: JudgingOptions.load(config_file=judging["config_file"], waivers_file=judging["waivers_file"], **chosen))
    judged(options.judge)   # no check selected is refused before the stored waivers are read
    saved_policy = (entry.report if entry.kind == "host" else {}).get("policy") or stored.get("policy")
    if not judging["config_file"] and saved_policy:
        options = options.with_policy(saved_policy)
    saved_waivers = entry.report.get("waivers")
    if not judging["waivers_file"] and saved_waivers:
        try:
            options = dataclasses.replace(options, waivers=WaiverFile.stored(saved_waivers, entry.report["benchmark"]["id"]))
        except WaiverError as exc:
            _fail(f"scan {entry.scan_id}: its stored waivers cannot be used ({exc}): give --waivers")
    return options.judge()


@click.command("reevaluate")
@click.argument("scan_id")
@judging_options
@click.option("-o", "--output", metavar="FILE", help="Also write the re-judged report (JSON; '-' for stdout).")
@click.option("-v", "--verbose", is_flag=True, help="Show the evidence of checks whose evidence alone would change.")
@click.option("--json", "as_json", is_flag=True, help="JSON output of the differences.")
@archive_option
def reevaluate_cmd(scan_id, verbose, as_json, output, archive_path, **judging) -> None:
    """Judge a stored scan's facts again with the current checks and show what would change.

    SCAN_ID may be a unique prefix of a scan or sweep id. The scan's own options (benchmark,
    level, include/exclude, container selection), policy and waivers are used unless given
    here: --benchmark judges old facts under another version (checks are compared by check
    id); --waivers applies that file as it is now (its dates judged against the scan's day).
    Nothing is stored. Exit 1 when a check would newly FAIL or its waiver lapse.
    """
    started = clock.stamp()
    with open_or_fail(archive_path) as archive:
        entry = archive.get(_resolve(archive, scan_id))
        if entry.kind == "sweep":
            old, missing = _sweep_document(archive, entry)
            judge = _stored_judge(judging, entry)
            reports = []
            for host_id in entry.report.get("hosts") or []:
                if host_id in missing:
                    continue
                host = archive.get(host_id)
                if host.facts is None:
                    _fail(f"scan {host_id} of sweep {entry.scan_id} was stored without facts")
                connection = {k: host.report["target"][k] for k in ("address", "exec_channels") if k in host.report["target"]}
                reports.append(judge(host.facts, started, connection=connection))
            document = report_mod.build_sweep(reports, list(entry.report.get("errors") or []), benchmark=judge.benchmark.to_dict(), started_at=started, finished_at=clock.stamp())
            result = diffs.diff_sweeps(old, document, (entry.options, None))
        else:
            if entry.facts is None:
                _fail(f"scan {entry.scan_id} was stored without facts: it cannot be judged again")
            document = _stored_judge(judging, entry)(entry.facts, started)
            result = diffs.diff_hosts(entry.report, document, (entry.options, None))
    if output:
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if output == "-":
            sys.stdout.write(text)
        else:
            Path(output).write_text(text, encoding="utf-8")
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False), err=output == "-")
    elif output != "-":
        click.echo(diffs.render_text(result, ("stored ", "now "), verbose))
    sys.exit(exit_codes.FINDINGS if diffs.worse(result) else exit_codes.OK)


# ---------------------------------------------------------------- archive group


@click.group("archive")
def archive_group() -> None:
    """The archive itself: verify its hash chain, export, prune, make a signing key."""


@archive_group.command("verify")
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False), help="Also check every entry's Ed25519 signature with this public key (PEM).")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@archive_option
def verify_cmd(public_key, as_json, archive_path) -> None:
    """Walk the hash chain; name every edited, deleted or reordered entry. Exit 1 if any."""
    verifier = None
    if public_key:
        try:
            verifier = Verifier.load(public_key)
        except ArchiveError as exc:
            raise click.BadParameter(str(exc), param_hint="--public-key") from exc
    with open_or_fail(archive_path) as archive:
        result = verify(archive, verifier)
        location = archive.location
    if as_json:
        click.echo(json.dumps(dict(result.to_dict(), archive=location), indent=2))
    else:
        pruned = f", {result.checkpoint['count']} pruned before seq {result.checkpoint['through_seq'] + 1}" if result.checkpoint else ""
        signed = f", {result.signed} signed" + (f" (key {', '.join(sorted(k for k in result.key_ids if k))})" if result.key_ids else "")
        click.echo(f"archive {location}: {result.entries} entries{pruned}{signed}")
        click.echo(f"head {result.head_hash or (result.checkpoint or {}).get('through_hash') or GENESIS}")
        for problem in result.problems:
            click.echo(f"{problem.kind.upper():<13} {clean(problem.message)}")
        if result.ok:
            checked = f", every signature verifies with key {verifier.key_id}" if verifier else ""
            click.echo(f"OK: the chain is intact{checked}")
        else:
            click.echo(f"{len(result.problems)} problem(s): the archive was altered or damaged")
    sys.exit(exit_codes.OK if result.ok else exit_codes.FINDINGS)


def _file_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:80] or "host"


@archive_group.command("export")
@click.option("-o", "--output", required=True, metavar="PATH", help="JSON lines file ('-' for stdout), or a directory (--format dir).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "dir"]), default="jsonl", show_default=True,
              help="jsonl: one line per entry with its chain fields (verifiable elsewhere); dir: a report (and facts) file per scan and a manifest.")
@click.option("--host", metavar="HOST", help="Only this host's scans.")
@click.option("--since", metavar="DATE", help="Only scans started since (date, ISO time, or 7d/12h/2w).")
@archive_option
def export_cmd(output, fmt, host, since, archive_path) -> None:
    """Export stored scans with their evidence and chain fields."""
    since_at = parse_since(since) if since else None

    def wanted(entry) -> bool:
        if host is not None and host not in (entry.host, entry.hostname):
            return False
        return since_at is None or (entry.started_at or "") >= since_at

    count = 0
    with open_or_fail(archive_path) as archive, archive.reading():
        checkpoint = archive.checkpoint()
        header = {"dockbench_archive_export": 1, "source": archive.location, "exported_at": clock.stamp(),
                  "checkpoint": dataclasses.asdict(checkpoint) if checkpoint else None,
                  "filter": {"host": host, "since": since_at}}
        if fmt == "jsonl":
            stream = sys.stdout if output == "-" else open(output, "w", encoding="utf-8", errors="surrogatepass")  # noqa: SIM115
            try:
                stream.write(json.dumps(header, ensure_ascii=False) + "\n")
                for entry in archive.iterate():
                    if not wanted(entry):
                        continue
                    line = dict(content(dataclasses.asdict(entry)), seq=entry.seq, hash=entry.hash, signature=entry.signature, key_id=entry.signed_by)
                    stream.write(json.dumps(line, ensure_ascii=False) + "\n")
                    count += 1
            finally:
                if stream is not sys.stdout:
                    stream.close()
        else:
            root = Path(output)
            root.mkdir(parents=True, exist_ok=True)
            with open(root / "manifest.jsonl", "w", encoding="utf-8") as manifest:
                manifest.write(json.dumps(header, ensure_ascii=False) + "\n")
                for entry in archive.iterate():
                    if not wanted(entry):
                        continue
                    stamp = (entry.started_at or entry.recorded_at).replace("-", "").replace(":", "")
                    base = f"sweep-{stamp}-{entry.scan_id[:8]}" if entry.kind == "sweep" else f"{_file_name(entry.host or 'host')}-{stamp}-{entry.scan_id[:8]}"
                    files = {"report": f"{base}.json"}
                    document = _document(archive, entry)
                    (root / files["report"]).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8", errors="surrogatepass")
                    if entry.facts is not None:
                        files["facts"] = f"{base}.facts.json"
                        (root / files["facts"]).write_text(json.dumps(entry.facts, indent=2, ensure_ascii=False) + "\n", encoding="utf-8", errors="surrogatepass")
                    manifest.write(json.dumps({"seq": entry.seq, "scan_id": entry.scan_id, "kind": entry.kind, "host": entry.host,
                                               "sweep_id": entry.sweep_id, "started_at": entry.started_at, "recorded_at": entry.recorded_at,
                                               "prev_hash": entry.prev_hash, "hash": entry.hash, "signature": entry.signature,
                                               "key_id": entry.signed_by, "files": files}, ensure_ascii=False) + "\n")
                    count += 1
    if output != "-":
        click.echo(f"exported {count} entries to {output}", err=True)


@archive_group.command("prune")
@click.option("--keep-days", type=click.IntRange(0), required=True, metavar="N", help="Keep entries recorded in the last N days; delete older ones.")
@click.option("--dry-run", is_flag=True, help="Only say what would be deleted.")
@click.option("--sign-key", type=click.Path(exists=True, dir_okay=False), help="Sign the checkpoint when the last pruned entry was not signed.")
@archive_option
def prune_cmd(keep_days, dry_run, sign_key, archive_path) -> None:
    """Delete entries older than N days; the chain stays verifiable from a recorded checkpoint
    (the last pruned entry's hash and the number pruned)."""
    cutoff = clock.stamp(clock.now() - timedelta(days=keep_days), precise=True)
    signer = load_signer(sign_key) if sign_key else None
    with open_or_fail(archive_path) as archive:
        if dry_run:
            doomed = 0
            for info in archive.scans(statuses=False):
                if info.recorded_at >= cutoff:
                    break
                doomed += 1
            click.echo(f"would delete {doomed} entries recorded before {cutoff}")
            return
        try:
            result = archive.prune(cutoff, signer)
        except ArchiveError as exc:
            _fail(str(exc))
    if result.deleted:
        cp = result.checkpoint
        click.echo(f"deleted {result.deleted} entries recorded before {cutoff}; the chain now starts after seq {cp.through_seq} "
                   f"(checkpoint {cp.through_hash[:16]}…, {cp.count} pruned in all)")
    else:
        click.echo(f"nothing recorded before {cutoff}")


@archive_group.command("keygen")
@click.argument("private_key", metavar="FILE", type=click.Path(dir_okay=False))
def keygen_cmd(private_key) -> None:
    """Make an Ed25519 key pair for signing: FILE (private, mode 0600) and FILE.pub.

    Sign with `dockbench scan --sign-key FILE`; check with `dockbench archive verify
    --public-key FILE.pub`. Keep FILE out of the archive and away from the hosts audited.
    """
    try:
        private, public, ident = keygen(private_key)
    except (ArchiveError, OSError) as exc:
        _fail(str(exc))
    click.echo(f"private key: {private} (mode 0600)\npublic key:  {public}\nkey id:      {ident}")


COMMANDS = (history_cmd, show_cmd, diff_cmd, reevaluate_cmd, archive_group)

