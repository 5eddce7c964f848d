"""GitTreeSource: the exact commit's files, never the working tree; refs; URLs; clean errors."""

from __future__ import annotations

import os
from pathlib import Path

import git
import pytest

from reconciler.errors import ConfigError
from reconciler.gitops.source import GitTreeSource, MirrorCache, display_url, is_url
from reconciler.loader import DirectorySource, load_desired
from tests.gitops.repos import FleetRepo

BRANCH_TARGET = 'asa: "9.4(1)"\n      asdm: "7.16(1)"'


def _asa_target(state, group: str) -> str:  # type: ignore[no-untyped-def]
    return next(g for g in state.groups if g.name == group).images["asa"]


def test_reads_the_commit_not_the_working_tree(fleet_repo: FleetRepo) -> None:
    base = fleet_repo.repo.head.commit.hexsha
    fleet_repo.replace("desired/fleet.yaml", BRANCH_TARGET, BRANCH_TARGET.replace("9.4(1)", "9.3(3)"))
    head = fleet_repo.commit("branch firewalls to 9.3(3)")
    # uncommitted edits, a staged edit and an untracked file must all be invisible
    fleet_repo.replace("desired/fleet.yaml", '"9.3(3)"', '"9.2(3)"')
    fleet_repo.write("desired/extra.yaml", "groups: [{name: x, match: {tags: [x]}}]\n")
    fleet_repo.write("inventory/devices.yaml", "not: [valid")
    fleet_repo.repo.git.add("inventory/devices.yaml")
    status_before = fleet_repo.repo.git.status("--porcelain")

    with GitTreeSource(fleet_repo.path, "HEAD") as src:
        assert src.commit == head
        assert src.list("desired/*.yaml") == ["desired/devices.yaml", "desired/fleet.yaml",
                                              "desired/images.yaml"]
        state, findings = load_desired(src)
    assert not [f for f in findings if f.blocking], [f.line() for f in findings]
    assert state.commit == head
    assert _asa_target(state, "branch-5500x") == "9.3(3)"
    assert len(state.inventory) == 12

    with GitTreeSource(fleet_repo.path, base) as src:
        old, _ = load_desired(src)
    assert _asa_target(old, "branch-5500x") == "9.4(1)"
    assert old.commit == base

    # nothing about the checkout changed
    assert fleet_repo.repo.git.status("--porcelain") == status_before
    assert fleet_repo.repo.head.commit.hexsha == head


def test_same_digest_as_the_directory_it_came_from(fleet_repo: FleetRepo) -> None:
    from_dir, _ = load_desired(DirectorySource(fleet_repo.path))
    with GitTreeSource(fleet_repo.path, "main") as src:
        from_git, _ = load_desired(src)
    assert from_git.content_digest == from_dir.content_digest
    assert from_git.inventory == from_dir.inventory


@pytest.mark.parametrize("ref", ["main", "v1", "v1-light", "HEAD~1", "origin/main", "SHORT",
                                 "FULL", "refs/heads/main"])
def test_refs(fleet_repo: FleetRepo, tmp_path: Path, ref: str) -> None:
    first = fleet_repo.repo.head.commit.hexsha
    fleet_repo.repo.create_tag("v1", message="release 1")  # annotated: peeled to the commit
    fleet_repo.repo.create_tag("v1-light")
    fleet_repo.write("desired/notes.yaml", "{}\n")
    second = fleet_repo.commit("second")
    clone = git.Repo.clone_from(fleet_repo.path, tmp_path / "clone")  # gives origin/main
    ref = {"SHORT": second[:10], "FULL": second}.get(ref, ref)
    expected = first if ref in ("v1", "v1-light", "HEAD~1") else second
    with GitTreeSource(tmp_path / "clone", ref) as src:
        assert src.commit == expected
        assert ("desired/notes.yaml" in src.list("desired/*.yaml")) == (expected == second)
    clone.close()


@pytest.mark.parametrize("ref", ["no-such-branch", "deadbeef", "main~99", "--output=/tmp/x",
                                 "main:desired"])
def test_bad_ref_is_one_clean_line(fleet_repo: FleetRepo, ref: str) -> None:
    with pytest.raises(ConfigError) as err:
        GitTreeSource(fleet_repo.path, ref)
    text = str(err.value)
    assert "\n" not in text
    assert repr(ref) in text
    if not ref.startswith("-"):
        assert str(fleet_repo.path) in text


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not inside a git repository"):
        GitTreeSource(tmp_path, "main")
    with pytest.raises(ConfigError, match="does not exist"):
        GitTreeSource(tmp_path / "missing", "main")


def test_bare_repository(fleet_repo: FleetRepo, tmp_path: Path) -> None:
    bare = git.Repo.clone_from(fleet_repo.path, tmp_path / "bare.git", bare=True)
    bare.close()
    with GitTreeSource(tmp_path / "bare.git", "main") as src:
        state, findings = load_desired(src)
    assert not [f for f in findings if f.blocking]
    assert state.commit == fleet_repo.repo.head.commit.hexsha


