"""Benchmark: the replay lab. What a fleet sweep costs dockbench itself, for N up to 10,000 hosts.

    .venv/bin/python -m tests.perf.bench_replay                     # N = 100, 1000; 100 containers; P = 16
    .venv/bin/python -m tests.perf.bench_replay --counts 100,1000,10000 --containers 0,100 --json replay.json
    .venv/bin/python -m tests.perf.bench_replay --counts 1000 --variant '--workers 0' --variant '--workers 2'

A real target is too slow to tell dockbench's own cost apart, so the targets replay real probe
output. It starts a private dockerd, brings it to C busybox containers for each C in
--containers, and records what the real probe prints for it, both rounds (through the same
local transport `dockbench scan` uses). Then it starts --servers real sshd processes per
recording whose `ForceCommand` reads the script sent and prints the recording of the round it
asks for, and writes an inventory of N host entries (own names, the same few addresses) and a
known_hosts as large as a real fleet's (an entry per host name besides the sshd addresses). For
each C and N it runs, --repeat times:

    dockbench scan --inventory INV --parallel P --archive TMP/archive.sqlite3 -o TMP/sweep.json -q --fail-on never

and reports the median of: hosts/s (N / wall, start-up included), dockbench CPU per host (user +
system of the process and its own children, e.g. worker processes), and of its main process
alone, the peak resident memory of the dockbench process tree (summed over its processes,
sampled every 50 ms), the output size per host, the CPU the lab's sshd processes (and the
replay commands they start) used per host, and the load average. Each --variant (extra scan
arguments, e.g. '--workers 0') is run for each C and N, the variants interleaved, and compared
with the first.

The lab is made cheap, so that it measures dockbench: ed25519 host keys, the key exchange
paramiko and OpenSSH agree on (curve25519-sha256), sessions with a home of their own (root's
login shell is bash, which sources ~/.bashrc when sshd starts it; this machine's runs `pyenv
init`, 120 ms of CPU per exec channel, which was most of the 130-230 ms per host the lab used
to cost), sshd -r (no re-execution per connection, --rexec restores it), one exec channel per host
(the recordings need no second round), a replay script that starts one `cat` reading the
script sent and becomes another printing the recording. What is left (about 25 ms per
host: sshd's forks, the handshake, the session's shell) still runs on the same cores as
dockbench: the pair's hosts/s is bounded by min(1 / main CPU, cores / (dockbench + sshd CPU))
per host, printed as `bound`. What dockbench alone could do is `ceiling`: one core per main
process (1 / its CPU per host), at most cores / its total CPU per host; judging in worker
processes raises it by taking work off the main process. With the judging spread over both
cores, the ratio of hosts/s between two workers and one process cannot pass 2 M / (T + S) (M:
the single process's CPU per host, T: the workers' total, S: the sshd's), below 2 by S / M.
That needs the cores to be free: with the kernel's autogroup scheduling (printed in the header)
each session gets an equal share of them, so while k other sessions keep the machine busy the
benchmark's whole session (dockbench, its workers and the sshd) gets about cores / (k + 1) of
it, however many processes it runs, and the load column shows it.

Every host must end as a report: any error entry fails the benchmark. Everything it started is
stopped and its temporary directory removed at the end, on error and Ctrl-C too.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `tests` and `benchmark` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from dockbench.benchmark.collect.rounds import collect
from dockbench.benchmark.collect.transports import LocalTransport, ProbeRun
from tests.perf.bench_scan import BenchError, default_cli, log, scale
from tests.perf.fleet import HOST_TIMEOUT, Fleet, address, median, parse_list, run

SUBNET = 120  # sshd on 127.0.120.1 and up
CLOCK = os.sysconf("SC_CLK_TCK")
REPLAY = """#!/bin/sh
# The dockbench replay lab's ForceCommand: print the recorded probe output of the round asked for.
script=$(cat)
case "$script" in
*"DB_ROUND='2'"*) exec cat {directory}/round2.out ;;
*) exec cat {directory}/round1.out ;;
esac
"""


class Recorder(LocalTransport):
    """The local transport, keeping what each probe round printed."""

    def __init__(self):
        super().__init__()
        self.rounds: list[bytes] = []

    def execute(self, argv: list[str], stdin: bytes) -> ProbeRun:
        done = super().execute(argv, stdin)
        self.rounds.append(done.stdout)
        return done


def record(fleet: Fleet, containers: int) -> Path:
    """Bring the daemon to `containers` containers and record the probe's output for it: a
    directory holding round1.out, round2.out and the replay command (replay.sh)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        scale(fleet.docker_host, containers, pool)
    recorder = Recorder()
    collect(recorder, docker_host=fleet.docker_host, target_name="recorded")
    directory = fleet.root / f"replay-{containers}"
    directory.mkdir(mode=0o755)
    for number, output in enumerate(recorder.rounds, 1):
        (directory / f"round{number}.out").write_bytes(output)
    if len(recorder.rounds) == 1:  # a host that needs no second round is never asked for one
        (directory / "round2.out").write_bytes(recorder.rounds[0])
    write_replay(directory)
    log(f"recorded {containers} containers: {len(recorder.rounds)} round(s), {sum(map(len, recorder.rounds)) / 1e3:.0f} KB of probe output")
    return directory


