"""How the SSH transport connects, against a real sshd: Nagle off, and known_hosts looked up per host.

A sweep's known_hosts has an entry per host. The transport indexes it once and gives each
connection only its own host's keys (paramiko's HostKeys scans every entry per lookup, so copying
it into each connection cost O(entries^2)); verification must stay exactly as strict: hashed
names (as `ssh-keygen -H` writes them) match, a changed key is refused, an unknown one too.
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
from pathlib import Path

import paramiko
import pytest

from dockbench.benchmark.collect.inventory import Target
from dockbench.benchmark.collect.ssh import KnownHosts, SSHOptions, SSHTransport
from dockbench.benchmark.collect.transports import TransportError
from tests.support.sshd import Lab, keygen

OTHERS = 3000  # entries for other hosts in the big known_hosts


@pytest.fixture(scope="module")
def server():
    lab = Lab(Path(tempfile.mkdtemp(prefix="dbt-sshconn-")))
    try:
        yield lab, lab.start("conn", "127.0.0.42")
    finally:
        lab.stop()


def connect(lab: Lab, host, known_hosts: Path, accept_new: bool = False) -> SSHTransport:
    options = SSHOptions(known_hosts=str(known_hosts), ssh_config=None, key_file=str(lab.client_key), user="root", host_timeout=30)
    return SSHTransport(Target("conn", host.address, host.port), options, KnownHosts(str(known_hosts), accept_new))


def big_known_hosts(path: Path, lines: list[str]) -> Path:
    """`lines` among OTHERS entries for other hosts (their own key), as a fleet's file is."""
    other = keygen(path.with_name(path.name + "-other")).split()[:2]
    path.write_text("".join(f"10.9.{i // 250}.{1 + i % 250} {other[0]} {other[1]}\n" for i in range(OTHERS)) + "".join(line + "\n" for line in lines))
    return path


def test_nagle_is_off_and_the_probe_runs(server, tmp_path):
    lab, host = server
    with connect(lab, host, lab.known_hosts(tmp_path / "known_hosts", [host])) as transport:
        sock = transport.clients[-1].get_transport().sock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        run = transport.run(b"echo out; echo err >&2; exit 4\n")
    assert (run.stdout, run.stderr, run.exit_status) == (b"out\n", b"err\n", 4)


def test_a_big_known_hosts_gives_each_connection_its_own_host_keys_only(server, tmp_path):
    lab, host = server
    known_hosts = big_known_hosts(tmp_path / "known_hosts", [host.known_hosts_line()])
    with connect(lab, host, known_hosts) as transport:
        keys = transport.clients[-1].get_host_keys()
        assert [(name, list(keys.lookup(name).keys())) for name in keys] == [(f"[{host.address}]:{host.port}", ["ssh-ed25519"])]
        assert transport.run(b"echo ok\n").stdout == b"ok\n"


def test_hashed_names_match_as_ssh_keygen_writes_them(server, tmp_path):
    lab, host = server
    known_hosts = big_known_hosts(tmp_path / "known_hosts", [host.known_hosts_line()])
    subprocess.run(["ssh-keygen", "-H", "-f", str(known_hosts)], check=True, capture_output=True)
    assert f"{host.address}" not in known_hosts.read_text() and known_hosts.read_text().count("|1|") == OTHERS + 1
    with connect(lab, host, known_hosts) as transport:
        assert transport.run(b"echo hashed\n").stdout == b"hashed\n"


def test_a_changed_key_is_refused_plain_or_hashed(server, tmp_path):
    lab, host = server
    wrong = keygen(tmp_path / "wrong_key")
    for hashed in (False, True):
        known_hosts = big_known_hosts(tmp_path / f"known_hosts-{hashed}", [host.known_hosts_line(wrong)])
        if hashed:
            subprocess.run(["ssh-keygen", "-H", "-f", str(known_hosts)], check=True, capture_output=True)
        with pytest.raises(TransportError) as caught:
            connect(lab, host, known_hosts).__enter__()
        assert caught.value.kind == "host_key_changed"


