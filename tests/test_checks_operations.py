"""Operations checks (CIS 1.2.2, 6.1, 6.2) on the recorded host: a Debian-packaged Docker
20.10.24+dfsg1 with one image, dockbench-test/busybox:1, used by all four containers ("web" and
"risky" running, "published" and "dormant" created). "Now" is the snapshot's collected_at,
set per case, never the clock of the test run."""

from __future__ import annotations

import datetime

import pytest

from dockbench.benchmark.document.model import Status
from dockbench.benchmark.judge.facts import Selection
from dockbench.checks.common import load_data
from dockbench.checks.operations import release_line
from tests.recorded import container, judge, observed, recorded_snapshot

SCANNED = "2026-11-23T14:32:30Z"
IMAGE_ID = "sha256:91e3138368bb14227b42fa0766b7859d793a292b08809a8920683e3fb492e42b"
LINES = load_data("docker-engine-lifecycle.yaml")["lines"]


def engine(version, scanned=SCANNED):
    snap = recorded_snapshot()
    snap["collected_at"] = scanned
    snap["docker"]["info"]["ServerVersion"] = version
    return snap


def image(image_id, tags=(), parent=""):
    """An image as `docker image inspect` lists it (only the fields the checks read)."""
    return {"Id": image_id, "RepoTags": list(tags), "RepoDigests": [], "Parent": parent}


# --- the release-line table


def test_lifecycle_table_has_the_lines_the_issue_names_in_release_order():
    names = [str(line["line"]) for line in LINES]
    assert {"20.10", "23.0", "24.0", "25.0", "26.0", "26.1", "27", "28"} <= set(names)
    released = [line["released"] for line in LINES]
    assert released == sorted(released)
    for line in LINES:
        assert isinstance(line["released"], datetime.date)
        assert line["end_of_life"] is None or line["released"] < line["end_of_life"]


def test_lifecycle_table_facts_as_verified():
    by_name = {str(line["line"]): line for line in LINES}
    assert by_name["20.10"]["end_of_life"] == datetime.date(2023, 12, 10)
    assert by_name["23.0"]["end_of_life"] == datetime.date(2025, 5, 19)
    assert by_name["27"]["end_of_life"] == datetime.date(2025, 5, 3)
    assert by_name["28"]["end_of_life"] is None


@pytest.mark.parametrize(
    "version, line",
    [
        ("20.10.24+dfsg1", "20.10"),
        ("20.10.21-0ubuntu1~22.04.3", "20.10"),
        ("26.1.4", "26.1"),
        ("26.0.2", "26.0"),
        ("27.5.1", "27"),
        ("28.2.2", "28"),
        ("v25.0.5", "25.0"),
        ("17.03.2-ce", "older"),
        ("30.0.1", "newer"),
        ("dev", None),
    ],
)
def test_release_line_of_a_version(version, line):
    found = release_line(version, LINES)
    assert (found["line"] if isinstance(found, dict) else found) == line


# --- operations-docker-up-to-date (CIS 1.2.2)


def test_up_to_date_recorded_debian_20_10_is_past_end_of_life():
    snap = recorded_snapshot()
    snap["collected_at"] = SCANNED
    outcome = judge(snap, "operations-docker-up-to-date")
    assert outcome.status is Status.FAIL
    assert outcome.message == "Docker Engine 20.10.24+dfsg1 is on the 20.10 line, which reached end of life on 2023-12-10"
    assert observed(outcome) == [
        ("docker info ServerVersion", "20.10.24+dfsg1"),
        ("release line 20.10", "released 2020-12-09, end of life 2023-12-10"),
        ("judged on", SCANNED[:10]),
        ("build", "+dfsg1: a distribution package, whose packager may backport some fixes to it; upstream no longer does once the line ends"),
    ]


def test_up_to_date_same_engine_before_its_end_of_life_needs_a_person():
    outcome = judge(engine("20.10.24+dfsg1", "2023-06-01T08:00:00Z"), "operations-docker-up-to-date")
    assert outcome.status is Status.MANUAL
    assert outcome.message == (
        "Docker Engine 20.10.24+dfsg1 is on the 20.10 line, which reaches end of life on 2023-12-10: "
        "confirm it is the line's latest patch release and plan the upgrade"
    )


