"""Hostile desired state: whatever the repository holds, loading ends in findings, never a crash.

The bundled example repository (desired/*.yaml, inventory/devices.yaml) is mutated as text (values
replaced by hostile scalars, hostile lines inserted: tags such as `!!python/object/apply`, alias
bombs, recursive aliases, merge keys, 10,000-level nesting, 200 KB strings, NUL, BOM, tabs,
CRLF, lines dropped, duplicated, swapped, re-indented, the file truncated) and as data (keys
dropped, values of any type: NaN, infinities, integers beyond 2^63, odd unicode), and random
bytes and random YAML documents replace whole files. Each case goes through `load_desired`,
`load_inventory` and `resolve_fleet` (what `reconciler validate` runs), and some through the
`validate` command itself. The properties:
- nothing raises; every problem is a Finding with a contract code, a message, and a place: the
  file (with the line wherever the problem is in a line) or the device;
- every file is read at most once and the YAML limits hold (size, depth, alias expansion), so a
  case never allocates wildly or hangs (the suite's timeout would catch a hang).
Observed-state snapshots and saved plans (JSON) get the same treatment through `load_snapshot`
and `load_plan`: a value, or one ConfigError naming the file.
"""

from __future__ import annotations

import copy
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from reconciler.cli import cli
from reconciler.contract import FINDINGS, FindingCode
from reconciler.core.findings import Finding
from reconciler.core.observed import Snapshot
from reconciler.core.resolve import resolve_fleet
from reconciler.errors import ConfigError
from reconciler.loader import load_desired, load_inventory, load_snapshot
from reconciler.loader.plan import load_plan
from tests.conftest import FIXTURES, PROJECT_ROOT, all_paths
from tests.loader.test_desired import MemorySource, repo_files
from tests.reliability.budget import fuzz
from tests.reliability.mutations import json_values, mutate_json

EXAMPLE = repo_files(PROJECT_ROOT)
PATHS = sorted(EXAMPLE)
EXAMPLE_DOCS = {p: yaml.safe_load(t) for p, t in EXAMPLE.items()}
SNAPSHOT = (FIXTURES / "snapshots" / "fleet.json").read_bytes()

# Findings that are about a place inside a file carry its line; the others name a whole file
# (missing, unreadable, too big) or a device.
_LINE_CODES = {FindingCode.SCHEMA, FindingCode.DUPLICATE_NAME, FindingCode.INLINE_SECRET,
               FindingCode.UNSAFE_PATH}


def check(files: dict[str, bytes], findings: list[Finding]) -> None:
    for f in findings:
        assert isinstance(f.code, FindingCode) and f.code in FINDINGS, f
        assert f.message.strip(), f
        assert "Traceback" not in f.message
        assert f.location is not None or f.device is not None, f"{f!r} has no place"
        if f.location is None:
            continue
        assert f.location.file, f
        if f.location.file in files and f.code in _LINE_CODES:
            assert f.location.line, f"{f!r} has no line"
        if f.code is FindingCode.YAML_SYNTAX and f.location.line is None:
            assert f.message.startswith("unreadable"), f  # an encoding error without a position
        if f.code is FindingCode.YAML_LIMIT and f.location.line is None:
            assert "bytes, above the" in f.message, f  # the size limit names the file only


def load_everything(files: dict[str, bytes]) -> list[Finding]:
    source = MemorySource(files)
    desired, findings = load_desired(source)
    assert len(source.reads) == len(set(source.reads)), "a file was read twice"
    resolved, more = resolve_fleet(desired)
    assert set(resolved) == set(desired.inventory)
    _, inv_findings = load_inventory(MemorySource(files))
    everything = findings + more + inv_findings
    check(files, everything)
    return everything


# ----------------------------------------------------------------- hostile scalars and lines

