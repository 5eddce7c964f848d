"""The simulator's HTTP surface: authentication, exec/config URLs, uploads, faults, control API."""

import hashlib
from urllib.parse import quote

import httpx
import pytest

from reconciler.images.synthetic import synthetic_chunks
from reconciler.sim.app import create_app
from tests.sim_support import PASSWORD, TOKEN

AUTH = ("admin", PASSWORD)


@pytest.fixture
async def client(fleet):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(fleet)), base_url="https://sim") as c:
        yield c


def exec_url(dev: str, *cmds: str) -> str:
    return f"/d/{dev}/admin/exec/" + "/".join(quote(c, safe="") for c in cmds)


async def test_basic_auth_is_required(client):
    r = await client.get(exec_url("fw-solo", "show version"))
    assert r.status_code == 401 and "Basic" in r.headers["www-authenticate"]
    r = await client.get(exec_url("fw-solo", "show version"), auth=("admin", "wrong"))
    assert r.status_code == 401
    r = await client.get(exec_url("fw-solo", "show version"), auth=AUTH)
    assert r.status_code == 200 and "Software Version 9.3(3)" in r.text
    assert r.headers["x-sim-time-scale"] == "1"


async def test_commands_run_in_order_and_slashes_inside_commands_are_encoded(client):
    r = await client.get(exec_url("fw-solo", "dir disk0:/", "show bootvar"), auth=AUTH)
    assert r.text.index("Directory of disk0:/") < r.text.index("BOOT variable")


async def test_config_url(client, fleet):
    r = await client.get(f"/d/fw-solo/admin/config/{quote('asdm image disk0:/asdm-741.bin', safe='')}", auth=AUTH)
    assert r.status_code == 200 and r.text.strip() == ""
    r = await client.post(f"/d/fw-solo/admin/config/{quote('boot system disk7', safe='')}", auth=AUTH)
    assert "Invalid path" in r.text


