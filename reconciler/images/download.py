"""Resumable, verified HTTP downloads of catalog images with httpx.

One attempt (`download_once`) streams the source into a `.partial` file, hashing as it goes, and
resumes an earlier partial with a `Range` request guarded by `If-Range`. Servers that ignore the
range (200) or refuse it (416) make the attempt restart cleanly from byte 0. Failures are
classified the kopf way: `TemporaryError` (connection drops, timeouts, 5xx, 429) is retried by
`retrying()` with bounded exponential backoff, resuming each time; `PermanentError` (404, 401/403,
certificate problems, wrong size) is not.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import random
import socket
import ssl
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import tenacity

from reconciler.contract import FindingCode
from reconciler.errors import PermanentError, ReconcilerError, TemporaryError
from reconciler.images.safety import display_url
from reconciler.images.storage import storage_error, unlink_quiet
from reconciler.logging import get_logger
from reconciler.secrets import register_secret

CHUNK = 1 << 20
# (done, total) in bytes; called as bytes arrive and with done=0 when an attempt restarts
Progress = Callable[[int, int], None]


class ChecksumMismatch(PermanentError):
    code = FindingCode.IMAGE_CHECKSUM.value


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff for temporary failures (each retry resumes the partial)."""

    attempts: int = 5
    initial: float = 1.0  # seconds before the first retry; doubles each time, plus jitter
    maximum: float = 30.0  # no single wait is longer, whatever Retry-After asks for
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)


def retrying(policy: RetryPolicy, what: str) -> tenacity.Retrying:
    log = get_logger(image=what)

    def wait(state: tenacity.RetryCallState) -> float:
        backoff = policy.initial * 2.0 ** (state.attempt_number - 1) + random.uniform(0, policy.initial)
        exc = state.outcome.exception() if state.outcome else None
        asked = float(getattr(exc, "retry_after", None) or 0.0)
        return min(max(backoff, asked), policy.maximum)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("transfer failed, retrying", attempt=state.attempt_number,
                    of=policy.attempts, error=str(exc),
                    wait_s=round(state.next_action.sleep, 2) if state.next_action else None)

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(TemporaryError),
        stop=tenacity.stop_after_attempt(max(1, policy.attempts)),
        wait=wait, sleep=policy.sleep, before_sleep=before_sleep, reraise=True)


