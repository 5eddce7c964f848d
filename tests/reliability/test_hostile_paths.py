"""Hostile image names and sources, and images whose bytes are not the catalog's.

Each layer refuses on its own, so a bug in one is not an escape:
1. `reconciler validate`: UNSAFE_PATH at file:line, never echoing credentials;
2. the image repository: nothing is read or written outside it, whatever the name or source;
3. the drivers and the simulated devices: a device path stays in the top directory of a disk;
4. checksums: the planner blocks IMAGE_CHECKSUM, and — the last line of defence — streaming a
   repository file whose bytes are not the catalog's stops before the last byte, so the device
   never holds the file complete, even when the repository's checksum cache was fooled.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from reconciler.cli import cli
from reconciler.core.catalog import unsafe_image_name, unsafe_source
from reconciler.core.model import ImageStatus, ImageType
from reconciler.drivers.base import Digest, PermanentDeviceError
from reconciler.errors import PermanentError
from reconciler.images.download import ChecksumMismatch
from reconciler.images.repository import ImageRepository
from reconciler.images.safety import SourceKind, UnsafePathError, parse_source
from reconciler.images.upload import RepositorySource
from reconciler.sim.app import create_app
from tests.conftest import MakeRepo
from tests.images.server import image_for, payload
from tests.reliability.budget import fuzz
from tests.sim_support import make_fleet, open_driver

HOSTILE_NAMES = [
    "../asa941-smp-k8.bin", "../../etc/passwd", "/etc/passwd", "~root.bin", "..", ".",
    "a\\..\\b.bin", "C:\\asa.bin", "asa\x00.bin", "%2e%2e%2fasa.bin", "%2E%2E%5Casa.bin",
    "%252e%252e%252fasa.bin", "file:asa.bin", "https://user:pass@host/asa.bin",
    "asa\u2215..\u2215x.bin", "\uff0e\uff0e\uff0fasa.bin", "\u0430sa941-smp-k8.bin",
    "asa941.bin\u202egpj", ".index.json", "asa\nshow run.bin", "asa\x7f.bin",
]
HOSTILE_SOURCES = [
    "../../etc/passwd", "mirror/../../../etc/shadow", "/etc/shadow", "~/asa.bin", "~root/asa.bin",
    "C:\\images\\asa.bin", "mirror\\..\\..\\asa.bin", "\\\\server\\share\\asa.bin",
    "file:///etc/passwd", "file://localhost/etc/passwd", "ftp://host/asa.bin", "smb://host/a.bin",
    "https://admin:Sup3rSecret@images.example.com/asa.bin", "https://admin@images.example.com/a.bin",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "mirror/%2E%2E/%2E%2E/asa.bin", "mirror/%252e%252e/a.bin",
    "mirror\u2215..\u2215..\u2215asa.bin", "\uff0e\uff0e\uff0fasa.bin", "mirror\ufe68..\ufe68a.bin",
    "synthetic:../asa.bin", "synthetic:%2e%2e%2fa.bin", "mirror/a.bin\x00.txt", "a\u0085b.bin",
    "https:///nohost.bin",
]
SECRET = "Sup3rSecret"


def _yaml_string(s: str) -> str:
    return json.dumps(s)  # a JSON string is a YAML double-quoted string, escapes included


def _catalog(names: list[str], sources: list[str]) -> str:
    entries = []
    for i, name in enumerate(names):
        entries.append({"name": name, "source": f"mirror/ok-{i}.bin"})
    for i, source in enumerate(sources):
        entries.append({"name": f"asdm-9{i:02d}.bin", "source": source})
    lines = ["images:"]
    for i, e in enumerate(entries):
        lines += [f"  - name: {_yaml_string(e['name'])}", "    type: asdm",
                  f'    version: "7.{i // 10}({i % 10})"', "    platforms: [asa5500x]",
                  "    size: 1", "    sha256: " + "ab" * 32, f"    source: {_yaml_string(e['source'])}"]
    return "\n".join(lines) + "\n"


def test_validate_refuses_every_hostile_name_and_source_at_file_line(make_repo: MakeRepo) -> None:
    repo = make_repo(files={"desired/images-hostile.yaml": _catalog(HOSTILE_NAMES, HOSTILE_SOURCES)})
    result = CliRunner().invoke(cli, ["validate", "--repo", str(repo)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    unsafe = [line for line in result.output.splitlines() if ": UNSAFE_PATH " in line]
    lines = {int(m.group(1)) for line in unsafe
             if (m := re.match(r"^desired/images-hostile\.yaml:(\d+): UNSAFE_PATH", line))}
    # one finding per entry, at the entry's line (entries are 7 lines long, from line 2)
    want = {2 + 7 * i for i in range(len(HOSTILE_NAMES) + len(HOSTILE_SOURCES))}
    assert lines == want, "\n".join(unsafe)
    assert SECRET not in result.output


# ----------------------------------------------------------------- the rules, as properties

_pieces = st.sampled_from([".", "..", "/", "\\", "%2e", "%2f", "%5c", "%25", "%00", "~", ":",
                           "C:", "a", "bin", "-", " ", "\u2215", "\uff0f", "\uff0e", "\u2025",
                           "\ufe68", "\u0430", "\x00", "\n", "http://", "https://", "u:p@",
                           "synthetic:", "file:", "@", "?", "#"])
hostile_text = st.lists(_pieces | st.text(max_size=3), max_size=12).map("".join)


@fuzz(500)
@given(name=hostile_text)
def test_an_accepted_image_name_is_one_plain_ascii_file_in_the_directory(name: str) -> None:
    if unsafe_image_name(name) is not None:
        return
    assert name.isascii() and name.isprintable()
    assert PurePosixPath(name).name == name and "\\" not in name and name not in (".", "..")
    assert not re.search(r"%(2e|2f|5c|00|25)", name, re.IGNORECASE)
    root = Path("/srv/images")
    assert (root / name).parent == root


@fuzz(500)
@given(source=hostile_text)
def test_an_accepted_path_source_stays_below_the_source_directory(source: str) -> None:
    try:
        parsed = parse_source(source, image="x.bin")
    except UnsafePathError as e:
        assert e.code == "UNSAFE_PATH"
        if re.match(r"(?i)https?://[^/]*u:p@", source):
            assert "u:p@" not in str(e)  # credentials in a URL are never repeated
        return
    assert unsafe_source(source) is None
    if parsed.kind is SourceKind.PATH:
        base = Path("/srv/image-source")
        full = Path(os.path.normpath(base / parsed.value))
        assert full == base or base in full.parents, (source, parsed.value)
        assert not re.search(r"%(2e|2f|5c|00|25)", parsed.value, re.IGNORECASE)
    elif parsed.kind is SourceKind.HTTP:
        parts = urlsplit(parsed.value)
        assert parts.username is None and parts.password is None and "@" not in parts.netloc


# ----------------------------------------------------------------- the image repository

def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_the_repository_refuses_hostile_names(tmp_path: Path, name: str) -> None:
    repo = ImageRepository(tmp_path / "repo")
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 64)
    before = _tree(tmp_path)
    image = image_for(name, src.read_bytes())
    for call in (lambda: repo.import_file(src, image), lambda: repo.fetch(image),
                 lambda: repo.path_of(name), lambda: repo.open_stream(name), lambda: repo.remove(name),
                 lambda: repo.verify(names=[name])):
        with pytest.raises(UnsafePathError) as e:
            call()
        assert e.value.code == "UNSAFE_PATH" and e.value.hint
    assert repo.status({name: image}) == {name: ImageStatus.MISSING}
    assert _tree(tmp_path) - before <= {"repo", "repo/.incoming"}


@pytest.mark.parametrize("source", HOSTILE_SOURCES)
def test_the_repository_refuses_hostile_sources(tmp_path: Path, source: str) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_bytes(b"root:x:0:0")
    source_dir = tmp_path / "source" / "inner"
    source_dir.mkdir(parents=True)
    repo = ImageRepository(tmp_path / "repo")
    image = image_for("asdm-900.bin", b"root:x:0:0", source=source, type=ImageType.ASDM)
    with pytest.raises(UnsafePathError) as e:
        repo.fetch(image, source_dir=source_dir)
    assert e.value.code == "UNSAFE_PATH" and SECRET not in str(e.value)
    assert repo.files() == []


# ----------------------------------------------------------------- drivers and simulated devices

async def _driver_call(name: str, call: Any) -> tuple[BaseException | None, list[str]]:
    fleet = make_fleet()
    sent: list[str] = []

    async def record(request: httpx.Request) -> None:
        sent.append(f"{request.method} {request.url.path}")

    app = create_app(fleet)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 event_hooks={"request": [record]}) as client:
        async with open_driver(fleet, name, client) as drv:
            try:
                await call(drv)
            except BaseException as e:  # noqa: BLE001 - the test inspects it
                return e, sent
    return None, sent


async def _chunks() -> Any:
    yield b"x" * 16


@pytest.mark.parametrize("name", [n for n in HOSTILE_NAMES if n not in (".index.json",)])
async def test_drivers_refuse_hostile_device_paths_before_sending_anything(name: str) -> None:
    calls = {
        "fw-solo": [lambda d: d.upload(None, "disk0", name, _chunks(), 16),
                    lambda d: d.verify(None, f"disk0:/{name}", Digest("sha-512", "00" * 64)),
                    lambda d: d.delete_file(None, f"disk0:/{name}", force=True),
                    lambda d: d.backup(None, "disk0:/asa933-lfbff-k8.SPA", f"disk0:/{name}"),
                    lambda d: d.set_boot([f"disk0:/{name}"]),
                    lambda d: d.set_asdm(f"disk0:/{name}")],
        "ep-one": [lambda d: d.upload(None, "packages", name, _chunks(), 16),
                   lambda d: d.verify(None, f"packages:/{name}", Digest("sha-256", "00" * 32)),
                   lambda d: d.delete_file(None, f"packages:/{name}")],
    }
    for device, ops in calls.items():
        for op in ops:
            err, sent = await _driver_call(device, op)
            assert isinstance(err, PermanentDeviceError) and err.code == "BAD_PATH", (device, err)
            assert err.device == device
            assert not [s for s in sent if "files" in s or "packages" in s or "exec" in s], sent


@pytest.mark.parametrize("raw", ["%2E%2E", "%2E", "a%5Cb.bin", "a%00b.bin", "a%0Ashow%20run.bin"])
async def test_simulated_devices_refuse_paths_off_the_disk(raw: str) -> None:
    """A client that bypasses the driver still cannot put a file off the disk's top directory."""
    fleet = make_fleet()
    before = {n: dict(u.disks["disk0"].files) for n, u in
              ((u.name, u) for u in fleet.asa("fw-solo").units)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(fleet)),
                                 base_url="https://sim") as client:
        auth = ("admin", "sim-test-password-7f3a")
        r = await client.put(f"/d/fw-solo/admin/files/disk0/{raw}", content=b"x" * 16,
                             auth=auth)
        assert r.status_code == 400 and "Invalid path" in r.text
        r = await client.put(f"/d/ep-one/api/v1/packages/{raw}", content=b"x" * 16,
                             headers={"Authorization": "Bearer sim-test-token-91c2"})
        assert r.status_code == 400
    assert {u.name: dict(u.disks["disk0"].files) for u in fleet.asa("fw-solo").units} == before
    assert not fleet.uploads