async def test_unknown_device_and_wrong_api(client):
    assert (await client.get(exec_url("nope", "show version"), auth=AUTH)).status_code == 404
    r = await client.get("/d/fw-solo/api/v1/status", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 404


async def test_503_while_the_management_unit_reloads(client, clock):
    r = await client.get(exec_url("fw-solo", "reload noconfirm"), auth=AUTH)
    assert "SHUTDOWN" in r.text
    r = await client.get(exec_url("fw-solo", "show version"), auth=AUTH)
    assert r.status_code == 503 and r.headers["retry-after"]
    clock.advance(600)
    assert (await client.get(exec_url("fw-solo", "show version"), auth=AUTH)).status_code == 200


async def test_upload_to_a_standalone_and_verify(client, fleet):
    data = b"".join(synthetic_chunks("asa941-lfbff-k8.SPA", 7602176))
    r = await client.put("/d/fw-solo/admin/files/disk0/asa941-lfbff-k8.SPA", content=data, auth=AUTH)
    assert r.status_code == 200 and "7602176 bytes copied" in r.text
    r = await client.get(exec_url("fw-solo", "verify /sha-512 disk0:/asa941-lfbff-k8.SPA"), auth=AUTH)
    assert hashlib.sha512(data).hexdigest() in r.text


async def test_cluster_upload_spreads_to_every_member(client, fleet):
    r = await client.put("/d/fw-cluster/admin/files/disk1/asa941-smp-k8.bin", content=b"x" * 5000, auth=AUTH)
    assert "copied to 3 units: unit-1, unit-2, unit-3" in r.text
    assert all("asa941-smp-k8.bin" in u.disks["disk1"].files for u in fleet.asa("fw-cluster").units)
    assert len(fleet.blobs) == 1  # one copy in memory


async def test_upload_to_the_failover_mate(client, fleet):
    r = await client.put("/d/fw-pair/admin/files/disk0/a.bin", content=b"y" * 100, auth=AUTH,
                         headers={"X-Target-Unit": "secondary"})
    assert r.status_code == 200
    primary, secondary = fleet.asa("fw-pair").units
    assert "a.bin" in secondary.disks["disk0"].files and "a.bin" not in primary.disks["disk0"].files


async def test_ranged_upload_assembles_parts_in_order(client, fleet):
    data = bytes(range(256)) * 40
    url = "/d/fw-solo/admin/files/disk0/parts.bin"
    r = await client.put(url, content=data[:4000], auth=AUTH, headers={"Content-Range": f"bytes 0-3999/{len(data)}"})
    assert r.headers["x-received-bytes"] == "4000"
    assert "parts.bin" not in fleet.asa("fw-solo").units[0].disks["disk0"].files
    r = await client.put(url, content=data[5000:], auth=AUTH,
                         headers={"Content-Range": f"bytes 5000-{len(data) - 1}/{len(data)}"})
    assert r.status_code == 416 and r.headers["x-received-bytes"] == "4000"
    r = await client.put(url, content=data[4000:], auth=AUTH,
                         headers={"Content-Range": f"bytes 4000-{len(data) - 1}/{len(data)}"})
    assert r.status_code == 200
    f = fleet.asa("fw-solo").units[0].disks["disk0"].files["parts.bin"]
    assert b"".join(f.content.chunks()) == data


async def test_upload_faults_carry_their_codes(client, fleet):
    url = "/d/fw-solo/admin/files/disk0/f.bin"
    fleet.add_fault("fw-solo", {"kind": "too-large", "max_bytes": 1000})
    r = await client.put(url, content=b"z" * 2000, auth=AUTH)
    assert r.status_code == 413 and r.headers["x-transfer-error"] == "http-413"
    assert r.headers["x-max-request-bytes"] == "1000"
    fleet.clear_faults("fw-solo")
    fleet.add_fault("fw-solo", {"kind": "transfer-error", "code": "ftp-426", "times": 2})
    for _ in range(2):
        r = await client.put(url, content=b"z" * 10, auth=AUTH)
        assert r.headers["x-transfer-error"] == "ftp-426" and "426 connection closed" in r.text
    assert (await client.put(url, content=b"z" * 10, auth=AUTH)).status_code == 200
    fleet.add_fault("fw-solo", {"kind": "disk-full"})
    r = await client.put(url, content=b"z" * 10, auth=AUTH)
    assert r.status_code == 507 and r.headers["x-transfer-error"] == "disk-full"


async def test_real_disk_space_is_checked(client, fleet):
    free = fleet.asa("fw-solo").units[0].disks["disk0"].free
    r = await client.put("/d/fw-solo/admin/files/disk0/big.bin", content=b"0" * (free + 1), auth=AUTH)
    assert r.status_code == 507 and f"{free} bytes free" in r.text


async def test_download_only_from_the_active_unit(client, fleet):
    r = await client.get("/d/fw-pair/admin/files/disk0/asdm-741.bin", auth=AUTH)
    assert r.status_code == 200 and len(r.content) == 2621440
    r = await client.get("/d/fw-pair/admin/files/disk0/asdm-741.bin", auth=AUTH, headers={"X-Target-Unit": "secondary"})
    assert r.status_code == 403


async def test_http_error_fault_then_recovery(client, fleet):
    fleet.add_fault("fw-solo", {"kind": "http-error", "status": 500, "times": 1})
    assert (await client.get(exec_url("fw-solo", "show version"), auth=AUTH)).status_code == 500
    assert (await client.get(exec_url("fw-solo", "show version"), auth=AUTH)).status_code == 200


async def test_agent_api(client, fleet, clock):
    h = {"Authorization": f"Bearer {TOKEN}"}
    st = (await client.get("/d/ep-one/api/v1/status", headers=h)).json()
    assert st["agent"]["version"] == "7.3.1.2048" and st["storage"][0]["name"] == "packages"
    assert (await client.get("/d/ep-one/api/v1/status")).status_code == 401
    data = b"".join(synthetic_chunks("agent-7.3.2.1006-x64.msi", 1101004))
    r = await client.put("/d/ep-one/api/v1/packages/agent-7.3.2.1006-x64.msi", content=data, headers=h)
    assert r.status_code == 200
    d = (await client.get("/d/ep-one/api/v1/packages/agent-7.3.2.1006-x64.msi/digest?algorithm=sha-256", headers=h)).json()
    assert d["digest"] == hashlib.sha256(data).hexdigest()
    r = await client.post("/d/ep-one/api/v1/install", json={"package": "agent-7.3.2.1006-x64.msi", "version": "7.3.2.1006"}, headers=h)
    assert r.status_code == 202
    assert (await client.get("/d/ep-one/api/v1/status", headers=h)).status_code == 503
    clock.advance(120)
    job = (await client.get(f"/d/ep-one/api/v1/install/{r.json()['job']}", headers=h)).json()
    assert job["state"] == "succeeded"
    assert (await client.post("/d/ep-one/api/v1/checkin", headers=h)).json()["agent_version"] == "7.3.2.1006"


async def test_agent_install_refuses_a_package_of_another_version(client, fleet):
    h = {"Authorization": f"Bearer {TOKEN}"}
    r = await client.post("/d/ep-one/api/v1/install", json={"package": "agent-7.3.1.2048-x64.msi", "version": "7.3.2.1006"}, headers=h)
    assert r.status_code == 422 and r.headers["x-transfer-error"] == "ftp-553"


async def test_control_api(client, fleet):
    assert (await client.get("/_sim/health")).json()["devices"] == 5
    names = [d["name"] for d in (await client.get("/_sim/devices")).json()]
    assert "fw-cluster" in names
    r = await client.post("/_sim/devices/fw-solo/faults", json={"kind": "transfer-error", "code": "wsa-10054"})
    assert r.json()["faults"][0]["code"] == "wsa-10054"
    assert (await client.post("/_sim/devices/fw-solo/faults", json={"kind": "bogus"})).status_code == 400
    assert (await client.delete("/_sim/devices/fw-solo/faults")).json()["faults"] == []
    r = await client.post("/_sim/devices/fw-solo/actions", json={"op": "set-pending", "sessions": ["acl-1"]})
    assert r.json()["pending_sessions"] == ["acl-1"]
    r = await client.post("/_sim/devices/fw-pair/actions", json={"op": "unit-down", "unit": "secondary"})
    assert r.json()["units"][1]["state"] == "down"
    r = await client.post("/_sim/devices/fw-pair/actions", json={"op": "explode"})
    assert r.status_code == 400 and "unknown action" in r.json()["error"]


async def test_slow_link_takes_simulated_time(client, fleet, clock):
    fleet.add_fault("fw-solo", {"kind": "slow-link", "bytes_per_second": 1000})
    before = clock.now()
    r = await client.put("/d/fw-solo/admin/files/disk0/slow.bin", content=b"s" * 50_000, auth=AUTH)
    assert r.status_code == 200 and clock.now() - before == pytest.approx(50.0)


async def test_corrupt_upload_fails_verification_and_does_not_boot(client, fleet, clock):
    fleet.add_fault("fw-solo", {"kind": "corrupt-upload", "times": 1})
    data = b"".join(synthetic_chunks("asa941-lfbff-k8.SPA", 7602176))
    await client.put("/d/fw-solo/admin/files/disk0/asa941-lfbff-k8.SPA", content=data, auth=AUTH)
    r = await client.get(exec_url("fw-solo", "verify /sha-512 disk0:/asa941-lfbff-k8.SPA"), auth=AUTH)
    assert hashlib.sha512(data).hexdigest() not in r.text
    r = await client.get(exec_url("fw-solo", "verify disk0:/asa941-lfbff-k8.SPA"), auth=AUTH)
    assert "Signature not valid" in r.text
    dev = fleet.asa("fw-solo")
    dev.startup.boot = ["disk0:/asa941-lfbff-k8.SPA", "disk0:/asa933-lfbff-k8.SPA"]
    await client.get(exec_url("fw-solo", "reload noconfirm"), auth=AUTH)
    clock.advance(600)
    assert fleet.asa("fw-solo").units[0].running_version == "9.3(3)"
