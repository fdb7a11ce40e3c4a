"""Structured fuzzing of the files a user hands over: inventories, waiver and policy files, and
saved documents. Each either reads or fails with its own error (which the CLI words, exit 2);
a saved document that reads and is schema-valid renders, host text held inert, in every format."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from dockbench.benchmark.collect import inventory
from dockbench.benchmark.document import reader, validate
from dockbench.benchmark.judge.options import catalog
from dockbench.benchmark.judge.policy import Policy, PolicyError
from dockbench.benchmark.judge.waivers import WaiverError, WaiverFile
from tests.fuzz.hostile import JSON, JSON_TEXT, TEXT, assert_inert
from tests.golden import DOCUMENT

HOST_REPORT = json.loads(DOCUMENT.read_text())["hosts"][0]
BENCHMARK = HOST_REPORT["benchmark"]["id"]
CATALOG = [c.meta for c in catalog().all(BENCHMARK)]
_DIR = Path(tempfile.mkdtemp(prefix="dbt-fuzz-"))


def _file(name: str, content: bytes) -> Path:
    path = _DIR / name
    path.write_bytes(content)
    return path


def _yaml(value) -> bytes:
    return yaml.safe_dump(value, allow_unicode=True).encode("utf-8", "surrogatepass")


# YAML shaped like each file, its values anything; or any YAML or bytes at all.
FIELD = st.one_of(JSON, st.sampled_from(["127.0.0.1", "ssh://root@h:22", "2099-01-01", "daemon-icc-disabled", "web-*", 22]))
HOSTS = st.dictionaries(TEXT, st.one_of(FIELD, st.dictionaries(st.sampled_from(["host", "port", "user", "key", "sudo", "docker_host", "root", "proxy_jump"]), FIELD)))
INVENTORY = st.fixed_dictionaries({}, optional={"defaults": st.dictionaries(TEXT, FIELD), "hosts": HOSTS,
                                               "groups": st.dictionaries(TEXT, st.fixed_dictionaries({}, optional={"hosts": HOSTS, "vars": FIELD}))})
WAIVER = st.dictionaries(st.sampled_from(["id", "check", "hosts", "containers", "justification", "owner", "expires", "cis"]), FIELD)
POLICY = st.dictionaries(st.sampled_from(["trusted_docker_users", "allowed_registries", "allowed_capabilities", "allowed_host_ports", "cert_expiry_warning_days", "x"]), FIELD)


def _texts(structured):
    return st.one_of(structured.map(_yaml), JSON_TEXT, st.sampled_from([b"[" * 3000, b"a: &x [*x]", b"\xef\xbb\xbf- x", b"hosts:\n  a\x00: {}"]))


@given(_texts(INVENTORY), st.sampled_from(["hosts.yaml", "hosts.ini", "hosts"]))
def test_an_inventory_reads_or_is_an_inventory_error(content, name):
    try:
        targets = inventory.load(_file(name, content))
    except inventory.InventoryError as exc:
        assert str(exc)
    else:
        assert all(isinstance(t, inventory.Target) and isinstance(t.host, str) for t in targets)


@given(_texts(st.one_of(st.fixed_dictionaries({"waivers": st.lists(WAIVER, max_size=3)}), JSON)))
def test_a_waiver_file_reads_or_is_a_waiver_error(content):
    try:
        WaiverFile.from_text(content.decode("utf-8", "replace"), "waivers.yaml", CATALOG, BENCHMARK)
    except WaiverError as exc:
        assert str(exc).startswith("waivers.yaml")


@given(_texts(POLICY))
def test_a_policy_file_reads_or_is_a_policy_error(content):
    try:
        Policy.load(_file("policy.yaml", content))
    except PolicyError as exc:
        assert str(exc)


def _paths(value, path=()):
    yield path
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from _paths(child, (*path, key))


PATHS = list(_paths(HOST_REPORT))[1:]


@st.composite
def saved_document(draw) -> bytes:
    """The frozen host report, one value swapped for any JSON, or its bytes cut or swapped whole."""
    how = draw(st.sampled_from(["swap", "swap", "cut", "whole"]))
    text = json.dumps(HOST_REPORT).encode()
    if how == "cut":
        return text[: draw(st.integers(0, len(text)))]
    if how == "whole":
        return draw(JSON_TEXT)
    document, path = copy.deepcopy(HOST_REPORT), draw(st.sampled_from(PATHS))
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = draw(JSON)
    return json.dumps(document).encode("utf-8", "surrogatepass")


@given(saved_document())
def test_a_saved_document_is_refused_with_its_reason_or_renders_inert(content):
    try:
        with reader.read(str(_file("saved.json", content))) as source:
            validate.check(source.lazy())
            document = source.whole()
    except (reader.ReadError, validate.InvalidDocument) as exc:
        assert str(exc)
        return
    assert_inert(document)
