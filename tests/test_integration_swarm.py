"""Swarm checks against real swarm managers, scanned end to end with the CLI.

`docker swarm init` changes a daemon for everyone who uses it, so these tests never touch the
shared test daemon: each scenario starts a dockerd of its own (tests/support/dockerd.py) in a
network namespace of its own, where only loopback exists, and initialises a single-node swarm
advertised on 127.0.0.1. The scans run in that namespace too, so /proc/net/tcp shows the
swarm's listeners, and a listener on all addresses reaches no network but the namespace's.

- "bound": --listen-addr 127.0.0.1:2377, an unencrypted (plain-ov) and an encrypted (enc-ov)
  overlay, and a service whose environment carries DB_PASSWORD. Scanned, then changed the
  way the remediations say (auto-lock on, plain-ov removed, ingress recreated encrypted) and
  scanned again.
- "open": the default listen address (all addresses) and --data-path-addr 127.0.0.2.

The unlock key `docker swarm update --autolock=true` prints is discarded unread.
Started once for the module; a daemon or swarm that cannot start is a failure, never a skip.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.cli_run import DOCKBENCH, by_id, load_report
from tests.support import dockerd

SERVICE_SECRET = "hunter2-swarm-service"
STATE = "docker info Swarm.LocalNodeState"


def docker(host: str, *args: str, input: str | None = None) -> str:
    done = dockerd.docker(host, *args, input=input)
    if done.returncode != 0:
        pytest.fail(f"docker {' '.join(args[:3])} failed: {done.stderr.strip()}", pytrace=False)
    return done.stdout


def start_swarm(root: Path, *init_args: str) -> str:
    try:
        host = dockerd.start(root, own_netns=True)
    except dockerd.DaemonError as exc:
        pytest.fail(f"cannot start a private dockerd for the swarm tests: {exc}", pytrace=False)
    docker(host, "swarm", "init", "--advertise-addr", "127.0.0.1", *init_args)
    return host


def scan(root: Path, host: str, name: str) -> dict:
    report, facts = root / f"{name}.json", root / f"{name}-facts.json"
    done = subprocess.run(
        [*dockerd.in_netns(root), DOCKBENCH, "scan", "--docker-host", host, "-o", report, "--facts-out", facts],
        check=False, capture_output=True, text=True, timeout=300,
    )
    if done.returncode not in (0, 1) or not report.exists():
        pytest.fail(f"dockbench scan ({name}) exited {done.returncode}:\n{done.stderr}", pytrace=False)
    texts = report.read_text() + facts.read_text()
    return {"results": by_id(load_report(report)), "facts": json.loads(facts.read_text()), "texts": texts}


def harden(host: str) -> None:
    """Auto-lock on (its key discarded), plain-ov gone, ingress recreated with encryption."""
    done = subprocess.run(
        [dockerd.docker_cli(), "swarm", "update", "--autolock=true"],
        check=False, env=dockerd.docker_env(host), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60,
    )
    if done.returncode != 0:
        pytest.fail(f"docker swarm update --autolock=true failed: {done.stderr.strip()}", pytrace=False)
    docker(host, "network", "rm", "plain-ov")
    docker(host, "network", "rm", "ingress", input="y\n")
    for _ in range(20):  # the old ingress network goes away asynchronously
        if dockerd.docker(host, "network", "create", "--driver", "overlay", "--ingress", "--opt", "encrypted", "ingress").returncode == 0:
            return
        time.sleep(0.5)
    pytest.fail("could not recreate the ingress network with --opt encrypted", pytrace=False)


@pytest.fixture(scope="module")
def swarms():
    roots = {name: Path(tempfile.mkdtemp(prefix=f"dbt-sw{name[0]}-", dir="/tmp")) for name in ("bound", "open")}
    try:
        bound = start_swarm(roots["bound"], "--listen-addr", "127.0.0.1:2377")
        docker(bound, "network", "create", "--driver", "overlay", "plain-ov")
        docker(bound, "network", "create", "--driver", "overlay", "--opt", "encrypted", "enc-ov")
        docker(bound, "service", "create", "--detach", "--no-resolve-image", "--name", "app",
               "--env", f"DB_PASSWORD={SERVICE_SECRET}", dockerd.IMAGE, "sleep", "600")
        for _ in range(60):
            if docker(bound, "ps", "--filter", "label=com.docker.swarm.service.name=app", "-q").strip():
                break
            time.sleep(0.5)
        else:
            pytest.fail("the swarm service's task did not start", pytrace=False)
        before = scan(roots["bound"], bound, "before")
        harden(bound)
        after = scan(roots["bound"], bound, "after")
        open_ = start_swarm(roots["open"], "--data-path-addr", "127.0.0.2")
        yield {"before": before, "after": after, "open": scan(roots["open"], open_, "open"), "roots": roots}
    finally:
        for root in roots.values():
            dockerd.stop(root, remove=True)


def verdict(scan_result: dict, check_id: str) -> tuple[str, str, list]:
    result = scan_result["results"][check_id]
    return result["status"], result["message"], [(e["subject"], e["observed"]) for e in result["evidence"]]


def state_file(swarms, name: str) -> str:
    return f"{swarms['roots'][name]}/data/swarm/docker-state.json"


def test_swarm_mode_is_left_to_a_reviewer(swarms):
    assert verdict(swarms["before"], "swarm-not-enabled") == (
        "MANUAL",
        "this node is a swarm manager (state active): confirm that it needs swarm mode",
        [(STATE, "active"), ("role", "manager"), ("docker info Swarm.NodeAddr", "127.0.0.1"),
         ("docker info Swarm.Managers", 1), ("docker info Swarm.Nodes", 1)],
    )


def test_the_second_round_collected_nodes_and_the_state_file(swarms):
    facts = swarms["before"]["facts"]
    assert facts["probe"]["rounds"] == 2
    assert [(n["ManagerStatus"], n["Status"]) for n in facts["docker"]["nodes"]] == [("Leader", "Ready")]
    assert facts["files"][state_file(swarms, "bound")]["state"] == "present"


def test_unencrypted_overlays_fail_then_pass_once_encrypted(swarms):
    assert verdict(swarms["before"], "swarm-overlay-encrypted") == (
        "FAIL",
        "2 of 3 overlay networks are not encrypted",
        [("ingress", "not encrypted (the routing mesh's ingress network)"), ("plain-ov", "not encrypted")],
    )
    assert verdict(swarms["after"], "swarm-overlay-encrypted") == (
        "PASS",
        "all 2 overlay networks are encrypted",
        [("enc-ov", "encrypted"), ("ingress", "encrypted (the routing mesh's ingress network)")],
    )


def test_autolock_flips_and_its_key_is_never_kept(swarms):
    key = "docker info Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers"
    assert verdict(swarms["before"], "swarm-autolock") == ("FAIL", "auto-lock is off", [(key, False)])
    assert verdict(swarms["after"], "swarm-autolock") == ("PASS", "auto-lock is on", [(key, True)])
    assert verdict(swarms["before"], "swarm-autolock-rotation")[0] == "NOT_APPLICABLE"
    assert verdict(swarms["after"], "swarm-autolock-rotation")[0] == "MANUAL"
    assert "SWMKEY" not in swarms["after"]["texts"]


def test_listen_address_on_loopback_passes_and_on_all_addresses_fails(swarms):
    assert verdict(swarms["before"], "swarm-bound-to-interface") == (
        "PASS",
        "swarm ports listen on specific addresses only",
        [("127.0.0.1:2377", "listening"), ("127.0.0.1:7946", "listening"), (state_file(swarms, "bound"), "ListenAddr=127.0.0.1:2377")],
    )
    status, message, evidence = verdict(swarms["open"], "swarm-bound-to-interface")
    assert (status, evidence[-1]) == ("FAIL", (state_file(swarms, "open"), "ListenAddr=0.0.0.0:2377"))
    # Go listens dual-stack ([::]) where the kernel has IPv6, else on 0.0.0.0
    assert message in (
        "swarm ports listen on all addresses: [::]:2377, [::]:7946, ListenAddr 0.0.0.0:2377",
        "swarm ports listen on all addresses: 0.0.0.0:2377, 0.0.0.0:7946, ListenAddr 0.0.0.0:2377",
    )


def test_data_path_address_separates_the_planes(swarms):
    assert verdict(swarms["before"], "swarm-plane-separation") == (
        "FAIL",
        "no data-path address is set: data traffic shares the management address 127.0.0.1",
        [("docker info Swarm.NodeAddr", "127.0.0.1"), (state_file(swarms, "bound"), "AdvertiseAddr=127.0.0.1:2377 DataPathAddr=(unset)")],
    )
    assert verdict(swarms["open"], "swarm-plane-separation") == (
        "PASS",
        "data traffic uses 127.0.0.2, management traffic 127.0.0.1",
        [("docker info Swarm.NodeAddr", "127.0.0.1"), (state_file(swarms, "open"), "AdvertiseAddr=127.0.0.1:2377 DataPathAddr=127.0.0.2")],
    )


def test_one_manager_passes(swarms):
    status, message, evidence = verdict(swarms["before"], "swarm-manager-count")
    assert (status, message, evidence[:2]) == ("PASS", "1 manager: an odd number, at most 7", [("docker info Swarm.Managers", 1), ("docker info Swarm.Nodes", 1)])
    assert [observed for _, observed in evidence[2:]] == ["Leader, Ready, Active"]


def test_service_secrets_in_the_environment_are_a_lead_without_their_value(swarms):
    status, message, evidence = verdict(swarms["before"], "swarm-secrets-managed")
    assert status == "MANUAL"
    assert message.startswith("1 swarm service tasks run on this node; 1 of them have secret-looking environment variables")
    assert evidence[:2] == [("role", "manager"), ("swarm service tasks on this node", 1)]
    assert evidence[2][0].startswith("app.1.") and evidence[2][1] == ["DB_PASSWORD"]
    assert SERVICE_SECRET not in swarms["before"]["texts"]


def test_certificates_are_left_to_a_reviewer_with_their_lifetimes(swarms):
    assert verdict(swarms["before"], "swarm-node-cert-rotation") == (
        "MANUAL",
        "node certificates expire and are renewed every 90 days: confirm this matches your certificate policy",
        [("docker info Swarm.Cluster.Spec.CAConfig.NodeCertExpiry", 7776000000000000)],
    )
    status, message, evidence = verdict(swarms["before"], "swarm-ca-rotation")
    assert (status, evidence[0]) == ("MANUAL", ("docker info Swarm.Cluster.RootRotationInProgress", False))
    assert message.startswith("the swarm root CA was issued on ") and "(0 days before the scan)" in message
