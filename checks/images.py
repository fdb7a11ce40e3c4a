"""Images: where they come from, how they were built, and what a reviewer must look at.

The facts are one batched `docker image inspect` of every local image (`docker image ls -a`),
with environment values already dropped, and each image's build history, read from the image
configs in the daemon's image store (one read for all images; root only). Where that store could
not be read, the classic builder's intermediate images still record each step in
ContainerConfig.Cmd (values of ENV/LABEL/ARG dropped), and those steps are shown for review.

Most of these recommendations need a person or an image scanner: they return MANUAL with the
image inventory (ids, tags, creation dates, which containers use them) a reviewer starts from.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from dockbench.benchmark.document.model import (
    Evidence,
    Layer,
    Outcome,
    Severity,
    Undecidable,
    failed,
    manual,
    not_applicable,
    passed,
)
from dockbench.benchmark.document.redact import REDACTED, looks_secret
from dockbench.benchmark.judge.facts import Container, Facts, Image
from dockbench.checks.catalog import DOCKER, check
from dockbench.checks.common import days_before_scan

DEFAULT_REGISTRY = "docker.io"
_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io")
_IMAGE_ID = re.compile(r"(sha256:)?[0-9a-f]{12,64}")
# A package-index refresh; CIS 4.7 wants it in the same RUN as the install that needs it.
_INDEX_UPDATE = re.compile(r"\b(apt-get|apt|yum|dnf|microdnf|apk|zypper)\s+(-\S+\s+)*(update|makecache|refresh)\b")
_INSTALL = re.compile(r"\b(install|add|upgrade|dist-upgrade)\b")


# --- image references: "busybox" is docker.io/library/busybox:latest


@dataclass(frozen=True)
class Reference:
    registry: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        return f"{self.registry}/{self.path}"

    @property
    def tagged(self) -> str:
        return f"{self.repository}:{self.tag or 'latest'}"


def parse_reference(ref: str) -> Reference:
    """Split an image reference the way Docker resolves it (default registry docker.io)."""
    name, _, digest = ref.partition("@")
    tag = None
    if name.rfind(":") > name.rfind("/"):
        name, tag = name.rsplit(":", 1)
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, path = first.lower(), rest
    else:
        registry, path = DEFAULT_REGISTRY, name
    if registry in _HUB_ALIASES:
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in path:
        path = "library/" + path
    return Reference(registry, path, tag, digest or None)


def allowed_by(reference: Reference, allowed: tuple[str, ...]) -> bool:
    """An entry allows a registry ("docker.io") or a namespace in it ("ghcr.io/acme")."""
    for entry in allowed:
        entry = entry.strip().rstrip("/").lower()
        for alias in _HUB_ALIASES:
            entry = DEFAULT_REGISTRY + entry[len(alias) :] if entry.startswith(alias) else entry
        if reference.repository.lower() == entry or reference.repository.lower().startswith(entry + "/"):
            return True
    return False


# --- local images


def local_images(facts: Facts) -> list[Image]:
    """Local images, without the classic builder's untagged intermediate layers."""
    images = facts.images
    parents = {i.parent for i in images}
    return sorted((i for i in images if i.tags or i.digests or i.id not in parents), key=lambda i: i.name)


def lineage(image: Image, by_id: dict[str, Image]):
    """The image, then its parent images as far as they are present locally."""
    seen: set[str] = set()
    while image is not None and image.id not in seen:
        seen.add(image.id)
        yield image
        image = by_id.get(image.parent)


def users(containers: list[Container]) -> dict[str, list[str]]:
    """Image id -> names of the given containers that run it."""
    used: dict[str, list[str]] = {}
    for c in containers:
        used.setdefault(c.inspect.get("Image", ""), []).append(c.name)
    return {image: sorted(names) for image, names in used.items()}


