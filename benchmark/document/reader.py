"""Reading a report document one host at a time, so that rendering or checking a sweep of any
size holds one host report in memory, not the fleet.

A Source is what the renderers and the schema check read: the document's head (every key but
"hosts") and its host reports, decoded one at a time each time they are iterated, in document
order. Three kinds of document give one:

    Source.of(document)   a document already in memory (a host report is its own one host)
    read(path)            a sweep JSON document (or any JSON file: json.load's verdict, kept out of
                          memory where it is the "hosts" array, or object, of the top-level object);
                          FILE.jsonl: a sweep's JSON Lines (what a sweep streams, or what a killed one
                          left); '-': standard input, copied to a temporary file first
    a sweep's spool       (benchmark.fleet.output) its JSON Lines, hosts by name

Reading a file goes over it once to find where each host's JSON text starts and ends (decoding
each to be sure of its end, then dropping it), so the head is complete before the first host is
rendered whatever the order of the keys; afterwards each host is read back by its offset.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from dockbench.benchmark.document import bounded_json
from dockbench.benchmark.document import report as report_mod

HOSTS = "hosts"
CHUNK = 1 << 20  # bytes read at a time; a longer value makes the next read as long as what is buffered
_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace, as json.load skips it
_NEAR_END = 64  # a decoding error this close to the end of what is buffered may be a value cut short


class ReadError(ValueError):
    """A file that is not what it should be; str() names the file, the problem and where."""

    def __init__(self, name: str, problem: str):
        super().__init__(f"{name}: {problem}")


def load_host(text: str | bytes) -> Any:
    """One host's JSON text decoded (the one place host reports are decoded from a file)."""
    return bounded_json.loads(text)


class Spans:
    """Host reports left in a file as JSON texts (offset and length in bytes), decoded one at a
    time when iterated; iterate again to read them again. names: the member names when they are
    the values of an object (a facts-sweep's hosts), else None (an array's elements)."""

    def __init__(self, file: IO[bytes], spans: list[tuple[int, int]], name: str, names: list[str] | None = None):
        self.file, self.spans, self.name, self.names = file, spans, name, names

    def __len__(self) -> int:
        return len(self.spans)

    def __repr__(self) -> str:
        return f"<{len(self.spans)} host reports in {self.name}>"

    def texts(self) -> Iterator[bytes]:
        """Each host's JSON text, as it is in the file."""
        for offset, length in self.spans:
            self.file.seek(offset)
            yield self.file.read(length)

    def __iter__(self) -> Iterator[Any]:
        for offset, text in zip((offset for offset, _ in self.spans), self.texts()):
            try:
                yield load_host(text.decode("utf-8"))
            except ValueError as exc:  # the file changed since it was read
                raise ReadError(self.name, f"the host report at byte {offset} no longer reads: {exc}") from None

    def value(self) -> list[Any] | dict[str, Any]:
        """The array (or object) itself, in memory."""
        return list(self) if self.names is None else dict(zip(self.names, self))


class Source:
    """A report document, its host reports read one at a time (see the module's docstring).

    head:  the document without "hosts" (a host report: the whole report)
    hosts: the "hosts" value: Spans (or a list, for a document in memory); None when absent
    order: the document's keys in order, "hosts" among them (None when there is no "hosts")
    """

    def __init__(self, head: Any, hosts: Any = None, order: list[str] | None = None, file: IO[bytes] | None = None):
        self.head, self.hosts, self.order, self.file = head, hosts, order, file

    @classmethod
    def of(cls, document: Any) -> Source:
        if not isinstance(document, dict) or HOSTS not in document:
            return cls(document)
        return cls({k: v for k, v in document.items() if k != HOSTS}, document[HOSTS], list(document))

    def reports(self):
        """The host reports to render, one at a time: a sweep's hosts, or the host report itself."""
        return self.hosts if self.head.get("kind") == "sweep" else (self.whole(),)

    def lazy(self) -> Any:
        """The document with its "hosts" left as they are (Spans stay in the file), for the schema check."""
        if self.order is None:
            return self.head
        return {k: self.hosts if k == HOSTS else self.head[k] for k in self.order}

    def whole(self) -> Any:
        """The whole document in memory (every host report: for what cannot be rendered host by host)."""
        document = self.lazy()
        if self.order is not None and isinstance(self.hosts, Spans):
            document[HOSTS] = self.hosts.value()
        return document

    def close(self) -> None:
        if self.file is not None:
            self.file.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read(path: str, lines: bool | None = None) -> Source:
    """The document at path ('-': standard input), read as JSON Lines when lines, or when the
    name ends in .jsonl and lines is None. Raises ReadError (or OSError) naming the file."""
    if path == "-":
        file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - the Source closes it, as the file below
        shutil.copyfileobj(sys.stdin.buffer, file)
        file.seek(0)
    else:
        file = open(path, "rb")  # noqa: SIM115 - read again for each pass over the hosts, until Source.close
    try:
        if lines or (lines is None and path.endswith(".jsonl")):
            return read_lines(file, path)
        return _Scanner(file, path).document()
    except BaseException:
        file.close()
        raise


