"""Image checks (CIS 4.2-4.4, 4.6-4.12, 5.28) on the recorded host's images, edited per case.

The recorded host holds one image, dockbench-test/busybox:1 (made with `docker import`, so
no registry digest and no build steps), run by "risky" and "web" and used by the created
"published" and "dormant". Other images are added as `docker image inspect` would print
them, through the probe record, so that parsing (and dropping secrets) is part of each case.
The classic-builder records below are what Docker 20.10 wrote for this Dockerfile:

    FROM dockbench-test/busybox:1
    ADD f.txt /f.txt
    ARG GITHUB_TOKEN
    RUN apt-get update          (with --build-arg GITHUB_TOKEN=ghp-secret-value)
    ENV API_TOKEN=env-secret-value
    COPY f.txt /g.txt
    LABEL secret=label-secret-value
"""

from __future__ import annotations

import copy
import json

import pytest

from dockbench import checks
from dockbench.benchmark.collect.probe import Record
from dockbench.benchmark.document.model import Status
from dockbench.benchmark.judge.facts import Facts, Selection
from dockbench.benchmark.judge.policy import Policy
from dockbench.benchmark.judge.runner import run_check
from dockbench.checks.images import allowed_by, parse_reference
from tests.recorded import (
    build,
    container,
    docker_not_installed,
    inspected,
    judge,
    observed,
    recorded_records,
    recorded_snapshot,
    set_inspected,
    stat_record,
)

BASE_ID = "sha256:91e3138368bb14227b42fa0766b7859d793a292b08809a8920683e3fb492e42b"
BASE = "dockbench-test/busybox:1"
SCAN_TIME = "2026-11-23T14:22:53Z"
BASE_LINE = "sha256:91e3138368bb, created 2026-11-23T14:12:33Z (0 days before the scan), no registry digest"
SECRETS = ("ghp-secret-value", "env-secret-value", "label-secret-value")
INVENTORY_CHECKS = {
    "image-minimal-packages": "list each image's packages (e.g. with an SBOM tool) and remove what the workload does not need",
    "image-patched": "scan them with a vulnerability scanner; old creation dates point to images that were not rebuilt",
    "image-setuid-removed": "list setuid/setgid files in each (find / -xdev -perm /6000 -type f, e.g. in a throwaway container) and remove those not needed",
    "image-verified-packages": "check in their Dockerfiles that packages come from signed repositories and downloads are checksummed",
    "image-signed-artifacts": "confirm their signatures are verified when they are pulled and deployed; images with no registry digest were built or loaded locally",
}
IMAGE_CHECKS = [*INVENTORY_CHECKS, "image-trusted-base", "image-healthcheck", "image-no-update-alone", "image-copy-not-add", "image-no-secrets", "image-latest-version"]


def image_like_base(records, image_id, **changes):
    """A copy of the recorded image's inspect document with another id and some fields changed."""
    image = copy.deepcopy(inspected(records)["images"][0])
    image["ContainerConfig"] = dict(image["ContainerConfig"], Cmd=changes.pop("Cmd", None))
    image.update({"Id": image_id, "RepoTags": [], "RepoDigests": [], **changes})
    return image


def with_images(*make, snapshot_edit=None):
    """The recorded snapshot with more images, built from the probe's `docker inspect` record."""
    records = recorded_records()
    set_inspected(records, "images", inspected(records)["images"] + [m(records) for m in make])
    snap = scanned(build(records))
    if snapshot_edit:
        snapshot_edit(snap)
    return snap


def scanned(snap):
    """Ages are counted back from the scan: pin its time to the recording's."""
    snap["collected_at"] = SCAN_TIME
    return snap


def hexid(n: int) -> str:
    return "sha256:" + f"{n:x}" * 64


def step(image_id, parent, cmd, **changes):
    return lambda records: image_like_base(records, image_id, Parent=parent, Cmd=cmd, **changes)


