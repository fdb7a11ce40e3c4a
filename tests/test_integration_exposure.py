"""What a container can reach, on real containers of the test daemon, through `dockbench scan`:
namespaces joined from another container, named volumes that bind host directories, a parent
directory of the socket, a source that is a symbolic link, --volumes-from. Each case names the
offenders and leaves its negative twin out. (The engine has no `container:` mode for UTS and
user namespaces, and the test daemon no volume plugin: those are judged on the recorded host in
tests/test_checks_exposure.py.)
"""

from __future__ import annotations

import posixpath

from tests.test_integration_containers import scan


def offenders(result: dict) -> list[tuple[str, object]]:
    return sorted((e["subject"], e["observed"]) for e in result["evidence"] if e.get("kind") == "container")


def run_joined(d, name: str, *args: str) -> str:
    """`docker run` without the --network none the fixture adds (a network mode of its own)."""
    full = d.name(name)
    d.created.append(full)
    d.docker("run", "-d", "--name", full, *args, d.image, "sleep", "600")
    return full


def test_namespaces_joined_from_a_container_are_followed_to_the_host(containers, tmp_path):
    d = containers
    host = run_joined(d, "ns-host", "--pid", "host", "--ipc", "host", "--network", "host")
    joined = run_joined(d, "ns-joined", "--pid", f"container:{host}", "--ipc", f"container:{host}", "--network", f"container:{host}")
    own = d.run_container("ns-own", "--ipc", "shareable")
    twin = run_joined(d, "ns-twin", "--pid", f"container:{own}", "--ipc", f"container:{own}", "--network", f"container:{own}")
    later = d.create_container("ns-later", "--pid", f"container:{joined}")  # created, never started
    results = scan(d, "ns-*", tmp_path, "--include-stopped")
    for check_id, mode in (("container-no-host-pid", "PidMode"), ("container-no-host-ipc", "IpcMode"), ("container-no-host-network", "NetworkMode")):
        named = [(host, f"{mode}=host"), (joined, f"{mode}=container:{host}, which has {mode}=host")]
        if mode == "PidMode":
            named.append((later, f"PidMode=container:{joined} -> {host}, which has PidMode=host"))
        assert results[check_id]["status"] == "FAIL"
        assert offenders(results[check_id]) == sorted(named)
        assert [e["id"] for e in results[check_id]["evidence"] if e["subject"] == joined] == [d.inspect(joined)["Id"]]
        assert twin not in str(results[check_id]["evidence"]) and own not in str(results[check_id]["evidence"])


def test_a_chain_through_a_removed_container_is_said_not_guessed(containers, tmp_path):
    d = containers
    gone = d.create_container("nsgone-target")
    left = d.create_container("nsgone-left", "--pid", f"container:{gone}")
    gone_id = d.inspect(gone)["Id"]
    d.remove([gone])
    result = scan(d, "nsgone-*", tmp_path, "--include-stopped")["container-no-host-pid"]
    assert (result["status"], result["message"]) == ("MANUAL", "1 of 1 containers may share the host's process namespace: review what the facts could not settle")
    assert offenders(result) == [(left, f"PidMode=container:{gone_id}: joins {gone_id[:12]}, which is not on this host: what it shares is unknown")]


def test_named_volumes_are_judged_by_what_they_bind(containers, tmp_path):
    d = containers
    socket_dir = posixpath.dirname(d.socket)
    etc, run_dir, plain = d.name("vol-etc"), d.name("vol-run"), d.name("vol-plain")
    d.docker("volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt", "device=/etc", etc)
    d.docker("volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt", f"device={socket_dir}", run_dir)
    d.docker("volume", "create", plain)
    try:
        sensitive = d.run_container("vol-sensitive", "-v", f"{etc}:/e:ro")
        socket = d.run_container("vol-socket", "-v", f"{run_dir}:/r")
        quiet = d.run_container("vol-quiet", "-v", f"{plain}:/p")
        results = scan(d, "vol-*", tmp_path)
        assert results["container-no-sensitive-mounts"]["status"] == "FAIL"
        assert offenders(results["container-no-sensitive-mounts"]) == [(sensitive, [f"volume {etc} -> /e (binds /etc) (ro)"])]
        assert results["container-docker-socket-not-mounted"]["status"] == "FAIL"
        assert offenders(results["container-docker-socket-not-mounted"]) == [(socket, [f"volume {run_dir} -> /r (binds {socket_dir}) (holds {d.socket})"])]
        assert quiet not in str(results["container-no-sensitive-mounts"]["evidence"] + results["container-docker-socket-not-mounted"]["evidence"])
    finally:
        d.remove([n for n in d.created if n.startswith(d.name("vol-"))])
        d.docker("volume", "rm", etc, run_dir, plain, check=False)


def test_parent_directories_symbolic_links_and_volumes_from(containers, tmp_path):
    d = containers
    socket_dir = posixpath.dirname(d.socket)
    (tmp_path / "conf").symlink_to("/etc")
    (tmp_path / "data").mkdir()
    parent = d.run_container("bind-parent", "-v", f"{socket_dir}:/d:ro")
    linked = d.run_container("bind-linked", "-v", f"{tmp_path / 'conf'}:/conf:ro")
    plain = d.run_container("bind-plain", "-v", f"{tmp_path / 'data'}:/data")
    inherits = d.run_container("bind-inherits", "--volumes-from", linked)
    results = scan(d, "bind-*", tmp_path)
    assert offenders(results["container-docker-socket-not-mounted"]) == [(parent, [f"{socket_dir} -> /d (holds {d.socket})"])]
    shown = [f"{tmp_path / 'conf'} -> /conf (resolves to /etc) (ro)"]
    assert offenders(results["container-no-sensitive-mounts"]) == sorted([(linked, shown), (inherits, shown)])
    assert plain not in str(results["container-no-sensitive-mounts"]["evidence"] + results["container-docker-socket-not-mounted"]["evidence"])
