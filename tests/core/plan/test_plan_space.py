from builders import CATALOG, MiB

from reconciler.contract import FindingCode
from reconciler.core.model import Role
from reconciler.core.observed import Disk, FileEntry, Member
from reconciler.core.plan.space import cleanup_candidates, plan_space

NEW = CATALOG["asa941-smp-k8.bin"]  # 6 MiB
ASDM = CATALOG["asdm-741.bin"]  # 2.5 MiB


def unit(name: str, free_mib: float, files=(), boot=(), running=None, disks=("disk0",)):
    entries = tuple(FileEntry(n, int(s * MiB)) for n, s in files)
    return Member(name, Role.DATA, disks=tuple(
        Disk(d, 1 << 33, int(free_mib * MiB), entries if d == "disk0" else ()) for d in disks),
        boot=tuple(boot), running_files={"asa": running} if running else {})


def test_every_image_of_the_change_counts_and_only_the_short_member_is_named():
    a, b = unit("u1", 10), unit("u2", 8)  # 8.5 MiB needed
    res = plan_space("c", [a, b], "disk0", {"u1": [NEW, ASDM], "u2": [NEW, ASDM]},
                     cleanup=False, keep=frozenset(), catalog=CATALOG)
    assert [(f.code, f.member) for f in res.findings] == [(FindingCode.DISK_SPACE, "u2")]
    msg = res.findings[0].message
    assert "u2: disk0 needs 8,912,896 bytes (8.5 MiB)" in msg and "8,388,608 bytes" in msg


def test_missing_install_disk_is_reported_per_member():
    res = plan_space("c", [unit("u1", 100, disks=("disk0", "disk1")), unit("u2", 100)], "disk1",
                     {"u1": [NEW], "u2": [NEW]}, cleanup=False, keep=frozenset(),
                     catalog=CATALOG)
    assert [(f.code, f.member) for f in res.findings] == [
        (FindingCode.INSTALL_LOCATION_MISSING, "u2")]


def test_cleanup_deletes_oldest_unreferenced_images_only_as_far_as_needed():
    files = [("asa904-smp-k8.bin", 5), ("asa916-smp-k8.bin", 5.25), ("asa923-smp-k8.bin", 5.5),
             ("anyconnect-old.pkg", 30), ("running-config.bak", 40), ("asdm-741.bin", 2.5)]
    m = unit("u1", 3, files, boot=["disk0:/asa923-smp-k8.bin"], running="asa923-smp-k8.bin")
    m = Member(m.name, m.role, disks=m.disks, boot=m.boot, running_files=m.running_files,
               asdm_image="disk0:/asdm-741.bin")
    assert [f.name for f in cleanup_candidates(m, "disk0", frozenset(), CATALOG)] == [
        "asa904-smp-k8.bin", "asa916-smp-k8.bin"]
    res = plan_space("c", [m], "disk0", {"u1": [NEW]}, cleanup=True, keep=frozenset(),
                     catalog=CATALOG)
    assert [f.name for f in res.deletions["u1"]] == ["asa904-smp-k8.bin"]
    assert [f.code for f in res.findings] == [FindingCode.CLEANUP]


def test_cleanup_that_cannot_free_enough_is_still_a_disk_space_error():
    m = unit("u1", 0.5, [("asa904-smp-k8.bin", 5)], boot=["disk0:/asa941-smp-k8.bin"])
    res = plan_space("c", [m], "disk0", {"u1": [NEW, ASDM]}, cleanup=True, keep=frozenset(),
                     catalog=CATALOG)
    assert not res.deletions
    assert res.findings[0].code is FindingCode.DISK_SPACE
    assert "cleanup can free only 5,242,880 bytes" in res.findings[0].message
