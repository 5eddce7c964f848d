"""One set of expectations, run against every driver (over the simulator, through httpx).

Each driver kind gets a standalone simulated device and a newer image for it; everything below
is asserted identically for all kinds: discovery into the observed model, streamed copies and
verification, HTTP 413 splitting, transfer-error classification, authentication and reachability
errors, transcripts without secrets, unsupported actions refused cleanly, and an upgrade that
ends with the device running the new version.
"""

import hashlib
import inspect
from dataclasses import dataclass

import pytest

from reconciler.contract import StepAction
from reconciler.core.model import ImageType, Role
from reconciler.core.observed import ObservedDevice
from reconciler.drivers.base import (
    ACTION_METHODS,
    AuthError,
    ChecksumMismatchError,
    Digest,
    Driver,
    NotSupportedError,
    Transcript,
    UnreachableError,
)
from reconciler.drivers.registry import DRIVERS, driver_for
from reconciler.drivers.sources import SyntheticSource
from reconciler.errors import PermanentError, TemporaryError
from reconciler.images.synthetic import synthetic_chunks
from reconciler.transfer_errors import PermanentTransferError, TransientTransferError
from tests.sim_support import FAST, PASSWORD, TOKEN, asgi_client, inventory_device, make_fleet, open_driver, resolver


@dataclass(frozen=True)
class Kind:
    device: str
    disk: str
    image: str
    size: int
    type: ImageType
    version: str


KINDS = {
    "asa": Kind("fw-solo", "disk0", "asa941-lfbff-k8.SPA", 7602176, ImageType.ASA, "9.4(1)"),
    "agent": Kind("ep-one", "packages", "agent-7.3.2.1006-x64.msi", 1101004, ImageType.AGENT, "7.3.2.1006"),
}


def test_every_driver_kind_is_covered():
    assert {k.value for k in DRIVERS} == set(KINDS)


@pytest.fixture(params=sorted(KINDS))
def kind(request):
    return request.param


@pytest.fixture
def k(kind):
    return KINDS[kind]


@pytest.fixture
def fleet():
    return make_fleet()


def source(k: Kind) -> SyntheticSource:
    return SyntheticSource(k.image, k.size)


def data(k: Kind) -> bytes:
    return b"".join(synthetic_chunks(k.image, k.size))


async def upgrade(drv: Driver, k: Kind) -> None:
    """The kind's own way to make the new image run (the executor chooses it from the plan)."""
    if k.type is ImageType.AGENT:
        await drv.install(k.version, k.image, source(k))
    else:
        facts = await drv.get_facts()
        old = facts.members[0].running_files[ImageType.ASA]
        await drv.copy_image(k.disk, k.image, source(k))
        await drv.set_boot([f"{k.disk}:/{k.image}", old])
        await drv.save_config()
        await drv.reload()
    await drv.wait_ready(None, 900)


async def test_discovery_fills_the_observed_model(fleet, k, kind):
    async with asgi_client(fleet) as c, open_driver(fleet, k.device, c) as drv:
        facts = await drv.get_facts()
        assert isinstance(facts, ObservedDevice)
        assert facts.name == k.device and facts.driver == kind and facts.platform
        assert len(facts.members) == 1
        m = facts.members[0]
        assert m.role is Role.STANDALONE and m.reachable and m.serial
        assert m.running and facts.running
        assert m.disks and all(0 <= d.free <= d.size and d.files for d in m.disks)
        running = await drv.running_versions()
        assert running == {t: v for t, v in m.running.items() if t in running}


async def test_copy_is_streamed_verified_and_deletable(fleet, k):
    async with asgi_client(fleet) as c, open_driver(fleet, k.device, c) as drv:
        res = await drv.copy_image(k.disk, k.image, source(k))
        assert res.digests.sha256 == hashlib.sha256(data(k)).hexdigest() and res.parts == 1
        path = f"{k.disk}:/{k.image}"
        assert (await drv.verify(None, path, res.digests.get("sha-512"))).value == res.digests.sha512
        with pytest.raises(ChecksumMismatchError) as e:
            await drv.verify(None, path, Digest("sha-256", "0" * 64))
        assert isinstance(e.value, PermanentError) and e.value.device == k.device
        facts = await drv.get_facts()
        assert any(f.name == k.image for f in facts.members[0].disks[0].files)
        got = b""
        async for chunk in drv.fetch_file(path):
            got += chunk
        assert hashlib.sha256(got).hexdigest() == res.digests.sha256
        await drv.delete_file(None, path)
        facts = await drv.get_facts()
        assert not any(f.name == k.image for f in facts.members[0].disks[0].files)


async def test_http_413_is_answered_by_splitting_the_transfer(fleet, k):
    fleet.add_fault(k.device, {"kind": "too-large", "max_bytes": 300_000})
    t = Transcript()
    async with asgi_client(fleet) as c, open_driver(fleet, k.device, c, transcript=t) as drv:
        res = await drv.copy_image(k.disk, k.image, source(k))
        assert res.parts > 1 and res.digests.sha256 == hashlib.sha256(data(k)).hexdigest()
        await drv.verify(None, f"{k.disk}:/{k.image}", res.digests.get("sha-256"))
    assert any("splitting the transfer" in e.text for e in t.entries)


