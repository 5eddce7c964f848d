"""ImageRepository against real files: import, dedupe, status, verify, remove, streaming, sources."""

import hashlib
import json
import os
import threading
from dataclasses import replace

import pytest

from reconciler.core.model import ImageStatus
from reconciler.errors import PermanentError, TemporaryError
from reconciler.images.repository import (ImageNotInRepository, ImageRepository, Outcome,
                                          UnsupportedImage, VerifyState)
from reconciler.images.safety import UnsafePathError
from reconciler.images.synthetic import synthetic_sha256
from tests.images.server import FAST_RETRY, image_for, payload


@pytest.fixture
def repo(tmp_path):
    return ImageRepository(tmp_path / "repo", retry=FAST_RETRY)


@pytest.fixture
def asa(tmp_path):
    body = payload("asa941-smp-k8.bin", 300_000)
    src = tmp_path / "downloads" / "asa941-smp-k8.bin"
    src.parent.mkdir()
    src.write_bytes(body)
    return image_for("asa941-smp-k8.bin", body), src


def test_import_copies_verifies_and_leaves_no_partial(repo, asa):
    image, src = asa
    seen = []
    result = repo.import_file(src, image, progress=lambda done, total: seen.append((done, total)))
    assert result.outcome is Outcome.ADDED
    assert result.sha256 == image.sha256
    assert repo.path_of(image.name).read_bytes() == src.read_bytes()
    assert seen[0] == (0, image.size) and seen[-1] == (image.size, image.size)
    assert repo.partials() == {}
    assert [f.name for f in repo.files()] == [image.name]
    assert repo.status({image.name: image}) == {image.name: ImageStatus.PRESENT}


def test_import_of_same_name_and_checksum_is_skipped(repo, asa):
    image, src = asa
    repo.import_file(src, image)
    mtime = repo.path_of(image.name).stat().st_mtime_ns
    again = repo.import_file(src, image)
    assert again.outcome is Outcome.SKIPPED
    assert repo.path_of(image.name).stat().st_mtime_ns == mtime  # untouched


def test_same_name_other_checksum_is_an_error_and_keeps_the_file(repo, asa, tmp_path):
    image, src = asa
    repo.import_file(src, image)
    # The catalog moves on to a rebuilt file of the same name: the old copy must not be replaced.
    rebuilt = payload("rebuilt", image.size)
    new_image = image_for(image.name, rebuilt)
    other = tmp_path / "rebuilt.bin"
    other.write_bytes(rebuilt)
    with pytest.raises(PermanentError) as e:
        repo.import_file(other, new_image)
    assert e.value.code == "IMAGE_CHECKSUM"
    assert "already in the repository with another checksum" in str(e.value)
    assert f"reconciler images remove {image.name}" in str(e.value)
    assert repo.path_of(image.name).read_bytes() == src.read_bytes()


def test_offered_file_with_wrong_bytes_is_refused_even_when_the_repo_copy_is_good(repo, asa, tmp_path):
    image, src = asa
    repo.import_file(src, image)
    bad = tmp_path / "bad.bin"
    bad.write_bytes(payload("bad", image.size))
    with pytest.raises(PermanentError) as e:
        repo.import_file(bad, image)
    assert e.value.code == "IMAGE_CHECKSUM"


def test_import_refuses_a_mismatch_and_leaves_nothing_behind(repo, asa, tmp_path):
    image, _ = asa
    bad = tmp_path / "bad.bin"
    bad.write_bytes(payload("bad", image.size))
    with pytest.raises(PermanentError) as e:
        repo.import_file(bad, image)
    assert e.value.code == "IMAGE_CHECKSUM"
    assert image.sha256 in str(e.value)
    assert repo.files() == [] and repo.partials() == {}
    assert repo.status({image.name: image}) == {image.name: ImageStatus.MISSING}


def test_import_refuses_a_wrong_size_before_copying(repo, asa, tmp_path):
    image, _ = asa
    short = tmp_path / "short.bin"
    short.write_bytes(b"x" * 10)
    with pytest.raises(PermanentError, match="10 bytes but the catalog says 300000"):
        repo.import_file(short, image)
    assert repo.partials() == {}


def test_import_of_a_missing_file_or_directory_is_a_clean_error(repo, asa, tmp_path):
    image, _ = asa
    with pytest.raises(PermanentError, match="no such file"):
        repo.import_file(tmp_path / "nope.bin", image)
    with pytest.raises(PermanentError, match="not a regular file"):
        repo.import_file(tmp_path, image)


def test_asa_cx_and_unsafe_names_are_refused(repo, tmp_path):
    body = b"cx" * 100
    src = tmp_path / "f"
    src.write_bytes(body)
    with pytest.raises(UnsupportedImage) as e:
        repo.import_file(src, image_for("asacx-sys-9.1.1-1.pkg", body))
    assert e.value.code == "UNSUPPORTED_IMAGE"
    with pytest.raises(UnsafePathError):
        repo.import_file(src, image_for("../escape.bin", body))
    assert not (tmp_path / "escape.bin").exists()


