"""DirectorySource: sorted relative listing, no escaping the root."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ConfigError
from reconciler.loader.source import DirectorySource, FileSource, check_relative, match_pattern


def test_lists_sorted_relative_posix_paths(tmp_path: Path) -> None:
    (tmp_path / "desired" / "sub").mkdir(parents=True)
    for name in ("b.yaml", "a.yaml", "c.yml", "notes.txt", "sub/deep.yaml"):
        (tmp_path / "desired" / name).write_text("x: 1\n")
    src = DirectorySource(tmp_path)
    assert isinstance(src, FileSource)
    assert src.list("desired/*.yaml") == ["desired/a.yaml", "desired/b.yaml"]
    assert src.list("desired/*.yml") == ["desired/c.yml"]
    assert src.list("missing/*.yaml") == []
    assert src.read("desired/a.yaml") == b"x: 1\n"
    assert src.size("desired/a.yaml") == 5
    assert src.label == str(tmp_path)


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../b", "a\\b", "", "a\0b"])
def test_paths_outside_the_root_are_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(ConfigError) as e:
        DirectorySource(tmp_path).read(path)
    assert e.value.code == "UNSAFE_PATH"


def test_symlinks_out_of_the_root_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("secret: 1\n")
    root = tmp_path / "repo"
    (root / "desired").mkdir(parents=True)
    (root / "desired" / "link.yaml").symlink_to(outside)
    (root / "desired" / "inside.yaml").write_text("a: 1\n")
    (root / "desired" / "ok.yaml").symlink_to(root / "desired" / "inside.yaml")
    src = DirectorySource(root)
    assert src.read("desired/ok.yaml") == b"a: 1\n"
    with pytest.raises(ConfigError, match="links outside"):
        src.read("desired/link.yaml")


def test_glob_stays_within_a_segment() -> None:
    assert match_pattern("desired/a.yaml", "desired/*.yaml")
    assert not match_pattern("desired/x/a.yaml", "desired/*.yaml")
    assert not match_pattern("desired.yaml", "desired/*.yaml")
    assert check_relative("desired/./a.yaml") == "desired/a.yaml"
