"""TLS policy for device clients, against the simulator on real loopback HTTPS."""

import asyncio
import contextlib
import datetime as dt
import io
import ipaddress
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from reconciler.core.model import InventoryDevice, TlsSettings
from reconciler.discovery import DiscoveryOptions, discover
from reconciler.drivers.base import TlsError
from reconciler.drivers.registry import driver_for
from reconciler.drivers.tls import client_for, normalise_fingerprint
from reconciler.errors import ConfigError
from reconciler.loader import DirectorySource, load_inventory
from reconciler.logging import configure_logging
from reconciler.sim.server import serve_in_background
from reconciler.sim.tls import ensure_tls
from tests.sim_support import PASSWORD, make_fleet, open_driver, resolver


@pytest.fixture
async def sim(tmp_path):
    fleet = make_fleet()
    async with serve_in_background(fleet, tls_dir=tmp_path / "sim") as running:
        yield running


async def facts_with(sim, tls: TlsSettings, root="."):
    async with client_for(tls, root=root, devices=["fw-solo"]) as c:
        async with open_driver(sim.fleet, "fw-solo", c, base_url=sim.url) as drv:
            return await drv.get_facts()


async def test_ca_bundle_verifies_the_simulator(sim):
    facts = await facts_with(sim, TlsSettings(ca_bundle=str(sim.tls.ca_path)))
    assert facts.name == "fw-solo"


async def test_relative_ca_bundle_is_resolved_against_the_root(sim, tmp_path):
    facts = await facts_with(sim, TlsSettings(ca_bundle="sim/ca.pem"), root=tmp_path)
    assert facts.model == "ASA5506-X"


async def test_wrong_ca_is_refused(sim, tmp_path):
    other = ensure_tls(tmp_path / "other")
    with pytest.raises(TlsError) as e:
        await facts_with(sim, TlsSettings(ca_bundle=str(other.ca_path)))
    assert "unable to get local issuer certificate" in str(e.value) and "ca_bundle" in str(e.value)


async def test_system_trust_store_does_not_trust_the_simulator(sim):
    with pytest.raises(TlsError):
        await facts_with(sim, TlsSettings())


async def test_pinned_fingerprint_is_accepted_without_a_ca(sim):
    facts = await facts_with(sim, TlsSettings(fingerprint=sim.tls.fingerprint_colons))
    assert facts.name == "fw-solo"


async def test_wrong_pin_is_refused_even_with_the_right_ca(sim):
    with pytest.raises(TlsError) as e:
        await facts_with(sim, TlsSettings(ca_bundle=str(sim.tls.ca_path), fingerprint="ab" * 32))
    assert "fingerprint mismatch" in str(e.value)


async def test_verify_false_works_and_warns(sim):
    out = io.StringIO()
    configure_logging(fmt="json", stream=out)
    facts = await facts_with(sim, TlsSettings(verify=False))
    assert facts.name == "fw-solo"
    assert "tls_verification_disabled" in out.getvalue() and "fw-solo" in out.getvalue()


def test_missing_ca_bundle_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as e:
        client_for(TlsSettings(ca_bundle=".reconciler/sim/ca.pem"), root=tmp_path)
    assert "reconciler simulate" in str(e.value)


def test_fingerprint_spellings():
    fp = "ab" * 32
    assert normalise_fingerprint(fp.upper()) == fp
    assert normalise_fingerprint(":".join(["AB"] * 32)) == fp
    assert normalise_fingerprint("sha256:" + fp) == fp
    with pytest.raises(ConfigError):
        normalise_fingerprint("abc")


def test_certificates_are_reused_while_valid(tmp_path):
    a = ensure_tls(tmp_path)
    b = ensure_tls(tmp_path)
    assert a.fingerprint == b.fingerprint
    c = ensure_tls(tmp_path, ["::1", "localhost"])
    assert c.fingerprint == a.fingerprint
    assert (tmp_path / "server-key.pem").stat().st_mode & 0o077 == 0


# ----------------------------------------------------------------- verification on by default
# (tests/reliability: the TLS part of hostile input; docs/reliability.md)


def _inventory(tmp_path: Path, url: str, tls: str = "") -> InventoryDevice:
    (tmp_path / "inventory").mkdir(exist_ok=True)
    (tmp_path / "inventory" / "devices.yaml").write_text(
        "devices:\n  - name: fw-solo\n    address: " + url + "/d/fw-solo\n    driver: asa\n"
        "    model: ASA5506-X\n    credentials: {username: admin, password: env:SIM_TEST_PASSWORD}\n"
        + tls)
    devices, findings = load_inventory(DirectorySource(tmp_path))
    assert not findings, findings
    return devices["fw-solo"]


