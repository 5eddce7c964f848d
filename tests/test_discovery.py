"""Concurrent discovery over the simulated fleet: every topology, errors per device, retries."""

import socket

import httpx
import pytest

from reconciler.core.model import Mode, Role, TlsSettings
from reconciler.core.observed import snapshot_from_dict, snapshot_to_dict
from reconciler.discovery import DiscoveryOptions, by_name, discover, summary_rows
from reconciler.drivers.base import Transcript
from reconciler.errors import ConfigError
from reconciler.sim.app import create_app
from reconciler.sim.server import serve_in_background
from tests.sim_support import FAST, inventory, inventory_device, make_fleet, resolver

QUICK = DiscoveryOptions(concurrency=8, timeout=30, attempts=3, backoff_initial=0.01, backoff_max=0.05)


def asgi_factory(fleet):
    app = create_app(fleet)
    return lambda tls, names: httpx.AsyncClient(transport=httpx.ASGITransport(app=app))


def check_small_fleet(snapshot):
    assert not snapshot.errors
    d = snapshot.devices
    assert set(d) == {"fw-solo", "fw-pair", "fw-aa", "fw-cluster", "ep-one"}
    assert d["fw-solo"].mode is Mode.STANDALONE and d["fw-solo"].members[0].disks[0].files
    assert [m.role for m in d["fw-pair"].members] == [Role.ACTIVE, Role.STANDBY]
    assert d["fw-aa"].mode is Mode.ACTIVE_ACTIVE and d["fw-aa"].contexts == ("admin", "ctx-1", "ctx-2")
    assert [m.role for m in d["fw-cluster"].members] == [Role.CONTROL, Role.DATA, Role.DATA]
    assert all(len(m.disks) == 2 for m in d["fw-cluster"].members)
    assert d["ep-one"].running["agent"] == "7.3.1.2048"
    assert snapshot_from_dict(snapshot_to_dict(snapshot)) == snapshot


async def test_discover_through_the_asgi_transport():
    fleet = make_fleet()
    snap = await discover(inventory(fleet), options=QUICK, client_factory=asgi_factory(fleet),
                          resolver=resolver, driver_options=FAST)
    check_small_fleet(snap)
    assert snap.taken_at.endswith("Z")


async def test_discover_over_loopback_https(tmp_path):
    fleet = make_fleet()
    async with serve_in_background(fleet, tls_dir=tmp_path / "sim") as sim:
        tls = TlsSettings(ca_bundle="sim/ca.pem")
        opts = DiscoveryOptions(concurrency=4, timeout=30, root=tmp_path)
        snap = await discover(inventory(fleet, sim.url, tls), options=opts, resolver=resolver, driver_options=FAST)
    check_small_fleet(snap)


async def test_an_unreachable_device_is_reported_after_retries_and_the_rest_is_discovered():
    fleet = make_fleet()
    fleet.apply("fw-solo", "unit-down")
    transcripts: dict[str, Transcript] = {}
    snap = await discover(inventory(fleet), options=QUICK, client_factory=asgi_factory(fleet),
                          resolver=resolver, driver_options=FAST, transcripts=transcripts)
    assert set(snap.devices) == {"fw-pair", "fw-aa", "fw-cluster", "ep-one"}
    err = snap.errors["fw-solo"]
    assert err.code == "UNREACHABLE" and err.temporary and "fw-solo" in err.message
    assert sum("attempt" in e.text for e in transcripts["fw-solo"].entries) == 2  # attempts 2 and 3


async def test_transient_errors_are_retried_until_they_clear():
    fleet = make_fleet()
    fleet.add_fault("fw-pair", {"kind": "http-error", "status": 503, "times": 2})
    fleet.add_fault("ep-one", {"kind": "http-error", "status": 502, "times": 1})
    snap = await discover(inventory(fleet), options=QUICK, client_factory=asgi_factory(fleet),
                          resolver=resolver, driver_options=FAST)
    check_small_fleet(snap)


