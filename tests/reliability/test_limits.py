"""Size and shape limits hold before anything big is read or built.

- A desired-state file over the size limit is refused from its size alone (a 64 GiB sparse file
  is never opened); the limit is exact (at the limit: read; one byte more: refused).
- Special files in the repository (FIFO, a link to /dev/zero) are never read, so a run cannot
  block or read forever.
- Alias bombs, recursive aliases and deep nesting are refused in every kind of file, by
  `reconciler validate`, at file:line.
- Snapshots and saved plans: over the limit, streams without a size, deep nesting — one
  ConfigError naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.contract import FindingCode
from reconciler.errors import ConfigError
from reconciler.loader import DirectorySource, YamlLimits, load_desired, load_snapshot
from reconciler.loader.plan import load_plan
from tests.conftest import PROJECT_ROOT, MakeRepo
from tests.reliability.test_fuzz_loader import billion_laughs

GiB = 2**30


class SpySource(DirectorySource):
    """The real directory source, remembering which files were read."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: list[str] = []

    def read(self, path: str) -> bytes:
        self.reads.append(path)
        return super().read(path)


def validate(repo: Path, *args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, ["validate", "--repo", str(repo), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output.splitlines()


def example(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    for d in ("desired", "inventory"):
        (repo / d).mkdir(parents=True)
        for f in (PROJECT_ROOT / d).glob("*.yaml"):
            (repo / d / f.name).write_bytes(f.read_bytes())
    return repo


def test_a_huge_file_is_refused_without_being_read(tmp_path: Path) -> None:
    repo = example(tmp_path)
    with open(repo / "desired" / "huge.yaml", "wb") as fh:
        fh.truncate(64 * GiB)  # sparse: reading it would take minutes and all the memory
    source = SpySource(repo)
    _, findings = load_desired(source)
    assert "desired/huge.yaml" not in source.reads
    big = [f for f in findings if f.code is FindingCode.YAML_LIMIT]
    assert [str(f.location) for f in big] == ["desired/huge.yaml"]
    assert f"file is {64 * GiB} bytes, above the" in big[0].message
    code, out = validate(repo)
    assert code == 1 and any(line.startswith("desired/huge.yaml: YAML_LIMIT") for line in out)


def test_the_size_limit_is_exact(tmp_path: Path) -> None:
    repo = example(tmp_path)
    biggest = max(p.stat().st_size for p in repo.glob("*/*.yaml"))
    assert validate(repo, "--max-file-size", str(biggest))[0] == 0
    at_limit = YamlLimits(max_bytes=biggest)
    assert not [f for f in load_desired(DirectorySource(repo), at_limit)[1]
                if f.code is FindingCode.YAML_LIMIT]
    over = [f for f in load_desired(DirectorySource(repo), YamlLimits(max_bytes=biggest - 1))[1]
            if f.code is FindingCode.YAML_LIMIT]
    assert len(over) == 1 and f"{biggest - 1}-byte limit" in over[0].message


@pytest.mark.timeout(60)  # a hang guard: reading a FIFO blocks, /dev/zero never ends
def test_special_files_are_never_read(tmp_path: Path) -> None:
    repo = example(tmp_path)
    os.mkfifo(repo / "desired" / "pipe.yaml")
    (repo / "desired" / "zero.yaml").symlink_to("/dev/zero")
    (repo / "inventory" / "zero.yaml").symlink_to("/dev/zero")
    source = SpySource(repo)
    load_desired(source)
    assert not {"desired/pipe.yaml", "desired/zero.yaml", "inventory/zero.yaml"} & set(source.reads)
    assert validate(repo)[0] in (0, 1)


@pytest.mark.parametrize("rel", ["desired/images.yaml", "desired/fleet.yaml",
                                 "inventory/devices.yaml"])
@pytest.mark.parametrize("bomb,code,snippet", [
    (billion_laughs(), "YAML_LIMIT", "billion laughs"),
    ("loop: &r {again: *r}", "YAML_LIMIT", "recursive structure"),
    ("deep: " + "[" * 10_000 + "]" * 10_000, "YAML_LIMIT", "nesting deeper than 64 levels"),
    ("deep:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 300)), "YAML_LIMIT",
     "nesting deeper than 64 levels"),
    ("evil: !!python/object/apply:os.system ['touch /tmp/reconciler-pwned']", "YAML_SYNTAX",
     "is not allowed here"),
], ids=["billion-laughs", "recursive-alias", "flow-nesting-10k", "block-nesting", "python-tag"])
def test_bombs_are_refused_in_every_file_at_file_line(make_repo: MakeRepo, rel: str, bomb: str,
                                                      code: str, snippet: str) -> None:
    repo = make_repo()
    path = repo / rel
    path.write_text(bomb + "\n" + path.read_text())
    status, out = validate(repo)
    assert status == 1
    mine = [line for line in out if line.startswith(f"{rel}:") and f": {code} " in line]
    assert mine and snippet in mine[0], out
    assert mine[0].split(":")[1].isdigit()  # file:line
    assert not Path("/tmp/reconciler-pwned").exists()


# ----------------------------------------------------------------- snapshots and saved plans

@pytest.mark.parametrize("loader", [load_snapshot, load_plan], ids=["snapshot", "plan"])
def test_json_inputs_over_the_limit_or_without_a_size(loader, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sparse = tmp_path / "sparse.json"
    with open(sparse, "wb") as fh:
        fh.truncate(64 * GiB)
    with pytest.raises(ConfigError) as e:
        loader(sparse)
    assert e.value.code == "YAML_LIMIT" and e.value.location.file == str(sparse)
    with pytest.raises(ConfigError) as e:
        loader("/dev/zero", max_bytes=1 << 20)
    assert e.value.code == "YAML_LIMIT" and "larger than" in str(e.value)


@pytest.mark.parametrize("loader", [load_snapshot, load_plan], ids=["snapshot", "plan"])
@pytest.mark.parametrize("depth", [500, 5_000, 200_000])
def test_deeply_nested_json_is_a_clean_error(loader, tmp_path: Path, depth: int) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "deep.json"
    p.write_text('{"format_version": 1, "devices": ' + "[" * depth + "]" * depth + "}")
    with pytest.raises(ConfigError) as e:
        loader(p)
    assert e.value.location is not None and e.value.location.file == str(p)
    assert e.value.code in ("YAML_LIMIT", "SCHEMA")
