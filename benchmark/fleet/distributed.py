"""Sweeps spread over many machines: one procrastinate job per host, in the team archive's database.

``dockbench sweep start`` records the sweep (its hosts' count and how they are judged) in
``sweeps`` and queues one job per inventory host; ``dockbench sweep work`` on any number of
machines runs procrastinate workers that audit a host exactly as ``scan --inventory`` does and
store the result as it finishes; the last host recorded closes the sweep (its sweep entry is
appended to the chain), after which ``dockbench show SWEEP`` renders it like any sweep.

Exactly once, though a worker may die anywhere:

- a host's scan id is derived from the sweep id and the host's name (uuid5), so the archive's
  UNIQUE scan_id refuses a second copy of the same host in the same sweep;
- ``sweep_hosts`` has one row per (sweep, host), written after the scan is stored (or, for a
  host that could not be audited, with its error entry): a host with a row is never probed again;
- a job whose worker stopped sending heartbeats (killed, machine gone, database restarted) is
  put back in the queue by any running ``sweep work`` (procrastinate's stalled-job retry,
  ``get_stalled_jobs`` + ``retry_job``); a job whose storing failed (the database went away) is
  retried by its RetryStrategy. Either way the host is probed at least once and recorded once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import uuid
from contextlib import contextmanager
from typing import Any

from dockbench.benchmark import clock
from dockbench.benchmark.archive import ArchiveError, Duplicate, Record, postgres
from dockbench.benchmark.collect.inventory import Target
from dockbench.benchmark.document import report as report_mod
from dockbench.benchmark.judge.options import STORED, JudgingError, JudgingOptions

QUEUE = "dockbench-sweep"
TASK = "dockbench.audit_host"
MISSING_EXTRA = "distributed sweeps need procrastinate and psycopg 3: pip install 'dockbench[postgres]'"
SCHEMA_LOCK = 0x646F636B62656E03

# What a sweep worker's role needs beyond postgres.WRITER_GRANTS (README: "A team archive on
# PostgreSQL"): procrastinate updates its jobs in place and registers its workers. The archive's
# entries stay append-only for it.
QUEUE_GRANTS = """
GRANT SELECT, INSERT, UPDATE, DELETE ON procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers, procrastinate_workers TO {role};
GRANT USAGE ON procrastinate_jobs_id_seq, procrastinate_events_id_seq, procrastinate_periodic_defers_id_seq, procrastinate_workers_id_seq TO {role};
"""
WORKER_GRANTS = postgres.WRITER_GRANTS + QUEUE_GRANTS


def _procrastinate():
    try:
        import procrastinate
    except ImportError as exc:
        raise ArchiveError(MISSING_EXTRA) from exc
    return procrastinate


class NotATeamArchive(ArchiveError):
    """The archive given is not a PostgreSQL one: distributed sweeps need the team archive."""


def open_team_archive(url: str) -> postgres.PostgresArchive:
    if not url or not postgres.is_url(url):
        raise NotATeamArchive("a distributed sweep lives in a team archive: give --archive postgresql://... (or $DOCKBENCH_ARCHIVE)")
    _procrastinate()
    return postgres.PostgresArchive(url)


def make_app(url: str, pool_size: int = 4):
    """The procrastinate app on the archive's database, with the one task it runs."""
    procrastinate = _procrastinate()
    connector = procrastinate.PsycopgConnector(conninfo=url, min_size=1, max_size=pool_size, timeout=30)
    app = procrastinate.App(connector=connector)
    retry = procrastinate.RetryStrategy(max_attempts=30, wait=1, linear_wait=1)   # the archive unreachable for a while
    app.task(name=TASK, queue=QUEUE, pass_context=True, retry=retry)(_audit_job)
    return app


@contextmanager
def queue_db(url: str):
    """A connection of this module's own to procrastinate's tables (the archive keeps to its own)."""
    psycopg = postgres.driver()
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as db:
            yield db
    except psycopg.Error as exc:
        raise ArchiveError(f"{postgres.mask(url)}: {postgres.redacted(url, exc)}") from None


def ensure_queue_schema(url: str, app) -> None:
    """procrastinate's tables, created once (under a lock: several machines may start at once)."""
    with queue_db(url) as db:
        if db.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is not None:
            return
        db.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            if db.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is None:
                db.execute(app.schema_manager.get_schema())
        finally:
            db.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


# ---------------------------------------------------------------- start


