"""The daemon's desired-state cache parses again exactly when a file the loader reads changed
(content, a new file, a link's target), and otherwise answers what a fresh load would."""

from __future__ import annotations

import os

from reconciler.gitops.desired_cache import DesiredCache
from reconciler.gitops.source import GitTreeSource
from reconciler.loader import load_desired
from tests.gitops.repos import FleetRepo


def _load(cache: DesiredCache, repo: FleetRepo):  # type: ignore[no-untyped-def]
    with GitTreeSource(repo.path, "main") as src:
        desired, findings, parsed = cache.load(src)
        fresh, fresh_findings = load_desired(src)
    assert desired == fresh and desired.commit == fresh.commit == src.commit
    assert desired.content_digest == fresh.content_digest
    assert [f.line() for f in findings] == [f.line() for f in fresh_findings]
    return desired, parsed


def test_parsed_only_when_the_policy_files_change(fleet_repo: FleetRepo) -> None:
    cache = DesiredCache()
    first, parsed = _load(cache, fleet_repo)
    assert parsed
    again, parsed = _load(cache, fleet_repo)
    assert not parsed and again is first  # the same commit: the very same state
    fleet_repo.write("README.md", "notes\n")
    fleet_repo.commit("docs only")
    moved, parsed = _load(cache, fleet_repo)
    assert not parsed and moved.commit != first.commit and moved.images is first.images
    fleet_repo.replace("desired/fleet.yaml", 'asa: "9.4(1)"', 'asa: "9.4(1)"  # reviewed')
    fleet_repo.commit("comment in the policy")
    _, parsed = _load(cache, fleet_repo)
    assert parsed  # any byte: findings quote lines, the digest covers the bytes
    fleet_repo.write("desired/extra.yaml", "groups: []\n")
    fleet_repo.commit("a new policy file")
    _, parsed = _load(cache, fleet_repo)
    assert parsed


def test_a_link_whose_target_changed_is_read_again(fleet_repo: FleetRepo) -> None:
    fleet_repo.write("shared/more.yaml", "groups: []\n")
    os.symlink("../shared/more.yaml", fleet_repo.root / "desired/more.yaml")
    fleet_repo.commit("linked policy")
    cache = DesiredCache()
    _load(cache, fleet_repo)
    fleet_repo.write("shared/more.yaml", "groups: []\n# changed\n")
    fleet_repo.commit("the link's target changed")
    _, parsed = _load(cache, fleet_repo)
    assert parsed


def test_unreadable_files_are_never_cached(fleet_repo: FleetRepo) -> None:
    os.symlink("../../secret.yaml", fleet_repo.root / "desired/escape.yaml")
    fleet_repo.commit("a link out of the tree")
    cache = DesiredCache()
    for _ in range(2):
        desired, parsed = _load(cache, fleet_repo)
        assert parsed
