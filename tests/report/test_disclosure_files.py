"""What a public user downloads: pack.csv's contract, the workbook, the page, the CLI — and the
issue's own examples of leaks, each checked on the real sample."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.report import intruder
from tests.report.sample_release import RULES
from thrv.report.disclosure import SECONDARY_MARKER, public_view
from thrv.report.files import write_pack
from thrv.report.model import CONTRACT_COLUMNS

MONTH = "2025-12"


@pytest.fixture(scope="module")
def files(published: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for rule, entry in published.items():
        folder = tmp_path_factory.mktemp(rule)
        write_pack(entry["models"][MONTH], folder, formats=("html", "xlsx"), public=True)
        out[rule] = folder
    return out


@pytest.mark.parametrize("rule", RULES)
def test_pack_csv_has_empty_withheld_cells_and_says_why(published: dict[str, Any], files: dict[str, Path], rule: str) -> None:
    model = published[rule]["models"][MONTH]
    with (files[rule] / "pack.csv").open(encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        rows = list(reader)
    assert header[: len(CONTRACT_COLUMNS) + 2] == [*CONTRACT_COLUMNS, "suppressed", "suppressed_columns"]
    assert len(rows) == len(model["rows"])
    kinds = {"primary": 0, "secondary": 0}
    for row, m in zip(rows, model["rows"], strict=True):
        hidden = intruder.kinds_of(m)
        assert row["suppressed"] == m["suppressed"]
        assert row["suppressed"] in {"", "primary", "secondary"}
        assert (row["suppressed"] == "") == (not hidden)
        if hidden:
            assert row["suppressed"] == ("primary" if "primary" in hidden.values() else "secondary")
        for col, kind in hidden.items():
            if col in row:
                assert row[col] == "", (row["indicator"], row["area"], col, row[col])
            kinds[kind] += 1
        assert not any(intruder.is_marker(v) for v in row.values())
    assert kinds["primary"] > 0 and kinds["secondary"] > 0


@pytest.mark.parametrize("rule", RULES)
def test_json_workbook_and_page_show_what_the_model_says(published: dict[str, Any], files: dict[str, Path], rule: str) -> None:
    import openpyxl

    model = published[rule]["models"][MONTH]
    assert json.loads((files[rule] / "pack.json").read_text(encoding="utf-8")) == json.loads(json.dumps(model))
    wb = openpyxl.load_workbook(files[rule] / "pack.xlsx", read_only=True)
    by_key = {(r["indicator"], r["area_level"], r["area"]): r for r in model["rows"]}
    rows = list(wb["Data"].iter_rows(values_only=True))  # every row, readable headers, contract order
    head = list(rows[0])
    columns = {"current": "This month", "prev_1y": "Same month 1 year ago", "rolling_12m": "Rolling 12 months",
               "baseline": "Baseline (12 months)"}
    checked = 0
    for values in rows[1:]:
        rec = dict(zip(head, values, strict=False))
        m = by_key[(rec["Indicator id"], rec["Level"], rec["Area"])]
        for col, title in columns.items():
            if intruder.is_marker(m.get(col)):
                assert rec[title] == m[col]  # the mark, never a number
                checked += 1
            elif isinstance(m.get(col), float):
                assert rec[title] == pytest.approx(m[col])
    assert checked > 0
    page = (files[rule] / "pack.html").read_text(encoding="utf-8")
    assert "small numbers)" not in page  # never "<5 (small numbers)" in a percentage column
    assert model["meta"]["disclosure"]["legend"]


@pytest.mark.parametrize("rule", RULES)
def test_marks_never_call_a_secondary_cell_small(published: dict[str, Any], rule: str) -> None:
    limit = RULES[rule].limit
    for model in published[rule]["models"].values():
        for r in model["rows"]:
            kinds = intruder.kinds_of(r)
            for col in ("current", "prev_1y", "prev_2y", "prev_3y", "rolling_12m", "baseline", "avg_1y"):
                v = r.get(col)
                if v == f"<{limit}":
                    assert r["measure"] == "count" and kinds[col] == "primary" and col.startswith(("current", "prev"))
                elif v == SECONDARY_MARKER:
                    assert col in kinds
                if r["measure"] == "proportion":
                    assert not (isinstance(v, str) and v.startswith("<"))
        for points in model["series"].values():
            for p in points:
                assert (p["value"] is None) or ("suppressed" not in p)


def test_the_issues_leaks_are_closed(published: dict[str, Any]) -> None:
    """Each way the issue recovered a cell, checked on the real sample."""
    thr, ons = published["threshold"], published["ons_10_5"]
    model = thr["models"][MONTH]
    # 1. no change, test or estimate beside a withheld count (East Cambridgeshire drugs = 6 x (1 - 1/3))
    for m in thr["models"].values():
        for r in m["rows"]:
            if intruder.is_marker(r.get("current")):
                for col in ("change_prev_1y", "p_value_prev_1y", "estimate_prev_1y", "p_value_1y", "change_avg_1y"):
                    assert r.get(col) is None, (r["indicator"], r["area"], col)
    # 2. sentences state only shown figures: no "(1 of 5)" beside a withheld percentage,
    #    and under rounding the sentence's count is the table's (5,395 beside 5395, not 5,394)
    for m in (*thr["models"].values(), *ons["models"].values()):
        for r in m["rows"]:
            if intruder.is_marker(r.get("current")):
                digits = re.sub(r"(19|20)\d\d", "", r["sentence"])
                assert not re.search(r"\(\d+ of \d+\)", digits) and not re.search(r"\d+ crimes", digits)
    for r in ons["models"][MONTH]["rows"]:
        if r["measure"] == "count" and isinstance(r["current"], float) and r["current"] >= 1000:
            assert f"{int(r['current']):,}" in r["sentence"]
    # 3. an area's view is cut from the whole pack's decision: the area total minus its shown
    #    districts never leaves one withheld district alone
    view = public_view(thr["release"], MONTH, area="South")
    whole = {(r["indicator"], r["area_level"], r["area"]): r for r in model["rows"]}
    for r in view["rows"]:
        assert r == whole[(r["indicator"], r["area_level"], r["area"])]
    areas: dict[tuple[str, str], list[str]] = {}
    for d in model["meta"]["area_districts"]:
        areas.setdefault((d["area"], ""), []).append(d["district"])
    for (area, _), districts in areas.items():
        for ind in {r["indicator"] for r in model["rows"] if r["measure"] == "count"}:
            row = whole.get((ind, "area", area))
            cells = [whole.get((ind, "district", d)) for d in districts]
            if row is None or any(c is None for c in cells) or intruder.is_marker(row["current"]):
                continue
            withheld = [c for c in cells if intruder.is_marker(c["current"])]  # type: ignore[index]
            assert len(withheld) != 1, (ind, area)
    # 4. across months: a rolling 12 months is never shown over a withheld month
    for m in thr["models"].values():
        for r in m["rows"]:
            if not intruder.is_marker(r.get("rolling_12m")) and r.get("rolling_12m") is not None:
                assert "rolling_12m:" not in r["suppressed_columns"]


def test_the_cli_publishes_one_areas_view_of_the_release(published: dict[str, Any], sample_store: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from thrv.cli import app

    out = tmp_path / "pub"
    res = CliRunner().invoke(app, ["pack", "--db", str(sample_store), "--month", MONTH, "--out", str(out), "--public",
                                   "--suppression", "threshold", "--area", "South", "--format", "html"])
    assert res.exit_code == 0, res.output
    written = json.loads((out / "pack.json").read_text(encoding="utf-8"))
    view = public_view(published["threshold"]["release"], MONTH, area="South")
    strip = lambda rows: [{k: v for k, v in r.items() if k != "generated_at"} for r in rows]  # noqa: E731
    assert strip(written["rows"]) == strip(json.loads(json.dumps(view["rows"])))
    assert {r["area"] for r in written["rows"]} == {"South", "Cambridge", "East Cambridgeshire", "South Cambridgeshire"}
