"""Shared CLI output: sizes, tables on a terminal and in a pipe, the progress bar."""

from __future__ import annotations

import pytest

from reconciler.cli import output


@pytest.mark.parametrize(("n", "text"), [(None, "-"), (0, "0 B"), (1023, "1023 B"), (65536, "64.0 KiB"),
                                         (5505024, "5.2 MiB"), (3 << 30, "3.0 GiB"), (5 << 40, "5.0 TiB")])
def test_human_size(n: int | None, text: str) -> None:
    assert output.human_size(n) == text


def test_a_plain_table_in_a_pipe(capsys: pytest.CaptureFixture[str]) -> None:
    output.print_table(("FILE", "SIZE"), [("asa916-smp-k8.bin", "5.2 MiB"), ("x", "16.0 KiB")], right=("SIZE",),
                       indent=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["  FILE                   SIZE", "  asa916-smp-k8.bin   5.2 MiB", "  x                  16.0 KiB"]


def test_a_rich_table_and_progress_on_a_terminal(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(output, "is_tty", lambda stderr=False: True)
    output.print_table(("FILE", "SIZE"), [("asa916-smp-k8.bin", "5.2 MiB")], indent=4)
    out = capsys.readouterr().out
    assert "FILE" in out and "asa916-smp-k8.bin" in out
    monkeypatch.setenv("CI", "true")
    assert not output.show_progress()
    monkeypatch.delenv("CI")
    assert output.show_progress()
    with output.progress_bar(True, "fw-dc-pair disk0:/asdm-741.bin") as update:
        assert update is not None
        update(0, 100)
        update(100, 100)
    with output.progress_bar(False, "x") as none:
        assert none is None
