"""PDF for board papers: the report HTML laid out on A4 by WeasyPrint.

The same HTML (and so the same figures) as the web page; the print stylesheet adds page
numbers, repeats table headings on each page and keeps table rows whole.
"""

from __future__ import annotations

import logging
from pathlib import Path


def html_to_pdf(html: str, path: Path) -> Path:
    """Render HTML to an A4 PDF (fonts and images local: no network is used)."""
    import weasyprint

    # WeasyPrint logs every unsupported CSS property at WARNING; they are harmless here
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    weasyprint.HTML(string=html, base_url=str(path.parent)).write_pdf(str(path))
    return path