def test_status_reports_missing_present_and_mismatch(repo, asa, tmp_path):
    image, src = asa
    missing = image_for("asdm-7161.bin", b"asdm" * 10)
    assert repo.status({image.name: image, missing.name: missing}) == {
        image.name: ImageStatus.MISSING, missing.name: ImageStatus.MISSING}
    repo.import_file(src, image)
    # Damage the copy without changing its size: the new mtime invalidates the cached checksum.
    path = repo.path_of(image.name)
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert repo.status({image.name: image})[image.name] is ImageStatus.CHECKSUM_MISMATCH
    # A truncated copy is a mismatch too, decided from its size alone.
    path.write_bytes(b"short")
    assert repo.status({image.name: image})[image.name] is ImageStatus.CHECKSUM_MISMATCH


def test_status_uses_the_index_instead_of_rehashing(repo, asa, monkeypatch):
    image, src = asa
    repo.import_file(src, image)
    index = json.loads((repo.root / ".index.json").read_text())
    assert index["entries"][image.name]["sha256"] == image.sha256
    import reconciler.images.repository as mod

    def no_hashing(path):
        raise AssertionError(f"status re-hashed {path}")

    monkeypatch.setattr(mod, "sha256_of", no_hashing)
    for _ in range(3):
        assert repo.status({image.name: image}) == {image.name: ImageStatus.PRESENT}


def test_status_hashes_files_copied_in_by_hand_once(repo, asa, monkeypatch):
    image, src = asa
    repo.root.mkdir(parents=True)
    (repo.root / image.name).write_bytes(src.read_bytes())  # an operator copied it in
    import reconciler.images.repository as mod
    calls = []
    real = mod.sha256_of
    monkeypatch.setattr(mod, "sha256_of", lambda p: calls.append(p) or real(p))
    assert repo.status({image.name: image}) == {image.name: ImageStatus.PRESENT}
    assert repo.status({image.name: image}) == {image.name: ImageStatus.PRESENT}
    assert len(calls) == 1


def test_a_damaged_index_is_rebuilt(repo, asa):
    image, src = asa
    repo.import_file(src, image)
    (repo.root / ".index.json").write_text("{not json")
    assert repo.status({image.name: image}) == {image.name: ImageStatus.PRESENT}
    assert json.loads((repo.root / ".index.json").read_text())["entries"][image.name]["sha256"] == image.sha256


def test_status_of_a_repository_that_does_not_exist(tmp_path, asa):
    image, _ = asa
    repo = ImageRepository(tmp_path / "nowhere")
    assert repo.status({image.name: image}) == {image.name: ImageStatus.MISSING}
    assert not (tmp_path / "nowhere").exists()


def test_verify_rehashes_and_detects_corruption_the_cache_cannot_see(repo, asa, tmp_path):
    image, src = asa
    repo.import_file(src, image)
    path = repo.path_of(image.name)
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[5] ^= 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime: invisible to the index
    assert repo.status({image.name: image})[image.name] is ImageStatus.PRESENT
    stray = repo.root / "old-asa.bin"
    stray.write_bytes(b"old")
    missing = image_for("asdm-7161.bin", b"asdm")
    results = {r.name: r for r in repo.verify({image.name: image, missing.name: missing})}
    assert results[image.name].state is VerifyState.CHECKSUM_MISMATCH
    assert results[image.name].sha256 == hashlib.sha256(bytes(data)).hexdigest()
    assert results[image.name].expected == image.sha256
    assert results["old-asa.bin"].state is VerifyState.NOT_IN_CATALOG
    assert results[missing.name].state is VerifyState.MISSING
    # verify refreshed the cache, so planning now sees the damage too
    assert repo.status({image.name: image})[image.name] is ImageStatus.CHECKSUM_MISMATCH


def test_verify_ok_and_named(repo, asa):
    image, src = asa
    repo.import_file(src, image)
    [r] = repo.verify({image.name: image}, names=[image.name])
    assert (r.state, r.size, r.sha256) == (VerifyState.OK, image.size, image.sha256)


def test_remove_deletes_file_partial_and_index_entry(repo, asa):
    image, src = asa
    repo.import_file(src, image)
    partial = repo.root / ".incoming" / f"{image.name}.partial"
    partial.write_bytes(b"half")
    gone = repo.remove(image.name)
    assert {p.name for p in gone} == {image.name, f"{image.name}.partial"}
    assert repo.files() == [] and repo.partials() == {}
    assert image.name not in json.loads((repo.root / ".index.json").read_text())["entries"]
    with pytest.raises(ImageNotInRepository) as e:
        repo.remove(image.name)
    assert e.value.code == "IMAGE_NOT_IN_REPOSITORY"
    with pytest.raises(UnsafePathError):
        repo.remove("../../etc/passwd")


