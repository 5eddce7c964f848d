"""Stable JSON: the plan's dict form (schemas/plan.schema.json), keys in contract order."""

from __future__ import annotations

import json

from reconciler.core.plan.model import Plan


def render_json(plan: Plan) -> str:
    return json.dumps(plan.to_dict(), indent=2, ensure_ascii=False) + "\n"
