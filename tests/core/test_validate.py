"""Static checks over a DesiredState, and the purity of the core package."""

from __future__ import annotations

import ast
from pathlib import Path

from reconciler.contract import FindingCode
from reconciler.core.model import (
    Bundle,
    DesiredState,
    Group,
    Image,
    ImageType,
    Match,
    PolicyEntry,
)
from reconciler.core.validate import validate_desired
from reconciler.errors import Location
from tests.conftest import PROJECT_ROOT


def state(**kw: object) -> DesiredState:
    base: dict[str, object] = dict(images={}, bundles={}, defaults=PolicyEntry("defaults"),
                                   groups=(), devices={}, inventory={})
    base.update(kw)
    return DesiredState(**base)  # type: ignore[arg-type]


def image(name: str, t: str = "asa", version: str = "9.4(1)", platforms: tuple[str, ...] = (
        "asa5585",), source: str | None = None) -> Image:
    return Image(name, ImageType(t), version, platforms, 1, "0" * 64, True, source=source,
                 loc=Location("desired/images.yaml", 3))


def codes(desired: DesiredState) -> list[tuple[FindingCode, str]]:
    return [(f.code, f.message) for f in validate_desired(desired)]


def test_clean_state_has_no_findings() -> None:
    assert validate_desired(state(images={"a.bin": image("a.bin")})) == []


def test_refusals_with_messages() -> None:
    imgs = {i.name: i for i in (
        image("asacx-sys-9.1.1-1.pkg"), image("ok.bin"), image("bad.bin", version="9.x"),
        image("agent.msi", t="agent", version="7.3.2.1", platforms=("asa5585",)),
        image("fw.bin", platforms=("windows",)),
    )}
    bundles = {"two": Bundle("two", ("ok.bin", "bad.bin", "nope.bin"), Location("f", 9))}
    groups = (Group("g", images={ImageType.ASA: "9.9(9)"}, bundle="tw0", match=Match(),
                    loc=Location("desired/fleet.yaml", 2)),)
    devices = {"ghost": PolicyEntry("ghost", images={ImageType.ASDM: "asdm-x.bin"},
                                    loc=Location("desired/devices.yaml", 2))}
    got = codes(state(images=imgs, bundles=bundles, groups=groups, devices=devices))
    assert (FindingCode.UNSUPPORTED_IMAGE, "image asacx-sys-9.1.1-1.pkg is an ASA-CX image; "
            "ASA-CX system and boot images cannot be managed") in got
    assert any(c is FindingCode.BAD_VERSION and "bad.bin" in m for c, m in got)
    assert (FindingCode.SCHEMA, "image agent.msi: agent images run on windows, linux or macos, "
            "not asa5585") in got
    assert any(c is FindingCode.SCHEMA and m.startswith("image fw.bin") for c, m in got)
    assert (FindingCode.BUNDLE_SYSTEM_IMAGES, "bundle two holds 2 system images (ok.bin, "
            "bad.bin); a bundle may hold one") in got
    assert any(c is FindingCode.UNKNOWN_IMAGE
               and m.startswith("bundle two lists nope.bin, which is not in the catalog")
               for c, m in got)
    assert (FindingCode.UNKNOWN_BUNDLE, "group:g uses bundle 'tw0', which is not defined (did "
            "you mean two?)") in got
    assert (FindingCode.UNKNOWN_IMAGE, "group:g: the catalog holds no asa image of version "
            "9.9(9)") in got
    assert (FindingCode.UNKNOWN_DEVICE, "override for device 'ghost', which is not in the "
            "inventory") in got
    assert any(c is FindingCode.UNKNOWN_IMAGE and m.startswith("device:ghost:") for c, m in got)


def test_findings_point_at_the_definition() -> None:
    [f] = validate_desired(state(images={"../x": image("../x")}))
    assert f.code is FindingCode.UNSAFE_PATH and str(f.location) == "desired/images.yaml:3"


# The pure core does no I/O: nothing in reconciler/core may import these.
_IO_MODULES = {"os", "io", "socket", "subprocess", "shutil", "tempfile", "httpx", "requests",
               "sqlalchemy", "yaml", "git", "zoneinfo", "json", "sqlite3", "urllib.request",
               "asyncio", "threading", "time", "logging", "structlog"}


def test_core_modules_import_nothing_that_does_io() -> None:
    offenders = []
    for path in sorted((PROJECT_ROOT / "reconciler" / "core").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                mods = [node.module]
                if node.module == "pathlib":
                    if {a.name for a in node.names} - {"PurePosixPath", "PurePath",
                                                       "PureWindowsPath"}:
                        offenders.append(f"{path.name}: concrete pathlib")
                    continue
            else:
                continue
            offenders += [f"{path.name}: {m}" for m in mods
                          if m in _IO_MODULES or m.split(".")[0] in _IO_MODULES - {"urllib"}
                          or m.startswith("reconciler.loader")]
    assert offenders == []