def start(url: str, targets: list[Target], options: dict[str, Any]) -> str:
    """Record a sweep and queue one job per host; its id."""
    sweep_id = str(uuid.uuid4())
    with open_team_archive(url) as archive:
        app = make_app(url)
        ensure_queue_schema(url, app)
        archive.add_sweep(sweep_id, clock.stamp(), len(targets), options)
    jobs = [{"sweep_id": sweep_id, "target": dataclasses.asdict(t)} for t in targets]
    import asyncio  # here, not at the top: every dockbench command would pay its ~30 ms import

    async def defer() -> None:
        async with app.open_async():
            for i in range(0, len(jobs), 1000):
                await app.tasks[TASK].batch_defer_async(*jobs[i:i + 1000])

    asyncio.run(defer())
    return sweep_id


# ---------------------------------------------------------------- one host


@dataclasses.dataclass
class WorkerSetup:
    """What every job of one `sweep work` process shares."""

    url: str
    ssh: Any               # SSHOptions
    name: str
    known_hosts: Any = None   # KnownHosts, read once for every host (None: read here)
    judging: dict = dataclasses.field(default_factory=dict)   # sweep id -> (JudgingOptions, the options its hosts' entries record)

    def __post_init__(self):
        if self.known_hosts is None:
            from dockbench.benchmark.collect.ssh import KnownHosts

            self.known_hosts = KnownHosts(self.ssh.known_hosts, self.ssh.accept_new_host_keys)


def sweep_judging(pinned: dict[str, Any]) -> JudgingOptions:
    """How a sweep's hosts are judged: the options, policy and waivers pinned at `sweep start`."""
    try:
        return JudgingOptions.from_stored(pinned)
    except JudgingError as exc:
        raise ArchiveError(str(exc)) from None


def _judging(archive, setup: WorkerSetup, sweep_id: str) -> tuple[JudgingOptions, dict[str, Any]]:
    if sweep_id not in setup.judging:
        pinned = archive.sweep(sweep_id)[2]
        setup.judging[sweep_id] = (sweep_judging(pinned), {k: pinned.get(k) for k in STORED})
    return setup.judging[sweep_id]


def audit_and_store(setup: WorkerSetup, sweep_id: str, target: Target, worker_id: int | None = None) -> None:
    """Audit one host of a sweep (unless it is accounted for already) and record it, then close
    the sweep if it was the last."""
    from dockbench.benchmark.fleet.sweep import Sweep, guarded

    with postgres.PostgresArchive(setup.url) as archive:
        if worker_id is not None:
            archive.name_worker(worker_id, setup.name)
        if not archive.host_accounted(sweep_id, target.name):
            judging, options = _judging(archive, setup, sweep_id)
            scan_id = str(uuid.uuid5(uuid.UUID(sweep_id), target.name))   # the host's scan id is the sweep's and its name's
            fleet = Sweep([target], setup.ssh, judging, archive_options=options, sweep_id=sweep_id, known_hosts=setup.known_hosts)
            result = guarded(lambda: fleet.audit(target, scan_id), target)
            error = result if isinstance(result, dict) else None
            if error is None:
                with contextlib.suppress(Duplicate):   # stored by an earlier attempt killed before its row
                    archive.append([result.archive_record])   # prepared as scan --inventory prepares its hosts
            archive.account_host(sweep_id, target.name, None if error else scan_id, error, setup.name, clock.stamp())
        close_if_done(archive, sweep_id)


def _audit_job(context, sweep_id: str, target: dict) -> None:
    setup: WorkerSetup = context.additional_context["setup"]
    audit_and_store(setup, sweep_id, Target(**dict(target, groups=tuple(target.get("groups") or ()))), context.job.worker_id)


def _entry_part(report: dict[str, Any]) -> dict[str, Any]:
    """What the sweep entry takes from a host report (its id, name, counts, waivers): the
    closing worker holds that much of each host, not every report of the sweep at once."""
    part = {"scan_id": report["scan_id"], "target": {"name": report["target"]["name"]}, "summary": report["summary"]}
    return dict(part, waivers=report["waivers"]) if "waivers" in report else part


def close_if_done(archive, sweep_id: str) -> bool:
    """Append the sweep entry once every host is accounted for; True when the sweep is closed."""
    started_at, total, options = archive.sweep(sweep_id)
    if archive.contains(sweep_id):
        return True
    if archive.accounted_count(sweep_id) < total:   # counted, not read: every host of a 10,000-host sweep asks
        return False
    rows = archive.accounted_hosts(sweep_id)
    hosts = [_entry_part(archive.get(scan_id, facts=False, lite=True).report) for scan_id, _ in rows if scan_id]
    errors = [error for _, error in rows if error]
    benchmark = sweep_judging(options).judge().benchmark.to_dict()
    document = report_mod.build_sweep(hosts, errors, benchmark=benchmark, started_at=started_at, finished_at=clock.stamp())
    skeleton = dict(document, sweep_id=sweep_id, hosts=[h["scan_id"] for h in document["hosts"]])
    with contextlib.suppress(Duplicate):   # closed by another worker at the same moment
        archive.append([Record("sweep", sweep_id, None, skeleton, None, None, {k: options.get(k) for k in STORED})])
    return True


