"""`reconciler images`: the local image repository (list, import, fetch, verify, remove).

The catalog (desired/images.yaml of --repo) says which images exist and their checksums; the
repository directory holds the verified files that installs stream to devices. Every per-image
failure is one clean line (code, message, what to do); the command carries on with the next image
and exits 1 at the end if anything failed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from reconciler.contract import ExitCode, FindingCode, Severity
from reconciler.core.catalog import is_asacx
from reconciler.core.model import DesiredState, Image, ImageStatus
from reconciler.errors import PermanentError, ReconcilerError
from reconciler.images.download import Progress, RetryPolicy, make_client
from reconciler.images.listing import References, SortKey, build_rows, references, select, sort_rows
from reconciler.images.repository import ImageRepository, TransferResult, VerifyState, sha256_of
from reconciler.paths import image_repo_dir
from reconciler.secrets import redact

FORMAT_VERSION = 1


# ------------------------------------------------------------------ options and context


def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                     show_default=True, help="Output format.")(f)
    f = click.option("--images-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Image repository directory [default: $RECONCILER_IMAGES or "
                          "REPO/.reconciler/images].")(f)
    f = click.option("--repo", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
                     show_default=True, help="Desired-state repository (desired/, inventory/).")(f)
    return f


@dataclass
class Ctx:
    repo_root: Path
    repository: ImageRepository
    desired: DesiredState
    fmt: str

    @property
    def catalog(self) -> Mapping[str, Image]:
        return self.desired.images

    def resolved_refs(self) -> dict[str, References]:
        from reconciler.core.resolve import resolve_fleet

        resolved, _findings = resolve_fleet(self.desired, None)
        return references(resolved, self.desired.bundles)


def _open(repo: Path, images_dir: Path | None, fmt: str, retry: RetryPolicy | None = None) -> Ctx:
    from reconciler.loader import DirectorySource, load_desired

    desired, findings = load_desired(DirectorySource(repo))
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if not desired.images and errors:
        for f in errors[:10]:
            click.echo(redact(f.line()), err=True)
        raise PermanentError(f"no usable image catalog in {repo}", code=errors[0].code.value,
                             hint="run `reconciler validate` and fix the errors shown (or pass --repo)")
    if errors:
        click.echo(f"warning: the desired state has {len(errors)} error(s); the image commands use the "
                   "catalog as loaded:", err=True)
        for f in errors[:10]:
            click.echo(f"  {redact(f.line())}", err=True)
        if len(errors) > 10:
            click.echo(f"  ... and {len(errors) - 10} more (`reconciler validate` shows all)", err=True)
    root = images_dir if images_dir is not None else image_repo_dir(repo)
    return Ctx(repo, ImageRepository(root, retry=retry), desired, fmt)


# ------------------------------------------------------------------ output helpers


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)  # pragma: no cover


def _err_dict(e: ReconcilerError) -> dict[str, Any]:
    return {"code": e.code, "message": redact(e.message), "hint": redact(e.hint) if e.hint else None}


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    # Not a terminal: no colour, no wrapping, so the output greps and diffs cleanly.
    return Console(file=stream, no_color=True, highlight=False, width=10_000, soft_wrap=True)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str], Progress] | None]:
    """A rich progress bar on a TTY (one line per transfer); nothing otherwise."""
    if not enabled:
        yield None
        return
    from rich.progress import (BarColumn, DownloadColumn, Progress as Bar, TextColumn,
                               TimeRemainingColumn, TransferSpeedColumn)

    with Bar(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
             TimeRemainingColumn(), console=_console(stderr=True), transient=False) as bar:
        def for_image(name: str) -> Progress:
            task = bar.add_task(name, total=None)
            return lambda done, total: bar.update(task, completed=done, total=total)
        yield for_image


@dataclass
class Outcome:
    name: str
    outcome: str  # added | skipped | ignored | removed | error
    result: TransferResult | None = None
    error: ReconcilerError | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "outcome": self.outcome}
        if self.result is not None:
            r = self.result
            d.update(size=r.size, sha256=r.sha256, source=redact(r.source), resumed_from=r.resumed_from)
        if self.note:
            d["note"] = redact(self.note)
        if self.error is not None:
            d["error"] = _err_dict(self.error)
        return d

    def line(self) -> str:
        if self.error is not None:
            return redact(f"error    {self.name}: {self.error}")
        text = f"{self.outcome:<8} {self.name}"
        if self.result is not None and self.outcome == "added":
            text += f"  {_size(self.result.size)}  from {redact(self.result.source)}"
            if self.result.resumed_from:
                text += f" (resumed at {_size(self.result.resumed_from)})"
        if self.note:
            text += f"  ({redact(self.note)})"
        return text


def _report(ctx_fmt: str, command: str, outcomes: list[Outcome]) -> None:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.outcome] = counts.get(o.outcome, 0) + 1
    if ctx_fmt == "json":
        _emit_json({"format_version": FORMAT_VERSION, "command": command,
                    "results": [o.to_dict() for o in outcomes], "summary": counts})
    else:
        for o in outcomes:
            click.echo(o.line(), err=o.error is not None)
        summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing to do"
        click.echo(f"{command}: {summary}")
    if counts.get("error"):
        raise click.exceptions.Exit(ExitCode.ERROR)


def _emit_json(data: Any) -> None:
    import json

    click.echo(redact(json.dumps(data, indent=2, sort_keys=False)))


def _attempt(name: str, fn: Callable[[], TransferResult]) -> Outcome:
    try:
        result = fn()
    except ReconcilerError as e:
        return Outcome(name, "error", error=e)
    return Outcome(name, str(result.outcome), result)


# ------------------------------------------------------------------ commands


@click.group("images")
def command() -> None:
    """The local image repository: only images present here with the catalog's sha256 can be
    installed. Sources: http(s) URLs (fetched, resumable), paths below --source-dir, and the
    example catalog's `synthetic:NAME` stand-ins (generated locally, no network)."""


