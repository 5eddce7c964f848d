"""TLS policy for device clients, against the simulator on real loopback HTTPS."""

import io

import pytest

from reconciler.core.model import TlsSettings
from reconciler.drivers.base import TlsError
from reconciler.drivers.tls import client_for, normalise_fingerprint
from reconciler.errors import ConfigError
from reconciler.logging import configure_logging
from reconciler.sim.server import serve_in_background
from reconciler.sim.tls import ensure_tls
from tests.sim_support import make_fleet, open_driver


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
