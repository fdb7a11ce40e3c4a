"""Site policy (`--config FILE`): the answers only the auditor can give, such as who may use Docker.

Checks that depend on a parameter say which one to set when it is missing, instead of guessing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from dockbench.benchmark.document import bounded_json


class PolicyError(Exception):
    """The policy file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Policy:
    trusted_docker_users: tuple[str, ...] | None = None
    allowed_registries: tuple[str, ...] | None = None
    allowed_capabilities: tuple[str, ...] | None = None
    allowed_host_ports: tuple[int, ...] | None = None
    cert_expiry_warning_days: int = 30

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        try:
            data = yaml.safe_load(bounded_json.check_flow_nesting(Path(path).read_text(encoding="utf-8"))) or {}
        except (OSError, yaml.YAMLError, ValueError) as exc:  # ValueError: not UTF-8, check_flow_nesting, a number too long
            raise PolicyError(f"{path}: {exc}") from exc
        except RecursionError:  # the composer recurses once per level of nesting
            raise PolicyError(f"{path}: not valid YAML: nested too deeply") from None
        if not isinstance(data, dict):
            raise PolicyError(f"{path}: expected a mapping of policy parameters")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise PolicyError(f"{path}: unknown parameter(s) {', '.join(unknown)}; known: {', '.join(known)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name == "cert_expiry_warning_days":
                if not isinstance(value, int) or value < 0:
                    raise PolicyError(f"{path}: {name} must be a whole number of days")
                values[name] = value
                continue
            item_type = int if name == "allowed_host_ports" else str
            if not isinstance(value, list) or not all(isinstance(v, item_type) for v in value):
                raise PolicyError(f"{path}: {name} must be a list of {'port numbers' if item_type is int else 'strings'}")
            values[name] = tuple(value)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
