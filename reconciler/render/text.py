"""Terminal output: what changes, what is blocked and why, what to look at."""

from __future__ import annotations

import io
from collections.abc import Iterator

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from reconciler.contract import FindingCode, Severity
from reconciler.core.plan.model import Plan
from reconciler.render.describe import change_text, describe_step, status, summary_line

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _table(title: str, *columns: str) -> Table:
    t = Table(title=title, title_justify="left", title_style="bold", show_lines=False,
              header_style="bold", expand=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    return t


def renderables(plan: Plan, *, steps: bool = False, infos: bool = True) -> Iterator[RenderableType]:
    src = plan.source.describe()
    yield Text.assemble(("Plan: ", "bold"), summary_line(plan))
    yield Text(f"desired {src} · observed {plan.taken_at or 'unknown'} · {plan.fingerprint[:23]}…",
               style="dim")

    if plan.fleet_findings:
        t = _table("Desired state", "Where", "Code", "Message")
        for f in plan.fleet_findings:
            t.add_row(f.where(), Text(str(f.code), style=_STYLE[f.severity]), f.message)
        yield t

    changing = [d for d in plan.devices if d.changes and not d.blocked]
    if changing:
        t = _table("Changes", "Device", "Mode", "Image", "Change", "Target image", "Steps")
        for d in changing:
            for i, c in enumerate(d.changes):
                t.add_row(d.device if i == 0 else "", str(d.mode) if i == 0 else "", str(c.type),
                          change_text(c), c.image, status(d) if i == 0 else "")
        yield t

    blocked = [d for d in plan.devices if d.blocked]
    if blocked:
        t = _table("Blocked", "Device", "Code", "Unit", "Reason and what to do")
        for d in blocked:
            for f in d.findings:
                if f.severity is Severity.ERROR:
                    t.add_row(d.device, Text(str(f.code), style=_STYLE[f.severity]),
                              f.member or "", f.message)
        yield t

    wanted = {Severity.WARNING} | ({Severity.INFO} if infos else set())
    # a blocked device's warnings wait until it is unblocked (they are in the JSON plan)
    rows = [(d.device, f) for d in plan.devices if not d.blocked for f in d.findings
            if f.severity in wanted and f.code is not FindingCode.WARNING_ACCEPTED]
    if rows:
        t = _table("Warnings and notes", "Device", "Code", "Unit", "Message")
        for device, f in rows:
            t.add_row(device, Text(str(f.code), style=_STYLE[f.severity]), f.member or "",
                      f.message)
        yield t
    accepted = sum(1 for d in plan.devices for f in d.findings
                   if f.code is FindingCode.WARNING_ACCEPTED)
    if accepted:
        yield Text(f"{accepted} warning(s) accepted by accept_warnings (see --format json)",
                   style="dim")
    for d in plan.devices:
        for note in d.notes:
            yield Text(f"{d.device}: {note}", style="dim")

    if steps:
        for d in plan.devices:
            if not d.steps:
                continue
            t = _table(f"Steps: {d.device}", "#", "Action", "Unit", "Via", "Detail")
            for s in d.steps:
                hop = f" [hop {s.hop}]" if s.hop else ""
                t.add_row(str(s.seq), str(s.action) + hop, s.member, s.via or "",
                          describe_step(s))
            yield t
    if not plan.devices:
        yield Text("Every managed device runs its desired images.", style="green")


def print_plan(plan: Plan, console: Console, *, steps: bool = False) -> None:
    console.print(Group(*renderables(plan, steps=steps)))


def render_text(plan: Plan, *, steps: bool = False, width: int = 160) -> str:
    buf = io.StringIO()
    print_plan(plan, Console(file=buf, width=width, color_system=None, force_terminal=False),
               steps=steps)
    return buf.getvalue()
