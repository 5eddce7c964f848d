"""docs/apply.md's transfer-error table is generated from reconciler/transfer_errors.py."""

from __future__ import annotations

from reconciler.render.transfer_errors import block, markdown_table, rewrite
from reconciler.transfer_errors import TRANSFER_CODES
from tests.conftest import PROJECT_ROOT


def test_the_documented_table_matches_the_codes() -> None:
    doc = (PROJECT_ROOT / "docs" / "apply.md").read_text(encoding="utf-8")
    assert block() in doc, ("docs/apply.md is out of date: run "
                            "`python -m reconciler.render.transfer_errors docs/apply.md`")
    assert rewrite(doc) == doc


def test_every_code_is_a_row_with_its_retry_class() -> None:
    table = markdown_table()
    for c in TRANSFER_CODES.values():
        row = next(r for r in table.splitlines() if r.startswith(f"| `{c.key.upper()}` |"))
        assert c.meaning in row and c.label in row
        assert ("yes, with backoff" in row) == (c.temporary and not c.split)
    assert "| `FTP-426` | FTP 426 |" in table and "| `WSA-11001` | WSAHOST_NOT_FOUND 11001 |" in table
    assert "split, then resent" in next(r for r in table.splitlines() if "HTTP-413" in r)
