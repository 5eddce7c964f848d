"""The pure storage rules: which files are running / boot-referenced / the ASDM image (and so kept
by deletes and by the planner's cleanup), locating a file, the download unit, test-copy targets."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.model import Mode, Role
from reconciler.core.observed import ObservedDevice, device_from_dict
from reconciler.core.storage import (
    DevicePath,
    FileUse,
    ProbeStatus,
    check_delete,
    check_fetch,
    device_storage,
    download_unit,
    file_uses,
    in_use,
    locate,
    members_holding,
    parse_path,
    probe_targets,
    select_members,
    single_member,
    unreferenced_files,
)
from reconciler.errors import PermanentError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "storage" / "observed.yaml"


@pytest.fixture(scope="module")
def fleet() -> dict[str, ObservedDevice]:
    docs = yaml.safe_load(FIXTURE.read_text())["devices"]
    return {d["name"]: device_from_dict(d) for d in docs}


def uses(dev: ObservedDevice, member: str, disk: str) -> dict[str, str]:
    m = device_storage(dev, [member]).members[0]
    d = m.disk(disk)
    assert d is not None
    return {f.name: f.describe_uses() for f in d.files}


# ------------------------------------------------------------------ paths


@pytest.mark.parametrize(("text", "disk", "name"), [
    ("disk0:/asa941-smp-k8.bin", "disk0", "asa941-smp-k8.bin"),
    ("disk0:asa941-smp-k8.bin", "disk0", "asa941-smp-k8.bin"),
    ("flash:/asa941-smp-k8.bin", "disk0", "asa941-smp-k8.bin"),
    ("DISK1:/AnyConnect.pkg", "disk1", "AnyConnect.pkg"),
    ("packages:/agent-7.3.2.1006-x64.msi", "packages", "agent-7.3.2.1006-x64.msi"),
    ("asa941-smp-k8.bin", None, "asa941-smp-k8.bin"),
    ("  disk0:/x.bin ", "disk0", "x.bin"),
])
def test_parse_path(text: str, disk: str | None, name: str) -> None:
    p = parse_path(text)
    assert (p.disk, p.name) == (disk, name)
    assert str(p) == (f"{disk}:/{name}" if disk else name)


@pytest.mark.parametrize("text", ["", "disk0:", "disk0:/", "disk0:/../x", "disk0:/a/../b", "di sk:/x", ":/x"])
def test_bad_paths_are_refused_with_an_example(text: str) -> None:
    with pytest.raises(PermanentError) as e:
        parse_path(text)
    assert e.value.code == "BAD_PATH" and "disk0:/" in (e.value.hint or "")


@given(st.sampled_from(["disk0", "disk1"]), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,30}", fullmatch=True))
def test_a_path_matches_itself_in_any_case(disk: str, name: str) -> None:
    p = parse_path(f"{disk}:/{name}")
    assert p.matches(disk, name) and p.matches(disk.upper(), name.upper())
    assert not p.matches("disk9", name)
    assert DevicePath(None, name).matches("disk9", name.lower())


# ------------------------------------------------------------------ the in-use rule


def test_running_boot_and_asdm_files_are_in_use(fleet: dict[str, ObservedDevice]) -> None:
    assert uses(fleet["solo"], "solo", "disk0") == {
        "asa933-lfbff-k8.SPA": "running, boot 1",  # boot line written with the flash: alias
        "asdm-741.bin": "asdm",
        "asa924-lfbff-k8.SPA": "boot 2",  # written disk0:NAME, without the slash
        "ASA912-LFBFF-K8.SPA": "boot 3",  # FAT: the bare boot name matches in any case
        "asa901-lfbff-k8.SPA": "",
        "old-config.cfg": "",
    }


def test_a_reference_names_one_disk_unless_it_names_none(fleet: dict[str, ObservedDevice]) -> None:
    # disk0:/asa933 runs and boots; the copy on disk1 is nobody's; the bare boot name covers both disks
    assert uses(fleet["solo"], "solo", "disk1") == {"asa933-lfbff-k8.SPA": "", "asa912-lfbff-k8.SPA": "boot 3"}


def test_each_member_is_judged_by_what_it_runs(fleet: dict[str, ObservedDevice]) -> None:
    pair = fleet["pair"]
    assert uses(pair, "primary", "disk0") == {"asa916-smp-k8.bin": "running, boot 2",
                                               "asa924-smp-k8.bin": "boot 1", "only-on-primary.bin": ""}
    assert uses(pair, "secondary", "disk0") == {"asa916-smp-k8.bin": "boot 2", "asa924-smp-k8.bin": "running, boot 1",
                                                 "asdm-7161.bin": ""}


def test_unreferenced_files_are_what_cleanup_may_take(fleet: dict[str, ObservedDevice]) -> None:
    solo = fleet["solo"].members[0]
    assert [f.name for f in unreferenced_files(solo, "disk0")] == ["asa901-lfbff-k8.SPA", "old-config.cfg"]
    assert [f.name for f in unreferenced_files(solo, "disk1")] == ["asa933-lfbff-k8.SPA"]
    assert unreferenced_files(solo, "disk7") == ()
    for d in ("disk0", "disk1"):
        for f in unreferenced_files(solo, d):
            assert not in_use(solo, d, f.name)


def test_the_planners_cleanup_uses_the_same_rule(fleet: dict[str, ObservedDevice]) -> None:
    from reconciler.core.plan.space import cleanup_candidates

    solo = fleet["solo"].members[0]
    # only system/ASDM images are the planner's to delete; of those, exactly the unreferenced ones
    assert [f.name for f in cleanup_candidates(solo, "disk0", frozenset(), {})] == ["asa901-lfbff-k8.SPA"]
    assert [f.name for f in cleanup_candidates(solo, "disk1", frozenset(), {})] == ["asa933-lfbff-k8.SPA"]
    assert cleanup_candidates(solo, "disk1", frozenset({"asa933-lfbff-k8.SPA"}), {}) == []


def test_file_uses_reports_the_first_boot_position(fleet: dict[str, ObservedDevice]) -> None:
    primary = fleet["pair"].member("primary")
    assert primary is not None
    assert file_uses(primary, "disk0", "asa916-smp-k8.bin") == (frozenset({FileUse.RUNNING, FileUse.BOOT}), 2)
    assert file_uses(primary, "disk0", "nothing.bin") == (frozenset(), None)


def test_webvpn_packages_of_the_running_vpn_versions_are_in_use(fleet: dict[str, ObservedDevice]) -> None:
    assert uses(fleet["vpn"], "vpn", "disk0") == {
        "asa941-lfbff-k8.SPA": "running, boot 1",
        "anyconnect-win-4.9.06037-webdeploy-k9.pkg": "webvpn",
        "anyconnect-macos-4.9.06037-webdeploy-k9.pkg": "webvpn",
        "anyconnect-win-4.8.03036-webdeploy-k9.pkg": "",  # an older release nobody runs
        "csd_3.6.6228-k9.pkg": "webvpn",
        "csd_3.6.62281-k9.pkg": "",  # a longer version is another version
        "hostscan_4.9.06037-k9.pkg": "webvpn",
    }
    vpn = fleet["vpn"]
    (check,) = check_delete(vpn, vpn.members, "csd_3.6.6228-k9.pkg")
    assert check.refused and "webvpn package" in check.reason() and "remote-access" in check.consequence()
    # without the device's VPN versions (the planner, which never deletes VPN packages) only boot/run/asdm count
    assert not in_use(vpn.members[0], "disk0", "csd_3.6.6228-k9.pkg")
    assert in_use(vpn.members[0], "disk0", "csd_3.6.6228-k9.pkg", vpn.running)


def test_disk_totals(fleet: dict[str, ObservedDevice]) -> None:
    d = device_storage(fleet["solo"]).members[0].disks[0]
    assert (d.size, d.free, d.used) == (67108864, 40000000, 67108864 - 40000000)
    assert d.reclaimable == 6000000 + 4096 and d.files_bytes == sum(f.size for f in d.files)
    assert d.percent_free == 59


# ------------------------------------------------------------------ members and locating


def test_select_members_names_the_members_on_a_typo(fleet: dict[str, ObservedDevice]) -> None:
    assert [m.name for m in select_members(fleet["cluster"])] == ["unit-1", "unit-2", "unit-3", "unit-4"]
    assert [m.name for m in select_members(fleet["cluster"], ["unit-3", "unit-1", "unit-3"])] == ["unit-3", "unit-1"]
    with pytest.raises(PermanentError) as e:
        select_members(fleet["pair"], ["tertiary"])
    assert e.value.code == "UNKNOWN_MEMBER" and "primary (standby), secondary (active)" in (e.value.hint or "")


def test_a_pair_needs_a_member_a_standalone_does_not(fleet: dict[str, ObservedDevice]) -> None:
    assert single_member(fleet["solo"], None, "delete").name == "solo"
    with pytest.raises(PermanentError) as e:
        single_member(fleet["pair"], None, "delete the file on")
    assert e.value.code == "MEMBER_REQUIRED" and "--member" in (e.value.hint or "")


def test_locate(fleet: dict[str, ObservedDevice]) -> None:
    solo = fleet["solo"]
    m = solo.members[0]
    assert locate(solo, m, "disk1:/asa933-lfbff-k8.SPA").file.path == "disk1:/asa933-lfbff-k8.SPA"
    assert locate(solo, m, "asa901-lfbff-k8.SPA").file.path == "disk0:/asa901-lfbff-k8.SPA"
    assert locate(solo, m, "disk0:/asa912-lfbff-k8.spa").file.name == "ASA912-LFBFF-K8.SPA"
    with pytest.raises(PermanentError) as e:
        locate(solo, m, "asa933-lfbff-k8.SPA")
    assert e.value.code == "AMBIGUOUS_PATH" and "disk0:/asa933" in (e.value.hint or "")
    with pytest.raises(PermanentError) as e:
        locate(solo, m, "disk2:/x.bin")
    assert e.value.code == "DISK_MISSING" and "disk0, disk1" in (e.value.hint or "")


def test_a_missing_file_says_which_member_has_it(fleet: dict[str, ObservedDevice]) -> None:
    pair = fleet["pair"]
    with pytest.raises(PermanentError) as e:
        locate(pair, pair.members[1], "disk0:/only-on-primary.bin")
    assert e.value.code == "FILE_NOT_FOUND" and e.value.member == "secondary" and "on primary" in (e.value.hint or "")


def test_an_unreachable_member_has_unknown_files(fleet: dict[str, ObservedDevice]) -> None:
    cl = fleet["cluster"]
    with pytest.raises(PermanentError) as e:
        locate(cl, cl.members[3], "disk0:/x.bin")
    assert e.value.code == "MEMBER_UNREACHABLE"


# ------------------------------------------------------------------ deleting


def test_check_delete_refuses_what_is_in_use_and_says_why(fleet: dict[str, ObservedDevice]) -> None:
    pair = fleet["pair"]
    checks = check_delete(pair, pair.members, "disk0:/asa916-smp-k8.bin")
    assert [c.refused for c in checks] == [True, True]
    assert checks[0].reason() == "disk0:/asa916-smp-k8.bin is the running image and boot line 2 of primary"
    assert "no fallback" in checks[0].consequence() and "--force" in checks[0].advice()
    assert checks[1].reason() == "disk0:/asa916-smp-k8.bin is boot line 2 of secondary"
    assert "boot list first" in checks[1].advice()
    solo = fleet["solo"]
    (asdm,) = check_delete(solo, solo.members, "disk0:/asdm-741.bin")
    assert asdm.refused and asdm.reason().endswith("is the ASDM image of solo") and "asdm image" in asdm.advice()
    (free,) = check_delete(solo, solo.members, "disk0:/asa901-lfbff-k8.SPA")
    assert not free.refused


def test_members_holding(fleet: dict[str, ObservedDevice]) -> None:
    assert [m.name for m in members_holding(fleet["pair"], "only-on-primary.bin")] == ["primary"]
    assert [m.name for m in members_holding(fleet["cluster"], "disk0:/asa933-smp-k8.bin")] == ["unit-2"]


# ------------------------------------------------------------------ downloading


def test_the_download_unit_is_the_management_unit(fleet: dict[str, ObservedDevice]) -> None:
    assert download_unit(fleet["solo"]).name == "solo"  # type: ignore[union-attr]
    assert download_unit(fleet["pair"]).name == "secondary"  # type: ignore[union-attr]
    assert download_unit(fleet["aa"]).name == "secondary"  # type: ignore[union-attr] # holds group 1
    assert download_unit(fleet["cluster"]).name == "unit-2"  # type: ignore[union-attr]
    assert download_unit(fleet["headless"]) is None


def test_fetch_from_a_standby_or_data_unit_is_refused_naming_the_unit_to_use(fleet: dict[str, ObservedDevice]) -> None:
    with pytest.raises(PermanentError) as e:
        check_fetch(fleet["pair"], "primary", "disk0:/asa916-smp-k8.bin")
    assert e.value.code == "NOT_DOWNLOAD_UNIT" and e.value.member == "primary"
    assert "active unit of a failover pair (here secondary)" in e.value.message and "--member secondary" in (e.value.hint or "")
    with pytest.raises(PermanentError) as e:
        check_fetch(fleet["cluster"], "unit-1", "disk0:/asa933-smp-k8.bin")
    assert "control unit of a cluster (here unit-2)" in e.value.message
    assert check_fetch(fleet["cluster"], None, "asa933-smp-k8.bin").member.name == "unit-2"
    assert check_fetch(fleet["pair"], "secondary", "asdm-7161.bin").file.path == "disk0:/asdm-7161.bin"


def test_fetch_of_a_file_only_on_the_standby_explains_roles(fleet: dict[str, ObservedDevice]) -> None:
    with pytest.raises(PermanentError) as e:
        check_fetch(fleet["pair"], None, "only-on-primary.bin")
    assert e.value.code == "FILE_NOT_FOUND" and "on primary" in (e.value.hint or "") and "only from secondary" in (e.value.hint or "")
    with pytest.raises(PermanentError) as e:
        check_fetch(fleet["headless"], None, "x.bin")
    assert e.value.code == "NO_DOWNLOAD_UNIT"


# ------------------------------------------------------------------ test-copy targets


def test_probe_targets_judge_missing_disks_full_disks_and_unreachable_units(fleet: dict[str, ObservedDevice]) -> None:
    got = {t.member.name: t for t in probe_targets(fleet["cluster"], "disk1", 65536)}
    assert got["unit-1"].status is ProbeStatus.DISK_FULL and "100 bytes free" in got["unit-1"].message
    assert got["unit-2"].status is None
    assert got["unit-3"].status is ProbeStatus.DISK_MISSING and "its disks: disk0" in got["unit-3"].message
    assert "install_location" in got["unit-3"].advice
    assert got["unit-4"].status is ProbeStatus.UNREACHABLE
    only = probe_targets(fleet["cluster"], "disk0", 65536, ["unit-3"])
    assert [(t.member.name, t.status) for t in only] == [("unit-3", None)]


def test_roles_are_kept_in_the_listing(fleet: dict[str, ObservedDevice]) -> None:
    s = device_storage(fleet["cluster"])
    assert s.mode is Mode.CLUSTER
    assert [(m.name, m.role, m.reachable) for m in s.members] == [
        ("unit-1", Role.DATA, True), ("unit-2", Role.CONTROL, True), ("unit-3", Role.DATA, True),
        ("unit-4", Role.DATA, False)]
    ep = device_storage(fleet["ep"]).members[0]
    assert ep.running_image is None and [f.describe_uses() for f in ep.disks[0].files] == [""]
