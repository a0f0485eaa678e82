"""Reading the pages back: every element with its attributes, and the swimlane SVG as XML."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser


class Elements(HTMLParser):
    """Every start tag of a page, in order, with its attributes; and the page's text."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def with_class(self, name: str, tag: str | None = None) -> list[dict[str, str]]:
        return [attrs for t, attrs in self.tags
                if (tag is None or t == tag) and name in attrs.get("class", "").split()]

    def classes(self) -> Counter:
        return Counter(c for _, attrs in self.tags for c in attrs.get("class", "").split())

    def count(self, tag: str) -> int:
        return sum(1 for t, _ in self.tags if t == tag)


def swimlane_svg(page: str) -> ET.Element:
    """The swimlane `<svg>` parsed as XML: it must be well-formed on its own."""
    match = re.search(r'<svg class="swimlanes".*?</svg>', page, flags=re.S)
    assert match, "no swimlane SVG in the page"
    return ET.fromstring(match.group(0))


def of_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if name in (e.get("class") or "").split()]


FETCHING_ATTRIBUTES = {"src", "href", "xlink:href", "action", "formaction", "poster", "data",
                       "srcset", "background", "ping"}


def external_references(page: str) -> list[str]:
    """Anything a browser could fetch: attributes that load something, CSS url() or @import in
    a style sheet, and any http(s) URL anywhere in the file."""
    doc = Elements(page)
    found = [f"{name}={value}" for _, attrs in doc.tags for name, value in attrs.items()
             if name in FETCHING_ATTRIBUTES]
    for style in re.findall(r"<style>(.*?)</style>", page, flags=re.S):
        found += re.findall(r"url\s*\(|@import", style, flags=re.I)
    found += re.findall(r"https?://", page, flags=re.I)
    return found