def test_an_unknown_host_is_refused_and_recorded_only_when_asked(server, tmp_path):
    lab, host = server
    known_hosts = big_known_hosts(tmp_path / "known_hosts", [])
    with pytest.raises(TransportError) as caught:
        connect(lab, host, known_hosts).__enter__()
    assert caught.value.kind == "host_key_unknown"
    store = KnownHosts(str(known_hosts), accept_new=True)
    options = SSHOptions(known_hosts=str(known_hosts), ssh_config=None, key_file=str(lab.client_key), user="root", host_timeout=30)
    for _ in range(2):  # the second connection finds the key recorded by the first
        with SSHTransport(Target("conn", host.address, host.port), options, store) as transport:
            assert transport.run(b"echo new\n").stdout == b"new\n"
    assert len(store.recorded) == 1
    assert known_hosts.read_text().splitlines()[-1].split()[:2] == [f"[{host.address}]:{host.port}", "ssh-ed25519"]
    assert len(known_hosts.read_text().splitlines()) == OTHERS + 1


def test_a_closed_port_is_refused(server, tmp_path):
    lab, host = server
    with socket.socket() as unused:
        unused.bind((host.address, 0))
        port = unused.getsockname()[1]
    options = SSHOptions(known_hosts=str(tmp_path / "known_hosts"), ssh_config=None, key_file=str(lab.client_key), user="root")
    with pytest.raises(TransportError) as caught:
        SSHTransport(Target("closed", host.address, port), options, KnownHosts(str(tmp_path / "known_hosts"), False)).__enter__()
    assert (caught.value.kind, str(caught.value)) == ("connection_refused", "closed: connection refused")


def test_unusable_lines_are_skipped_and_an_unreadable_file_named(server, tmp_path):
    lab, host = server
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"# comment\n\ngarbage\n@cert-authority *.example ssh-ed25519 AAAA\n|1|!!|!!| ssh-ed25519 AAAA\n{host.known_hosts_line()}\n")
    with connect(lab, host, known_hosts) as transport:
        assert transport.run(b"echo skipped\n").stdout == b"skipped\n"
    for content in (b"\xff\xfe not text\n", f"@revoked * {host.host_key}\n".encode()):
        known_hosts.write_bytes(content)
        with pytest.raises(TransportError) as caught:
            KnownHosts(str(known_hosts), False)
        assert caught.value.kind == "config_error" and str(known_hosts) in str(caught.value)


def test_an_encrypted_key_is_decrypted_once_for_all_connections(server, tmp_path, monkeypatch):
    lab, host = server
    key = tmp_path / "locked_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "correct horse", "-f", str(key)], check=True)
    authorized = host.directory / "authorized_keys"
    before = authorized.read_text()
    authorized.write_text(Path(f"{key}.pub").read_text())
    loads = []
    real_load = paramiko.PKey.from_path
    monkeypatch.setattr(paramiko.PKey, "from_path", staticmethod(lambda *args: loads.append(args[0]) or real_load(*args)))
    known_hosts = lab.known_hosts(tmp_path / "known_hosts", [host])
    try:
        for passphrase, expected in (("correct horse", None), ("wrong", "Invalid key")):
            options = SSHOptions(known_hosts=str(known_hosts), ssh_config=None, key_file=str(key), passphrase=passphrase, user="root", host_timeout=30)
            store = KnownHosts(str(known_hosts), False)
            for _ in range(3):
                transport = SSHTransport(Target("locked", host.address, host.port), options, store)
                if expected is None:
                    with transport:
                        assert transport.run(b"echo unlocked\n").stdout == b"unlocked\n"
                else:  # not loaded here: paramiko tries the file per connection and fails as it always did
                    with pytest.raises(TransportError, match=expected):
                        transport.__enter__()
            assert options.keys.loaded.keys() == {str(key)}
            assert "correct horse" not in repr(options)
    finally:
        authorized.write_text(before)
    assert loads == [str(key), str(key)]  # once per options (per sweep), not per connection