# ----------------------------------------------------------------- checksums

@pytest.fixture
def stored(tmp_path: Path) -> tuple[ImageRepository, Any, Path]:
    body = payload("asa-test-k8.bin", 700_000)
    src = tmp_path / "asa-test-k8.bin"
    src.write_bytes(body)
    repo = ImageRepository(tmp_path / "repo")
    image = image_for("asa-test-k8.bin", body)
    repo.import_file(src, image)
    return repo, image, repo.path_of(image.name)


def tamper_keeping_size_and_mtime(path: Path, at: int = 1000) -> None:
    """Change one byte in place and put the modification time back: the checksum cache, keyed
    by (size, mtime), cannot notice — only reading the bytes can."""
    st = path.stat()
    with open(path, "r+b") as fh:
        fh.seek(at)
        b = fh.read(1)
        fh.seek(at)
        fh.write(bytes([b[0] ^ 0xFF]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


async def _copy(repo: ImageRepository, image: Any, faults: list[dict[str, Any]] = ()
                ) -> tuple[Any, Any]:
    fleet = make_fleet()
    for f in faults:
        fleet.add_fault("fw-solo", f)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(fleet))) as client:
        async with open_driver(fleet, "fw-solo", client) as drv:
            try:
                result = await drv.copy_image("disk0", image.name, RepositorySource.of(repo, image))
                sha512 = hashlib.sha512(repo.path_of(image.name).read_bytes()).hexdigest()
                await drv.verify(None, f"disk0:/{image.name}", Digest("sha-512", sha512))
            except (PermanentError, PermanentDeviceError) as e:
                result = e
    return result, fleet.asa("fw-solo").units[0].disks["disk0"]


