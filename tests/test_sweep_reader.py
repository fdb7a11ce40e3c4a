"""Reading and rendering a sweep one host at a time (benchmark/document/reader.py, the render
package's writers): the reader reads what json.load reads, in any layout, and names the file and
the place of what it cannot read; every format writes the bytes it wrote before streaming (the
digests recorded in tests/data/reports, see tests/golden.py), from memory, from a file and from
a sweep's spool; reading, checking and rendering a sweep holds at most two host reports at a
time, for 20 hosts as for 200."""

from __future__ import annotations

import copy
import json
import random
import re
import weakref

import pytest
from click.testing import CliRunner

from dockbench.benchmark import render
from dockbench.benchmark.cli import main
from dockbench.benchmark.document import json_lines as jsonlines
from dockbench.benchmark.document import reader as sweep_reader
from dockbench.benchmark.document import report as report_mod
from dockbench.benchmark.document import validate
from dockbench.benchmark.fleet.host import HostResult
from dockbench.benchmark.fleet.output import SweepOutput, write_document
from tests import golden, sweepdoc
from tests.cli_run import dockbench
from tests.recorded import recorded_snapshot

KEEP_ORDER = ("compact", "ascii, indent 2", "utf-8, tabs", "as a sweep writes it")  # the layouts that keep every key's place (but hosts': the last)
HOSTILE = ['"hosts": [1, 2]}', "\\", "\\u0000 \u2028 \u00e9 \U0001f600 \x00", "]}{[,:", "\x7f\x1b[2J", "</script>", '"', "\\n\n\t\r"]


@pytest.fixture(scope="module")
def frozen():
    return golden.documents()


def shuffled(value, rng: random.Random, top_hosts: str = "random"):
    """value with every object's keys in another order ("hosts" first, last or anywhere at the top)."""
    if isinstance(value, list):
        return [shuffled(v, rng, None) for v in value]
    if not isinstance(value, dict):
        return value
    keys = list(value)
    rng.shuffle(keys)
    if top_hosts in ("first", "last") and "hosts" in keys:
        keys.remove("hosts")
        keys = ["hosts", *keys] if top_hosts == "first" else [*keys, "hosts"]
    return {k: shuffled(value[k], rng, None) for k in keys}


def hostile(document):
    """A copy with hostile strings where host text lands, and as keys."""
    doc = copy.deepcopy(document)
    for i, host in enumerate(doc.get("hosts", [doc])):
        host["target"]["hostname"] += HOSTILE[i % len(HOSTILE)]
        host["errors"].append({"stage": "probe", "message": "".join(HOSTILE)})
        host["results"][0]["evidence"].append({"subject": HOSTILE[0], "observed": {h: [h, 1.5e300, -0.0, None, True] for h in HOSTILE}})
    doc["x-hosts"] = {"hosts": HOSTILE, "": [[], {}, [[{}]]], "n": [0, -1, 1e-7, 12345678901234567890, 3.25]}
    return doc


def layouts(document, rng: random.Random) -> dict[str, str]:
    """The same document as JSON text in several layouts json.load reads the same."""
    texts = {
        "compact": json.dumps(document, separators=(",", ":")),
        "ascii, indent 2": json.dumps(document, indent=2),
        "utf-8, tabs": json.dumps(document, indent="\t", ensure_ascii=False),
        "hosts first, spaces": " \r\n " + json.dumps(shuffled(document, rng, "first"), separators=(" , ", " : ")) + "\n\n ",
        "hosts last, CRLF": json.dumps(shuffled(document, rng, "last"), indent=1).replace("\n", "\r\n"),
        "shuffled": json.dumps(shuffled(document, rng), ensure_ascii=False, indent=3),
    }
    if document.get("kind") == "sweep":
        texts["as a sweep writes it"] = _written(document)
    return texts


def _written(document) -> str:
    from io import BytesIO

    out = BytesIO()
    write_document(document, (jsonlines.dumps(h) for h in document["hosts"]), out)
    return out.getvalue().decode("ascii")


