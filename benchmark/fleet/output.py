"""Where a sweep's hosts go as they finish: JSON Lines, the sweep JSON document, the facts, the archive.

Nothing here holds a host report longer than it takes to write it, so a sweep's memory does
not grow with the fleet (the sweep keeps a small index per host: name, summary, file offset).

- JSON Lines (``-o sweep.jsonl``): a ``sweep_start`` line, then one line per host as it is
  judged (the host report itself, ``"kind": "host"``) or found unreachable (``"kind":
  "unreachable"``, its error entry under ``error``), then a ``sweep`` line: the sweep document
  without ``hosts`` and ``errors``. Each line is flushed when written, so a crash or Ctrl-C
  leaves every finished host in the file.
- The sweep document (``-o sweep.json``): exactly what report.build_sweep makes of the same
  hosts (sorted by name), written at the end from the JSON Lines, one host per line. While the
  sweep runs, its hosts are in ``sweep.json.partial.jsonl`` (that JSON Lines file), removed once
  the document is complete; a sweep that crashed leaves it behind.
- The facts (``--facts-out``): the ``facts-sweep`` document, one host per line as it comes.
"""

from __future__ import annotations

import os
from typing import IO, Any

from dockbench.benchmark import render
from dockbench.benchmark.document import reader as sweep_reader
from dockbench.benchmark.document import report as report_mod
from dockbench.benchmark.document.json_lines import dumps, end_line, error_line, start_line
from dockbench.benchmark.fleet.host import HostResult

PARTIAL = ".partial.jsonl"
def _open(path: str) -> IO[bytes]:
    """A binary stream for an output path: '-' is stdout."""
    if path == "-":
        return os.fdopen(os.dup(1), "wb")
    return open(path, "wb")


class JsonLines:
    """A JSON Lines file of the sweep, remembering where each host's line is."""

    def __init__(self, path: str, header: dict[str, Any]):
        self.path = path
        self.stream = _open(path)
        self.offset = 0
        self.index: list[tuple[str, int, int]] = []  # host name, offset, length of its line
        self._line(start_line(header))

    def _line(self, data: bytes) -> None:
        self.stream.write(data + b"\n")
        self.stream.flush()
        self.offset += len(data) + 1

    def host(self, result: HostResult) -> None:
        self.index.append((result.name, self.offset, len(result.report_line)))
        self._line(result.report_line)

    def error(self, entry: dict[str, str]) -> None:
        self._line(error_line(entry))

    def finish(self, document: dict[str, Any]) -> None:
        self._line(end_line(document))
        self.stream.close()


def write_document(document: dict[str, Any], host_lines, stream: IO[bytes]) -> None:
    """The sweep document, its hosts from host_lines (one per line), so that a reader of this
    layout never needs more than one host in memory."""
    stream.write(end_line(document)[:-1] + b',\n"hosts": [')
    for i, line in enumerate(host_lines):
        stream.write((b"\n" if i == 0 else b",\n") + line)
    stream.write(b'\n],\n"errors": ' + dumps(document["errors"]) + b"}\n")


class FactsOut:
    """The sweep's facts-sweep document, one host's snapshot per line as it comes."""

    def __init__(self, path: str):
        self.stream = _open(path)
        self.stream.write(b'{"kind": "facts-sweep", "hosts": {')
        self.count = 0

    def host(self, result: HostResult) -> None:
        self.stream.write((b"\n" if not self.count else b",\n") + dumps(result.name) + b": " + result.facts_line)
        self.stream.flush()
        self.count += 1

    def finish(self) -> None:
        self.stream.write(b"\n}}\n")
        self.stream.close()


class SweepOutput:
    """Every place a sweep's results go, fed one host at a time (from one thread).

    outputs: (path, format) pairs; json and jsonl stream; any other format is rendered at the
    end from the JSON Lines, host by host (the single html page of a small sweep from the whole
    document read back; a big sweep's summary and host pages host by host)."""

    def __init__(self, header: dict[str, Any], outputs: list[tuple[str, str]], facts_path: str | None = None, archive=None):
        self.header = header
        self.outputs = outputs
        jsonl = [path for path, fmt in outputs if fmt == "jsonl"]
        spools = jsonl or [self._partial(outputs[0][0])]
        self.lines = [JsonLines(path, header) for path in spools]
        self.temporary = None if jsonl else spools[0]
        self.facts = FactsOut(facts_path) if facts_path else None
        self.archive = archive
        self.hosts: list[dict[str, Any]] = []  # each host's scan id, name, counts and waivers: the terminal's line, the totals
        self.errors: list[dict[str, str]] = []

    @staticmethod
    def _partial(path: str) -> str:
        if render.in_place(path):
            import tempfile

            handle, name = tempfile.mkstemp(prefix="dockbench-sweep-", suffix=PARTIAL)
            os.close(handle)
            return name
        return path + PARTIAL

    def host(self, result: HostResult) -> None:
        for lines in self.lines:
            lines.host(result)
        if self.facts:
            self.facts.host(result)
        if self.archive is not None:
            self.archive.host(result)
        self.hosts.append(report_mod.host_summary(result.scan_id, result.name, result.summary, result.waivers, result.scope))

    def error(self, entry: dict[str, str]) -> None:
        for lines in self.lines:
            lines.error(entry)
        self.errors.append(entry)

    def _write_read_back(self, document: dict[str, Any]) -> list[render.OutputError]:
        """Write the outputs read back from the spool; those that could not be written, after
        trying every other one."""
        failed = []
        read_back = [(path, fmt) for path, fmt in self.outputs if fmt != "jsonl"]
        if read_back:
            spool = self.lines[0]
            with sweep_reader.spooled(document, spool.path, spool.index) as source:
                for path, fmt in read_back:
                    try:
                        if fmt == "json":
                            render.write_with(path, lambda stream: write_document(document, source.hosts.texts(), stream), binary=True)
                        else:
                            render.write(source, path, fmt)
                    except render.OutputError as exc:
                        failed.append(exc)
        return failed

    def finish(self, *, finished_at: str, interrupted: bool) -> dict[str, Any]:
        """Complete every output; the sweep document with each host's name and counts only (what
        the terminal summary, the exit code and the archive's sweep entry need)."""
        summary = report_mod.sweep_summary((h["summary"] for h in self.hosts), self.errors)
        document = report_mod.build_sweep(self.hosts, self.errors, benchmark=self.header["benchmark"], started_at=self.header["started_at"], finished_at=finished_at,
                                          interrupted=interrupted, sweep_id=self.header["sweep_id"], summary=summary)
        for lines in self.lines:
            lines.finish(document)
        failed = self._write_read_back(document)
        if self.temporary and not failed:  # a failed output leaves the spool: `dockbench report` turns it into the document
            os.unlink(self.temporary)
        if self.facts:
            self.facts.finish()
        if self.archive is not None:
            self.archive.finish(document)
        if failed:
            raise render.OutputError(f"{failed[0]} (the sweep's hosts are all in {self.lines[0].path})")
        return document