def describe(facts: Facts, image: Image, used_by: dict[str, list[str]]) -> str:
    """e.g. "sha256:91e3138368bb, created 2026-11-23T14:12:33Z (3 days before the scan), no registry digest, used by web"."""
    text = f"{image.short_id}, created {image.created}"
    try:
        age = days_before_scan(facts, datetime.strptime(image.created, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        age = None
    if age is not None:
        text += f" ({age} days before the scan)"
    if not image.digests:
        text += ", no registry digest"
    names = used_by.get(image.id)
    return text + (f", used by {', '.join(names)}" if names else ", not used by any container")


def inventory(facts: Facts) -> tuple[list[Evidence], int]:
    """Evidence line per local image, and how many of them containers use."""
    images, used_by = local_images(facts), users(facts.all_containers)
    return [Evidence.image(i, describe(facts, i, used_by)) for i in images], sum(1 for i in images if i.id in used_by)


def count(n: int, noun: str) -> str:
    """"1 local image", "2 local images"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def inventory_review(task: str) -> Callable[[Facts], Outcome]:
    """The check of what only a person (or a scanner) can decide: MANUAL with the image inventory."""

    def judge(facts: Facts) -> Outcome:
        evidence, in_use = inventory(facts)
        if not evidence:
            return not_applicable("no local images")
        return manual(f"{count(len(evidence), 'local image')} ({in_use} used by containers): {task}", evidence)

    return judge


check(
    "image-minimal-packages",
    title="Images contain only the packages the workload needs",
    layer=Layer.IMAGES,
    severity=Severity.LOW,
    needs=DOCKER,
    rationale="Every extra package is attack surface and one more thing to patch; the facts do not list image contents.",
    remediation="Build from minimal bases (distroless, alpine, slim, scratch) and install only what the application needs.",
)(inventory_review("list each image's packages (e.g. with an SBOM tool) and remove what the workload does not need"))

check(
    "image-patched",
    title="Images are scanned for vulnerabilities and rebuilt with security patches",
    layer=Layer.IMAGES,
    severity=Severity.HIGH,
    needs=DOCKER,
    rationale="An image is frozen when it is built: without regular scans and rebuilds it keeps every flaw fixed since.",
    remediation="Scan images in CI and on a schedule (e.g. Trivy, Grype) and rebuild on patched bases; redeploy the rebuilt images.",
)(inventory_review("scan them with a vulnerability scanner; old creation dates point to images that were not rebuilt"))

check(
    "image-setuid-removed",
    title="Images carry no unneeded setuid or setgid files",
    layer=Layer.IMAGES,
    severity=Severity.MEDIUM,
    needs=DOCKER,
    rationale="setuid/setgid binaries are how a process in a container raises its privileges; the probe does not scan image filesystems.",
    remediation="In the Dockerfile, remove the bits: RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + (keep only what the workload needs).",
)(inventory_review("list setuid/setgid files in each (find / -xdev -perm /6000 -type f, e.g. in a throwaway container) and remove those not needed"))

check(
    "image-verified-packages",
    title="Packages in images come from verified sources",
    layer=Layer.IMAGES,
    severity=Severity.MEDIUM,
    needs=DOCKER,
    rationale="A package fetched without signature or checksum verification can be swapped in transit or at the mirror.",
    remediation="Install from signed repositories (GPG-verified apt/yum/apk) and check checksums of anything downloaded by hand.",
)(inventory_review("check in their Dockerfiles that packages come from signed repositories and downloads are checksummed"))

check(
    "image-signed-artifacts",
    title="Image signatures are validated before use",
    layer=Layer.IMAGES,
    severity=Severity.MEDIUM,
    needs=DOCKER,
    rationale="Only a verified signature shows that an image (or artifact) is the one its publisher built.",
    remediation="Sign images when pushing (Docker Content Trust, cosign, notation) and enforce verification on pull and deploy.",
)(inventory_review("confirm their signatures are verified when they are pulled and deployed; images with no registry digest were built or loaded locally"))


@check(
    "image-trusted-base",
    title="Images come only from trusted registries",
    layer=Layer.IMAGES,
    severity=Severity.HIGH,
    needs=DOCKER,
    rationale="An image from an unknown registry or namespace can carry anything; base images set the trust of everything built on them.",
    remediation="Pull only from the registries in allowed_registries (e.g. a vetted internal mirror); remove the other images and rebuild what was built on them.",
)
def trusted_base(facts: Facts) -> Outcome:
    """Every tag and registry digest names the registry an image is pulled from or pushed to."""
    images = local_images(facts)
    if not images:
        return not_applicable("no local images")
    allowed = facts.policy.allowed_registries
    if allowed is None:
        by_registry: dict[str, set[str]] = {}
        for image in images:
            for ref in image.tags + image.digests or ["<no tag or digest>"]:
                registry = parse_reference(ref).registry if ref[0] != "<" else ref
                by_registry.setdefault(registry, set()).add(image.name)
        evidence = [Evidence(registry, sorted(names)) for registry, names in sorted(by_registry.items())]
        return manual(f"set allowed_registries in the --config policy to judge {count(len(images), 'local image')} from {count(len(by_registry), 'source')}", evidence)
    bad = []
    for image in images:
        outside = sorted({parse_reference(ref).repository for ref in image.tags + image.digests if not allowed_by(parse_reference(ref), allowed)})
        if outside:
            bad.append(Evidence.image(image, outside))
    if bad:
        return failed(f"{len(bad)} of {count(len(images), 'local image')} come from registries outside allowed_registries", bad)
    return passed(f"{count(len(images), 'local image')} checked: all come from allowed registries", [Evidence("allowed_registries", list(allowed))])


def _healthcheck(image: Image) -> str | None:
    """None when the image has a working HEALTHCHECK, else what it has instead."""
    test = (image.config.get("Healthcheck") or {}).get("Test") or []
    if not test:
        return "no HEALTHCHECK"
    if test[0] == "NONE":
        return "HEALTHCHECK NONE"
    return None


@check(
    "image-healthcheck",
    title="Images that containers run define a HEALTHCHECK",
    layer=Layer.IMAGES,
    severity=Severity.LOW,
    needs=DOCKER,
    rationale="Without a health check Docker (and an orchestrator) only knows the process runs, not that the service works.",
    remediation="Add a HEALTHCHECK instruction to the Dockerfile of each image shown (or give the container --health-cmd).",
)
def image_healthcheck(facts: Facts) -> Outcome:
    """Judges the images behind the selected containers, not every local image.

    A HEALTHCHECK only acts when a container runs; base images, build stages and images kept
    for later would otherwise fail a host for images nobody runs. The others are counted.
    """
    containers = facts.containers
    if not containers:
        return not_applicable(f"no containers matched the selection ({len(facts.all_containers)} containers in total)")
    images = {i.id: i for i in facts.images}
    used_by = users(containers)
    missing = [image_id for image_id in used_by if image_id not in images]
    if missing:
        raise Undecidable(f"image {missing[0]} of container {used_by[missing[0]][0]} is not in the image inspect output")
    judged = sorted((images[image_id] for image_id in used_by), key=lambda i: i.name)
    findings = [(i, _healthcheck(i)) for i in judged]
    others = len(local_images(facts)) - len(judged)
    footer = [Evidence("other local images", f"{others} not used by the selected containers, not judged")] if others > 0 else []
    bad = [Evidence.image(i, f"{problem}; used by {', '.join(used_by[i.id])}") for i, problem in findings if problem]
    if bad:
        return failed(f"{len(bad)} of {len(judged)} images run by the selected containers have no health check", bad + footer)
    ok = [Evidence.image(i, "HEALTHCHECK " + " ".join(i.config["Healthcheck"]["Test"])) for i in judged]
    return passed(f"all {len(judged)} images run by the selected containers define a HEALTHCHECK", ok + footer)


def build_steps(facts: Facts) -> list[tuple[Image, list[str]]]:
    """Each local image with the build steps recorded along its chain of parent images, oldest first."""
    by_id = {i.id: i for i in facts.images}
    return [(image, [i.step for i in lineage(image, by_id) if i.step][::-1]) for image in local_images(facts)]


HISTORY_TASK = "review their Dockerfiles, or docker history --no-trunc IMAGE"


def history_review(facts: Facts, lead: Callable[[str], bool], what: str, task: str) -> Outcome:
    """MANUAL: the recorded steps matching `lead` per image, and which images record none."""
    steps = build_steps(facts)
    if not steps:
        return not_applicable("no local images")
    leads = [Evidence.image(image, hits) for image, chain in steps for hits in [[s for s in chain if lead(s)]] if hits]
    unrecorded = sorted(image.name for image, chain in steps if not chain)
    evidence = leads + ([Evidence("no build steps recorded", unrecorded)] if unrecorded else [])
    recorded = len(steps) - len(unrecorded)
    if not recorded:
        return manual(f"none of {count(len(steps), 'local image')} records its build steps (pulled, imported or built with BuildKit): {task}", evidence)
    return manual(f"{len(leads)} of {count(recorded, 'image')} with recorded build steps {what}; {len(unrecorded)} record none: {task}", evidence)


def base_rootfs(index: int, step: str) -> bool:
    """The ADD that unpacks a base image's root filesystem: the first step, into /."""
    return index == 0 and step.startswith("ADD ") and step.split()[-1] == "/"


def history_verdict(facts: Facts, lead: Callable[[str], bool], what: str, task: str, ignore: Callable[[int, str], bool] = lambda i, s: False) -> Outcome:
    """FAIL naming each image with a build step matching `lead`; PASS when every local image's
    history was read and none has one. Where the history could not be read: MANUAL with the
    classic builder's leads, saying why."""
    images = local_images(facts)
    if not images:
        return not_applicable("no local images")
    history = facts.image_history
    if not history.read:
        review = history_review(facts, lead, what, task)
        return manual(f"{review.message} (build history not read: {history.reason})", [*review.evidence, Evidence("build history", history.reason)])
    read = [i for i in images if i.id in history.images]
    unread = [i.name for i in images if i.id not in history.images]
    hits = [Evidence.image(i, found) for i in read for found in [[s for n, s in enumerate(history.images[i.id]) if lead(s) and not ignore(n, s)]] if found]
    evidence = [Evidence("build history", f"{count(len(read), 'image')} read from the image configs in {history.store}")]
    evidence += [Evidence("no config found", unread)] if unread else []
    if hits:
        return failed(f"{len(hits)} of {count(len(read), 'local image')} {what}", hits + evidence)
    if unread:
        return manual(f"none of {count(len(read), 'image')} with a build history {what}; {len(unread)} have no config in {history.store}: {task}", evidence)
    return passed(f"none of {count(len(read), 'local image')} {what}", evidence)


@check(
    "image-no-update-alone",
    title="Package index updates are not run alone in a Dockerfile step",
    layer=Layer.IMAGES,
    severity=Severity.LOW,
    needs=DOCKER,
    rationale="A cached 'apt-get update' layer is reused by later builds, which then install outdated packages.",
    remediation="Update and install in one RUN (apt-get update && apt-get install -y ...), or build with --no-cache.",
)
def update_alone(facts: Facts) -> Outcome:
    def lone_update(step: str) -> bool:
        return step.startswith("RUN ") and bool(_INDEX_UPDATE.search(step)) and not _INSTALL.search(_INDEX_UPDATE.sub("", step))

    return history_verdict(facts, lone_update, "update a package index without installing in the same step", HISTORY_TASK)


@check(
    "image-copy-not-add",
    title="Dockerfiles use COPY rather than ADD",
    layer=Layer.IMAGES,
    severity=Severity.LOW,
    needs=DOCKER,
    rationale="ADD also fetches URLs and unpacks archives, so a build can pull in content nobody reviewed.",
    remediation="Replace ADD with COPY; fetch remote files with a checksummed download step instead.",
)
def copy_not_add(facts: Facts) -> Outcome:
    """A base image's root filesystem is unpacked with ADD by design: that first step is not counted."""
    return history_verdict(facts, lambda step: step.startswith("ADD "), "were built with ADD", HISTORY_TASK, ignore=base_rootfs)


def secret_leads(image: Image) -> list[str]:
    """Names in an image's config and recorded build steps that look like secrets (values were dropped)."""
    leads = [f"ENV {name}" for name in image.config.get("Env") or [] if looks_secret(name)]
    leads += [f"LABEL {key}" for key, value in (image.config.get("Labels") or {}).items() if REDACTED in str(value)]
    return leads + [f"build argument {name}" for name in image.build_args if looks_secret(name)]


@check(
    "image-no-secrets",
    title="Images hold no secrets",
    layer=Layer.IMAGES,
    severity=Severity.HIGH,
    needs=DOCKER,
    rationale="Anything in an image's ENV, labels, build arguments or layers can be read by whoever can pull the image.",
    remediation="Pass secrets at run time (docker secret, mounted files) or with BuildKit --secret mounts; rebuild images that carried them and rotate those secrets.",
)
def no_secrets(facts: Facts) -> Outcome:
    by_id = {i.id: i for i in facts.images}
    images = local_images(facts)
    if not images:
        return not_applicable("no local images")
    leads = []
    for image in images:  # intermediate images hold the build arguments of the steps they record
        hits = list(dict.fromkeys(hit for i in lineage(image, by_id) for hit in secret_leads(i)))
        if hits:
            leads.append(Evidence.image(image, hits))
    if leads:
        return manual(f"{len(leads)} of {count(len(images), 'local image')} carry secret-looking names: check whether values are baked in", leads)
    return manual(
        f"no secret-looking ENV, LABEL or build argument names in {count(len(images), 'local image')}; layer contents were not scanned: use a secret scanner",
        [Evidence("images checked", [i.name for i in images], "image", [i.id for i in images])],
    )


@check(
    "image-latest-version",
    title="Containers run the current version of the image they name",
    layer=Layer.IMAGES,
    severity=Severity.LOW,
    needs=DOCKER,
    rationale="A mutable tag such as :latest says nothing about which build runs, and a container keeps an old image after a newer one is pulled.",
    remediation="Pin images by digest (name@sha256:...) or a unique version tag, pull before deploying, and recreate containers after a pull.",
)
def latest_version(facts: Facts) -> Outcome:
    """FAIL when a container's tag now names another local image (a newer pull was not applied).

    Whether a registry holds a newer build than the local one cannot be known offline, so
    mutable tags are left to a reviewer; digests and image ids pin exactly one build.
    """
    containers = facts.containers
    if not containers:
        return not_applicable(f"no containers matched the selection ({len(facts.all_containers)} containers in total)")
    tag_owner = {parse_reference(tag).tagged: image for image in facts.images for tag in image.tags}
    stale, mutable = [], []
    for c in containers:
        ref = str(c.config.get("Image") or "")
        if "@" in ref or _IMAGE_ID.fullmatch(ref):
            continue
        current = tag_owner.get(parse_reference(ref).tagged)
        if current is not None and current.id != c.inspect.get("Image"):
            stale.append(Evidence.container(c, f"{ref} now names {current.short_id}, the container runs {str(c.inspect.get('Image'))[:19]}"))
        else:
            latest = parse_reference(ref).tag in (None, "latest")
            mutable.append(Evidence.container(c, f"{ref} ({'the latest tag' if latest else 'a mutable tag'}" + (", no longer tagged locally)" if current is None else ")")))
    if stale:
        return failed(f"{len(stale)} of {len(containers)} containers run an older image than their tag now names", stale + mutable)
    if mutable:
        return manual(f"{len(mutable)} of {len(containers)} containers name their image by a mutable tag: confirm it is pulled before each deploy", mutable)
    return passed(f"all {len(containers)} containers pin their image by digest or id", [Evidence.container(c, c.config.get("Image")) for c in containers])
