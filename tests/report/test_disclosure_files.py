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


#: what each withheld base figure hides with it (the issue's example 1: a change or a test
#: beside a withheld count gives it back, by arithmetic or by inverting the p-value)
DEPENDENT = {
    "current": ("change_prev_1y", "p_value_prev_1y", "estimate_prev_1y", "test_prev_1y", "label_prev_1y",
                "p_value_1y", "q_value_1y", "test_1y", "label_1y", "change_avg_1y", "p_value_3y", "q_value_3y",
                "dispersion", "rank_low", "rank_high", "spc_variation", "current_ci_low", "current_ci_high"),
    "prev_1y": ("change_prev_1y", "p_value_prev_1y", "estimate_prev_1y", "test_prev_1y", "label_prev_1y",
                "avg_1y", "expected_1y", "p_value_1y", "q_value_1y", "avg_3y", "expected_3y", "p_value_3y"),
    "rolling_12m": ("change_baseline", "p_value", "q_value", "test", "label", "rate_per_1000", "p_value_national",
                    "test_national", "label_national", "force_rank", "rolling_12m_ci_low", "rolling_12m_ci_high"),
}


@pytest.mark.parametrize("rule", RULES)
def test_issue_example_1_nothing_derived_is_shown_beside_a_withheld_figure(published: dict[str, Any], rule: str) -> None:
    """East Cambridgeshire drugs = 6 x (1 - 1/3) = 4: no change, test, q-value, expectation or
    dispersion of a withheld figure is published, even when both counts of a test are withheld."""
    checked = 0
    for m in published[rule]["models"].values():
        for r in m["rows"]:
            for base, cols in DEPENDENT.items():
                if intruder.is_marker(r.get(base)):
                    for col in cols:
                        v = r.get(col)
                        assert v is None or v == SECONDARY_MARKER, (r["month"], r["indicator"], r["area"], base, col, v)
                        checked += 1
    assert checked > 1000


@pytest.mark.parametrize("rule", RULES)
def test_issue_example_2_sentences_state_only_shown_figures(published: dict[str, Any], rule: str) -> None:
    """No "20.0% ... (1 of 5)" beside a withheld cell; under rounding, the sentence's count is
    the table's (5,395 beside 5395, not the exact 5,394)."""
    models = published[rule]["models"]
    for m in models.values():
        for r in m["rows"]:
            if intruder.is_marker(r.get("current")):
                digits = re.sub(r"(19|20)\d\d", "", r["sentence"])
                assert not re.search(r"\(\d+ of \d+\)", digits) and not re.search(r"\d+ crimes", digits)
    if RULES[rule].rounded:
        big = [r for r in models[MONTH]["rows"]
               if r["measure"] == "count" and isinstance(r["current"], float) and r["current"] >= 1000]
        assert big
        for r in big:
            assert f"{int(r['current']):,}" in r["sentence"]


@pytest.mark.parametrize("rule", RULES)
def test_issue_example_3_an_areas_view_is_cut_from_the_whole_decision(published: dict[str, Any], rule: str) -> None:
    """South 132 - Cambridge 92 - South Cambridgeshire 36 = East Cambridgeshire 4: a view of one
    area shows exactly the whole pack's cells, and no area with a shown total leaves exactly one
    of its districts withheld, exact figures (the web API's views: tests/report/test_disclosure_web.py)."""
    entry = published[rule]
    model = entry["models"][MONTH]
    whole = {(r["indicator"], r["area_level"], r["area"]): r for r in model["rows"]}
    for area in ("South", "North", "East Cambridgeshire"):
        for r in public_view(entry["release"], MONTH, area=area)["rows"]:
            assert r == whole[(r["indicator"], r["area_level"], r["area"])]
    if RULES[rule].rounded:
        return  # rounded totals leave a lone withheld part its range: the intruder's bounds check it
    areas: dict[str, list[str]] = {}
    for d in model["meta"]["area_districts"]:
        areas.setdefault(d["area"], []).append(d["district"])
    for m in entry["models"].values():
        rows = {(r["indicator"], r["area_level"], r["area"]): r for r in m["rows"]}
        for ind in {r["indicator"] for r in m["rows"] if r["measure"] == "count"}:
            force = next((r for r in m["rows"] if r["indicator"] == ind and r["area_level"] == "force"), None)
            groups = [(rows.get((ind, "area", a)), [rows.get((ind, "district", d)) for d in ds]) for a, ds in areas.items()]
            if force is not None:  # the force = its areas + the Unlocated row
                groups.append((force, [rows.get((ind, "area", a)) for a in areas] + [rows.get((ind, "district", "Unlocated"))]))
            for total, parts in groups:
                if total is None or intruder.is_marker(total["current"]) or any(p is None for p in parts):
                    continue
                withheld = [p for p in parts if intruder.is_marker(p["current"])]  # type: ignore[index]
                assert len(withheld) != 1, (m["meta"]["month"], ind, total["area"])


