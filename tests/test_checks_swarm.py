"""Swarm checks (CIS 5.1, 7.1-7.9).

The recorded host is not in a swarm. tests/data/swarm-manager.json holds what a real Docker
20.10 daemon reported after `docker swarm init --advertise-addr 127.0.0.1 --listen-addr
127.0.0.1:2377` and two overlay networks (plain-ov, and enc-ov with --opt encrypted): its
`docker info` Swarm section, the overlay networks' inspect data, `docker node ls`, and the
swarm state file. Cases graft it onto the recorded snapshot and edit it; a worker is the
same node as a worker's `docker info` shows it (no cluster section, no node list).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from dockbench.benchmark.document.model import Status
from tests.recorded import (
    container,
    docker_not_installed,
    judge,
    observed,
    present,
    recorded_snapshot,
    unreadable,
)

DATA = json.loads((Path(__file__).parent / "data" / "swarm-manager.json").read_text())
STATE = "docker info Swarm.LocalNodeState"
STATE_FILE = "/tmp/dbt/data/swarm/docker-state.json"  # under the recorded daemon's DockerRootDir
SCAN_TIME = "2026-11-23T14:40:14Z"
LOOPBACK_LISTENERS = [{"address": "0.0.0.0", "port": 22}, {"address": "127.0.0.1", "port": 2377}, {"address": "127.0.0.1", "port": 7946}]
SECTION_7 = [
    "swarm-manager-count", "swarm-bound-to-interface", "swarm-overlay-encrypted", "swarm-secrets-managed", "swarm-autolock",
    "swarm-autolock-rotation", "swarm-node-cert-rotation", "swarm-ca-rotation", "swarm-plane-separation",
]
MANAGER_ONLY = ["swarm-manager-count", "swarm-autolock", "swarm-autolock-rotation", "swarm-node-cert-rotation", "swarm-ca-rotation"]


def manager(**state_changes):
    """The recorded host as the swarm manager it was made into."""
    snap = recorded_snapshot()
    snap["collected_at"] = SCAN_TIME
    snap["docker"]["info"]["Swarm"] = copy.deepcopy(DATA["swarm"])
    snap["docker"]["networks"] += copy.deepcopy(DATA["networks"])
    snap["docker"]["nodes"] = copy.deepcopy(DATA["nodes"])
    snap["listening"] = copy.deepcopy(LOOPBACK_LISTENERS)
    state = dict(json.loads(DATA["state_file"]), **state_changes)
    snap["files"][STATE_FILE] = dict(present(snap, "file", "root", "root", 0o600), content=json.dumps(state))
    return snap


def worker():
    """The same node as a worker sees itself: no cluster spec, no counts, no node list."""
    snap = manager()
    swarm = snap["docker"]["info"]["Swarm"]
    swarm["ControlAvailable"] = False
    swarm["RemoteManagers"] = [{"NodeID": "mgr1", "Addr": "10.0.0.1:2377"}]
    for key in ("Nodes", "Managers", "Cluster"):
        del swarm[key]
    del snap["docker"]["nodes"]
    snap["docker"]["networks"] = [n for n in snap["docker"]["networks"] if n["Name"] != "enc-ov"]
    return snap


def spec(snap):
    return snap["docker"]["info"]["Swarm"]["Cluster"]["Spec"]


# --- 5.1 and the inactive / broken states


def test_swarm_inactive_passes_5_1():
    outcome = judge(recorded_snapshot(), "swarm-not-enabled")
    assert (outcome.status, outcome.message, observed(outcome)) == (Status.PASS, "swarm mode is inactive", [(STATE, "inactive")])


def test_swarm_manager_needs_confirmation():
    outcome = judge(manager(), "swarm-not-enabled")
    assert (outcome.status, outcome.message) == (Status.MANUAL, "this node is a swarm manager (state active): confirm that it needs swarm mode")
    assert observed(outcome) == [
        (STATE, "active"), ("role", "manager"), ("docker info Swarm.NodeAddr", "127.0.0.1"),
        ("docker info Swarm.Managers", 1), ("docker info Swarm.Nodes", 1),
    ]


def test_swarm_worker_needs_confirmation():
    outcome = judge(worker(), "swarm-not-enabled")
    assert (outcome.status, outcome.message) == (Status.MANUAL, "this node is a swarm worker (state active): confirm that it needs swarm mode")
    assert observed(outcome) == [(STATE, "active"), ("role", "worker"), ("docker info Swarm.NodeAddr", "127.0.0.1")]


def test_swarm_section_missing_is_an_error():
    snap = recorded_snapshot()
    del snap["docker"]["info"]["Swarm"]
    outcome = judge(snap, "swarm-not-enabled")
    assert (outcome.status, outcome.message) == (Status.ERROR, "docker info reported no swarm state (Swarm.LocalNodeState)")


@pytest.mark.parametrize("check_id", SECTION_7)
def test_section_7_not_applicable_without_swarm(check_id):
    outcome = judge(recorded_snapshot(), check_id)
    assert (outcome.status, outcome.message, observed(outcome)) == (Status.NOT_APPLICABLE, "swarm mode is inactive on this node", [(STATE, "inactive")])


@pytest.mark.parametrize("check_id", [c for c in SECTION_7 if c != "swarm-autolock"])
def test_section_7_errors_on_a_node_in_error(check_id):
    snap = manager()
    snap["docker"]["info"]["Swarm"].update(LocalNodeState="error", Error="rpc error: code = Unavailable")
    outcome = judge(snap, check_id)
    assert (outcome.status, outcome.message) == (
        Status.ERROR,
        "the node's swarm state is error (rpc error: code = Unavailable): unlock (docker swarm unlock) or repair it, then scan again",
    )


@pytest.mark.parametrize("check_id", MANAGER_ONLY)
def test_cluster_settings_not_applicable_on_a_worker(check_id):
    outcome = judge(worker(), check_id)
    assert (outcome.status, outcome.message) == (
        Status.NOT_APPLICABLE,
        "this node is a swarm worker: the cluster's settings are visible only on managers, so scan a manager",
    )
    assert observed(outcome) == [("docker info Swarm.RemoteManagers", ["10.0.0.1:2377"])]


@pytest.mark.parametrize("check_id", ["swarm-not-enabled", *SECTION_7])
def test_without_docker_not_applicable(check_id):
    outcome = judge(docker_not_installed(recorded_snapshot()), check_id)
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "Docker is not installed on this host")


# --- 7.1 managers


def test_one_manager_passes():
    outcome = judge(manager(), "swarm-manager-count")
    assert (outcome.status, outcome.message) == (Status.PASS, "1 manager: an odd number, at most 7")
    assert observed(outcome) == [("docker info Swarm.Managers", 1), ("docker info Swarm.Nodes", 1), ("vm", "Leader, Ready, Active")]


@pytest.mark.parametrize("count, message", [
    (2, "2 managers: an even number tolerates no more failures than 1"),
    (9, "9 managers: more than 7 slow the raft consensus and spread the cluster's keys"),
])
def test_even_or_too_many_managers_fail(count, message):
    snap = manager()
    snap["docker"]["info"]["Swarm"]["Managers"] = count
    snap["docker"]["nodes"].append({"Availability": "Active", "Hostname": "vm2", "ID": "n2", "ManagerStatus": "Unreachable", "Status": "Down"})
    snap["docker"]["nodes"].append({"Availability": "Active", "Hostname": "w1", "ID": "n3", "ManagerStatus": "", "Status": "Ready"})
    outcome = judge(snap, "swarm-manager-count")
    assert (outcome.status, outcome.message) == (Status.FAIL, message)
    assert observed(outcome)[2:] == [("vm", "Leader, Ready, Active"), ("vm2", "Unreachable, Down, Active")]


def test_manager_count_without_node_list_says_so():
    snap = manager()
    del snap["docker"]["nodes"]
    assert observed(judge(snap, "swarm-manager-count"))[2] == ("docker node ls", "not collected")


# --- 7.2 listening addresses


def test_swarm_ports_on_loopback_pass():
    outcome = judge(manager(), "swarm-bound-to-interface")
    assert (outcome.status, outcome.message) == (Status.PASS, "swarm ports listen on specific addresses only")
    assert observed(outcome) == [("127.0.0.1:2377", "listening"), ("127.0.0.1:7946", "listening"), (STATE_FILE, "ListenAddr=127.0.0.1:2377")]


def test_swarm_ports_on_all_addresses_fail():
    snap = manager(ListenAddr="0.0.0.0:2377")
    snap["listening"] = [{"address": "::", "port": 2377}, {"address": "::", "port": 7946}]
    outcome = judge(snap, "swarm-bound-to-interface")
    assert (outcome.status, outcome.message) == (Status.FAIL, "swarm ports listen on all addresses: [::]:2377, [::]:7946, ListenAddr 0.0.0.0:2377")
    assert observed(outcome) == [("[::]:2377", "listening"), ("[::]:7946", "listening"), (STATE_FILE, "ListenAddr=0.0.0.0:2377")]


def test_a_custom_listen_port_is_judged_from_the_state_file():
    snap = manager(ListenAddr="0.0.0.0:4000")
    snap["listening"] = [{"address": "0.0.0.0", "port": 4000}]
    outcome = judge(snap, "swarm-bound-to-interface")
    assert (outcome.status, outcome.message) == (Status.FAIL, "swarm ports listen on all addresses: 0.0.0.0:4000, ListenAddr 0.0.0.0:4000")


def test_listeners_alone_decide_when_the_state_file_is_unreadable():
    snap = manager()
    snap["files"][STATE_FILE] = unreadable(STATE_FILE)
    snap["listening"][1]["address"] = "0.0.0.0"
    outcome = judge(snap, "swarm-bound-to-interface")
    assert (outcome.status, outcome.message) == (Status.FAIL, "swarm ports listen on all addresses: 0.0.0.0:2377")
    assert observed(outcome)[-1] == (STATE_FILE, f"{STATE_FILE} unreadable (stat: cannot statx '{STATE_FILE}': Permission denied): re-run with --sudo or as root")


def test_nothing_to_judge_the_listen_address_by_is_an_error():
    snap = manager()
    snap["files"][STATE_FILE] = unreadable(STATE_FILE)
    snap["listening"] = None
    outcome = judge(snap, "swarm-bound-to-interface")
    assert outcome.status is Status.ERROR
    assert outcome.message.startswith("neither /proc/net/tcp nor the swarm state file could be read")


# --- 7.3 overlay encryption


def test_unencrypted_overlays_fail_including_ingress():
    outcome = judge(manager(), "swarm-overlay-encrypted")
    assert (outcome.status, outcome.message) == (Status.FAIL, "2 of 3 overlay networks are not encrypted")
    assert observed(outcome) == [("ingress", "not encrypted (the routing mesh's ingress network)"), ("plain-ov", "not encrypted")]


def test_encrypted_overlays_pass():
    snap = manager()
    for network in snap["docker"]["networks"]:
        if network["Driver"] == "overlay":
            network["Options"]["encrypted"] = ""
    outcome = judge(snap, "swarm-overlay-encrypted")
    assert (outcome.status, outcome.message) == (Status.PASS, "all 3 overlay networks are encrypted")
    assert observed(outcome) == [("enc-ov", "encrypted"), ("ingress", "encrypted (the routing mesh's ingress network)"), ("plain-ov", "encrypted")]


def test_a_worker_judges_the_overlays_it_sees():
    outcome = judge(worker(), "swarm-overlay-encrypted")
    assert (outcome.status, outcome.message) == (
        Status.FAIL, "2 of 2 overlay networks are not encrypted (a worker sees only the overlay networks its tasks use)"
    )


def test_no_overlay_networks_pass():
    snap = manager()
    snap["docker"]["networks"] = [n for n in snap["docker"]["networks"] if n["Driver"] != "overlay"]
    outcome = judge(snap, "swarm-overlay-encrypted")
    assert (outcome.status, outcome.message, observed(outcome)) == (Status.PASS, "no overlay networks", [("docker network inspect", "no overlay network")])


# --- 7.4 secrets


def test_secrets_review_without_tasks():
    outcome = judge(manager(), "swarm-secrets-managed")
    assert (outcome.status, outcome.message) == (
        Status.MANUAL,
        "0 swarm service tasks run on this node: confirm with docker secret ls and docker service inspect that credentials come from docker secret",
    )
    assert observed(outcome) == [("role", "manager"), ("swarm service tasks on this node", 0)]


def test_secrets_review_names_tasks_with_secret_looking_env():
    snap = manager()
    for name, env in (("risky", ["PATH", "DB_PASSWORD"]), ("web", ["PATH"])):
        container(snap, name)["Config"]["Labels"] = {"com.docker.swarm.service.name": "app"}
        container(snap, name)["Config"]["Env"] = env
    outcome = judge(snap, "swarm-secrets-managed")
    assert outcome.message.startswith("2 swarm service tasks run on this node; 1 of them have secret-looking environment variables: ")
    assert observed(outcome) == [("role", "manager"), ("swarm service tasks on this node", 2), ("risky", ["DB_PASSWORD"])]


# --- 7.5 / 7.6 auto-lock


def test_autolock_off_fails_and_on_passes():
    snap = manager()
    outcome = judge(snap, "swarm-autolock")
    key = "docker info Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers"
    assert (outcome.status, outcome.message, observed(outcome)) == (Status.FAIL, "auto-lock is off", [(key, False)])
    spec(snap)["EncryptionConfig"]["AutoLockManagers"] = True
    outcome = judge(snap, "swarm-autolock")
    assert (outcome.status, outcome.message, observed(outcome)) == (Status.PASS, "auto-lock is on", [(key, True)])


def test_a_locked_manager_has_autolock_on():
    snap = manager()
    snap["docker"]["info"]["Swarm"] = {"NodeID": "", "NodeAddr": "", "LocalNodeState": "locked", "ControlAvailable": False, "Error": "", "RemoteManagers": None}
    outcome = judge(snap, "swarm-autolock")
    assert (outcome.status, outcome.message, observed(outcome)) == (Status.PASS, "the manager is locked: auto-lock is on", [(STATE, "locked")])


def test_key_rotation_needs_autolock_then_review():
    snap = manager()
    outcome = judge(snap, "swarm-autolock-rotation")
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "auto-lock is off, so there is no unlock key to rotate (see swarm-autolock)")
    spec(snap)["EncryptionConfig"]["AutoLockManagers"] = True
    outcome = judge(snap, "swarm-autolock-rotation")
    assert (outcome.status, outcome.message) == (
        Status.MANUAL,
        "Docker does not report when the unlock key was last rotated: confirm docker swarm unlock-key --rotate runs on a schedule",
    )
    assert observed(outcome) == [
        ("AutoLockManagers", True),
        ("docker info Swarm.Cluster.UpdatedAt (last cluster change, a rotation is one)", "2026-11-23T14:38:31.718703295Z"),
    ]


# --- 7.7 / 7.8 certificates


def test_node_certificate_expiry_is_shown_for_review():
    outcome = judge(manager(), "swarm-node-cert-rotation")
    assert (outcome.status, outcome.message) == (Status.MANUAL, "node certificates expire and are renewed every 90 days: confirm this matches your certificate policy")
    assert observed(outcome) == [("docker info Swarm.Cluster.Spec.CAConfig.NodeCertExpiry", 7776000000000000)]


def test_node_certificate_expiry_with_an_external_ca():
    snap = manager()
    spec(snap)["CAConfig"] = {"NodeCertExpiry": 2 * 86400 * 10**9, "ExternalCAs": [{"Protocol": "cfssl", "URL": "https://ca.example.com"}]}
    outcome = judge(snap, "swarm-node-cert-rotation")
    assert outcome.message.startswith("node certificates expire and are renewed every 2 days")
    assert observed(outcome)[1] == ("external CAs", ["https://ca.example.com"])


def test_root_ca_age_is_shown_for_review():
    outcome = judge(manager(), "swarm-ca-rotation")
    assert (outcome.status, outcome.message) == (
        Status.MANUAL, "the swarm root CA was issued on 2026-11-23 (0 days before the scan): confirm this meets your rotation policy"
    )
    assert observed(outcome) == [("docker info Swarm.Cluster.RootRotationInProgress", False), ("root CA certificate", "valid 2026-11-23 to 2046-11-18")]


def test_root_ca_not_readable_still_asks_for_review():
    snap = manager()
    snap["docker"]["info"]["Swarm"]["Cluster"]["TLSInfo"]["TrustRoot"] = "not a certificate"
    outcome = judge(snap, "swarm-ca-rotation")
    assert (outcome.status, outcome.message) == (Status.MANUAL, "the root CA certificate could not be read: check when it was last rotated (docker swarm ca)")


# --- 7.9 management and data planes


def test_no_data_path_address_fails():
    outcome = judge(manager(), "swarm-plane-separation")
    assert (outcome.status, outcome.message) == (Status.FAIL, "no data-path address is set: data traffic shares the management address 127.0.0.1")
    assert observed(outcome) == [("docker info Swarm.NodeAddr", "127.0.0.1"), (STATE_FILE, "AdvertiseAddr=127.0.0.1:2377 DataPathAddr=(unset)")]


def test_data_path_on_the_management_address_fails():
    outcome = judge(manager(DataPathAddr="127.0.0.1"), "swarm-plane-separation")
    assert (outcome.status, outcome.message) == (Status.FAIL, "the data-path address is the management address 127.0.0.1")


def test_separate_data_path_address_passes():
    outcome = judge(manager(DataPathAddr="127.0.0.2"), "swarm-plane-separation")
    assert (outcome.status, outcome.message) == (Status.PASS, "data traffic uses 127.0.0.2, management traffic 127.0.0.1")
    assert observed(outcome)[1] == (STATE_FILE, "AdvertiseAddr=127.0.0.1:2377 DataPathAddr=127.0.0.2")


def test_unreadable_state_file_leaves_plane_separation_to_a_reviewer():
    snap = manager()
    snap["files"][STATE_FILE] = unreadable(STATE_FILE)
    outcome = judge(snap, "swarm-plane-separation")
    assert outcome.status is Status.MANUAL
    assert outcome.message.startswith("the data-path address is recorded only in the daemon's swarm state file, which was not read")
    assert observed(outcome)[1][1].endswith("Permission denied): re-run with --sudo or as root")
