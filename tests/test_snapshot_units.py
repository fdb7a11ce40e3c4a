"""Daemon options from the service manager when no dockerd process is in sight.

The recorded host is a real Debian 12 box: its docker.service (Debian's docker.io package, in
/usr/lib/systemd/system and, merged /usr, /lib/systemd/system) starts
`/usr/sbin/dockerd -H fd:// --containerd=... $DOCKER_OPTS` with EnvironmentFile=-/etc/default/docker.
Each test hides the dockerd processes (as a --root scan of a mounted host, or a probe that cannot
see /proc, would) and edits the unit files the way another host has them.
"""

from __future__ import annotations

import stat

from dockbench.benchmark.collect import snapshot, systemd
from dockbench.benchmark.collect.probe import Record
from dockbench.benchmark.document.model import Status
from dockbench.benchmark.judge.facts import Facts, Option
from tests.recorded import (
    MTIME,
    TARGET,
    docker_unreachable,
    judge,
    observed,
    recorded_records,
    with_file,
)

VENDOR_UNIT = "/usr/lib/systemd/system/docker.service"
ETC_UNIT = "/etc/systemd/system/docker.service"
DROPIN_DIR = "/etc/systemd/system/docker.service.d"
DEBIAN_ARGV = ["/usr/sbin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"]


def without_dockerd(records=None):
    """The recorded records with no dockerd process seen."""
    records = records if records is not None else recorded_records()
    for name in [n for n in records if n.startswith("cmdline:")]:
        del records[name]
    return records


def build(records, docker_host=None):
    return snapshot.build(records, target={**TARGET, "docker_host": docker_host})


def unit(records, path, service_lines):
    return with_file(records, path, "[Unit]\nDescription=Docker\n\n[Service]\n" + "\n".join(service_lines) + "\n")


def test_the_vendor_unit_stands_in_for_an_unseen_dockerd():
    snap = build(without_dockerd())
    daemon = snap["daemon"]
    assert (daemon["pid"], daemon["uid"], daemon["user"]) == (None, None, "root")
    assert (daemon["argv"], daemon["source"], daemon["selected_by"]) == (DEBIAN_ARGV, VENDOR_UNIT, "service unit")
    assert daemon["config"]["path"] == "/etc/docker/daemon.json"
    assert snap["units"]["docker.service"]["environment_files"] == [{"path": "/etc/default/docker", "optional": True, "state": "present"}]
    assert snap["units"]["docker.socket"]["listen_stream"] == ["/run/docker.sock"]


def test_a_running_dockerd_wins_over_its_unit():
    snap = build(recorded_records(), docker_host=TARGET["docker_host"])
    assert snap["daemon"]["source"] == f"/proc/{snap['daemon']['pid']}/cmdline"
    assert snap["daemon"]["argv"][:3] == ["dockerd", "--host", "unix:///tmp/dbt/docker.sock"]


def test_docker_opts_from_etc_default_docker_are_expanded():
    records = with_file(without_dockerd(), "/etc/default/docker", 'DOCKER_OPTS="--icc=false -H tcp://0.0.0.0:2375 --label \'env=prod eu\'"\n')
    snap = build(records)
    assert snap["daemon"]["argv"] == DEBIAN_ARGV + ["--icc=false", "-H", "tcp://0.0.0.0:2375", "--label", "env=prod eu"]
    facts = Facts(snap)
    assert facts.daemon_option("icc") == Option(False, "dockerd command line")
    assert facts.daemon_option("hosts", flag="host", many=True).value == ["fd://", "tcp://0.0.0.0:2375"]


def test_etc_unit_overrides_the_vendor_unit():
    records = unit(without_dockerd(), ETC_UNIT, ["EnvironmentFile=-/etc/sysconfig/docker", "ExecStart=/usr/bin/dockerd $OPTIONS"])
    records = with_file(records, "/etc/sysconfig/docker", "# RHEL style\nOPTIONS='--selinux-enabled --log-driver=journald'\n")
    snap = build(records)
    assert (snap["daemon"]["source"], snap["daemon"]["argv"]) == (ETC_UNIT, ["/usr/bin/dockerd", "--selinux-enabled", "--log-driver=journald"])