def write_replay(directory: Path) -> Path:
    """The ForceCommand replaying the recording in `directory` (replay.sh, beside it)."""
    script = directory / "replay.sh"
    script.write_text(REPLAY.format(directory=shlex.quote(str(directory))))
    script.chmod(0o755)
    return script


def replay_config(directory: Path) -> str:
    """sshd_config lines of a server replaying the recording in `directory`.

    Sessions get that directory as their home: sshd runs the ForceCommand through the user's
    login shell, root's is bash here, and bash sources ~/.bashrc whenever sshd starts it, a
    command too. This machine's root .bashrc runs `pyenv init` (about 120 ms of CPU), once per
    exec channel: the lab would measure the bastion's dotfiles, not sshd."""
    return f"ForceCommand {directory / 'replay.sh'}\nSetEnv HOME={directory}"


def start_replay(lab, directory: Path, servers: int, first_address: int, subnet: int = SUBNET, rexec: bool = False) -> list:
    """`servers` real sshd replaying the recording in `directory`, on the loopback addresses
    numbered from `first_address` (tests.perf.fleet.address) in `subnet`.

    Unless `rexec`, sshd runs with -r: it serves each connection from a fork of itself instead
    of executing itself anew (a hardening of OpenSSH's: each connection gets fresh address space
    randomisation), which saves about 7 ms of the lab's CPU per host and changes nothing that
    dockbench sees."""
    return [lab.start(f"{directory.name}-{i}", address(first_address + i, subnet), extra_config=replay_config(directory),
                      flags=() if rexec else ("-r",))
            for i in range(servers)]


def fleet_known_hosts(lab, path: Path, servers: list, names: list[str]) -> Path:
    """known_hosts for the lab: each sshd's address and key, and an entry for each of `names`
    too (with the first sshd's key), so that it is as large as a real fleet's."""
    lab.known_hosts(path, servers)
    kind, key = servers[0].host_key.split()[:2]
    with open(path, "a", encoding="ascii") as out:
        out.writelines(f"{name} {kind} {key}\n" for name in names)
    return path


def replay_inventory(fleet: Fleet, servers: list, hosts: int, name: str) -> tuple[Path, Path]:
    """An inventory of `hosts` entries spread over `servers` (host00000.replay ...), and its
    known_hosts (fleet_known_hosts); both in the fleet's directory, named after `name`."""
    entries = [(f"host{i:05d}.replay", servers[i % len(servers)].address, servers[i % len(servers)].port) for i in range(hosts)]
    known = fleet_known_hosts(fleet.lab, fleet.root / f"{name}.known_hosts", servers, [host for host, _, _ in entries])
    return fleet.inventory(name, entries), known


