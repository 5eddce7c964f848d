"""`reconciler images ...` end to end: the bundled example repository, real files, a real HTTP server."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from reconciler.cli import main
from reconciler.images.synthetic import synthetic_chunks
from tests.images.server import image_for, payload

ROOT = Path(__file__).resolve().parents[2]
DC_IMAGE = "asa941-smp-k8.bin"  # the datacenter group's 9.4(1) on ASA 5585 / 5545-X
ASDM = "asdm-7161.bin"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A copy of the example desired-state repository; the image repository under it."""
    root = tmp_path / "gitops"
    for d in ("desired", "inventory"):
        shutil.copytree(ROOT / d, root / d)
    monkeypatch.delenv("RECONCILER_IMAGES", raising=False)
    monkeypatch.delenv("RECONCILER_HOME", raising=False)
    monkeypatch.delenv("RECONCILER_IMAGE_SOURCES", raising=False)
    return root


@pytest.fixture
def run(repo, capsys):
    def run(*args, expect=0, root=None):
        try:
            main(["images", *args, "--repo", str(root or repo)])
            code = 0
        except SystemExit as e:
            code = e.code
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        assert code == expect, (code, out, err)
        return out, err
    return run


def add_images(repo, *images):
    """Append catalog entries (as a user would edit desired/images.yaml)."""
    path = repo / "desired" / "images.yaml"
    doc = yaml.safe_load(path.read_text())
    for img in images:
        doc["images"].append({"name": img.name, "type": str(img.type), "version": img.version,
                              "platforms": list(img.platforms), "size": img.size, "sha256": img.sha256,
                              "source": img.source})
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def extra(name, body, source):
    # type/version that no group targets, so the new entries do not change resolution
    return image_for(name, body, source, type="plugin", version="9.9", platforms=("asa5500x",))


def listing(run, *args):
    out, _ = run("list", "--format", "json", *args)
    return {i["name"]: i for i in json.loads(out)["images"]}


def test_list_shows_the_catalog_with_status_and_references(run, repo):
    images = listing(run)
    catalog = yaml.safe_load((repo / "desired" / "images.yaml").read_text())["images"]
    assert set(images) == {i["name"] for i in catalog}
    dc = images[DC_IMAGE]
    assert dc["status"] == "missing" and dc["in_repository"] is False
    assert {"fw-dc-pair", "fw-dc-cluster"} <= set(dc["devices"])
    assert dc["bundles"] == ["dc-9.4"]
    assert dc["type"] == "asa" and dc["version"] == "9.4(1)" and dc["size"] == 6291456
    assert "asa5585" in dc["platforms"]


def test_list_text_output_and_filters(run):
    out, _ = run("list", "--type", "asdm")
    assert "STATUS" in out and ASDM in out and DC_IMAGE not in out
    assert "2 image(s), 0 in the repository" in out
    images = listing(run, "--platform", "fpr2100", "--sort", "size", "--reverse")
    assert list(images)[0] == "cisco-asa-fp2k.9.16.3.SPA"
    assert all("fpr2100" in i["platforms"] for i in images.values())
    assert set(listing(run, "--search", "7.3.2")) == {"agent-7.3.2.1006-x64.msi", "agent-7.3.2.1006-x86_64.rpm"}
    unused = listing(run, "--unused")
    assert DC_IMAGE not in unused and "asa846-smp-k8.bin" in unused
    run("list", "--sort", "bogus", expect=2)


def test_fetch_synthetic_then_dedupe_then_list(run, repo):
    out, _ = run("fetch", DC_IMAGE, ASDM)
    assert f"added    {DC_IMAGE}" in out and "from synthetic:" in out
    assert (repo / ".reconciler" / "images" / DC_IMAGE).stat().st_size == 6291456
    out, _ = run("fetch", DC_IMAGE)
    assert f"skipped  {DC_IMAGE}" in out
    images = listing(run, "--status", "present")
    assert set(images) == {DC_IMAGE, ASDM}


