"""What a reader of a PDF sees: the characters inside each page's visible box (pdfplumber).

pypdf returns text clipped off the page too, so it cannot show that a table fits; these
helpers read character positions and crop to the page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pdfplumber


def _outside(n: int, page: pdfplumber.page.Page) -> list[tuple[int, str]]:
    x0, top, x1, bottom = page.bbox
    return [(n, c["text"]) for c in page.chars
            if c["x0"] < x0 - 0.5 or c["x1"] > x1 + 0.5 or c["top"] < top - 0.5 or c["bottom"] > bottom + 0.5]


def outside_page(pdf_path: Path) -> list[tuple[int, str]]:
    """(page, text) of every character that lies outside its page's visible box."""
    with pdfplumber.open(pdf_path) as pdf:
        return [found for n, page in enumerate(pdf.pages, start=1) for found in _outside(n, page)]


def read_pdf(pdf_path: Path) -> tuple[list[tuple[int, str]], list[set[str]]]:
    """``outside_page``, and the words inside each page's visible box (pdfplumber cropped to the
    page), from one reading of the file (parsing the pages is the slow part)."""
    outside: list[tuple[int, str]] = []
    words: list[set[str]] = []
    with pdfplumber.open(pdf_path) as pdf:
        for n, page in enumerate(pdf.pages, start=1):
            outside += _outside(n, page)
            words.append({w["text"] for w in page.crop(page.bbox).extract_words()})
    return outside, words


def html_headings(html: str, table: int = 0) -> list[str]:
    """The column headings of the n-th <table> of an HTML page."""
    body = html.split("<table")[table + 1]
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", body.split("</table>")[0])]
