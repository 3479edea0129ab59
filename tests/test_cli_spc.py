"""`thrv spc`: the contract of spc.csv, the offline chart, and one-line errors for bad input."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from thrv.cli import app
from thrv.stats.spc import xmr_chart
from thrv.store.database import Store

runner = CliRunner()
COLUMNS = ["month", "value", "mean", "lpl", "upl", "special_cause", "rule", "variation"]


@pytest.fixture(scope="module")
def public_order(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real monthly public order offences in Cambridgeshire, from the bundled sample."""
    with Store(sample_store, read_only=True) as store:
        df = store.df("SELECT strftime(month, '%Y-%m') AS month, count(*) AS value FROM crimes "
                      "WHERE crime_type = 'Public order' GROUP BY 1 ORDER BY 1")
    path = tmp_path_factory.mktemp("spc") / "public_order.csv"
    df.to_csv(path, index=False)
    return path


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_contract_and_values_on_a_real_series(public_order: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["spc", str(public_order), "--improvement", "lower", "--rebase", "2025-01",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = _read(out / "spc.csv")
    assert list(rows[0]) == COLUMNS
    given = _read(public_order)
    assert [r["month"] for r in rows] == [g["month"] for g in given]
    values = [float(g["value"]) for g in given]
    rebase = [g["month"] for g in given].index("2025-01")
    chart = xmr_chart(values, "lower_is_better", rebase_at=rebase)
    assert [float(r["mean"]) for r in rows] == pytest.approx(chart.mean.tolist())
    assert [float(r["lpl"]) for r in rows] == pytest.approx(chart.lcl.tolist())
    assert [float(r["upl"]) for r in rows] == pytest.approx(chart.ucl.tolist())
    assert [r["special_cause"] == "true" for r in rows] == chart.special_cause.tolist()
    assert [r["rule"] for r in rows] == chart.rule.tolist()
    assert [r["variation"] for r in rows] == chart.point_variation.tolist()
    assert {r["special_cause"] for r in rows} <= {"true", "false"}
    assert len({r["mean"] for r in rows}) == 2  # the rebase gives the second year its own mean
    page = (out / "spc.html").read_text(encoding="utf-8")
    assert "<svg" in page and "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
    assert rows[-1]["variation"] in page


def test_missing_months_are_skipped_not_cut(public_order: Path, tmp_path: Path) -> None:
    lines = public_order.read_text().splitlines()
    gap = [lines[0], *lines[1:6], lines[6].split(",")[0] + ",", *lines[8:]]  # one blank value, one month left out
    path = tmp_path / "gap.csv"
    path.write_text("\n".join(gap) + "\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["spc", str(path), "--improvement", "none", "--out", str(out)], terminal_width=200)
    assert result.exit_code == 0, result.output
    rows = _read(out / "spc.csv")
    assert len(rows) == len(lines) - 1 - 2
    assert "2 month(s) with no value skipped" in result.output
    values = [float(r["value"]) for r in rows]
    assert float(rows[-1]["upl"]) == pytest.approx(xmr_chart(values).ucl[-1])


def _run(tmp_path: Path, text: str, *args: str) -> tuple[int, str]:
    path = tmp_path / "in.csv"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["spc", str(path), "--improvement", "higher", "--out", str(tmp_path / "o"), *args],
                           terminal_width=300)
    return result.exit_code, result.output


GOOD = "month,value\n" + "".join(f"2024-{m:02d},{v}\n" for m, v in zip(range(1, 13), [5, 7, 6, 8, 7, 6, 9, 7, 6, 8, 7, 6], strict=True))


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        ("when,value\n2024-01,3\n2024-02,4\n", (), "no 'month' column"),
        ("month,count\n2024-01,3\n2024-02,4\n", (), "no 'value' column"),
        ("", (), "the file is empty"),
        ("month,value\n2024-01,3\nJan 2024,4\n", (), "line 3: month 'Jan 2024' is not YYYY-MM"),
        ("month,value\n2024-01,3\n2024-13,4\n", (), "month '2024-13' is not YYYY-MM"),
        ("month,value\n2024-01,3\n2024-02,4\n2024-01,5\n", (), "line 4: month 2024-01 appears twice (also line 2)"),
        ("month,value\n2024-01,3\n2024-02,four\n", (), "line 3: value 'four' is not a number"),
        ("month,value\n2024-01,3\n2024-02,inf\n", (), "not a finite number"),
        ("month,value\n2024-01,3\n", (), "an XmR chart needs at least two"),
        (GOOD, ("--rebase", "2023-05"), "--rebase 2023-05: no value for that month"),
        (GOOD, ("--rebase", "2024-12"), "each rebase segment needs at least two"),
        (GOOD, ("--rebase", "May"), "--rebase 'May' is not YYYY-MM"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, text: str, args: tuple[str, ...], message: str) -> None:
    code, output = _run(tmp_path, text, *args)
    assert code == 2
    assert message in output
    assert len(output.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()  # nothing written


def test_bad_improvement_and_good_input(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(GOOD)
    bad = runner.invoke(app, ["spc", str(path), "--improvement", "up", "--out", str(tmp_path / "o")])
    assert bad.exit_code == 2 and "higher, lower or none" in bad.output
    code, output = _run(tmp_path, GOOD.replace("2024-12,6", '2024-12,"1,006"'))
    assert code == 0, output
    rows = _read(tmp_path / "o" / "spc.csv")
    assert rows[-1]["value"] == "1006.0" and rows[-1]["rule"] == "beyond_limits"
    assert rows[-1]["variation"] == "special cause improvement"
    assert np.isclose(float(rows[0]["mean"]), np.mean([5, 7, 6, 8, 7, 6, 9, 7, 6, 8, 7, 1006]))
