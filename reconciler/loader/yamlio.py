"""Safe, fast YAML reading that remembers line numbers.

Why not `yaml.load`: PyYAML composes a node tree and then constructs Python objects from it, and
with large inventories the cyclic garbage collector keeps rescanning those millions of young
objects (100,000 devices: ~15 s). Here the libyaml event stream (`yaml.CSafeLoader`) is turned
straight into dicts and lists with the collector paused, which is several times faster, and along
the way we get, for almost nothing:
- the line of every mapping and of every key in it (`LineDict.line`, `LineDict.key_lines`), so
  that every later error can name file:line without re-reading the file;
- duplicate keys reported instead of silently keeping the last one;
- safety limits: file size, nesting depth, alias expansion (billion laughs) and recursive aliases
  (`&a [*a]`) are refused with a YAML_LIMIT finding before anything walks the document.
Scalars resolve exactly as with `yaml.SafeLoader` (YAML 1.1: `on` is a bool, `01:00` an int).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from reconciler.contract import FindingCode
from reconciler.core.bulk import gc_paused as gc_paused  # the loader modules use it
from reconciler.core.findings import Finding
from reconciler.errors import Location

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAP_TAG = "tag:yaml.org,2002:map"
SEQ_TAG = "tag:yaml.org,2002:seq"
STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_ALLOWED_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null")
)


_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?)?\s*$", re.IGNORECASE)
MAX_FILE_SIZE_ENV = "RECONCILER_MAX_FILE_SIZE"


def parse_size(text: str) -> int:
    """Bytes from "33554432", "32MiB", "64M", "512k". Raises ValueError on anything else."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a size such as 33554432, 32MiB or 64M")
    unit = (m.group(2) or "").lower()[:1]
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]


def _default_max_bytes() -> int:
    text = os.environ.get(MAX_FILE_SIZE_ENV)
    try:
        return parse_size(text) if text else 32 * 1024 * 1024
    except ValueError:
        return 32 * 1024 * 1024  # a bad value must not make every command fail to start


@dataclass(frozen=True, slots=True)
class YamlLimits:
    """Safety limits for one file. The defaults leave room for a 100,000-device inventory;
    the size limit can be changed with RECONCILER_MAX_FILE_SIZE or `validate --max-file-size`."""

    max_bytes: int = field(default_factory=_default_max_bytes)
    max_depth: int = 64
    # Alias expansion: aliases may add at most this many nodes to the document, unless the
    # file itself is large enough that the expansion stays below 10x its own size.
    max_expanded_nodes: int = 200_000


DEFAULT_LIMITS = YamlLimits()  # read once at import


class LineDict(dict):  # type: ignore[type-arg]
    """A mapping read from YAML, with the line it starts on and the line of each key."""

    __slots__ = ("line", "key_lines")

    def __init__(self, line: int = 0) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


@dataclass(slots=True)
class YamlDoc:
    """The result of reading one file: `data` is None when the file could not be read at all."""

    path: str
    data: Any
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.data is not None and not any(f.blocking for f in self.findings)


class _Limit(Exception):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


_NOKEY = object()  # in a mapping, waiting for a key
_SEQ = object()  # in a sequence (a mapping key may itself be None: `? : x`)


def _resolve_scalar(loader: Any, ev: Any) -> Any:
    value = ev.value
    tag = ev.tag
    if tag is not None and tag != "!":
        if tag not in _ALLOWED_SCALAR_TAGS:
            raise yaml.constructor.ConstructorError(
                None, None, f"the tag {tag!r} is not allowed here", ev.start_mark)
        return _construct(loader, yaml.ScalarNode(tag, value, ev.start_mark, ev.end_mark, ev.style), ev)
    if not ev.implicit[0]:  # quoted: always a string
        return value
    if not value:
        return None
    return _plain_scalar(loader, value, ev)


def _plain_scalar(loader: Any, value: str, ev: Any) -> Any:
    first = value[0]
    if first not in _FIRST_CHARS or (first.isalpha() and len(value) > 5):
        # YAML 1.1 words (true, False, null, yes, off, ...) have at most 5 letters
        return value
    tag = loader.resolve(yaml.ScalarNode, value, (True, False))
    if tag == STR_TAG:
        return value
    if tag == _MERGE_TAG:
        return _MERGE
    return _construct(loader, yaml.ScalarNode(tag, value, ev.start_mark, ev.end_mark, ev.style), ev)


_KINDS = {"tag:yaml.org,2002:int": "an integer", "tag:yaml.org,2002:float": "a number",
          "tag:yaml.org,2002:timestamp": "a date", "tag:yaml.org,2002:bool": "true or false"}


# No field of any format holds a larger integer (sizes in bytes fit in 63 bits). Bigger ones are
# refused here, so that no later message or computation meets a number it cannot format or use.
MAX_INT = 2**63


