"""Observed snapshots: JSON round trip, schema check, clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.core.model import ImageType, Mode, Role
from reconciler.core.observed import snapshot_to_dict
from reconciler.errors import ConfigError
from reconciler.loader import load_snapshot, save_snapshot
from tests.conftest import FIXTURES

FLEET = FIXTURES / "snapshots" / "fleet.json"


def test_round_trip(tmp_path: Path) -> None:
    snap = load_snapshot(FLEET)
    assert set(snap.devices) == {"br-1", "dc-1", "dc-c", "aa-1", "ep-1", "fpr-1"}
    pair = snap.devices["dc-1"]
    assert pair.mode is Mode.ACTIVE_STANDBY
    assert [m.role for m in pair.members] == [Role.ACTIVE, Role.STANDBY]
    assert pair.members[1].disk("disk1").free == 15_000_000_000  # type: ignore[union-attr]
    assert snap.devices["ep-1"].running == {ImageType.AGENT: "7.3.1.2048"}
    assert snap.errors["br-2"].temporary is True
    out = tmp_path / "sub" / "snap.json"
    save_snapshot(snap, out)
    again = load_snapshot(out)
    assert again == snap
    assert snapshot_to_dict(again) == json.loads(FLEET.read_text())
    assert [p.name for p in out.parent.iterdir()] == ["snap.json"]  # no temp files left


@pytest.mark.parametrize("content,snippet,line", [
    ('{"format_version": 1, "devices": [}', "not valid JSON", 1),
    ('{"format_version": 1,\n "devices": []\n,}', "not valid JSON", 3),
    ('[]', "expected a mapping", None),
    ('{"format_version": 2, "devices": []}', "format_version: must be 1", None),
    ('{"format_version": 1, "devices": [{"name": "x", "model": "m", "platform": "p", '
     '"mode": "solo"}]}', "devices[x].mode: 'solo' is not one of", None),
    ('{"format_version": 1, "devices": [], "extra": 1}', "unknown key 'extra'", None),
])
def test_bad_snapshots_are_clean_errors(tmp_path: Path, content: str, snippet: str,
                                        line: int | None) -> None:
    p = tmp_path / "s.json"
    p.write_text(content)
    with pytest.raises(ConfigError) as e:
        load_snapshot(p)
    assert snippet in str(e.value)
    assert e.value.location is not None and e.value.location.file == str(p)
    assert e.value.location.line == line


def test_missing_binary_and_oversized(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as e:
        load_snapshot(tmp_path / "nope.json")
    assert "reconciler discover" in str(e.value)
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="not UTF-8 JSON"):
        load_snapshot(tmp_path / "bin.json")
    with pytest.raises(ConfigError, match="limit"):
        load_snapshot(FLEET, max_bytes=100)
    (tmp_path / "deep.json").write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(ConfigError):
        load_snapshot(tmp_path / "deep.json")


def test_a_stream_is_read_no_further_than_the_limit(tmp_path: Path) -> None:
    # regression: /dev/zero has size 0 to stat(), and was read until memory ran out
    with pytest.raises(ConfigError) as e:
        load_snapshot("/dev/zero", max_bytes=4096)
    assert e.value.code == "YAML_LIMIT" and "larger than the 4096-byte limit" in str(e.value)


def test_a_huge_sparse_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with open(big, "wb") as fh:
        fh.truncate(64 * 2**30)  # 64 GiB of nothing: reading it would take minutes
    with pytest.raises(ConfigError) as e:
        load_snapshot(big)
    assert f"is {64 * 2**30} bytes, above the" in str(e.value) and e.value.code == "YAML_LIMIT"