@pytest.mark.parametrize("rule", RULES)
def test_issue_example_4_no_rolling_total_is_shown_over_a_withheld_month(published: dict[str, Any], rule: str) -> None:
    """current(M) = rolling_12m(M) - rolling_12m(M-1) + prev_1y(M): a rolling 12 months (or a
    baseline, an average) is shown only when every month in it is published."""
    for m in published[rule]["models"].values():
        for r in m["rows"]:
            kinds = intruder.kinds_of(r)
            for col in ("rolling_12m", "baseline", "avg_1y", "avg_3y"):
                v = r.get(col)
                if v is not None and not intruder.is_marker(v):
                    assert col not in kinds, (r["indicator"], r["area"], col)


@pytest.mark.parametrize("rule", RULES)
def test_issue_example_5_secondary_cells_are_marked_as_such(published: dict[str, Any], files: dict[str, Path], rule: str) -> None:
    """Cells withheld to protect others were shown "<5" although they were 18 or 43; "<5 (small
    numbers)" in a percentage column read as "under 5%"."""
    limit, seen = RULES[rule].limit, {"primary": 0, "secondary": 0}
    for m in published[rule]["models"].values():
        for r in m["rows"]:
            kinds = intruder.kinds_of(r)
            if r["suppressed_columns"].startswith("current:"):
                seen[kinds["current"]] += 1
                want = f"<{limit}" if kinds["current"] == "primary" and r["measure"] == "count" else SECONDARY_MARKER
                assert r["current"] == want, (r["indicator"], r["area"], kinds["current"], r["current"])
    assert seen["primary"] > 0 and seen["secondary"] > 0
    page = (files[rule] / "pack.html").read_text(encoding="utf-8")
    assert "small numbers)" not in page and SECONDARY_MARKER in page
    legend = published[rule]["models"][MONTH]["meta"]["disclosure"]["legend"]
    assert SECONDARY_MARKER in legend and f"<{limit}" in legend


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


def _csv_as_rows(path: Path, limit: int) -> list[dict[str, Any]]:
    """pack.csv read back as a reader would: numbers as numbers, a withheld cell (empty, its kind
    in suppressed_columns) as its mark, so the intruder reads it as it reads the JSON."""
    out = []
    with path.open(encoding="utf-8") as f:
        for rec in csv.DictReader(f):
            row: dict[str, Any] = {}
            for k, v in rec.items():
                if v == "":
                    row[k] = "" if k in ("suppressed", "suppressed_columns", "sentence") else None
                elif v in ("True", "False"):
                    row[k] = v == "True"
                else:
                    try:
                        row[k] = float(v) if k not in ("area_code", "month") else v
                    except ValueError:
                        row[k] = v
            for item in filter(None, row["suppressed_columns"].split("; ")):
                col, kind = item.split(":")
                if col in intruder.BASE or col in ("rolling_12m", "baseline", "avg_1y", "avg_3y"):
                    small = kind == "primary" and row["measure"] == "count" and col in intruder.BASE
                    row[col] = f"<{limit}" if small else SECONDARY_MARKER
            out.append(row)
    return out


@pytest.mark.parametrize("rule", RULES)
def test_the_cli_contract_on_the_whole_sample(published: dict[str, Any], sample_store: Path, tmp_path: Path, rule: str) -> None:
    """`thrv pack --public --suppression RULE`: pack.csv has every withheld cell empty with its
    kind, is the release, and the intruder given it (with every other month's public pack)
    works out no withheld cell and finds no figure that does not follow from shown counts."""
    from typer.testing import CliRunner

    from thrv.cli import app

    entry = published[rule]
    out = tmp_path / rule
    res = CliRunner().invoke(app, ["pack", "--db", str(sample_store), "--month", MONTH, "--out", str(out), "--public",
                                   "--suppression", rule, "--format", "xlsx"])
    assert res.exit_code == 0, res.output
    rows = _csv_as_rows(out / "pack.csv", RULES[rule].limit)
    model = entry["models"][MONTH]
    assert len(rows) == len(model["rows"])
    shown = 0
    for row, m in zip(rows, model["rows"], strict=True):
        assert row["suppressed"] == m["suppressed"] and row["suppressed"] in ("", "primary", "secondary")
        for col, v in m.items():
            if intruder.is_marker(v) or v is None:
                assert row.get(col) in (None, v), (row["indicator"], row["area"], col)
            elif isinstance(v, float) and col != "generated_at":
                assert row[col] == pytest.approx(v, rel=1e-12), (row["indicator"], row["area"], col)
                shown += 1
    assert shown > 1000
    written = json.loads((out / "pack.json").read_text(encoding="utf-8"))
    from_csv = {**written, "rows": rows}
    know = intruder.collect([*(m for k, m in entry["models"].items() if k != MONTH), from_csv])
    assert know.conflicts == []
    assert intruder.derived_problems(from_csv, know, entry["populations"]) == []
    assert intruder.attack(know, intruder.layout_of(from_csv), entry["side"]) == []
