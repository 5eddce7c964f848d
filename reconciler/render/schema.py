"""Write `schemas/plan.schema.json` from the contract: `python -m reconciler.render.schema [ROOT]`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from reconciler.core.plan.schema import build_plan_schema


def plan_schema_text() -> str:
    return json.dumps(build_plan_schema(), indent=2, ensure_ascii=False) + "\n"


def write_plan_schema(root: Path | str = ".") -> Path:
    path = Path(root) / "schemas" / "plan.schema.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(plan_schema_text(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_plan_schema(sys.argv[1] if len(sys.argv) > 1 else "."))
