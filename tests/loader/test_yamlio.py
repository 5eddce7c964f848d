"""The fast YAML reader: same values as yaml.safe_load, line numbers, limits, clean errors."""

from __future__ import annotations

import datetime

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.contract import FindingCode
from reconciler.loader.yamlio import LineDict, YamlLimits, line_of_path, parse_size, parse_yaml


def one(text: str | bytes, limits: YamlLimits = YamlLimits()) -> tuple[object, list[str]]:
    doc = parse_yaml(text, "f.yaml", limits)
    return doc.data, [f.line() for f in doc.findings]


@pytest.mark.parametrize("text", [
    "a: 1\nb: [1, 2.5, {c: d}]\nc: ~\nd: null\ne: on\nf: 'on'\ng: 0x1F\nh: 1_000\n",
    "version: 9.1\nquoted: '9.1'\nstart: 01:00\nsexagesimal: 1:30\nneg: -3\ninf: .inf\n",
    "date: 2024-05-01\nstamp: 2024-05-01T10:00:00Z\nbools: [yes, No, TRUE, off]\n",
    "empty:\nblank: ''\nlist: []\nmap: {}\n",
    "text: |\n  line one\n  line two\nfolded: >\n  a\n  b\n",
    "a: &x {k: 1, j: 2}\nb:\n  <<: *x\n  j: 3\nc: *x\n",
    "base: &b {x: 1}\nmore: &m {y: 2}\nboth:\n  <<: [*b, *m]\n  z: 3\n",
    "- 1\n- two\n- [3]\n",
    "plain\n",
    "'key with: colon': v\n? complex key\n: value\n",
    "explicit: !!str 123\nint: !!int '7'\nfloat: !!float 1\n",
    "unicode: ファイアウォール\nemoji: \"\\u263A\"\n",
])
def test_same_values_as_safe_load(text: str) -> None:
    data, findings = one(text)
    assert findings == []
    assert data == yaml.safe_load(text)


def test_lines_of_mappings_and_keys() -> None:
    text = "# c\nimages:\n  - name: a\n    type: asa\n\n  - name: b\n    type: asdm\nbundles: []\n"
    data, _ = one(text)
    assert isinstance(data, LineDict)
    assert data.line == 2 and data.key_lines == {"images": 2, "bundles": 8}
    second = data["images"][1]
    assert second.line == 6 and second.line_of("type") == 7
    assert line_of_path(data, ("images", 1, "type")) == 7
    assert line_of_path(data, ("images", 1)) == 6
    assert line_of_path(data, ("images", 5, "type")) == 2  # nearest known place
    assert line_of_path(data, ("bundles",)) == 8
    assert line_of_path(data, ()) == 2


def test_empty_and_comment_only_files_are_empty_documents() -> None:
    for text in ("", "# only a comment\n", "---\n"):
        data, findings = one(text)
        assert data == {} and findings == []


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    data, findings = one("a: 1\nb: 2\na: 3\n")
    assert findings == ["f.yaml:3: DUPLICATE_NAME key 'a' appears twice in this mapping (first at "
                        "line 1); the later value would silently win"]
    assert data == {"a": 3, "b": 2}


@pytest.mark.parametrize("text,where,snippet", [
    ("a: [1, 2\nb: 3\n", "f.yaml:2", "flow sequence started at line 1"),
    ("a: b: c\n", "f.yaml:1", "mapping values are not allowed"),
    ("a:\n  - x\n - y\n", "f.yaml:3", ""),
    ("a: *missing\n", "f.yaml:1", "undefined alias 'missing'"),
    ("a: !!python/object:os.system x\n", "f.yaml:1", "is not allowed here"),
    ("a: !custom x\n", "f.yaml:1", "is not allowed here"),
    ("a: !!set {x}\n", "f.yaml:1", "is not allowed here"),
    ("- a\n---\n- b\n", "f.yaml:2", "more than one YAML document"),
    ("? [a, b]\n: c\n", "f.yaml:1", "mapping key must be a plain value"),
    ("a: \"unterminated\n", "f.yaml:", "found unexpected end of stream"),
    ("a:\tb\n\tc: d\n", "f.yaml:", ""),
])
def test_syntax_errors_carry_file_and_line(text: str, where: str, snippet: str) -> None:
    data, findings = one(text)
    assert data is None
    [f] = findings
    assert f.startswith(where) and "YAML_SYNTAX" in f and snippet in f


def test_encoding_problems() -> None:
    data, findings = one(b"a: ok\nb: \xff\xfe\n")
    assert data is None
    assert findings[0].startswith("f.yaml:2: YAML_SYNTAX unreadable character")
    assert "UTF-8" in findings[0]
    data, findings = one("a: '\x07'\n")
    assert data is None and "control characters" in findings[0]


def test_billion_laughs_is_refused_before_anything_expands() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        p, c = chr(96 + i), chr(97 + i)
        lines.append(f"{c}: &{c} [" + ",".join([f"*{p}"] * 10) + "]")
    data, findings = one("\n".join(lines) + "\n")
    assert data is None
    assert "YAML_LIMIT" in findings[0] and "billion laughs" in findings[0]


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a {b: *a}\n", "a: &a {b: {<<: *a}}\n",
                                  "a:\n  - &x\n    - [1, *x]\n"])
