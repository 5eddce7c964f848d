"""Catalog lookups (version or image name) and the path-safety checks."""

from __future__ import annotations

import pytest

from reconciler.core.catalog import (
    CatalogIndex,
    is_asacx,
    newest,
    unsafe_image_name,
    unsafe_source,
)
from reconciler.core.model import Image, ImageType


def img(name: str, t: str, version: str, platforms: tuple[str, ...] = ("asa5585",),
        smp: bool | None = None) -> Image:
    return Image(name, ImageType(t), version, platforms, 1, "0" * 64, smp)


CATALOG = {i.name: i for i in (
    img("asa941-smp-k8.bin", "asa", "9.4(1)", smp=True),
    img("asa941-lfbff-k8.SPA", "asa", "9.4.1", ("asa5506x",)),
    img("asa9221-smp-k8.bin", "asa", "9.2(2)4", smp=True),
    img("asdm-7161.bin", "asdm", "7.16(1)"),
    img("agent-a.msi", "agent", "7.3.2.1006", ("windows",)),
    img("agent-b.msi", "agent", "7.3.2.1010", ("windows",)),
    img("broken.bin", "asa", "nine"),
)}


def test_lookup_by_version_any_notation() -> None:
    idx = CatalogIndex(CATALOG)
    for ref in ("9.4(1)", "9.4.1", "9.4.1.SMP.ED", " 9.4(1) "):
        found = idx.lookup(ImageType.ASA, ref)
        assert {i.name for i in found.images} == {"asa941-smp-k8.bin", "asa941-lfbff-k8.SPA"}
        assert not found.by_name and found.problem is None
    assert [i.name for i in idx.lookup(ImageType.ASA, "9.2.2.4").images] == ["asa9221-smp-k8.bin"]


def test_lookup_by_name_and_type_mismatch() -> None:
    idx = CatalogIndex(CATALOG)
    found = idx.lookup(ImageType.ASA, "asa941-smp-k8.bin")
    assert found.by_name and [i.name for i in found.images] == ["asa941-smp-k8.bin"]
    wrong = idx.lookup(ImageType.ASA, "asdm-7161.bin")
    assert wrong.images == () and wrong.problem == "image asdm-7161.bin is an asdm image, not asa"


def test_lookup_problems() -> None:
    idx = CatalogIndex(CATALOG)
    missing = idx.lookup(ImageType.ASA, "9.9(9)")
    assert missing.problem == "the catalog holds no asa image of version 9.9(9)"
    assert not missing.bad_version
    bad = idx.lookup(ImageType.ASA, "9.4(1")
    assert bad.bad_version and "not a valid asa version" in bad.problem  # type: ignore[operator]
    typo = idx.lookup(ImageType.ASDM, "asdm-7161.bni")
    assert typo.problem is not None and "did you mean asdm-7161.bin?" in typo.problem
    assert idx.lookup(ImageType.ASA, "nine").problem is not None  # unparsable catalog entry


def test_agent_release_reference() -> None:
    idx = CatalogIndex(CATALOG)
    found = idx.lookup(ImageType.AGENT, "7.3.2")
    assert found.newest_build
    assert [i.name for i in newest(found.images)] == ["agent-b.msi"]
    exact = idx.lookup(ImageType.AGENT, "7.3.2.1006")
    assert [i.name for i in exact.images] == ["agent-a.msi"] and not exact.newest_build
    assert idx.lookup(ImageType.AGENT, "7.4.0").problem == \
        "the catalog holds no agent image of release 7.4.0"


def test_asacx() -> None:
    assert is_asacx("asacx-sys-9.1.1-1.pkg") and is_asacx("ASACX-5500x-boot-9.1.1-1.img")
    assert not is_asacx("asa941-smp-k8.bin")


@pytest.mark.parametrize("name", ["../x.bin", "a/b.bin", "a\\b.bin", "..", ".", ".hidden",
                                  "C:evil.bin", "~root", "a\0b", "tab\there", "a:b", "what?.bin",
                                  "%2e%2e%2fetc", "a%2Fb.bin", "a%5cb.bin", "a%252e.bin", "a\x7fb",
                                  "asa\u2215x.bin", "\uff0e\uff0e\uff0fx", "\u0430sa941.bin",
                                  "asa941.bin\u202e"])
def test_unsafe_image_names(name: str) -> None:
    assert unsafe_image_name(name)


@pytest.mark.parametrize("name", ["asa941-smp-k8.bin", "cisco-asa-fp2k.9.16.3.SPA",
                                  "anyconnect-win-4.10.07073-webdeploy-k9.pkg", "a b.bin"])
def test_safe_image_names(name: str) -> None:
    assert unsafe_image_name(name) is None


@pytest.mark.parametrize("source,snippet", [
    ("/etc/shadow", "absolute path"), ("C:\\images\\a.bin", "absolute path"),
    ("~/a.bin", "absolute path"), ("../a.bin", "'..'"), ("mirror/../../a.bin", "'..'"),
    ("mirror\\..\\a.bin", "'..'"),
    ("https://user:secret@host/a.bin", "embeds credentials"),
    ("https://user@host/a.bin", "embeds credentials"), ("https:///a.bin", "no host"),
    # regression (found by fuzzing): the path repeated a second copy of the credentials
    ("http://u:secret@http://u:secret@", "http://http/… embeds credentials"),
    ("ftp://host/a.bin", "'ftp' is not supported"), ("file:///etc/passwd", "'file'"),
    ("synthetic:../x", "not a plain name"), ("a\nb", "control characters"),
    ("a\x85b", "control characters"), ("%2e%2e/x.bin", "percent-encoded"),
    ("mirror/%2E%2E%2Fx.bin", "percent-encoded"), ("mirror\u2215..\u2215x.bin", "U+2215"),
    ("\uff0e\uff0e\uff0fx.bin", "U+FF0E"), ("a\ufe68..\ufe68x.bin", "U+FE68"),
])
def test_unsafe_sources(source: str, snippet: str) -> None:
    why = unsafe_source(source)
    assert why is not None and snippet in why
    assert "secret" not in why


@pytest.mark.parametrize("source", ["asa941-smp-k8.bin", "mirror/asa/asa941-smp-k8.bin",
                                    "https://images.example.com/asa/a.bin",
                                    "http://10.0.0.5:8080/a.bin", "synthetic:asa941-smp-k8.bin",
                                    "\u30a4\u30e1\u30fc\u30b8/asa941-smp-k8.bin", "a%20b/x.bin",
                                    "https://images.example.com/a%2e%2e/x.bin"])
def test_safe_sources(source: str) -> None:
    assert unsafe_source(source) is None