def test_up_to_date_end_of_life_day_itself_is_past():
    outcome = judge(engine("27.5.1", "2025-05-03T00:00:00Z"), "operations-docker-up-to-date")
    assert (outcome.status, outcome.message) == (Status.FAIL, "Docker Engine 27.5.1 is on the 27 line, which reached end of life on 2025-05-03")
    assert observed(outcome) == [
        ("docker info ServerVersion", "27.5.1"),
        ("release line 27", "released 2024-06-25, end of life 2025-05-03"),
        ("judged on", "2025-05-03"),
    ]


def test_up_to_date_maintained_line_is_manual_with_the_version():
    outcome = judge(engine("28.2.2"), "operations-docker-up-to-date")
    assert outcome.status is Status.MANUAL
    assert outcome.message == "Docker Engine 28.2.2 is on the 28 line, still maintained as far as the table knows: confirm it is the line's latest patch release"
    assert observed(outcome) == [
        ("docker info ServerVersion", "28.2.2"),
        ("release line 28", "released 2025-02-20, no end of life announced (table checked 2026-03-05)"),
        ("judged on", SCANNED[:10]),
    ]


def test_up_to_date_minor_lines_of_one_major_end_separately():
    outcome = judge(engine("26.1.4"), "operations-docker-up-to-date")
    assert (outcome.status, outcome.message) == (Status.FAIL, "Docker Engine 26.1.4 is on the 26.1 line, which reached end of life on 2025-02-17")


def test_up_to_date_older_than_the_table_fails():
    outcome = judge(engine("17.03.2-ce"), "operations-docker-up-to-date")
    assert outcome.status is Status.FAIL
    assert outcome.message == "Docker Engine 17.03.2-ce is older than every release line in the table; the oldest listed, 18.09, reached end of life on 2019-08-22"
    assert observed(outcome) == [("docker info ServerVersion", "17.03.2-ce"), ("judged on", SCANNED[:10])]


def test_up_to_date_newer_than_the_table_needs_a_person():
    outcome = judge(engine("30.0.1"), "operations-docker-up-to-date")
    assert outcome.status is Status.MANUAL
    assert outcome.message == "Docker Engine 30.0.1 is newer than every release line in the table (checked 2026-03-05): confirm it is a maintained release"
    assert observed(outcome) == [("docker info ServerVersion", "30.0.1")]


def test_up_to_date_unreadable_version():
    outcome = judge(engine("dev"), "operations-docker-up-to-date")
    assert (outcome.status, outcome.message) == (Status.MANUAL, "cannot read a release line from the engine version 'dev': check it by hand")


def test_up_to_date_ubuntu_package_is_a_distribution_build():
    outcome = judge(engine("20.10.21-0ubuntu1~22.04.3"), "operations-docker-up-to-date")
    assert outcome.status is Status.FAIL
    assert observed(outcome)[-1][0] == "build"
    assert observed(outcome)[-1][1].startswith("-0ubuntu1~22.04.3: a distribution package")


def test_up_to_date_falls_back_to_docker_version():
    snap = engine("")
    del snap["docker"]["info"]["ServerVersion"]
    outcome = judge(snap, "operations-docker-up-to-date")
    assert outcome.status is Status.FAIL
    assert observed(outcome)[0] == ("docker version Server.Version", "20.10.24+dfsg1")


def test_up_to_date_without_any_version_cannot_decide():
    snap = engine("")
    snap["docker"]["version"] = None
    outcome = judge(snap, "operations-docker-up-to-date")
    assert (outcome.status, outcome.message) == (Status.ERROR, "neither docker info nor docker version reported the engine's version")


def test_up_to_date_without_a_scan_time_cannot_decide():
    snap = engine("28.2.2")
    del snap["collected_at"]
    outcome = judge(snap, "operations-docker-up-to-date")
    assert (outcome.status, outcome.message) == (Status.ERROR, "the snapshot has no collected_at time to compare end-of-life dates with")


# --- operations-image-sprawl (CIS 6.1)