@command.command("list")
@_common
@click.option("--sort", "sort_key", type=click.Choice([k.value for k in SortKey]), default="type",
              show_default=True, help="Sort column (type sorts by type, then version).")
@click.option("--reverse", is_flag=True, help="Reverse the sort order.")
@click.option("--type", "types", multiple=True, help="Only these image types (repeatable).")
@click.option("--platform", "platforms", multiple=True, help="Only images for this platform family (repeatable).")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice([s.value for s in ImageStatus]), help="Only images in this state (repeatable).")
@click.option("--search", help="Only images whose name or version contains this text.")
@click.option("--unused", is_flag=True, help="Only images no device or bundle uses (clean-up candidates).")
@click.option("--wide", is_flag=True, help="Also show the source and sha256.")
def list_cmd(repo: Path, images_dir: Path | None, fmt: str, sort_key: str, reverse: bool,
             types: tuple[str, ...], platforms: tuple[str, ...], statuses: tuple[str, ...],
             search: str | None, unused: bool, wide: bool) -> None:
    """Every catalog image: in the repository or not, size, type, version, platforms, and which
    devices and bundles use it."""
    ctx = _open(repo, images_dir, fmt)
    rows = build_rows(ctx.catalog, ctx.repository.status(ctx.catalog), ctx.repository.partials(),
                      ctx.resolved_refs())
    rows = sort_rows(select(rows, types=types, platforms=platforms, statuses=statuses, search=search,
                            unused=unused), sort_key, reverse=reverse)
    unmanaged = [f for f in ctx.repository.files() if f.name not in ctx.catalog]
    if fmt == "json":
        _emit_json({"format_version": FORMAT_VERSION, "repository": str(ctx.repository.root),
                    "images": [r.to_dict() for r in rows],
                    "unmanaged": [{"name": f.name, "size": f.size} for f in unmanaged]})
        return
    from rich import box
    from rich.table import Table

    console = _console()
    tty = sys.stdout.isatty()
    table = Table(box=box.SIMPLE_HEAD if tty else None, show_edge=False, pad_edge=False,
                  header_style="bold" if tty else "")
    for col in ("STATUS", "NAME", "TYPE", "VERSION", "SIZE", "PLATFORMS", "USED BY"):
        table.add_column(col, justify="right" if col == "SIZE" else "left", no_wrap=not tty)
    if wide:
        table.add_column("SOURCE", no_wrap=not tty)
        table.add_column("SHA256", no_wrap=True)
    style = {ImageStatus.PRESENT: "green", ImageStatus.MISSING: "yellow", ImageStatus.CHECKSUM_MISMATCH: "red"}
    for r in rows:
        status = str(r.status)
        if r.partial_bytes is not None and r.status is ImageStatus.MISSING and r.image.size:
            status = f"partial {100 * r.partial_bytes // r.image.size}%"
        cells = [f"[{style[r.status]}]{status}[/]" if tty else status, r.image.name, str(r.image.type),
                 r.image.version, _size(r.image.size), ",".join(r.image.platforms), _used_by(r.refs)]
        if wide:
            cells += [redact(r.image.source or "-"), r.image.sha256]
        table.add_row(*cells)
    if tty:
        console.print(table)
    else:
        with console.capture() as captured:
            console.print(table)
        click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))
    present = sum(r.status is ImageStatus.PRESENT for r in rows)
    click.echo(f"{len(rows)} image(s), {present} in the repository {ctx.repository.root}")
    if unmanaged:
        click.echo("not in the catalog: " + ", ".join(f"{f.name} ({_size(f.size)})" for f in unmanaged))