async def test_an_inventory_device_without_tls_settings_refuses_a_self_signed_device(sim, tmp_path):
    dev = _inventory(tmp_path, sim.url)
    assert dev.tls == TlsSettings() and dev.tls.verify  # nothing written: verify, system CAs
    async with client_for(dev.tls, devices=[dev.name]) as client:
        with pytest.raises(TlsError) as e:
            async with driver_for(dev, client, resolver=resolver) as drv:
                await drv.get_facts()
    text = str(e.value)
    assert text.startswith("fw-solo: TLS certificate of https://127.0.0.1:")
    assert "self-signed" in text or "unable to get local issuer" in text
    assert "tls.ca_bundle" in text and "tls.fingerprint" in text
    assert PASSWORD not in text
    # discovery reports it for the device, as permanent: a certificate does not fix itself
    snap = await discover([dev], options=DiscoveryOptions(root=tmp_path), resolver=resolver)
    err = snap.errors["fw-solo"]
    assert err.code == "TLS" and not err.temporary and "tls.ca_bundle" in err.message


@pytest.mark.parametrize("tls,verify", [("", True), ("    tls: {verify: true}\n", True),
                                        ("    tls: {verify: false}\n", False),
                                        ("    tls: {verify: no}\n", False)])
def test_verification_is_off_only_when_written(tmp_path, tls, verify):
    assert _inventory(tmp_path, "https://fw.example", tls).tls.verify is verify


@pytest.mark.parametrize("value", ['"false"', "0", '""', "null", "[]"])
def test_verify_must_be_a_boolean(tmp_path, value):
    (tmp_path / "inventory").mkdir()
    (tmp_path / "inventory" / "devices.yaml").write_text(
        "devices:\n  - name: fw-1\n    address: fw.example\n    driver: asa\n"
        "    credentials: {username: admin, password: env:X}\n    tls:\n      verify: " + value + "\n")
    devices, findings = load_inventory(DirectorySource(tmp_path))
    assert "fw-1" not in devices
    assert [(f.code.value, str(f.location)) for f in findings] == [
        ("SCHEMA", "inventory/devices.yaml:7")]
    assert "verify" in findings[0].message


# ----------------------------------------------------------------- wrong certificates

def _issue(ca_dir: Path, out: Path, *, hosts: list[str], days: tuple[int, int]) -> tuple[Path, Path]:
    """A server certificate signed by the simulator's CA: valid from days[0] to days[1] (relative
    to now), for `hosts`."""
    ca = x509.load_pem_x509_certificate((ca_dir / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((ca_dir / "ca-key.pem").read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    names = [x509.IPAddress(ipaddress.ip_address(h)) if h[0].isdigit() else x509.DNSName(h)
             for h in hosts]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + dt.timedelta(days=days[0]))
            .not_valid_after(now + dt.timedelta(days=days[1]))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    out.mkdir(parents=True, exist_ok=True)
    (out / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (out / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                    serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    return out / "cert.pem", out / "key.pem"


@contextlib.asynccontextmanager
async def tls_server(cert: Path, key: Path):  # type: ignore[no-untyped-def]
    """A loopback TLS server presenting `cert` (it answers every request with 404)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("hosts,days,reason", [
    (["127.0.0.1", "localhost"], (-30, -1), "certificate has expired"),
    (["127.0.0.1", "localhost"], (2, 30), "certificate is not yet valid"),
    (["fw-other.example", "10.9.9.9"], (-1, 30), "mismatch"),
], ids=["expired", "not-yet-valid", "other-host"])
async def test_certificates_from_the_trusted_ca_are_still_checked(tmp_path, hosts, days, reason):
    ca_dir = tmp_path / "ca"
    ensure_tls(ca_dir)
    cert, key = _issue(ca_dir, tmp_path / "bad", hosts=hosts, days=days)
    async with tls_server(cert, key) as url:
        async with client_for(TlsSettings(ca_bundle=str(ca_dir / "ca.pem")), devices=["fw-x"]) as c:
            with pytest.raises(httpx.ConnectError) as e:
                await c.get(url + "/")
    assert reason in str(e.value).lower().replace("ip address mismatch", "mismatch").replace(
        "hostname mismatch", "mismatch")


async def test_a_wrong_pin_is_refused_without_a_ca_and_even_with_verify_false(sim):
    for tls in (TlsSettings(fingerprint="ab" * 32), TlsSettings(verify=False, fingerprint="ab" * 32)):
        with pytest.raises(TlsError) as e:
            await facts_with(sim, tls)
        assert "fingerprint mismatch" in str(e.value) and str(e.value).startswith("fw-solo: TLS")
    # the right pin with verify: false is accepted: the pin is the verification
    facts = await facts_with(sim, TlsSettings(verify=False, fingerprint=sim.tls.fingerprint))
    assert facts.name == "fw-solo"
