"""Scenario fleets (tests/fixtures/plan/*) through the real loader, resolver and planner."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from scenarios import run, scenario_names, signature

from reconciler.cli.plan import exit_code, fatal_findings
from reconciler.core.plan import Plan

SCHEMA = json.loads((Path(__file__).parents[3] / "schemas" / "plan.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def _change_text(c) -> str:  # type: ignore[no-untyped-def]
    text = f"{c.type} {c.from_version or '-'} -> {c.to_version}"
    return text + (f" via {', '.join(c.hops)}" if c.hops else "")


@pytest.mark.parametrize("name", scenario_names())
def test_scenario(name: str, tmp_path: Path) -> None:
    plan, load_findings, expect = run(name, tmp_path)
    assert not fatal_findings(load_findings), [f.line() for f in load_findings]
    assert sorted(str(f.code) for f in load_findings) == sorted(expect.get("load_codes", []))

    doc = plan.to_dict()
    errors = sorted(VALIDATOR.iter_errors(doc), key=str)
    assert not errors, errors[0]
    assert Plan.from_dict(json.loads(json.dumps(doc))).to_dict() == doc

    if "exit" in expect:
        assert exit_code(plan, detailed=True) == expect["exit"]
    for key, want in expect.get("summary", {}).items():
        assert getattr(plan.summary, key) == want, (key, plan.summary)

    for dev, spec in expect.get("devices", {}).items():
        d = plan.device(dev)
        if spec == "in-sync":
            assert d is None, f"{dev} should be in sync: {d}"
            continue
        assert d is not None, f"{dev} missing from the plan"
        where = f"{name}/{dev}"
        codes = [str(f.code) for f in d.findings]
        if "blocked" in spec:
            assert d.blocked is spec["blocked"], (where, [f.line() for f in d.findings])
        if "codes" in spec:
            assert sorted(codes) == sorted(spec["codes"]), (where, [f.line() for f in d.findings])
        for code, parts in spec.get("messages", {}).items():
            msgs = [f.message for f in d.findings if f.code == code]
            assert msgs, (where, code)
            for part in parts:
                assert any(part in m for m in msgs), (where, code, part, msgs)
        for code, members in spec.get("members", {}).items():
            assert sorted(f.member or "" for f in d.findings if f.code == code) == sorted(members)
        if "changes" in spec:
            assert [_change_text(c) for c in d.changes] == spec["changes"], where
        if "steps" in spec:
            want = [line.strip() for line in spec["steps"].splitlines() if line.strip()]
            got = [signature(s) for s in d.steps]
            assert got == want, (where, "\n" + "\n".join(got))
            assert [s.seq for s in d.steps] == list(range(1, len(d.steps) + 1))
        for seq, fields in spec.get("step_fields", {}).items():
            step = d.steps[int(seq) - 1].to_dict()
            for k, v in fields.items():
                assert step.get(k) == v, (where, seq, k, step)
        for key in ("configuration_required_after",):
            if key in spec:
                assert getattr(d, key) is spec[key], (where, key)
        if "contexts" in spec:
            assert list(d.contexts) == spec["contexts"]
        for part in spec.get("notes", ()):
            assert any(part in n for n in d.notes), (where, d.notes)


SPEC3_CODES = {
    "DISK_SPACE", "INSTALL_LOCATION_MISSING", "PENDING_CONFIG", "STANDBY_UNREACHABLE",
    "STANDBY_NOT_READY", "ACTIVE_ACTIVE", "CLUSTER_DOWNGRADE", "CLUSTER_PLATFORM",
    "IMAGE_NOT_IN_REPOSITORY", "IMAGE_CHECKSUM", "BUNDLE_SYSTEM_IMAGES", "UNSUPPORTED_DEVICE",
    "UNSUPPORTED_IMAGE", "CONTEXT_IMAGE_TYPE", "BACKUP_NOT_SUPPORTED", "CONFIG_REGISTER",
    "DEVICE_STATE", "CONFLICTING_TARGETS", "RAM_LOW", "IMAGE_PLATFORM", "VERSION_UNSUPPORTED",
    "DOWNGRADE", "SAME_VERSION", "VPN_SHARED_POLICY", "HA_UPGRADE_PATH", "CONFIG_REQUIRED_AFTER",
    # planner information and the devices that cannot be planned at all
    "HA_HOPS", "CLEANUP", "WARNING_ACCEPTED", "NOT_OBSERVED", "DEVICE_UNREACHABLE",
}


def test_the_scenarios_cover_every_finding_and_every_topology() -> None:
    from scenarios import FIXTURES, read_yaml

    codes: set[str] = set()
    with_steps: set[str] = set()
    for name in scenario_names():
        expect = read_yaml(FIXTURES / name / "expect.yaml")
        snapshot = read_yaml(FIXTURES / name / "snapshot.yaml")
        kinds = {}
        for dev in snapshot["devices"]:
            kind = dev["mode"]
            if dev.get("driver") == "agent":
                kind = "agent"
            elif dev.get("context"):
                kind = "user-context"
            elif dev.get("context_mode") == "multiple":
                kind = "multiple-context"
            kinds[dev["name"]] = kind
        for dev, spec in expect.get("devices", {}).items():
            if isinstance(spec, dict):
                codes.update(spec.get("codes", ()))
                if spec.get("steps"):
                    with_steps.add(kinds[dev])
    assert SPEC3_CODES <= codes, sorted(SPEC3_CODES - codes)
    assert with_steps >= {"standalone", "active-standby", "active-active", "cluster",
                          "multiple-context", "user-context", "agent"}, with_steps