def _used_by(refs: References, limit: int = 3) -> str:
    parts = []
    if refs.devices:
        shown = ", ".join(refs.devices[:limit])
        more = len(refs.devices) - limit
        parts.append(shown + (f" +{more} more" if more > 0 else ""))
    if refs.bundles:
        parts.append("bundle " + ", ".join(refs.bundles))
    return "; ".join(parts) or "-"


@command.command("import")
@_common
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--as", "as_name", metavar="NAME", help="Import a single file as this catalog image.")
def import_cmd(repo: Path, images_dir: Path | None, fmt: str, paths: tuple[Path, ...], as_name: str | None) -> None:
    """Copy image files from the local file system into the repository.

    A file is matched to the catalog by name (or, failing that, by size and sha256); a directory
    imports every catalog image it holds. The sha256 must match the catalog. An image already
    present with the same checksum is skipped; with another checksum it is an error."""
    if as_name and (len(paths) != 1 or paths[0].is_dir()):
        raise click.UsageError("--as takes exactly one file")
    ctx = _open(repo, images_dir, fmt)
    outcomes: list[Outcome] = []
    with _progress(fmt == "text" and sys.stderr.isatty()) as bar:
        for path, image, note in _import_plan(ctx, paths, as_name, outcomes):
            progress = bar(image.name) if bar else None
            o = _attempt(image.name, lambda: ctx.repository.import_file(path, image, progress=progress))
            o.note = note
            outcomes.append(o)
    _report(fmt, "import", outcomes)


def _import_plan(ctx: Ctx, paths: Iterable[Path], as_name: str | None,
                 outcomes: list[Outcome]) -> Iterator[tuple[Path, Image, str | None]]:
    catalog = ctx.catalog
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            for f in files:
                image, note = _match(catalog, f)
                if image is None:
                    outcomes.append(Outcome(f.name, "ignored", note=f"{f}: not in the catalog"))
                else:
                    yield f, image, note
            continue
        name = as_name or path.name
        image = catalog.get(name)
        note = None
        if image is None and not as_name and path.is_file():
            image, note = _match(catalog, path)
        if image is None:
            code = (FindingCode.UNSUPPORTED_IMAGE if is_asacx(name)
                    else FindingCode.UNKNOWN_IMAGE)
            msg = ("ASA-CX images are not managed" if code is FindingCode.UNSUPPORTED_IMAGE
                   else f"{path} is not an image of the catalog (no entry named {name}, none with its checksum)")
            outcomes.append(Outcome(name, "error", error=PermanentError(
                msg, code=code.value, hint="add the image to desired/images.yaml or use --as NAME")))
            continue
        yield path, image, note