# The classic build of "hist:1": one intermediate image per step, the last one tagged.
CLASSIC_BUILD = [
    step(hexid(1), BASE_ID, ["/bin/sh", "-c", "#(nop) ADD file:63e4fd53e0703f1e446126de2246bde90b0a09aeab29d54844d39e4eb74bc3c3 in /f.txt "]),
    step(hexid(2), hexid(1), ["/bin/sh", "-c", "#(nop) ", "ARG GITHUB_TOKEN"]),
    step(hexid(3), hexid(2), ["|1", "GITHUB_TOKEN=ghp-secret-value", "/bin/sh", "-c", "apt-get update"]),
    step(hexid(4), hexid(3), ["/bin/sh", "-c", "#(nop) ", "ENV API_TOKEN=env-secret-value"], Config={"Env": ["PATH=/bin", "API_TOKEN=env-secret-value"], "Cmd": ["/bin/sh"]}),
    step(hexid(5), hexid(4), ["/bin/sh", "-c", "#(nop) COPY file:63e4fd53e0703f1e446126de2246bde90b0a09aeab29d54844d39e4eb74bc3c3 in /g.txt "],
         Config={"Env": ["PATH=/bin", "API_TOKEN=env-secret-value"], "Cmd": ["/bin/sh"]}),
    step(hexid(6), hexid(5), ["/bin/sh", "-c", "#(nop) ", "LABEL secret=label-secret-value"], RepoTags=["hist:1"], Created="2026-11-20T09:00:00Z",
         Config={"Env": ["PATH=/bin", "API_TOKEN=env-secret-value"], "Cmd": ["/bin/sh"], "Labels": {"secret": "label-secret-value"}}),
]
PULLED = step(hexid(7), "", None, RepoTags=["busybox:latest"], RepoDigests=["busybox@sha256:" + "a" * 64], Created="2026-01-02T03:04:05Z")
HIST_LINE = "sha256:666666666666, created 2026-11-20T09:00:00Z (3 days before the scan), no registry digest, not used by any container"


def judge_with(snap, check_id, policy=None, selection=None):
    return run_check(checks.load().get(check_id), Facts(snap, selection, policy or Policy()))


# --- references


@pytest.mark.parametrize("ref, repository, tag", [
    ("busybox", "docker.io/library/busybox", None),
    ("busybox:1.36", "docker.io/library/busybox", "1.36"),
    ("dockbench-test/busybox:1", "docker.io/dockbench-test/busybox", "1"),
    ("index.docker.io/library/debian:12", "docker.io/library/debian", "12"),
    ("localhost:5000/app:2", "localhost:5000/app", "2"),
    ("ghcr.io/acme/tool@sha256:" + "b" * 64, "ghcr.io/acme/tool", None),
    ("registry.example.com:443/team/app:1.2", "registry.example.com:443/team/app", "1.2"),
])
def test_references_resolve_as_docker_does(ref, repository, tag):
    reference = parse_reference(ref)
    assert (reference.repository, reference.tag) == (repository, tag)


def test_allowed_entries_name_a_registry_or_a_namespace_in_it():
    assert allowed_by(parse_reference("busybox"), ("docker.io",))
    assert allowed_by(parse_reference("busybox"), ("index.docker.io/library",))
    assert not allowed_by(parse_reference("someone/busybox"), ("docker.io/library",))
    assert not allowed_by(parse_reference("ghcr.io/acmeevil/x"), ("ghcr.io/acme",))


# --- the review lists


@pytest.mark.parametrize("check_id, task", INVENTORY_CHECKS.items())
def test_review_checks_list_the_recorded_image(check_id, task):
    outcome = judge(scanned(recorded_snapshot()), check_id)
    assert (outcome.status, outcome.message) == (Status.MANUAL, f"1 local image (1 used by containers): {task}")
    assert observed(outcome) == [(BASE, f"{BASE_LINE}, used by dormant, published, risky, web")]