def _construct(loader: Any, node: Any, ev: Any) -> Any:
    """PyYAML's constructor raises plain ValueError for scalars that look like a type but are
    not one: an integer of more than 4300 digits, a date such as 2024-02-30."""
    try:
        value = loader.construct_object(node, deep=True)
        if isinstance(value, int) and not isinstance(value, bool) and not -MAX_INT <= value < MAX_INT:
            raise ValueError("it is beyond 2^63")
        return value
    except (ValueError, OverflowError, KeyError, IndexError, TypeError) as e:
        # explicit tags reach PyYAML's constructors with any text: `!!bool maybe` is a KeyError
        shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
        what = _KINDS.get(node.tag, node.tag)
        why = ("it has too many digits" if "digits" in str(e) else
               str(e) if isinstance(e, ValueError) and str(e) else "not a value of that type")
        raise yaml.constructor.ConstructorError(
            None, None, f"{shown!r} reads as {what} but cannot be one ({why}); put it in quotes "
            "if it is text", ev.start_mark) from None


_FIRST_CHARS = frozenset(_Loader.yaml_implicit_resolvers)


class _MergeKey:
    def __repr__(self) -> str:
        return "<<"


_MERGE = _MergeKey()


def parse_yaml(text: bytes | str, path: str, limits: YamlLimits = DEFAULT_LIMITS) -> YamlDoc:
    """Read one YAML document. Problems become findings located at `path:line`; never raises
    for bad input."""
    size = len(text)
    if size > limits.max_bytes:
        return YamlDoc(path, None, [Finding(
            FindingCode.YAML_LIMIT,
            f"file is {size} bytes, above the {limits.max_bytes}-byte limit "
            "(raise it with --max-file-size if this is intended)",
            location=Location(path))])
    doc = YamlDoc(path, None)
    with gc_paused():
        try:
            doc.data = _build(text, path, limits, doc.findings)
            if doc.data is None:
                doc.data = LineDict(1)  # empty file or only comments: an empty document
        except _Limit as e:
            doc.data = None
            doc.findings.append(Finding(FindingCode.YAML_LIMIT, e.message,
                                        location=Location(path, e.line)))
        except yaml.MarkedYAMLError as e:
            doc.data = None
            mark = e.problem_mark or e.context_mark
            what = e.problem or e.context or "invalid YAML"
            if e.context and e.problem:
                started = e.context_mark
                at = (f" started at line {started.line + 1}"
                      if started is not None and mark is not None and started.line != mark.line
                      else "")
                what = f"{e.problem} ({e.context}{at})"
            doc.findings.append(Finding(FindingCode.YAML_SYNTAX, what,
                                        location=Location(path, mark.line + 1 if mark else None)))
        except yaml.YAMLError as e:  # reader errors: bad encoding, control characters
            doc.data = None
            doc.findings.append(Finding(FindingCode.YAML_SYNTAX, _reader_message(e),
                                        location=Location(path, _reader_line(text, e))))
    return doc


def _reader_message(e: yaml.YAMLError) -> str:
    reason = getattr(e, "reason", None)
    if reason:
        return f"unreadable character: {reason} (the file must be UTF-8 text)"
    return f"unreadable file: {str(e).splitlines()[0] if str(e) else type(e).__name__}"


def _reader_line(text: bytes | str, e: yaml.YAMLError) -> int | None:
    pos = getattr(e, "position", None)
    if not isinstance(pos, int):
        return None
    head = text[:pos]
    return (head.count(b"\n") if isinstance(head, bytes) else head.count("\n")) + 1


def _build(text: bytes | str, path: str, limits: YamlLimits,
           findings: list[Finding]) -> Any:
    loader = _Loader(text)
    try:
        return _build_events(loader, path, limits, findings)
    finally:
        loader.dispose()


