"""Scenario fleets (tests/fixtures/plan/*) through the real loader, resolver and planner."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from scenarios import run, scenario_names, signature

from reconciler.cli.plan import exit_code
from reconciler.contract import Severity
from reconciler.core.plan import Plan

SCHEMA = json.loads((Path(__file__).parents[3] / "schemas" / "plan.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def _change_text(c) -> str:  # type: ignore[no-untyped-def]
    text = f"{c.type} {c.from_version or '-'} -> {c.to_version}"
    return text + (f" via {', '.join(c.hops)}" if c.hops else "")


@pytest.mark.parametrize("name", scenario_names())
def test_scenario(name: str, tmp_path: Path) -> None:
    plan, load_findings, expect = run(name, tmp_path)
    assert not [f for f in load_findings if f.severity is Severity.ERROR and not f.device], \
        [f.line() for f in load_findings]

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