def test_fetch_without_names_brings_everything_missing(run, tmp_path):
    images_dir = tmp_path / "elsewhere"
    out, _ = run("fetch", "--referenced", "--images-dir", str(images_dir), "--format", "json")
    result = json.loads(out)
    assert result["summary"] == {"added": len(result["results"])}
    assert DC_IMAGE in {r["name"] for r in result["results"]}
    assert "asa846-smp-k8.bin" not in {r["name"] for r in result["results"]}  # nobody uses it
    out, _ = run("fetch", "--referenced", "--images-dir", str(images_dir))
    assert "fetch: nothing to do" in out


def test_fetch_over_http_resumes_and_refuses_a_mismatch(run, repo, image_server):
    good = payload("plugin", 800_000)
    resumable = extra("resumable.jar", good, image_server.add("/r.jar", good, break_after=300_000, breaks=1))
    wrong = extra("wrong.jar", good, image_server.add("/w.jar", payload("other", 800_000)))
    add_images(repo, resumable, wrong)
    out, err = run("fetch", "resumable.jar", "wrong.jar", expect=1)
    assert "added    resumable.jar" in out and "(resumed at 293.0 KiB)" in out
    assert "error    wrong.jar: IMAGE_CHECKSUM" in err and "refused" in err
    assert not list((repo / ".reconciler" / "images" / ".incoming").glob("wrong.jar*.partial"))
    images = listing(run)
    assert images["resumable.jar"]["status"] == "present" and images["wrong.jar"]["status"] == "missing"


def test_fetch_through_an_explicit_proxy_with_credentials(run, repo, image_server, monkeypatch):
    body = payload("p", 10_000)
    image_server.add("/p.jar", body)
    add_images(repo, extra("p.jar", body, "http://images.example.invalid/p.jar"))
    monkeypatch.setenv("IMG_CRED", "svc:very-secret-pw")
    monkeypatch.setenv("PROXY_CRED", "proxyuser:proxy-secret-pw")
    out, err = run("fetch", "p.jar", "--proxy", image_server.base, "--source-credentials", "env:IMG_CRED",
                   "--proxy-credentials", "env:PROXY_CRED")
    assert "added    p.jar" in out
    [req] = image_server.requests_for("/p.jar")
    assert req.absolute and req.headers["authorization"].startswith("Basic ")
    assert req.headers["proxy-authorization"].startswith("Basic ")
    assert "very-secret-pw" not in out + err and "proxy-secret-pw" not in out + err
    monkeypatch.delenv("IMG_CRED")
    _, err = run("fetch", "p.jar", "--source-credentials", "env:IMG_CRED", expect=1)
    assert "IMG_CRED is not set" in err


def test_fetch_of_an_unknown_name_and_unreachable_source(run, repo):
    add_images(repo, extra("down.jar", b"x" * 10, "http://127.0.0.1:9/down.jar"))
    _, err = run("fetch", "nope.bin", "down.jar", "--retries", "1", expect=1)
    assert "error    nope.bin: UNKNOWN_IMAGE" in err
    assert "error    down.jar: TEMPORARY" in err and "ConnectError" in err


