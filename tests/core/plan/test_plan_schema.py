import json
from pathlib import Path

from reconciler.contract import FindingCode, StepAction
import pytest

from reconciler.render.schema import SCHEMA_PATHS, plan_schema_text

ROOT = Path(__file__).parents[3]
SCHEMA = ROOT / "schemas" / "plan.schema.json"


@pytest.mark.parametrize("rel", SCHEMA_PATHS)
def test_checked_in_schema_is_the_one_built_from_the_contract(rel):
    assert (ROOT / rel).read_text(encoding="utf-8") == plan_schema_text(), (
        f"{rel} is out of date: run `reconciler contract --write`")


def test_code_and_action_enums_are_exactly_the_contract():
    doc = json.loads(SCHEMA.read_text(encoding="utf-8"))
    codes = doc["$defs"]["finding"]["properties"]["code"]["enum"]
    actions = doc["$defs"]["step"]["properties"]["action"]["enum"]
    assert codes == [str(c) for c in FindingCode]
    assert actions == [str(a) for a in StepAction]
