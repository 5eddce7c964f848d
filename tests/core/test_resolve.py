"""Resolution: precedence device > group > defaults, bundles, platform builds, conflicts,
typed settings, observed model and mode, purity. Fleets come from tests/fixtures/repos."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.contract import FindingCode
from reconciler.core.model import (
    DesiredState,
    DriverKind,
    Group,
    InventoryDevice,
    Match,
    ImageType,
    InstallLocation,
    MaintenanceWindow,
    Mode,
    OnError,
    Operation,
    Order,
    Settings,
)
from reconciler.core.platforms import normalise_model
from reconciler.core.resolve import _GroupIndex, matcher, resolve_device, resolve_fleet
from reconciler.loader import DirectorySource, load_desired
from tests.conftest import MakeRepo

A, ASDM, AC, HS, AG = (ImageType.ASA, ImageType.ASDM, ImageType.ANYCONNECT, ImageType.HOSTSCAN,
                       ImageType.AGENT)


def load(repo: Path) -> DesiredState:
    desired, findings = load_desired(DirectorySource(repo))
    assert [f for f in findings if f.blocking] == [], [f.line() for f in findings]
    return desired


@pytest.fixture
def base(make_repo: MakeRepo) -> DesiredState:
    return load(make_repo())


def names(resolved, device: str) -> dict[ImageType, tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {t: (x.image.name, x.origin) for t, x in resolved[device].targets.items()}


def test_precedence_device_over_group_over_defaults(base: DesiredState) -> None:
    r, findings = resolve_fleet(base)
    assert findings == []
    assert names(r, "dc-2") == {
        A: ("asa941-smp-k8.bin", "device:dc-2"),  # override beats group dc's 9.3.3
        ASDM: ("asdm-7161.bin", "defaults"),
        AC: ("anyconnect-win-4.10.07073-webdeploy-k9.pkg", "bundle:vpn via group:dc"),
        HS: ("hostscan_4.10.07073-k9.pkg", "bundle:vpn via group:dc"),
    }
    assert names(r, "dc-1")[A] == ("asa933-smp-k8.bin", "group:dc")  # 9.3.3 == 9.3(3)
    assert names(r, "legacy-1") == {ASDM: ("asdm-7161.bin", "defaults")}
    assert r["legacy-1"].groups == ()


def test_target_records_where_it_was_written(base: DesiredState) -> None:
    r, _ = resolve_fleet(base)
    t = r["dc-1"].targets[A]
    assert (t.loc.file, t.loc.line) == ("desired/fleet.yaml", 25)  # type: ignore[union-attr]
    assert str(r["dc-2"].targets[A].loc) == "desired/devices.yaml:5"
    assert str(r["dc-2"].targets[ASDM].loc) == "desired/fleet.yaml:4"


def test_version_resolves_to_the_platform_build(base: DesiredState) -> None:
    r, _ = resolve_fleet(base)
    # group branch says 9.4(1): the 5506-X family gets the lfbff image, not the SMP one
    assert names(r, "br-1")[A][0] == "asa941-lfbff-k8.SPA"
    assert names(r, "br-2")[A][0] == "asa941-lfbff-k8.SPA"  # 5516-X is the same family


def test_agent_release_target_takes_the_newest_build_for_the_platform(base: DesiredState) -> None:
    r, _ = resolve_fleet(base)
    assert names(r, "ep-1") == {AG: ("agent-7.3.2.1010-x64.msi", "group:endpoints")}
    assert names(r, "ep-2") == {AG: ("agent-7.3.2.1006-x86_64.rpm", "group:endpoints")}


def test_settings_merge_in_order_and_are_typed(base: DesiredState) -> None:
    r, _ = resolve_fleet(base)
    dc1 = r["dc-1"]
    assert dc1.groups == ("dc", "pairs")  # file order
    s = dc1.settings
    assert s.order is Order.SEQUENTIAL  # group dc
    assert s.reload_timeout == 1200  # group pairs
    assert s.on_error is OnError.STOP  # group pairs
    assert s.backup_current_image is True and s.max_parallel == 8  # defaults
    assert s.accept_warnings == frozenset({"RAM_LOW"})
    assert s.maintenance_windows == (MaintenanceWindow(("sat",), "02:00", 120, "Asia/Tokyo"),)
    assert s.operation is Operation.INSTALL_AND_RELOAD  # built-in default
    assert s.install_location is InstallLocation.DISK0
    assert r["dc-2"].settings.reload_timeout == 600  # device override beats everything
    assert r["dc-2"].settings.order is Order.SEQUENTIAL
    assert r["legacy-1"].settings == Settings(backup_current_image=True, max_parallel=8,
                                              maintenance_windows=s.maintenance_windows)


def test_observed_model_beats_the_inventory_hint(base: DesiredState) -> None:
    resolved, findings = resolve_device(base, "br-1", model="ASA5545-X")
    assert findings == []
    assert resolved.targets[A].image.name == "asa941-smp-k8.bin"
    hinted, _ = resolve_device(base, "br-1")
    assert hinted.targets[A].image.name == "asa941-lfbff-k8.SPA"


def test_observed_mode_drives_group_matching(base: DesiredState) -> None:
    r, _ = resolve_fleet(base, {"dc-2": ("ASA5545-X", Mode.ACTIVE_STANDBY),
                                "dc-1": ("ASA5585-SSP-20", Mode.STANDALONE)})
    assert r["dc-2"].groups == ("dc", "pairs")
    assert r["dc-1"].groups == ("dc",)
    assert r["dc-1"].settings.reload_timeout == 900


def test_unknown_device(base: DesiredState) -> None:
    resolved, findings = resolve_device(base, "nope")
    assert resolved.targets == {}
    assert [f.code for f in findings] == [FindingCode.UNKNOWN_DEVICE]


def test_explicit_images_beat_the_entry_own_bundle(make_repo: MakeRepo) -> None:
    desired = load(make_repo(files={"desired/devices.yaml": (
        "devices:\n  - name: dc-2\n    bundle: dc-9.4\n    images:\n      asdm: \"7.16(1)\"\n")}))
    r, findings = resolve_fleet(desired)
    assert findings == []
    assert names(r, "dc-2")[A] == ("asa941-smp-k8.bin", "bundle:dc-9.4 via device:dc-2")
    assert names(r, "dc-2")[ASDM] == ("asdm-7161.bin", "device:dc-2")


def test_same_target_from_two_groups_is_fine_but_different_ones_conflict(
        make_repo: MakeRepo) -> None:
    same = load(make_repo("scenarios/same-target"))
    r, findings = resolve_fleet(same)
    assert findings == []
    assert r["br-1"].groups == ("branch", "tokyo")
    assert names(r, "br-1")[A] == ("asa941-lfbff-k8.SPA", "group:branch")

    conflict = load(make_repo("scenarios/conflict"))
    r, findings = resolve_fleet(conflict)
    assert [(f.code, f.device) for f in findings] == [(FindingCode.CONFLICTING_TARGETS, "br-1")]
    assert A not in r["br-1"].targets  # blocked, not guessed
    assert ASDM in r["br-1"].targets  # other types still resolve
    msg = findings[0].message
    assert "desired/conflict.yaml:6" in msg and "desired/fleet.yaml:19" in msg
    assert str(findings[0].location) == "desired/fleet.yaml:19"


def test_a_device_override_settles_a_group_conflict(make_repo: MakeRepo) -> None:
    desired = load(make_repo("scenarios/conflict", files={"desired/devices.yaml": (
        "devices:\n  - name: br-1\n    images:\n      asa: \"9.3(3)\"\n")}))
    r, findings = resolve_fleet(desired)
    assert findings == []
    assert names(r, "br-1")[A] == ("asa933-lfbff-k8.SPA", "device:br-1")


def test_smp_platform_prefers_smp_and_falls_back_with_a_warning(make_repo: MakeRepo) -> None:
    desired = load(make_repo("scenarios/smp-fallback", files={"desired/images-smp.yaml": ""}))
    r, findings = resolve_fleet(desired)
    assert names(r, "dc-1")[A][0] == "asa923-k8.bin"
    [f] = findings
    assert f.code is FindingCode.IMAGE_PLATFORM and not f.blocking
    # with an SMP build of the same version in the catalog, it wins without a warning
    smp = ("images:\n  - name: asa923-smp-k8.bin\n    type: asa\n    version: \"9.2(3)\"\n"
           "    platforms: [asa5585]\n    smp: true\n    size: 5767168\n    sha256: "
           + "ab" * 32 + "\n")
    desired = load(make_repo("scenarios/smp-fallback", files={"desired/images-smp.yaml": smp}))
    r, findings = resolve_fleet(desired)
    assert findings == []
    assert names(r, "dc-1")[A][0] == "asa923-smp-k8.bin"


def test_non_smp_platform_prefers_the_non_smp_build(make_repo: MakeRepo) -> None:
    both = ("images:\n" + "".join(
        f"  - name: {n}\n    type: asa\n    version: \"9.1(6)\"\n    platforms: [asa5500]\n"
        f"    smp: {s}\n    size: 10\n    sha256: {'cd' * 32}\n"
        for n, s in (("asa916-smp-k8.bin", "true"),)))
    desired = load(make_repo(files={"desired/images-more.yaml": both, "desired/legacy.yaml": (
        "groups:\n  - name: legacy\n    match: {model: \"ASA55?0\"}\n    images: {asa: \"9.1(6)\"}\n")}))
    r, findings = resolve_fleet(desired)
    assert findings == []
    assert names(r, "legacy-1")[A][0] == "asa916-k8.bin"


def test_explicit_image_not_built_for_the_platform(make_repo: MakeRepo) -> None:
    desired = load(make_repo(files={"desired/devices.yaml": (
        "devices:\n  - name: br-1\n    images:\n      asa: asa941-smp-k8.bin\n")}))
    r, findings = resolve_fleet(desired)
    [f] = findings
    assert f.code is FindingCode.NO_COMPATIBLE_IMAGE
    assert "asa941-smp-k8.bin is not built for asa5506x" in f.message
    assert A not in r["br-1"].targets


def test_image_of_the_wrong_type(make_repo: MakeRepo) -> None:
    desired, findings = load_desired(DirectorySource(make_repo(files={"desired/devices.yaml": (
        "devices:\n  - name: br-1\n    images:\n      asa: asdm-7161.bin\n")})))
    assert [(f.code, f.message) for f in findings] == [
        (FindingCode.UNKNOWN_IMAGE, "device:br-1: image asdm-7161.bin is an asdm image, not asa")]


def test_defaults_agent_target_does_not_touch_firewalls(make_repo: MakeRepo) -> None:
    fleet = (make_repo() / "desired" / "fleet.yaml").read_text().replace(
        'asdm: "7.16(1)"', 'asdm: "7.16(1)"\n    agent: "7.3.2.1006"')
    desired = load(make_repo(files={"desired/fleet.yaml": fleet,
                                    "desired/devices.yaml": "devices: []\n"}))
    r, findings = resolve_fleet(desired)
    assert findings == []
    assert AG not in r["br-1"].targets
    assert names(r, "ep-2")[AG] == ("agent-7.3.2.1006-x86_64.rpm", "group:endpoints")


def test_a_group_giving_firewall_images_to_an_agent_is_reported(make_repo: MakeRepo) -> None:
    desired = load(make_repo(files={"desired/more.yaml": (
        "groups:\n  - name: everyone\n    match: {}\n    images: {asa: \"9.4(1)\"}\n")}))
    _, findings = resolve_fleet(desired)
    assert {(f.code, f.device) for f in findings} == {
        (FindingCode.NO_COMPATIBLE_IMAGE, "ep-1"), (FindingCode.NO_COMPATIBLE_IMAGE, "ep-2"),
        (FindingCode.NO_COMPATIBLE_IMAGE, "legacy-1"),
        (FindingCode.CONFLICTING_TARGETS, "dc-1")}  # dc says 9.3.3; dc-2 has an override
    assert all("agent endpoints take agent images only" in f.message
               for f in findings if f.device in ("ep-1", "ep-2"))


def test_match_criteria(make_repo: MakeRepo) -> None:
    groups = """groups:
  - name: by-model
    match: {model: "asa55?6-x"}
  - name: by-site
    match: {site: "o*"}
  - name: by-names
    match: {names: ["dc-*", "legacy-1"]}
  - name: by-tags-all
    match: {tags: [dc, managed]}
  - name: by-tags-missing
    match: {tags: [dc, nope]}
  - name: by-mode-standalone
    match: {mode: standalone}
  - name: everything
    match: {}