def billion_laughs(levels: int = 9) -> str:
    lines = ['lol0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"lol{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines)


HOSTILE_VALUES = [
    "!!python/object/apply:os.system ['touch /tmp/reconciler-pwned']",
    "!!python/name:os.system", "!!binary aGVsbG8=", "!!set {a, b}", "!!omap [a: 1]",
    "!!timestamp 2024-02-30", "2024-02-30", "!!bool maybe", "!!int 12x", "!foo bar",
    ".nan", ".inf", "-.inf", "9" * 5000, str(2**64), "-" + str(2**63 + 1), "0x" + "f" * 30,
    "1" + ":59" * 20, "1e99999", "0o777", "~", "''", "[]", "{}", "[[[[[[]]]]]]",
    "[" * 10_000 + "]" * 10_000, "{a: " * 5000 + "1" + "}" * 5000,
    "x" * 200_000, '"' + "\\u0000" + '"', '"\\ud800"', '"\\x"', "&r [*r]", "&r {a: *r}",
    "*undefined", "&a1 {name: anchored}", "\u202eexe.bin", "\u0430sa", "\u200b", "\U0001f525",
    "asa941-smp-k8.bin\0", "'../../etc/passwd'", "/etc/shadow", "https://user:pass@host/x",
    "file:///etc/passwd", "env:", "file:", "env:1BAD", "yes", "off", "0x1", "01:00", "9.4(1)",
    "{<<: {injected: 1}}", "|\n  block\n  text", ">-\n  folded",
]
HOSTILE_LINES = [
    billion_laughs(), "evil: &r [*r]", "evil: !!python/object/apply:os.system ['id']",
    "<<: {bogus: 1}", "<<: *nope", "\tname: tabbed", "name: dup", "? [complex, key]\n: 1",
    "---\nsecond: document", "%YAML 1.1", "%TAG ! tag:yaml.org,2002:python/object:",
    "\ufeffbom: 1", "nul: \0", "key: " + "[" * 10_000, "x: " + "y" * 200_000, "\x1a",
    "- orphan list item", "  badly: indented", "images: {}", "devices: 7", "defaults: ~",
]
_VALUE_LINE = re.compile(r"^(\s*(?:- )?[\w.-]+:\s+)(\S.*)$")


def mutate_text(text: str, data: st.DataObject) -> str:
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        lines = text.split("\n")
        i = data.draw(st.integers(0, len(lines) - 1), label="line")
        indent = re.match(r"^\s*", lines[i]).group(0)  # type: ignore[union-attr]
        op = data.draw(st.sampled_from(["value", "value", "value", "insert", "insert", "delete",
                                        "duplicate", "swap", "reindent", "truncate", "crlf",
                                        "bom", "char"]), label="op")
        if op == "value":
            values = [n for n, line in enumerate(lines) if _VALUE_LINE.match(line)]
            if values:
                n = data.draw(st.sampled_from(values), label="value line")
                lines[n] = _VALUE_LINE.sub(lambda m: m.group(1) + data.draw(
                    st.sampled_from(HOSTILE_VALUES), label="value"), lines[n])
        elif op == "insert":
            hostile = data.draw(st.sampled_from(HOSTILE_LINES), label="hostile line")
            lines.insert(i, "\n".join(indent + part for part in hostile.split("\n")))
        elif op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = data.draw(st.integers(0, len(lines) - 1), label="other line")
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "reindent":
            lines[i] = " " * data.draw(st.integers(0, 12), label="indent") + lines[i].lstrip()
        text = "\n".join(lines)
        if op == "truncate":
            text = text[:data.draw(st.integers(0, len(text)), label="cut")]
        elif op == "crlf":
            text = text.replace("\n", "\r\n")
        elif op == "bom":
            text = "\ufeff" + text
        elif op == "char":
            at = data.draw(st.integers(0, len(text)), label="at")
            text = text[:at] + data.draw(st.sampled_from(
                ["\0", "\t", "\x1a", "\u2028", "\x85", "\ufeff", "\ud800", "\x7f", "\xa0"]),
                label="char") + text[at:]
    return text


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # a lone surrogate makes the bytes invalid UTF-8


@fuzz(800)
@given(data=st.data())
def test_example_repository_mutated_as_text(data: st.DataObject) -> None:
    files = dict(EXAMPLE)
    for path in data.draw(st.lists(st.sampled_from(PATHS), min_size=1, max_size=2, unique=True),
                          label="files"):
        files[path] = _encode(mutate_text(files[path].decode(), data))
    load_everything(files)


hostile_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(),
    st.sampled_from(["", "asa", "agent", "disk9", "9.4(1)", "9.4.1", "7.3.2", "env:X", "../x",
                     "/etc/passwd", "https://u:p@h/x", "C:\\images\\a.bin", "~root/a.bin",
                     "%2e%2e%2fetc", "file:///etc/passwd", "hunter2", "a" * 300, "\0",
                     "\u0430sa941-smp-k8.bin", "asa941\uff0fsmp.bin"]),
    st.text(max_size=30), st.dates(), st.datetimes())
