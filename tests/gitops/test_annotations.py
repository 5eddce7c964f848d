"""GitHub workflow commands: exact escaping, one annotation per problem, paths from the repo top."""

from __future__ import annotations

from reconciler.contract import FindingCode
from reconciler.core.findings import Finding
from reconciler.errors import Location
from reconciler.gitops.annotations import (
    annotate,
    escape_data,
    escape_property,
    in_github_actions,
    workflow_command,
)


def _unescape_data(s: str) -> str:  # the runner's ActionCommand.UnescapeData
    return s.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(s: str) -> str:
    return (s.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",")
            .replace("%25", "%"))


def _parse(line: str) -> tuple[str, dict[str, str], str]:
    """Parse a command the way the runner does: split at the first `::` after the name."""
    assert line.startswith("::")
    head, _, data = line[2:].partition("::")
    command, _, props = head.partition(" ")
    out = {}
    for pair in props.split(",") if props else []:
        k, _, v = pair.partition("=")
        out[k] = _unescape_property(v)
    return command, out, _unescape_data(data)


def test_escaping_rules() -> None:
    assert escape_data("50% done\r\nnext: a,b") == "50%25 done%0D%0Anext: a,b"
    assert escape_property("C:\\x,y%\n") == "C%3A\\x%2Cy%25%0A"
    assert escape_data("%0A") == "%250A"  # already-encoded text stays literal


def test_round_trip_cannot_inject_commands() -> None:
    evil = "bad value\n::set-env name=PATH::/tmp\r\n::add-mask::x 100%"
    line = workflow_command("error", evil, file="desired/a,b:c.yaml", line=7, title="T:1,2")
    assert "\n" not in line and "\r" not in line
    command, props, data = _parse(line)
    assert command == "error"
    assert props == {"file": "desired/a,b:c.yaml", "line": "7", "title": "T:1,2"}
    assert data == evil
    assert workflow_command("warning", "m") == "::warning::m"
    assert workflow_command("error", "m", file=None, line=None, title="") == "::error::m"


def test_findings_to_annotations() -> None:
    conflict = "group:a (desired/fleet.yaml:23) sets asa to 9.4(1) but group:b sets 9.3(3)"
    findings = [
        Finding(FindingCode.RAM_LOW, "needs 8192 MB", device="fw-1", member="fw-1/b",
                location=Location("desired/images.yaml", 50)),
        Finding(FindingCode.CONFLICTING_TARGETS, conflict, device="fw-1",
                location=Location("desired/fleet.yaml", 34)),
        Finding(FindingCode.CONFLICTING_TARGETS, conflict, device="fw-2",
                location=Location("desired/fleet.yaml", 34)),
        Finding(FindingCode.YAML_SYNTAX, "expected ',' or '}', but got '<stream end>'",
                location=Location("desired/devices.yaml", 19)),
        Finding(FindingCode.HA_HOPS, "through 9.2(3)", device="fw-1"),
    ]
    lines = annotate(findings, prefix="network/fleet")
    parsed = [_parse(x) for x in lines]
    assert [(c, p.get("title")) for c, p, _ in parsed] == [
        ("error", "YAML_SYNTAX"), ("error", "CONFLICTING_TARGETS"), ("warning", "RAM_LOW")]
    _, props, data = parsed[1]
    assert props["file"] == "network/fleet/desired/fleet.yaml" and props["line"] == "34"
    assert data.startswith(conflict + " [devices: fw-1, fw-2]\nFix: make the groups'")
    assert "(unit fw-1/b)" in parsed[2][2]
    assert parsed[0][1]["file"] == "network/fleet/desired/devices.yaml"
    info = annotate(findings, include_info=True)
    assert any(x.startswith("::notice title=HA_HOPS::") for x in info)


def test_device_findings_point_at_the_inventory_entry() -> None:
    f = Finding(FindingCode.DISK_SPACE, "disk0 on fw-1/b: need 100, free 10", device="fw-1",
                member="fw-1/b")
    (line,) = annotate([f], device_locations={"fw-1": Location("inventory/devices.yaml", 12)})
    assert line.startswith("::error file=inventory/devices.yaml,line=12,title=DISK_SPACE::")
    (bare,) = annotate([f])
    assert bare.startswith("::error title=DISK_SPACE::")


def test_detects_github_actions() -> None:
    assert in_github_actions({"GITHUB_ACTIONS": "true"})
    assert not in_github_actions({"GITHUB_ACTIONS": "false"})
    assert not in_github_actions({})
