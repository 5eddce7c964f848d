"""The shipped JSON Schemas and the compiled validator.

The compiled validator must agree with `jsonschema` (the reference implementation) on every
document: the shipped examples, and thousands of hypothesis mutations of them.
"""

from __future__ import annotations

import copy
import datetime
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.contract import FINDINGS, Severity
from reconciler.core.model import ImageType, Settings
from reconciler.loader.schema import (
    SCHEMA_NAMES,
    CompiledSchema,
    SchemaCompileError,
    compiled,
    schema_document,
)
from tests.conftest import FIXTURES, PROJECT_ROOT, REPOS, all_paths

PACKAGE_SCHEMAS = PROJECT_ROOT / "reconciler" / "schemas"
REPO_SCHEMAS = PROJECT_ROOT / "schemas"


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


EXAMPLES: dict[str, list[Any]] = {
    "images": [_yaml(PROJECT_ROOT / "desired/images.yaml"), _yaml(REPOS / "base/desired/images.yaml")],
    "policy": [_yaml(PROJECT_ROOT / "desired/fleet.yaml"), _yaml(PROJECT_ROOT / "desired/devices.yaml"),
               _yaml(REPOS / "base/desired/fleet.yaml"), _yaml(REPOS / "base/desired/devices.yaml")],
    "inventory": [_yaml(PROJECT_ROOT / "inventory/devices.yaml"),
                  _yaml(REPOS / "base/inventory/devices.yaml")],
    "snapshot": [json.loads((FIXTURES / "snapshots/fleet.json").read_text())],
}


def reference(name: str) -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(schema_document(name))


# --------------------------------------------------------------------- one source of truth


def test_every_schema_is_shipped_identically_in_the_package() -> None:
    repo = sorted(p.name for p in REPO_SCHEMAS.glob("*.json"))
    package = sorted(p.name for p in PACKAGE_SCHEMAS.glob("*.json"))
    assert repo == package, "schemas/ and reconciler/schemas/ must hold the same files"
    for name in repo:
        assert (REPO_SCHEMAS / name).read_bytes() == (PACKAGE_SCHEMAS / name).read_bytes(), (
            f"schemas/{name} differs from reconciler/schemas/{name}: copy the edited one over")


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    doc = schema_document(name)
    jsonschema.Draft202012Validator.check_schema(doc)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_example_files_point_editors_at_the_schemas() -> None:
    for rel, schema in (("desired/images.yaml", "images"), ("desired/fleet.yaml", "policy"),
                        ("desired/devices.yaml", "policy"), ("inventory/devices.yaml", "inventory")):
        first = (PROJECT_ROOT / rel).read_text().splitlines()[0]
        assert first == f"# yaml-language-server: $schema=../schemas/{schema}.schema.json"


def test_schema_enums_follow_the_code() -> None:
    images = schema_document("images")["$defs"]["image"]["properties"]
    assert images["type"]["enum"] == [t.value for t in ImageType]
    policy = schema_document("policy")["$defs"]
    warnings = sorted(c.value for c, i in FINDINGS.items() if i.severity is Severity.WARNING)
    assert policy["settings"]["properties"]["accept_warnings"]["items"]["enum"] == warnings
    assert set(policy["settings"]["properties"]) == set(Settings.__dataclass_fields__)
    assert set(policy["targets"]["properties"]) == {t.value for t in ImageType}


# --------------------------------------------------------------------- agreement with jsonschema


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_examples_are_valid(name: str) -> None:
    for doc in EXAMPLES[name]:
        assert reference(name).is_valid(doc)
        assert compiled(name).errors(doc) == []


values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=False, width=16),
    st.sampled_from(["", "asa", "disk0", "9.4(1)", "env:X", "hunter2", "sat", "01:00", "a" * 64,
                     "standalone", "active", "x" * 300, "RAM_LOW", "windows", "Bad Name"]),
    st.dates(), st.just([]), st.just({}), st.lists(st.sampled_from(["sat", "x", 1]), max_size=3),
    st.dictionaries(st.sampled_from(["name", "bogus", "days"]), st.just("v"), max_size=2),
)


@st.composite
def mutated(draw: st.DrawFn, name: str) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from(EXAMPLES[name])))
    for _ in range(draw(st.integers(1, 3))):
        paths = all_paths(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            continue
        parent: Any = doc
        for step in path[:-1]:
            parent = parent[step]
        op = draw(st.sampled_from(["replace", "delete", "add"]))
        if op == "replace":
            parent[path[-1]] = draw(values)
        elif op == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["bogus", "name", "smp", "tz", "password"]))] = draw(values)
        else:
            parent.append(draw(values))
    return doc


