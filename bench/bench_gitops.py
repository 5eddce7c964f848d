"""Desired state from git: loading a commit vs the disk, dirty checks, PR change detection.

    python bench/bench_gitops.py [-n 20000] [--noise 20000]

Builds a git repository with the example catalog and policy, an inventory of N branch firewalls
(generated), and `noise` unrelated files elsewhere in the tree (a monorepo), commits it, then
commits a PR that moves one group's target. Prints the time to load the commit's tree
(GitTreeSource) and the same files from disk, `working_tree_state`, and PR change detection
(resolve both revisions + compare), with the number of devices selected.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import git

from reconciler.gitops.changes import Resolution, compare
from reconciler.gitops.source import GitTreeSource
from reconciler.gitops.worktree import working_tree_state
from reconciler.loader import DirectorySource, load_desired

ROOT = Path(__file__).resolve().parents[1]
ACTOR = git.Actor("bench", "bench@example.com")


def inventory(n: int) -> str:
    lines = ["defaults:", "  credentials:", "    username: admin",
             "    password: env:RECONCILER_FW_PASSWORD", "  driver: asa", "devices:"]
    for i in range(n):
        # half branch firewalls (the group the PR changes), half data-centre ones
        model, tag = ("ASA5506-X", "branch") if i % 2 else ("ASA5545-X", "datacenter")
        address = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        lines += [f"  - name: fw-{i:06d}", f"    address: {address}", f"    model: {model}",
                  f"    site: site-{i % 50}", f"    tags: [{tag}]"]
    return "\n".join(lines) + "\n"


def timed(label: str, fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    print(f"{label:<50} {time.perf_counter() - t0:8.3f} s")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20_000, help="inventory devices")
    ap.add_argument("--noise", type=int, default=20_000, help="unrelated files in the tree")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-gitops-"))
    try:
        path = tmp / "repo"
        repo = git.Repo.init(path, initial_branch="main")
        shutil.copytree(ROOT / "desired", path / "desired")
        (path / "inventory").mkdir()
        (path / "inventory/devices.yaml").write_text(inventory(args.n))
        for i in range(args.noise):
            d = path / "other" / f"d{i // 500:03d}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"f{i}.txt").write_text(f"unrelated {i}\n")
        timed(f"commit ({args.n} devices, {args.noise} other files)",
              lambda: (repo.git.add("--all"), repo.index.commit("base", author=ACTOR,
                                                                  committer=ACTOR)))
        base = repo.head.commit.hexsha
        fleet = path / "desired/fleet.yaml"
        fleet.write_text(fleet.read_text().replace('asa: "9.4(1)"', 'asa: "9.3(3)"', 1))
        repo.git.add("--all")
        head = repo.index.commit("pr", author=ACTOR, committer=ACTOR).hexsha

        def from_git(ref: str):  # type: ignore[no-untyped-def]
            with GitTreeSource(path, ref) as src:
                return load_desired(src)

        head_state, head_findings = timed("load commit tree (GitTreeSource)",
                                          lambda: from_git(head))
        timed("load the same files from disk (DirectorySource)",
              lambda: load_desired(DirectorySource(path)))
        state = timed("working_tree_state (clean)", lambda: working_tree_state(path))
        assert not state.dirty
        base_state, base_findings = from_git(base)
        changes = timed("resolve base + head, compare", lambda: compare(
            Resolution.of(base_state, base_findings), Resolution.of(head_state, head_findings)))
        print(f"devices selected by the PR: {len(changes.planned)} of {args.n}")
        repo.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
