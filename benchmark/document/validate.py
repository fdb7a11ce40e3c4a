"""Check a document against the published report schema, with no third-party library.

`dockbench report` validates its input before rendering it. The tool's runtime dependencies do
not include jsonschema, so this module implements the part of JSON Schema (draft 2020-12) that
benchmark/document/schema/report.schema.json uses, and refuses a schema that uses anything else (a test
keeps the two in step and compares the verdicts with jsonschema's). A document read from a
file (benchmark.document.reader.Source) is checked one host report at a time, in document order,
so the first mismatch named is the one the whole document would give.
"""

from __future__ import annotations

import re
from typing import Any

from dockbench.benchmark.document import report as report_mod
from dockbench.benchmark.document.reader import Source, Spans

ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description"}
KEYWORDS = {
    "type", "required", "properties", "additionalProperties", "patternProperties", "const", "enum",
    "pattern", "minLength", "minimum", "maximum", "items", "oneOf", "$ref",
}
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list) or (isinstance(v, Spans) and v.names is None),  # Spans: a sweep's hosts, read one at a time
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class InvalidDocument(ValueError):
    """The document does not match the schema; str() names the first place that does not."""


class UnsupportedSchema(RuntimeError):
    """The schema uses a keyword this validator does not implement."""


def _where(path: tuple) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Validator:
    def __init__(self, schema: dict[str, Any]):
        self.root = schema
        unknown = sorted(self._keywords(schema) - KEYWORDS - ANNOTATIONS)
        if unknown:
            raise UnsupportedSchema(f"schema keywords not implemented: {', '.join(unknown)}")

    def _keywords(self, node: Any, in_props: bool = False) -> set[str]:
        found: set[str] = set()
        if isinstance(node, dict):
            for key, value in node.items():
                if not in_props:
                    found.add(key)
                if key in ("properties", "$defs", "patternProperties") and not in_props:
                    for sub in value.values():
                        found |= self._keywords(sub)
                elif key in ("items", "additionalProperties") and isinstance(value, dict):
                    found |= self._keywords(value)
                elif key == "oneOf":
                    for sub in value:
                        found |= self._keywords(sub)
        return found

    def _resolve(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#/"):
            raise UnsupportedSchema(f"only local $ref are supported, not {ref}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def errors(self, value: Any, schema: dict[str, Any], path: tuple = ()) -> list[str]:
        """Every mismatch at this level (an empty list when value fits), first the most useful."""
        if "$ref" in schema:
            found = self.errors(value, self._resolve(schema["$ref"]), path)
            if found:
                return found
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(_TYPES[t](value) for t in types):
                return [f"{_where(path)}: expected {' or '.join(types)}, got {_short(value)}"]
        if "const" in schema and not _equal(value, schema["const"]):
            return [f"{_where(path)}: expected {schema['const']!r}, got {_short(value)}"]
        if "enum" in schema and not any(_equal(value, option) for option in schema["enum"]):
            return [f"{_where(path)}: {_short(value)} is not one of {schema['enum']}"]
        if isinstance(value, str):
            if "minLength" in schema and len(value) < schema["minLength"]:
                return [f"{_where(path)}: shorter than {schema['minLength']} characters"]
            if "pattern" in schema and not re.search(schema["pattern"], value):
                return [f"{_where(path)}: {_short(value)} does not match {schema['pattern']}"]
        if _TYPES["number"](value):
            if "minimum" in schema and value < schema["minimum"]:
                return [f"{_where(path)}: {value} is below the minimum {schema['minimum']}"]
            if "maximum" in schema and value > schema["maximum"]:
                return [f"{_where(path)}: {value} is above the maximum {schema['maximum']}"]
        if "oneOf" in schema:
            found = self._one_of(value, schema["oneOf"], path)
            if found:
                return found
        if isinstance(value, dict):
            return self._object(value, schema, path)
        if _TYPES["array"](value) and "items" in schema:
            for i, item in enumerate(value):
                found = self.errors(item, schema["items"], path + (i,))
                if found:
                    return found
        return []

    def _one_of(self, value: Any, options: list[dict[str, Any]], path: tuple) -> list[str]:
        results = [self.errors(value, option, path) for option in options]
        passing = [r for r in results if not r]
        if len(passing) == 1:
            return []
        if passing:
            return [f"{_where(path)}: matches more than one alternative"]
        # Explain the alternative the document meant: the one whose const properties (e.g. "kind") it has.
        if isinstance(value, dict):
            for option, found in zip(options, results):
                resolved = self._resolve(option["$ref"]) if "$ref" in option else option
                consts = {k: p["const"] for k, p in resolved.get("properties", {}).items() if "const" in p}
                if consts and all(k in value and _equal(value[k], c) for k, c in consts.items()):
                    return found
            if "kind" in value:
                return [f"{_where(path)}.kind: {_short(value['kind'])} is not a known document kind"]
        return results[0]

    def _object(self, value: dict[str, Any], schema: dict[str, Any], path: tuple) -> list[str]:
        for name in schema.get("required", []):
            if name not in value:
                return [f"{_where(path)}: '{name}' is required"]
        properties = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        for key, item in value.items():
            matched = False
            if key in properties:
                matched = True
                found = self.errors(item, properties[key], path + (key,))
                if found:
                    return found
            for pattern, sub in patterns.items():
                if re.search(pattern, key):
                    matched = True
                    found = self.errors(item, sub, path + (key,))
                    if found:
                        return found
            extra = schema.get("additionalProperties", True)
            if not matched and extra is not True:
                if extra is False:
                    return [f"{_where(path)}: unexpected property {key!r}"]
                found = self.errors(item, extra, path + (key,))
                if found:
                    return found
        return []


def _equal(a: Any, b: Any) -> bool:
    # JSON equality: True is not 1
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def check(document: Any, schema: dict[str, Any] | None = None) -> None:
    """Raise InvalidDocument unless document (in memory, or a Source) is a valid dockbench report (host or sweep)."""
    if isinstance(document, Source):
        document = document.lazy()
    found = _Validator(schema or report_mod.schema()).errors(document, schema or report_mod.schema())
    if found:
        raise InvalidDocument(found[0])
