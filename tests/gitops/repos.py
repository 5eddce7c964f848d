"""A working git repository seeded with the bundled example fleet, for tests."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git
import yaml

ROOT = Path(__file__).resolve().parents[2]
AUTHOR = git.Actor("Fleet Dev", "dev@example.com")
PRS = ROOT / "tests/fixtures/gitops/prs"


class FleetRepo:
    """A working repository holding desired/ and inventory/ (optionally under `subdir`)."""

    def __init__(self, path: Path, subdir: str = "") -> None:
        self.path = path
        self.subdir = subdir
        self.repo = git.Repo.init(path, initial_branch="main")
        with self.repo.config_writer() as cw:
            cw.set_value("user", "name", AUTHOR.name)
            cw.set_value("user", "email", AUTHOR.email)
            cw.set_value("commit", "gpgsign", "false")

    @property
    def root(self) -> Path:
        return self.path / self.subdir if self.subdir else self.path

    def seed_example(self) -> str:
        for part in ("desired", "inventory"):
            shutil.copytree(ROOT / part, self.root / part)
        return self.commit("example fleet")

    def write(self, rel: str, text: str) -> None:
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text()

    def replace(self, rel: str, old: str, new: str, count: int = 1) -> None:
        text = self.read(rel)
        assert text.count(old) >= count, f"{old!r} not found {count} time(s) in {rel}"
        self.write(rel, text.replace(old, new, count))

    def commit(self, message: str) -> str:
        self.repo.git.add("--all")
        c = self.repo.index.commit(message, author=AUTHOR, committer=AUTHOR)
        return str(c.hexsha)

    def branch(self, name: str, start: str = "HEAD") -> None:
        self.repo.git.checkout("-q", "-b", name, start)

    def checkout(self, name: str) -> None:
        self.repo.git.checkout("-q", name)

    def close(self) -> None:
        self.repo.close()

    def apply(self, edits: list[dict[str, Any]]) -> None:
        """Apply the edits of a PR scenario (tests/fixtures/gitops/prs/README.md)."""
        for e in edits:
            rel = e["file"]
            if e.get("delete"):
                (self.root / rel).unlink()
            elif "write" in e:
                self.write(rel, _margin(e["write"]))
            elif "append" in e:
                self.write(rel, self.read(rel) + _margin(e["append"]))
            elif "regex" in e:
                text, n = re.subn(e["regex"], e["with"], self.read(rel), count=1)
                assert n == 1, f"{e['regex']!r} does not match in {rel}"
                self.write(rel, text)
            else:
                self.replace(rel, _margin(e["replace"]), _margin(e["with"]))


def _margin(text: str) -> str:
    lines = text.splitlines(keepends=True)
    if lines and all(ln.startswith("|") for ln in lines):
        return "".join(ln[1:] for ln in lines)
    return text


@dataclass(frozen=True)
class PrScenario:
    name: str
    data: dict[str, Any]

    @property
    def expect(self) -> dict[str, Any]:
        return dict(self.data.get("expect") or {})

    def replay(self, repo: FleetRepo) -> tuple[str, str]:
        """Commit base_edits on main, then edits on branch `pr`; return (base, head) SHAs."""
        if self.data.get("base_edits"):
            repo.apply(self.data["base_edits"])
            repo.commit(f"{self.name}: base")
        base = str(repo.repo.head.commit.hexsha)
        repo.branch("pr")
        repo.apply(self.data["edits"])
        head = repo.commit(f"{self.name}: {self.data['description']}")
        return base, head


def pr_scenarios() -> list[PrScenario]:
    return [PrScenario(p.stem, yaml.safe_load(p.read_text()))
            for p in sorted(PRS.glob("*.yaml"))]