def test_a_drop_in_resets_exec_start_and_moves_daemon_json():
    records = with_file(without_dockerd(), f"{DROPIN_DIR}/override.conf", "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --config-file /etc/docker/site.json\n")
    snap = build(records)
    assert snap["daemon"]["argv"] == ["/usr/bin/dockerd", "--config-file", "/etc/docker/site.json"]
    assert snap["units"]["docker.service"]["dropins"] == [f"{DROPIN_DIR}/override.conf"]
    # Round 1 did not read site.json: the second round will (collect.second_round_paths).
    assert (snap["daemon_config"]["path"], snap["daemon_config"]["state"]) == ("/etc/docker/site.json", "not_collected")
    snap = build(with_file(records, "/etc/docker/site.json", '{"icc": false}'))
    assert snap["daemon_config"]["data"] == {"icc": False}
    outcome = judge(docker_unreachable(snap), "daemon-icc-disabled")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("icc", "False (/etc/docker/site.json)")])


def test_a_drop_in_without_reset_adds_a_second_exec_start():
    records = with_file(without_dockerd(), f"{DROPIN_DIR}/10-extra.conf", "[Service]\nExecStart=/usr/bin/dockerd --debug\n")
    snap = build(records)
    assert snap["daemon"]["argv"] == ["/usr/bin/dockerd", "--debug"]
    assert f"{VENDOR_UNIT}: docker.service has 2 ExecStart= lines: systemd refuses that for a service that is not Type=oneshot" in snap["probe"]["notes"]


def test_drop_ins_apply_by_name_and_a_higher_directory_hides_the_same_name():
    records = with_file(without_dockerd(), "/usr/lib/systemd/system/docker.service.d/50-tls.conf", "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --tlsverify\n")
    records = with_file(records, f"{DROPIN_DIR}/50-tls.conf", "[Service]\nEnvironment=EXTRA=--icc=false\n")
    records = with_file(records, "/run/systemd/system/docker.service.d/90-last.conf", "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd $EXTRA\n")
    snap = build(records)
    assert snap["units"]["docker.service"]["dropins"] == [f"{DROPIN_DIR}/50-tls.conf", "/run/systemd/system/docker.service.d/90-last.conf"]
    assert snap["daemon"]["argv"] == ["/usr/bin/dockerd", "--icc=false"]


def test_environment_file_beats_environment_and_braces_stay_in_one_word():
    lines = [
        'Environment="DOCKER_OPTS=--icc=true" "ROOT=/srv/docker data"',
        "EnvironmentFile=/etc/default/docker",
        "ExecStart=-/usr/bin/dockerd --data-root=${ROOT} \\",
        "    $DOCKER_OPTS $UNSET --label=100%%",
    ]
    records = with_file(unit(without_dockerd(), ETC_UNIT, lines), "/etc/default/docker", "DOCKER_OPTS=--icc=false\n")
    assert build(records)["daemon"]["argv"] == ["/usr/bin/dockerd", "--data-root=/srv/docker data", "--icc=false", "--label=100%"]


def test_a_masked_unit_configures_no_daemon():
    records = without_dockerd()
    records["stat:" + ETC_UNIT] = Record(out=f"{stat.S_IFCHR | 0o666:x} 0 0 0 {MTIME}\n".encode(), rc=0)  # -> /dev/null
    records["read:" + ETC_UNIT] = Record(out=b"", rc=0)
    snap = build(records)
    assert snap["daemon"] is None
    assert snap["units"]["docker.service"] == {"path": ETC_UNIT, "dropins": [], "masked": True, "notes": []}


def test_an_unreadable_unit_is_not_replaced_by_a_lower_one():
    records = without_dockerd()
    records["stat:" + ETC_UNIT] = Record(out=f"{stat.S_IFREG | 0o600:x} 0 0 120 {MTIME}\n".encode(), rc=0)
    records["read:" + ETC_UNIT] = Record(rc=1, err=f"cat: {ETC_UNIT}: Permission denied".encode())
    snap = build(records)
    assert snap["daemon"] is None
    assert snap["units"]["docker.service"]["error"] == f"{ETC_UNIT} could not be read (cat: {ETC_UNIT}: Permission denied)"