@pytest.mark.parametrize("check_id", INVENTORY_CHECKS)
def test_review_checks_list_unused_and_pulled_images_and_skip_build_layers(check_id):
    outcome = judge(with_images(*CLASSIC_BUILD, PULLED), check_id)
    assert outcome.message.startswith("3 local images (1 used by containers): ")
    assert observed(outcome) == [
        ("busybox:latest", "sha256:777777777777, created 2026-01-02T03:04:05Z (325 days before the scan), not used by any container"),
        (BASE, f"{BASE_LINE}, used by dormant, published, risky, web"),
        ("hist:1", HIST_LINE),
    ]


@pytest.mark.parametrize("check_id", IMAGE_CHECKS)
def test_no_images_is_not_applicable(check_id):
    snap = recorded_snapshot()
    snap["docker"]["images"] = []
    snap["docker"]["containers"] = []
    outcome = judge(snap, check_id)
    assert outcome.status is Status.NOT_APPLICABLE
    assert outcome.message in ("no local images", "no containers matched the selection (0 containers in total)")


@pytest.mark.parametrize("check_id", IMAGE_CHECKS)
def test_without_docker_not_applicable(check_id):
    outcome = judge(docker_not_installed(recorded_snapshot()), check_id)
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "Docker is not installed on this host")


# --- 4.2 trusted registries


def test_trusted_base_without_policy_lists_images_by_registry():
    outcome = judge(with_images(PULLED, step(hexid(8), "", None, RepoTags=["ghcr.io/acme/tool:2"])), "image-trusted-base")
    assert (outcome.status, outcome.message) == (Status.MANUAL, "set allowed_registries in the --config policy to judge 3 local images from 2 sources")
    assert observed(outcome) == [("docker.io", ["busybox:latest", BASE]), ("ghcr.io", ["ghcr.io/acme/tool:2"])]


def test_trusted_base_passes_when_every_reference_is_allowed():
    outcome = judge_with(with_images(PULLED), "image-trusted-base", Policy(allowed_registries=("docker.io",)))
    assert (outcome.status, outcome.message) == (Status.PASS, "2 local images checked: all come from allowed registries")
    assert observed(outcome) == [("allowed_registries", ["docker.io"])]


def test_trusted_base_fails_naming_each_image_and_its_outside_repositories():
    snap = with_images(PULLED, step(hexid(8), "", None, RepoTags=["registry.example.com/base:1", "ghcr.io/acme/tool:2"]))
    outcome = judge_with(snap, "image-trusted-base", Policy(allowed_registries=("registry.example.com", "docker.io/dockbench-test")))
    assert (outcome.status, outcome.message) == (Status.FAIL, "2 of 3 local images come from registries outside allowed_registries")
    assert observed(outcome) == [
        ("busybox:latest", ["docker.io/library/busybox"]),
        ("registry.example.com/base:1, ghcr.io/acme/tool:2", ["ghcr.io/acme/tool"]),
    ]


def test_trusted_base_judges_registry_digests_too():
    retagged = step(hexid(7), "", None, RepoTags=["registry.example.com/busybox:1"], RepoDigests=["busybox@sha256:" + "a" * 64])
    outcome = judge_with(with_images(retagged), "image-trusted-base", Policy(allowed_registries=("registry.example.com", "docker.io/dockbench-test")))
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("registry.example.com/busybox:1", ["docker.io/library/busybox"])])


# --- 4.6 HEALTHCHECK


def _healthcheck(test):
    def edit(snap):
        for image in snap["docker"]["images"]:
            if image["Id"] == BASE_ID:
                image["Config"]["Healthcheck"] = {"Test": test, "Interval": 30000000000}
    return edit


def test_healthcheck_recorded_image_has_none():
    outcome = judge(recorded_snapshot(), "image-healthcheck")
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 1 images run by the selected containers have no health check")
    assert observed(outcome) == [(BASE, "no HEALTHCHECK; used by risky, web")]