async def test_permanent_errors_are_not_retried():
    fleet = make_fleet()
    fleet.add_fault("fw-solo", {"kind": "command-error", "command": "show version",
                                "message": "ERROR: % Invalid input detected at '^' marker."})
    transcripts: dict[str, Transcript] = {}
    devs = inventory(fleet)
    bad = inventory_device(fleet, "fw-aa", password="SIM_TEST_WRONG")
    devs = [bad if d.name == "fw-aa" else d for d in devs]

    def res(ref):
        return "wrong-password" if ref.ref == "SIM_TEST_WRONG" else resolver(ref)

    snap = await discover(devs, options=QUICK, client_factory=asgi_factory(fleet), resolver=res,
                          driver_options=FAST, transcripts=transcripts)
    assert snap.errors["fw-solo"].code == "CLI_ERROR" and not snap.errors["fw-solo"].temporary
    assert snap.errors["fw-aa"].code == "AUTH_FAILED" and "env:SIM_TEST_WRONG" in snap.errors["fw-aa"].message
    assert not any("attempt" in e.text for e in transcripts["fw-solo"].entries)
    assert set(snap.devices) == {"fw-pair", "fw-cluster", "ep-one"}


async def test_a_device_that_takes_too_long_times_out(tmp_path):
    # a port that accepts connections (the kernel's backlog) but never answers: the device is
    # there and silent, whatever the machine's speed (a tiny timeout against a real simulator
    # raced a quiet machine's fast TLS handshake)
    fleet = make_fleet()
    opts = DiscoveryOptions(timeout=0.2, attempts=1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        url = f"https://127.0.0.1:{s.getsockname()[1]}"
        devs = [inventory_device(fleet, "fw-solo", url, TlsSettings(verify=False))]
        snap = await discover(devs, options=opts, resolver=resolver, driver_options=FAST)
    err = snap.errors["fw-solo"]
    assert err.code == "TIMEOUT" and err.temporary


async def test_nothing_listening_is_unreachable(tmp_path):
    fleet = make_fleet()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    devs = [inventory_device(fleet, "fw-solo", f"https://127.0.0.1:{port}", TlsSettings(verify=False))]
    snap = await discover(devs, options=QUICK, resolver=resolver, driver_options=FAST)
    assert snap.errors["fw-solo"].code == "UNREACHABLE"


async def test_a_missing_ca_bundle_fails_its_devices_not_the_run(tmp_path):
    fleet = make_fleet()
    devs = inventory(fleet)
    devs[0] = inventory_device(fleet, devs[0].name, tls=TlsSettings(ca_bundle="missing/ca.pem"))
    app = create_app(fleet)

    def factory(tls, names):
        if tls.ca_bundle:
            raise ConfigError(f"tls.ca_bundle {tls.ca_bundle} does not exist")
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app))

    snap = await discover(devs, options=QUICK, client_factory=factory, resolver=resolver, driver_options=FAST)
    assert snap.errors[devs[0].name].code == "CONFIG" and len(snap.devices) == 4


async def test_faults_show_up_as_clean_per_device_errors():
    fleet = make_fleet()
    fleet.add_fault("fw-cluster", {"kind": "command-error", "command": "cluster exec show version",
                                   "message": "ERROR: Unable to send command to the cluster: timeout"})
    snap = await discover(inventory(fleet), options=QUICK, client_factory=asgi_factory(fleet),
                          resolver=resolver, driver_options=FAST)
    err = snap.errors["fw-cluster"]
    assert err.code == "UNREACHABLE" and err.temporary and "cluster exec show version" in err.message
    assert len(snap.devices) == 4


def test_summary_and_selection():
    fleet = make_fleet()
    devs = inventory(fleet)
    assert [d.name for d in by_name(devs, ["fw-pair"])] == ["fw-pair"]
    with pytest.raises(ConfigError, match="not in the inventory: nope"):
        by_name(devs, ["nope"])


async def test_summary_rows_list_devices_and_errors():
    fleet = make_fleet()
    fleet.apply("ep-one", "unit-down")
    snap = await discover(inventory(fleet), options=DiscoveryOptions(attempts=1),
                          client_factory=asgi_factory(fleet), resolver=resolver, driver_options=FAST)
    rows = {r[0]: r for r in summary_rows(snap)}
    assert rows["fw-pair"][1:4] == ("active-standby", "ASA5585-SSP-20", "9.1(6)")
    assert rows["ep-one"][-1] == "UNREACHABLE (temporary)"


# --------------------------------------------------------------------- the bundled example fleet

EXAMPLE_PW, EXAMPLE_TOKEN = "example-fw-password-5d1e", "example-agent-token-77b0"


