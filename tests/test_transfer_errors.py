import pytest

from reconciler.errors import PermanentError, TemporaryError
from reconciler.transfer_errors import (
    TRANSFER_CODES,
    PermanentTransferError,
    TransferTooLargeError,
    TransientTransferError,
    lookup,
    transfer_error,
)

# SPEC section 6, verbatim.
TRANSIENT = [421, 425, 426, 450, 451, 452, "WSAETIMEDOUT", "WSAECONNREFUSED", "WSAEHOSTDOWN",
             "WSAEHOSTUNREACH", "WSAECONNRESET", "WSATRY_AGAIN", 10060, 10061, 10064, 10065,
             10054, 11002]
PERMANENT = [500, 501, 502, 503, 504, 530, 532, 550, 551, 552, 553, "WSAHOST_NOT_FOUND",
             "WSAEACCES", "WSAEINVAL", 11001, 10013, 10022]


@pytest.mark.parametrize("code", TRANSIENT)
def test_spec_transient_codes_are_retryable(code):
    info = lookup(code)
    assert info is not None and info.temporary
    err = transfer_error(info, action="copy to disk0:/a.bin", device="fw", member="primary")
    assert isinstance(err, TransientTransferError) and isinstance(err, TemporaryError)
    assert err.transfer is info


@pytest.mark.parametrize("code", PERMANENT)
def test_spec_permanent_codes_are_not_retried(code):
    info = lookup(code)
    assert info is not None and not info.temporary
    assert isinstance(transfer_error(info, action="copy"), PermanentError)


def test_every_code_has_meaning_and_advice():
    for info in TRANSFER_CODES.values():
        assert info.meaning and info.advice and info.label


def test_http_413_asks_for_a_split_and_keeps_the_limit():
    err = transfer_error("http-413", action="copy to disk0:/x", max_bytes=1 << 20)
    assert isinstance(err, TransferTooLargeError) and err.max_bytes == 1 << 20
    assert "split" in str(err)


def test_message_names_code_meaning_and_advice():
    err = transfer_error("ftp-426", action="copy to disk0:/asa941-smp-k8.bin", device="fw-dc-pair",
                         member="secondary", detail="%Error copying (426 Connection closed)")
    text = str(err)
    assert text.startswith("fw-dc-pair/secondary: FTP-426 copy to disk0:/asa941-smp-k8.bin failed")
    assert "FTP 426 connection closed; transfer aborted" in text
    assert "retried with backoff" in text


def test_lookup_accepts_the_spellings_devices_use():
    assert lookup("FTP 426").key == "ftp-426"
    assert lookup("wsa-10054").name == "WSAECONNRESET"
    assert lookup("10060").name == "WSAETIMEDOUT"
    assert lookup("HTTP-413").split
    assert lookup("disk-full").family == "device"
    assert lookup("banana") is None


def test_unlisted_ftp_codes_follow_their_class_and_unknown_codes_are_permanent():
    assert lookup(431).temporary
    assert not lookup(599).temporary
    assert isinstance(transfer_error("weird-1", action="copy"), PermanentTransferError)
