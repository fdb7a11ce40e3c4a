"""What a container can reach, judged on the recorded host edited per case: namespaces joined
from another container, named volumes by their driver options, mount sources through symbolic
links, and what an older snapshot (without those facts) cannot settle.

The same rules on real containers of the test daemon: tests/test_integration_exposure.py.
"""

from __future__ import annotations

import pytest

from dockbench.benchmark.collect.probe import Record
from dockbench.benchmark.document.model import Status
from dockbench.benchmark.judge.facts import Selection
from tests.recorded import bind, build, container, judge, observed, recorded_records, recorded_snapshot, resolved

EVERY = Selection(include_stopped=True)


def volume(name: str, destination: str, rw: bool = True) -> dict:
    """A named volume as `docker inspect` lists it under a container's Mounts."""
    return {"Type": "volume", "Name": name, "Source": f"/tmp/dbt/data/volumes/{name}/_data", "Destination": destination, "Driver": "local", "RW": rw}


def local_bind(name: str, device: str) -> dict:
    """`docker volume inspect` of a local volume made with --opt type=none --opt o=bind --opt device=DEVICE."""
    return {"Name": name, "Driver": "local", "Mountpoint": f"/tmp/dbt/data/volumes/{name}/_data", "Options": {"device": device, "o": "bind", "type": "none"}, "Scope": "local"}


def quiet() -> dict:
    """The recorded host with risky's mounts and namespaces taken away: nothing offends."""
    snap = recorded_snapshot()
    risky = container(snap, "risky")
    risky["Mounts"] = []
    risky["HostConfig"].update(PidMode="", IpcMode="private", UTSMode="")
    return snap


@pytest.mark.parametrize("mode, check_id", [
    ("PidMode", "container-no-host-pid"),
    ("IpcMode", "container-no-host-ipc"),
    ("NetworkMode", "container-no-host-network"),
    ("UTSMode", "container-no-host-uts"),
    ("UsernsMode", "container-no-host-userns"),
])
def test_a_namespace_joined_from_a_container_sharing_the_hosts_is_named_with_the_chain(mode, check_id):
    snap = quiet()
    risky, web = container(snap, "risky"), container(snap, "web")
    risky["HostConfig"][mode] = "host"
    web["HostConfig"][mode] = "container:" + risky["Id"]
    container(snap, "published")["HostConfig"][mode] = "container:" + web["Id"][:12]  # stopped, two steps away
    outcome = judge(snap, check_id, EVERY)
    assert outcome.status is Status.FAIL
    assert observed(outcome) == [
        ("published", f"{mode}=container:web -> risky, which has {mode}=host"),
        ("risky", f"{mode}=host"),
        ("web", f"{mode}=container:risky, which has {mode}=host"),
    ]
    assert [(e.kind, e.id) for e in outcome.evidence] == [("container", container(snap, n)["Id"]) for n in ("published", "risky", "web")]


def test_joining_a_container_that_keeps_its_own_namespace_is_not_named():
    snap = quiet()
    container(snap, "web")["HostConfig"]["PidMode"] = "container:" + container(snap, "risky")["Id"]
    outcome = judge(snap, "container-no-host-pid")
    assert (outcome.status, outcome.message) == (Status.PASS, "none of 2 containers share the host's process namespace")


def test_a_chain_through_a_missing_container_is_said_not_guessed():
    snap = quiet()
    container(snap, "web")["HostConfig"]["IpcMode"] = "container:0123456789abcdef"
    outcome = judge(snap, "container-no-host-ipc")
    assert (outcome.status, outcome.message) == (Status.MANUAL, "1 of 2 containers may share the host's IPC namespace: review what the facts could not settle")
    assert observed(outcome) == [("web", "IpcMode=container:0123456789abcdef: joins 0123456789ab, which is not on this host: what it shares is unknown")]


def test_a_local_volume_binding_a_sensitive_directory_is_judged_as_that_bind_read_only_too():
    snap = quiet()
    container(snap, "web")["Mounts"] = [volume("etc", "/e", rw=False), volume("data", "/data")]
    resolved(snap, {"/etc": "/etc"}, volumes=[local_bind("etc", "/etc"), {"Name": "data", "Driver": "local", "Options": None}])
    outcome = judge(snap, "container-no-sensitive-mounts")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("web", ["volume etc -> /e (binds /etc) (ro)"])])


def test_a_local_volume_binding_the_directory_that_holds_the_socket_exposes_it():
    snap = quiet()
    container(snap, "web")["Mounts"] = [volume("dbt", "/d")]
    resolved(snap, {"/tmp/dbt": "/tmp/dbt"}, volumes=[local_bind("dbt", "/tmp/dbt")])
    outcome = judge(snap, "container-docker-socket-not-mounted")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("web", ["volume dbt -> /d (binds /tmp/dbt) (holds /tmp/dbt/docker.sock)"])])
    assert judge(snap, "container-no-runtime-paths-mounted").status is Status.FAIL


def test_a_source_reaching_a_sensitive_directory_through_a_symbolic_link_is_named():
    snap = quiet()
    container(snap, "web")["Mounts"] = [bind("/srv/hostconf", "/conf", rw=False), bind("/srv/data", "/data")]
    resolved(snap, {"/srv/hostconf": "/etc"})
    outcome = judge(snap, "container-no-sensitive-mounts")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("web", ["/srv/hostconf -> /conf (resolves to /etc) (ro)"])])


