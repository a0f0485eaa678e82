"""Recorded strings made safe to show: names, descriptions, tags, labels and caller ARNs are
chosen by whoever made a request, so they may carry markup or terminal control sequences.

`printable` replaces control and format characters (escape sequences, bidirectional
overrides, characters XML 1.0 forbids) with visible `\\uXXXX` escapes; `h` then escapes for HTML
and SVG text and attributes.
"""
from __future__ import annotations

import html
import unicodedata

_KEEP = {"\n", "\t"}
_HIDDEN = ("Cc", "Cf", "Cs", "Cn", "Zl", "Zp")


def printable(value: object) -> str:
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    return "".join(ch if ch in _KEEP or unicodedata.category(ch) not in _HIDDEN
                   else f"\\u{ord(ch):04x}" for ch in text)


def h(value: object) -> str:
    """Text or attribute value for HTML or SVG."""
    return html.escape(printable(value), quote=True)


def one_line(value: object) -> str:
    """For a terminal cell: printable, with line breaks shown as `\\n`."""
    return printable(value).replace("\n", "\\n").replace("\t", " ")