def _match(catalog: Mapping[str, Image], path: Path) -> tuple[Image | None, str | None]:
    """The catalog image a file is: by name, else by size and sha256 (a renamed download)."""
    if path.name in catalog:
        return catalog[path.name], None
    try:
        size = path.stat().st_size
    except OSError:
        return None, None
    candidates = [i for i in catalog.values() if i.size == size]
    if not candidates:
        return None, None
    try:
        sha = sha256_of(path)
    except OSError:
        return None, None
    for image in candidates:
        if image.sha256.lower() == sha:
            return image, f"{path.name} matched by checksum"
    return None, None


@command.command("fetch")
@_common
@click.argument("names", nargs=-1)
@click.option("--referenced", is_flag=True, help="Only images some device or bundle uses.")
@click.option("--proxy", metavar="URL", help="HTTP(S) proxy for all downloads [default: HTTPS_PROXY/"
                                            "HTTP_PROXY/ALL_PROXY; NO_PROXY is honoured].")
@click.option("--proxy-credentials", metavar="REF",
              help="Proxy login as env:NAME or file:PATH holding user:password (kept off the command line).")
@click.option("--ca-bundle", type=click.Path(dir_okay=False, path_type=Path),
              help="PEM CA certificates for https sources (default: system store / SSL_CERT_FILE).")
@click.option("--source-credentials", metavar="REF",
              help="Basic-auth credentials for http(s) sources as env:NAME or file:PATH holding user:password.")
@click.option("--source-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Base directory of relative `source:` paths [default: $RECONCILER_IMAGE_SOURCES or REPO].")
@click.option("--retries", type=click.IntRange(1, 50), default=5, show_default=True,
              help="Attempts per image for temporary failures (each resumes the transfer).")
@click.option("--timeout", type=click.FloatRange(1, 3600), default=60.0, show_default=True,
              help="Network timeout in seconds (connect, and between received bytes).")
def fetch_cmd(repo: Path, images_dir: Path | None, fmt: str, names: tuple[str, ...], referenced: bool,
              proxy: str | None, proxy_credentials: str | None, ca_bundle: Path | None,
              source_credentials: str | None,
              source_dir: Path | None, retries: int, timeout: float) -> None:
    """Download catalog images from their `source:` into the repository (default: every image
    not yet present). Interrupted downloads resume where they stopped."""
    ctx = _open(repo, images_dir, fmt, retry=RetryPolicy(attempts=retries))
    outcomes: list[Outcome] = []
    if names:
        wanted = []
        for n in dict.fromkeys(names):
            if n in ctx.catalog:
                wanted.append(ctx.catalog[n])
            else:
                outcomes.append(Outcome(n, "error", error=PermanentError(
                    f"{n} is not in the catalog", code=FindingCode.UNKNOWN_IMAGE.value,
                    hint="`reconciler images list` shows the catalog")))
    else:
        status = ctx.repository.status(ctx.catalog)
        wanted = [i for n, i in ctx.catalog.items() if status[n] is not ImageStatus.PRESENT]
    if referenced:
        used = {n for n, r in ctx.resolved_refs().items() if r.used}
        wanted = [i for i in wanted if i.name in used]
    base = source_dir or Path(os.environ.get("RECONCILER_IMAGE_SOURCES", repo))
    auth = _basic_auth(source_credentials, "--source-credentials") if source_credentials else None
    proxy_auth = _basic_auth(proxy_credentials, "--proxy-credentials") if proxy_credentials else None
    with make_client(proxy=proxy, proxy_auth=proxy_auth, ca_bundle=ca_bundle, auth=auth,
                     timeout=timeout) as client, \
            _progress(fmt == "text" and sys.stderr.isatty()) as bar:
        for image in wanted:
            progress = bar(image.name) if bar else None
            outcomes.append(_attempt(image.name, lambda: ctx.repository.fetch(
                image, client, progress=progress, source_dir=base)))
    _report(fmt, "fetch", outcomes)


