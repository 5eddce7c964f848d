from reconciler.core.model import Bundle, ImageStatus, ImageType, ResolvedDevice, Settings, Target
from reconciler.images.listing import References, SortKey, build_rows, references, select, sort_rows
from tests.images.server import image_for

ASA94 = image_for("asa941-smp-k8.bin", b"a" * 30, version="9.4(1)", platforms=("asa5500x", "asa5585"))
ASA910 = image_for("asa9101-smp-k8.bin", b"b" * 40, version="9.10(1)", platforms=("asa5585",))
ASA916 = image_for("asa916-k8.bin", b"c" * 20, version="9.1(6)", platforms=("asa5500",))
ASDM = image_for("asdm-741.bin", b"d" * 10, type=ImageType.ASDM, version="7.4(1)", platforms=("asa5500",))
CATALOG = {i.name: i for i in (ASA94, ASA910, ASA916, ASDM)}


def device(name, *images):
    return ResolvedDevice(name, {i.type: Target(i.type, i, "group:x") for i in images}, Settings())


def rows():
    refs = references({"fw-a": device("fw-a", ASA94, ASDM), "fw-b": device("fw-b", ASA94)},
                      {"dc": Bundle("dc", (ASA94.name, ASDM.name)), "old": Bundle("old", (ASA916.name,))})
    statuses = {ASA94.name: ImageStatus.PRESENT, ASDM.name: ImageStatus.CHECKSUM_MISMATCH}
    return build_rows(CATALOG, statuses, {ASA910.name: 12}, refs)


def test_references_list_devices_and_bundles():
    by = {r.image.name: r for r in rows()}
    assert by[ASA94.name].refs == References(("fw-a", "fw-b"), ("dc",))
    assert by[ASDM.name].refs == References(("fw-a",), ("dc",))
    assert by[ASA916.name].refs == References((), ("old",))
    assert not by[ASA910.name].refs.used
    assert by[ASA910.name].status is ImageStatus.MISSING and by[ASA910.name].partial_bytes == 12


def test_sort_by_type_orders_versions_numerically():
    assert [r.image.name for r in sort_rows(rows(), SortKey.TYPE)] == [
        ASA916.name, ASA94.name, ASA910.name, ASDM.name]  # 9.1 < 9.4 < 9.10, then asdm
    assert [r.image.name for r in sort_rows(rows(), "size", reverse=True)][0] == ASA910.name
    assert [r.image.name for r in sort_rows(rows(), "status")][:2] == [ASDM.name, ASA910.name]
    assert [r.image.name for r in sort_rows(rows(), "refs", reverse=True)][0] == ASA94.name
    assert [r.image.name for r in sort_rows(rows(), "version")] == [ASDM.name, ASA916.name, ASA94.name, ASA910.name]


def test_filters_combine():
    names = lambda rs: sorted(r.image.name for r in rs)  # noqa: E731
    assert names(select(rows(), types=["asdm"])) == [ASDM.name]
    assert names(select(rows(), platforms=["ASA5585"])) == [ASA910.name, ASA94.name]
    assert names(select(rows(), types=["asa"], statuses=["missing"])) == [ASA910.name, ASA916.name]
    assert names(select(rows(), search="9.4")) == [ASA94.name]
    assert names(select(rows(), unused=True)) == [ASA910.name]


def test_json_shape():
    d = {r.image.name: r for r in rows()}[ASA94.name].to_dict()
    assert d["in_repository"] is True and d["devices"] == ["fw-a", "fw-b"] and d["bundles"] == ["dc"]
    assert {"name", "type", "version", "platforms", "size", "sha256", "status", "source"} <= set(d)