hostile_values = st.recursive(
    hostile_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.one_of(st.sampled_from(["name", "type", "version", "images", "bundle", "match",
                                   "settings", "password", "token", "driver", "address", "tls",
                                   "credentials", "platforms", "source", "sha256", "size",
                                   "maintenance_windows", "days", "start", "tz", "<<"]),
                  st.text(max_size=8), st.integers(-5, 5), st.none()),
        inner, max_size=4),
    max_leaves=12)


@fuzz(500)
@given(data=st.data())
def test_example_repository_mutated_as_data(data: st.DataObject) -> None:
    docs = copy.deepcopy(EXAMPLE_DOCS)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        path = data.draw(st.sampled_from(PATHS), label="file")
        target = data.draw(st.sampled_from(all_paths(docs[path])), label="where")
        value = data.draw(hostile_values, label="value")
        if not target:
            docs[path] = value
            continue
        parent: Any = docs[path]
        for step in target[:-1]:
            parent = parent[step]
        if data.draw(st.booleans(), label="delete") and isinstance(parent, dict):
            del parent[target[-1]]
        else:
            parent[target[-1]] = value
    files = {p: yaml.safe_dump(d, allow_unicode=data.draw(st.booleans(), label="unicode"),
                               default_flow_style=data.draw(st.sampled_from([None, True, False]),
                                                            label="flow")).encode()
             for p, d in docs.items()}
    load_everything(files)


@fuzz(300)
@given(path=st.sampled_from(PATHS), raw=st.one_of(
    st.binary(max_size=400),
    st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
    hostile_values.map(lambda v: yaml.safe_dump(v, allow_unicode=True).encode())))
def test_a_file_replaced_by_anything(path: str, raw: bytes) -> None:
    load_everything({**EXAMPLE, path: raw})