# ---------------------------------------------------------------- the worker loop


def _pending(url: str) -> int:
    """Jobs of the queue still waiting or running (on any machine)."""
    with queue_db(url) as db:
        return db.execute("SELECT count(*) FROM procrastinate_jobs WHERE queue_name = %s AND status IN ('todo', 'doing')", (QUEUE,)).fetchone()[0]


def work(setup: WorkerSetup, parallel: int, until_empty: bool, stalled_after: float, say) -> None:
    """Run procrastinate workers on the queue: until no job is left (--until-empty) or forever.
    Jobs of workers that stopped sending heartbeats are put back in the queue meanwhile."""
    import asyncio  # here, not at the top: every dockbench command would pay its ~30 ms import

    app = make_app(setup.url, pool_size=parallel + 2)
    with open_team_archive(setup.url):
        ensure_queue_schema(setup.url, app)
    heartbeat = max(0.5, stalled_after / 4)

    async def retry_stalled() -> None:
        for job in await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=stalled_after):
            say(f"job {job.id} ({job.task_kwargs.get('target', {}).get('name')}) stalled on a worker that stopped: queued again")
            await app.job_manager.retry_job(job)

    async def main() -> None:
        failures = 0
        async with app.open_async():
            while True:
                try:
                    await retry_stalled()
                    worker = asyncio.ensure_future(app.run_worker_async(
                        queues=[QUEUE], concurrency=parallel, wait=not until_empty, name=setup.name,
                        additional_context={"setup": setup}, update_heartbeat_interval=heartbeat,
                        stalled_worker_timeout=stalled_after, fetch_job_polling_interval=1.0, install_signal_handlers=True))
                    while not worker.done():
                        await asyncio.wait({worker}, timeout=stalled_after / 2)
                        if not worker.done():
                            await retry_stalled()
                    worker.result()
                    failures = 0
                    if until_empty and not await asyncio.to_thread(_pending, setup.url):
                        return
                    await asyncio.sleep(min(2.0, stalled_after / 4))
                except Exception as exc:  # noqa: BLE001 - the database restarting: wait and carry on
                    failures += 1
                    if failures > 30:
                        raise
                    say(f"the queue's database is unreachable ({type(exc).__name__}: {' '.join(str(exc).split())}): trying again")
                    await asyncio.sleep(2.0)

    asyncio.run(main())


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ---------------------------------------------------------------- status


def status(url: str, sweep_id: str) -> dict[str, Any]:
    """Where a sweep stands: hosts done, failed and running by worker, jobs pending, waivers pinned."""
    with open_team_archive(url) as archive:
        sweep_id = archive.find_sweep(sweep_id)
        started_at, total, options = archive.sweep(sweep_id)
        by_worker = archive.accounted_by_worker(sweep_id)
        with queue_db(url) as db:
            jobs = db.execute("SELECT status::text, worker_id, count(*) FROM procrastinate_jobs WHERE queue_name = %s AND args->>'sweep_id' = %s "
                              "GROUP BY 1, 2", (QUEUE, sweep_id)).fetchall()
        names = archive.worker_names([w for state, w, _ in jobs if state == "doing" and w is not None])
        closed = archive.contains(sweep_id)
    for worker in by_worker.values():
        worker["running"] = 0
    for state, worker_id, count in jobs:
        if state == "doing":   # a worker that stopped sending heartbeats is forgotten by the queue: its jobs have no worker
            name = names.get(worker_id, f"worker #{worker_id}") if worker_id is not None else "(a stopped worker)"
            by_worker.setdefault(name, {"done": 0, "failed": 0, "running": 0})["running"] += count
    pinned = options.get("waivers")
    return {"sweep_id": sweep_id, "started_at": started_at, "hosts": total,
            "done": sum(w["done"] for w in by_worker.values()), "failed": sum(w["failed"] for w in by_worker.values()),
            "pending": sum(c for s, _, c in jobs if s == "todo"), "running": sum(w["running"] for w in by_worker.values()),
            "closed": closed, "by_worker": dict(sorted(by_worker.items())),
            "waivers": {"source": pinned["source"], "sha256": pinned["sha256"]} if pinned else None}