def test_a_required_environment_file_that_is_missing_is_noted():
    records = unit(without_dockerd(), ETC_UNIT, ["EnvironmentFile=/etc/docker/env", "ExecStart=/usr/bin/dockerd $OPTS"])
    records["stat:/etc/docker/env"] = Record(rc=1, err=b"stat: cannot statx '/etc/docker/env': No such file or directory")
    snap = build(records)
    assert snap["daemon"]["argv"] == ["/usr/bin/dockerd"]
    assert f"{ETC_UNIT}: EnvironmentFile /etc/docker/env does not exist: systemd would refuse to start the service" in snap["probe"]["notes"]


def test_an_environment_file_not_yet_read_is_left_to_the_second_round():
    from dockbench.benchmark.collect.rounds import second_round_paths

    records = unit(without_dockerd(), ETC_UNIT, ["EnvironmentFile=-/etc/docker/env", "ExecStart=/usr/bin/dockerd $OPTS"])
    snap = build(records)
    assert snap["units"]["docker.service"]["environment_files"] == [{"path": "/etc/docker/env", "optional": True, "state": "not_collected"}]
    assert "/etc/docker/env" in second_round_paths(snap)[1]


def test_a_unit_that_serves_another_socket_is_not_attributed():
    snap = build(without_dockerd(), docker_host=TARGET["docker_host"])  # /tmp/dbt/docker.sock: not the unit's
    assert snap["daemon"] is None
    assert f"{VENDOR_UNIT} starts a daemon that does not serve /tmp/dbt/docker.sock: its options were not attributed" in snap["probe"]["notes"]


def test_under_root_the_audited_socket_is_matched_without_the_prefix():
    records = without_dockerd()
    snap = snapshot.build(records, target={**TARGET, "root": "/host", "docker_host": "unix:///host/var/run/docker.sock"})
    assert snap["daemon"]["source"] == VENDOR_UNIT


def test_unit_parsing_keeps_only_tls_relevant_environment():
    files = {ETC_UNIT: {"state": "present", "type": "file", "size": 1, "content": '[Service]\nEnvironment="HTTPS_PROXY=http://u:pw@proxy:3128" DOCKER_CERT_PATH=/etc/docker/tls\nExecStart=/usr/bin/dockerd\n'}}
    service = systemd.service_command(files, "docker.service", [])
    assert service["environment"] == {"DOCKER_CERT_PATH": "/etc/docker/tls"}
    assert "pw" not in repr(service)


def test_tls_settings_from_the_units_environment():
    # DOCKER_TLS_VERIFY turns TLS and verification on; DOCKER_CERT_PATH moves dockerd's default files.
    lines = ["Environment=DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=/etc/docker/tls", "ExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2376"]
    snap = build(unit(without_dockerd(), ETC_UNIT, lines))
    assert snap["daemon"]["environment"] == {"DOCKER_CERT_PATH": "/etc/docker/tls", "DOCKER_TLS_VERIFY": "1"}
    outcome = judge(snap, "tls-tcp-requires-client-certs")
    assert outcome.status is Status.PASS
    assert observed(outcome)[2:] == [
        ("tlscacert", "/etc/docker/tls/ca.pem (dockerd default from $DOCKER_CERT_PATH)"),
        ("tlscert", "/etc/docker/tls/cert.pem (dockerd default from $DOCKER_CERT_PATH)"),
        ("tlskey", "/etc/docker/tls/key.pem (dockerd default from $DOCKER_CERT_PATH)"),
    ]


def test_environment_file_parsing():
    text = "# comment\n; also\nA=1\nB='two words'\nC=\"x \\\n y\"\nnot a line\n9BAD=x\n"
    assert systemd.environment_file(text) == {"A": "1", "B": "two words", "C": "x y"}
