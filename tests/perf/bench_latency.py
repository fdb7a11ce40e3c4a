"""Benchmark: how a fleet sweep's time grows with network latency (round trips per host).

    .venv/bin/python -m tests.perf.bench_latency                    # M = 10, D = 50 ms, P = 1 and 16
    .venv/bin/python -m tests.perf.bench_latency --delay-ms 100 --hosts 5 --parallel 1 --repeat 3

It starts its own dockerd (a few busybox containers, --network none) and M sshd processes on
127.0.110.x, and in front of each sshd a delay proxy on 127.0.111.x: asyncio, in this process,
forwarding each TCP connection to its sshd and holding every chunk D ms in each direction (pure
latency: chunks in flight overlap, bandwidth is not limited; the TCP handshake itself is not
delayed). known_hosts gives each proxy address its sshd's host key. Then, interleaved, for each
parallelism P (--repeat pairs, medians):

    direct   dockbench scan --inventory DIRECT  --parallel P ...
    delayed  dockbench scan --inventory DELAYED --parallel P ...

The sweeps differ only in the added latency, so (delayed - direct) per host / (2 D) is the number
of round trips one host costs. A host is audited in ceil(M / P) waves of P hosts at once, so the
added time per host is (delayed - direct) / ceil(M / P). It prints that next to the number of
checks each host ran: a few round trips (SSH handshake, authentication, one or two exec channels),
not one per check. With P = 1 the figure is cleanest; with P > 1 the hosts' CPU work (2 cores,
shared) overlaps the waits and blurs it. Timing on a shared machine is noisy, so the proxy also
counts turns per connection, free of noise: how often the server sent after the client had (an
upper bound on the round trips the client waited for).

It also audits one host in this process through the product's SSH transport, with and without
the proxy, and splits the round trips by phase: connect (handshake and authentication), each
exec channel (open, exec request, script in, output out, exit), close.

The proxies stop with the benchmark (and by themselves after --proxy-lifetime seconds); the sshd
processes, the daemon and the temporary directory are removed at the end, on Ctrl-C too.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import threading
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `tests` and `benchmark` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf.fleet import (
    BenchError,
    Fleet,
    HostVisit,
    address,
    log,
    median,
    parse_list,
    run,
)

SSHD_SUBNET, PROXY_SUBNET = 110, 111  # sshd on 127.0.110.x, their proxies on 127.0.111.x
CHUNK = 1 << 16
QUEUE_CHUNKS = 64          # per direction: a slow receiver stops the proxy reading (bounded memory)
CONNECT_TIMEOUT = 10.0


class Flow:
    """Who spoke when on one connection, as the proxy read it: each time the server sends after
    the client did is one turn, a round trip the client may have waited for (an upper bound:
    messages the two sides send without waiting for each other can make a turn too)."""

    def __init__(self):
        self.last, self.turns = "", 0

    def saw(self, side: str) -> None:
        if side == "s" and self.last == "c":
            self.turns += 1
        self.last = side


class DelayProxy:
    """Listens on a loopback address and forwards each connection to `upstream`, holding every
    chunk `delay` seconds in each direction."""

    def __init__(self, listen: str, upstream: tuple[str, int], delay: float):
        if not listen.startswith("127."):
            raise ValueError(f"the delay proxy listens on loopback only, not {listen}")
        self.listen, self.upstream, self.delay = listen, upstream, delay
        self.port = 0
        self.server: asyncio.Server | None = None
        self.connections: set[asyncio.Task] = set()
        self.flows: list[Flow] = []  # one per connection, in the order they came

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, self.listen, 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self.connections):
            task.cancel()
        await asyncio.gather(*self.connections, return_exceptions=True)
        if self.server is not None:
            await self.server.wait_closed()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self.connections.add(task)
        writers = [client_writer]
        try:
            upstream_reader, upstream_writer = await asyncio.wait_for(asyncio.open_connection(*self.upstream), CONNECT_TIMEOUT)
            writers.append(upstream_writer)
            self.flows.append(flow := Flow())
            pipes = [asyncio.create_task(self._pipe(client_reader, upstream_writer, flow, "c")),
                     asyncio.create_task(self._pipe(upstream_reader, client_writer, flow, "s"))]
            try:
                await asyncio.gather(*pipes)
            finally:  # one direction failed, or the proxy stops: end the other too
                for pipe in pipes:
                    pipe.cancel()
        except (OSError, asyncio.TimeoutError):
            pass  # the client sees the connection drop, as it would on a real network
        except asyncio.CancelledError:
            pass  # the proxies are stopping: end quietly (start_server's callback logs a cancelled task)
        finally:
            for writer in writers:
                writer.close()
            self.connections.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, flow: Flow, side: str) -> None:
        """One direction (`side` "c" client to server, "s" back): read chunks as they come, write
        each one `delay` after it was read."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue(QUEUE_CHUNKS)

        async def deliver() -> None:
            while (item := await queue.get()) is not None:
                due, chunk = item
                await asyncio.sleep(max(0.0, due - loop.time()))
                writer.write(chunk)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()

        delivery = asyncio.create_task(deliver())
        try:
            while chunk := await reader.read(CHUNK):
                flow.saw(side)
                await queue.put((loop.time() + self.delay, chunk))
            await queue.put(None)
            await delivery
        except BaseException:
            delivery.cancel()
            raise