def _basic_auth(text: str, option: str) -> tuple[str, str]:
    from reconciler.loader import parse_credential_ref, resolve_credential

    ref = parse_credential_ref(text)
    if ref is None:
        raise click.BadParameter("write env:NAME or file:PATH", param_hint=option)
    user, sep, password = resolve_credential(ref).partition(":")
    if not sep or not user or not password:
        raise PermanentError(f"the credentials in {ref} are not in the form user:password",
                             code="CREDENTIALS", hint="store `user:password` in the variable or file")
    return user, password


@command.command("verify")
@_common
@click.argument("names", nargs=-1)
def verify_cmd(repo: Path, images_dir: Path | None, fmt: str, names: tuple[str, ...]) -> None:
    """Re-hash repository files against the catalog (slow: reads every byte) and refresh the
    checksum cache planning relies on. Exit 1 if any image is damaged (or a named one missing)."""
    ctx = _open(repo, images_dir, fmt)
    results = ctx.repository.verify(ctx.catalog, names or None)
    failed = [r for r in results if r.state is VerifyState.CHECKSUM_MISMATCH
              or (names and r.state is VerifyState.MISSING)]
    if fmt == "json":
        _emit_json({"format_version": FORMAT_VERSION, "repository": str(ctx.repository.root),
                    "results": [{"name": r.name, "state": str(r.state), "size": r.size, "sha256": r.sha256,
                                 "expected": r.expected} for r in results],
                    "ok": not failed})
    else:
        for r in results:
            line = f"{r.state:<17} {r.name}"
            if r.state is VerifyState.CHECKSUM_MISMATCH:
                line += (f"  sha256 {r.sha256} ({_size(r.size)}), catalog {r.expected} — "
                         f"run `reconciler images remove {r.name}` and fetch it again")
            click.echo(line, err=r in failed)
        ok = sum(r.state is VerifyState.OK for r in results)
        click.echo(f"verify: {ok} ok, {len(failed)} failed, "
                   f"{sum(r.state is VerifyState.MISSING for r in results)} missing, "
                   f"{sum(r.state is VerifyState.NOT_IN_CATALOG for r in results)} not in the catalog")
    if failed:
        raise click.exceptions.Exit(ExitCode.ERROR)


@command.command("remove")
@_common
@click.argument("names", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Remove images that devices still target.")
def remove_cmd(repo: Path, images_dir: Path | None, fmt: str, names: tuple[str, ...], force: bool) -> None:
    """Delete images (and interrupted downloads of them) from the repository."""
    ctx = _open(repo, images_dir, fmt)
    refs = ctx.resolved_refs() if not force else {}
    outcomes: list[Outcome] = []
    for name in dict.fromkeys(names):
        devices = refs.get(name, References()).devices
        if devices:
            outcomes.append(Outcome(name, "error", error=PermanentError(
                f"{name} is the target of {len(devices)} device(s) ({', '.join(devices[:5])}"
                f"{', ...' if len(devices) > 5 else ''}); without it their upgrades are blocked "
                "(IMAGE_NOT_IN_REPOSITORY)", hint="change the desired state first, or pass --force")))
            continue
        try:
            gone = ctx.repository.remove(name)
        except ReconcilerError as e:
            outcomes.append(Outcome(name, "error", error=e))
            continue
        outcomes.append(Outcome(name, "removed", note=", ".join(sorted(p.name for p in gone if p.name != name))
                                or None))
    _report(fmt, "remove", outcomes)