@pytest.mark.timeout(120)
@pytest.mark.parametrize("line", HOSTILE_LINES, ids=range(len(HOSTILE_LINES)))
def test_each_hostile_line_in_each_file(line: str) -> None:
    """Deterministic coverage of every hostile line at the top and inside each file."""
    for path in PATHS:
        text = EXAMPLE[path].decode()
        for where in (0, len(text) // 2):
            nl = text.rfind("\n", 0, where) + 1
            load_everything({**EXAMPLE, path: _encode(text[:nl] + line + "\n" + text[nl:])})


# ----------------------------------------------------------------- through the command line

_FINDING_LINE = re.compile(r"^(\S+?)(?::(\d+))?: ([A-Z_]+) ")


@fuzz(100)
@given(data=st.data())
def test_validate_command_on_a_mutated_repository(data: st.DataObject) -> None:
    files = dict(EXAMPLE)
    path = data.draw(st.sampled_from(PATHS), label="file")
    files[path] = _encode(mutate_text(files[path].decode(), data))
    fmt = data.draw(st.sampled_from(["text", "json"]), label="format")
    with tempfile.TemporaryDirectory() as tmp:
        for rel, raw in files.items():
            (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / rel).write_bytes(raw)
        result = CliRunner().invoke(cli, ["validate", "--repo", tmp, "--format", fmt])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    if fmt == "json":
        doc = json.loads(result.output)
        assert doc["ok"] is (result.exit_code == 0)
        for f in doc["findings"]:
            assert f["code"] in FindingCode.__members__ and f["message"]
        return
    *problems, summary = result.output.rstrip("\n").split("\n")
    assert summary.startswith("validate: ")
    for line in problems:
        m = _FINDING_LINE.match(line)
        assert m and m.group(3) in FindingCode.__members__, line


# ----------------------------------------------------------------- snapshots

def _load(tmp: str, raw: bytes) -> Snapshot | ConfigError:
    p = Path(tmp) / "snapshot.json"
    p.write_bytes(raw)
    try:
        return load_snapshot(p)
    except ConfigError as e:
        assert e.location is not None and e.location.file == str(p)
        assert e.code in ("SCHEMA", "YAML_LIMIT", "FILE_ERROR") and e.message
        return e


@fuzz(300)
@given(data=st.data())
def test_snapshot_mutated_or_replaced(data: st.DataObject) -> None:
    how = data.draw(st.sampled_from(["mutate", "mutate", "mutate", "any json", "bytes", "cut"]),
                    label="how")
    if how == "mutate":
        doc = json.loads(SNAPSHOT)
        for _ in range(data.draw(st.integers(1, 3), label="edits")):
            doc = mutate_json(doc, data)
        raw = json.dumps(doc).encode()  # NaN and Infinity too, as json.dumps writes them
    elif how == "any json":
        raw = json.dumps(data.draw(json_values, label="json")).encode()
    elif how == "bytes":
        raw = data.draw(st.binary(max_size=300), label="bytes")
    else:
        raw = SNAPSHOT[:data.draw(st.integers(0, len(SNAPSHOT)), label="cut")]
    with tempfile.TemporaryDirectory() as tmp:
        _load(tmp, raw)


# ----------------------------------------------------------------- saved plans (`apply --plan`)

def _saved_plan_bytes() -> bytes:
    """A real saved plan (a failover pair going to 9.4(1)), written by save_plan."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "core" / "plan"))
    from builders import all_present, desired, pair_yaml, resolved, snapshot  # type: ignore[import-not-found]

    from reconciler.core.plan import plan_fleet
    from reconciler.core.plan.fingerprint import saved_plan
    from reconciler.loader.plan import save_plan

    snap = snapshot('taken_at: "2024-05-01T00:00:00Z"\ndevices:' + pair_yaml("fw1", "9.3(3)") + "\n")
    plan = plan_fleet(desired("fw1"), {"fw1": resolved("fw1", {"asa": "asa941-smp-k8.bin"})},
                      snap, all_present())
    with tempfile.TemporaryDirectory() as tmp:
        save_plan(saved_plan(plan, snap.devices), Path(tmp) / "plan.json")
        return (Path(tmp) / "plan.json").read_bytes()


SAVED_PLAN = _saved_plan_bytes()


@fuzz(300)
@given(data=st.data())
def test_saved_plan_mutated_or_replaced(data: st.DataObject) -> None:
    how = data.draw(st.sampled_from(["mutate", "mutate", "mutate", "any json", "cut"]), label="how")
    if how == "mutate":
        doc = json.loads(SAVED_PLAN)
        for _ in range(data.draw(st.integers(1, 3), label="edits")):
            doc = mutate_json(doc, data)
        raw = json.dumps(doc).encode()
    elif how == "any json":
        raw = json.dumps(data.draw(json_values, label="json")).encode()
    else:
        raw = SAVED_PLAN[:data.draw(st.integers(0, len(SAVED_PLAN)), label="cut")]
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "plan.json"
        p.write_bytes(raw)
        try:
            load_plan(p)
        except ConfigError as e:
            assert e.location is not None and e.location.file == str(p) and e.message
