"""Screenshots of the first page of pack.html (headless Chromium) and pack.pdf (pdftoppm).

    python tools/screenshots.py OUT_DIR_OF_A_PACK [--to docs/screenshots]

Used to refresh docs/screenshots/pack-html.png and pack-pdf.png from `make demo`'s pack.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def html_first_page(html: Path, png: Path, width: int = 1280, height: int = 900) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(html.resolve().as_uri())
        page.screenshot(path=str(png))
        browser.close()


def pdf_first_page(pdf: Path, png: Path, dpi: int = 80) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-r", str(dpi), "-f", "1", "-l", "1", "-png", "-singlefile", str(pdf), f"{tmp}/page"], check=True)
        shutil.move(f"{tmp}/page.png", png)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pack", type=Path, help="a folder holding pack.html and pack.pdf")
    parser.add_argument("--to", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "screenshots")
    args = parser.parse_args()
    args.to.mkdir(parents=True, exist_ok=True)
    html_first_page(args.pack / "pack.html", args.to / "pack-html.png")
    pdf_first_page(args.pack / "pack.pdf", args.to / "pack-pdf.png")
    print(f"wrote {args.to / 'pack-html.png'} and {args.to / 'pack-pdf.png'}")


if __name__ == "__main__":
    main()
