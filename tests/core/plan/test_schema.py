import json
from pathlib import Path

from reconciler.contract import FindingCode, StepAction
from reconciler.render.schema import plan_schema_text

SCHEMA = Path(__file__).parents[3] / "schemas" / "plan.schema.json"


def test_checked_in_schema_is_the_one_built_from_the_contract():
    assert SCHEMA.read_text(encoding="utf-8") == plan_schema_text(), (
        "schemas/plan.schema.json is out of date: run `python -m reconciler.render.schema`")


def test_code_and_action_enums_are_exactly_the_contract():
    doc = json.loads(SCHEMA.read_text(encoding="utf-8"))
    codes = doc["$defs"]["finding"]["properties"]["code"]["enum"]
    actions = doc["$defs"]["step"]["properties"]["action"]["enum"]
    assert codes == [str(c) for c in FindingCode]
    assert actions == [str(a) for a in StepAction]