# ---------------------------------------------------------------------------------- JSON


class _Scanner:
    """One pass over a JSON file, decoded as it is read: the top-level object's values, except
    "hosts", whose elements (or members) are decoded only to find where each ends."""

    def __init__(self, file: IO[bytes], name: str):
        self.file, self.name = file, name
        self.utf8 = codecs.getincrementaldecoder("utf-8")()
        self.text, self.pos, self.eof = "", 0, False  # decoded text held, the next character's index in it
        self.byte, self.read_bytes = 0, 0  # file offset of text[pos]; bytes read so far
        self.line, self.line_start = 1, 0  # the line of text[pos], and the index in text where that line starts

    # -- the buffer

    def _more(self) -> bool:
        """Read on (as much again as is held, at least CHUNK); False at the end of the file."""
        if self.eof:
            return False
        data = self.file.read(max(CHUNK, len(self.text) - self.pos))
        pending = len(self.utf8.getstate()[0])  # the start of a character the last read cut in two
        try:
            decoded = self.utf8.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            at = self.read_bytes - pending + exc.start
            raise ReadError(self.name, f"not valid JSON: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at byte {at})") from None
        self.read_bytes += len(data)
        self.eof = not data
        self.line_start -= self.pos
        self.text, self.pos = self.text[self.pos:] + decoded, 0
        return True

    def _advance(self, to: int) -> None:
        passed = self.text[self.pos:to]
        lines = passed.count("\n")
        if lines:
            self.line += lines
            self.line_start = self.pos + passed.rindex("\n") + 1
        self.byte += len(passed) if passed.isascii() else len(passed.encode("utf-8"))
        self.pos = to

    def _fail(self, problem: str, at: int | None = None) -> ReadError:
        """The error at text index `at` (default: the next character), with its line, column and byte."""
        at = self.pos if at is None else at
        before = self.text[self.pos:at]
        line = self.line + before.count("\n")
        start = self.pos + before.rindex("\n") + 1 if "\n" in before else self.line_start
        byte = self.byte + len(before.encode("utf-8"))
        return ReadError(self.name, f"not valid JSON: {problem}: line {line} column {at - start + 1} (byte {byte})")

    def _peek(self) -> str:
        """The next character after whitespace ('' at the end of the file)."""
        while True:
            end = _SPACE.match(self.text, self.pos).end()
            self._advance(end)
            if end < len(self.text) or not self._more():
                return self.text[self.pos:self.pos + 1]

    def _expect(self, chars: str, problem: str) -> str:
        found = self._peek()
        if not found or found not in chars:
            raise self._fail(problem)
        self._advance(self.pos + 1)
        return found

    def _value(self) -> Any:
        """The next JSON value, decoded (by json's own decoder: json.load's verdict on it)."""
        self._peek()
        while True:
            try:
                value, end = bounded_json.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                cut = exc.msg.startswith("Unterminated string") or len(self.text) - exc.pos <= _NEAR_END
                if cut and self._more():
                    continue
                raise self._fail(exc.msg, exc.pos) from None
            except ValueError as exc:  # beyond bounded_json's bounds
                raise self._fail(str(exc)) from None
            if isinstance(value, (int, float)) and len(self.text) - end <= _NEAR_END and self._more():
                continue  # a number may go on in what is not read yet ("3" of "3.5e7")
            self._advance(end)
            return value

    # -- the document

    def document(self) -> Source:
        if self._peek() != "{":
            value = self._value()  # not an object: no report, but read as json.load would
            self._end()
            return Source(value, file=self.file)
        self._advance(self.pos + 1)
        head: dict[str, Any] = {}
        hosts: Any = None
        if self._peek() == "}":
            self._advance(self.pos + 1)
        else:
            while True:
                if self._peek() != '"':
                    raise self._fail("Expecting property name enclosed in double quotes")
                key = self._value()
                self._expect(":", "Expecting ':' delimiter")
                if key == HOSTS and self._peek() in "[{":
                    spans, names = self._spans()
                    hosts = Spans(self.file, spans, self.name, names)
                    head[key] = None  # its place among the keys (json.load keeps the first, with the last value)
                else:
                    value = self._value()
                    if key == HOSTS:
                        hosts, head[key] = value, None
                    else:
                        head[key] = value
                if self._expect(",}", "Expecting ',' delimiter") == "}":
                    break
        self._end()
        if HOSTS not in head:
            return Source(head, file=self.file)
        order = list(head)
        del head[HOSTS]
        return Source(head, hosts, order, self.file)

    def _end(self) -> None:
        if self._peek():
            raise self._fail("Extra data")

    def _spans(self) -> tuple[list[tuple[int, int]], list[str] | None]:
        """Where each element of the array (or member value of the object) here starts and ends in
        the file, and an object's member names; repeated names keep the last value, in the place
        of the first."""
        close = "]" if self._expect("[{", "Expecting value") == "[" else "}"
        members: dict[Any, tuple[int, int]] = {}
        if self._peek() == close:
            self._advance(self.pos + 1)
            return [], None if close == "]" else []
        while True:
            key: Any = len(members)
            if close == "}":
                if self._peek() != '"':
                    raise self._fail("Expecting property name enclosed in double quotes")
                key = self._value()
                self._expect(":", "Expecting ':' delimiter")
            self._peek()
            start = self.byte
            self._value()
            members[key] = (start, self.byte - start)
            if self._expect("," + close, "Expecting ',' delimiter") == close:
                return list(members.values()), None if close == "]" else list(members)


