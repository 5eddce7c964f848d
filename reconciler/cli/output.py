"""Terminal output shared by commands: rich tables on a TTY, plain aligned text otherwise, JSON,
byte sizes, and a transfer progress bar (TTY only, never under CI)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from reconciler.secrets import redact

Progress = Callable[[int, int], None]


def human_size(n: int | None) -> str:
    """`512 B`, `64.0 KiB`, `5.2 MiB`, `1.1 GiB`."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)  # pragma: no cover


def is_tty(stderr: bool = False) -> bool:
    return (sys.stderr if stderr else sys.stdout).isatty()


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    if is_tty(stderr):
        return Console(stderr=stderr)
    # not a terminal: no colour, no wrapping, so the output greps and diffs cleanly
    return Console(file=sys.stderr if stderr else sys.stdout, no_color=True, highlight=False, width=10_000,
                   soft_wrap=True)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[str] = (),
                indent: int = 0) -> None:
    """A table: boxed headings on a TTY, plain aligned columns otherwise."""
    from rich import box
    from rich.padding import Padding
    from rich.table import Table

    tty = is_tty()
    table = Table(box=box.SIMPLE_HEAD if tty else None, show_edge=False, pad_edge=False,
                  header_style="bold" if tty else "")
    for h in headers:
        table.add_column(h, justify="right" if h in right else "left", no_wrap=not tty)
    for r in rows:
        table.add_row(*r)
    con = console()
    if tty:
        con.print(Padding(table, (0, 0, 0, indent)))
        return
    with con.capture() as captured:
        con.print(table)
    pad = " " * indent
    click.echo("\n".join(pad + line.rstrip() for line in captured.get().splitlines()))


def emit_json(data: Any) -> None:
    click.echo(redact(json.dumps(data, indent=2)))


def show_progress() -> bool:
    return is_tty(stderr=True) and os.environ.get("CI", "").lower() not in ("1", "true", "yes")


@contextmanager
def progress_bar(enabled: bool, description: str) -> Iterator[Progress | None]:
    """A rich progress bar on stderr for one transfer; None (no output) when not enabled."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress as Bar, TextColumn, TimeRemainingColumn, \
        TransferSpeedColumn

    with Bar(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
             TimeRemainingColumn(), console=console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
