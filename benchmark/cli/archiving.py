"""How `dockbench scan` stores what it produced in the archive: a host report with its facts,
or a sweep's hosts as they are judged. A storage error is a warning, never a lost report."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from dockbench.benchmark.archive import Record, default_path, open_archive, postgres
from dockbench.benchmark.archive.signing import Signer
from dockbench.benchmark.cli.archive import archive_option, archived_context, load_signer, open_or_fail, shown
from dockbench.benchmark.document.report import host_key
from dockbench.benchmark.judge.options import JudgingOptions
from dockbench.benchmark.render import Archived


def scan_archive_options(func):
    options = [
        archive_option,
        click.option("--no-archive", is_flag=True, help="Do not store this scan in the archive."),
        click.option("--sign-key", type=click.Path(exists=True, dir_okay=False), help="Sign archived entries with this Ed25519 private key (PEM; `dockbench archive keygen`)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@dataclasses.dataclass
class ScanArchiver:
    """Stores what a scan produced. Never loses the report: a storage error is a warning."""

    path: Path | str | None   # a file, or a PostgreSQL URL
    signer: Signer | None = None

    @classmethod
    def from_options(cls, archive_path: str | None, no_archive: bool, sign_key: str | None) -> ScanArchiver:
        if no_archive:
            if sign_key:
                raise click.UsageError("--sign-key signs archive entries: it makes no sense with --no-archive")
            return cls(None)
        signer = load_signer(sign_key) if sign_key else None
        if archive_path and postgres.is_url(archive_path):
            open_or_fail(archive_path, create=True).close()   # a wrong URL, password or missing extra stops the scan before any probe
            return cls(archive_path, signer)
        return cls(Path(archive_path).expanduser() if archive_path else default_path(), signer)

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def store(self, document: dict[str, Any], facts: dict[str, Any] | None, judging: JudgingOptions, quiet: bool = False,
              compare: bool = False) -> Archived | None:
        """A host report and its facts (a sweep stores its hosts as they come: see sweep()).
        compare (an HTML output is asked for): also what the archive knows of the scan once
        stored (its options, the host's scan before it), for the page; None without."""
        if not self.enabled:
            return None
        options = judging.stored(document["benchmark"]["id"])
        try:
            with open_archive(self.path) as archive:
                entry = archive.put_scan("host", host_key(document), document, facts, options=options, signer=self.signer)
                known = self._context(archive, entry, document, options) if compare else None
        except Exception as exc:  # noqa: BLE001 - the report is still written: a broken archive must not lose a scan
            click.echo(f"dockbench: warning: the scan was not archived in {shown(self.path)}: {type(exc).__name__}: {exc}", err=True)
            return None
        if not quiet:
            click.echo(f"dockbench: archived scan {document['scan_id']} in {shown(self.path)}", err=True)
        return known

    def _context(self, archive, entry, document: dict[str, Any], options: dict[str, Any]) -> Archived | None:
        """What the archive knows of the scan just stored; a warning and None when the scan
        before it cannot be read (the page then says no previous scan is known)."""
        try:
            return archived_context(archive, entry.host, document, options, entry.seq)
        except Exception as exc:  # noqa: BLE001 - the scan is stored: only the page's comparison is lost
            click.echo(f"dockbench: warning: the previous scan of {entry.host} could not be read from {shown(self.path)}: {type(exc).__name__}: {exc}", err=True)
            return None

    def sweep(self, sweep_id: str, options: dict[str, Any], quiet: bool = False) -> SweepArchive | None:
        """Where a streamed sweep stores each host as it is judged, or None without an archive."""
        return SweepArchive(self, sweep_id, options, quiet) if self.enabled else None


class SweepArchive:
    """A sweep's archive entries, stored as they come: each host scan in its own transaction
    (a crash keeps the finished ones), the sweep entry last. A storage error is a warning and
    stops archiving; the sweep's outputs go on."""

    def __init__(self, archiver: ScanArchiver, sweep_id: str, options: dict[str, Any], quiet: bool):
        self.archiver, self.sweep_id, self.archive_options, self.quiet = archiver, sweep_id, options, quiet
        self.stored = 0
        try:
            self.archive = open_archive(archiver.path)
        except Exception as exc:  # noqa: BLE001 - see _failed
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        click.echo(f"dockbench: warning: the sweep is no longer archived in {shown(self.archiver.path)}: {type(exc).__name__}: {exc}", err=True)
        self.archive = None

    def host(self, result) -> None:
        if self.archive is None:
            return
        try:
            self.archive.append([result.archive_record], self.archiver.signer)
            self.stored += 1
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)

    def finish(self, document: dict[str, Any]) -> None:
        if self.archive is None:
            return
        skeleton = dict(document, hosts=[h["scan_id"] for h in document["hosts"]])
        try:
            self.archive.append([Record("sweep", self.sweep_id, None, skeleton, None, None, self.archive_options)], self.archiver.signer)
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
            return
        self.archive.close()
        if not self.quiet:
            click.echo(f"dockbench: archived sweep {self.sweep_id} ({self.stored} host scans) in {shown(self.archiver.path)}", err=True)