@pytest.mark.parametrize("faults", [[], [{"kind": "too-large", "max_bytes": 200_000}]],
                         ids=["one-transfer", "split-by-413"])
async def test_an_intact_image_is_copied_and_verifies(stored: Any, faults: list[dict[str, Any]]) -> None:
    repo, image, _ = stored
    result, disk = await _copy(repo, image, faults)
    assert not isinstance(result, BaseException), result
    assert result.digests.sha256 == image.sha256 and image.name in disk.files
    assert result.parts == (1 if not faults else 4)


@pytest.mark.parametrize("faults", [[], [{"kind": "too-large", "max_bytes": 200_000}]],
                         ids=["one-transfer", "split-by-413"])
@pytest.mark.parametrize("at", [0, 350_000, 699_999])
async def test_a_tampered_image_is_never_pushed_complete(stored: Any, faults: list[dict[str, Any]],
                                                         at: int) -> None:
    repo, image, path = stored
    tamper_keeping_size_and_mtime(path, at)
    assert repo.status({image.name: image}) == {image.name: ImageStatus.PRESENT}  # the cache is fooled
    result, disk = await _copy(repo, image, faults)
    assert isinstance(result, ChecksumMismatch) and result.code == "IMAGE_CHECKSUM", result
    assert image.name in str(result) and "before its last byte" in str(result)
    assert image.name not in disk.files  # at most a partial upload, which never boots
    assert repo.verify({image.name: image})[0].state == "checksum-mismatch"