"""
    desired = load(make_repo(files={"desired/zz.yaml": groups}))
    r, _ = resolve_fleet(desired)
    g = {n: set(d.groups) - {"branch", "dc", "pairs", "endpoints"} for n, d in r.items()}
    assert g["br-1"] == {"by-model", "by-mode-standalone", "everything"}
    assert g["br-2"] == {"by-model", "by-site", "by-mode-standalone", "everything"}
    assert g["dc-1"] == {"by-names", "by-tags-all", "everything"}  # active-standby
    assert g["dc-2"] == {"by-names", "by-tags-all", "by-mode-standalone", "everything"}
    assert g["legacy-1"] == {"by-names", "by-mode-standalone", "everything"}
    assert g["ep-1"] == {"everything"}  # agents have no firewall mode


def test_unsupported_device_gets_no_targets(make_repo: MakeRepo) -> None:
    desired = load(make_repo("scenarios/unsupported-device"))
    r, findings = resolve_fleet(desired)
    assert r["old-pix"].targets == {}
    assert {(f.code, f.device) for f in findings} == {
        (FindingCode.UNSUPPORTED_DEVICE, "old-pix"), (FindingCode.UNSUPPORTED_DEVICE, "odd-agent")}
    assert str(next(f for f in findings if f.device == "old-pix").location) == \
        "inventory/extra.yaml:2"


def test_resolution_is_pure(base: DesiredState, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins
    import os
    import socket

    def forbidden(*a: object, **k: object) -> None:
        raise AssertionError("resolution must not do I/O")

    for mod, name in ((builtins, "open"), (os, "open"), (os, "stat"), (os, "listdir"),
                      (os, "scandir"), (socket, "socket"), (os, "getenv")):
        monkeypatch.setattr(mod, name, forbidden)
    monkeypatch.setattr(os, "environ", {})
    from reconciler.core.validate import validate_desired

    r, _ = resolve_fleet(base, {"br-1": ("ASA5545-X", None)})
    assert r["br-1"].targets[A].image.name == "asa941-smp-k8.bin"
    assert validate_desired(base) == []


def test_many_devices_share_one_resolution(make_repo: MakeRepo) -> None:
    extra = "devices:\n" + "".join(
        f"  - name: br-x{i}\n    address: https://10.0.{i // 250}.{i % 250 + 1}\n"
        f"    model: ASA5506-X\n    tags: [branch]\n" for i in range(500))
    desired = load(make_repo(files={"inventory/more.yaml":
                                    "defaults:\n  driver: asa\n  credentials: "
                                    "{username: a, password: env:P}\n" + extra}))
    r, findings = resolve_fleet(desired)
    assert findings == []
    assert len(r) == 507
    assert r["br-x0"].targets is r["br-x499"].targets  # shared, immutable by contract
    assert r["br-x7"].targets[A].image.name == "asa941-lfbff-k8.SPA"


# --------------------------------------------------------------------- group matching at scale

_models = st.sampled_from([None, "ASA5506-X", "asa 5585-ssp-20", "FPR-2110", "ASAv30", "windows"])
_match = st.builds(
    Match, model=st.sampled_from([None, "ASA55[01]6*", "asa5585*", "FPR-*", "*"]),
    tags=st.lists(st.sampled_from(["a", "b", "c"]), max_size=2, unique=True).map(tuple),
    site=st.sampled_from([None, "jp-*", "jp-dc*", "us-?01"]),
    mode=st.sampled_from([None, *Mode]),
    names=st.lists(st.sampled_from(["fw-0*", "*-7", "ep-*"]), max_size=2).map(tuple))
_device = st.builds(
    lambda name, tags, site: InventoryDevice(name, "https://h", DriverKind.ASA, None, tags=tags,
                                             site=site),
    st.sampled_from(["fw-01", "fw-07", "ep-7", "x"]),
    st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=3, unique=True).map(tuple),
    st.sampled_from([None, "jp-01", "jp-dc2", "us-x01", "eu-1"]))


@settings(max_examples=300, deadline=None)
@given(matches=st.lists(_match, max_size=8),
       devices=st.lists(st.tuples(_device, _models, st.sampled_from([None, *Mode])), max_size=12))
def test_the_group_index_matches_exactly_what_each_group_matches(matches, devices) -> None:
    groups = tuple(Group(name=f"g{i}", match=m) for i, m in enumerate(matches))
    index = _GroupIndex(groups)
    for dev, model, mode in devices:
        norm = normalise_model(model) if model else None
        want = tuple(i for i, g in enumerate(groups) if matcher(g.match)(dev, model, norm, mode))
        assert index.matching(dev, model, norm, mode) == want