def test_healthcheck_defined_passes_and_unused_images_are_only_counted():
    snap = with_images(*CLASSIC_BUILD, PULLED, snapshot_edit=_healthcheck(["CMD-SHELL", "wget -q -O- localhost:8080/health"]))
    outcome = judge(snap, "image-healthcheck")
    assert (outcome.status, outcome.message) == (Status.PASS, "all 1 images run by the selected containers define a HEALTHCHECK")
    assert observed(outcome) == [
        (BASE, "HEALTHCHECK CMD-SHELL wget -q -O- localhost:8080/health"),
        ("other local images", "2 not used by the selected containers, not judged"),
    ]


def test_healthcheck_none_is_not_a_health_check():
    outcome = judge(with_images(snapshot_edit=_healthcheck(["NONE"])), "image-healthcheck", Selection(include_stopped=True))
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [(BASE, "HEALTHCHECK NONE; used by dormant, published, risky, web")])


def test_healthcheck_judges_the_image_of_each_selected_container():
    snap = with_images(*CLASSIC_BUILD, snapshot_edit=_healthcheck(["CMD", "true"]))
    container(snap, "web")["Image"] = hexid(6)
    outcome = judge(snap, "image-healthcheck")
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 2 images run by the selected containers have no health check")
    assert observed(outcome) == [("hist:1", "no HEALTHCHECK; used by web")]


def test_healthcheck_without_selected_containers_is_not_applicable():
    outcome = judge(recorded_snapshot(), "image-healthcheck", Selection(name_patterns=("db-*",)))
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "no containers matched the selection (4 containers in total)")


# --- 4.7 / 4.9 build steps, 4.10 secrets

# The recorded snapshot predates reading image configs: 4.7 and 4.9 fall back to review, and say why.
NOT_READ = "the probe did not read image configs (an older snapshot)"
WHY = f" (build history not read: {NOT_READ})"


def test_build_steps_lead_to_update_alone_and_add():
    snap = with_images(*CLASSIC_BUILD, PULLED)
    update = judge(snap, "image-no-update-alone")
    assert (update.status, update.message) == (
        Status.MANUAL,
        "1 of 1 image with recorded build steps update a package index without installing in the same step; 2 record none: "
        + "review their Dockerfiles, or docker history --no-trunc IMAGE" + WHY,
    )
    assert observed(update) == [("hist:1", ["RUN apt-get update"]), ("no build steps recorded", ["busybox:latest", BASE]), ("build history", NOT_READ)]
    add = judge(snap, "image-copy-not-add")
    assert add.message.startswith("1 of 1 image with recorded build steps were built with ADD; 2 record none")
    assert observed(add)[0] == ("hist:1", ["ADD file:63e4fd53e0703f1e446126de2246bde90b0a09aeab29d54844d39e4eb74bc3c3 in /f.txt"])


def test_update_with_install_in_the_same_step_is_no_lead():
    together = [*CLASSIC_BUILD[:2], step(hexid(3), hexid(2), ["/bin/sh", "-c", "apt-get update && apt-get install -y curl"]), *CLASSIC_BUILD[3:]]
    outcome = judge(with_images(*together), "image-no-update-alone")
    assert outcome.message.startswith("0 of 1 image with recorded build steps update a package index")
    assert observed(outcome) == [("no build steps recorded", [BASE]), ("build history", NOT_READ)]


@pytest.mark.parametrize("check_id", ["image-no-update-alone", "image-copy-not-add"])
def test_build_steps_not_recorded_anywhere(check_id):
    outcome = judge(recorded_snapshot(), check_id)
    assert (outcome.status, outcome.message) == (
        Status.MANUAL,
        "none of 1 local image records its build steps (pulled, imported or built with BuildKit): review their Dockerfiles, or docker history --no-trunc IMAGE" + WHY,
    )
    assert observed(outcome) == [("no build steps recorded", [BASE]), ("build history", NOT_READ)]