def test_the_planner_blocks_an_image_whose_repository_copy_does_not_match(tmp_path: Path) -> None:
    from tests.cli.test_cli_plan import ROOT, SNAPSHOT  # the example fleet's discovery snapshot
    from reconciler.core.observed import snapshot_from_dict, snapshot_to_dict
    from reconciler.loader import DirectorySource, load_desired

    snap = tmp_path / "snapshot.json"
    snap.write_text(json.dumps(snapshot_to_dict(snapshot_from_dict(yaml.safe_load(
        SNAPSHOT.read_text())))))
    images = tmp_path / "images"

    def plan() -> dict[str, Any]:
        result = CliRunner().invoke(cli, ["plan", "--repo", str(ROOT), "--images", str(images),
                                          "--inventory", str(snap), "--format", "json",
                                          "--device", "fw-branch-01"])
        return json.loads(result.output)["devices"][0]  # type: ignore[no-any-return]

    wanted = {c["image"] for c in plan()["changes"]}
    desired, _ = load_desired(DirectorySource(ROOT))
    repo = ImageRepository(images)
    for name in wanted:
        repo.fetch(desired.images[name])
    assert not plan()["blocked"]
    victim = sorted(wanted)[0]
    with open(repo.path_of(victim), "r+b") as fh:  # a new mtime: the cache re-hashes
        fh.seek(10)
        fh.write(b"\x00\x01\x02")
    dev = plan()
    assert dev["blocked"]
    assert [f["code"] for f in dev["findings"] if f["severity"] == "error"] == ["IMAGE_CHECKSUM"]
    assert victim in json.dumps(dev["findings"])


def test_repository_source_is_a_driver_byte_source(stored: Any) -> None:
    from reconciler.drivers.sources import ByteSource

    repo, image, _ = stored
    src = RepositorySource.of(repo, image)
    assert isinstance(src, ByteSource) and src.size == image.size and src.name == image.name

    async def read(offset: int, length: int | None) -> bytes:
        return b"".join([c async for c in src.open(offset, length)])

    body = repo.path_of(image.name).read_bytes()
    assert asyncio.run(read(0, None)) == body
    assert asyncio.run(read(100, 1000)) == body[100:1100]
    assert asyncio.run(read(600_000, None)) == body[600_000:]


async def test_apply_never_pushes_a_tampered_image(tmp_path: Path, example_images: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end: the plan trusts the checksum cache, the executor's copy does not."""
    import shutil

    from reconciler.core.model import DeviceState
    from tests.executor.conftest import make_lab

    images = tmp_path / "images"
    images.mkdir()
    for p in example_images.iterdir():
        if p.is_file():
            os.link(p, images / p.name)  # the session's repository stays untouched
    victim = "asa941-lfbff-k8.SPA"
    (images / victim).unlink()
    shutil.copy2(example_images / victim, images / victim)
    tamper_keeping_size_and_mtime(images / victim, at=123_456)
    lab = make_lab(tmp_path, images, monkeypatch, tmp_path / "state.db")
    result, saved = await lab.apply(["fw-branch-01"])
    assert not saved.plan.device("fw-branch-01").blocked  # the cache vouched for the file
    out = result.outcomes["fw-branch-01"]
    assert out.code == "IMAGE_CHECKSUM" and "before its last byte" in out.message
    assert out.state is DeviceState.OPERATIONAL
    sim = lab.sim("fw-branch-01")
    assert sim["saved_boot"] == ["disk0:/asa933-lfbff-k8.SPA"]  # nothing was switched
    assert all(victim not in d.files for u in lab.fleet.asa("fw-branch-01").units
               for d in u.disks.values())  # at most a partial upload, which never boots
