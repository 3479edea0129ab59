"""HTML, PDF and Excel rendered from one model: offline, readable, numbers as numbers."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from typer.testing import CliRunner

from thrv.cli import app
from thrv.report.files import parse_formats
from thrv.report.glance import sections
from thrv.report.pdf import html_to_pdf

from .pdfcheck import html_headings, outside_page, read_pdf


@pytest.fixture(scope="module")
def written(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """The interface contract's command: `thrv pack --area NAME --format pdf` (and html, xlsx)."""
    out = tmp_path_factory.mktemp("outputs")
    result = CliRunner().invoke(app, [
        "pack", "--db", str(sample_store), "--month", "2025-12", "--area", "Cambridgeshire Constabulary",
        "--out", str(out), "--format", "html,pdf,xlsx",
    ])
    assert result.exit_code == 0, result.output
    return json.loads((out / "pack.json").read_text()), out


def test_json_is_strict_and_the_csv_has_the_same_rows(written: tuple[dict, Path]) -> None:
    model, out = written
    again = json.loads((out / "pack.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert again["rows"] == model["rows"]
    assert len((out / "pack.csv").read_text().strip().splitlines()) == len(model["rows"]) + 1


def test_html_opens_offline_with_inline_charts(written: tuple[dict, Path]) -> None:
    _, out = written
    html = (out / "pack.html").read_text()
    assert "<svg" in html and html.count("<svg") >= 15
    assert not re.search(r'(src|href)="https?://', html)  # nothing fetched from the network
    assert "Rolling 12 months" in html and "Performance vs baseline" in html


@pytest.fixture(scope="module")
def pdf_read(written: tuple[dict, Path]) -> tuple[list[tuple[int, str]], list[set[str]]]:
    """The PDF read once: characters outside their page, and the words inside each page."""
    _, out = written
    return read_pdf(out / "pack.pdf")


def test_pdf_text_has_the_pack_table(written: tuple[dict, Path]) -> None:
    _, out = written
    reader = PdfReader(io.BytesIO((out / "pack.pdf").read_bytes()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 3
    assert reader.pages[0].mediabox.width == pytest.approx(841.89, abs=1)  # A4 landscape
    assert reader.pages[0].mediabox.height == pytest.approx(595.28, abs=1)
    for heading in ("Rolling 12 months", "Baseline", "1-year average", "At a glance", "Burglary", "Fenland", "Appendix"):
        assert heading in text, heading
    assert re.search(r"Page 1 of \d+", text)


def test_pdf_table_fits_the_page(written: tuple[dict, Path], pdf_read: tuple[list[tuple[int, str]], list[set[str]]]) -> None:
    """Contract: no table text outside the visible page; every HTML column heading and sample values on it."""
    model, out = written
    outside, pages = pdf_read
    assert outside == []
    headings = html_headings((out / "pack.html").read_text())
    assert {"Indicator", "Dec 2025", "Baseline", "Performance vs baseline", "Rate per 1,000", "SPC"} <= set(headings)
    board = next(i for i, words in enumerate(pages) if {"Indicator", "Rolling", "Burglary"} <= words)
    for heading in headings:
        missing_words = set(heading.split()) - pages[board]
        assert not missing_words, (heading, missing_words)
    burglary = next(r for r in model["rows"] if r["indicator"] == "burglary" and r["area_level"] == "force")
    for key in ("current", "prev_1y", "rolling_12m", "baseline"):
        assert f"{burglary[key]:,.0f}" in pages[board], key
    assert f"{burglary['rate_per_1000']:.2f}" in pages[board]
    # the appendix (a table per area and district) fits too
    appendix = [i for i, words in enumerate(pages) if "Appendix:" in words]
    assert appendix and {"Indicator", "Fenland", "Baseline", "SPC", "North"} <= set().union(*pages[appendix[0]:])


def test_the_fit_check_can_fail(tmp_path: Path) -> None:
    """A table wider than the page is caught: the check above is not vacuous."""
    cells = "".join(f"<td>column{i}</td>" for i in range(60))
    pdf = html_to_pdf(f"<html><body><table><tr>{cells}</tr></table></body></html>", tmp_path / "wide.pdf")
    assert outside_page(pdf)
    assert read_pdf(pdf)[0] == outside_page(pdf)  # the one-pass reading used above finds the same


def test_first_page_is_at_a_glance(written: tuple[dict, Path], pdf_read: tuple[list[tuple[int, str]], list[set[str]]]) -> None:
    _, out = written
    model, _ = written
    first = pdf_read[1][0]
    force = [r for r in model["rows"] if r["area_level"] == "force"]
    found = sections(force, model["meta"]["month"])
    assert found  # a real month has exceptions to report
    # the page opens with the at-a-glance heading and its first sections (which ones depends on the month)
    assert {"At", "glance:"} <= first
    for section in found[:2]:
        assert set(section.heading.split()[:2]) <= first, section.heading
    html = (out / "pack.html").read_text()
    assert html.index("At a glance") < html.index("<table")
    # the detail is its own page, so pack.html is the board paper only
    assert "Fenland" not in html.split('id="board"')[1].split('id="method"')[0]
    assert "Fenland" in (out / "pack-areas.html").read_text()


def test_proportions_show_n(written: tuple[dict, Path]) -> None:
    model, out = written
    row = next(r for r in model["rows"] if r["measure"] == "proportion" and r["area_level"] == "force" and r.get("current_den"))
    assert f"n={row['current_den']:,.0f}" in row["sentence"]
    assert f"n={row['current_den']:,.0f}" in (out / "pack.html").read_text()
    assert row["rolling_12m_den"] > row["current_den"]


def test_excel_pack_sheet_is_the_board_table(written: tuple[dict, Path]) -> None:
    """Read the workbook back: the Pack sheet's layout and number formats, Findings, Data."""
    model, out = written
    book = load_workbook(out / "pack.xlsx")
    assert book.sheetnames[:2] == ["Pack", "Findings"]
    assert {"Areas", "Data", "Indicators", "About"} <= set(book.sheetnames)
    sheet = book["Pack"]
    assert sheet["A1"].value == "Performance pack: Cambridgeshire Constabulary"
    assert "December 2025" in sheet["A2"].value
    header = [c.value for c in sheet[4]]
    assert header[:3] == ["Indicator", "Dec 2025", "Dec 2024"] and "Performance vs baseline" in header
    assert sheet.freeze_panes == "B5" and sheet.auto_filter.ref
    values = list(sheet.iter_rows(min_row=5))
    groups = [r[0].value for r in values if r[1].value is None and r[0].font.b]
    assert groups[:2] == ["Crime", "Crime by type"]  # grouped by theme, in the indicators' order
    by_title = {r[0].value: r for r in values}
    burglary = next(x for x in model["rows"] if x["indicator"] == "burglary" and x["area_level"] == "force")
    cur = by_title["Burglary"][header.index("Dec 2025")]
    assert cur.value == burglary["current"] and cur.number_format == "#,##0"
    avg = by_title["Burglary"][header.index("1-year average")]
    assert avg.value == pytest.approx(burglary["avg_1y"]) and avg.number_format == "#,##0.0"
    prop = next(x for x in model["rows"] if x["indicator"] == "prosecution_possible_rate" and x["area_level"] == "force")
    cell = by_title[prop["title"]][header.index("Dec 2025")]
    assert cell.value == pytest.approx(prop["current"] / 100) and cell.number_format == "0.0%"
    n = by_title[prop["title"]][header.index("n (month)")]
    assert n.value == prop["current_den"]
    label = by_title["Burglary"][header.index("Performance vs baseline")]
    assert label.value == burglary["label"]
    findings = book["Findings"]
    lines = [r[2].value for r in findings.iter_rows(min_row=4) if r[2].value]
    assert any(line.startswith("Burglary:") for line in lines) and len(lines) > len(by_title)
    data = book["Data"]
    data_header = [c.value for c in data[1]]
    assert {"Indicator", "Area", "This month", "Rolling 12 months", "p (vs baseline)", "Finding"} <= set(data_header)
    assert not any("_" in str(h) for h in data_header[:25])  # readable, not snake_case
    assert data.freeze_panes == "C2" and data.auto_filter.ref
    rules = [r for rng in data.conditional_formatting for r in rng.rules]
    assert any('"Improved"' in (r.formula or [""])[0] for r in rules)


def test_format_names_are_checked() -> None:
    assert parse_formats("html, PDF,xlsx,html") == ["html", "pdf", "xlsx"]
    with pytest.raises(ValueError, match="subset of html, pdf, xlsx"):
        parse_formats("docx")