# The image configs in the daemon's image store, as `grep -r ''` of imagedb/content/sha256 prints
# them. The base (`docker import`) records no step; "web" was built by BuildKit from an image
# whose first step unpacked its root filesystem with ADD.
STORE = "/tmp/dbt/data/image"
CONFIGS = f"{STORE}/overlay2/imagedb/content/sha256"
BUILDKIT_WEB = [
    {"created_by": "ADD alpine-minirootfs-3.20.3-x86_64.tar.gz / # buildkit"},
    {"created_by": "CMD [\"/bin/sh\"]", "empty_layer": True},
    {"created_by": "ENV API_TOKEN=env-secret-value", "empty_layer": True},
    {"created_by": "RUN |1 GITHUB_TOKEN=ghp-secret-value /bin/sh -c apk update # buildkit"},
    {"created_by": "ADD https://example.com/app.tar.gz /srv/ # buildkit"},
]


def config_line(image_id, history, pretty=False):
    config = {"architecture": "amd64", "config": {"Env": ["API_TOKEN=env-secret-value"]}, "history": history}
    text = json.dumps(config, indent=1 if pretty else None)
    return "".join(f"{CONFIGS}/{image_id.removeprefix('sha256:')}:{line}\n" for line in text.split("\n"))


def with_history(*images, store_error=None, configs=True):
    """The recorded host with more images and the image-configs records of the probe."""
    records = recorded_records()
    set_inspected(records, "images", inspected(records)["images"] + [image_like_base(records, image_id, RepoTags=tags) for image_id, _history, tags in images])
    if store_error:
        records[f"stat:{STORE}"] = Record(rc=1, err=store_error.encode())
        return scanned(build(records))
    records[f"stat:{STORE}"], records["image-store"] = stat_record("directory", 0o700, 0, 0, 4096), Record(STORE.encode(), 0)
    if configs:
        lines = config_line(BASE_ID, [{"created_by": "", "comment": "Imported from -"}]) + "".join(config_line(i, h, pretty=True) for i, h, _ in images)
        records[f"image-configs:{CONFIGS}"] = Record(lines.encode(), 0)
    return scanned(build(records))


def test_build_history_from_image_configs_decides_4_7_and_4_9():
    snap = with_history((hexid(8), BUILDKIT_WEB, ["web:2"]))
    assert not any(secret in json.dumps(snap) for secret in SECRETS)
    assert snap["docker"]["image_history"]["images"][hexid(8)][2:4] == ["ENV API_TOKEN=<redacted>", "RUN apk update"]
    update = judge(snap, "image-no-update-alone")
    assert (update.status, update.message) == (Status.FAIL, "1 of 2 local images update a package index without installing in the same step")
    assert observed(update) == [("web:2", ["RUN apk update"]), ("build history", f"2 images read from the image configs in {STORE}")]
    add = judge(snap, "image-copy-not-add")  # the root filesystem's ADD is by design; the URL one is not
    assert (add.status, add.message) == (Status.FAIL, "1 of 2 local images were built with ADD")
    assert observed(add)[0] == ("web:2", ["ADD https://example.com/app.tar.gz /srv/"])


def test_build_history_without_lone_updates_or_add_passes():
    clean = [BUILDKIT_WEB[0], {"created_by": "RUN /bin/sh -c apk update && apk add curl # buildkit"}, {"created_by": "COPY app /srv/ # buildkit"}]
    snap = with_history((hexid(8), clean, ["web:3"]))
    for check_id, what in (("image-no-update-alone", "update a package index without installing in the same step"), ("image-copy-not-add", "were built with ADD")):
        outcome = judge(snap, check_id)
        assert (outcome.status, outcome.message) == (Status.PASS, f"none of 2 local images {what}")
        assert observed(outcome) == [("build history", f"2 images read from the image configs in {STORE}")]