def test_var_run_resolved_to_run_reaches_the_socket_there():
    snap = quiet()
    snap["files"]["/var/run/docker.sock"] = dict(snap["files"]["/tmp/dbt/docker.sock"])
    container(snap, "web")["Mounts"] = [bind("/var/run/docker.sock", "/s")]
    resolved(snap, {"/var/run/docker.sock": "/run/docker.sock"})
    outcome = judge(snap, "container-docker-socket-not-mounted")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("web", ["/var/run/docker.sock -> /s"])])


def test_a_volume_of_another_driver_is_listed_for_review():
    # no volume plugin on the test daemon: `docker volume inspect` of an NFS-backed volume of
    # the "netshare" plugin, as a host with the plugin shows it
    snap = quiet()
    container(snap, "web")["Mounts"] = [dict(volume("shared", "/shared"), Driver="netshare")]
    resolved(snap, volumes=[{"Name": "shared", "Driver": "netshare", "Mountpoint": "/var/lib/docker-volumes/netshare/nfs/srv/shared", "Options": {"share": "nas:/srv/shared"}, "Scope": "local"}])
    for check_id, offense in (("container-no-sensitive-mounts", "mount sensitive host directories"), ("container-docker-socket-not-mounted", "mount a container runtime socket")):
        outcome = judge(snap, check_id)
        assert (outcome.status, outcome.message) == (Status.MANUAL, f"1 of 2 containers may {offense}: review what the facts could not settle")
        assert observed(outcome) == [("web", ["volume shared -> /shared: driver netshare (share=nas:/srv/shared): review what it reaches"])]


def test_a_snapshot_without_the_mount_facts_says_so_rather_than_pass():
    snap = quiet()
    container(snap, "web")["Mounts"] = [bind("/srv/app", "/app"), volume("data", "/data")]
    outcome = judge(snap, "container-no-sensitive-mounts")
    assert outcome.status is Status.MANUAL
    assert observed(outcome) == [("web", [
        "/srv/app -> /app: its symbolic links were not resolved (the snapshot predates it)",
        "volume data -> /data: what it holds is unknown (the snapshot predates volume facts)",
    ])]


def test_an_offending_container_is_named_beside_the_ones_to_review():
    snap = recorded_snapshot()  # risky mounts /etc; give web a volume of another driver
    container(snap, "web")["Mounts"] = [dict(volume("shared", "/shared"), Driver="netshare")]
    resolved(snap, volumes=[{"Name": "shared", "Driver": "netshare", "Options": None}])
    outcome = judge(snap, "container-no-sensitive-mounts")
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 2 containers mount sensitive host directories; 1 more to review")
    assert observed(outcome) == [("risky", ["/etc -> /host-etc (rw)"]), ("web", ["volume shared -> /shared: driver netshare: review what it reaches"])]


def test_sockets_the_runtimes_are_configured_to_serve_count_wherever_they_live():
    snap = quiet()
    snap["daemon"]["argv"] += ["-H", "unix:///srv/docker-api/api.sock"]
    snap["files"]["/etc/containerd/config.toml"] = {"state": "present", "type": "file", "mode": 0o644, "uid": 0, "gid": 0, "size": 80, "mtime": 0,
                                                    "content": 'version = 2\n[grpc]\n  uid = 0\n  address = "/srv/ctr/containerd.sock"\n[debug]\n  address = "/srv/debug.sock"\n'}
    container(snap, "web")["Mounts"] = [bind("/srv/docker-api", "/api"), bind("/srv/ctr", "/ctr", rw=False), bind("/srv/other", "/o")]
    resolved(snap)
    outcome = judge(snap, "container-docker-socket-not-mounted")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("web", [
        "/srv/docker-api -> /api (holds /srv/docker-api/api.sock)",
        "/srv/ctr -> /ctr (holds /srv/ctr/containerd.sock)",
    ])])


def test_a_source_the_probe_could_not_resolve_is_said_so():
    snap = quiet()
    container(snap, "web")["Mounts"] = [bind('/srv/"quoted"', "/q")]
    snap["realpaths"], snap["docker"]["volumes"] = {}, []   # today's probe, which leaves paths with a quote out
    outcome = judge(snap, "container-no-sensitive-mounts")
    assert (outcome.status, observed(outcome)) == (Status.MANUAL, [("web", ['/srv/"quoted" -> /q: its symbolic links were not resolved (the probe could not read this path off the inspect output)'])])


def test_the_snapshot_keeps_volumes_and_real_paths_and_marks_them_not_collected_when_absent():
    old = build(recorded_records())
    assert old["realpaths"] is None and "volumes" not in old["docker"]
    records = recorded_records()
    records["docker:volume-names"] = Record(b"etc\n", 0)
    records["docker:volumes"] = Record(b'[{"Name": "etc", "Driver": "local", "Options": {"device": "/etc", "o": "bind", "type": "none"}}]\n', 0)
    records["realpath:/srv/conf"] = Record(b"/etc\n", 0)
    records["realpath:/run/crio/crio.sock"] = Record(b"", 1)
    records["realpaths"] = Record(b"", 0)
    snap = build(records)
    assert snap["docker"]["volumes"] == [{"Name": "etc", "Driver": "local", "Options": {"device": "/etc", "o": "bind", "type": "none"}}]
    assert snap["realpaths"] == {"/srv/conf": "/etc", "/run/crio/crio.sock": None}
