"""The assessment PDF fits its pages: nothing off the page, hot-spot tables whole, names as written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.report.pdfcheck import outside_page, overlapping_words, visible_words

from thrv.assess import write_assessment
from thrv.assess.html import place
from thrv.report.files import parse_formats


@pytest.fixture(scope="module")
def pdf(model: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("assessment")
    write_assessment(model, out, parse_formats("html,pdf"))
    return out / "assessment.pdf"


def test_no_text_outside_the_page_and_no_text_over_text(pdf: Path) -> None:
    assert outside_page(pdf) == []
    # table text never drawn over other table text (the hot-spot tables used to overlap);
    # chart labels are SVG drawn by Vega and are left to the chart
    clashes = [c for c in overlapping_words(pdf) if c[1] in {"Cluster", "Hexagons", "LSOAs", "Main", "locations"}]
    assert clashes == []


def test_first_page_is_at_a_glance_and_cluster_headings_are_visible(pdf: Path) -> None:
    pages = visible_words(pdf)
    assert {"At", "glance:", "Priorities", "Rank", "Theme", "Score"} <= pages[0]
    clusters = [words for words in pages if {"Cluster", "Hexagons"} <= words]
    assert clusters
    for words in clusters:
        assert {"Share", "Crimes", "District(s)", "LSOAs", "Main", "locations"} <= words


def test_street_names_keep_their_apostrophes(pdf: Path) -> None:
    assert place("On or near Dean'S Court") == "On or near Dean's Court"
    assert place("St John'S Road; O'Neill Way") == "St John's Road; O'Neill Way"
    assert place(None) == ""
    html = (pdf.parent / "assessment.html").read_text(encoding="utf-8")
    assert "'S " not in html.replace("&#39;", "'")
