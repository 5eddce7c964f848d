"""Credential references: parsing, resolution at the edge, registration for redaction."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.core.model import CredentialRef
from reconciler.errors import PermanentError
from reconciler.loader.credentials import CredentialError, parse_credential_ref, resolve_credential
from reconciler.secrets import redact


@pytest.mark.parametrize("text,ref", [
    ("env:FW_PASSWORD", CredentialRef("env", "FW_PASSWORD")),
    ("env:_x1", CredentialRef("env", "_x1")),
    ("file:secrets/fw.txt", CredentialRef("file", "secrets/fw.txt")),
    ("file:/run/secrets/fw", CredentialRef("file", "/run/secrets/fw")),
    ("file:~/.fw", CredentialRef("file", "~/.fw")),
])
def test_references(text: str, ref: CredentialRef) -> None:
    assert parse_credential_ref(text) == ref
    assert str(ref) == text


@pytest.mark.parametrize("text", ["hunter2", "env:", "env:1ABC", "env:A-B", "file:", "file: x",
                                  "vault:x", "ENV:X", 12345, None, ["env:X"]])
def test_anything_else_is_not_a_reference(text: object) -> None:
    assert parse_credential_ref(text) is None


def test_env_resolution_registers_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_TEST_PW", "correct-horse-battery")
    value = resolve_credential(CredentialRef("env", "RECONCILER_TEST_PW"), device="fw-1")
    assert value == "correct-horse-battery"
    assert redact("login with correct-horse-battery ok") == "login with *** ok"


def test_file_resolution_strips_one_newline(tmp_path: Path) -> None:
    (tmp_path / "tok").write_text("tok-3141592653\n")
    ref = CredentialRef("file", "tok")
    assert resolve_credential(ref, base_dir=tmp_path) == "tok-3141592653"
    (tmp_path / "abs").write_text("tok-2718281828\r\n")
    assert resolve_credential(CredentialRef("file", str(tmp_path / "abs"))) == "tok-2718281828"
    assert redact("Bearer tok-2718281828") == "Bearer ***"


def test_missing_values_name_the_device_not_the_secret(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    monkeypatch.delenv("RECONCILER_TEST_MISSING", raising=False)
    with pytest.raises(CredentialError) as e:
        resolve_credential(CredentialRef("env", "RECONCILER_TEST_MISSING"), device="fw-9")
    assert isinstance(e.value, PermanentError)
    assert "RECONCILER_TEST_MISSING" in str(e.value) and "fw-9" in str(e.value)
    assert e.value.device == "fw-9"
    with pytest.raises(CredentialError, match="does not exist"):
        resolve_credential(CredentialRef("file", "nope.txt"), device="fw-9", base_dir=tmp_path)
    (tmp_path / "big").write_bytes(b"x" * 70000)
    with pytest.raises(CredentialError, match="larger than"):
        resolve_credential(CredentialRef("file", "big"), base_dir=tmp_path)
    (tmp_path / "bin").write_bytes(b"\xff\xfe\xfd\xfc")
    with pytest.raises(CredentialError, match="cannot be read"):
        resolve_credential(CredentialRef("file", "bin"), base_dir=tmp_path)
    with pytest.raises(CredentialError, match="unknown credential scheme"):
        resolve_credential(CredentialRef("vault", "x"))


def test_too_short_secrets_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_TEST_SHORT", "abc")
    with pytest.raises(CredentialError, match="shorter than 4") as e:
        resolve_credential(CredentialRef("env", "RECONCILER_TEST_SHORT"), device="fw-1")
    assert "abc" not in str(e.value).replace("RECONCILER_TEST_SHORT", "")


@pytest.mark.parametrize("target", ["/dev/zero", "fifo", "dir"])
def test_a_credential_file_must_be_a_regular_file(tmp_path: Path, target: str) -> None:
    # regression: file:/dev/zero was read until memory ran out, a FIFO blocked the run
    if target == "fifo":
        os.mkfifo(tmp_path / "fifo")
    elif target == "dir":
        (tmp_path / "dir").mkdir()
    path = target if target.startswith("/") else str(tmp_path / target)
    with pytest.raises(CredentialError) as e:
        resolve_credential(CredentialRef("file", path), device="fw-1")
    assert "is not a regular file" in str(e.value) and "fw-1" in str(e.value)