def test_open_stream_reads_in_chunks_with_offsets(repo, asa):
    image, src = asa
    repo.import_file(src, image)
    body = src.read_bytes()
    with repo.open_stream(image.name, chunk_size=65536) as stream:
        chunks = list(stream)
    assert stream.size == len(body)
    assert max(len(c) for c in chunks) == 65536 and b"".join(chunks) == body
    part = repo.open_stream(image.name, offset=1000, length=5000, chunk_size=4096)
    assert part.size == 5000 and b"".join(part) == body[1000:6000]
    with pytest.raises(PermanentError, match="outside image"):
        repo.open_stream(image.name, offset=len(body) + 1)
    with pytest.raises(ImageNotInRepository):
        repo.open_stream("asdm-7161.bin")


def test_fetch_materialises_synthetic_sources_without_network(repo):
    name, size = "asdm-7161.bin", 3 * (1 << 20) + 17
    image = replace(image_for(name, b"", source=f"synthetic:{name}"), size=size,
                    sha256=synthetic_sha256(name, size))
    result = repo.fetch(image)
    assert result.outcome is Outcome.ADDED and result.source == f"synthetic:{name}"
    assert repo.status({name: image}) == {name: ImageStatus.PRESENT}
    assert repo.fetch(image).outcome is Outcome.SKIPPED


def test_fetch_copies_relative_sources_from_the_source_directory(repo, tmp_path):
    body = payload("csd", 5000)
    share = tmp_path / "share"
    (share / "vpn").mkdir(parents=True)
    (share / "vpn" / "csd_3.6.6249-k9.pkg").write_bytes(body)
    image = image_for("csd_3.6.6249-k9.pkg", body, source="vpn/csd_3.6.6249-k9.pkg")
    with pytest.raises(PermanentError, match="--source-dir"):
        repo.fetch(image)
    assert repo.fetch(image, source_dir=share).outcome is Outcome.ADDED
    escaping = image_for("x.bin", body, source="../share/vpn/csd_3.6.6249-k9.pkg")
    with pytest.raises(UnsafePathError):
        repo.fetch(escaping, source_dir=share)


def test_fetch_without_source_says_how_to_import(repo):
    with pytest.raises(PermanentError, match="images import"):
        repo.fetch(image_for("asa.bin", b"abc"))


def test_a_second_writer_of_the_same_image_is_told_to_wait(repo, asa):
    image, src = asa
    started, release = threading.Event(), threading.Event()

    def slow_progress(done, total):
        started.set()
        release.wait(5)

    t = threading.Thread(target=repo.import_file, args=(src, image), kwargs={"progress": slow_progress})
    t.start()
    try:
        assert started.wait(5)
        with pytest.raises(TemporaryError, match="in use by another reconciler process"):
            repo.import_file(src, image)
    finally:
        release.set()
        t.join(5)
    assert repo.status({image.name: image}) == {image.name: ImageStatus.PRESENT}


def test_open_stream_with_the_catalog_entry_verifies_before_the_last_chunk(repo, asa):
    image, src = asa
    repo.import_file(src, image)
    body = src.read_bytes()
    with repo.open_stream(image.name, chunk_size=65536, size=image.size, sha256=image.sha256) as stream:
        assert b"".join(stream) == body
    # a middle range cannot be checked alone and is streamed as is; a final range is checked
    assert b"".join(repo.open_stream(image.name, offset=10, length=100, size=image.size, sha256=image.sha256)) == body[10:110]
    assert b"".join(repo.open_stream(image.name, offset=200_000, size=image.size, sha256=image.sha256)) == body[200_000:]
    path = repo.path_of(image.name)
    path.write_bytes(body[:-1] + bytes([body[-1] ^ 1]))
    got = []
    with pytest.raises(PermanentError) as e:
        for chunk in repo.open_stream(image.name, chunk_size=65536, size=image.size, sha256=image.sha256):
            got.append(chunk)
    assert e.value.code == "IMAGE_CHECKSUM" and "before its last byte" in str(e.value)
    assert sum(map(len, got)) < len(body)  # the final chunk was never released
    with pytest.raises(PermanentError, match="IMAGE_CHECKSUM"):
        list(repo.open_stream(image.name, offset=250_000, size=image.size, sha256=image.sha256))
    path.write_bytes(body[:-1])
    with pytest.raises(PermanentError) as e:
        repo.open_stream(image.name, size=image.size, sha256=image.sha256)
    assert e.value.code == "IMAGE_CHECKSUM" and "the catalog says 300000" in str(e.value)