def _build_events(loader: Any, path: str, limits: YamlLimits,
                  findings: list[Finding]) -> Any:
    get = loader.get_event
    anchors: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    # stack entries: (container, pending key, anchor, node count at start, merges)
    stack: list[tuple[Any, Any, str | None, int, list[Any] | None]] = []
    cur: Any = None
    key: Any = _NOKEY
    merges: list[Any] | None = None
    root: Any = None
    have_root = False
    documents = 0
    nodes = 0  # nodes seen, counting every alias as the size of what it expands to
    own = 0  # nodes actually written in the file
    max_depth = limits.max_depth
    cap = limits.max_expanded_nodes
    anchor_here: str | None = None
    start_count = 0

    while True:
        ev = get()
        if ev is None:
            break
        t = type(ev)
        if t is ScalarEvent:
            nodes += 1
            own += 1
            value = ev.value
            # inline the common case of _resolve_scalar: an untagged plain word or a quoted string
            if ev.tag is None and value and ev.implicit[0]:
                first = value[0]
                if first in _FIRST_CHARS and not (first.isalpha() and len(value) > 5):
                    value = _plain_scalar(loader, value, ev)
            else:
                value = _resolve_scalar(loader, ev)
            if ev.anchor:
                anchors[ev.anchor] = value
                sizes[ev.anchor] = 1
        elif t is MappingStartEvent or t is SequenceStartEvent:
            nodes += 1
            own += 1
            if ev.tag not in (None, "!", MAP_TAG, SEQ_TAG):
                raise yaml.constructor.ConstructorError(
                    None, None, f"the tag {ev.tag!r} is not allowed here", ev.start_mark)
            if len(stack) >= max_depth:
                raise _Limit(f"nesting deeper than {max_depth} levels", ev.start_mark.line + 1)
            stack.append((cur, key, anchor_here, start_count, merges))
            if t is MappingStartEvent:
                cur = LineDict(ev.start_mark.line + 1)
                key = _NOKEY
            else:
                cur = []
                key = _SEQ
            merges = None
            anchor_here = ev.anchor
            start_count = nodes
            if anchor_here:
                anchors[anchor_here] = cur
            continue
        elif t is MappingEndEvent or t is SequenceEndEvent:
            value = cur
            if merges:
                _apply_merges(value, merges)
            if anchor_here:
                sizes[anchor_here] = nodes - start_count + 1
            cur, key, anchor_here, start_count, merges = stack.pop()
        elif t is AliasEvent:
            if ev.anchor not in anchors:
                raise yaml.composer.ComposerError(
                    None, None, f"found undefined alias {ev.anchor!r}", ev.start_mark)
            value = anchors[ev.anchor]
            if (value is cur or any(value is entry[0] for entry in stack)) and isinstance(
                    value, dict | list):
                # `&a [*a]`: a structure that contains itself; every later walk would loop
                raise _Limit(f"alias *{ev.anchor} refers to a mapping or list that contains it "
                             "(a recursive structure)", ev.start_mark.line + 1)
            nodes += sizes.get(ev.anchor, 1)
            # A legitimate file reuses anchors, but never grows to 10x itself beyond the cap.
            if nodes - own > cap and nodes > 10 * own:
                raise _Limit(
                    f"aliases expand the document to more than {nodes - own} extra nodes (a "
                    "YAML 'billion laughs' document?); write the data out or use fewer anchors",
                    ev.start_mark.line + 1)
        else:
            if t is DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise yaml.composer.ComposerError(
                        None, None, "more than one YAML document in the file (only one is read)",
                        ev.start_mark)
            continue

        # place `value`
        if cur is None:
            root = value
            have_root = True
        elif key is _SEQ:
            cur.append(value)
        elif key is _NOKEY:
            if value is _MERGE:
                key = _MERGE
                continue
            try:
                if type(value) is not str:
                    hash(value)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value, not a list or mapping",
                    ev.start_mark) from None
            line = ev.start_mark.line + 1
            if value in cur.key_lines:
                findings.append(Finding(
                    FindingCode.DUPLICATE_NAME,
                    f"key {value!r} appears twice in this mapping (first at line "
                    f"{cur.key_lines[value]}); the later value would silently win",
                    location=Location(path, line)))
            cur.key_lines[value] = line
            key = value
        elif key is _MERGE:
            if merges is None:
                merges = []
            if isinstance(value, list):
                merges.extend(value)
            else:
                merges.append(value)
            key = _NOKEY
        else:
            cur[key] = value
            key = _NOKEY
    return root if have_root else None


def _apply_merges(target: LineDict, merges: list[Any]) -> None:
    """YAML merge keys (`<<: *base`): explicit keys win, earlier merged mappings win."""
    for src in merges:
        if not isinstance(src, dict):
            raise yaml.constructor.ConstructorError(
                None, None, "a merge key (<<) must refer to a mapping or a list of mappings", None)
        for k, v in src.items():
            if k not in target:
                target[k] = v
                if isinstance(src, LineDict):
                    target.key_lines.setdefault(k, src.line_of(k))


def line_of_path(data: Any, path: tuple[Any, ...] | list[Any]) -> int | None:
    """The line of the deepest element of `path` (keys and list indexes) that the data records.

    A mapping key gives the line of that key; a list index gives the line of that element when
    it is a mapping; otherwise the nearest enclosing mapping's line.
    """
    line: int | None = data.line if isinstance(data, LineDict) else None
    node = data
    for step in path:
        if isinstance(node, LineDict):
            if step in node.key_lines:
                line = node.key_lines[step]
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
            if isinstance(node, LineDict):
                line = node.line
        else:
            break
    return line