def process_cpu(pid: int) -> float:
    """CPU seconds of a process and of the children it waited for (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / CLOCK


def tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants, summed."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry.name)
        children.setdefault(int(fields["PPid"]), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def sweep(fleet: Fleet, inventory: Path, known_hosts: Path, args: argparse.Namespace, variant: str, hosts: int, servers) -> dict:
    """One timed `dockbench scan --inventory`, sampled for memory; its figures."""
    fleet.sweeps += 1
    out = fleet.root / f"sweep-{fleet.sweeps}{args.suffix}"
    archive = fleet.root / f"archive-{fleet.sweeps}.sqlite3"
    argv = [default_cli(), "scan", "--inventory", str(inventory), "--known-hosts", str(known_hosts), "--ssh-config", "/dev/null",
            "--parallel", str(args.parallel), "--timeout", f"{HOST_TIMEOUT:g}", "-o", str(out), "-q", "--fail-on", "never",
            *(["--no-archive"] if args.no_archive else ["--archive", str(archive)]), *shlex.split(variant)]
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    sshd_before = sum(process_cpu(s.process.pid) for s in servers)
    began = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak, main_cpu, done = [0], [0.0], threading.Event()

    def sample():
        while not done.wait(0.05):
            try:
                peak[0] = max(peak[0], tree_rss(proc.pid))
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                main_cpu[0] = (int(fields[11]) + int(fields[12])) / CLOCK   # its own time, not its children's
            except (OSError, IndexError):
                pass
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stderr = proc.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    sshd_cpu = sum(process_cpu(s.process.pid) for s in servers) - sshd_before
    load = os.getloadavg()[0]
    if proc.returncode not in (0, 4) or not out.exists():
        raise BenchError(f"dockbench scan exited {proc.returncode}: {stderr.strip()[-800:]}")
    size = out.stat().st_size
    scanned, errors = summary_of(out)
    out.unlink()
    for leftover in fleet.root.glob(f"archive-{fleet.sweeps}.sqlite3*"):
        leftover.unlink()
    if errors or scanned != hosts:
        raise BenchError(f"{scanned} of {hosts} hosts audited, {errors} error entries")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "main_cpu": main_cpu[0], "peak_rss": peak[0],
            "maxrss_main": usage.ru_maxrss * 1024, "bytes": size, "sshd_cpu": sshd_cpu, "load": load}


def summary_of(path: Path) -> tuple[int, int]:
    """(hosts scanned, error entries) of a sweep document (.json) or a JSON Lines file."""
    if path.suffix == ".jsonl":
        kinds = [json.loads(line).get("kind") for line in path.open(encoding="utf-8")]
        return kinds.count("host"), kinds.count("unreachable")
    summary = json.loads(path.read_text())["summary"]
    return summary["scanned"], summary["unreachable"]


def table(rows: list[dict]) -> str:
    cores = os.cpu_count()
    head = (f"{'variant':<14}  {'C':>3}  {'N':>6}  {'wall s':>7}  {'hosts/s':>7}  {'x':>5}  {'CPU ms/h':>8}  {'main ms/h':>9}  "
            f"{'ceiling h/s':>11}  {'x':>5}  {'sshd ms/h':>9}  {'bound h/s':>9}  {'x':>5}  {'peak RSS MB':>11}  {'KB/host':>7}  {'out MB':>7}  {'load':>5}")
    lines = [head, "-" * len(head)]
    first: dict = {}
    for r in rows:
        n = r["n"]
        rate = n / r["wall"]
        ceiling = min(n / max(r["main_cpu"], 1e-9), cores * n / r["cpu"])
        bound = min(n / max(r["main_cpu"], 1e-9), cores / ((r["cpu"] + r["sshd_cpu"]) / n))
        base = first.setdefault((r["containers"], n), (rate, ceiling, bound))
        lines.append(f"{r['variant'] or '(default)':<14}  {r['containers']:>3}  {n:>6}  {r['wall']:>7.1f}  {rate:>7.1f}  {rate / base[0]:>5.2f}  "
                     f"{r['cpu'] * 1000 / n:>8.1f}  {r['main_cpu'] * 1000 / n:>9.1f}  {ceiling:>11.1f}  {ceiling / base[1]:>5.2f}  "
                     f"{r['sshd_cpu'] * 1000 / n:>9.1f}  {bound:>9.1f}  {bound / base[2]:>5.2f}  {r['peak_rss'] / 1e6:>11.0f}  "
                     f"{r['bytes'] / n / 1e3:>7.1f}  {r['bytes'] / 1e6:>7.1f}  {r['load']:>5.1f}")
    return "\n".join(lines)


def autogroup() -> str:
    """Whether the kernel shares the CPUs between sessions (sched_autogroup_enabled)."""
    try:
        return {"1": "on", "0": "off"}.get(Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip(), "unknown")
    except OSError:
        return "unknown"


def bench(fleet: Fleet, args: argparse.Namespace) -> None:
    fleet.start_daemon(0)
    recordings = {c: record(fleet, c) for c in args.containers}
    servers = {count: start_replay(fleet.lab, directory, args.servers, index * args.servers, rexec=args.rexec)
               for index, (count, directory) in enumerate(recordings.items())}
    rows = []
    for count, group in servers.items():
        for n in args.counts:
            inventory, known_hosts = replay_inventory(fleet, group, n, f"replay-{count}-{n}")
            runs: dict[str, list[dict]] = {v: [] for v in args.variants}
            for i in range(args.repeat):
                for variant in args.variants:
                    runs[variant].append(sweep(fleet, inventory, known_hosts, args, variant, n, group))
                    r = runs[variant][-1]
                    log(f"C={count} N={n} {variant or '(default)'} run {i + 1}/{args.repeat}: {r['wall']:.1f} s, {n / r['wall']:.1f} hosts/s, "
                        f"{r['cpu'] * 1000 / n:.1f} ms CPU/host, peak {r['peak_rss'] / 1e6:.0f} MB")
            for variant, done in runs.items():
                rows.append({"variant": variant, "containers": count, "n": n, **{k: median([r[k] for r in done]) for k in done[0]}})
    print("\n".join([
        (f"dockbench replay lab: median of {args.repeat} runs, --parallel {args.parallel}, "
         f"{args.servers} sshd{'' if args.rexec else ' -r'} per recording, output {args.suffix}, {'no archive' if args.no_archive else 'archive on'}, "
         f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, autogroup {autogroup()}"),
        "",
        table(rows),
        "",
        "C: containers in the recorded probe output; N: hosts in the inventory; x: ratio to the first variant, same run",
        "CPU ms/h: user + system time of dockbench and its children (worker processes) per host; main: its main process alone",
        "ceiling: what dockbench alone could do on this machine, min(1 / main CPU, CPUs / all its CPU) per host",
        "sshd ms/h: the lab's sshd processes and the replay commands they ran, per host (same cores as dockbench)",
        "bound: min(1 / main CPU, CPUs / (dockbench + sshd CPU)) per host, the most hosts/s this machine could give the pair",
        "load: the 1-minute load average at the end of the sweep (other work on the machine takes cores from the pair)",
        "peak RSS: the dockbench process tree, summed over its processes, sampled every 50 ms",
    ]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": {k: v for k, v in vars(args).items() if k != "json"}, "rows": rows}, indent=2) + "\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.perf.bench_replay", description=__doc__.split("\n\n")[0])
    p.add_argument("--counts", default="100,1000", help="fleet sizes N, comma-separated (default: 100,1000)")
    p.add_argument("--containers", default="100", help="containers in the recorded output, comma-separated (default: 100)")
    p.add_argument("--parallel", type=int, default=16, help="dockbench scan --parallel (default: 16)")
    p.add_argument("--servers", type=int, default=4, help="sshd processes per recording (default: 4)")
    p.add_argument("--rexec", action="store_true", help="run sshd as OpenSSH defaults to, executing itself anew per connection (default: sshd -r)")
    p.add_argument("--repeat", type=int, default=1, help="timed sweeps per N; the median is reported (default: 1)")
    p.add_argument("--output", dest="suffix", default=".json", choices=(".json", ".jsonl"), help="the sweep's output format (default: .json)")
    p.add_argument("--no-archive", action="store_true", help="run the sweeps with --no-archive")
    p.add_argument("--variant", dest="variants", action="append", help="extra dockbench scan arguments, e.g. '--workers 0' (repeatable; default: none)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = p.parse_args(argv)
    args.counts = parse_list(args.counts, "--counts")
    args.variants = args.variants or [""]
    args.containers = parse_list(args.containers, "--containers", minimum=0)
    if args.parallel < 1 or args.repeat < 1 or args.servers < 1:
        p.error("--parallel, --repeat and --servers must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def body(fleet: Fleet) -> None:
        from tests.support.sshd import Lab

        fleet.lab = Lab(fleet.root / "ssh")
        bench(fleet, args)
    return run("bench_replay", body)


if __name__ == "__main__":
    sys.exit(main())