def test_image_sprawl_recorded_host_one_image_in_use():
    outcome = judge(recorded_snapshot(), "operations-image-sprawl")
    assert outcome.status is Status.MANUAL
    assert outcome.message == "1 image, 0 not used by any container and 0 dangling: confirm each is still needed"
    assert observed(outcome) == [
        ("images", 1),
        ("used by a container", 1),
        ("not used by any container", []),
        ("dangling (untagged)", []),
    ]


def test_image_sprawl_counts_unused_and_dangling_images_but_not_build_layers():
    snap = recorded_snapshot()
    snap["docker"]["images"] += [
        image("sha256:" + "a" * 64, ["alpine:3.12"]),
        image("sha256:" + "b" * 64),  # dangling: an old build, its tag moved on
        image("sha256:" + "c" * 64),  # a build layer of alpine:3.12
    ]
    snap["docker"]["images"][1]["Parent"] = "sha256:" + "c" * 64
    outcome = judge(snap, "operations-image-sprawl")
    assert outcome.status is Status.MANUAL
    assert outcome.message == "3 images, 2 not used by any container and 1 dangling: confirm each is still needed"
    assert observed(outcome) == [
        ("images", 3),
        ("used by a container", 1),
        ("not used by any container", ["alpine:3.12", "bbbbbbbbbbbb"]),
        ("dangling (untagged)", ["bbbbbbbbbbbb"]),
        ("intermediate build layers (not counted)", 1),
    ]


def test_image_sprawl_an_image_used_only_by_a_stopped_container_is_in_use():
    snap = recorded_snapshot()
    snap["docker"]["images"].append(image("sha256:" + "d" * 64, ["old/app:1"]))
    container(snap, "dormant")["Image"] = "sha256:" + "d" * 64
    outcome = judge(snap, "operations-image-sprawl")
    assert observed(outcome)[1:3] == [("used by a container", 2), ("not used by any container", [])]


def test_image_sprawl_no_images_passes():
    snap = recorded_snapshot()
    snap["docker"]["images"] = []
    snap["docker"]["containers"] = []
    outcome = judge(snap, "operations-image-sprawl")
    assert (outcome.status, outcome.message) == (Status.PASS, "there are no images on this host")
    assert observed(outcome) == [("images", 0), ("used by a container", 0), ("not used by any container", []), ("dangling (untagged)", [])]


def test_image_sprawl_recorded_image_id_is_the_one_containers_use():
    snap = recorded_snapshot()
    assert [i["Id"] for i in snap["docker"]["images"]] == [IMAGE_ID]
    assert {c["Image"] for c in snap["docker"]["containers"]} == {IMAGE_ID}


# --- operations-container-sprawl (CIS 6.2)


def test_container_sprawl_recorded_host():
    outcome = judge(recorded_snapshot(), "operations-container-sprawl")
    assert outcome.status is Status.MANUAL
    assert outcome.message == "4 containers, 2 running and 2 stopped: remove the stopped ones no longer needed"
    assert observed(outcome) == [
        ("containers", 4),
        ("running", ["risky", "web"]),
        ("stopped", ["dormant (created)", "published (created)"]),
    ]


def test_container_sprawl_counts_the_whole_host_whatever_the_selection():
    outcome = judge(recorded_snapshot(), "operations-container-sprawl", Selection(name_patterns=("web",)))
    assert observed(outcome)[0] == ("containers", 4)


def test_container_sprawl_exited_container_shows_its_state():
    snap = recorded_snapshot()
    state = container(snap, "web")["State"]
    state.update(Running=False, Status="exited")
    outcome = judge(snap, "operations-container-sprawl")
    assert outcome.message == "4 containers, 1 running and 3 stopped: remove the stopped ones no longer needed"
    assert observed(outcome)[1:] == [("running", ["risky"]), ("stopped", ["dormant (created)", "published (created)", "web (exited)"])]


def test_container_sprawl_no_containers_passes():
    snap = recorded_snapshot()
    snap["docker"]["containers"] = []
    outcome = judge(snap, "operations-container-sprawl")
    assert (outcome.status, outcome.message) == (Status.PASS, "there are no containers on this host")
    assert observed(outcome) == [("containers", 0), ("running", []), ("stopped", [])]