# ----------------------------------------------------------------------------- JSON Lines


def read_lines(file: IO[bytes], name: str) -> Source:
    """A sweep's JSON Lines (benchmark.fleet.output's layout): the sweep document it stands for,
    its hosts sorted by name as the document has them; a file without the final "sweep" line
    (a sweep that was killed) is an interrupted sweep of the hosts it holds."""
    hosts: list[tuple[str, int, int]] = []  # name, offset, length of each host line
    light, errors, header, finished = [], [], None, None
    offset = 0
    for number, text in enumerate(file, 1):
        try:
            line = bounded_json.loads(text)
            kind = line["kind"]
            if kind == "host":
                hosts.append((line["target"]["name"], offset, len(text)))
                light.append(report_mod.host_summary(line["scan_id"], line["target"]["name"], line["summary"], line.get("waivers"), line.get("scope")))
            elif kind == "unreachable":
                errors.append(line["error"])
            elif kind == "sweep_start":
                header = line
            elif kind == "sweep":
                finished = line
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ReadError(name, f"line {number} is not a dockbench sweep line ({type(exc).__name__}: {exc})") from None
        offset += len(text)
    if header is None:
        raise ReadError(name, "no sweep_start line: not a dockbench sweep in JSON Lines")
    try:
        if finished is not None:
            document = {**finished, HOSTS: None, "errors": sorted(errors, key=lambda e: str(e.get("name")))}
        else:
            document = report_mod.build_sweep(light, errors, benchmark=header["benchmark"], started_at=header["started_at"], finished_at=header["started_at"],
                                              interrupted=True, sweep_id=header["sweep_id"])
    except (TypeError, KeyError, AttributeError) as exc:
        raise ReadError(name, f"not a dockbench sweep in JSON Lines ({type(exc).__name__}: {exc})") from None
    spans = Spans(file, [(offset, length) for _, offset, length in sorted(hosts, key=lambda h: h[0])], name)
    return Source({k: v for k, v in document.items() if k != HOSTS}, spans, list(document), file)


def spooled(document: dict[str, Any], path: str | os.PathLike, index: list[tuple[str, int, int]]) -> Source:
    """A sweep's document (as benchmark.fleet.output finishes it) with the host lines of its
    JSON Lines spool at path (index: each host's name, offset and length), hosts by name."""
    head = json.loads(json.dumps({k: v for k, v in document.items() if k not in (HOSTS, "errors")}))
    file = open(path, "rb")  # noqa: SIM115 - the Source closes it
    spans = Spans(file, [(offset, length) for _, offset, length in sorted(index)], os.fspath(path))
    return Source({**head, "errors": document["errors"]}, spans, [*head, HOSTS, "errors"], file)
