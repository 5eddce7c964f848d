import pytest
from builders import resolved, snapshot

from reconciler.contract import FindingCode
from reconciler.core.plan.diff import Direction, diff_device


def dev(running: dict, members: list[dict] | None = None, driver="asa", model="ASA5585-SSP-20"):
    return snapshot(str({"devices": [{"name": "d", "model": model, "platform": "x",
                                      "driver": driver, "mode": "standalone", "running": running,
                                      "members": members or []}]})).devices["d"]


@pytest.mark.parametrize("running,drifts", [
    ("7.3.2.1006", False), ("7.3.2.999", False),  # only the first three parts count
    ("7.3.1.2048", True), ("7.4.0.1", True),
])
def test_agent_versions_compare_on_three_parts(running, drifts):
    r = resolved("d", {"agent": "agent-7.3.2.1006-x64.msi"})
    d, findings = diff_device(r, dev({"agent": running}, driver="agent", model="windows"))
    assert bool(d) is drifts and not findings


def test_asa_listing_forms_are_the_same_release_but_another_file_is_a_swap():
    r = resolved("d", {"asa": "asa941-smp-k8.bin"})
    assert diff_device(r, dev({"asa": "9.4.1.SMP"}))[0] == []
    member = {"name": "u", "role": "standalone", "running": {"asa": "9.4(1)"},
              "running_files": {"asa": "disk0:/asa941-k8.bin"}}
    (drift,), _ = diff_device(r, dev({"asa": "9.4(1)"}, [member]))
    assert drift.direction is Direction.SAME and drift.change.from_image == "asa941-k8.bin"


def test_a_unit_left_behind_is_drift_and_from_is_the_lowest():
    r = resolved("d", {"asa": "asa941-smp-k8.bin"})
    members = [{"name": "a", "role": "active", "running": {"asa": "9.4(1)"}},
               {"name": "b", "role": "standby", "running": {"asa": "9.3(3)"}}]
    (drift,), _ = diff_device(r, dev({"asa": "9.4(1)"}, members))
    assert drift.lagging == ("b",) and drift.change.from_version == "9.3(3)"
    assert drift.direction is Direction.UPGRADE


def test_absent_images_are_installs_and_garbage_versions_are_findings():
    r = resolved("d", {"anyconnect": "anyconnect-win-4.10.07073-webdeploy-k9.pkg",
                       "asa": "asa941-smp-k8.bin"})
    drifts, findings = diff_device(r, dev({"asa": "nine"}))
    assert [(x.type, x.direction) for x in drifts] == [("anyconnect", Direction.INSTALL)]
    assert [f.code for f in findings] == [FindingCode.BAD_VERSION]


def _vpn_unit(name: str, role: str, files: list[str]) -> dict:
    return {"name": name, "role": role, "running": {"anyconnect": "4.9.06037"},
            "disks": [{"name": "disk0", "size": 1 << 30, "free": 1 << 29,
                       "files": [{"name": f, "size": 1} for f in files]}]}


def test_vpn_images_converge_when_the_file_is_on_every_unit():
    # VPN packages are only copied; the VPN policy activates them elsewhere. Judging them by the
    # configured version would re-copy them on every run (the endless loop the seed warns about).
    pkg = "anyconnect-win-4.10.07073-webdeploy-k9.pkg"
    r = resolved("d", {"anyconnect": pkg})
    members = [_vpn_unit("a", "active", [pkg]), _vpn_unit("b", "standby", [pkg])]
    drifts, findings = diff_device(r, dev({}, members))
    assert drifts == []
    assert [f.code for f in findings] == [FindingCode.VPN_SHARED_POLICY]
    assert "4.9.06037" in findings[0].message and not findings[0].blocking


def test_vpn_image_missing_on_one_unit_is_drift_for_that_unit_only():
    pkg = "anyconnect-win-4.10.07073-webdeploy-k9.pkg"
    r = resolved("d", {"anyconnect": pkg})
    members = [_vpn_unit("a", "active", [pkg]), _vpn_unit("b", "standby", [])]
    (drift,), findings = diff_device(r, dev({}, members))
    assert drift.lagging == ("b",) and drift.change.from_version == "4.9.06037"
    assert findings == []


def test_the_per_plan_memo_tells_apart_devices_that_differ_only_in_their_disks():
    # VPN drift reads the disks ("file on every unit"); two devices with the same versions but
    # different files must not share a memoised result.
    pkg = "anyconnect-win-4.10.07073-webdeploy-k9.pkg"
    r = resolved("d", {"anyconnect": pkg})

    def unit(name: str, files: list[str]) -> dict:
        return dict(_vpn_unit(name, "active", files), running={"anyconnect": "4.10.07073"})

    snap = snapshot(str({"devices": [
        {"name": n, "model": "ASA5585-SSP-20", "platform": "x", "driver": "asa",
         "mode": "standalone", "running": {"anyconnect": "4.10.07073"},
         "members": [unit("u", files)]}
        for n, files in (("lacks", []), ("has", [pkg]), ("lacks-too", []))]}))
    memo: dict = {}
    lacks, _ = diff_device(r, snap.devices["lacks"], memo)
    has, _ = diff_device(r, snap.devices["has"], memo)
    again, _ = diff_device(r, snap.devices["lacks-too"], memo)
    assert [d.lagging for d in lacks] == [("u",)] and has == []
    assert [d.lagging for d in again] == [("u",)]