def test_subdirectory_of_a_monorepo(tmp_path: Path) -> None:
    repo = FleetRepo(tmp_path / "mono", subdir="network/fleet")
    repo.seed_example()
    repo.write("README.md", "monorepo\n")
    repo.commit("readme")
    with GitTreeSource(repo.root, "main") as src:  # position inside the work tree
        assert src.subdir == "network/fleet"
        assert "inventory/devices.yaml" in src.list("inventory/*.yaml")
        state, _ = load_desired(src)
    assert len(state.inventory) == 12
    with GitTreeSource(repo.path, "main", subdir="network/fleet") as src:
        assert src.read("desired/fleet.yaml") == (repo.root / "desired/fleet.yaml").read_bytes()
    with GitTreeSource(repo.path, "main") as src:  # the top has no desired/
        _, findings = load_desired(src)
    assert any(f.code == "FILE_ERROR" for f in findings)
    repo.close()


def test_missing_file_and_unsafe_paths(fleet_repo: FleetRepo) -> None:
    with GitTreeSource(fleet_repo.path, "main") as src:
        with pytest.raises(ConfigError, match="does not exist in commit"):
            src.read("desired/nope.yaml")
        for bad in ("../x.yaml", "/etc/passwd", "desired/../../x"):
            with pytest.raises(ConfigError) as err:
                src.read(bad)
            assert err.value.code == "UNSAFE_PATH"
        assert src.list("nothing/*.yaml") == []
        assert src.size("desired/fleet.yaml") == len(src.read("desired/fleet.yaml"))


def test_symlinks_inside_are_followed_outside_refused(fleet_repo: FleetRepo) -> None:
    os.symlink("../desired/fleet.yaml", fleet_repo.root / "inventory/link.yaml")
    os.symlink("../../secret.yaml", fleet_repo.root / "desired/escape.yaml")
    os.symlink("loop2.yaml", fleet_repo.root / "desired/loop1.yaml")
    os.symlink("loop1.yaml", fleet_repo.root / "desired/loop2.yaml")
    fleet_repo.commit("links")
    with GitTreeSource(fleet_repo.path, "main") as src:
        assert src.read("inventory/link.yaml") == src.read("desired/fleet.yaml")
        for bad in ("desired/escape.yaml", "desired/loop1.yaml"):
            with pytest.raises(ConfigError) as err:
                src.read(bad)
            assert err.value.code == "UNSAFE_PATH"
        _, findings = load_desired(src)
    unsafe = {f.location.file for f in findings if f.code == "UNSAFE_PATH" and f.location}
    assert {"desired/escape.yaml", "desired/loop1.yaml"} <= unsafe


def test_url_is_mirrored_and_fetched(fleet_repo: FleetRepo, tmp_path: Path) -> None:
    url = fleet_repo.path.as_uri()  # file:// goes through the same clone/fetch path as https
    cache = MirrorCache(tmp_path / "cache")
    with GitTreeSource(url, "origin/main", cache=cache) as src:
        first = src.commit
        assert src.repo.bare
        assert Path(src.repo.git_dir).parent == tmp_path / "cache"
        assert src.label.startswith(f"git:{url}@origin/main")
    fleet_repo.write("desired/late.yaml", "{}\n")
    second = fleet_repo.commit("later")
    with GitTreeSource(url, "main", cache=cache, fetch=False) as src:
        assert src.commit == first  # offline: the cached mirror
    with GitTreeSource(url, "main", cache=cache) as src:
        assert src.commit == second
        assert "desired/late.yaml" in src.list("desired/*.yaml")
    assert len(list((tmp_path / "cache").glob("*.git"))) == 1


def test_url_errors_are_clean(tmp_path: Path) -> None:
    cache = MirrorCache(tmp_path / "cache")
    with pytest.raises(ConfigError) as err:
        GitTreeSource((tmp_path / "nowhere").as_uri(), "main", cache=cache)
    assert str(err.value).startswith("GIT cannot clone file://")
    assert "\n" not in str(err.value)
    assert not list((tmp_path / "cache").glob("*.git")), "no half mirror is left behind"
    with pytest.raises(ConfigError, match="embeds a password") as err:
        GitTreeSource("https://bot:s3cr3t-token@git.example.com/fleet.git", "main", cache=cache)
    assert "s3cr3t" not in str(err.value)


def test_url_detection() -> None:
    assert is_url("https://github.com/acme/fleet.git")
    assert is_url("git@github.com:acme/fleet.git")
    assert is_url("ssh://git@host:2222/fleet")
    assert not is_url("/srv/fleet")
    assert not is_url("fleet")
    assert not is_url("./a:b")
    assert display_url("https://u:p@h.example:8443/x.git") == "https://h.example:8443/x.git"
    assert display_url("https://u@h.example/x.git") == "https://u@h.example/x.git"
