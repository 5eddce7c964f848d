"""Versions: the seed's notations, ordering laws (hypothesis), agent release rule, clean errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.model import ImageType
from reconciler.core.versions import (
    AgentVersion,
    AsaVersion,
    DottedVersion,
    VersionError,
    is_version_text,
    parse_version,
    release_key,
    same_release,
)
from reconciler.errors import PermanentError

# -------------------------------------------------------------------- ASA notations


@pytest.mark.parametrize("text,key", [
    ("9.1(5)", (9, 1, 5, 0)),
    ("9.2(2)4", (9, 2, 2, 4)),
    ("9.2(2.4)", (9, 2, 2, 4)),
    ("8.4(6)", (8, 4, 6, 0)),
    ("9.16(3)", (9, 16, 3, 0)),
    ("9.1.5", (9, 1, 5, 0)),
    ("9.1.5.SMP.ED", (9, 1, 5, 0)),
    ("9.2.2.4.SMP", (9, 2, 2, 4)),
    ("9.1.6.SMP", (9, 1, 6, 0)),
    ("8.4.6.ED", (8, 4, 6, 0)),
    ("  9.4(1) ", (9, 4, 1, 0)),
    ("7.16(1)150", (7, 16, 1, 150)),  # ASDM interim builds
])
def test_asa_notations(text: str, key: tuple[int, ...]) -> None:
    v = AsaVersion.parse(text)
    assert v.key == key
    assert (v.major, v.minor, v.maintenance, v.interim) == key


def test_accessors_and_listing_tags() -> None:
    v = AsaVersion.parse("9.2.2.4.smp.ed")
    assert v.train == (9, 2)
    assert v.tags == ("SMP", "ED")
    assert str(v) == "9.2(2)4"
    assert str(AsaVersion.parse("9.1.5.SMP.ED")) == "9.1(5)"


def test_listing_form_equals_paren_form_and_tags_do_not_count() -> None:
    assert AsaVersion.parse("9.1.5.SMP.ED") == AsaVersion.parse("9.1(5)")
    assert hash(AsaVersion.parse("9.1.5.SMP.ED")) == hash(AsaVersion.parse("9.1(5)"))
    assert AsaVersion.parse("9.2.2.4") == AsaVersion.parse("9.2(2)4") == AsaVersion.parse("9.2(2.4)")


def test_asa_ordering_is_numeric_not_lexical() -> None:
    order = ["7.0(1)", "8.4(6)", "9.0(4)", "9.1(2)", "9.1(5)", "9.1(6)", "9.2(2)", "9.2(2)4",
             "9.2(3)", "9.9(2)", "9.10(1)", "9.16(3)"]
    parsed = [AsaVersion.parse(x) for x in order]
    assert sorted(reversed(parsed)) == parsed
    assert AsaVersion.parse("9.2(2)4") > AsaVersion.parse("9.2(2)")


@pytest.mark.parametrize("text", [
    "", "abc", "9", "9.1", "9.1(5", "9.1()", "9..1", "9.1(5)x", "9.1(5)4a", "v9.1(5)",
    "9.2(2.4)4", "9.1.5.6.7", "9.1.5.SMP1", "1234.1(1)", "9.1(5) 4", "-9.1(5)", "9.1.(5)",
])
def test_asa_garbage_is_a_clean_error(text: str) -> None:
    with pytest.raises(VersionError) as exc:
        AsaVersion.parse(text)
    err = exc.value
    assert isinstance(err, PermanentError)
    assert err.code == "BAD_VERSION"
    assert repr(text) in err.message
    assert err.hint  # says how to write it
    assert "BAD_VERSION" in str(err)


def test_interim_given_twice_is_refused_with_advice() -> None:
    with pytest.raises(VersionError, match="twice"):
        AsaVersion.parse("9.2(2.4)4")


# -------------------------------------------------------------------- agent and VPN versions


def test_agent_versions_have_four_parts_and_three_decide() -> None:
    a = AgentVersion.parse("7.3.2.1006")
    assert (a.major, a.minor, a.maintenance, a.build) == (7, 3, 2, 1006)
    assert a.release == (7, 3, 2)
    assert str(a) == "7.3.2.1006"
    assert AgentVersion.parse("7.3.2.1007") > a
    assert same_release(ImageType.AGENT, "7.3.2.1006", "7.3.2.9999")
    assert not same_release(ImageType.AGENT, "7.3.2.1006", "7.3.3.0")
    assert release_key("agent", "7.3.2.1006") == (7, 3, 2)


@pytest.mark.parametrize("text", ["7.3.2", "7.3.2.1.5", "7.3.2.x", "", "7.3..2"])
def test_agent_garbage(text: str) -> None:
    with pytest.raises(VersionError, match="agent version"):
        AgentVersion.parse(text)


def test_dotted_vpn_versions() -> None:
    assert DottedVersion.parse("4.10.07073") == DottedVersion.parse("4.10.7073")
    assert DottedVersion.parse("4.10") == DottedVersion.parse("4.10.0.0")
    assert DottedVersion.parse("4.10.07073") > DottedVersion.parse("4.9.99999")
    assert str(DottedVersion.parse("4.10.07073")) == "4.10.07073"
    assert release_key(ImageType.ANYCONNECT, "4.10.07073") == (4, 10, 7073, 0)
    with pytest.raises(VersionError):
        DottedVersion.parse("4.10.x")


def test_parse_version_dispatches_on_type() -> None:
    assert isinstance(parse_version(ImageType.ASA, "9.1(5)"), AsaVersion)
    assert isinstance(parse_version("asdm", "7.16(1)"), AsaVersion)
    assert isinstance(parse_version(ImageType.AGENT, "7.3.2.1006"), AgentVersion)
    for t in (ImageType.ANYCONNECT, ImageType.CSD, ImageType.HOSTSCAN, ImageType.PLUGIN):
        assert isinstance(parse_version(t, "2.1"), DottedVersion)
    assert is_version_text("asa", "9.4.1")
    assert not is_version_text("asa", "asa941-smp-k8.bin")
    with pytest.raises(ValueError):
        parse_version("pix", "6.3(5)")


def test_versions_of_different_kinds_do_not_compare() -> None:
    with pytest.raises(TypeError):
        _ = AsaVersion.parse("9.1(5)") < AgentVersion.parse("7.3.2.1")  # type: ignore[operator]


# -------------------------------------------------------------------- ordering laws (hypothesis)

num3 = st.integers(min_value=0, max_value=999)
num4 = st.integers(min_value=0, max_value=9999)
tags = st.lists(st.sampled_from(["SMP", "ED", "smp", "Ed"]), max_size=2)


@st.composite
def asa_texts(draw: st.DrawFn) -> tuple[str, tuple[int, int, int, int]]:
    a, b, c, d = draw(num3), draw(num3), draw(num3), draw(num4)
    form = draw(st.sampled_from(["paren", "old", "listing"]))
    if form == "paren":
        text = f"{a}.{b}({c})" + (str(d) if d else draw(st.sampled_from(["", "0"])))
    elif form == "old":
        text = f"{a}.{b}({c}.{d})"
    else:
        text = f"{a}.{b}.{c}" + (f".{d}" if d or draw(st.booleans()) else "")
        text += "".join(f".{t}" for t in draw(tags))
    return text, (a, b, c, d)


asa_versions = asa_texts().map(lambda t: AsaVersion.parse(t[0]))
agent_versions = st.builds(lambda a, b, c, d: AgentVersion.parse(f"{a}.{b}.{c}.{d}"),
                           num3, num3, num3, num4)
dotted_versions = st.lists(st.integers(0, 99999), min_size=1, max_size=4).map(
    lambda ps: DottedVersion.parse(".".join(map(str, ps))))
any_family = st.one_of(
    st.tuples(asa_versions, asa_versions, asa_versions),
    st.tuples(agent_versions, agent_versions, agent_versions),
    st.tuples(dotted_versions, dotted_versions, dotted_versions),
)


@given(asa_texts())
def test_every_notation_parses_to_its_numbers(t: tuple[str, tuple[int, ...]]) -> None:
    text, key = t
    assert AsaVersion.parse(text).key == key


@given(any_family)
def test_totality_and_antisymmetry(vs: tuple) -> None:
    a, b, _ = vs
    assert (a < b) + (a == b) + (a > b) == 1  # exactly one holds
    if a <= b and b <= a:
        assert a == b and hash(a) == hash(b)


@given(any_family)
def test_transitivity(vs: tuple) -> None:
    a, b, c = sorted(vs)
    assert a <= b <= c and a <= c
    x, y, z = vs
    if x <= y and y <= z:
        assert x <= z
    if x < y and y < z:
        assert x < z


@given(asa_versions)
def test_asa_round_trip(v: AsaVersion) -> None:
    assert AsaVersion.parse(str(v)) == v
    assert parse_version(ImageType.ASA, str(v)) == v


@given(agent_versions)
def test_agent_round_trip(v: AgentVersion) -> None:
    assert AgentVersion.parse(str(v)) == v


@given(dotted_versions)
def test_dotted_round_trip(v: DottedVersion) -> None:
    assert DottedVersion.parse(str(v)) == v


@given(num3, num3, num3, num4, tags)
def test_listing_form_equals_paren_form(a: int, b: int, c: int, d: int, t: list[str]) -> None:
    paren = f"{a}.{b}({c})" + (str(d) if d else "")
    listing = f"{a}.{b}.{c}" + (f".{d}" if d else "") + "".join(f".{x}" for x in t)
    assert AsaVersion.parse(paren) == AsaVersion.parse(listing)
    assert release_key(ImageType.ASA, paren) == release_key(ImageType.ASA, listing)


@given(num3, num3, num3, num4, num4)
def test_agent_fourth_part_ignored_by_release_key(a: int, b: int, c: int, d1: int, d2: int) -> None:
    v1, v2 = f"{a}.{b}.{c}.{d1}", f"{a}.{b}.{c}.{d2}"
    assert release_key(ImageType.AGENT, v1) == release_key(ImageType.AGENT, v2) == (a, b, c)
    assert same_release(ImageType.AGENT, v1, v2)
    assert (AgentVersion.parse(v1) == AgentVersion.parse(v2)) == (d1 == d2)


@given(agent_versions, agent_versions)
def test_agent_release_key_is_monotonic(x: AgentVersion, y: AgentVersion) -> None:
    if x <= y:
        assert x.release <= y.release


@given(st.text(max_size=20))
def test_garbage_never_raises_anything_but_version_error(text: str) -> None:
    for t in ImageType:
        try:
            parse_version(t, text)
        except VersionError:
            pass


@pytest.mark.parametrize("image_type,text", [
    ("asa", "٩.١(٥)"),  # Arabic-Indic digits
    ("asa", "9.1(５)"),  # full-width digit
    ("asa", "9.1.5\n.SMP"),
    ("agent", "7.3.2.１"),
    ("anyconnect", "4.١٠"),
])
def test_only_ascii_digits_count(image_type: str, text: str) -> None:
    # regression: \d matched any Unicode digit, so look-alike strings equalled real versions
    with pytest.raises(VersionError):
        parse_version(image_type, text)
