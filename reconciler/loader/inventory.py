"""Load the inventory: `inventory/*.yaml` (usually one `inventory/devices.yaml`).

Each file may have a `defaults:` block that is merged into each of its devices: mappings
(`credentials`, `tls`) key by key, `tags` added to the device's own, anything else only when the
device does not set it. Credentials are references (`env:NAME`, `file:PATH`); a literal secret is
an INLINE_SECRET finding whose message never repeats the value.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import urlsplit

from reconciler.contract import FindingCode
from reconciler.core.findings import Finding
from reconciler.core.model import (
    CredentialRef,
    Credentials,
    DriverKind,
    InventoryDevice,
    Mode,
    TlsSettings,
)
from reconciler.errors import Location
from reconciler.loader.credentials import parse_credential_ref
from reconciler.loader.documents import Document, DocumentReader
from reconciler.loader.source import FileSource
from reconciler.loader.yamlio import DEFAULT_LIMITS, LineDict, YamlLimits, gc_paused

INVENTORY_PATTERNS = ("inventory/*.yaml", "inventory/*.yml")


def load_inventory(source: FileSource, limits: YamlLimits = DEFAULT_LIMITS
                   ) -> tuple[dict[str, InventoryDevice], list[Finding]]:
    reader = DocumentReader(source, limits)
    with gc_paused():
        devices = read_inventory(reader)
    return devices, reader.findings


def read_inventory(reader: DocumentReader) -> dict[str, InventoryDevice]:
    paths = sorted({p for pat in INVENTORY_PATTERNS for p in reader.source.list(pat)})
    if not paths:
        reader.findings.append(Finding(
            FindingCode.FILE_ERROR, f"no inventory/*.yaml files in {reader.source.label}",
            location=Location("inventory/devices.yaml")))
    devices: dict[str, InventoryDevice] = {}
    for path in paths:
        doc = reader.read(path, "inventory")
        if doc is not None:
            _read_file(doc, devices, reader.findings)
    return devices


def _read_file(doc: Document, devices: dict[str, InventoryDevice],
               findings: list[Finding]) -> None:
    defaults = doc.data.get("defaults")
    if not isinstance(defaults, LineDict) or ("defaults",) in doc.broken:
        defaults = LineDict()
    d_creds = defaults.get("credentials") or {}
    d_tls = defaults.get("tls") or {}
    d_tags = tuple(defaults.get("tags", ()))
    shared_tls = _tls(d_tls)
    # Most devices take their credentials from the defaults: those that produce no finding are
    # worked out once per driver and shared (Credentials and TlsSettings are frozen values).
    shared_creds: dict[DriverKind, Credentials | None] = {}
    for _, x in doc.entries("devices"):
        name = x["name"]
        if name in devices:
            findings.append(Finding(FindingCode.DUPLICATE_NAME,
                                    f"device {name!r} is defined twice (first at "
                                    f"{devices[name].loc})", location=doc.loc(x.line)))
            continue

        def get(key: str, x: LineDict = x) -> Any:
            return x[key] if key in x else defaults.get(key)

        driver = get("driver")
        if driver is None:
            findings.append(Finding(FindingCode.SCHEMA,
                                    f"device {name}: missing driver (asa or agent); set it on the "
                                    "device or in the file's defaults", location=doc.loc(x.line)))
            continue
        address = x["address"]
        if not _PLAIN_ADDRESS.match(address):
            problem = _check_address(name, address, doc.loc(x.line_of("address")))
            if problem is not None:
                findings.append(problem)
                continue
        kind = DriverKind(driver)
        own_creds = x.get("credentials")
        if own_creds or kind not in shared_creds:
            creds = {**d_creds, **(own_creds or {})}
            before = len(findings)
            credentials = _credentials(name, kind, creds, doc.loc(x.line_of("credentials")),
                                       findings)
            if not own_creds and len(findings) == before:
                shared_creds[kind] = credentials
        else:
            credentials = shared_creds[kind]
        own_tls = x.get("tls")
        tags = x.get("tags")
        mode = get("mode")
        devices[name] = InventoryDevice(
            name=name,
            address=address,
            driver=kind,
            credentials=credentials,
            model=get("model"),
            tags=d_tags + tuple(t for t in tags if t not in d_tags) if tags else d_tags,
            site=get("site"),
            mode=Mode(mode) if mode else None,
            platform=get("platform"),
            tls=_tls({**d_tls, **own_tls}) if own_tls else shared_tls,
            loc=doc.loc(x.line),
        )


# The common, plainly valid forms skip urlsplit (a measurable cost over 100,000 devices).
_PLAIN_ADDRESS = re.compile(
    r"^(https://)?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|"
    r"6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?(?:/[^\s@?#]*)?$")


@functools.lru_cache(maxsize=1024)
def _tls_cached(verify: bool, ca_bundle: str | None, fingerprint: str | None) -> TlsSettings:
    return TlsSettings(verify=verify, ca_bundle=ca_bundle,
                       fingerprint=fingerprint.replace(":", "").lower() if fingerprint else None)


def _tls(tls: dict[str, Any]) -> TlsSettings:
    # devices share a few TLS settings: share the (frozen) values too
    return _tls_cached(tls.get("verify", True), tls.get("ca_bundle"), tls.get("fingerprint"))


def _check_address(name: str, address: str, loc: Location) -> Finding | None:
    if _PLAIN_ADDRESS.match(address):
        return None
    text = address if "://" in address else f"https://{address}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return Finding(FindingCode.SCHEMA, f"device {name}: address {address!r} is not "
                       "https://host[:port][/path] or host[:port]", location=loc)
    if parts.password is not None:
        return Finding(FindingCode.INLINE_SECRET, f"device {name}: the address embeds a "
                       "password; put credentials under credentials: as env:NAME or file:PATH "
                       "references", location=loc)
    if parts.username is not None:
        return Finding(FindingCode.SCHEMA, f"device {name}: the address embeds a user name; "
                       "set credentials.username instead", location=loc)
    if parts.scheme != "https":
        return Finding(FindingCode.SCHEMA, f"device {name}: address scheme {parts.scheme!r} "
                       "is not allowed; devices are managed over https only", location=loc)
    if not parts.hostname or (port is not None and not 0 < port < 65536):
        return Finding(FindingCode.SCHEMA, f"device {name}: address {address!r} has no valid "
                       "host and port", location=loc)
    return None


def _credentials(name: str, driver: DriverKind, creds: dict[str, Any], loc: Location,
                 findings: list[Finding]) -> Credentials | None:
    if not creds:
        findings.append(Finding(
            FindingCode.SCHEMA,
            f"device {name}: no credentials; set credentials "
            + ("(username and password)" if driver is DriverKind.ASA else "(token)")
            + " on the device or in the file's defaults, as env:NAME or file:PATH references",
            location=loc))
        return None
    # literal secrets were already reported by the schema check (INLINE_SECRET)
    password = parse_credential_ref(creds.get("password"))
    token = parse_credential_ref(creds.get("token"))
    if driver is DriverKind.ASA and (not creds.get("username") or "password" not in creds):
        findings.append(Finding(
            FindingCode.SCHEMA, f"device {name}: an asa device needs credentials.username and "
            "credentials.password (env:NAME or file:PATH)", location=loc))
    if driver is DriverKind.AGENT and token is None and "token" not in creds:
        findings.append(Finding(
            FindingCode.SCHEMA, f"device {name}: an agent endpoint needs credentials.token "
            "(env:NAME or file:PATH)", location=loc))
    return _shared_credentials(creds.get("username"), password, token)


@functools.lru_cache(maxsize=1024)
def _shared_credentials(username: str | None, password: CredentialRef | None,
                        token: CredentialRef | None) -> Credentials:
    return Credentials(username=username, password=password, token=token)
