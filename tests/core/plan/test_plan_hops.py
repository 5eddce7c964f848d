from builders import CATALOG, img

from reconciler.core.plan.hops import PathFinder, trains_between
from reconciler.core.versions import AsaVersion

V = AsaVersion.parse


def test_minor_releases_are_not_skipped_and_a_major_starts_from_the_last_minor():
    assert trains_between(V("7.0(1)"), V("7.2(1)"), {7: 2}) == [(7, 1), (7, 2)]
    assert trains_between(V("7.0(1)"), V("8.2(1)"), {7: 2, 8: 4}) == [
        (7, 1), (7, 2), (8, 0), (8, 1), (8, 2)]
    # the source's own minor is the last one the catalog knows of: straight to the next major
    assert trains_between(V("8.4(6)"), V("9.1(2)"), {8: 2}) == [(9, 0), (9, 1)]


def test_the_catalog_intermediate_images_become_hops():
    finder = PathFinder(CATALOG.values())
    path = finder.path(V("9.1(6)"), CATALOG["asa941-smp-k8.bin"], "asa5585")
    assert [i.name for i in path.images] == ["asa923-smp-k8.bin", "asa933-smp-k8.bin",
                                             "asa941-smp-k8.bin"]
    assert path.clean and [i.name for i in path.hops] == ["asa923-smp-k8.bin", "asa933-smp-k8.bin"]
    # across a major: 8.4 is the last 8.x minor the catalog holds
    path = finder.path(V("8.4(6)"), CATALOG["asa916-smp-k8.bin"], "asa5585")
    assert [i.version for i in path.images] == ["9.0(4)", "9.1(6)"]


def test_a_missing_minor_leaves_a_direct_pass_and_names_the_gap():
    catalog = [i for i in CATALOG.values() if i.name != "asa933-smp-k8.bin"]
    path = PathFinder(catalog).path(V("9.1(6)"), CATALOG["asa941-smp-k8.bin"], "asa5585")
    assert not path.clean and path.missing == ((9, 3),)
    assert [i.name for i in path.images] == ["asa941-smp-k8.bin"]


def test_same_minor_needs_no_hop_and_downgrades_across_minors_are_flagged():
    finder = PathFinder(CATALOG.values())
    same = finder.path(V("9.4(0)"), CATALOG["asa941-smp-k8.bin"], "asa5585")
    assert same.clean and not same.hops
    down = finder.path(V("9.4(1)"), CATALOG["asa916-smp-k8.bin"], "asa5585")
    assert not down.clean and "not hitless" in down.reason


def test_hop_images_keep_the_target_build_flavour():
    catalog = [*CATALOG.values(), img("asa933-k8.bin", "asa", "9.3(3)", "asa5585", smp=False),
               img("asa934-k8.bin", "asa", "9.3(4)", "asa5585", smp=False)]
    path = PathFinder(catalog).path(V("9.2(3)"), CATALOG["asa941-smp-k8.bin"], "asa5585")
    assert [i.name for i in path.hops] == ["asa933-smp-k8.bin"]  # SMP, though 9.3(4) is newer