def test_recursive_aliases_are_refused(text: str) -> None:
    # regression: they built self-containing lists and dicts that later walks never finish
    data, findings = one(text)
    assert data is None and findings[0].startswith("f.yaml:")
    assert "YAML_LIMIT alias" in findings[0] and "recursive structure" in findings[0]


def test_anchor_redefined_inside_itself_is_not_recursive() -> None:
    assert one("a: &a [&a 1, *a]\n") == ({"a": [1, 1]}, [])


@pytest.mark.parametrize("text,snippet", [
    ("n: " + "9" * 5000 + "\n", "too many digits"),
    ("n: 0x" + "f" * 40 + "\n", "beyond 2^63"),
    ("n: 1" + ":59" * 30 + "\n", "beyond 2^63"),
    ("d: 2024-02-30\n", "reads as a date but cannot be one (day is out of range for month)"),
    ("d: 2024-13-01\n", "month must be in 1..12"),
    ("b: !!bool maybe\n", "reads as true or false but cannot be one"),
    ("i: !!int 12x\n", "reads as an integer but cannot be one"),
])
def test_scalars_that_look_typed_but_are_not(text: str, snippet: str) -> None:
    # regression: PyYAML raised plain ValueError/KeyError out of the loader (a traceback)
    data, findings = one(text)
    assert data is None and len(findings) == 1
    assert findings[0].startswith("f.yaml:1: YAML_SYNTAX") and snippet in findings[0]
    assert "put it in quotes" in findings[0]


def test_the_largest_integers_still_read() -> None:
    assert one("a: 9223372036854775807\nb: -9223372036854775808\n")[0] == {
        "a": 2**63 - 1, "b": -2**63}


def test_reasonable_anchor_reuse_is_fine() -> None:
    text = "base: &b {driver: asa, tags: [x, y]}\ndevices:\n" + "".join(
        f"  - <<: *b\n    name: d{i}\n" for i in range(20000))
    data, findings = one(text)
    assert findings == []
    assert isinstance(data, dict)
    assert data["devices"][19999] == {"driver": "asa", "tags": ["x", "y"], "name": "d19999"}


def test_nesting_limit() -> None:
    data, findings = one("a: " + "[" * 65 + "]" * 65 + "\n")
    assert data is None and findings == ["f.yaml:1: YAML_LIMIT nesting deeper than 64 levels"]
    data, findings = one("a: " + "[" * 100000 + "]" * 100000 + "\n")
    assert data is None and "YAML_LIMIT" in findings[0]
    deep_block = "".join("  " * i + f"k{i}:\n" for i in range(70)) + "  " * 70 + "v: 1\n"
    data, findings = one(deep_block)
    assert data is None and "nesting deeper" in findings[0]
    assert one("a: " + "[" * 63 + "]" * 63 + "\n")[1] == []


def test_size_limit() -> None:
    data, findings = one("a: " + "x" * 100 + "\n", YamlLimits(max_bytes=50))
    assert data is None
    assert findings == ["f.yaml: YAML_LIMIT file is 104 bytes, above the 50-byte limit (raise "
                        "it with --max-file-size if this is intended)"]


def test_gc_is_restored() -> None:
    import gc

    assert gc.isenabled()
    one("a: [")
    one("a: 1")
    assert gc.isenabled()


# --------------------------------------------------------------- hypothesis: any safe document

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    st.dates(min_value=datetime.date(1900, 1, 1)),
)
docs = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=6), st.integers(0, 99)), inner, max_size=4),
), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(docs, st.sampled_from([None, True, False]))
def test_round_trip_matches_safe_load(doc: object, flow: bool | None) -> None:
    text = yaml.safe_dump({"root": doc}, default_flow_style=flow, allow_unicode=True)
    data, findings = one(text)
    assert findings == []
    assert data == yaml.safe_load(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    doc = parse_yaml(raw, "f.yaml")
    assert doc.data is not None or doc.findings
    for f in doc.findings:
        assert f.code in (FindingCode.YAML_SYNTAX, FindingCode.YAML_LIMIT,
                          FindingCode.DUPLICATE_NAME)


def test_null_keys() -> None:
    # regression (found by hypothesis): a null mapping key was taken for "inside a sequence"
    for text in ("?\n", "? \n: v\n", "~: 1\nnull: 2\n", "[{? : x}]\n"):
        doc = parse_yaml(text, "f.yaml")
        assert doc.data == yaml.safe_load(text), text


@pytest.mark.parametrize("text,size", [("100", 100), ("32MiB", 32 * 2**20), ("64M", 64 * 2**20),
                                       ("512k", 512 * 1024), ("1 GiB", 2**30), (" 7 ", 7)])
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_size_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_MAX_FILE_SIZE", "1k")
    assert YamlLimits().max_bytes == 1024
    monkeypatch.setenv("RECONCILER_MAX_FILE_SIZE", "lots")
    assert YamlLimits().max_bytes == 32 * 2**20
    with pytest.raises(ValueError):
        parse_size("lots")
