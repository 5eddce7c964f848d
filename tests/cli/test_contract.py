"""`reconciler contract`: docs/contract.md is generated from reconciler/contract.py."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.cli.contract import render_contract
from reconciler.contract import FINDINGS, STEP_ACTIONS, ExitCode
from tests.conftest import PROJECT_ROOT


def test_checked_in_contract_doc_is_current() -> None:
    current = (PROJECT_ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
    assert current == render_contract(), "run `reconciler contract --write` and commit the result"


def test_every_code_action_and_exit_code_is_documented() -> None:
    text = render_contract()
    for code, info in FINDINGS.items():
        assert f"| `{code.value}` | {info.meaning.replace('|', chr(92) + '|')} |" in text
    for action in STEP_ACTIONS:
        assert f"| `{action.value}` |" in text
    for exit_code in ExitCode:
        assert f"| {int(exit_code)} | `{exit_code.name}` |" in text


def test_write_and_check(tmp_path: Path) -> None:
    out = tmp_path / "docs" / "contract.md"
    runner = CliRunner()
    assert runner.invoke(cli, ["contract", "--check", "--output", str(out)]).exit_code == 1
    result = runner.invoke(cli, ["contract", "--write", "--output", str(out)])
    assert result.exit_code == 0 and out.read_text() == render_contract()
    assert runner.invoke(cli, ["contract", "--check", "--output", str(out)]).exit_code == 0
    printed = runner.invoke(cli, ["contract"])
    assert printed.output == render_contract()
