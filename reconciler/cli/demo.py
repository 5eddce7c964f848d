"""`reconciler demo`: the whole product on the bundled example fleet, in well under a minute.

1. copies the example repository (desired/, inventory/) into a fresh working area
   (`.reconciler/demo/`, git-ignored; removed and rebuilt on every run) and points the inventory
   at a simulated twin of the fleet, served in a background thread on a free loopback port over
   HTTPS with its own CA, at a time scale that turns 7-minute reloads into a second;
2. generates the devices' credentials (never printed; redacted from every record);
3. fetches the catalog's synthetic images into the working area's image repository;
4. discovers the fleet, prints the plan, applies it with live progress, re-discovers and prints
   the fleet's compliance, the job summary and why the blocked devices were left alone.

The example policy's maintenance windows (weekends, 01:00 Asia/Tokyo) are overridden for the
demo, and the job says so. Exit 0 when the job did what the plan said (blocked devices are
expected, not failures), 1 otherwise.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import click
from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from reconciler.cli import runs
from reconciler.contract import ExitCode, Severity
from reconciler.core.model import DesiredState, ImageType, ResolvedDevice
from reconciler.core.observed import ObservedDevice, Snapshot
from reconciler.core.plan import Plan
from reconciler.core.versions import VersionError, same_release
from reconciler.errors import ConfigError
from reconciler.executor import JobRequest
from reconciler.secrets import register_secret
from reconciler.store import Job, JobDeviceStatus

EXAMPLE_PORT = "127.0.0.1:18443"
PASSWORD_ENV, TOKEN_ENV = "RECONCILER_FW_PASSWORD", "RECONCILER_AGENT_TOKEN"


def find_example(given: Path | None) -> Path:
    """The example repository: --example, else the current directory, else the checkout this
    package was installed from."""
    candidates = [given] if given else [Path.cwd(), Path(__file__).resolve().parents[2]]
    for c in candidates:
        if c and (c / "desired" / "images.yaml").is_file() and \
                (c / "inventory" / "devices.yaml").is_file():
            return c
    raise ConfigError("cannot find the example repository (desired/images.yaml and "
                      "inventory/devices.yaml)", code="USAGE",
                      hint="run from the project's checkout, or pass --example DIR")


class SimThread:
    """The simulated fleet served by uvicorn on its own event loop in a daemon thread, so its
    work never delays the executor's polls."""

    def __init__(self, fleet: object, tls_dir: Path) -> None:
        self.fleet = fleet
        self.tls_dir = tls_dir
        self.port = 0
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="simulated-fleet", daemon=True)

    def __enter__(self) -> SimThread:
        self._thread.start()
        if not self._ready.wait(timeout=60) or self._error is not None:
            raise ConfigError(f"the simulated fleet did not start: {self._error}")
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as e:  # noqa: BLE001 - reported to the starting thread
            self._error = e
            self._ready.set()

    async def _serve(self) -> None:
        from reconciler.sim.server import serve_in_background

        async with serve_in_background(self.fleet, port=0, tls_dir=self.tls_dir) as sim:  # type: ignore[arg-type]
            self.port = sim.port
            self._ready.set()
            while not self._stop.is_set():
                await asyncio.sleep(0.05)


@click.command("demo")
@click.option("--example", type=click.Path(file_okay=False, path_type=Path),
              help="The example repository to copy (default: this checkout).")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Working area, rebuilt on every run (default .reconciler/demo).")
@click.option("--time-scale", default=600.0, show_default=True, type=click.FloatRange(1),
              help="Simulated seconds per second (600: a 7-minute reload takes 0.7 s).")
@click.option("--progress", type=click.Choice(["auto", "bars", "lines"]), default="auto",
              show_default=True)
def command(example: Path | None, workdir: Path | None, time_scale: float,
            progress: str) -> None:
    """Simulate the example fleet, discover, plan, apply with live progress, and report."""
    source = find_example(example)
    work = (workdir or Path.cwd() / ".reconciler" / "demo").resolve()
    code = _demo(source, work, time_scale, progress)
    click.get_current_context().exit(code)


