"""The pull-request comment: what this PR changes, what blocks it, and what drifts anyway.

Order follows what a reviewer needs first: validation problems (file:line, linked to the PR's
revision when the GitHub context is known), then the devices the PR changes with the reason for
each, then the planner's own Markdown for those devices (blocked first, steps collapsed), then
devices that drift without this PR, removals, and changes that need no new plan. The first line
is a hidden marker so a workflow can find and update its previous comment. Kept under GitHub's
comment limit: the plan part gets what the other sections leave.
"""

from __future__ import annotations

from reconciler.cli.validate import Problem, collect
from reconciler.contract import Severity
from reconciler.core.plan.model import DevicePlan
from reconciler.gitops.changes import DeviceChange
from reconciler.gitops.prmode import PrPlan
from reconciler.render.describe import change_text, status
from reconciler.render.markdown import _ICON, MAX_CHARS, _cell, render_markdown

MARKER = "<!-- reconciler-plan -->"
_MAX_ROWS = 100  # per list section; the JSON plan has everything


def render_pr_markdown(pr: PrPlan, *, link_base: str | None = None,
                       max_chars: int = MAX_CHARS) -> str:
    """`link_base` (".../owner/repo/blob/<sha>/") turns file:line into links."""
    head = [MARKER, "## reconciler: plan for this pull request", "",
            (f"<sub>base `{pr.base[:12]}` (merge base of `{_cell(pr.base_ref)}`) → head "
             f"`{pr.head[:12]}`</sub>"), ""]
    head.append(_verdict(pr))
    head.append("")
    for note in (pr.changes.base_incomplete, pr.changes.head_incomplete):
        if note:
            head += [f"> ⚠️ {_cell(note)}", ""]

    problems = [p for p in collect(list(pr.problems))
                if p.finding.severity is not Severity.INFO]
    problems.sort(key=lambda p: p.finding.severity is not Severity.ERROR)
    if problems:
        n_err = sum(1 for p in problems if p.finding.severity is Severity.ERROR)
        head += [(f"### Validation problems ({n_err} error{'s' * (n_err != 1)}, "
                  f"{len(problems) - n_err} warning{'s' * (len(problems) - n_err != 1)})"), ""]
        head += [_problem(p, pr.prefix, link_base) for p in problems[:_MAX_ROWS]]
        head += _more(len(problems)) + [""]

    if pr.changes.planned:
        head += [f"### Devices this PR changes ({len(pr.changes.planned)})", "",
                 "| Device | Why |", "|---|---|"]
        head += [_change_row(c) for c in pr.changes.planned[:_MAX_ROWS]]
        head += _more(len(pr.changes.planned)) + [""]

    tail: list[str] = []
    if pr.drifting:
        tail += [f"### Already drifting, not changed by this PR ({len(pr.drifting)})", "",
                 ("<details><summary>These devices differ from the desired state already; "
                  "applying the merged state would change them too.</summary>"), "",
                 "| Device | Changes | Status |", "|---|---|---|"]
        tail += [_drift_row(d) for d in pr.drifting[:_MAX_ROWS]]
        tail += _more(len(pr.drifting)) + ["", "</details>", ""]
    if pr.changes.removed:
        names = ", ".join(f"`{_cell(c.device)}`" for c in pr.changes.removed[:_MAX_ROWS])
        tail += [f"### Removed from the inventory ({len(pr.changes.removed)})", "",
                 f"{names} — no longer managed; their images are left as they are.", ""]
    if pr.changes.unplanned:
        tail += [f"### Other changes, nothing to re-plan ({len(pr.changes.unplanned)})", "",
                 ("<details><summary>Job settings, connection details or group membership "
                  "changed; the steps stay the same.</summary>"), "",
                 "| Device | Change |", "|---|---|"]
        tail += [_change_row(c) for c in pr.changes.unplanned[:_MAX_ROWS]]
        tail += _more(len(pr.changes.unplanned)) + ["", "</details>", ""]

    body = _plan_section(pr, max_chars - sum(len(x) + 1 for x in head + tail) - 100)
    return "\n".join([*head, *body, *tail]).rstrip() + "\n"


def _verdict(pr: PrPlan) -> str:
    if pr.fatal:
        return (f"⛔ **Not planned**: the PR's desired state has {len(pr.fatal)} error(s) that "
                "must be fixed first (below, and annotated on the files).")
    n = len(pr.changes.planned)
    if not n:
        what = "This PR changes no device's images or steps. ✅"
    else:
        what = f"This PR changes **{n} device{'s' * (n != 1)}**"
        blocked = [d for d in pr.plan.devices if d.blocked] if pr.planned else []
        what += f", **{len(blocked)} blocked** ⛔." if blocked else "."
    if pr.drifting:
        what += f" {len(pr.drifting)} other device(s) drift already (listed at the end)."
    return what


def _plan_section(pr: PrPlan, budget: int) -> list[str]:
    if not pr.planned:
        if pr.fatal or not pr.changes.planned:
            return []
        return [("_No observed state was given (`--inventory` or `--discover`), so the steps "
                 "and the device checks (disk space, failover state, ...) are not planned; the "
                 "table above is what the policy now asks for._"), ""]
    if not pr.plan.devices and not pr.plan.fleet_findings:
        return ["_The devices this PR changes already run what it asks for._", ""]
    lines = render_markdown(pr.plan, max_chars=max(budget, 2_000)).splitlines()
    title = lines[0].replace("### reconciler plan:", "### Plan for these devices:", 1)
    return [title, *lines[1:], ""]


def _problem(p: Problem, prefix: str, link_base: str | None) -> str:
    f = p.finding
    where = ""
    if f.location is not None:
        path = f"{prefix}/{f.location.file}" if prefix else f.location.file
        label = f"{path}:{f.location.line}" if f.location.line else path
        if link_base:
            anchor = f"#L{f.location.line}" if f.location.line else ""
            where = f"[`{label}`]({link_base}{path}{anchor}) "
        else:
            where = f"`{label}` "
    devices = ""
    if p.devices:
        shown = ", ".join(p.devices[:5])
        more = f", +{len(p.devices) - 5} more" if len(p.devices) > 5 else ""
        devices = f" _(device{'s' * (len(p.devices) > 1)}: {_cell(shown)}{more})_"
    return (f"- {_ICON[f.severity]} {where}**{f.code}** {_cell(f.message)}{devices} — "
            f"{_cell(f.action)}")


def _change_row(c: DeviceChange) -> str:
    reasons = "<br>".join(_cell(r.replace(" -> ", " → ")) for r in c.reasons)
    return f"| `{_cell(c.device)}` | {reasons} |"


def _drift_row(d: DevicePlan) -> str:
    changes = "<br>".join(f"{c.type} {_cell(change_text(c))}" for c in d.changes)
    why = ""
    if d.blocked:
        codes = sorted({str(f.code) for f in d.findings if f.severity is Severity.ERROR})
        why = f" ({', '.join(codes)})"
    return f"| `{_cell(d.device)}` | {changes} | {status(d)}{why} |"


def _more(n: int) -> list[str]:
    return ["", f"_… and {n - _MAX_ROWS} more (see `--format json`)._"] if n > _MAX_ROWS else []
