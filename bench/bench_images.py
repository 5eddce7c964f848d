"""Image repository benchmarks: planning-time status(), download and upload-stream throughput.

    python bench/bench_images.py [--images 500] [--size-mib 64]

status() runs once per plan over the whole catalog, so what matters is its cost with a warm
checksum index (stat + one small JSON read) against a cold one (every file hashed).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from reconciler.core.model import Image, ImageType
from reconciler.images.download import make_client
from reconciler.images.repository import ImageRepository
from reconciler.logging import configure_logging


def timed(label: str, fn, unit_bytes: int | None = None) -> float:
    t = time.perf_counter()
    fn()
    dt = time.perf_counter() - t
    rate = f"  {unit_bytes / dt / (1 << 20):8.1f} MiB/s" if unit_bytes else ""
    print(f"{label:<44} {dt * 1000:9.1f} ms{rate}")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--size-mib", type=int, default=64)
    args = ap.parse_args()
    configure_logging(fmt="console")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = ImageRepository(root / "repo")
        repo.root.mkdir()
        catalog = {}
        for i in range(args.images):
            body = os.urandom(64 * 1024)
            name = f"img-{i:05d}.bin"
            (repo.root / name).write_bytes(body)
            catalog[name] = Image(name, ImageType.ASA, "9.4(1)", ("asa5500x",), len(body),
                                  hashlib.sha256(body).hexdigest())
        timed(f"status() cold, {args.images} x 64 KiB (hashes)", lambda: repo.status(catalog))
        timed(f"status() warm, {args.images} images (index)", lambda: repo.status(catalog))

        size = args.size_mib << 20
        src = root / "srv" / "big.bin"
        src.parent.mkdir()
        h = hashlib.sha256()
        with open(src, "wb") as fh:
            for _ in range(args.size_mib):
                chunk = os.urandom(1 << 20)
                h.update(chunk)
                fh.write(chunk)
        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

        handler = partial(Quiet, directory=str(src.parent))
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        big = Image("big.bin", ImageType.ASA, "9.4(1)", ("asa5500x",), size, h.hexdigest(),
                    source=f"http://127.0.0.1:{httpd.server_address[1]}/big.bin")
        with make_client() as client:
            timed(f"fetch() {args.size_mib} MiB over loopback HTTP", lambda: repo.fetch(big, client), size)
        timed(f"import_file() {args.size_mib} MiB", lambda: (repo.remove("big.bin"), repo.import_file(src, big)), size)
        timed(f"open_stream() {args.size_mib} MiB", lambda: sum(len(c) for c in repo.open_stream("big.bin")), size)
        timed(f"verify() {args.images} + 1 images", lambda: repo.verify(catalog), size + args.images * 65536)
        httpd.shutdown()


if __name__ == "__main__":
    sys.exit(main())
