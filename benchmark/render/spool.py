"""Text set aside while a sweep's hosts go by, for the formats that write it in another order
(a check's findings across hosts, a metric's samples across hosts) or after something only
known at the end (JUnit's totals): chunks of text in a temporary file, filed by key, so only
their offsets stay in memory."""

from __future__ import annotations

import tempfile
from array import array
from collections.abc import Hashable, Sequence
from typing import IO


class Spool:
    def __init__(self):
        self.file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close(), after the hosts
        self.chunks: dict[Hashable, array] = {}  # key -> (host number, offset, length) flattened
        self.size = 0

    def add(self, key: Hashable, text: str, host: int = 0) -> None:
        """File text under key; host numbers the host it came from (for copy's ranking)."""
        data = text.encode("utf-8")
        self.file.write(data)
        self.chunks.setdefault(key, array("q")).extend((host, self.size, len(data)))
        self.size += len(data)

    def __contains__(self, key: Hashable) -> bool:
        return key in self.chunks

    def copy(self, key: Hashable, out: IO[str], rank: Sequence[int] | None = None) -> None:
        """Write the chunks filed under key to out: in the order added, or with their hosts
        ordered by rank (rank[host]; a host's own chunks stay in the order added)."""
        flat = self.chunks.get(key, array("q"))
        entries = [flat[i:i + 3] for i in range(0, len(flat), 3)]
        if rank is not None:
            entries.sort(key=lambda entry: rank[entry[0]])
        for _, offset, length in entries:
            self.file.seek(offset)
            out.write(self.file.read(length).decode("utf-8"))
        self.file.seek(0, 2)

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
