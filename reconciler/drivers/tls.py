"""HTTPS clients for devices, honouring each device's `TlsSettings`.

- default: verify the certificate chain and host name against the system trust store;
- `ca_bundle`: verify against that CA file (e.g. the simulator's `.reconciler/sim/ca.pem`);
- `fingerprint`: pin the device certificate's sha256 — the handshake fails unless the
  certificate presented is exactly that one (chain and host name are then not required, which is
  how self-signed ASA certificates are trusted safely); with `ca_bundle` too, both must hold;
- `verify: false` without a fingerprint: no verification at all. It must be written explicitly
  and every client built that way logs a warning naming the devices.
The pin is checked inside the TLS handshake, before any request (and its credentials) is sent.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from reconciler.core.model import TlsSettings
from reconciler.errors import ConfigError
from reconciler.logging import get_logger

_HEX = re.compile(r"^[0-9a-f]{64}$")


def normalise_fingerprint(text: str) -> str:
    """`AB:CD:...`, `sha256:abcd...` or plain hex -> 64 lower-case hex digits."""
    s = text.strip().lower()
    if s.startswith("sha256:") or s.startswith("sha256/"):
        s = s[7:]
    s = s.replace(":", "").replace(" ", "")
    if not _HEX.match(s):
        raise ConfigError(f"tls.fingerprint {text!r} is not a sha256 fingerprint",
                          hint="give 64 hex digits (colons allowed), e.g. from `reconciler simulate` "
                               "or `openssl x509 -noout -fingerprint -sha256`")
    return s


def _pinned_sslobject(expected: str) -> type[ssl.SSLObject]:
    want = bytes.fromhex(expected)

    class PinnedSSLObject(ssl.SSLObject):
        def do_handshake(self) -> None:
            super().do_handshake()
            der = self.getpeercert(binary_form=True)
            got = hashlib.sha256(der or b"").digest()
            if got != want:
                err = ssl.SSLCertVerificationError(
                    1, f"certificate fingerprint mismatch: got sha256 {got.hex()}, pinned {expected}")
                err.verify_message = (f"certificate fingerprint mismatch (got {got.hex()[:16]}..., "
                                      f"pinned {expected[:16]}...)")
                raise err

    return PinnedSSLObject


def ssl_context(tls: TlsSettings, *, root: Path | str = ".") -> ssl.SSLContext | bool:
    """The `verify=` argument for httpx that implements `tls`."""
    ca = None
    if tls.ca_bundle:
        ca = Path(tls.ca_bundle)
        if not ca.is_absolute():
            ca = Path(root) / ca
        if not ca.is_file():
            raise ConfigError(f"tls.ca_bundle {tls.ca_bundle} does not exist (looked at {ca})",
                              hint="for the bundled example, start the simulator first "
                                   "(`reconciler simulate`): it writes .reconciler/sim/ca.pem")
    if not tls.verify and not tls.fingerprint:
        return False
    if tls.fingerprint:
        fp = normalise_fingerprint(tls.fingerprint)
        if ca is not None and tls.verify:
            ctx = ssl.create_default_context(cafile=str(ca))
            ctx.check_hostname = False  # the pin names the certificate; the CA must still sign it
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.sslobject_class = _pinned_sslobject(fp)
        return ctx
    ctx = ssl.create_default_context(cafile=str(ca)) if ca is not None else _default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def _default_context() -> ssl.SSLContext:
    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - httpx depends on certifi
        return ssl.create_default_context()


def client_for(
    tls: TlsSettings,
    *,
    root: Path | str = ".",
    devices: Iterable[str] = (),
    transport: httpx.AsyncBaseTransport | None = None,
    max_connections: int = 32,
    **kw: Any,
) -> httpx.AsyncClient:
    """An AsyncClient for devices sharing `tls`. With `transport` (an ASGI app in tests) TLS
    settings do not apply."""
    names = ", ".join(sorted(devices)) or "(unnamed)"
    if transport is not None:
        return httpx.AsyncClient(transport=transport, **kw)
    verify = ssl_context(tls, root=root)
    if verify is False:
        get_logger().warning("tls_verification_disabled", devices=names,
                             hint="set tls.ca_bundle or tls.fingerprint; verify: false trusts any server")
    return httpx.AsyncClient(
        verify=verify, limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        follow_redirects=False, **kw,
    )
