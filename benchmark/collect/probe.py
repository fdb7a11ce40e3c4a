"""Build the read-only probe script and split its framed output into records.

The probe is the only code that runs on a target. It is the same bytes whether run locally
or over SSH; the few parameters it takes are shell assignments put in front of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PROBE_FORMAT = "1"
NOISE = "noise"  # pseudo-record: bytes printed before the probe's first record
_HEADER = re.compile(rb"@@dockbench ([oe]) (-|\d+) (\d+) (\d+)\n")


class ProbeOutputError(Exception):
    """The probe's output is truncated or not in the probe's format."""


@dataclass
class Record:
    """What one probe step printed: stdout, its exit status (None if unknown) and stderr."""

    out: bytes = b""
    rc: int | None = None
    err: bytes = b""

    @property
    def ok(self) -> bool:
        return self.rc == 0

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "replace")

    @property
    def error_text(self) -> str:
        return self.err.decode("utf-8", "replace").strip()


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def build(
    *,
    root: str = "/",
    docker_host: str | None = None,
    round_no: int = 1,
    stat_paths: tuple[str, ...] = (),
    read_paths: tuple[str, ...] = (),
    swarm_manager: bool = False,
) -> bytes:
    """Return the probe script with its parameters set.

    Paths are passed one per line, so a path holding a newline cannot be asked for.
    """
    params = {
        "DB_ROOT": root,
        "DB_DOCKER_HOST": docker_host or "",
        "DB_ROUND": str(round_no),
        "DB_STAT": "\n".join(p for p in stat_paths if "\n" not in p),
        "DB_READ": "\n".join(p for p in read_paths if "\n" not in p),
        "DB_SWARM_MANAGER": "1" if swarm_manager else "",
    }
    header = "".join(f"{k}={_quote(v)}\n" for k, v in params.items())
    body = (Path(__file__).parent / "probe.sh").read_text()
    return (header + body).encode()


def _start(data: bytes) -> int:
    """Where the probe's own output begins: shell start-up files or banners may print first."""
    if data.startswith(b"@@dockbench "):
        return 0
    at = data.find(b"\n@@dockbench o 0 5 ")
    return at + 1 if at >= 0 else 0


def parse(data: bytes) -> dict[str, Record]:
    """Split probe output into records by name; raise ProbeOutputError if it is damaged."""
    records: dict[str, Record] = {}
    pos = _start(data)
    if pos:
        records[NOISE] = Record(out=data[:pos], rc=0)
    seen_end = False
    while pos < len(data):
        match = _HEADER.match(data, pos)
        if not match:
            rest = data[pos:]
            if b"\n" not in rest and b"@@dockbench ".startswith(rest[:12]):
                raise ProbeOutputError(f"output truncated at offset {pos} (inside a record header)")
            snippet = data[pos : pos + 40]
            raise ProbeOutputError(f"unexpected bytes at offset {pos}: {snippet!r}")
        stream, rc, name_len, data_len = match.groups()
        start = match.end()
        name_end = start + int(name_len)
        data_end = name_end + int(data_len)
        if data_end + 1 > len(data):
            raise ProbeOutputError(f"output truncated at offset {pos} (record needs {data_end + 1} bytes, got {len(data)})")
        if data[data_end : data_end + 1] != b"\n":
            raise ProbeOutputError(f"record at offset {pos} is not terminated")
        name = data[start:name_end].decode("utf-8", "surrogateescape")
        payload = data[name_end:data_end]
        record = records.setdefault(name, Record())
        if stream == b"o":
            record.out, record.rc = payload, int(rc)
        else:
            record.err = payload
        pos = data_end + 1
        seen_end = name == "end"
        if seen_end:
            break
    if not records.get("probe"):
        raise ProbeOutputError("no probe header: the output is not from the dockbench probe")
    if not seen_end:
        raise ProbeOutputError("output truncated: the probe's end marker is missing")
    fmt = records["probe"].text.split(" ")[0]
    if fmt != PROBE_FORMAT:
        raise ProbeOutputError(f"probe format {fmt!r}, expected {PROBE_FORMAT!r}")
    return records