def _fresh_repo(source: Path, work: Path) -> Path:
    if work.exists():
        shutil.rmtree(work)
    repo = work / "repo"
    for d in ("desired", "inventory"):
        shutil.copytree(source / d, repo / d)
    return repo


def _demo(source: Path, work: Path, time_scale: float, progress: str) -> ExitCode:
    import os

    from reconciler.images.repository import ImageRepository
    from reconciler.sim.clock import ScaledClock
    from reconciler.sim.example import load_twin
    from reconciler.sim.fleet import SimCredentials, SimFleet

    out = runs.console()
    t0 = time.monotonic()
    out.print(Rule("reconciler demo: the example fleet, simulated"))
    repo = _fresh_repo(source, work)
    password, token = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    for name, value in ((PASSWORD_ENV, password), (TOKEN_ENV, token)):
        register_secret(value)
        os.environ[name] = value
    spec, skipped = load_twin(repo)
    fleet = SimFleet(spec, SimCredentials("admin", password, token), ScaledClock(time_scale))
    with SimThread(fleet, repo / ".reconciler" / "sim") as sim:
        inv = repo / "inventory" / "devices.yaml"
        inv.write_text(inv.read_text().replace(EXAMPLE_PORT, f"127.0.0.1:{sim.port}"))
        out.print(f"working area {work} (rebuilt on every run; .reconciler/ is git-ignored)",
                  markup=False)
        out.print(f"simulated fleet: {len(spec.devices)} devices at https://127.0.0.1:{sim.port}"
                  f"/d/<name>, time scale {time_scale:g} (a 7-minute reload takes "
                  f"{420 / time_scale:.1f} s); credentials generated for {PASSWORD_ENV} and "
                  f"{TOKEN_ENV} (redacted everywhere)", markup=False)
        for s in skipped:
            out.print(f"  not simulated: {s}", markup=False)
        images = repo / ".reconciler" / "images"
        from reconciler.planning import load_desired_state

        desired, findings = load_desired_state(repo)
        started = time.monotonic()
        store = ImageRepository(images)
        for image in desired.images.values():
            store.fetch(image)
        out.print(f"image repository: {len(desired.images)} synthetic catalog images fetched "
                  f"and verified in {time.monotonic() - started:.1f} s", markup=False)
        code = asyncio.run(_run(repo, images, desired, findings, out, progress))
    out.print(f"\ndemo finished in {time.monotonic() - t0:.0f} s; look around with "
              f"`reconciler jobs show 1 --repo {repo} --transcript`", markup=False)
    return code


async def _run(repo: Path, images: Path, desired: DesiredState, findings: list,  # type: ignore[type-arg]
               out: Console, progress: str) -> ExitCode:
    from reconciler.discovery import summary_rows
    from reconciler.executor.session import Session, Workspace
    from reconciler.render.text import print_plan

    ws = Workspace(repo, images, str(repo / ".reconciler" / "state.db"))
    async with Session(ws, actor="demo") as s:
        runs.print_recovery(out, await s.recover(desired))
        out.print(Rule("discovery"))
        snapshot = await s.discover(desired)
        t = Table(show_edge=False, pad_edge=False)
        for col in ("device", "mode", "model", "running", "members", "status"):
            t.add_column(col)
        for row in summary_rows(snapshot):
            t.add_row(*row)
        out.print(t)
        out.print(Rule("plan"))
        saved, resolved = await s.plan(desired, snapshot=snapshot, findings=findings)
        print_plan(saved.plan, out)
        out.print(Rule("apply"))
        out.print("the example policy allows changes only in weekend maintenance windows "
                  "(01:00-05:00 Asia/Tokyo); the demo overrides them, as an operator would with "
                  "--ignore-maintenance-windows, and the job records that", style="dim")
        job = s.create(saved, JobRequest(ignore_windows=True, description="reconciler demo",
                                         name=None), resolved)
        code = await runs.start_or_schedule(s, job, desired, out, no_wait=False,
                                            progress=progress, report=False)
        job = s.store.get_job(job.id)
        out.print(Rule("compliance after the job (fresh discovery)"))
        after = await s.discover(desired)
        _compliance(out, desired, resolved, after, saved.plan, s.store, job)
        out.print(Rule("job summary"))
        out.print(runs.job_table(s.store, job, brief=True))
        out.print(f"job {job.id} {job.name}: {job.status} — {runs.summary_line(job)}",
                  markup=False)
        out.print(Rule("blocked devices: left untouched, and why"))
        _blocked(out, saved.plan)
    if code is ExitCode.OK:
        out.print(f"[green]the job did what the plan said[/green]: {runs.summary_line(job)}; "
                  f"{sum(1 for d in saved.plan.devices if d.blocked)} device(s) blocked as "
                  "planned")
    return code


