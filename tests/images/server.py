"""A real HTTP image server on 127.0.0.1 with fault injection, shared by the image tests.

Each served file can: break the connection after N bytes (for the first K requests), ignore
Range headers (always answer 200), refuse ranges with 416, answer with a sequence of error
statuses first, or drop its ETag. The server also accepts absolute-form request lines
(`GET http://host/path`), i.e. it doubles as an HTTP proxy for a host name that does not resolve,
which proves that proxy settings are honoured.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import re
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from reconciler.core.model import Image, ImageType
from reconciler.images.download import RetryPolicy


@dataclass
class Served:
    body: bytes
    break_after: int | None = None  # close the connection after this many body bytes ...
    breaks: int = 0  # ... for this many requests
    ignore_range: bool = False
    refuse_range: bool = False  # 416 on any Range request
    statuses: list[int] = field(default_factory=list)  # answered (and consumed) before the file
    retry_after: str | None = None
    etag: str | None = '"v1"'
    content_length: bool = True


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    absolute: bool  # request line carried a full URL: the client used us as a proxy
    status: int = 0


class ImageServer:
    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        self.files: dict[str, Served] = {}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                absolute = self.path.startswith(("http://", "https://"))
                path = urlsplit(self.path).path if absolute else self.path
                seen = Seen(path, {k.lower(): v for k, v in self.headers.items()}, absolute)
                with server.lock:
                    server.seen.append(seen)
                    f = server.files.get(path)
                    status = f.statuses.pop(0) if f and f.statuses else None
                if f is None:
                    return self._plain(seen, 404, b"not found")
                if status is not None:
                    extra = {"Retry-After": f.retry_after} if f.retry_after else {}
                    return self._plain(seen, status, b"try later", extra)
                start = 0
                rng = self.headers.get("Range")
                if_range = self.headers.get("If-Range")
                if rng and f.refuse_range:
                    return self._plain(seen, 416, b"", {"Content-Range": f"bytes */{len(f.body)}"})
                if rng and not f.ignore_range and (if_range is None or if_range == f.etag):
                    m = re.fullmatch(r"bytes=(\d+)-", rng)
                    assert m, rng
                    start = int(m.group(1))
                    if start >= len(f.body):
                        return self._plain(seen, 416, b"", {"Content-Range": f"bytes */{len(f.body)}"})
                body = f.body[start:]
                seen.status = 206 if start else 200
                self.send_response(seen.status)
                if f.etag:
                    self.send_header("ETag", f.etag)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(f.body) - 1}/{len(f.body)}")
                if f.content_length:
                    self.send_header("Content-Length", str(len(body)))
                else:
                    self.send_header("Connection", "close")
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                with server.lock:
                    cut = f.break_after if f.breaks > 0 else None
                    if cut is not None:
                        f.breaks -= 1
                if cut is not None:
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                for i in range(0, len(body), 65536):
                    self.wfile.write(body[i:i + 65536])
                if not f.content_length:
                    self.close_connection = True

            def _plain(self, seen: Seen, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                seen.status = code
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # clients that hang up mid-body (the point of several tests) are not news

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(tls[0]), str(tls[1]))
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.base = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)

    def add(self, path: str, body: bytes, **behaviour: object) -> str:
        self.files[path] = Served(body, **behaviour)  # type: ignore[arg-type]
        return self.base + path

    def requests_for(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def running(self) -> Iterator[ImageServer]:
        self.thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()


@pytest.fixture
def image_server() -> Iterator[ImageServer]:
    yield from ImageServer().running()


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A CA-less self-signed certificate for 127.0.0.1 (cert.pem doubles as the CA bundle)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "images.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_image_server(tmp_path: Path) -> Iterator[ImageServer]:
    yield from ImageServer(tls=self_signed(tmp_path)).running()


@pytest.fixture(autouse=True)
def no_ambient_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # The developer's own proxy settings must not leak into tests that talk to 127.0.0.1.
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
                "http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)


FAST_RETRY = RetryPolicy(attempts=4, initial=0.01, maximum=0.05)


def payload(name: str, size: int) -> bytes:
    """Distinct, non-repeating bytes so a splice at the wrong offset changes the checksum."""
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.sha256(f"{name}/{i}".encode()).digest()
        i += 1
    return bytes(out[:size])


def image_for(name: str, body: bytes, source: str | None = None, **kw: object) -> Image:
    return Image(name=name, type=kw.pop("type", ImageType.ASA), version=kw.pop("version", "9.4(1)"),  # type: ignore[arg-type]
                 platforms=kw.pop("platforms", ("asa5500x",)), size=len(body),  # type: ignore[arg-type]
                 sha256=hashlib.sha256(body).hexdigest(), source=source, **kw)  # type: ignore[arg-type]
