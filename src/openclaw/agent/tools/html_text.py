"""HTML to readable text, with the standard library's parser.

Scripts, styles and other invisible parts are dropped; headings become `#` lines, paragraphs and
other blocks are separated by blank lines, list items start with `- `, `<pre>` keeps its spacing,
and a link keeps its text followed by its address in parentheses.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

__all__ = ["html_to_text"]

_INVISIBLE = frozenset({"script", "style", "noscript", "template", "svg", "iframe", "object"})
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "details", "div", "dl", "fieldset",
        "figcaption", "figure", "footer", "form", "header", "hr", "main", "nav", "ol", "p",
        "pre", "section", "summary", "table", "ul",
    }
)  # fmt: skip
_LINES = frozenset({"br", "dd", "dt", "tr", "caption"})  # start a line (li: with "- ")
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_PRE = "\0{}\0"  # stands in for a <pre> block while spaces are tidied


def html_to_text(html: str, base_url: str = "") -> str:
    parser = _TextParser(base_url)
    parser.feed(html)
    parser.close()
    return parser.text()


class _TextParser(HTMLParser):
    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.out: list[str] = []
        self.title = ""
        self.in_title = False
        self.invisible = 0  # depth inside script, style, ...
        self.pre: list[str] | None = None  # the text of the <pre> being read
        self.pre_blocks: list[str] = []
        self.link: tuple[str, int] | None = None  # (address, where its text starts in `out`)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE:
            self.invisible += 1
        elif tag == "title":
            self.in_title = True
        elif tag in _HEADINGS:
            self.out.append("\n\n" + "#" * _HEADINGS[tag] + " ")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag in _LINES:
            self.out.append("\n")
        elif tag in _BLOCKS:
            self.out.append("\n\n")
            if tag == "pre" and self.pre is None:
                self.pre = []
        elif tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.link = (urljoin(self.base_url, href.strip()), len(self.out))

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE:
            self.invisible = max(0, self.invisible - 1)
        elif tag == "title":
            self.in_title = False
        elif tag == "pre" and self.pre is not None:
            self.out.append(_PRE.format(len(self.pre_blocks)) + "\n\n")
            self.pre_blocks.append("".join(self.pre).strip("\n"))
            self.pre = None
        elif tag in _HEADINGS or tag in _BLOCKS:
            self.out.append("\n\n")
        elif tag == "a" and self.link is not None:
            address, start = self.link
            self.link = None
            words = "".join(self.out[start:]).strip()
            if words and words != address and urlsplit(address).scheme in ("http", "https"):
                self.out.append(f" ({address})")

    def handle_data(self, data: str) -> None:
        if self.invisible:
            return
        data = data.replace("\0", "")  # kept for the <pre> stand-ins
        if self.in_title:
            self.title += data
        elif self.pre is not None:
            self.pre.append(data)
        else:
            self.out.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        text = "".join(self.out)
        text = re.sub(r" *\n *", "\n", re.sub(r" {2,}", " ", text))
        text = re.sub(r"\n{3,}", "\n\n", text).strip()
        for number, block in enumerate(self.pre_blocks):
            text = text.replace(_PRE.format(number), block)
        title = re.sub(r"\s+", " ", self.title).strip()
        if title and not text.startswith(f"# {title}"):
            text = f"{title}\n\n{text}" if text else title
        return text
