"""`thrv plan` and `thrv report`: the files, the formats, the labels and the exits."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from thrv.cli import app
from thrv.plan import PlanFigures, load_plan, plan_model, theme_model
from thrv.plan.render import render_plan_html, render_theme_html, write_outputs

from .conftest import EXAMPLE_PLAN

runner = CliRunner()


def test_the_plan_on_a_page(example_figures: PlanFigures, tmp_path: Path) -> None:
    written = write_outputs(plan_model(example_figures), tmp_path, "plan", ["html", "xlsx"], render_plan_html)
    assert [p.name for p in written] == ["plan.json", "plan.html", "plan.xlsx"]
    model = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert model["kind"] == "police_and_crime_plan" and len(model["themes"]) == 4
    html = (tmp_path / "plan.html").read_text(encoding="utf-8")
    for theme in model["themes"]:
        assert theme["outcome"] in html and theme["aim"] in html
    assert "Example plan:" in html and "Generated data:" in html and "⚠" in html
    calls = next(r for t in model["themes"] for p in t["priorities"] for r in p["indicators"] if r["ref"] == "calls_999_answered_10s")
    assert f"{calls['headline']['value']:.1f}%" in html and "n 123,498" in html
    assert "the national standard (90%): 90.0% — Better (p &lt; 0.001)" in html


def test_theme_report_formats(example_figures: PlanFigures, tmp_path: Path) -> None:
    model = theme_model(example_figures, load_plan(EXAMPLE_PLAN).theme("Transformation"))
    write_outputs(model, tmp_path, "theme-transformation", ["pdf", "xlsx"], lambda m: render_theme_html(m, charts=False))
    for name in ("theme-transformation.json", "theme-transformation.pdf", "theme-transformation.xlsx"):
        assert (tmp_path / name).stat().st_size > 1000, name
    assert (tmp_path / "theme-transformation.pdf").read_bytes()[:5] == b"%PDF-"
    wb = openpyxl.load_workbook(tmp_path / "theme-transformation.xlsx", read_only=True)
    sheet = wb["Indicators"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    cells = {r[header.index("ref")]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    for row in model["measures"]:
        x = cells[row["ref"]]
        assert x["headline_value"] == pytest.approx(row["headline"]["value"])
        assert x["generated_data"] is True
        if row["comparators"]:
            assert x["comparator_value"] == row["comparators"][0]["value"]
    bme = cells["bme_officers"]
    assert (bme["current_num"], bme["current_den"], bme["comparator_label"]) == (43, 1654, "Worse")
    about = dict(wb["About"].iter_rows(values_only=True))
    assert about["Generated data"] == "measures feed" and "(EXAMPLE)" in about["Plan"]
    wb.close()


def test_thrv_report_on_the_command_line(plan_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = runner.invoke(app, ["report", "--plan", str(EXAMPLE_PLAN), "--theme", "victims", "--db", str(plan_store),
                                 "--month", "2025-12", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Victims theme report for 2025-12, Cambridgeshire Constabulary: 5 of 5 indicators" in result.output
    assert "GENERATED data behind" in result.output
    model = json.loads((out / "theme-victims.json").read_text(encoding="utf-8"))
    assert model["kind"] == "theme_report" and model["theme"]["name"] == "Victims"
    assert (out / "theme-victims.html").stat().st_size > 10_000


def test_theme_html_shows_the_seed_table_split_and_charts(example_figures: PlanFigures, tmp_path: Path) -> None:
    plan = load_plan(EXAMPLE_PLAN)
    model = theme_model(example_figures, plan.theme("Offenders"))
    (path,) = write_outputs(model, tmp_path, "theme-offenders", ["html"], render_theme_html)[1:]
    html = path.read_text(encoding="utf-8")
    assert "Shared outcome:" in html and plan.theme("Offenders").outcome in html
    assert "Burglary dwelling" in html and "Combating acquisitive crime" in html
    assert html.count("<svg") >= 8  # a chart per monthly indicator
    for header in ("1 year ago", "2 years ago", "3 years ago", "1-year average", "vs 3-year average", "Rolling 12 months", "12-month n", "Baseline"):
        assert header in html
    burglary = next(r for p in model["theme"]["priorities"] for g in p["groups"] for r in g["indicators"] if r.get("crime_type") == "Burglary")
    assert f"{burglary['rolling_12m']:.1f}%" in html
    assert f'<td class="num">{burglary["rolling_12m_den"]:,.0f}</td>' in html  # its 12-month n, in the seed table
    assert burglary["sentence"] in html.replace("&#39;", "'")
    victims = theme_model(example_figures, plan.theme("Victims"))
    page = render_theme_html(victims, charts=False)
    split = next(r for p in victims["theme"]["priorities"] for r in p["indicators"] if r.get("split"))["split"]
    table = page.split("by the victim's crime type", 1)[1].split("</table>", 1)[0]
    for s in split:  # every crime type's row: its 12 months, n and interval
        assert s["crime_type"] in table
        assert f"{s['rolling_12m']:.1f}%" in table and f"{s['rolling_12m_den']:,.0f}" in table
        assert f"{s['rolling_12m_ci_low']:.1f}–{s['rolling_12m_ci_high']:.1f}%" in table


def test_thrv_plan_exits_1_listing_what_does_not_resolve(plan_store: Path, tmp_path: Path) -> None:
    text = EXAMPLE_PLAN.read_text(encoding="utf-8")
    text = text.replace('id = "asb"', 'id = "asbo"').replace('measure = "feel_safe"', 'measure = "feel_unsafe"')
    text = text.replace('indicator_files = ["plan-indicators.toml"]', f'indicator_files = ["{EXAMPLE_PLAN.parent / "plan-indicators.toml"}"]')
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["plan", "--plan", str(path), "--db", str(plan_store), "--month", "2025-12", "--out", str(out)])
    assert result.exit_code == 1
    assert "31 indicators, 29 resolved" in result.output and "GENERATED data behind" in result.output
    assert "2 plan indicator(s) do not resolve" in result.output
    assert "unknown indicator id 'asbo'" in result.output and "did you mean asb" in result.output
    assert "measure 'feel_unsafe' is not in the store" in result.output
    assert "theme 'Communities'" in result.output
    model = json.loads((out / "plan.json").read_text(encoding="utf-8"))  # written all the same
    assert len(model["meta"]["unresolved"]) == 2
    assert "could not be resolved" in (out / "plan.html").read_text(encoding="utf-8")


def test_bad_usage_exits_2(plan_store: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[plan]\ntitle = "x"\n[[theme]]\nname = "Victims"\n', encoding="utf-8")
    result = runner.invoke(app, ["plan", "--plan", str(bad), "--db", str(plan_store), "--month", "2025-12"])
    assert result.exit_code == 2 and "missing 'outcome'" in result.output and "missing 'aim'" in result.output
    result = runner.invoke(app, ["report", "--plan", str(EXAMPLE_PLAN), "--theme", "Roads", "--db", str(plan_store), "--month", "2025-12"])
    assert result.exit_code == 2 and "no theme 'Roads'" in result.output
    result = runner.invoke(app, ["plan", "--plan", str(EXAMPLE_PLAN), "--check"])
    assert result.exit_code == 0 and "valid: 4 themes, 31 indicators" in result.output
    result = runner.invoke(app, ["plan", "--plan", str(EXAMPLE_PLAN), "--db", str(plan_store), "--month", "2025-13"])
    assert result.exit_code == 2


def test_status_marks_the_measures_generated(plan_store: Path) -> None:
    result = runner.invoke(app, ["status", "--db", str(plan_store)], terminal_width=200)
    assert result.exit_code == 0
    line = next(x for x in result.output.splitlines() if "measures" in x)
    assert "(GENERATED)" in line
