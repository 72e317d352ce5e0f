"""A report written once and rendered twice: markdown for the repository and the terminal, a single HTML
page (plots inline, opens in any browser) for people. Blocks are headings, paragraphs (with `code` spans),
tables and images; nothing else is needed by the reports here, so no markdown library is.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codesign.artifacts import write_text

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.45}"
          "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.25em .6em;"
          "text-align:left}.num{text-align:right}th{background:#eee}"
          "img{max-width:100%}code{background:#f3f3f3;padding:0 .2em}figcaption{color:#555;font-size:.9em}")


@dataclass
class Document:
    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.blocks.append(("h2", text))

    def paragraph(self, text: str) -> None:
        self.blocks.append(("p", text))

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(("table", (header, rows)))

    def bullets(self, items: list[str]) -> None:
        self.blocks.append(("ul", items))

    def image(self, path: Path, caption: str) -> None:
        """A PNG written beside the report (``path`` relative to the report's folder in the markdown)."""
        self.blocks.append(("img", (path, caption)))

    def markdown(self, folder: Path) -> str:
        lines = [f"# {self.title}", ""]
        for kind, value in self.blocks:
            if kind == "h2":
                lines += [f"## {value}", ""]
            elif kind == "p":
                lines += [str(value), ""]
            elif kind == "ul":
                lines += [f"- {item}" for item in value] + [""]
            elif kind == "table":
                header, rows = value
                lines += ["| " + " | ".join(map(_cell, header)) + " |", "|" + "---|" * len(header)]
                lines += ["| " + " | ".join(map(_cell, row)) + " |" for row in rows] + [""]
            else:
                path, caption = value
                lines += [f"![{caption}]({Path(path).relative_to(folder)})", "", f"*{caption}*", ""]
        return "\n".join(lines)

    def html(self) -> str:
        parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
                 f"<style>{_STYLE}</style></head><body><h1>{html.escape(self.title)}</h1>"]
        for kind, value in self.blocks:
            if kind == "h2":
                parts.append(f"<h2>{_inline(str(value))}</h2>")
            elif kind == "p":
                parts.append(f"<p>{_inline(str(value))}</p>")
            elif kind == "ul":
                parts.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in value) + "</ul>")
            elif kind == "table":
                header, rows = value
                numeric = [all(_NUMBER.fullmatch(row[i].strip()) for row in rows if row[i].strip()) and
                           any(row[i].strip() for row in rows) for i in range(len(header))]
                cls = [" class='num'" if n else "" for n in numeric]  # numbers right-aligned, text left
                head = "".join(f"<th{c}>{_inline(h)}</th>" for h, c in zip(header, cls, strict=True))
                body = "".join("<tr>" + "".join(f"<td{c}>{_inline(v)}</td>" for v, c in zip(row, cls, strict=True))
                               + "</tr>" for row in rows)
                parts.append(f"<table><tr>{head}</tr>{body}</table>")
            else:
                path, caption = value
                data = base64.b64encode(Path(path).read_bytes()).decode()
                parts.append(f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(caption)}'>"
                             f"<figcaption>{_inline(caption)}</figcaption></figure>")
        return "".join(parts) + "</body></html>\n"

    def write(self, markdown_path: Path) -> Path:
        """Write ``NAME.md`` and ``NAME.html`` beside it; returns the HTML path."""
        write_text(markdown_path, self.markdown(markdown_path.parent))
        page = markdown_path.with_suffix(".html")
        write_text(page, self.html())
        return page


# a table cell that is a number, or numbers joined by " / " (mean / median), each perhaps with a % or a sign
_NUMBER = re.compile(r"[-+]?\d[\d,]*(\.\d+)?\s*%?(\s*/\s*[-+]?\d[\d,]*(\.\d+)?\s*%?)*")


def _cell(text: str) -> str:
    """A markdown table cell: a ``|`` inside would end it."""
    return text.replace("|", "\\|")


def _inline(text: str) -> str:
    """HTML of a line of markdown text: `code` and **bold** spans, the rest escaped."""
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)