def test_an_image_whose_config_is_missing_leaves_it_to_a_person():
    snap = with_history((hexid(8), BUILDKIT_WEB[:2], ["web:4"]))
    del snap["docker"]["image_history"]["images"][hexid(8)]
    outcome = judge(snap, "image-copy-not-add")
    assert outcome.status is Status.MANUAL
    assert outcome.message.startswith(f"none of 1 image with a build history were built with ADD; 1 have no config in {STORE}")
    assert observed(outcome)[1] == ("no config found", ["web:4"])


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"store_error": f"stat: cannot statx '{STORE}': Permission denied"}, f"{STORE} is readable by root only (stat: cannot statx '{STORE}': Permission denied): re-run with --sudo"),
    ({"configs": False}, f"{STORE} has no imagedb: the daemon keeps images in containerd's image store"),
])
def test_build_history_that_cannot_be_read_says_why(kwargs, reason):
    outcome = judge(with_history((hexid(8), BUILDKIT_WEB, ["web:5"]), **kwargs), "image-no-update-alone")
    assert outcome.status is Status.MANUAL
    assert outcome.message.endswith(f" (build history not read: {reason})")
    assert observed(outcome)[-1] == ("build history", reason)


def test_secret_names_are_leads_and_their_values_never_reach_the_snapshot():
    snap = with_images(*CLASSIC_BUILD, PULLED)
    assert not any(secret in json.dumps(snap) for secret in SECRETS)
    outcome = judge(snap, "image-no-secrets")
    assert (outcome.status, outcome.message) == (Status.MANUAL, "1 of 3 local images carry secret-looking names: check whether values are baked in")
    assert observed(outcome) == [("hist:1", ["ENV API_TOKEN", "LABEL secret", "build argument GITHUB_TOKEN"])]


def test_no_secret_names_still_needs_a_layer_scan():
    outcome = judge(recorded_snapshot(), "image-no-secrets")
    assert (outcome.status, outcome.message) == (
        Status.MANUAL,
        "no secret-looking ENV, LABEL or build argument names in 1 local image; layer contents were not scanned: use a secret scanner",
    )
    assert observed(outcome) == [("images checked", [BASE])]


# --- 5.28 the image version containers run


def test_latest_version_mutable_tags_need_review():
    snap = recorded_snapshot()
    container(snap, "web")["Config"]["Image"] = "dockbench-test/busybox"
    outcome = judge(snap, "image-latest-version")
    assert (outcome.status, outcome.message) == (Status.MANUAL, "2 of 2 containers name their image by a mutable tag: confirm it is pulled before each deploy")
    assert observed(outcome) == [
        ("risky", f"{BASE} (a mutable tag)"),
        ("web", "dockbench-test/busybox (the latest tag, no longer tagged locally)"),
    ]


def test_latest_version_fails_when_the_tag_now_names_a_newer_image():
    def retag(snap):
        base = next(i for i in snap["docker"]["images"] if i["Id"] == BASE_ID)
        base["RepoTags"] = []

    snap = with_images(step(hexid(9), "", None, RepoTags=[BASE]), snapshot_edit=retag)
    outcome = judge(snap, "image-latest-version")
    assert (outcome.status, outcome.message) == (Status.FAIL, "2 of 2 containers run an older image than their tag now names")
    assert observed(outcome) == [
        ("risky", f"{BASE} now names sha256:999999999999, the container runs sha256:91e3138368bb"),
        ("web", f"{BASE} now names sha256:999999999999, the container runs sha256:91e3138368bb"),
    ]


def test_latest_version_pinned_by_digest_or_id_passes():
    snap = recorded_snapshot()
    container(snap, "risky")["Config"]["Image"] = "registry.example.com/busybox@sha256:" + "c" * 64
    container(snap, "web")["Config"]["Image"] = BASE_ID
    outcome = judge(snap, "image-latest-version")
    assert (outcome.status, outcome.message) == (Status.PASS, "all 2 containers pin their image by digest or id")
    assert observed(outcome) == [("risky", "registry.example.com/busybox@sha256:" + "c" * 64), ("web", BASE_ID)]