@pytest.mark.parametrize("name", SCHEMA_NAMES)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_validator_agrees_with_jsonschema(name: str, data: st.DataObject) -> None:
    doc = data.draw(mutated(name))
    ours = compiled(name).errors(doc)
    theirs = list(reference(name).iter_errors(doc))
    assert (ours == []) == (theirs == []), (ours, [e.message for e in theirs])
    # every error we report sits where jsonschema also finds one (or in an unknown key of it)
    their_paths = {tuple(e.absolute_path) for e in theirs}
    for e in ours:
        assert any(e.path[:len(p)] == p for p in their_paths), (e, their_paths)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_happy_path_is_never_more_lenient_than_the_checks(name: str, data: st.DataObject) -> None:
    doc = data.draw(mutated(name))
    if compiled(name).is_valid(doc):
        assert reference(name).is_valid(doc)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_valid_examples_take_the_happy_path(name: str) -> None:
    # the fast predicate must accept ordinary valid documents, or fleet-sized loads slow down
    for doc in EXAMPLES[name]:
        assert compiled(name).is_valid(doc)


# --------------------------------------------------------------------- messages


def test_messages_are_specific() -> None:
    doc = {"images": [{"name": "a.bin", "type": "asaa", "version": 9.1, "platforms": ["asa5585"],
                       "size": 0, "sha256": "xyz", "extra": 1}]}
    errs = {(e.path, e.keyword): e.message for e in compiled("images").errors(doc)}
    assert errs[(("images", 0, "type"), "enum")].endswith("(did you mean 'asa'?)")
    assert "put it in quotes" in errs[(("images", 0, "version"), "type")]
    assert errs[(("images", 0, "size"), "minimum")] == "0 is below the minimum 1"
    assert errs[(("images", 0, "sha256"), "pattern")] == "'xyz' is not valid: 64 hexadecimal digits"
    assert errs[(("images", 0, "extra"), "additionalProperties")].startswith("unknown key 'extra'")


def test_secret_values_are_never_echoed() -> None:
    doc = {"devices": [{"name": "a", "address": "h", "credentials": {"password": "hunter2"}}],
           "defaults": {"credentials": {"token": ["hunter3"]}}}
    text = json.dumps([e.message for e in compiled("inventory").errors(doc)])
    assert "hunter2" not in text and "hunter3" not in text


def test_unsupported_keywords_are_refused_at_compile_time() -> None:
    with pytest.raises(SchemaCompileError):
        CompiledSchema("x", {"type": "object", "if": {"required": ["a"]}})
    with pytest.raises(SchemaCompileError):
        CompiledSchema("x", {"$ref": "https://example.com/other.json"})


def test_one_of_any_of_and_recursive_refs() -> None:
    schema = {"$defs": {"node": {"type": "object", "additionalProperties": False,
                                 "properties": {"kids": {"type": "array",
                                                         "items": {"$ref": "#/$defs/node"}}}}},
              "oneOf": [{"type": "integer"}, {"type": "number", "minimum": 5},
                        {"$ref": "#/$defs/node"}]}
    v = CompiledSchema("x", schema)
    ref = jsonschema.Draft202012Validator(schema)
    docs: tuple[Any, ...] = (3, 7.5, 7, {"kids": [{"kids": []}]}, {"kids": [{"bad": 1}]}, "s",
                             2.5, datetime.date(2024, 1, 1), True)
    for doc in docs:
        assert (v.errors(doc) == []) == ref.is_valid(doc), doc


def test_recursive_refs_on_the_happy_path() -> None:
    schema = {"$defs": {"node": {"type": "object", "additionalProperties": False,
                                 "properties": {"name": {"type": "string", "minLength": 1},
                                                "kids": {"type": "array",
                                                         "items": {"$ref": "#/$defs/node"}}}}},
              "$ref": "#/$defs/node"}
    v = CompiledSchema("x", schema)
    assert v.is_valid({"name": "a", "kids": [{"kids": [{"name": "b"}]}]})
    for bad in ({"kids": [{"kids": [{"name": ""}]}]}, {"kids": [{"bad": 1}]}, {"kids": [3]}):
        assert not v.is_valid(bad)
        assert v.errors(bad)
    assert v.errors({"name": 1.0 * 3}) and not v.is_valid({"name": "a", "kids": (1,)})

