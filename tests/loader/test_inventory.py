"""Inventory: defaults merged into devices, credential references, addresses, duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.contract import FindingCode
from reconciler.core.model import CredentialRef, DriverKind, Mode, TlsSettings
from reconciler.loader import DirectorySource, load_inventory
from tests.conftest import PROJECT_ROOT, MakeRepo


def inventory(repo: Path):  # type: ignore[no-untyped-def]
    return load_inventory(DirectorySource(repo))


def test_example_inventory() -> None:
    devices, findings = inventory(PROJECT_ROOT)
    assert findings == []
    assert len(devices) == 12
    pair = devices["fw-dc-pair"]
    assert pair.mode is Mode.ACTIVE_STANDBY and pair.model == "ASA5585-SSP-20"
    assert pair.credentials.password == CredentialRef("env", "RECONCILER_FW_PASSWORD")  # type: ignore[union-attr]
    assert pair.credentials.username == "admin"  # type: ignore[union-attr]
    assert pair.tls == TlsSettings(verify=True, ca_bundle=".reconciler/sim/ca.pem")
    agent = devices["ep-lnx-001"]
    assert agent.driver is DriverKind.AGENT and agent.platform == "linux"
    assert agent.credentials.token == CredentialRef("env", "RECONCILER_AGENT_TOKEN")  # type: ignore[union-attr]
    assert str(agent.loc) == "inventory/devices.yaml:95"


def test_defaults_merge(make_repo: MakeRepo) -> None:
    devices, findings = inventory(make_repo(files={"inventory/devices.yaml": """
defaults:
  driver: asa
  model: ASA5516-X
  tags: [managed, prod]
  credentials: {username: admin, password: env:PW}
  tls: {verify: false, fingerprint: "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"}
devices:
  - name: a
    address: a.example.net
  - name: b
    address: https://b.example.net:8443/asa
    model: ASA5545-X
    tags: [prod, core]
    credentials: {password: file:secrets/b}
    tls: {verify: true}
"""}))
    assert findings == []
    a, b = devices["a"], devices["b"]
    assert a.model == "ASA5516-X" and b.model == "ASA5545-X"
    assert a.tags == ("managed", "prod") and b.tags == ("managed", "prod", "core")
    assert b.credentials.username == "admin"  # type: ignore[union-attr]
    assert b.credentials.password == CredentialRef("file", "secrets/b")  # type: ignore[union-attr]
    assert a.tls.verify is False and b.tls.verify is True
    assert b.tls.fingerprint == "abcdef0123456789" * 4  # merged key by key, normalised


@pytest.mark.parametrize("address,code,snippet", [
    ("http://a.example.net", FindingCode.SCHEMA, "https only"),
    ("https://admin@a.example.net", FindingCode.SCHEMA, "user name"),
    ("https://admin:pw-value@a.example.net", FindingCode.INLINE_SECRET, "embeds a password"),
    ("https://a.example.net:99999", FindingCode.SCHEMA, "not https://host"),
    ("https://", FindingCode.SCHEMA, "no valid host"),
    ("ftp://a.example.net", FindingCode.SCHEMA, "'ftp' is not allowed"),
])
def test_bad_addresses(make_repo: MakeRepo, address: str, code: FindingCode, snippet: str) -> None:
    devices, findings = inventory(make_repo(files={"inventory/devices.yaml": (
        "devices:\n  - name: a\n    driver: asa\n    credentials: {username: u, password: env:P}\n"
        f"    address: \"{address}\"\n")}))
    [f] = findings
    assert (f.code, str(f.location)) == (code, "inventory/devices.yaml:5")
    assert snippet in f.message and "pw-value" not in f.message
    assert devices == {}


@pytest.mark.parametrize("address", ["10.0.0.1", "fw.example.net:443", "https://[2001:db8::1]:8443/x",
                                     "https://fw-1.example.net/base/path"])
def test_good_addresses(make_repo: MakeRepo, address: str) -> None:
    devices, findings = inventory(make_repo(files={"inventory/devices.yaml": (
        "devices:\n  - name: a\n    driver: asa\n    credentials: {username: u, password: env:P}\n"
        f"    address: \"{address}\"\n")}))
    assert findings == [] and devices["a"].address == address


def test_missing_driver_and_credentials(make_repo: MakeRepo) -> None:
    devices, findings = inventory(make_repo(files={"inventory/devices.yaml": """devices:
  - name: no-driver
    address: 10.0.0.1
  - name: no-creds
    address: 10.0.0.2
    driver: asa
  - name: no-password
    address: 10.0.0.3
    driver: asa
    credentials: {username: admin}
  - name: agent-no-token
    address: 10.0.0.4
    driver: agent
    platform: macos
    credentials: {username: x}
"""}))
    got = sorted(((f.code, str(f.location), f.message.split(":")[0]) for f in findings),
                 key=lambda x: int(x[1].rsplit(":", 1)[1]))
    assert got == [
        (FindingCode.SCHEMA, "inventory/devices.yaml:2", "device no-driver"),
        (FindingCode.SCHEMA, "inventory/devices.yaml:4", "device no-creds"),
        (FindingCode.SCHEMA, "inventory/devices.yaml:10", "device no-password"),
        (FindingCode.SCHEMA, "inventory/devices.yaml:15", "device agent-no-token"),
    ]
    assert "no-driver" not in devices and "no-creds" in devices


def test_several_inventory_files_have_their_own_defaults(make_repo: MakeRepo) -> None:
    devices, findings = inventory(make_repo(files={"inventory/lab.yml": (
        "defaults:\n  driver: agent\n  platform: macos\n  credentials: {token: env:LAB}\n"
        "devices:\n  - name: mac-1\n    address: 10.9.0.1\n")}))
    assert findings == []
    assert devices["mac-1"].driver is DriverKind.AGENT and devices["mac-1"].platform == "macos"
    assert devices["br-1"].driver is DriverKind.ASA
    assert "managed" not in devices["mac-1"].tags
