"""Running Docker over time (CIS 1.2.2, 6.1, 6.2): is the engine's release line still
maintained, and are images and containers kept from piling up. These look at the whole host,
not at the containers selected for per-container checks."""

from __future__ import annotations

import re
from typing import Any

from dockbench.benchmark.document.model import Evidence, Layer, Outcome, Severity, Undecidable, failed, manual, passed
from dockbench.benchmark.judge.facts import Facts, Image
from dockbench.checks.catalog import DOCKER, check
from dockbench.checks.common import load_data, scanned_at

LIFECYCLE = "docker-engine-lifecycle.yaml"
# Suffixes upstream itself uses; anything else after x.y.z (+dfsg1, ~ds1, -0ubuntu1) is a packager's build.
UPSTREAM_SUFFIX = re.compile(r"(-(ce|ee|rc\d*|beta\.?\d*|alpha\.?\d*))?$")


def engine_version(facts: Facts) -> tuple[str, str]:
    """The daemon's version and where it was read."""
    if facts.info.get("ServerVersion"):
        return facts.info["ServerVersion"], "docker info ServerVersion"
    server = (facts.docker.get("version") or {}).get("Server") or {}
    if server.get("Version"):
        return server["Version"], "docker version Server.Version"
    raise Undecidable("neither docker info nor docker version reported the engine's version")


def release_line(version: str, lines: list[dict[str, Any]]) -> dict[str, Any] | str | None:
    """The table's line for a version (the longest matching prefix: "26.1", else "26"), or
    "older" / "newer" when it falls outside the table, or None when it is not x.y at all."""
    match = re.match(r"v?(\d+)\.(\d+)", version)
    if not match:
        return None
    by_name = {str(line["line"]): line for line in lines}
    for key in (f"{match[1]}.{match[2]}", match[1]):
        if key in by_name:
            return by_name[key]
    oldest = min(_numbers(str(line["line"])) for line in lines)
    return "older" if (int(match[1]), int(match[2])) < oldest else "newer"


def _numbers(line: str) -> tuple[int, int]:
    major, _, minor = line.partition(".")
    return int(major), int(minor or 0)


@check(
    "operations-docker-up-to-date",
    title="The Docker Engine's release line is still maintained",
    layer=Layer.OPERATIONS,
    severity=Severity.HIGH,
    needs=DOCKER,
    rationale="A release line past its end of life gets no security fixes: every later engine, containerd or runc flaw stays open on this host.",
    remediation="Upgrade to a maintained Docker Engine release line (and within a line, to its latest patch release); plan upgrades before a line's end of life.",
)
def docker_up_to_date(facts: Facts) -> Outcome:
    version, source = engine_version(facts)
    table = load_data(LIFECYCLE)
    checked = table["checked"]
    today = scanned_at(facts, "end-of-life dates").date()
    evidence = [Evidence(source, version)]
    line = release_line(version, table["lines"])
    if line is None:
        return manual(f"cannot read a release line from the engine version {version!r}: check it by hand", evidence)
    if line == "newer":
        return manual(f"Docker Engine {version} is newer than every release line in the table (checked {checked}): confirm it is a maintained release", evidence)
    evidence.append(Evidence("judged on", today.isoformat()))  # the day: a diff of two scans that day stays quiet
    build = re.match(r"v?\d+\.\d+(?:\.\d+)?(.*)$", version)[1]
    if build and not UPSTREAM_SUFFIX.fullmatch(build):
        evidence.append(Evidence("build", f"{build}: a distribution package, whose packager may backport some fixes to it; upstream no longer does once the line ends"))
    if line == "older":
        oldest = min(table["lines"], key=lambda item: _numbers(str(item["line"])))
        return failed(
            f"Docker Engine {version} is older than every release line in the table; the oldest listed, {oldest['line']}, reached end of life on {oldest['end_of_life']}",
            evidence,
        )
    name, released, end = line["line"], line["released"], line["end_of_life"]
    if end is not None and end <= today:
        evidence.insert(1, Evidence(f"release line {name}", f"released {released}, end of life {end}"))
        return failed(f"Docker Engine {version} is on the {name} line, which reached end of life on {end}", evidence)
    if end is not None:
        evidence.insert(1, Evidence(f"release line {name}", f"released {released}, end of life {end}"))
        return manual(f"Docker Engine {version} is on the {name} line, which reaches end of life on {end}: confirm it is the line's latest patch release and plan the upgrade", evidence)
    evidence.insert(1, Evidence(f"release line {name}", f"released {released}, no end of life announced (table checked {checked})"))
    return manual(f"Docker Engine {version} is on the {name} line, still maintained as far as the table knows: confirm it is the line's latest patch release", evidence)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _image_name(image: Image) -> str:
    """Its first tag, else the short id: one name per image for a count-and-list verdict."""
    return image.tags[0] if image.tags else (image.id or "?").split(":")[-1][:12]


@check(
    "operations-image-sprawl",
    title="Images no container needs are removed",
    layer=Layer.OPERATIONS,
    severity=Severity.LOW,
    needs=DOCKER,
    rationale="Old and untagged images pile up with their unpatched packages: they fill the disk and are one `docker run` away from being used again.",
    remediation="Remove images that no container needs (docker image rm IMAGE; docker image prune removes the dangling ones) and keep only tagged, current images.",
)
def image_sprawl(facts: Facts) -> Outcome:
    images = facts.images
    # `docker image ls -a` also lists the untagged layers other images are built on: not images anyone pulled.
    parents = {image.parent for image in images} - {""}
    layers = [image for image in images if not image.tags and image.id in parents]
    top = [image for image in images if image not in layers]
    used = {c.inspect.get("Image") for c in facts.all_containers}
    unused = sorted(_image_name(image) for image in top if image.id not in used)
    dangling = sorted(_image_name(image) for image in top if not image.tags)
    evidence = [
        Evidence("images", len(top)),
        Evidence("used by a container", len(top) - len(unused)),
        Evidence("not used by any container", unused),
        Evidence("dangling (untagged)", dangling),
    ]
    if layers:
        evidence.append(Evidence("intermediate build layers (not counted)", len(layers)))
    if not top:
        return passed("there are no images on this host", evidence)
    return manual(f"{_count(len(top), 'image')}, {len(unused)} not used by any container and {len(dangling)} dangling: confirm each is still needed", evidence)


@check(
    "operations-container-sprawl",
    title="Stopped containers that are no longer needed are removed",
    layer=Layer.OPERATIONS,
    severity=Severity.LOW,
    needs=DOCKER,
    rationale="Stopped containers keep their writable layers, volumes and configuration (often secrets in their environment) and can be started again unreviewed.",
    remediation="Remove containers that are no longer needed (docker container rm NAME; docker container prune removes every stopped one).",
)
def container_sprawl(facts: Facts) -> Outcome:
    containers = facts.all_containers
    running = sorted(c.name for c in containers if c.running)
    stopped = sorted(f"{c.name} ({(c.inspect.get('State') or {}).get('Status') or 'stopped'})" for c in containers if not c.running)
    evidence = [Evidence("containers", len(containers)), Evidence("running", running), Evidence("stopped", stopped)]
    if not containers:
        return passed("there are no containers on this host", evidence)
    return manual(f"{_count(len(containers), 'container')}, {len(running)} running and {len(stopped)} stopped: remove the stopped ones no longer needed", evidence)
