"""The three CIS Docker Benchmark mappings against the recommendation lists transcribed from the
CIS documents (tests/data/cis/, copied unchanged from the project's CIS reference data):
every id of every version mapped exactly once, with the document's title, level and
Automated/Manual assessment, and the 1.8.0 renumbering of section 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dockbench import checks
from dockbench.benchmark.judge.check_registry import Registry, UnknownBenchmark

REFERENCE = Path(__file__).parent / "data" / "cis"
VERSIONS = ("1.6.0", "1.7.0", "1.8.0")
CATALOG = checks.load()


def reference(version: str) -> dict:
    return yaml.safe_load((REFERENCE / f"cis-docker-{version}-recommendations.yaml").read_text())


def mapping(version: str) -> dict:
    return yaml.safe_load((checks.MAPPINGS / f"cis-docker-{version}.yaml").read_text())


def test_one_mapping_file_per_version_and_the_newest_is_the_default():
    assert sorted(p.name for p in checks.MAPPINGS.glob("*.yaml")) == [f"cis-docker-{v}.yaml" for v in VERSIONS]
    assert [b.id for b in CATALOG.benchmarks()] == ["cis-docker-1.8.0", "cis-docker-1.7.0", "cis-docker-1.6.0"]
    assert CATALOG.benchmark().to_dict() == {"id": "cis-docker-1.8.0", "title": "CIS Docker Benchmark v1.8.0", "version": "1.8.0"}


@pytest.mark.parametrize("version", VERSIONS)
def test_mapping_header_matches_the_document(version):
    data, ref = mapping(version), reference(version)
    assert (data["benchmark"], data["title"], data["version"]) == (ref["meta"]["benchmark"], ref["meta"]["title"], version)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_recommendation_is_mapped_once_with_the_documents_level_and_assessment(version):
    want = [(r["cis_id"], r["title"], r["level"], r["automated"]) for r in reference(version)["recommendations"]]
    got = [(e["cis_id"], e["title"], e["level"], e["automated"]) for e in mapping(version)["recommendations"]]
    assert got == want
    assert len(got) == reference(version)["meta"]["counts"]["recommendations"]


@pytest.mark.parametrize("version", VERSIONS)
def test_the_catalog_carries_each_versions_refs(version):
    benchmark = f"cis-docker-{version}"
    refs = {ref.id: (c.meta.id, ref.level, ref.automated, ref.benchmark) for c in CATALOG.all(benchmark) for ref in c.meta.cis}
    want = {e["cis_id"]: (e["check"], e["level"], e["automated"], benchmark) for e in mapping(version)["recommendations"]}
    assert refs == want
    counts = reference(version)["meta"]["counts"]
    assert sum(1 for _, _, automated, _ in refs.values() if automated) == counts["automated"]


def test_1_8_0_inserts_devicemapper_at_2_7_and_shifts_2_7_to_2_18_by_one():
    def section_2(version):
        return {e["cis_id"]: e["check"] for e in mapping(version)["recommendations"] if e["cis_id"].startswith("2.")}

    old, new = section_2("1.7.0"), section_2("1.8.0")
    assert new["2.7"] == "daemon-storage-driver-not-devicemapper"
    assert {f"2.{i + 1}": old[f"2.{i}"] for i in range(7, 19)} == {k: v for k, v in new.items() if int(k.split(".")[1]) >= 8}
    assert {k: v for k, v in old.items() if int(k.split(".")[1]) < 7} == {k: v for k, v in new.items() if int(k.split(".")[1]) < 7}
    assert {e["check"] for e in mapping("1.6.0")["recommendations"]} == {e["check"] for e in mapping("1.7.0")["recommendations"]}


def test_a_check_a_version_does_not_map_runs_beyond_it():
    assert CATALOG.get("daemon-storage-driver-not-devicemapper").meta.cis[0].id == "2.7"
    for old in ("cis-docker-1.6.0", "cis-docker-1.7.0"):
        meta = CATALOG.get("daemon-storage-driver-not-devicemapper", old).meta
        assert (meta.cis, meta.level) == ((), None)
    assert [r.id for r in CATALOG.get("tls-tcp-requires-client-certs", "cis-docker-1.6.0").meta.cis] == ["2.7"]
    assert [r.id for r in CATALOG.get("tls-tcp-requires-client-certs").meta.cis] == ["2.8"]


def test_an_unknown_benchmark_names_the_known_ones():
    with pytest.raises(UnknownBenchmark, match="cis-docker-9.9.*known: cis-docker-1.8.0, cis-docker-1.7.0, cis-docker-1.6.0"):
        CATALOG.all("cis-docker-9.9")


def test_a_mapping_naming_an_unknown_check_is_refused(tmp_path):
    bad = tmp_path / "cis-docker-0.1.yaml"
    bad.write_text('benchmark: cis-docker-0.1\ntitle: t\nversion: "0.1"\nrecommendations:\n  - {cis_id: "1.1", check: no-such-check, level: 1, automated: true}\n')
    with pytest.raises(ValueError, match="1.1 maps to unknown check 'no-such-check'"):
        Registry().apply_mapping(bad)
