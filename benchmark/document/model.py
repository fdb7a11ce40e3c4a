"""The vocabulary shared by checks, runner and reports: layers, statuses, check metadata, results."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Status(str, Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    MANUAL = "MANUAL"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    ERROR = "ERROR"


class Layer(str, Enum):
    HOST_KERNEL = "host_kernel"
    DAEMON_CONFIG = "daemon_config"
    SOCKET_PERMISSIONS = "socket_permissions"
    TLS = "tls"
    REGISTRIES = "registries"
    CONTAINERS = "containers"
    IMAGES = "images"
    SWARM = "swarm"
    OPERATIONS = "operations"


# The kind of the evidence a check of each layer gives without naming one: what the layer judges.
LAYER_KINDS = {
    Layer.HOST_KERNEL: "host",
    Layer.DAEMON_CONFIG: "daemon",
    Layer.SOCKET_PERMISSIONS: "file",
    Layer.TLS: "daemon",
    Layer.REGISTRIES: "daemon",
    Layer.CONTAINERS: "rule",
    Layer.IMAGES: "rule",
    Layer.SWARM: "daemon",
    Layer.OPERATIONS: "daemon",
}


class Severity(str, Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Needs(str, Enum):
    """What a check cannot decide without; the runner says so instead of guessing."""

    HOST = "host"
    DOCKER = "docker"


# What an evidence item is about: its `kind`, beside the human `subject` name.
EVIDENCE_KINDS = ("container", "image", "file", "daemon", "host", "network", "volume", "rule")
# Kinds whose items a waiver's `containers` or `images` globs can cover: the offenders.
OFFENDER_KINDS = ("container", "image")


@dataclass(frozen=True)
class Evidence:
    """One observation: what was looked at (a path, a container) and what it showed.

    `kind` (one of EVIDENCE_KINDS) and `id` (a container or image id, an absolute path; a list
    of them for "containers checked") say what it is about, so waivers, renderers and diffs
    never have to guess it from `subject`, which is for people. A check that leaves `kind`
    out gets its layer's (see with_kind)."""

    subject: str
    observed: Any
    kind: str | None = None
    id: str | list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        item = {"subject": self.subject, "observed": self.observed}
        if self.kind:
            item["kind"] = self.kind
        if self.id is not None:
            item["id"] = self.id
        return item

    @classmethod
    def container(cls, container: Any, observed: Any) -> Evidence:
        """About one container (anything with `name` and `id`, e.g. judge.facts.Container)."""
        return cls(container.name, observed, "container", container.id)

    @classmethod
    def image(cls, image: Any, observed: Any) -> Evidence:
        """About one image (anything with `name` and `id`, e.g. judge.facts.Image)."""
        return cls(image.name, observed, "image", image.id)

    @classmethod
    def file(cls, path: str, observed: Any) -> Evidence:
        return cls(path, observed, "file", path)

    def with_kind(self, kind: str) -> Evidence:
        """This item with `kind` when it has none: an absolute path is a file, anything else the given kind."""
        if self.kind:
            return self
        if self.subject.startswith("/"):
            return Evidence(self.subject, self.observed, "file", self.id if self.id is not None else self.subject)
        return Evidence(self.subject, self.observed, kind, self.id)


@dataclass(frozen=True)
class Outcome:
    """What a check function returns: a status, a one-line finding, the evidence behind it."""

    status: Status
    message: str
    evidence: tuple[Evidence, ...] = ()

    @classmethod
    def of(cls, status: Status, message: str, evidence: list[Evidence] | tuple[Evidence, ...] = ()) -> Outcome:
        return cls(status, message, tuple(evidence))


def passed(message: str, evidence=()) -> Outcome:
    return Outcome.of(Status.PASS, message, evidence)


def failed(message: str, evidence=()) -> Outcome:
    return Outcome.of(Status.FAIL, message, evidence)


def manual(message: str, evidence=()) -> Outcome:
    return Outcome.of(Status.MANUAL, message, evidence)


def not_applicable(message: str, evidence=()) -> Outcome:
    return Outcome.of(Status.NOT_APPLICABLE, message, evidence)


def error(message: str, evidence=()) -> Outcome:
    return Outcome.of(Status.ERROR, message, evidence)


class Undecidable(Exception):
    """Raised by a check or a fact accessor when the facts cannot settle the question.

    The runner turns it into an ERROR result carrying the message, which should say how to
    get the missing fact (e.g. "re-run with --sudo").
    """


@dataclass(frozen=True)
class CisRef:
    benchmark: str
    id: str
    level: int | None
    automated: bool


@dataclass(frozen=True)
class CheckMeta:
    """Static description of a check; the report repeats it next to every result."""

    id: str
    title: str
    layer: Layer
    severity: Severity
    rationale: str
    remediation: str
    needs: tuple[Needs, ...] = (Needs.HOST,)
    cis: tuple[CisRef, ...] = field(default=())

    @property
    def level(self) -> int | None:
        levels = [ref.level for ref in self.cis if ref.level is not None]
        return min(levels) if levels else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "layer": self.layer.value,
            "severity": self.severity.value,
            "level": self.level,
            "cis": [{"benchmark": c.benchmark, "id": c.id, "level": c.level, "automated": c.automated} for c in self.cis],
            "rationale": self.rationale,
            "remediation": self.remediation,
        }