def test_import_by_name_directory_and_checksum(run, repo, tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    dc_size = 6291456
    with open(downloads / DC_IMAGE, "wb") as fh:
        for chunk in synthetic_chunks(DC_IMAGE, dc_size):
            fh.write(chunk)
    renamed = downloads / "asdm-latest.bin"  # a renamed download, recognised by its checksum
    with open(renamed, "wb") as fh:
        for chunk in synthetic_chunks(ASDM, 3145728):
            fh.write(chunk)
    (downloads / "README.txt").write_text("not an image")
    out, _ = run("import", str(downloads))
    assert f"added    {DC_IMAGE}" in out
    assert f"added    {ASDM}" in out and "matched by checksum" in out
    assert "ignored  README.txt" in out
    out, _ = run("import", str(downloads / DC_IMAGE))
    assert f"skipped  {DC_IMAGE}" in out
    _, err = run("import", str(downloads / "README.txt"), expect=1)
    assert "UNKNOWN_IMAGE" in err
    _, err = run("import", str(tmp_path / "missing.bin"), "--as", DC_IMAGE, expect=1)
    assert "no such file" in err
    assert listing(run)[DC_IMAGE]["status"] == "present"


def test_import_refuses_wrong_bytes_and_asa_cx(run, tmp_path):
    bad = tmp_path / ASDM
    bad.write_bytes(b"\0" * 3145728)
    _, err = run("import", str(bad), expect=1)
    assert f"error    {ASDM}: IMAGE_CHECKSUM" in err
    cx = tmp_path / "asacx-sys-9.1.1-1.pkg"
    cx.write_bytes(b"cx")
    _, err = run("import", str(cx), expect=1)
    assert "UNSUPPORTED_IMAGE" in err
    run("import", str(bad), str(cx), "--as", ASDM, expect=2)  # usage error


def test_same_name_other_checksum_is_an_error(run, repo):
    run("fetch", ASDM)
    path = repo / ".reconciler" / "images" / ASDM
    data = bytearray(path.read_bytes())
    data[0] ^= 1
    path.write_bytes(bytes(data))
    _, err = run("fetch", ASDM, expect=1)
    assert "already in the repository with another checksum" in err
    assert f"reconciler images remove {ASDM}" in err


def test_verify_detects_corruption(run, repo):
    run("fetch", ASDM, "asdm-741.bin")
    out, _ = run("verify")
    assert f"ok                {ASDM}" in out and "verify: 2 ok, 0 failed" in out
    path = repo / ".reconciler" / "images" / ASDM
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[100] ^= 1
    path.write_bytes(bytes(data))
    import os
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # invisible to the cached index
    assert listing(run)[ASDM]["status"] == "present"
    out, err = run("verify", "--format", "json", expect=1)
    report = json.loads(out)
    assert report["ok"] is False
    assert {r["name"]: r["state"] for r in report["results"]}[ASDM] == "checksum-mismatch"
    assert listing(run)[ASDM]["status"] == "checksum-mismatch"  # the cache was refreshed
    _, err = run("verify", expect=1)
    assert f"run `reconciler images remove {ASDM}`" in err
    run("verify", "asa846-smp-k8.bin", expect=1)  # a named image that is missing


def test_remove_guards_images_in_use(run, repo):
    run("fetch", DC_IMAGE, "asa846-smp-k8.bin")
    _, err = run("remove", DC_IMAGE, expect=1)
    assert "target of" in err and "fw-dc-pair" in err and "--force" in err
    out, _ = run("remove", "asa846-smp-k8.bin")
    assert "removed  asa846-smp-k8.bin" in out
    out, _ = run("remove", DC_IMAGE, "--force")
    assert "removed" in out
    _, err = run("remove", DC_IMAGE, "--force", expect=1)
    assert "IMAGE_NOT_IN_REPOSITORY" in err
    _, err = run("remove", "../../etc/passwd", "--force", expect=1)
    assert "UNSAFE_PATH" in err


def test_unmanaged_files_are_listed(run, repo):
    images_dir = repo / ".reconciler" / "images"
    images_dir.mkdir(parents=True)
    (images_dir / "old-asa.bin").write_bytes(b"old")
    out, _ = run("list")
    assert "not in the catalog: old-asa.bin (3 B)" in out
    data = json.loads(run("list", "--format", "json")[0])
    assert data["unmanaged"] == [{"name": "old-asa.bin", "size": 3}]


def test_unsafe_catalog_entries_are_clean_errors_at_their_line(run, make_repo):
    root = make_repo("scenarios/unsafe-paths")
    _, err = run("fetch", "asdm-711.bin", "asdm-712.bin", "asdm-713.bin", "../../etc/passwd",
                 expect=1, root=root)
    assert "warning: the desired state has" in err  # validation findings are shown first
    for name in ("asdm-711.bin", "asdm-712.bin", "asdm-713.bin", "../../etc/passwd"):
        line = next(x for x in err.splitlines() if x.startswith(f"error    {name}:"))
        assert "desired/images-unsafe.yaml:" in line and "UNSAFE_PATH" in line
    assert "Pa55word" not in err and "admin" not in err
    assert not (root / ".reconciler" / "images").exists() or not any(
        (root / ".reconciler" / "images").glob("asdm*"))


def test_a_directory_without_a_catalog_is_a_clean_error(run, tmp_path):
    _, err = run("list", expect=1, root=tmp_path)
    assert err.startswith("desired/") or "FILE_ERROR" in err
    assert "no usable image catalog" in err
