"""TLS material for the simulated fleet: a private CA and a server certificate for loopback.

`ensure_tls(directory)` writes `ca.pem` (what inventories point `tls.ca_bundle` at),
`server.pem` and `server-key.pem`, and reuses them on the next start while they are valid and
cover the requested host names, so pinned fingerprints and CA bundles keep working across
restarts. Private keys are written with mode 0600.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_RENEW_BEFORE = dt.timedelta(days=7)


@dataclass(frozen=True)
class SimTls:
    ca_path: Path
    cert_path: Path
    key_path: Path
    fingerprint: str  # sha256 of the server certificate (DER), lower-case hex

    @property
    def fingerprint_colons(self) -> str:
        return ":".join(self.fingerprint[i:i + 2] for i in range(0, len(self.fingerprint), 2)).upper()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _san_entries(hosts: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for h in dict.fromkeys(["localhost", "127.0.0.1", "::1", *hosts]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    return names


def _make_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "reconciler"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "reconciler simulated fleet CA")])
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         key_cert_sign=True, crl_sign=True, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    (directory / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_private(directory / "ca-key.pem", _key_pem(key))
    return cert, key


def _make_server(directory: Path, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey,
                 hosts: Sequence[str]) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reconciler-sim")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=397))
            .add_extension(x509.SubjectAlternativeName(_san_entries(hosts)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (directory / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_private(directory / "server-key.pem", _key_pem(key))


def _load(directory: Path, name: str) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate((directory / name).read_bytes())
    except (OSError, ValueError):
        return None


def _covers(cert: x509.Certificate, hosts: Sequence[str]) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have = set(map(str, san.get_values_for_type(x509.IPAddress))) | set(san.get_values_for_type(x509.DNSName))
    want = {str(ipaddress.ip_address(h)) if _is_ip(h) else h for h in ["localhost", "127.0.0.1", *hosts]}
    return want <= have


def _is_ip(h: str) -> bool:
    try:
        ipaddress.ip_address(h)
    except ValueError:
        return False
    return True


def ensure_tls(directory: Path | str, hosts: Sequence[str] = ()) -> SimTls:
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ca = _load(d, "ca.pem")
    ca_key = None
    try:
        loaded = serialization.load_pem_private_key((d / "ca-key.pem").read_bytes(), password=None)
        ca_key = loaded if isinstance(loaded, ec.EllipticCurvePrivateKey) else None
    except (OSError, ValueError):
        pass
    if ca is None or ca_key is None or ca.not_valid_after_utc - _RENEW_BEFORE < _now():
        ca, ca_key = _make_ca(d)
        (d / "server.pem").unlink(missing_ok=True)
    server = _load(d, "server.pem")
    if (server is None or not (d / "server-key.pem").exists() or server.issuer != ca.subject
            or server.not_valid_after_utc - _RENEW_BEFORE < _now() or not _covers(server, hosts)):
        _make_server(d, ca, ca_key, hosts)
        server = _load(d, "server.pem")
    assert server is not None
    fp = hashlib.sha256(server.public_bytes(serialization.Encoding.DER)).hexdigest()
    return SimTls(d / "ca.pem", d / "server.pem", d / "server-key.pem", fp)