def _read(tmp_path, text: str | bytes, name: str = "doc.json"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    return sweep_reader.read(str(path))


def same(read_back, loaded) -> bool:
    """Equal values and equal key order everywhere (json.dumps writes keys in order)."""
    return json.dumps(read_back, sort_keys=False) == json.dumps(loaded, sort_keys=False)


# ------------------------------------------------------------------ reading what json.load reads


@pytest.mark.parametrize("chunk", [1, 3, 64, sweep_reader.CHUNK])
def test_the_reader_reads_what_json_load_reads(frozen, tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(sweep_reader, "CHUNK", chunk)  # every token cut at every place by the buffer's refills
    rng = random.Random(chunk)
    sweep = frozen["sweep"] if chunk >= 64 else {**frozen["sweep"], "hosts": frozen["sweep"]["hosts"][:2]}
    for document in (sweep, hostile(sweep), frozen["host"], hostile(frozen["host"])):
        for layout, text in layouts(document, rng).items():
            with _read(tmp_path, text) as source:
                loaded = json.loads(text)
                assert same(source.whole(), loaded), layout
                assert same(source.whole(), loaded), f"{layout}, read again"
                if "hosts" in loaded:
                    assert isinstance(source.hosts, sweep_reader.Spans) and len(source.hosts) == len(loaded["hosts"])
                    assert same(list(source.reports()), loaded["hosts"])
                    assert "hosts" not in source.head and list(source.lazy()) == list(loaded)


@pytest.mark.parametrize("text", [
    "[1, 2]", '"report"', "null", "3.5", " {} ", '{"hosts": []}', '{"hosts": {}}', '{"hosts": null, "kind": "sweep"}',
    '{"hosts": [1, "two", [3], {"4": 4}, null]}', '{"hosts": [1], "a": 1, "hosts": [2, 3]}', '{"hosts": [1], "hosts": 5}',
    '{"kind": "facts-sweep", "hosts": {"a": {"x": 1}, "b": 2, "a": [3]}}', '{"a": NaN, "b": -Infinity, "hosts": [Infinity, 1e999]}',
    '{"a": "\\ud83d\\ude00 \\u00e9\\"\\\\", "hosts": ["\\ud800"]}', '{"": {"": []}, "hosts": [[], [[]], {}]}',
])
def test_the_reader_reads_odd_json_as_json_load_does(tmp_path, monkeypatch, text):
    monkeypatch.setattr(sweep_reader, "CHUNK", 2)
    with _read(tmp_path, text) as source:
        assert same(source.whole(), json.loads(text))


def test_a_facts_sweep_reads_one_snapshot_at_a_time(tmp_path):
    snapshots = {f"h{i}": recorded_snapshot() for i in range(3)}
    text = json.dumps({"hosts": snapshots, "kind": "facts-sweep"})
    with _read(tmp_path, text) as source:
        assert source.head == {"kind": "facts-sweep"}
        assert list(source.hosts) == list(snapshots.values())


# ------------------------------------------------------------------ what it cannot read


def _broken_texts(document) -> dict[str, bytes]:
    text = json.dumps(document, indent=1).encode()
    cuts = {f"cut at {n}": text[:n] for n in (0, 1, 2, 40, len(text) // 3, len(text) // 2, len(text) - 3, len(text) - 1)}
    second_host = text.index(b'"target"', text.index(b'"target"') + 1)
    return {
        **cuts,
        "garbage": b"this is not json {",
        "garbage in a host": text[:second_host] + b"@" + text[second_host:],
        "missing comma": text.replace(b'"kind": "sweep",', b'"kind": "sweep"', 1),
        "trailing data": text + b" {}",
        "two documents": text + text,
        "control character in a string": text.replace(b'"sweep"', b'"sw\x01eep"', 1),
        "bare word": text.replace(b'"interrupted": false', b'"interrupted": nope', 1),
        "latin-1 in a string": text.replace(b'"sweep"', b'"sw\xe9ep"', 1),
        "a BOM": b"\xef\xbb\xbf" + text,
    }


@pytest.mark.parametrize("chunk", [5, sweep_reader.CHUNK])
def test_what_is_not_json_is_refused_naming_the_file_and_where(frozen, tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(sweep_reader, "CHUNK", chunk)
    document = {**frozen["sweep"], "hosts": frozen["sweep"]["hosts"][:2]}
    for case, data in _broken_texts(document).items():
        path = tmp_path / "broken sweep.json"
        path.write_bytes(data)
        try:
            json.loads(data.decode("utf-8"))
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno} (byte {len(data.decode('utf-8')[:exc.pos].encode())})"
        except UnicodeDecodeError as exc:
            where = f"at byte {exc.start})"
        else:
            pytest.fail(f"{case}: json.loads read it")
        with pytest.raises(sweep_reader.ReadError) as raised:
            sweep_reader.read(str(path))
        message = str(raised.value)
        assert message.startswith(f"{path}: not valid JSON: ") and message.endswith(where), (case, message, where)


def test_json_lines_read_as_the_sweep_document_they_stand_for(frozen, tmp_path):
    sweep = frozen["sweep"]
    lines = render.render(sweep, "jsonl").splitlines(keepends=True)
    rng = random.Random(5)
    shuffled_hosts = lines[:1] + rng.sample(lines[1:-1], len(lines) - 2) + lines[-1:]
    with _read(tmp_path, "".join(shuffled_hosts), "sweep.jsonl") as source:
        assert source.whole() == sweep
        assert [h["target"]["name"] for h in source.hosts] == sorted(h["target"]["name"] for h in sweep["hosts"])
    killed = [line for line in shuffled_hosts[:-1] if '"kind":"unreachable"' not in line or "down-02" in line]
    with _read(tmp_path, "".join(killed), "killed.jsonl") as source:
        errors = [e for e in sweep["errors"] if e["name"] == "down-02"]
        in_file = [json.loads(line) for line in killed if '"kind":"host"' in line]
        expected = report_mod.build_sweep(in_file, errors, benchmark=sweep["benchmark"], started_at=sweep["started_at"],
                                          finished_at=sweep["started_at"], interrupted=True, sweep_id=sweep["sweep_id"])
        assert source.whole() == expected
        validate.check(source)
    for bad, problem in ((lines[0] + "garbage\n", "line 2 is not a dockbench sweep line"), ("".join(lines[1:]), "no sweep_start line")):
        path = tmp_path / "bad.jsonl"
        path.write_text(bad)
        with pytest.raises(sweep_reader.ReadError, match=f"^{re.escape(str(path))}: {problem}"):
            sweep_reader.read(str(path))


# ------------------------------------------------------------------ the same bytes as before


def test_every_format_writes_the_bytes_it_wrote_before_streaming(frozen, tmp_path):
    recorded = golden.digests()
    rng = random.Random(11)
    for name, document in frozen.items():
        for fmt in golden.FORMATS:
            assert golden.digest(render.render(document, fmt)) == recorded[name][fmt], (name, fmt)
        for layout, text in layouts(document, rng).items():
            loaded = json.loads(text)
            with _read(tmp_path, text) as source:
                validate.check(source)
                for fmt in golden.FORMATS:
                    out = tmp_path / f"out{render.extension(fmt)}"
                    render.write(source, out, fmt)
                    expected = render.render(loaded, fmt)  # what the document in this layout (its key order) renders as
                    if out.read_bytes() != expected.encode():
                        (tmp_path / f"expected{render.extension(fmt)}").write_text(expected)
                        pytest.fail(f"{name} in layout {layout!r} as {fmt} differs: diff {out} {tmp_path}/expected{render.extension(fmt)}")
                    if layout in KEEP_ORDER and (fmt != "json" or layout != "as a sweep writes it"):
                        assert golden.digest(out.read_bytes()) == recorded[name][fmt], (name, layout, fmt)


def _spooled_sweep(hosts, errors, tmp_path, formats, header=None):
    header = header or report_mod.build_sweep([], [], benchmark=hosts[0]["benchmark"], started_at="2026-11-23T14:00:00Z", finished_at="")
    outputs = [(str(tmp_path / f"spooled{render.extension(fmt)}"), fmt) for fmt in formats]
    output = SweepOutput(header, outputs)
    for i, host in enumerate(hosts):
        output.host(HostResult.of(host))
        if i < len(errors):
            output.error(errors[i])
    output.finish(finished_at="2026-11-23T14:04:00Z", interrupted=False)
    return {fmt: tmp_path / f"spooled{render.extension(fmt)}" for fmt in formats}


def test_a_sweep_renders_from_its_spool_as_from_its_document(frozen, tmp_path):
    sweep = frozen["sweep"]
    rng = random.Random(3)
    written = _spooled_sweep(rng.sample(sweep["hosts"], len(sweep["hosts"])), sweep["errors"], tmp_path, ["json", *golden.FORMATS[1:], "html"])
    document = json.loads(written["json"].read_text())
    assert document["hosts"] == sweep["hosts"] and document["errors"] == sweep["errors"]
    assert document["schema_version"] == report_mod.SCHEMA_VERSION  # written by this version, from hosts of an older one
    assert {k: v for k, v in document.items() if k not in ("tool", "sweep_id", "schema_version")} == {k: v for k, v in sweep.items() if k not in ("tool", "sweep_id", "schema_version")}
    for fmt, path in written.items():
        if fmt == "jsonl":  # the spool itself: the hosts in the order they finished
            assert sorted(path.read_text().splitlines()) == sorted(render.render(document, fmt).splitlines())
        elif fmt != "json":
            assert path.read_bytes() == render.render(document, fmt).encode(), fmt
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob("*.partial.jsonl"))


def test_dockbench_report_streams_every_format_and_names_what_it_cannot_read(frozen, tmp_path):
    sweep = frozen["sweep"]
    rng = random.Random(2)
    source = tmp_path / "sweep.json"
    source.write_text(json.dumps(shuffled(sweep, rng, "first"), indent=2))
    loaded = json.loads(source.read_text())
    for fmt in golden.FORMATS:
        out = tmp_path / f"out{render.extension(fmt)}"
        done = dockbench("report", source, "-f", fmt, "-o", out)
        assert done.returncode == 0, done.stderr
        assert out.read_bytes() == render.render(loaded, fmt).encode(), fmt
    lines = tmp_path / "sweep.jsonl"
    lines.write_text(render.render(sweep, "jsonl"))
    done = dockbench("report", lines, "-f", "md", "-o", "-")
    assert done.returncode == 0 and done.stdout == render.render(sweep, "md")
    done = dockbench("report", "-", "-o", tmp_path / "stdin.csv", input=source.read_text())
    assert done.returncode == 0 and (tmp_path / "stdin.csv").read_bytes() == render.render(loaded, "csv").encode()
    cut = tmp_path / "cut.json"
    cut.write_bytes(source.read_bytes()[:-20000])
    done = dockbench("report", cut, "-o", tmp_path / "cut.md")
    assert done.returncode == 2 and done.stderr.startswith(f"dockbench: {cut}: not valid JSON: ") and " line " in done.stderr and " column " in done.stderr
    assert not (tmp_path / "cut.md").exists()
    host = copy.deepcopy(sweep)
    host["hosts"][2]["results"][1]["status"] = "OK"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(host))
    done = dockbench("report", bad, "-o", tmp_path / "bad.md")
    assert done.returncode == 2 and "not a dockbench report: $.hosts[2].results[1].status: 'OK' is not one of" in done.stderr
    assert not (tmp_path / "bad.md").exists()


def test_evaluate_judges_a_sweep_s_facts_one_host_at_a_time(tmp_path):
    snapshots = {}
    for i, name in enumerate(["b-host", "a-host", "c-host"]):
        snap = recorded_snapshot()
        snap["target"]["name"] = name
        snap["docker"]["containers"] = snap["docker"]["containers"][i:]
        snapshots[name] = snap
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"hosts": snapshots, "kind": "facts-sweep"}, indent=1))
    outputs = [tmp_path / f"again{render.extension(fmt)}" for fmt in ("json", "md", "csv", "junit")]
    done = dockbench("evaluate", facts, *[a for p in outputs for a in ("-o", p)], "-q", "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    document = json.loads(outputs[0].read_text())
    validate.check(document)
    assert [h["target"]["name"] for h in document["hosts"]] == ["a-host", "b-host", "c-host"]
    assert len({len(h["results"]) for h in document["hosts"]}) == 1 and len({json.dumps(h["results"]) for h in document["hosts"]}) == 3
    for path in outputs[1:]:
        assert path.read_bytes() == render.render(document, render.format_for_path(path)).encode(), path.name
    facts.write_text(facts.read_text()[:-100])
    done = dockbench("evaluate", facts)
    assert done.returncode == 2 and f"cannot read {facts}: not valid JSON: " in done.stderr


# ------------------------------------------------------------------ one host at a time


class _Tracked(dict):
    """A decoded host report (or snapshot) that can be counted while alive."""


@pytest.fixture
def held(monkeypatch):
    """Counts the host reports decoded from files, and the most alive at once."""
    counts = {"decoded": 0, "alive": 0, "peak": 0}
    original = sweep_reader.load_host

    def gone():
        counts["alive"] -= 1

    def counting(text):
        report = _Tracked(original(text))
        weakref.finalize(report, gone)
        counts["decoded"] += 1
        counts["alive"] += 1
        counts["peak"] = max(counts["peak"], counts["alive"])
        return report

    monkeypatch.setattr(sweep_reader, "load_host", counting)
    return counts


def _fleet(frozen, size: int) -> dict:
    """A sweep of `size` hosts, copies of the frozen real ones under new names, each keeping 12 of its results (to stay quick)."""
    hosts = []
    for i in range(size):
        host = sweepdoc.as_host(frozen["sweep"]["hosts"][i % 4], f"node-{i:04d}.example.test")
        host["results"] = host["results"][i % 7::7][:12]
        host["summary"] = {**host["summary"], **report_mod.summarize(host["results"])}
        hosts.append(host)
    return sweepdoc.sweep(hosts, frozen["sweep"]["errors"], sweep_id=f"fleet-{size}")


@pytest.mark.parametrize("size", [20, 200])
def test_reading_checking_and_rendering_a_sweep_holds_two_hosts_at_most(frozen, tmp_path, held, size):
    document = _fleet(frozen, size)
    for layout, text in (("as a sweep writes it", _written(document)), ("indented, hosts first", json.dumps(shuffled(document, random.Random(size), "first"), indent=2))):
        path = tmp_path / "fleet.json"
        path.write_text(text)
        held.update(decoded=0, peak=held["alive"])
        with sweep_reader.read(str(path)) as source:
            assert held["decoded"] == 0  # the first pass decodes each host only to find its end, outside load_host
            validate.check(source)
            for fmt in golden.FORMATS:
                render.write(source, tmp_path / f"fleet{render.extension(fmt)}", fmt)
        assert held["decoded"] == size * (1 + len(golden.FORMATS)), layout
        assert held["peak"] <= 2, (layout, held)
    held.update(decoded=0, peak=held["alive"])
    written = _spooled_sweep(document["hosts"], document["errors"], tmp_path, golden.FORMATS)
    assert held["decoded"] == size * (len(golden.FORMATS) - 2)  # json and jsonl copy the hosts' lines undecoded
    assert held["peak"] <= 2, held
    assert written["md"].read_text() == render.render(json.loads(written["json"].read_text()), "md")


def test_evaluate_holds_two_snapshots_at_most(tmp_path, held):
    snapshot = recorded_snapshot()
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"kind": "facts-sweep", "hosts": {f"h{i:02d}": {**snapshot, "target": {**snapshot["target"], "name": f"h{i:02d}"}} for i in range(12)}}))
    done = CliRunner().invoke(main, ["evaluate", str(facts), "-o", str(tmp_path / "e.json"), "-o", str(tmp_path / "e.md"), "-q", "--fail-on", "never"])
    assert done.exit_code == 0, done.output
    assert held["decoded"] == 12 + 12  # each snapshot, then each report for the md
    assert held["peak"] <= 2, held


