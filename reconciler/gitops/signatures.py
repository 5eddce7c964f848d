"""Is the desired revision signed by someone allowed to change the fleet?

git does the cryptography (`git verify-commit`, GPG or SSH signatures); this module turns its
verdict into one status with a sentence that says what to do. Trust comes from either
- an SSH allowed-signers file (`gpg.ssh.allowedSignersFile` format: `principal key`), or
- the GnuPG keyring (`gnupg_home`), where only ultimately/fully trusted keys count, or
- `allowed_keys`: key fingerprints (GPG hex or SSH `SHA256:...`) accepted whatever the keyring's
  trust says; a valid signature by any other key is NOT_ALLOWED.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

import git

from reconciler.errors import ConfigError
from reconciler.gitops.source import resolve_ref

_SEP = "\x1f"


class SignatureState(enum.StrEnum):
    GOOD = "good"  # valid, by a trusted or allowed key
    UNTRUSTED = "untrusted"  # valid, but the key is not trusted (and no allowed_keys say so)
    NOT_ALLOWED = "not-allowed"  # valid, but the key is not among allowed_keys
    BAD = "bad"  # the signature does not match the commit
    EXPIRED_SIGNATURE = "expired-signature"
    EXPIRED_KEY = "expired-key"
    REVOKED_KEY = "revoked-key"
    CANNOT_CHECK = "cannot-check"  # the key is not available (or verification is not set up)
    UNSIGNED = "unsigned"


_ADVICE = {
    SignatureState.UNTRUSTED: "add the key to the allowed signers file (SSH) or trust it in "
                              "the keyring (GPG), or list its fingerprint as an allowed key",
    SignatureState.NOT_ALLOWED: "sign with an allowed key, or add this key's fingerprint to "
                                "the allowed keys if its owner may change the fleet",
    SignatureState.BAD: "the commit or its signature was altered: do not deploy it; "
                        "investigate where it came from",
    SignatureState.EXPIRED_SIGNATURE: "re-sign the commit with a current key",
    SignatureState.EXPIRED_KEY: "re-sign with a current key, or extend the key's expiry",
    SignatureState.REVOKED_KEY: "the key was revoked: re-sign with a valid key",
    SignatureState.CANNOT_CHECK: "import the signer's public key (GPG) or configure an allowed "
                                 "signers file (SSH)",
    SignatureState.UNSIGNED: "sign the commit (git commit -S), e.g. by requiring signed "
                             "commits on the branch",
}

# git's %G? letters
_LETTER = {"G": SignatureState.GOOD, "U": SignatureState.UNTRUSTED, "B": SignatureState.BAD,
           "X": SignatureState.EXPIRED_SIGNATURE, "Y": SignatureState.EXPIRED_KEY,
           "R": SignatureState.REVOKED_KEY, "E": SignatureState.CANNOT_CHECK,
           "N": SignatureState.UNSIGNED}


@dataclass(frozen=True, slots=True)
class SignatureStatus:
    commit: str
    state: SignatureState
    kind: str | None = None  # "ssh", "openpgp", "x509"; None when unsigned
    signer: str | None = None  # GPG user id or SSH principal
    key: str | None = None  # fingerprint
    detail: str = ""  # git's (or gpg's) own words

    @property
    def ok(self) -> bool:
        return self.state is SignatureState.GOOD

    def describe(self) -> str:
        short = self.commit[:12]
        who = f" by {self.signer}" if self.signer else ""
        key = f" with {self.kind} key {self.key}" if self.key else ""
        if self.state is SignatureState.GOOD:
            return f"commit {short}: good signature{who}{key}"
        if self.state is SignatureState.UNSIGNED:
            text = f"commit {short} is not signed"
        else:
            text = f"commit {short}: signature {self.state}{who}{key}"
        if self.detail:
            text += f" ({self.detail})"
        return f"{text} — {_ADVICE[self.state]}"


def verify_commit(repo: git.Repo, commit: str, *,
                  allowed_signers: str | os.PathLike[str] | None = None,
                  allowed_keys: Iterable[str] = (),
                  gnupg_home: str | os.PathLike[str] | None = None) -> SignatureStatus:
    sha = resolve_ref(repo, commit, str(repo.working_tree_dir or repo.git_dir))
    config: list[str] = []
    if allowed_signers is not None:
        if not os.path.isfile(allowed_signers):
            raise ConfigError(f"allowed signers file {allowed_signers} does not exist",
                              code="GIT", hint="create it: one `principal key` line per signer")
        config = ["-c", f"gpg.ssh.allowedSignersFile={os.path.abspath(allowed_signers)}"]
    env = {"GNUPGHOME": os.fspath(gnupg_home)} if gnupg_home is not None else {}
    kind = _kind(repo.commit(sha).gpgsig)
    if kind is None:
        return SignatureStatus(sha, SignatureState.UNSIGNED)
    if kind == "ssh" and allowed_signers is None and not repo.config_reader().has_option(
            "gpg \"ssh\"", "allowedSignersFile"):
        # git would say "no signature" (%G? = N) here, which is wrong and alarming
        return SignatureStatus(sha, SignatureState.CANNOT_CHECK, kind,
                               detail="SSH-signed, but no allowed signers file is configured")
    with repo.git.custom_environment(**env):
        fmt = _SEP.join(("%G?", "%GS", "%GK", "%GF", "%GP"))
        raw = repo.git.execute(["git", *config, "log", "-1", "--no-walk", f"--format={fmt}",
                                sha], with_exceptions=False)
        _, _, err = repo.git.execute(["git", *config, "verify-commit", sha],
                                     with_extended_output=True, with_exceptions=False)
    letter, signer, short_key, fpr, primary = (str(raw).split(_SEP) + [""] * 5)[:5]
    state = _LETTER.get(letter.strip(), SignatureState.CANNOT_CHECK)
    key = fpr or short_key or None
    allowed = {_norm(k) for k in allowed_keys}
    if allowed and state in (SignatureState.GOOD, SignatureState.UNTRUSTED):
        keys = {_norm(k) for k in (fpr, primary, short_key) if k}
        state = SignatureState.GOOD if keys & allowed else SignatureState.NOT_ALLOWED
    return SignatureStatus(sha, state, kind, signer or None, key,
                           "" if state is SignatureState.GOOD else _detail(str(err)))


def _kind(gpgsig: str | None) -> str | None:
    if not gpgsig:
        return None
    if "BEGIN SSH SIGNATURE" in gpgsig:
        return "ssh"
    if "BEGIN SIGNED MESSAGE" in gpgsig:
        return "x509"
    return "openpgp"


def _norm(key: str) -> str:
    key = key.strip()
    return key if key.startswith("SHA256:") else key.replace(" ", "").upper()


_INTERESTING = re.compile(r"Good|BAD|Can't check|No principal|expired|revoked|error:|"
                          r"not found|No public key", re.IGNORECASE)


def _detail(stderr: str) -> str:
    """The line of git's/gpg's output that says what went wrong."""
    lines = [ln.strip() for ln in stderr.splitlines()
             if ln.strip() and not ln.startswith("[GNUPG:]")]
    picked = [ln for ln in lines if _INTERESTING.search(ln)]
    chosen = picked[-1] if picked else (lines[-1] if lines else "")
    return chosen.removeprefix("gpg: ").removeprefix("error: ")
