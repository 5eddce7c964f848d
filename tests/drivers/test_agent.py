"""Agent driver specifics: install failures with their codes, check-in, the re-image loop."""

import pytest

from reconciler.core.model import ImageType
from reconciler.drivers.sources import SyntheticSource
from reconciler.errors import PermanentError
from reconciler.transfer_errors import PermanentTransferError
from tests.sim_support import asgi_client, make_fleet, open_driver

NEW = SyntheticSource("agent-7.3.2.1006-x64.msi", 1101004)


@pytest.fixture
def fleet():
    return make_fleet()


async def test_install_failure_reports_the_installer_code(fleet):
    fleet.add_fault("ep-one", {"kind": "install-fails", "code": "ftp-451"})
    async with asgi_client(fleet) as c, open_driver(fleet, "ep-one", c) as drv:
        await drv.install("7.3.2.1006", NEW.name, NEW)
        with pytest.raises(Exception) as e:
            await drv.wait_ready(None, 900)
        assert e.value.code == "FTP-451" and "local error" in str(e.value)
        assert (await drv.running_versions())[ImageType.AGENT] == "7.3.1.2048"


async def test_install_of_a_package_with_another_version_is_refused(fleet):
    async with asgi_client(fleet) as c, open_driver(fleet, "ep-one", c) as drv:
        with pytest.raises(PermanentTransferError) as e:
            await drv.install("7.3.2.1006", "agent-7.3.1.2048-x64.msi")
    assert "holds agent version 7.3.1.2048" in str(e.value) and isinstance(e.value, PermanentError)


async def test_checkin_reimages_back_with_the_revert_fault(fleet):
    """The seed's endless loop: a device configuration re-images the endpoint with its old agent."""
    fleet.add_fault("ep-one", {"kind": "agent-revert"})
    async with asgi_client(fleet) as c, open_driver(fleet, "ep-one", c) as drv:
        await drv.install("7.3.2.1006", NEW.name, NEW)
        await drv.wait_ready(None, 900)
        assert (await drv.running_versions())[ImageType.AGENT] == "7.3.2.1006"
        result = await drv.checkin()
        assert result.reimaged_to == "7.3.1.2048" and result.version == "7.3.1.2048"
        assert (await drv.checkin()).reimaged_to is None
