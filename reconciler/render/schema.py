"""Write the plan schema from the contract (`reconciler contract --write` calls this).

Two identical copies, like the other schemas: `schemas/plan.schema.json` for editors and users,
`reconciler/schemas/plan.schema.json` shipped in the package.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from reconciler.core.plan.schema import build_plan_schema

SCHEMA_PATHS = ("schemas/plan.schema.json", "reconciler/schemas/plan.schema.json")


def plan_schema_text() -> str:
    return json.dumps(build_plan_schema(), indent=2, ensure_ascii=False) + "\n"


def write_plan_schema(root: Path | str = ".") -> list[Path]:
    out = []
    for rel in SCHEMA_PATHS:
        path = Path(root) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(plan_schema_text(), encoding="utf-8")
        out.append(path)
    return out


if __name__ == "__main__":
    for p in write_plan_schema(sys.argv[1] if len(sys.argv) > 1 else "."):
        print(p)
