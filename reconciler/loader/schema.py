"""JSON Schemas of the file formats, and a fast validator for them.

The schemas in `reconciler/schemas/` (identical to the repository's `schemas/`, which editors use
through the `# yaml-language-server: $schema=` comments) are the one description of every format.
Each schema is compiled once into two things: a predicate that only answers "valid?" as fast as
plain Python allows (`_FastCompiler`, the happy path), and closures over the subset of JSON
Schema 2020-12 the shipped schemas use that find every error with its path (`_Compiler`), run
only when the predicate says no. An unsupported keyword is refused at compile time, so a schema
can never be half-checked, and the tests check both against `jsonschema` on valid documents and
thousands of broken ones.

Why not a library. Measured with bench/fleetgen.py's 100,000-device fleet (CPU seconds, one
core, Python 3.11; the snapshot is 131 MB of JSON, the inventory 13 MB of YAML):

    validator                                   snapshot   inventory
    jsonschema 4.26 Draft202012Validator        ~50 (*)    4.8
    fastjsonschema 2.22 (generated code)        2.2        0.40
    the error-reporting closures alone          2.75       0.32
    these two (happy path, then closures)       0.89       0.14

(*) 15.4 s measured for 30,000 devices. fastjsonschema is 2.5-3x slower than the happy path here,
so it cannot help reach the plan-scale target (100,000 devices loaded, validated and planned in
under 10 s, while the snapshot alone takes ~1.3 s to parse); it would also need
`jsonschema.iter_errors` for the messages of a failing document (it stops at the first error),
a deep copy of each schema (it rewrites `$ref`s in place) and our message post-processing.

Messages never echo the value of a secret-like key (password, token, ...).
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Path = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class SchemaError:
    path: Path  # keys and list indexes from the document root
    message: str
    keyword: str  # the failing JSON Schema keyword ("type", "required", "pattern", ...)


# A compiled check returns None when the value is valid, else (relative path, message, keyword).
_Err = tuple[Path, str, str]
Check = Callable[[Any], list[_Err] | None]

SECRET_KEYS = frozenset({"password", "token", "secret", "api_key", "apikey", "passphrase",
                         "private_key", "enable_password", "key"})

_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "default",
                          "examples", "markdownDescription", "x-error", "$defs", "definitions",
                          "deprecated", "readOnly", "writeOnly"})
_SUPPORTED = frozenset({"type", "properties", "required", "additionalProperties",
                        "propertyNames", "items", "minItems", "maxItems", "uniqueItems", "enum",
                        "const", "pattern", "minLength", "maxLength", "minimum", "maximum",
                        "exclusiveMinimum", "$ref", "anyOf", "oneOf"}) | _ANNOTATIONS

_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number",
               "boolean": "true or false", "object": "a mapping", "array": "a list",
               "null": "nothing (null)"}


class SchemaCompileError(Exception):
    """A shipped schema uses something the compiled validator does not implement (a bug)."""


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"  # e.g. a YAML date


def _is_type(value: Any, t: str) -> bool:
    if t == "string":
        return isinstance(value, str)
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool) or (
            isinstance(value, float) and value.is_integer())
    if t == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "object":
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, list)
    if t == "null":
        return value is None
    raise SchemaCompileError(f"unknown type {t!r}")


def _show(value: Any, secret: bool) -> str:
    if secret:
        return "the value"
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def ref(self, ref: str) -> Check:
        if ref in self.refs:
            return self.refs[ref]
        if not ref.startswith("#/"):
            raise SchemaCompileError(f"only local $ref are supported, not {ref!r}")
        target: Any = self.root
        for part in ref[2:].split("/"):
            target = target[part]
        slot: list[Check] = []

        def forward(v: Any) -> list[_Err] | None:
            return slot[0](v)

        self.refs[ref] = forward  # recursion-safe: compiled once, resolved on first call
        slot.append(self.compile(target))
        return forward

    def compile(self, s: dict[str, Any] | bool, secret: bool = False) -> Check:
        if s is True:
            return _always_ok
        if s is False:
            return lambda v: [((), "no value is allowed here", "false")]
        unknown = set(s) - _SUPPORTED
        if unknown:
            raise SchemaCompileError(f"unsupported schema keywords {sorted(unknown)}")
        checks: list[Check] = []
        note = s.get("x-error")
        if "$ref" in s:
            checks.append(self.ref(s["$ref"]))
        if "type" in s:
            checks.append(_type_check(s["type"]))
        if "enum" in s:
            checks.append(_enum_check(s["enum"], secret))
        if "const" in s:
            c = s["const"]
            checks.append(lambda v: None if v == c else [((), f"must be {json.dumps(c)}", "const")])
        if any(k in s for k in ("pattern", "minLength", "maxLength")):
            checks.append(_string_check(s, secret, note))
        if any(k in s for k in ("minimum", "maximum", "exclusiveMinimum")):
            checks.append(_number_check(s))
        if any(k in s for k in ("properties", "required", "additionalProperties",
                                "propertyNames")):
            checks.append(self._object(s))
        if any(k in s for k in ("items", "minItems", "maxItems", "uniqueItems")):
            checks.append(self._array(s, secret))
        if "anyOf" in s:
            checks.append(self._any_of([self.compile(x, secret) for x in s["anyOf"]], "anyOf"))
        if "oneOf" in s:
            checks.append(self._one_of([self.compile(x, secret) for x in s["oneOf"]]))
        if not checks:
            return _always_ok
        if len(checks) == 1:
            return checks[0]
        # `type` (if any) runs first: the other keywords only mean something for their type.

        def all_of(v: Any) -> list[_Err] | None:
            for c in checks:
                errs = c(v)
                if errs:
                    return errs
            return None

        return all_of

    def _object(self, s: dict[str, Any]) -> Check:
        props = {k: self.compile(v, secret=k.lower() in SECRET_KEYS)
                 for k, v in s.get("properties", {}).items()}
        required = tuple(s.get("required", ()))
        extra = s.get("additionalProperties", True)
        extra_check = None if extra is True or extra is False else self.compile(extra)
        closed = extra is False
        names = self.compile(s["propertyNames"]) if "propertyNames" in s else None
        allowed = sorted(props)
        get = props.get

        def check(v: Any) -> list[_Err] | None:
            if not isinstance(v, dict):
                return None  # `type` reports it
            errs: list[_Err] | None = None
            for k, val in v.items():
                c = get(k)
                if c is not None:
                    sub = c(val)
                elif closed:
                    sub = [((), _unknown_key(k, allowed), "additionalProperties")]
                    errs = (errs or []) + [((k,) + p, m, kw) for p, m, kw in sub]
                    continue
                elif extra_check is not None:
                    sub = extra_check(val)
                else:
                    sub = None
                if names is not None:
                    bad = names(k)
                    if bad:
                        errs = (errs or []) + [((k,), f"key {k!r}: {m}", "propertyNames")
                                               for _, m, _kw in bad]
                if sub:
                    errs = (errs or []) + [((k,) + p, m, kw) for p, m, kw in sub]
            for r in required:
                if r not in v:
                    errs = (errs or []) + [((), f"missing required key {r!r}", "required")]
            return errs

        return check

    def _array(self, s: dict[str, Any], secret: bool) -> Check:
        item = self.compile(s["items"], secret) if "items" in s else None
        lo = s.get("minItems")
        hi = s.get("maxItems")
        unique = s.get("uniqueItems", False)

        def check(v: Any) -> list[_Err] | None:
            if not isinstance(v, list):
                return None
            errs: list[_Err] | None = None
            if item is not None:
                for i, x in enumerate(v):
                    sub = item(x)
                    if sub:
                        errs = (errs or []) + [((i,) + p, m, kw) for p, m, kw in sub]
            if lo is not None and len(v) < lo:
                errs = (errs or []) + [((), f"needs at least {lo} entr{'y' if lo == 1 else 'ies'}",
                                        "minItems")]
            if hi is not None and len(v) > hi:
                errs = (errs or []) + [((), f"allows at most {hi} entries, has {len(v)}",
                                        "maxItems")]
            if unique:
                seen: list[Any] = []
                for i, x in enumerate(v):
                    if x in seen:
                        errs = (errs or []) + [((i,), f"{_show(x, secret)} is listed twice",
                                                "uniqueItems")]
                    else:
                        seen.append(x)
            return errs

        return check

    def _any_of(self, alts: list[Check], kw: str) -> Check:
        def check(v: Any) -> list[_Err] | None:
            failures = []
            for a in alts:
                errs = a(v)
                if not errs:
                    return None
                failures.append(errs)
            # Report the alternative that got furthest: one whose type matched, fewest errors.
            best = min(failures, key=lambda e: (any(k == "type" and not p for p, _, k in e),
                                                len(e)))
            return best

        return check

    def _one_of(self, alts: list[Check]) -> Check:
        any_of = self._any_of(alts, "oneOf")

        def check(v: Any) -> list[_Err] | None:
            matched = sum(1 for a in alts if not a(v))
            if matched == 1:
                return None
            if matched == 0:
                return any_of(v)
            return [((), "matches more than one allowed form", "oneOf")]

        return check


def _always_ok(v: Any) -> None:
    return None


def _type_check(t: str | list[str]) -> Check:
    types = (t,) if isinstance(t, str) else tuple(t)
    for x in types:
        _is_type(None, x)  # unknown type names fail at compile time
    want = " or ".join(_TYPE_NAMES[x] for x in types)
    if types == ("string",):
        def check_str(v: Any) -> list[_Err] | None:
            if isinstance(v, str):
                return None
            return [((), _type_message(want, v, True), "type")]
        return check_str
    if types == ("object",):
        def check_obj(v: Any) -> list[_Err] | None:
            return None if isinstance(v, dict) else [((), _type_message(want, v, False), "type")]
        return check_obj

    def check(v: Any) -> list[_Err] | None:
        if any(_is_type(v, x) for x in types):
            return None
        return [((), _type_message(want, v, "string" in types), "type")]

    return check


def _type_message(want: str, v: Any, string_wanted: bool) -> str:
    msg = f"expected {want}, got {_describe(v)}"
    if string_wanted and v is not None and not isinstance(v, dict | list):
        msg += " (YAML read the unquoted value as a non-string: put it in quotes)"
    return msg


def _enum_check(values: list[Any], secret: bool) -> Check:
    strings = frozenset(x for x in values if isinstance(x, str))
    shown = ", ".join(str(x) for x in values)

    def check(v: Any) -> list[_Err] | None:
        if isinstance(v, str):
            if v in strings:
                return None
        elif any(type(x) is type(v) and x == v for x in values):  # JSON: true is not 1
            return None
        msg = f"{_show(v, secret)} is not one of: {shown}"
        if isinstance(v, str) and not secret:
            close = difflib.get_close_matches(v, [str(x) for x in values], n=1)
            if close:
                msg += f" (did you mean {close[0]!r}?)"
        return [((), msg, "enum")]

    return check


def _string_check(s: dict[str, Any], secret: bool, note: str | None) -> Check:
    pattern = re.compile(s["pattern"]) if "pattern" in s else None
    lo = s.get("minLength")
    hi = s.get("maxLength")

    def check(v: Any) -> list[_Err] | None:
        if not isinstance(v, str):
            return None
        if lo is not None and len(v) < lo:
            return [((), "must not be empty" if lo == 1 else f"must be at least {lo} characters",
                     "minLength")]
        if hi is not None and len(v) > hi:
            return [((), f"is longer than {hi} characters", "maxLength")]
        if pattern is not None and not pattern.search(v):
            what = note or f"must match {pattern.pattern}"
            return [((), f"{_show(v, secret)} is not valid: {what}", "pattern")]
        return None

    return check


def _number_check(s: dict[str, Any]) -> Check:
    lo = s.get("minimum")
    hi = s.get("maximum")
    xlo = s.get("exclusiveMinimum")

    def check(v: Any) -> list[_Err] | None:
        if not isinstance(v, int | float) or isinstance(v, bool):
            return None
        if lo is not None and v < lo:
            return [((), f"{v} is below the minimum {lo}", "minimum")]
        if xlo is not None and v <= xlo:
            return [((), f"{v} must be greater than {xlo}", "exclusiveMinimum")]
        if hi is not None and v > hi:
            return [((), f"{v} is above the maximum {hi}", "maximum")]
        return None

    return check


def _unknown_key(key: Any, allowed: list[str]) -> str:
    msg = f"unknown key {key!r}"
    close = difflib.get_close_matches(str(key), allowed, n=1) if allowed else []
    if close:
        msg += f" (did you mean {close[0]!r}?)"
    elif allowed:
        msg += f"; allowed here: {', '.join(allowed)}"
    return msg


# ------------------------------------------------------------------ the happy path

Pred = Callable[[Any], bool]
_PYTYPES = {"string": str, "integer": int, "number": float, "boolean": bool, "null": type(None),
            "object": dict, "array": list}
_LEAF_KEYWORDS = frozenset({"type", "enum", "pattern", "minLength", "maxLength", "minimum",
                            "maximum", "exclusiveMinimum"})


class _FastCompiler:
    """Compiles a schema into a predicate that says only whether a document is valid.

    Most documents are valid, and a fleet-sized one is mostly the same few shapes of small
    objects, so the happy path is what costs: here an object is one loop over its keys with
    exact-type tests inline (`type(v) is str`), key sets are compared in C, and `$ref`s are
    resolved at compile time. Anything unusual (a float that is an integer, a str subclass,
    `anyOf`, `uniqueItems`, ...) is left to the error-producing checks of `_Compiler`, which run
    whenever the predicate says no, so the predicate may be stricter than the schema but never
    more lenient (the tests compare both with `jsonschema`).
    """

    def __init__(self, root: dict[str, Any], slow: _Compiler) -> None:
        self.root = root
        self.slow = slow
        self.refs: dict[str, Pred] = {}
        self.pending: set[str] = set()

    def _delegate(self, s: dict[str, Any] | bool) -> Pred:
        check = self.slow.compile(s)
        return lambda v: not check(v)

    def ref(self, ref: str) -> Pred:
        done = self.refs.get(ref)
        if done is not None:
            return done
        if ref in self.pending:  # recursive: looked up when called, after it is compiled
            return lambda v: self.refs[ref](v)
        self.pending.add(ref)
        target: Any = self.root
        for part in ref[2:].split("/"):
            target = target[part]
        pred = self.compile(target)
        self.pending.discard(ref)
        self.refs[ref] = pred
        return pred

    def compile(self, s: dict[str, Any] | bool) -> Pred:
        if s is True:
            return _true
        if s is False:
            return _false
        keys = set(s) - _ANNOTATIONS
        if keys == {"$ref"}:
            return self.ref(s["$ref"])
        t = s.get("type")
        if keys <= _LEAF_KEYWORDS:
            return self._leaf(s)
        if t == "object" and keys <= {"type", "properties", "required", "additionalProperties"}:
            return self._object(s)
        if t == "array" and keys <= {"type", "items", "minItems", "maxItems", "uniqueItems"}:
            return self._array(s)
        return self._delegate(s)

    def _leaf(self, s: dict[str, Any]) -> Pred:
        t = s.get("type")
        enum = s.get("enum")
        strings = frozenset(x for x in enum if isinstance(x, str)) if enum is not None else None
        if enum is not None and (strings is None or len(strings) != len(enum)):
            return self._delegate(s)  # an enum with non-string values
        names = ([t] if isinstance(t, str) else list(t) if t is not None
                 else ["string"] if strings is not None else None)
        if names is None or "number" in names or "object" in names or "array" in names:
            return self._delegate(s)
        types = tuple(_PYTYPES[n] for n in names)
        pattern = re.compile(s["pattern"]) if "pattern" in s else None
        lo_len, hi_len = s.get("minLength"), s.get("maxLength")
        lo, hi, xlo = s.get("minimum"), s.get("maximum"), s.get("exclusiveMinimum")
        plain = (strings is None and pattern is None and lo_len is None and hi_len is None
                 and lo is None and hi is None and xlo is None)
        if plain and len(types) == 1:
            only = types[0]
            return lambda v: type(v) is only

        def pred(v: Any) -> bool:
            tv = type(v)
            if tv not in types:
                return False
            if tv is str:
                if strings is not None and v not in strings:
                    return False
                if lo_len is not None and len(v) < lo_len or hi_len is not None and len(v) > hi_len:
                    return False
                return pattern is None or pattern.search(v) is not None
            if strings is not None:
                return False
            if tv is int:
                return not (lo is not None and v < lo or hi is not None and v > hi
                            or xlo is not None and v <= xlo)
            return True

        return pred

    def _object(self, s: dict[str, Any]) -> Pred:
        props = s.get("properties", {})
        plain: dict[str, tuple[type, Any, Any, frozenset[str] | None]] = {}
        preds: dict[str, Pred] = {}
        for k, sub in props.items():
            spec = _plain_spec(sub)
            if spec is not None:
                plain[k] = spec
            else:
                preds[k] = self.compile(sub)
        required = frozenset(s.get("required", ()))
        extra = s.get("additionalProperties", True)
        closed = extra is False
        extra_pred = None if extra is True or closed else self.compile(extra)
        plain_get, pred_get = plain.get, preds.get
        if closed and not preds:  # a record of plain values (a file entry, a version map)
            allowed = frozenset(plain)

            def record(v: Any) -> bool:
                if not isinstance(v, dict):
                    return False
                keys = v.keys()
                if not required <= keys or not keys <= allowed:
                    return False
                for k, val in v.items():
                    t, lo, min_len, strings = plain[k]
                    if (type(val) is not t or lo is not None and val < lo
                            or min_len is not None and len(val) < min_len
                            or strings is not None and val not in strings):
                        return False
                return True

            return record

        def pred(v: Any) -> bool:
            if not isinstance(v, dict) or not required <= v.keys():
                return False
            for k, val in v.items():
                spec = plain_get(k)
                if spec is not None:  # the common leaves, checked inline
                    t, lo, min_len, strings = spec
                    if (type(val) is not t or lo is not None and val < lo
                            or min_len is not None and len(val) < min_len
                            or strings is not None and val not in strings):
                        return False
                    continue
                p = pred_get(k)
                if p is not None:
                    if not p(val):
                        return False
                elif closed or extra_pred is not None and not extra_pred(val):
                    return False
            return True

        return pred

    def _array(self, s: dict[str, Any]) -> Pred:
        item = self.compile(s["items"]) if "items" in s else _true
        lo, hi = s.get("minItems"), s.get("maxItems")
        unique = s.get("uniqueItems", False)

        def pred(v: Any) -> bool:
            if type(v) is not list:
                return False
            if lo is not None and len(v) < lo or hi is not None and len(v) > hi:
                return False
            for x in v:
                if not item(x):
                    return False
            if unique:
                # Python equality merges what JSON keeps apart (1 and true): then the checks
                # decide; unhashable items too
                try:
                    return len(set(v)) == len(v)
                except TypeError:
                    return False
            return True

        return pred


def _plain_spec(sub: Any) -> tuple[type, Any, Any, frozenset[str] | None] | None:
    """(type, minimum, minLength, allowed strings) for a leaf simple enough to check inline:
    one of string/integer/boolean, or an enum of strings, with at most those constraints."""
    if not isinstance(sub, dict):
        return None
    keys = set(sub) - _ANNOTATIONS
    t = sub.get("type")
    enum = sub.get("enum")
    if enum is not None:
        if not keys <= {"enum", "type"} or t not in (None, "string") or not all(
                isinstance(x, str) for x in enum):
            return None
        return (str, None, None, frozenset(enum))
    if t == "string" and keys <= {"type", "minLength"}:
        return (str, None, sub.get("minLength"), None)
    if t == "integer" and keys <= {"type", "minimum"}:
        return (int, sub.get("minimum"), None, None)
    if t == "boolean" and keys == {"type"}:
        return (bool, None, None, None)
    return None


def _true(v: Any) -> bool:
    return True


def _false(v: Any) -> bool:
    return False


class CompiledSchema:
    def __init__(self, name: str, schema: dict[str, Any]) -> None:
        self.name = name
        self.schema = schema
        slow = _Compiler(schema)
        self._check = slow.compile(schema)
        self._valid = _FastCompiler(schema, slow).compile(schema)

    def is_valid(self, document: Any) -> bool:
        """The happy path alone: True only for a valid document; False may also mean that only
        the error-reporting checks can decide (see `_FastCompiler`)."""
        return self._valid(document)

    def errors(self, document: Any) -> list[SchemaError]:
        if self._valid(document):
            return []
        errs = self._check(document)
        if not errs:
            return []
        return [SchemaError(p, m, kw) for p, m, kw in errs]


SCHEMA_NAMES = ("images", "policy", "inventory", "snapshot")


@functools.cache
def schema_document(name: str) -> dict[str, Any]:
    """A shipped schema (`images`, `policy`, `inventory`, `snapshot`, ...) as a dict."""
    text = importlib.resources.files("reconciler").joinpath(
        "schemas", f"{name}.schema.json").read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


@functools.cache
def compiled(name: str) -> CompiledSchema:
    """Compiled once per process."""
    return CompiledSchema(name, schema_document(name))
