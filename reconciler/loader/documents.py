"""Reading one repository file: size limit, YAML, schema, findings with file:line.

Every problem becomes a Finding; nothing here raises for bad input. The bytes of every file read
feed the content digest that plan fingerprints are built from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from reconciler.contract import FindingCode
from reconciler.core.findings import Finding
from reconciler.errors import Location, ReconcilerError
from reconciler.loader.credentials import parse_credential_ref
from reconciler.loader.schema import SECRET_KEYS, SchemaError, compiled
from reconciler.loader.source import FileSource
from reconciler.loader.yamlio import DEFAULT_LIMITS, LineDict, YamlLimits, line_of_path, parse_yaml

_CREDENTIAL_FIELDS = frozenset({"password", "token"})


@dataclass(slots=True)
class Document:
    path: str
    data: LineDict
    # (top-level key,) or (top-level key, index): entries with schema errors, skipped when the
    # model is built so one bad entry cannot cascade into confusing follow-up errors
    broken: set[tuple[Any, ...]] = field(default_factory=set)

    def loc(self, line: int | None) -> Location:
        return Location(self.path, line)

    def entries(self, key: str) -> list[tuple[int, LineDict]]:
        """The valid mapping entries of the top-level list `key`, with their index."""
        items = self.data.get(key)
        if not isinstance(items, list) or (key,) in self.broken:
            return []
        return [(i, x) for i, x in enumerate(items)
                if isinstance(x, LineDict) and (key, i) not in self.broken]


class DocumentReader:
    """Reads files from a source, collecting findings and the content digest."""

    def __init__(self, source: FileSource, limits: YamlLimits = DEFAULT_LIMITS) -> None:
        self.source = source
        self.limits = limits
        self.findings: list[Finding] = []
        self.contents: dict[str, bytes] = {}

    def read(self, path: str, schema: str) -> Document | None:
        raw = self._read_bytes(path)
        if raw is None:
            return None
        doc = parse_yaml(raw, path, self.limits)
        self.findings.extend(doc.findings)
        if doc.data is None:
            return None
        data = doc.data
        if not isinstance(data, LineDict):
            self.findings.append(Finding(
                FindingCode.SCHEMA, f"the file must be a mapping with top-level keys, not "
                f"{type(data).__name__}", location=Location(path, 1)))
            return None
        out = Document(path, data)
        for err in compiled(schema).errors(data):
            self.findings.append(schema_finding(path, data, err))
            if (len(err.path) >= 2 and err.path[-2] == "credentials"
                    and err.path[-1] in _CREDENTIAL_FIELDS
                    and err.keyword != "additionalProperties"):
                continue  # a literal secret is reported; the entry is still usable (no ref)
            # a bad list entry drops that entry; anything else drops the whole top-level key
            entry = len(err.path) >= 2 and isinstance(err.path[1], int)
            out.broken.add(err.path[:2] if entry else err.path[:1])
        return out

    def _read_bytes(self, path: str) -> bytes | None:
        size_of = getattr(self.source, "size", None)
        try:
            if size_of is not None:
                size = size_of(path)
                if size is not None and size > self.limits.max_bytes:
                    self.findings.append(_too_big(path, size, self.limits))
                    return None
            raw = self.source.read(path)
        except ReconcilerError as e:
            self.findings.append(Finding(FindingCode.UNSAFE_PATH if e.code == "UNSAFE_PATH"
                                         else FindingCode.FILE_ERROR, e.message,
                                         location=Location(path)))
            return None
        except OSError as e:
            self.findings.append(Finding(FindingCode.FILE_ERROR,
                                         f"cannot read the file: {e.strerror or e}",
                                         location=Location(path)))
            return None
        if len(raw) > self.limits.max_bytes:
            self.findings.append(_too_big(path, len(raw), self.limits))
            return None
        self.contents[path] = raw
        return raw

    def digest(self) -> str:
        """sha256 over the sorted paths and bytes of every file read."""
        h = hashlib.sha256()
        for path in sorted(self.contents):
            raw = self.contents[path]
            h.update(path.encode())
            h.update(b"\0")
            h.update(str(len(raw)).encode())
            h.update(b"\0")
            h.update(raw)
        return h.hexdigest()


def _too_big(path: str, size: int, limits: YamlLimits) -> Finding:
    return Finding(FindingCode.YAML_LIMIT,
                   f"file is {size} bytes, above the {limits.max_bytes}-byte limit "
                   "(raise it with --max-file-size if this is intended)",
                   location=Location(path))


def render_path(data: Any, path: tuple[Any, ...]) -> str:
    """`devices[fw-01].credentials.password`: list entries are named by their `name`."""
    out = ""
    node = data
    for step in path:
        if isinstance(step, int) and isinstance(node, list):
            item = node[step] if 0 <= step < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            out += f"[{name}]" if isinstance(name, str) and name else f"[{step}]"
            node = item
        else:
            out += f".{step}" if out else str(step)
            node = node.get(step) if isinstance(node, dict) else None
    return out


def _value_at(data: Any, path: tuple[Any, ...]) -> Any:
    node = data
    for step in path:
        if isinstance(node, dict):
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        else:
            return None
    return node


def schema_finding(path: str, data: Any, err: SchemaError) -> Finding:
    loc = Location(path, line_of_path(data, err.path))
    where = render_path(data, err.path)
    last = err.path[-1] if err.path else None
    value = _value_at(data, err.path)
    if isinstance(last, str) and value is not None and not isinstance(value, dict | list):
        secret_key = last.lower() in SECRET_KEYS
        if (last in _CREDENTIAL_FIELDS and err.keyword != "additionalProperties") or (
                secret_key and err.keyword == "additionalProperties"
                and parse_credential_ref(value) is None):
            # never echo the value: it is probably a real secret that just got committed
            return Finding(FindingCode.INLINE_SECRET,
                           f"{where}: a secret is written here; write a reference such as "
                           "env:NAME or file:PATH instead (and remove the secret from git "
                           "history)", location=loc)
    prefix = f"{where}: " if where else ""
    return Finding(FindingCode.SCHEMA, prefix + err.message, location=loc)
