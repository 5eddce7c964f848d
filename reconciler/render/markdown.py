"""Markdown for a pull-request comment: summary line, blocked devices first, a table per device,
steps in collapsible details. Kept under GitHub's comment size limit: beyond it, step details and
then whole devices are left out with a note pointing at the JSON plan."""

from __future__ import annotations

from reconciler.contract import FindingCode, Severity
from reconciler.core.plan.model import DevicePlan, Plan
from reconciler.render.describe import describe_step, ordered_devices, status, summary_line

MAX_CHARS = 60_000  # GitHub rejects comments over 65,536 characters
_ICON = {Severity.ERROR: "⛔", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}


def _cell(text: object) -> str:
    return (str(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
            .replace(">", "&gt;").replace("\n", " "))


def _device(d: DevicePlan, *, steps: bool) -> str:
    head = "⛔ " if d.blocked else ""
    lines = [f"#### {head}`{d.device}` ({d.mode or 'not observed'}) — {status(d)}", ""]
    if d.changes:
        lines += ["| Image | From | To | Target image | Hops |", "|---|---|---|---|---|"]
        for c in d.changes:
            lines.append(f"| {c.type} | {_cell(c.from_version or '—')} | {_cell(c.to_version)} | "
                         f"`{_cell(c.image)}` | {_cell(', '.join(c.hops)) or '—'} |")
        lines.append("")
    shown = [f for f in d.findings if f.code is not FindingCode.WARNING_ACCEPTED]
    for f in shown:
        unit = f" ({_cell(f.member)})" if f.member else ""
        lines.append(f"- {_ICON[f.severity]} **{f.severity}** `{f.code}`{unit}: {_cell(f.message)}")
    accepted = len(d.findings) - len(shown)
    if accepted:
        lines.append(f"- {accepted} warning(s) accepted by `accept_warnings`")
    for note in d.notes:
        lines.append(f"- {_cell(note)}")
    if shown or accepted or d.notes:
        lines.append("")
    if d.steps:
        if steps:
            lines += [f"<details><summary>{len(d.steps)} steps</summary>", "",
                      "| # | Action | Unit | Via | Detail |", "|---:|---|---|---|---|"]
            for s in d.steps:
                hop = f" (hop {s.hop})" if s.hop else ""
                lines.append(f"| {s.seq} | `{s.action}`{hop} | {_cell(s.member)} | "
                             f"{_cell(s.via or '')} | {_cell(describe_step(s))} |")
            lines += ["", "</details>", ""]
        else:
            lines += [f"_{len(d.steps)} steps: left out to fit the comment; see the JSON plan._",
                      ""]
    return "\n".join(lines)


def render_markdown(plan: Plan, *, max_chars: int = MAX_CHARS) -> str:
    commit = f"`{plan.source.describe()}`" if plan.source.commit else "working tree"
    head = [f"### reconciler plan: {summary_line(plan)}", "",
            f"<sub>desired {commit} · observed {_cell(plan.taken_at or 'unknown')} · "
            f"fingerprint `{plan.fingerprint[:23]}…`</sub>", ""]
    for f in plan.fleet_findings:
        where = f" ({_cell(f.where())})" if f.where() else ""
        head.append(f"- {_ICON[f.severity]} **{f.severity}** `{f.code}`{where}: "
                    f"{_cell(f.message)}")
    if plan.fleet_findings:
        head.append("")
    if not plan.devices:
        head.append("Every managed device runs its desired images. ✅")
        return "\n".join(head) + "\n"

    devices = ordered_devices(plan)
    budget = max_chars - sum(len(x) + 1 for x in head) - 200
    full = [_device(d, steps=True) for d in devices]
    if sum(len(x) + 1 for x in full) <= budget:
        body = full
    else:
        body, used = [], 0
        for d in devices:
            part = _device(d, steps=False)
            if used + len(part) + 1 > budget:
                break
            body.append(part)
            used += len(part) + 1
        left = len(devices) - len(body)
        tail = (f"_{left} more device(s) left out to fit the comment; the JSON plan has "
                "everything._" if left else "")
        if tail:
            body.append(tail)
    return "\n".join([*head, *body]).rstrip() + "\n"
