"""load_desired: the whole repository, every problem at once, digest, other sources."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.contract import FindingCode
from reconciler.core.model import Group, ImageType, Match, Mode, PolicyEntry
from reconciler.loader import DirectorySource, load_desired
from reconciler.core.resolve import resolve_fleet
from reconciler.loader.source import match_pattern
from tests.conftest import PROJECT_ROOT, REPOS, MakeRepo, all_paths


class MemorySource:
    """A FileSource that is not a directory (what a git-tree source looks like)."""

    def __init__(self, files: dict[str, bytes], commit: str | None = None) -> None:
        self.files = files
        self.label = "memory"
        self.commit = commit
        self.reads: list[str] = []

    def list(self, pattern: str) -> list[str]:
        return sorted(p for p in self.files if match_pattern(p, pattern))

    def read(self, path: str) -> bytes:
        self.reads.append(path)
        return self.files[path]


def repo_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for d in ("desired", "inventory") for p in sorted((root / d).glob("*.yaml"))}


def test_example_repository_model() -> None:
    desired, findings = load_desired(DirectorySource(PROJECT_ROOT))
    assert findings == []
    assert len(desired.images) == 21 and set(desired.bundles) == {"vpn-2024", "dc-9.4"}
    img = desired.images["asa941-smp-k8.bin"]
    assert img.type is ImageType.ASA and img.smp is True and img.platforms == ("asa5500x", "asa5585")
    assert str(img.loc) == "desired/images.yaml:50"
    assert [g.name for g in desired.groups] == ["branch-5500x", "datacenter", "legacy",
                                                "firepower-appliance", "windows-endpoints",
                                                "linux-endpoints"]
    dc = desired.groups[1]
    assert isinstance(dc, Group) and dc.match == Match(tags=("datacenter",))
    assert dc.images == {ImageType.ASA: "9.4(1)", ImageType.ASDM: "asdm-741.bin"}
    assert dc.bundle == "vpn-2024"
    assert str(dc.image_locs[ImageType.ASDM]) == "desired/fleet.yaml:35"
    assert desired.defaults.name == "defaults" and desired.defaults.settings["reload_timeout"] == 900
    assert isinstance(desired.devices["fw-multi-01"], PolicyEntry)
    assert desired.commit is None


def test_content_digest_covers_paths_and_bytes(make_repo: MakeRepo) -> None:
    root = make_repo()
    files = repo_files(root)
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.encode() + b"\0" + str(len(files[path])).encode() + b"\0" + files[path])
    desired, _ = load_desired(DirectorySource(root))
    assert desired.content_digest == h.hexdigest()
    again, _ = load_desired(MemorySource(files, commit="abc123"))
    assert again.content_digest == desired.content_digest and again.commit == "abc123"
    files["desired/fleet.yaml"] += b"\n# a comment changes the digest\n"
    changed, _ = load_desired(MemorySource(files))
    assert changed.content_digest != desired.content_digest


def test_any_file_source_works_and_each_file_is_read_once(make_repo: MakeRepo) -> None:
    src = MemorySource(repo_files(make_repo()))
    desired, findings = load_desired(src)
    assert findings == [] and len(desired.inventory) == 7
    assert sorted(src.reads) == sorted(src.files)


def test_all_problems_are_collected_not_just_the_first(make_repo: MakeRepo) -> None:
    root = make_repo("scenarios/schema", "scenarios/unknown-refs", "scenarios/malformed",
                     "scenarios/asacx")
    _, findings = load_desired(DirectorySource(root))
    files = {f.location.file for f in findings if f.location}
    assert {"desired/typos.yaml", "desired/bad-refs.yaml", "desired/broken.yaml",
            "desired/images-cx.yaml", "desired/cx.yaml"} <= files
    assert len(findings) >= 14


def test_defaults_twice_and_catalog_missing(make_repo: MakeRepo) -> None:
    root = make_repo(files={"desired/more.yaml": "defaults:\n  settings: {order: sequential}\n"})
    (root / "desired" / "images.yaml").rename(root / "desired" / "catalog.yaml")
    _, findings = load_desired(DirectorySource(root))
    codes = {(f.code, str(f.location)) for f in findings}
    assert (FindingCode.FILE_ERROR, "desired/images.yaml") in codes
    # catalog.yaml is read as policy: its images/bundles keys are unknown there
    assert (FindingCode.SCHEMA, "desired/catalog.yaml:3") in codes
    assert (FindingCode.DUPLICATE_NAME, "desired/more.yaml:1") in codes


def test_bad_time_zone(make_repo: MakeRepo) -> None:
    root = make_repo(files={"desired/devices.yaml": (
        "devices:\n  - name: br-1\n    settings:\n      maintenance_windows:\n"
        "        - {days: [sun], start: \"03:00\", duration_minutes: 60, tz: Mars/Olympus}\n")})
    desired, findings = load_desired(DirectorySource(root))
    assert [(f.code, str(f.location)) for f in findings] == [
        (FindingCode.SCHEMA, "desired/devices.yaml:5")]
    assert "Mars/Olympus" in findings[0].message
    assert "br-1" not in desired.devices  # the broken entry is left out, not half-used


def test_group_match_mode_is_typed(make_repo: MakeRepo) -> None:
    desired, _ = load_desired(DirectorySource(make_repo()))
    pairs = next(g for g in desired.groups if g.name == "pairs")
    assert pairs.match.mode is Mode.ACTIVE_STANDBY


# ----------------------------------------------------------------- never a traceback (fuzzing)

BASE_DOCS = {p: yaml.safe_load(t) for p, t in
             ((p, b.decode()) for p, b in repo_files(REPOS / "base").items())}
FUZZ_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 5000), st.floats(allow_nan=False, width=16),
    st.sampled_from(["", "asa", "agent", "disk9", "9.4(1)", "9.4.1", "7.3.2", "env:X", "file:../x",
                     "hunter2", "paralel", "sat", "25:00", "Mars/Olympus", "active-standby",
                     "ASA5585-SSP-20", "PIX-515E", "windows", "vpn", "nope", "../../etc/passwd",
                     "https://u:p@h/x", "asa941-smp-k8.bin", "RAM_LOW", "DISK_SPACE", "http://h",
                     "a" * 64, "*"]),
    st.just([]), st.just({}), st.lists(st.sampled_from(["sat", "branch", 1, None]), max_size=3),
    st.dictionaries(st.sampled_from(["name", "bogus", "tz", "asa", "password", "model"]),
                    st.sampled_from(["v", "9.4(1)", 3, None]), max_size=3),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_repositories_never_raise(data: st.DataObject) -> None:
    docs = copy.deepcopy(BASE_DOCS)
    for _ in range(data.draw(st.integers(1, 4))):
        path_name = data.draw(st.sampled_from(sorted(docs)))
        doc = docs[path_name]
        target = data.draw(st.sampled_from(all_paths(doc)))
        if not target:
            docs[path_name] = data.draw(FUZZ_VALUES)
            continue
        parent: Any = doc
        for step in target[:-1]:
            parent = parent[step]
        op = data.draw(st.sampled_from(["replace", "delete", "add", "duplicate"]))
        if op == "replace":
            parent[target[-1]] = data.draw(FUZZ_VALUES)
        elif op == "delete":
            del parent[target[-1]]
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[target[-1]]))
        elif isinstance(parent, dict):
            parent[data.draw(st.sampled_from(["bogus", "name", "images", "bundle", "match",
                                              "settings", "password", "mode", "tags"]))] = \
                data.draw(FUZZ_VALUES)
    files = {p: yaml.safe_dump(d, default_flow_style=False).encode() for p, d in docs.items()}
    desired, findings = load_desired(MemorySource(files))
    resolved, more = resolve_fleet(desired)
    assert set(resolved) == set(desired.inventory)
    for f in findings + more:
        assert f.message and f.code
        if f.code is FindingCode.INLINE_SECRET:
            assert "hunter2" not in f.message
