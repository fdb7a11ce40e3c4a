"""UTC timestamps as dockbench writes them: to the second in reports and facts, to the
microsecond in the archive (where entries recorded within one second must still sort)."""

from __future__ import annotations

from datetime import datetime, timezone

SECONDS = "%Y-%m-%dT%H:%M:%SZ"
MICROSECONDS = "%Y-%m-%dT%H:%M:%S.%fZ"


def now() -> datetime:
    """The current moment, as an aware datetime in UTC: the one place dockbench reads the clock."""
    return datetime.now(timezone.utc)


def stamp(moment: datetime | None = None, *, precise: bool = False) -> str:
    """moment (an aware datetime; now when None) in UTC, to the second or, precise, to the microsecond."""
    moment = now() if moment is None else moment.astimezone(timezone.utc)
    return moment.strftime(MICROSECONDS if precise else SECONDS)
