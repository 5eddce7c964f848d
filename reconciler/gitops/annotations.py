"""GitHub Actions workflow commands for findings: annotations on the PR's files and lines.

`::error file=desired/fleet.yaml,line=12,title=CONFLICTING_TARGETS::message` printed on stdout
by any step becomes an annotation on that line of the PR diff. Escaping follows the runner's
rules exactly (actions/toolkit `command.ts`): in the message `%`, CR and LF are percent-encoded;
in properties also `:` and `,`. So a message can never end the command early or start another
one (a YAML value containing "\n::set-env" stays inert text).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping

from reconciler.cli.validate import Problem, collect
from reconciler.contract import Severity
from reconciler.core.findings import Finding
from reconciler.errors import Location

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
_MAX_DEVICES_NAMED = 10


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, **properties: object) -> str:
    """`::command k=v,k=v::message`; properties that are None or empty are left out."""
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items()
                     if v is not None and v != "")
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


def in_github_actions(env: Mapping[str, str] | None = None) -> bool:
    return (env if env is not None else os.environ).get("GITHUB_ACTIONS") == "true"


def annotate_problem(problem: Problem, *, prefix: str = "",
               device_locations: Mapping[str, Location] | None = None) -> str:
    """One workflow command for one (merged) problem. `prefix` is where the desired-state root
    sits in the repository, since GitHub wants paths from the repository's top."""
    f = problem.finding
    loc = f.location
    if loc is None and device_locations and problem.devices:
        loc = device_locations.get(problem.devices[0])  # the device's inventory entry
    message = f.message
    if problem.devices:
        shown = ", ".join(problem.devices[:_MAX_DEVICES_NAMED])
        more = len(problem.devices) - _MAX_DEVICES_NAMED
        noun = "devices" if len(problem.devices) > 1 else "device"
        message += f" [{noun}: {shown}{f', +{more} more' if more > 0 else ''}]"
    if f.member and f.member not in message:
        message += f" (unit {f.member})"
    message += f"\nFix: {f.action}"
    file = posixpath.join(prefix, loc.file) if loc is not None and prefix else (
        loc.file if loc is not None else None)
    return workflow_command(_COMMAND[f.severity], message, file=file,
                            line=loc.line if loc is not None else None, title=str(f.code))


def annotate(findings: Iterable[Finding], *, prefix: str = "", include_info: bool = False,
                device_locations: Mapping[str, Location] | None = None) -> list[str]:
    """Workflow commands for `findings`, errors first, one per problem (a problem several
    devices share is one annotation naming them)."""
    problems = [p for p in collect(list(findings))
                if include_info or p.finding.severity is not Severity.INFO]
    problems.sort(key=lambda p: p.finding.severity is not Severity.ERROR)  # stable: keeps lines
    return [annotate_problem(p, prefix=prefix, device_locations=device_locations) for p in problems]
