"""A working git repository seeded with the bundled example fleet, for tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import git

ROOT = Path(__file__).resolve().parents[2]
AUTHOR = git.Actor("Fleet Dev", "dev@example.com")


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