class Proxies:
    """Delay proxies on an event loop in a background thread: started on enter, stopped on exit,
    or by themselves after `lifetime` seconds should the benchmark hang."""

    def __init__(self, routes: list[tuple[str, tuple[str, int]]], delay: float, lifetime: float):
        self.proxies = [DelayProxy(listen, upstream, delay) for listen, upstream in routes]
        self.lifetime = lifetime
        self.ready = threading.Event()
        self.failure: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._thread, name="delay-proxies", daemon=True)

    def __enter__(self) -> list[DelayProxy]:
        self.thread.start()
        if not self.ready.wait(CONNECT_TIMEOUT) or self.failure:
            self.__exit__()
            raise BenchError(f"the delay proxies did not start: {self.failure}")
        return self.proxies

    def __exit__(self, *exc_info) -> None:
        if self.loop is not None and self.stopping is not None:
            self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(CONNECT_TIMEOUT)

    def _thread(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:  # noqa: BLE001 -- any failure is reported by __enter__ (while starting)
            self.failure = exc
            self.ready.set()

    async def _main(self) -> None:
        self.loop, self.stopping = asyncio.get_running_loop(), asyncio.Event()
        try:
            for proxy in self.proxies:
                await proxy.start()
            self.ready.set()
            try:
                await asyncio.wait_for(self.stopping.wait(), self.lifetime)
            except asyncio.TimeoutError:
                log(f"delay proxies: lifetime of {self.lifetime:g} s reached, stopping")
        finally:
            for proxy in self.proxies:
                await proxy.stop()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.perf.bench_latency", description=__doc__.split("\n\n")[0])
    p.add_argument("--hosts", type=int, default=10, help="sshd instances M (default: 10)")
    p.add_argument("--delay-ms", type=float, default=50.0, help="added delay D each way, ms (default: 50)")
    p.add_argument("--parallel", default="1,16", help="dockbench scan --parallel values, comma-separated (default: 1,16)")
    p.add_argument("--repeat", type=int, default=5, help="interleaved direct/delayed sweep pairs per P; medians (default: 5)")
    p.add_argument("--visits", type=int, default=5, help="single-host audits each way for the phase split; medians (default: 5)")
    p.add_argument("--containers", type=int, default=5, help="containers on the private daemon (default: 5)")
    p.add_argument("--proxy-lifetime", type=float, default=1800.0, help="seconds after which the proxies stop by themselves (default: 1800)")
    args = p.parse_args(argv)
    args.parallel = parse_list(args.parallel, "--parallel")
    if min(args.hosts, args.repeat, args.visits) < 1 or args.delay_ms <= 0 or args.containers < 0 or args.proxy_lifetime <= 0:
        p.error("--hosts, --repeat, --visits must be >= 1, --delay-ms and --proxy-lifetime > 0, --containers >= 0")
    return args


def new_flows(proxies: list[DelayProxy], since: list[int]) -> list[Flow]:
    return [flow for proxy, seen in zip(proxies, since) for flow in proxy.flows[seen:]]


def sweep_rows(fleet: Fleet, args, proxies: list[DelayProxy], direct: Path, delayed: Path, known_hosts: Path) -> list[dict]:
    """Per P: median walls of interleaved direct and delayed sweeps, round trips per host."""
    m, rtt = args.hosts, 2 * args.delay_ms / 1000
    rows = []
    for p in args.parallel:
        walls: dict[str, list[float]] = {"direct": [], "delayed": []}
        checks, channels, turns = set(), [], []
        for i in range(args.repeat):  # interleaved, so drifting machine load hits both alike
            for kind, inventory in (("direct", direct), ("delayed", delayed)):
                since = [len(proxy.flows) for proxy in proxies]
                done = fleet.sweep(inventory, known_hosts, p, m)
                flows = new_flows(proxies, since)
                if len(flows) != (m if kind == "delayed" else 0):
                    raise BenchError(f"the {kind} sweep made {len(flows)} connections through the proxies, not {m if kind == 'delayed' else 0}")
                walls[kind].append(done.wall_s)
                checks.update(done.checks)
                channels += done.exec_channels
                turns += [flow.turns for flow in flows]
            log(f"P={p} run {i + 1}/{args.repeat}: direct {walls['direct'][-1]:.2f} s, delayed {walls['delayed'][-1]:.2f} s")
        waves = math.ceil(m / p)  # hosts run P at a time
        direct_s, delayed_s = median(walls["direct"]), median(walls["delayed"])
        added = (delayed_s - direct_s) / waves
        rows.append({"p": p, "direct": direct_s / waves, "delayed": delayed_s / waves, "added": added,
                     "round_trips": added / rtt, "turns": turns, "checks": max(checks), "channels": max(channels)})
    return rows


def sweep_table(rows: list[dict]) -> list[str]:
    head = (f"{'P':>3}  {'direct s/host':>13}  {'delayed s/host':>14}  {'added s/host':>12}  "
            f"{'round trips/host':>16}  {'proxy turns/conn':>16}  {'exec channels':>13}  {'checks/host':>11}")
    lines = [head, "-" * len(head)]
    for r in rows:
        turns = f"{min(r['turns'])}-{max(r['turns'])}" if min(r["turns"]) != max(r["turns"]) else str(r["turns"][0])
        lines.append(f"{r['p']:>3}  {r['direct']:>13.3f}  {r['delayed']:>14.3f}  {r['added']:>12.3f}  "
                     f"{r['round_trips']:>16.1f}  {turns:>16}  {r['channels']:>13}  {r['checks']:>11}")
    return lines


def phase_table(fleet: Fleet, args, server, proxy: DelayProxy, known_hosts: Path) -> list[str]:
    """Round trips by phase of one host audited in this process, direct vs through the proxy."""
    rtt = 2 * args.delay_ms / 1000

    def phases(visit: HostVisit) -> dict[str, float]:
        split = {"connect: TCP, SSH handshake, authentication": visit.connect_s}
        for i, e in enumerate(visit.execs, 1):
            split[f"exec channel {i}: open, exec, {e.sent / 1e3:.0f} KB in, {e.received / 1e3:.0f} KB out"] = e.seconds
        split["close"] = visit.close_s
        split["host total"] = visit.total_s
        return split

    direct, delayed = [], []
    for _ in range(args.visits):
        direct.append(phases(fleet.visit(server.address, server.port, known_hosts)))
        delayed.append(phases(fleet.visit(proxy.listen, proxy.port, known_hosts)))
    if len({len(p) for p in direct + delayed}) != 1:
        raise BenchError("the single-host audits did not all use the same number of exec channels")
    head = f"{'phase':<52}  {'direct s':>8}  {'delayed s':>9}  {'round trips':>11}"
    lines = [head, "-" * len(head)]
    for i, name in enumerate(direct[0]):
        a = median([list(p.values())[i] for p in direct])
        b = median([list(p.values())[i] for p in delayed])
        lines.append(f"{name:<52}  {a:>8.3f}  {b:>9.3f}  {(b - a) / rtt:>11.1f}")
    return lines


def bench(fleet: Fleet, args: argparse.Namespace) -> None:
    fleet.start_daemon(args.containers)
    servers = fleet.start_sshd(args.hosts, SSHD_SUBNET)
    routes = [(address(i, PROXY_SUBNET), (s.address, s.port)) for i, s in enumerate(servers)]
    log(f"starting {len(routes)} delay proxies ({args.delay_ms:g} ms each way) on {routes[0][0]} ... {routes[-1][0]}")
    with Proxies(routes, args.delay_ms / 1000, args.proxy_lifetime) as proxies:
        known_hosts = fleet.known_hosts([(p.listen, p.port, s) for p, s in zip(proxies, servers)])
        direct = fleet.inventory("direct", fleet.server_hosts(servers))
        delayed = fleet.inventory("delayed", [(s.name, p.listen, p.port) for p, s in zip(proxies, servers)])
        log("warm-up sweep, direct")
        fleet.sweep(direct, known_hosts, max(args.parallel), args.hosts)
        rows = sweep_rows(fleet, args, proxies, direct, delayed, known_hosts)
        log("single-host phase split")
        phases = phase_table(fleet, args, servers[0], proxies[0], known_hosts)
    clean = min(rows, key=lambda r: r["p"])
    print("\n".join([
        (f"dockbench sweep of {args.hosts} sshd, with and without {args.delay_ms:g} ms added each way "
         f"(round trip {2 * args.delay_ms:g} ms): median of {args.repeat} interleaved runs, "
         f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"),
        "",
        *sweep_table(rows),
        "",
        (f"round trips per host ≈ {clean['round_trips']:.1f} at --parallel {clean['p']} (SSH handshake + auth + "
         f"{clean['channels']} exec channel{'s' if clean['channels'] > 1 else ''}), not one per check (~{clean['checks']} checks)"),
        "s/host: wall of the whole `dockbench scan --inventory` process / ceil(M / P) (hosts run P at a time);",
        f"round trips = (delayed - direct) s/host / {2 * args.delay_ms:g} ms; proxy turns: server sent after the client did,",
        "counted by the proxy per connection (no timing noise; the TCP handshake is not proxied: +1 on a real network)",
        "",
        f"one host audited in this process (SSHTransport + collect), median of {args.visits} each way:",
        *phases,
    ]), flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run("bench_latency", lambda fleet: bench(fleet, args))


if __name__ == "__main__":
    sys.exit(main())
