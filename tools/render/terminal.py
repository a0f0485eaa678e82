"""Histories and reports in a terminal: rich tables when stdout is a terminal, plain text else.

Plain text is stable and greppable (one line per row, columns padded, no colour), for pipes,
files and tests. Rich output is the same blocks as coloured tables. Every cell is built as a
`rich.text.Text`, never parsed as markup, and passes `safe.one_line`, so a recorded name like
`[red]x` or one carrying an escape sequence prints as itself.
"""
from __future__ import annotations

import sys
from typing import TextIO

from tools.render.layout import Bars, Block, Fields, Table
from tools.render.safe import one_line

BAR_WIDTH = 30
KIND_STYLES = {
    "created": "bold green", "version": "green", "label": "cyan", "key": "magenta",
    "re-encrypted": "magenta", "description": "blue", "tags": "blue", "deletion": "bold red",
    "restored": "bold green", "deleted": "bold red", "removed": "yellow", "read": "white",
    "failed": "yellow", "denied": "bold red", "shredded": "dim strike",
}


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def write(blocks: list[Block], stream: TextIO | None = None, rich: bool | None = None) -> None:
    """Rich when `rich` says so, or (None) when the stream is a terminal."""
    stream = stream or sys.stdout
    if rich if rich is not None else is_terminal(stream):
        write_rich(blocks, stream)
    else:
        stream.write(plain(blocks))


# ---- plain ----------------------------------------------------------------------------------

def plain(blocks: list[Block]) -> str:
    return "\n".join(_plain_block(block) for block in blocks)


def _plain_block(block: Block) -> str:
    if isinstance(block, Fields):
        width = max((len(name) for name, _ in block.pairs), default=0)
        lines = [block.title] + [f"  {name.ljust(width)}  {one_line(value)}"
                                 for name, value in block.pairs]
    elif isinstance(block, Table):
        lines = [block.title]
        if not block.rows:
            lines.append(f"  {block.empty}")
        else:
            rows = [block.headers] + [[one_line(cell) for cell in row] for row in block.rows]
            widths = [max(len(row[i]) for row in rows) for i in range(len(block.headers))]
            for row in rows:
                cells = [cell.ljust(width) for cell, width in zip(row, widths)]
                lines.append(("  " + "  ".join(cells)).rstrip())
    else:
        lines = [block.title] + _plain_bars(block)
    return "\n".join(lines) + "\n"


def _plain_bars(block: Bars) -> list[str]:
    if not block.counts:
        return ["  none"]
    top = max(n for _, n in block.counts)
    width = max(len(one_line(name)) for name, _ in block.counts)
    return [f"  {one_line(name).ljust(width)}  {str(n).rjust(len(str(top)))}  "
            + "#" * max(1, round(BAR_WIDTH * n / top)) for name, n in block.counts]


# ---- rich -----------------------------------------------------------------------------------

def write_rich(blocks: list[Block], stream: TextIO, width: int | None = None) -> None:
    from rich.console import Console

    console = Console(file=stream, force_terminal=True, width=width, highlight=False,
                      markup=False, emoji=False)
    for block in blocks:
        console.print(_rich_block(block))
        console.print()


def _rich_block(block: Block) -> object:
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text

    if isinstance(block, Fields):
        grid = RichTable(title=Text(one_line(block.title), style="bold"), box=box.ROUNDED,
                         show_header=False, title_justify="left")
        grid.add_column(style="bold cyan", no_wrap=True)
        grid.add_column()
        for name, value in block.pairs:
            style = _integrity_style(value) if name == "Integrity" else ""
            grid.add_row(Text(name), Text(one_line(value), style=style))
        return grid
    table = RichTable(title=Text(one_line(block.title), style="bold"), box=box.SIMPLE_HEAVY,
                      title_justify="left")
    if isinstance(block, Bars):
        table.add_column("Name")
        table.add_column("Count", justify="right")
        table.add_column("")
        top = max((n for _, n in block.counts), default=1)
        for name, n in block.counts:
            bar = "█" * max(1, round(BAR_WIDTH * n / top))
            table.add_row(Text(one_line(name)), Text(str(n)), Text(bar, style="cyan"))
        return table
    for header in block.headers:
        table.add_column(Text(header), overflow="fold")
    for i, row in enumerate(block.rows):
        kind = block.kinds[i] if i < len(block.kinds) else ""
        table.add_row(*(Text(one_line(cell)) for cell in row),
                      style=KIND_STYLES.get(kind, ""))
    if not block.rows:
        table.add_row(*([Text(block.empty)] + [Text("")] * (len(block.headers) - 1)))
    return table


def _integrity_style(value: str) -> str:
    if "INVALID" in value:
        return "bold white on red"
    return "bold green" if value.startswith("log verified") else "yellow"