def make_client(*, proxy: str | None = None, proxy_auth: tuple[str, str] | None = None,
                ca_bundle: Path | None = None, auth: tuple[str, str] | None = None,
                timeout: float = 60.0, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An httpx client for image sources.

    `trust_env=True` honours HTTP(S)_PROXY, ALL_PROXY, NO_PROXY and SSL_CERT_FILE. An explicit
    `proxy` wins over the environment's proxies but NO_PROXY still exempts hosts from it, the way
    curl behaves. `proxy_auth` (user, password) logs in to the proxy (the explicit one, else the
    environment's); passwords, in URLs or not, are registered for redaction. `auth` is sent to the
    image server (httpx drops it on redirects to another host).
    """
    verify: ssl.SSLContext | bool = True
    if ca_bundle is not None:
        try:
            verify = ssl.create_default_context(cafile=str(ca_bundle))
        except (OSError, ssl.SSLError) as e:
            raise PermanentError(f"cannot load CA bundle {ca_bundle}: {e}",
                                 hint="give a PEM file with the CA certificates of the image server") from None
    env_proxies = urllib.request.getproxies()
    for url in [proxy, *env_proxies.values()]:
        _register_url_password(url)
    for pair in (auth, proxy_auth):
        if pair is not None:
            register_secret(pair[1])
    if proxy_auth is not None and proxy is None:
        proxy = env_proxies.get("https") or env_proxies.get("all") or env_proxies.get("http")
        if proxy is None:
            raise PermanentError("proxy credentials were given but no proxy is set",
                                 hint="pass --proxy URL or set HTTPS_PROXY")
    mounts: dict[str, httpx.BaseTransport | None] | None = None
    if proxy is not None:
        try:
            chosen = httpx.Proxy(proxy if "://" in proxy else f"http://{proxy}", auth=proxy_auth)
        except (httpx.InvalidURL, ValueError) as e:
            raise PermanentError(f"invalid proxy URL: {e}", hint="write it as http://host:port") from None
        via = httpx.HTTPTransport(proxy=chosen, verify=verify, trust_env=True)
        # The same keys as the environment's proxy mounts, so these replace them rather than
        # losing to the more specific "http://" / "https://" patterns.
        mounts = {"http://": via, "https://": via, "all://": via}
        mounts.update({pattern: None for pattern in _no_proxy_patterns()})
    return httpx.Client(
        trust_env=True, verify=verify, auth=auth, mounts=mounts, transport=transport,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)), follow_redirects=True,
        headers={"User-Agent": "reconciler-images/1", "Accept-Encoding": "identity"})


def _register_url_password(url: str | None) -> None:
    if url and "@" in url:
        with contextlib.suppress(ValueError):
            parts = urlsplit(url if "://" in url else f"http://{url}")
            if parts.password:
                register_secret(parts.password)


def _no_proxy_patterns() -> list[str]:
    out = []
    for host in (urllib.request.getproxies().get("no") or "").split(","):
        host = host.strip()
        if not host or host == "*":
            continue
        if "://" in host:
            out.append(host)
        elif host.replace(".", "").isdigit() or host.lower() == "localhost":
            out.append(f"all://{host}")
        elif ":" in host:
            out.append(f"all://[{host}]")
        else:
            out.append(f"all://*{host}")
    return out


# ---------------------------------------------------------------- one attempt


@dataclass(frozen=True, slots=True)
class Attempt:
    sha256: str
    resumed_from: int  # bytes kept from an earlier partial (0: fresh download)


def download_once(client: httpx.Client, url: str, partial: Path, *, size: int, sha256: str,
                  progress: Progress | None = None) -> Attempt:
    """Bring `partial` to `size` bytes from `url`, resuming it when possible; return its sha256.

    Does not judge the checksum: the caller compares, because only it knows whether a mismatch
    after a resumed transfer deserves one clean retry.
    """
    meta_path = partial.with_name(partial.name + ".json")
    meta = _load_meta(meta_path)
    offset = partial.stat().st_size if partial.exists() else 0
    if offset and (meta is None or meta.get("url") != url or meta.get("sha256") != sha256
                   or meta.get("size") != size or offset > size):
        unlink_quiet(partial, meta_path)  # a partial of some other file: never splice into it
        offset, meta = 0, None
    hasher = hashlib.sha256()
    if offset:
        _hash_prefix(partial, hasher)
    if offset == size:
        return Attempt(hasher.hexdigest(), offset)  # a complete partial (crash before rename)

    headers = {}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        validator = _if_range(meta or {})
        if validator:
            headers["If-Range"] = validator
    shown = display_url(url)
    try:
        with client.stream("GET", url, headers=headers) as resp:
            if resp.status_code == 416 and offset:
                unlink_quiet(partial, meta_path)
                raise TemporaryError(f"{shown}: the server refused to resume at byte {offset} (416); "
                                     "restarting from the beginning", retry_after=0)
            error = status_error(resp, shown)
            if error is not None:
                raise error
            encoded = resp.headers.get("content-encoding", "identity").lower() not in ("", "identity")
            if resp.status_code == 206:
                first = _content_range_start(resp, size, shown)
                if first != offset or encoded:
                    unlink_quiet(partial, meta_path)
                    raise TemporaryError(f"{shown}: the server answered a resume request with the "
                                         "wrong range; restarting from the beginning", retry_after=0)
            else:  # 200: a server that ignores Range (or whose file changed) sends it all again
                if offset:
                    get_logger(image=partial.stem).info("server ignored the range request; restarting",
                                                        url=shown, had=offset)
                offset, hasher = 0, hashlib.sha256()
                announced = resp.headers.get("content-length")
                if announced is not None and not encoded and announced.isdigit() and int(announced) != size:
                    unlink_quiet(partial, meta_path)
                    raise ChecksumMismatch(f"{shown} is {int(announced)} bytes but the catalog says {size}",
                                           hint="the source is not the catalog's file: fix the source "
                                                "URL or the size/sha256 in desired/images.yaml")
            _save_meta(meta_path, url, sha256, size, resp.headers)
            # No chunk_size: httpx would buffer up to it and lose the buffer when the link drops.
            chunks = resp.iter_bytes() if encoded else resp.iter_raw()
            _write_stream(partial, offset, chunks, hasher, size, shown, progress)
    except ReconcilerError:
        raise
    except httpx.HTTPError as e:
        raise transport_error(e, shown) from None
    return Attempt(hasher.hexdigest(), offset)


def _write_stream(partial: Path, offset: int, chunks: Any, hasher: Any, size: int, shown: str,
                  progress: Progress | None) -> None:
    done = offset
    if progress:
        progress(done, size)
    try:
        with open(partial, "r+b" if offset else "wb") as fh:
            fh.seek(offset)
            fh.truncate()
            try:
                for chunk in chunks:
                    if done + len(chunk) > size:
                        raise ChecksumMismatch(f"{shown} sends more than the catalog's {size} bytes",
                                               hint="the source is not the catalog's file: fix the source "
                                                    "URL or the size/sha256 in desired/images.yaml")
                    fh.write(chunk)
                    hasher.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, size)
            finally:
                # Whatever arrived is kept durable so that the next attempt resumes after it.
                fh.flush()
                os.fsync(fh.fileno())
    except ChecksumMismatch:
        unlink_quiet(partial, partial.with_name(partial.name + ".json"))
        raise
    except OSError as e:
        raise storage_error(e, f"{partial.name}") from None
    if done < size:
        raise TemporaryError(f"{shown}: the transfer ended after {done} of {size} bytes")


def _hash_prefix(path: Path, hasher: Any) -> None:
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            hasher.update(chunk)


def _content_range_start(resp: httpx.Response, size: int, shown: str) -> int:
    value = resp.headers.get("content-range", "")
    try:
        unit, _, rest = value.partition(" ")
        span, _, total = rest.partition("/")
        first = int(span.split("-")[0])
        if unit.lower() != "bytes":
            raise ValueError(value)
    except ValueError:
        raise TemporaryError(f"{shown}: malformed Content-Range {value!r} in a 206 answer") from None
    if total not in ("*", "") and int(total) != size:
        raise ChecksumMismatch(f"{shown} is {total} bytes but the catalog says {size}",
                               hint="the source is not the catalog's file: fix the source URL or the "
                                    "size/sha256 in desired/images.yaml")
    return first


def _if_range(meta: dict[str, Any]) -> str | None:
    etag = meta.get("etag")
    if etag and not etag.startswith("W/"):  # If-Range needs a strong validator
        return str(etag)
    return meta.get("last_modified") or None


def _load_meta(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def _save_meta(path: Path, url: str, sha256: str, size: int, headers: httpx.Headers) -> None:
    data = {"url": url, "sha256": sha256, "size": size, "etag": headers.get("etag"),
            "last_modified": headers.get("last-modified")}
    try:
        path.write_text(json.dumps(data), encoding="utf-8")
    except OSError as e:
        raise storage_error(e, path.name) from None


# ---------------------------------------------------------------- classification

_TEMPORARY_STATUS = {408, 425, 429, 500, 502, 503, 504}


def status_error(resp: httpx.Response, shown: str) -> ReconcilerError | None:
    code = resp.status_code
    if code in (200, 206):
        return None
    reason = resp.reason_phrase or ""
    if code in _TEMPORARY_STATUS or code >= 500:
        return TemporaryError(f"{shown}: HTTP {code} {reason}".rstrip(),
                              retry_after=_retry_after(resp.headers.get("retry-after")))
    hints = {
        401: "the server wants credentials: pass --source-credentials env:NAME (user:password)",
        403: "the server refused access: check the account's download rights (export-controlled images "
             "need an accepted agreement)",
        404: "the file is not at that URL: fix `source:` in desired/images.yaml",
        407: "the proxy wants credentials: put them in the proxy URL of HTTPS_PROXY or --proxy, "
             "or check the proxy account",
        410: "the file is no longer published: find a new source and update desired/images.yaml",
    }
    return PermanentError(f"{shown}: HTTP {code} {reason}".rstrip(),
                          hint=hints.get(code, "the server refused the download; retrying will not help"))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    return None


def transport_error(e: httpx.HTTPError, shown: str) -> ReconcilerError:
    cause = _root_cause(e)
    if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(e):
        return PermanentError(f"{shown}: TLS certificate not trusted ({getattr(cause, 'verify_message', '') or e})",
                              hint="give the server's CA with --ca-bundle PATH (or SSL_CERT_FILE)")
    if isinstance(cause, socket.gaierror) and cause.errno != socket.EAI_AGAIN:
        return PermanentError(f"{shown}: host name not found ({cause.strerror})",
                              hint="check the URL's host name and DNS (or the proxy settings)")
    if isinstance(e, (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.TooManyRedirects)):
        return PermanentError(f"{shown}: {e}", hint="fix `source:` in desired/images.yaml")
    if isinstance(cause, OSError) and cause.errno in (errno.EACCES, errno.EINVAL):
        return PermanentError(f"{shown}: {cause.strerror}")
    if isinstance(e, httpx.ProxyError):
        return TemporaryError(f"{shown}: proxy error ({e})")
    kind = type(e).__name__
    return TemporaryError(f"{shown}: {kind} ({e})" if str(e) else f"{shown}: {kind}")


def _root_cause(e: BaseException) -> BaseException:
    seen = set()
    while (e.__cause__ or e.__context__) is not None and id(e) not in seen:
        seen.add(id(e))
        e = e.__cause__ or e.__context__  # type: ignore[assignment]
    return e