@pytest.mark.parametrize("code,cls,temporary", [
    ("ftp-426", TransientTransferError, True), ("wsa-10054", TransientTransferError, True),
    ("ftp-550", PermanentTransferError, False), ("wsa-11001", PermanentTransferError, False),
])
async def test_transfer_errors_are_classified_with_code_meaning_and_advice(fleet, k, code, cls, temporary):
    fleet.add_fault(k.device, {"kind": "transfer-error", "code": code, "times": 1})
    async with asgi_client(fleet) as c, open_driver(fleet, k.device, c) as drv:
        with pytest.raises(cls) as e:
            await drv.copy_image(k.disk, k.image, source(k))
        err = e.value
        assert isinstance(err, TemporaryError) is temporary
        assert err.code == code.upper() and err.transfer.key == code and err.hint
        assert err.device == k.device and err.transfer.meaning in str(err)
        await drv.copy_image(k.disk, k.image, source(k))  # the fault fired once; now it passes


async def test_disk_full_is_permanent_with_advice(fleet, k):
    fleet.add_fault(k.device, {"kind": "disk-full"})
    async with asgi_client(fleet) as c, open_driver(fleet, k.device, c) as drv:
        with pytest.raises(PermanentTransferError) as e:
            await drv.copy_image(k.disk, k.image, source(k))
    assert e.value.code == "DISK-FULL" and "delete" in str(e.value)


async def test_wrong_credentials_are_permanent_and_name_the_reference(fleet, k, kind):
    dev = inventory_device(fleet, k.device, password="SIM_TEST_WRONG")
    wrong = {"SIM_TEST_WRONG": "not-the-password", "SIM_TEST_TOKEN": "not-the-token"}
    if kind == "agent":
        wrong = {"SIM_TEST_TOKEN": "not-the-token"}
    async with asgi_client(fleet) as c:
        async with driver_for(dev, c, resolver=lambda r: wrong[r.ref], options=FAST) as drv:
            with pytest.raises(AuthError) as e:
                await drv.get_facts()
    assert isinstance(e.value, PermanentError) and "env:SIM_TEST_" in str(e.value)
    assert "not-the-" not in str(e.value)


async def test_missing_credential_reference_is_a_clean_error(fleet, k):
    dev = inventory_device(fleet, k.device)

    def unset(ref):
        raise KeyError(f"environment variable {ref.ref} is not set")

    async with asgi_client(fleet) as c:
        with pytest.raises(AuthError) as e:
            async with driver_for(dev, c, resolver=unset, options=FAST):
                pass
    assert "is not set" in str(e.value) and k.device in str(e.value)


async def test_unreachable_device_is_temporary(fleet, k):
    fleet.apply(k.device, "unit-down")
    async with asgi_client(fleet) as c, open_driver(fleet, k.device, c) as drv:
        with pytest.raises(UnreachableError) as e:
            await drv.get_facts()
    assert isinstance(e.value, TemporaryError) and e.value.hint


async def test_transcript_records_everything_and_no_secret(fleet, k):
    t = Transcript()
    async with asgi_client(fleet) as c, open_driver(fleet, k.device, c, transcript=t) as drv:
        await drv.get_facts()
        await drv.copy_image(k.disk, k.image, source(k))
    assert {e.direction for e in t.entries} >= {"send", "recv"}
    assert all(e.at.endswith("Z") and e.device == k.device for e in t.entries)
    text = t.text()
    assert PASSWORD not in text and TOKEN not in text
    assert k.image in text


async def test_upgrade_ends_with_the_new_version_running(fleet, k):
    async with asgi_client(fleet) as c, open_driver(fleet, k.device, c) as drv:
        before = (await drv.running_versions())[k.type]
        assert before != k.version
        await upgrade(drv, k)
        assert (await drv.running_versions())[k.type] == k.version


def _args(method: str, k: Kind) -> tuple:
    return {
        "copy_image": (k.disk, k.image, source(k)), "verify": (None, f"{k.disk}:/x", Digest("md5", "0" * 32)),
        "backup": (None, f"{k.disk}:/a", f"{k.disk}:/b"), "delete_file": (None, f"{k.disk}:/x"),
        "set_boot": (["disk0:/x.bin"],), "set_asdm": ("disk0:/asdm-7161.bin",), "save_config": (),
        "reload": (), "wait_ready": (None, 1), "running_versions": (), "switch_active": (),
        "handoff_control": ("unit-2",), "set_failover_groups": ({1: "primary"},), "get_facts": (),
        "install": ("7.3.2.1006", "x.msi"),
    }[method]


async def test_unsupported_actions_are_refused_cleanly(fleet, k, kind):
    cls = DRIVERS[next(x for x in DRIVERS if x.value == kind)]
    assert cls.capabilities <= set(StepAction)
    async with asgi_client(fleet) as c, open_driver(fleet, k.device, c) as drv:
        for action in StepAction:
            method = ACTION_METHODS[action]
            impl = getattr(type(drv), method)
            if action in cls.capabilities:
                assert impl is not getattr(Driver, method) or not _refuses(impl), f"{kind} claims {action}"
                continue
            with pytest.raises(NotSupportedError) as e:
                result = getattr(drv, method)(*_args(method, k))
                if inspect.isawaitable(result):
                    await result
            assert e.value.device == k.device and isinstance(e.value, PermanentError)


def _refuses(fn) -> bool:
    return "NotSupportedError" in inspect.getsource(fn)


def test_every_step_action_has_a_driver_method():
    assert set(ACTION_METHODS) == set(StepAction)
    for method in ACTION_METHODS.values():
        assert callable(getattr(Driver, method))


def test_drivers_need_async_with(fleet, k):
    drv = driver_for(inventory_device(fleet, k.device), client=None, resolver=resolver)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="async with"):
        import asyncio

        asyncio.run(drv.get_facts())
