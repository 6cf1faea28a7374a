"""What commands print: with --json exactly one JSON document on stdout (JSON lines for the
streaming commands), else rich tables on stdout; notes, warnings and errors go to stderr."""

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Column, Table
from rich.text import Text

from rs1tools.rs1ctl.exits import CtlError
from rs1tools.rs1ctl.state import Ctl

# Never markup: API text like "[red]" prints as itself. Both follow sys.stdout/sys.stderr as
# they are at print time.
out = Console(highlight=False, markup=False)
err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)  # whole log lines
Columns = Sequence[str | tuple[str, str]]  # a key, or (key, heading)


def json_doc(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    sys.stdout.flush()


def json_line(data: Any) -> None:
    sys.stdout.write(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def plain(text: str) -> None:
    """A bare line for shells to capture (`export RS1_TOKEN=$(rs1ctl token)`)."""
    sys.stdout.write(text + "\n")


def emit(c: Ctl, data: Any, human: Callable[[Any], None]) -> None:
    if c.json:
        json_doc(data)
    else:
        human(data)


def cell(value: Any) -> Text:
    if value is None:
        return Text("—", style="dim")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, dict):
        return Text(", ".join(f"{k}={v}" for k, v in value.items()))
    if isinstance(value, list):
        return Text(", ".join(str(v) for v in value))
    return Text(str(value))


def table(rows: Iterable[Mapping[str, Any]], columns: Columns, title: str | None = None) -> None:
    pairs = [(c, c) if isinstance(c, str) else c for c in columns]
    # Ids are copied from here: never cut or folded; other columns fold instead of "…".
    heads = [Column(h, no_wrap=k.endswith("_id"), overflow="fold") for k, h in pairs]
    grid = Table(*heads, title=title)
    count = 0
    for row in rows:
        grid.add_row(*(cell(row.get(key)) for key, _ in pairs))
        count += 1
    out.print(grid if count else Text(f"(no {title or 'rows'})", style="dim"))


def fields(data: Mapping[str, Any], title: str | None = None) -> None:
    if title:
        out.print(Text(title, style="bold underline"))
    if not data:
        out.print(Text("(none)", style="dim"))
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for key, value in data.items():
        grid.add_row(key, cell(value))
    out.print(grid)


@contextmanager
def live() -> Iterator[Live]:
    """A live view on stdout. Off a terminal rich prints only the last view, and without its
    final newline: added here."""
    try:
        with Live(console=out, refresh_per_second=4) as view:
            yield view
    finally:
        if not out.is_terminal:
            out.line()


def note(text: str) -> None:
    err.print(Text(text, style="dim"))


def warn(text: str) -> None:
    err.print(Text(f"warning: {text}", style="bold yellow"))


def report_error(c: Ctl, exc: CtlError) -> None:
    if c.json:  # one line: also ends the JSON lines of watch and --follow cleanly
        json_line(exc.document())
        return
    where = f" (request {exc.request_id})" if exc.request_id else ""
    err.print(Text(f"error: {exc.message} [{exc.error}]{where}", style="red"))