def _unit_versions(dev: ObservedDevice, kind: ImageType) -> list[str]:
    return [m.running.get(kind, "") for m in dev.members]


def _compliance(out: Console, desired: DesiredState, resolved: Mapping[str, ResolvedDevice],
                snapshot: Snapshot, plan: Plan, store: object, job: Job) -> None:
    from reconciler.store import Store

    assert isinstance(store, Store)
    results = {d.device: d for d in store.job_devices(job.id)}
    states = store.device_states(desired.inventory)
    blocked = {d.device: d for d in plan.devices if d.blocked}
    t = Table(show_edge=False, pad_edge=False)
    for col in ("device", "type", "target", "running", "", "device state", "result"):
        t.add_column(col, overflow="fold")
    staged = False
    for name in desired.inventory:
        r = resolved.get(name)
        dev = snapshot.devices.get(name)
        if name in results:
            d = results[name]
            style = "green" if d.status is JobDeviceStatus.SUCCEEDED else "red"
            result = f"[{style}]{d.status} (job {job.id})[/{style}]"
        elif name in blocked:
            codes = ", ".join(sorted({str(f.code) for f in blocked[name].findings
                                      if f.severity is Severity.ERROR}))
            result = f"[yellow]blocked: {codes}[/yellow]"
        else:
            result = "in sync"
        targets = sorted((r.targets.items() if r else ()), key=lambda kv: str(kv[0]))
        if not targets:
            t.add_row(name, "", "", "", "", str(states[name].state), "no targets")
            continue
        for i, (kind, target) in enumerate(targets):
            if dev is None:
                running, mark = "(not discovered)", "[red]✗[/red]"
            elif kind in (ImageType.ASA, ImageType.ASDM, ImageType.AGENT):
                versions = _unit_versions(dev, kind)
                running = " / ".join(dict.fromkeys(v or "-" for v in versions))
                ok = all(v and _same(kind, v, target.image.version) for v in versions)
                mark = "[green]✓[/green]" if ok else "[red]✗[/red]"
            else:
                configured = dev.running.get(kind, "")
                on_disk = all(any(dk.has(target.image.name) for dk in m.disks)
                              for m in dev.members)
                if configured and _same(kind, configured, target.image.version):
                    running, mark = configured, "[green]✓[/green]"
                elif on_disk:
                    running, mark = f"{configured or '-'} (new package staged)", \
                        "[yellow]~[/yellow]"
                    staged = True
                else:
                    running, mark = configured or "-", "[red]✗[/red]"
            first = i == 0
            t.add_row(name if first else "", str(kind), target.image.version, running, mark,
                      str(states[name].state) if first else "", result if first else "")
    out.print(t)
    if staged:
        out.print("~ VPN packages are copied and verified, not configured: using them in the "
                  "remote-access VPN policy is the operator's step (VPN_SHARED_POLICY); those "
                  "devices stay configuration-required until `reconciler device "
                  "mark-operational NAME`", style="dim")


def _same(kind: ImageType, a: str, b: str) -> bool:
    try:
        return same_release(kind, a, b)
    except VersionError:
        return False


def _blocked(out: Console, plan: Plan) -> None:
    blocked = [d for d in plan.devices if d.blocked]
    if not blocked:
        out.print("none")
        return
    for d in blocked:
        for f in d.findings:
            if f.severity is Severity.ERROR:
                unit = f" (unit {f.member})" if f.member and f.member != d.device else ""
                out.print(f"[bold]{d.device}[/bold]{unit}: [yellow]{f.code}[/yellow]")
                out.print(f"  {f.message}", markup=False)
                out.print(f"  what to do: {f.action}", markup=False)
