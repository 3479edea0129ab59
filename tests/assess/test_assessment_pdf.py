"""The assessment PDF fits its pages: nothing off the page, hot-spot tables whole, names as written."""

from __future__ import annotations

from typing import Any

import pdfplumber
import pytest

from thrv.assess import write_assessment
from thrv.assess.html import place
from thrv.report.files import parse_formats


@pytest.fixture(scope="module")
def pages(model: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Each page's characters outside its visible box and its words (read once)."""
    out = tmp_path_factory.mktemp("assessment")
    write_assessment(model, out, parse_formats("html,pdf"))
    found = []
    with pdfplumber.open(out / "assessment.pdf") as pdf:
        for page in pdf.pages:
            x0, top, x1, bottom = page.bbox
            outside = [c["text"] for c in page.chars
                       if c["x0"] < x0 - 0.5 or c["x1"] > x1 + 0.5 or c["top"] < top - 0.5 or c["bottom"] > bottom + 0.5]
            found.append({"outside": outside, "words": page.crop(page.bbox).extract_words(), "html": out / "assessment.html"})
    return found


def test_no_text_outside_the_page(pages: list[dict[str, Any]]) -> None:
    assert [p["outside"] for p in pages if p["outside"]] == []


def test_hot_spot_tables_are_whole_and_never_drawn_over_each_other(pages: list[dict[str, Any]]) -> None:
    assert {"At", "glance:", "Priorities", "Rank", "Theme", "Score"} <= {w["text"] for w in pages[0]["words"]}
    tables = [p for p in pages if {"Cluster", "Hexagons"} <= {w["text"] for w in p["words"]}]
    assert tables
    for p in tables:
        words = p["words"]
        assert {"Share", "Crimes", "District(s)", "LSOAs", "Main", "locations"} <= {w["text"] for w in words}
        start = min(w["top"] for w in words if w["text"] == "Cluster")
        body = sorted((w for w in words if w["top"] >= start - 1), key=lambda w: w["top"])  # the table, not the map above
        for i, a in enumerate(body):
            for b in body[i + 1 :]:
                if b["top"] >= a["bottom"]:
                    break
                overlap_x = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
                assert overlap_x <= 1, (a["text"], b["text"])


def test_street_names_keep_their_apostrophes(pages: list[dict[str, Any]]) -> None:
    assert place("On or near Dean'S Court") == "On or near Dean's Court"
    assert place("St John'S Road; O'Neill Way") == "St John's Road; O'Neill Way"
    assert place(None) == ""
    html = pages[0]["html"].read_text(encoding="utf-8")
    assert "'S " not in html.replace("&#39;", "'")