def test_an_output_that_cannot_be_written_is_named_and_the_others_are_written(frozen, tmp_path):
    sweep = frozen["sweep"]
    source = tmp_path / "sweep.json"
    source.write_text(json.dumps(sweep))
    missing = tmp_path / "missing" / "out.csv"
    done = dockbench("report", source, "-o", missing)
    assert done.returncode == 2 and done.stderr == f"dockbench: cannot write {missing}: No such file or directory\n"
    # at the end of a sweep: every other output is still written, and the spool is kept
    header = report_mod.build_sweep([], [], benchmark=sweep["benchmark"], started_at="2026-11-23T14:00:00Z", finished_at="")
    good = tmp_path / "good.json"
    output = SweepOutput(header, [(str(good), "json"), (str(tmp_path / "missing" / "out.md"), "md"), (str(tmp_path / "good.csv"), "csv")])
    for host in sweep["hosts"]:
        output.host(HostResult.of(host))
    with pytest.raises(render.OutputError, match=r"cannot write .*missing/out\.md: No such file or directory \(the sweep's hosts are all in .*good\.json\.partial\.jsonl\)"):
        output.finish(finished_at="2026-11-23T14:04:00Z", interrupted=False)
    written = json.loads(good.read_text())
    assert written["hosts"] == sweep["hosts"]
    assert (tmp_path / "good.csv").read_bytes() == render.render(written, "csv").encode()
    assert len((tmp_path / "good.json.partial.jsonl").read_text().splitlines()) == len(sweep["hosts"]) + 2