@pytest.fixture
def example(monkeypatch):
    """The twin of the bundled example and its real inventory (loaded by the real loader)."""
    from reconciler.loader import DirectorySource, load_inventory
    from reconciler.sim.example import load_twin
    from reconciler.sim.fleet import SimCredentials, SimFleet
    from reconciler.sim.clock import ScaledClock
    from tests.conftest import PROJECT_ROOT

    monkeypatch.setenv("RECONCILER_FW_PASSWORD", EXAMPLE_PW)
    monkeypatch.setenv("RECONCILER_AGENT_TOKEN", EXAMPLE_TOKEN)
    spec, _ = load_twin(PROJECT_ROOT)
    devices, findings = load_inventory(DirectorySource(PROJECT_ROOT))
    assert not [f for f in findings if f.blocking]
    return SimFleet(spec, SimCredentials("admin", EXAMPLE_PW, EXAMPLE_TOKEN), ScaledClock(1000)), devices


def check_example(snap):
    from reconciler.loader.schema import compiled

    assert not snap.errors and len(snap.devices) == 12
    assert compiled("snapshot").errors(snapshot_to_dict(snap)) == []
    d = snap.devices
    expect_modes = {"fw-dc-pair": Mode.ACTIVE_STANDBY, "fw-aa-pair": Mode.ACTIVE_ACTIVE,
                    "fw-dc-cluster": Mode.CLUSTER, "fw-branch-01": Mode.STANDALONE}
    assert {n: d[n].mode for n in expect_modes} == expect_modes
    assert [(m.name, m.role) for m in d["fw-dc-pair"].members] == [("primary", Role.ACTIVE), ("secondary", Role.STANDBY)]
    assert all(m.running["asa"] == "9.1(6)" and m.standby_ready in (None, True) for m in d["fw-dc-pair"].members)
    cluster = d["fw-dc-cluster"].members
    assert [m.role for m in cluster] == [Role.CONTROL, Role.DATA, Role.DATA, Role.DATA]
    assert all({x.name for x in m.disks} == {"disk0", "disk1"} and m.ccl_ip and m.unit_id is not None for m in cluster)
    assert {m.site_id for m in cluster} == {1, 2}
    aa = {m.name: m.failover_groups_active for m in d["fw-aa-pair"].members}
    assert aa == {"primary": (1,), "secondary": (2,)} and d["fw-aa-pair"].contexts == ("admin", "ctx-1", "ctx-2")
    assert d["fw-multi-01"].contexts == ("admin", "ctx-a", "ctx-b")
    assert d["fw-multi-01"].running["anyconnect"] == "4.9.06037"
    assert d["fw-fpr-01"].appliance_mode is True and d["fw-fpr-01"].platform == "fpr2100"
    assert d["fw-legacy-01"].running["asa"] == "8.4(6)" and d["fw-legacy-01"].platform == "asa5500"
    b3 = d["fw-branch-03"].members[0].disks[0]
    assert b3.free < 4 << 20 and any(f.name.endswith(".pcap") for f in b3.files)
    assert d["fw-branch-01"].members[0].running_files["asa"] == "disk0:/asa933-lfbff-k8.SPA"
    assert {d[n].running["agent"] for n in ("ep-win-001", "ep-win-002", "ep-lnx-001")} == {"7.3.1.2048"}
    for dev in d.values():
        for m in dev.members:
            for t, path in m.running_files.items():
                if t == "asa":
                    disk, name = path.split(":/")
                    assert m.disk(disk).has(name), (dev.name, m.name, path)


async def test_discover_the_example_twin_over_loopback_https(example, tmp_path):
    from dataclasses import replace

    fleet, devices = example
    async with serve_in_background(fleet, tls_dir=tmp_path / ".reconciler" / "sim") as sim:
        devs = [replace(d, address=d.address.replace("https://127.0.0.1:18443", sim.url)) for d in devices.values()]
        snap = await discover(devs, options=DiscoveryOptions(concurrency=12, timeout=60, root=tmp_path))
    check_example(snap)


async def test_discover_the_example_twin_through_the_asgi_transport(example):
    fleet, devices = example
    snap = await discover(list(devices.values()), options=QUICK, client_factory=asgi_factory(fleet))
    check_example(snap)
