"""Commit signatures verified by git itself: real SSH and GPG keys made in temp dirs."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.errors import ConfigError
from reconciler.gitops.signatures import SignatureState, verify_commit
from tests.gitops.repos import FleetRepo

needs_ssh = pytest.mark.skipif(shutil.which("ssh-keygen") is None,
                               reason="ssh-keygen is not installed: SSH signatures cannot be made")
needs_gpg = pytest.mark.skipif(shutil.which("gpg") is None or shutil.which("gpgconf") is None,
                               reason="gpg is not installed: GPG signatures cannot be made")


def _ssh_key(directory: Path, name: str) -> Path:
    key = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
                   check=True)
    return key


def _fingerprint(pub: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-l", "-f", str(pub)], check=True, capture_output=True,
                         text=True).stdout
    return out.split()[1]


def _signed_commit(repo: FleetRepo, message: str, *config: str) -> str:
    (repo.root / "desired/notes.yaml").write_text(f"# {message}\n")
    repo.repo.git.add("--all")
    args = [a for c in config for a in ("-c", c)]
    repo.repo.git.execute(["git", *args, "commit", "-q", "-S", "-m", message])
    return str(repo.repo.head.commit.hexsha)


@needs_ssh
def test_ssh_signatures(fleet_repo: FleetRepo, tmp_path: Path) -> None:
    dev = _ssh_key(tmp_path, "dev")
    stranger = _ssh_key(tmp_path, "stranger")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"dev@example.com {(dev.with_suffix('.pub')).read_text()}")
    good = _signed_commit(fleet_repo, "by dev", "gpg.format=ssh",
                          f"user.signingkey={dev}.pub")
    other = _signed_commit(fleet_repo, "by a stranger", "gpg.format=ssh",
                           f"user.signingkey={stranger}.pub")
    fleet_repo.write("desired/notes.yaml", "# unsigned\n")
    unsigned = fleet_repo.commit("unsigned")

    status = verify_commit(fleet_repo.repo, good, allowed_signers=allowed)
    assert status.ok and status.state is SignatureState.GOOD
    assert (status.kind, status.signer) == ("ssh", "dev@example.com")
    assert status.key == _fingerprint(dev.with_suffix(".pub"))
    assert status.describe().startswith(f"commit {good[:12]}: good signature by dev@example.com")

    status = verify_commit(fleet_repo.repo, other, allowed_signers=allowed)
    assert status.state is SignatureState.UNTRUSTED and not status.ok
    assert "No principal matched" in status.detail
    assert "allowed signers" in status.describe()

    status = verify_commit(fleet_repo.repo, unsigned, allowed_signers=allowed)
    assert status.state is SignatureState.UNSIGNED
    assert status.describe() == (f"commit {unsigned[:12]} is not signed — sign the commit "
                                 "(git commit -S), e.g. by requiring signed commits on the branch")

    # without an allowed signers file git cannot check an SSH signature: say so, not "unsigned"
    status = verify_commit(fleet_repo.repo, good)
    assert status.state is SignatureState.CANNOT_CHECK

    # allowed keys by fingerprint: the stranger's key becomes acceptable, dev's is not listed
    stranger_fp = _fingerprint(stranger.with_suffix(".pub"))
    assert verify_commit(fleet_repo.repo, other, allowed_signers=allowed,
                         allowed_keys=[stranger_fp]).ok
    status = verify_commit(fleet_repo.repo, good, allowed_signers=allowed,
                           allowed_keys=[stranger_fp])
    assert status.state is SignatureState.NOT_ALLOWED

    # refs work like everywhere else
    assert verify_commit(fleet_repo.repo, "HEAD~2", allowed_signers=allowed).ok


@needs_ssh
def test_tampered_signature_is_bad(fleet_repo: FleetRepo, tmp_path: Path) -> None:
    dev = _ssh_key(tmp_path, "dev")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"dev@example.com {(dev.with_suffix('.pub')).read_text()}")
    good = _signed_commit(fleet_repo, "by dev", "gpg.format=ssh", f"user.signingkey={dev}.pub")
    # rewrite the commit's message but keep its signature: a forged commit object
    raw = fleet_repo.repo.git.cat_file("commit", good)
    forged = raw.replace("by dev", "by dev, trust me") + "\n"
    sha = fleet_repo.repo.git.execute(["git", "hash-object", "-t", "commit", "-w", "--stdin"],
                                      istream=subprocess.PIPE, as_process=True)
    out, _ = sha.communicate(forged.encode())
    status = verify_commit(fleet_repo.repo, out.decode().strip(), allowed_signers=allowed)
    assert status.state is SignatureState.BAD
    assert "altered" in status.describe()


@pytest.fixture
def gnupg(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"}
    subprocess.run(["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key",
                    "Fleet Dev <dev@example.com>", "ed25519", "sign", "never"],
                   check=True, env=env, capture_output=True, timeout=60)
    out = subprocess.run(["gpg", "--list-secret-keys", "--with-colons"], check=True, env=env,
                         capture_output=True, text=True).stdout
    fpr = next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))
    yield home, fpr
    for h in home.parent.glob("gnupg*"):
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**env, "GNUPGHOME": str(h)},
                       check=False, capture_output=True)


@needs_gpg
def test_gpg_signatures(fleet_repo: FleetRepo, tmp_path: Path, gnupg: tuple[Path, str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    home, fpr = gnupg
    monkeypatch.setenv("GNUPGHOME", str(home))
    good = _signed_commit(fleet_repo, "gpg", "gpg.format=openpgp", f"user.signingkey={fpr}")
    status = verify_commit(fleet_repo.repo, good, gnupg_home=home)
    assert status.ok and status.kind == "openpgp" and status.key == fpr
    assert status.signer == "Fleet Dev <dev@example.com>"

    # a keyring that knows the key but does not trust it
    other = tmp_path / "gnupg-verifier"
    other.mkdir(mode=0o700)
    public = subprocess.run(["gpg", "--export", "--armor", fpr], check=True,
                            capture_output=True, env={"GNUPGHOME": str(home)}).stdout
    subprocess.run(["gpg", "--batch", "--quiet", "--import"], input=public, check=True,
                   capture_output=True, env={"GNUPGHOME": str(other)})
    status = verify_commit(fleet_repo.repo, good, gnupg_home=other)
    assert status.state is SignatureState.UNTRUSTED
    assert verify_commit(fleet_repo.repo, good, gnupg_home=other, allowed_keys=[fpr]).ok

    # a keyring without the key
    empty = tmp_path / "gnupg-empty"
    empty.mkdir(mode=0o700)
    status = verify_commit(fleet_repo.repo, good, gnupg_home=empty)
    assert status.state is SignatureState.CANNOT_CHECK
    assert "No public key" in status.detail


def test_bad_inputs(fleet_repo: FleetRepo, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="allowed signers file"):
        verify_commit(fleet_repo.repo, "HEAD", allowed_signers=tmp_path / "missing")
    with pytest.raises(ConfigError, match="not found"):
        verify_commit(fleet_repo.repo, "no-such-ref")
    assert verify_commit(fleet_repo.repo, "HEAD").state is SignatureState.UNSIGNED
