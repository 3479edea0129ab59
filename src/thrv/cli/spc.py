"""`thrv spc`: an XmR (SPC) chart of any monthly series an analyst has, CSV in, chart and table out.

The chart is the pack's: NHSRplotthedots' rules and precedence, outlier screening of the
moving ranges, rebasing (see docs/methods.md). Input is read whole and checked before
anything is written; a bad file gets one line saying what and where, and exit code 2.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from thrv.cli._app import app, console, err

IMPROVEMENT = {"higher": "higher_is_better", "lower": "lower_is_better", "none": "none"}
COLOURS = {  # Making Data Count's palette: grey common cause, blue improvement, orange concern
    "common cause": "#7b7d7d",
    "special cause improvement": "#289de0",
    "special cause concern": "#fab428",
    "special cause (neither)": "#361475",
}


THOUSANDS = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?")


class SeriesError(ValueError):
    """The input cannot be charted; the message says why, in one line."""


@dataclass(frozen=True)
class Series:
    months: list[dt.date]
    values: list[float]
    skipped: list[dt.date]  # months between the first and last that the file does not give
    blank: list[dt.date]  # months given with an empty value (treated as missing)


def _month(text: str) -> dt.date | None:
    t = text.strip()
    for fmt in ("%Y-%m", "%Y-%m-%d"):
        try:
            d = dt.datetime.strptime(t, fmt).date()
        except ValueError:
            continue
        if fmt == "%Y-%m-%d" and d.day != 1:
            return None
        return d.replace(day=1)
    return None


def _next(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def read_series(path: Path) -> Series:
    """Read ``month,value`` rows: months YYYY-MM (or the 1st, YYYY-MM-01), values numbers.

    An empty value is a missing month and is skipped, as is a month the file leaves out.
    Everything else that is wrong stops the command: which line, and what.
    """
    if not path.is_file():
        raise SeriesError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SeriesError(f"{path}: not a UTF-8 text CSV file ({exc.reason} at byte {exc.start})") from exc
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise SeriesError(f"{path}: the file is empty; it needs a header row 'month,value'")
    names = [h.strip().lower() for h in header]
    missing = [c for c in ("month", "value") if c not in names]
    if missing:
        raise SeriesError(
            f"{path}: no {' or '.join(repr(m) for m in missing)} column; the header is {','.join(header)!r} "
            "and must name the columns month,value"
        )
    im, iv = names.index("month"), names.index("value")
    seen: dict[dt.date, int] = {}
    rows: list[tuple[dt.date, float | None]] = []
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(im, iv):
            raise SeriesError(f"{path}: line {line} has {len(row)} fields; month and value are needed")
        month = _month(row[im])
        if month is None:
            raise SeriesError(f"{path}: line {line}: month {row[im].strip()!r} is not YYYY-MM (e.g. 2025-12)")
        if month in seen:
            raise SeriesError(f"{path}: line {line}: month {month:%Y-%m} appears twice (also line {seen[month]})")
        seen[month] = line
        raw = row[iv].strip()
        if THOUSANDS.fullmatch(raw):  # "1,234" as spreadsheets write it
            raw = raw.replace(",", "")
        if raw == "":
            rows.append((month, None))
            continue
        try:
            value = float(raw)
        except ValueError as exc:
            raise SeriesError(f"{path}: line {line}: value {row[iv].strip()!r} is not a number") from exc
        if not math.isfinite(value):
            raise SeriesError(f"{path}: line {line}: value {row[iv].strip()!r} is not a finite number")
        rows.append((month, value))
    rows.sort(key=lambda r: r[0])
    given = [(m, v) for m, v in rows if v is not None]
    blank = [m for m, v in rows if v is None]
    skipped: list[dt.date] = []
    if rows:
        held = {m for m, _ in rows}
        m = rows[0][0]
        while m < rows[-1][0]:
            if m not in held:
                skipped.append(m)
            m = _next(m)
    return Series([m for m, _ in given], [float(v) for _, v in given], skipped, blank)


def spc_rows(series: Series, improvement: str, rebase: list[dt.date], screen_outliers: bool = True,
             run_length: int = 7) -> tuple[list[dict[str, Any]], Any]:
    """One row per point (the contract of spc.csv) and the chart behind them."""
    from thrv.stats.spc import xmr_chart

    if len(series.values) < 2:
        raise SeriesError(f"{len(series.values)} point(s) with a value: an XmR chart needs at least two")
    index = {m: i for i, m in enumerate(series.months)}
    starts = []
    for r in sorted(set(rebase)):
        if r not in index:
            raise SeriesError(f"--rebase {r:%Y-%m}: no value for that month in the input")
        starts.append(index[r])
    bounds = [0, *[s for s in starts if s > 0], len(series.values)]
    for a, b in itertools.pairwise(bounds):
        if b - a < 2:
            raise SeriesError(
                f"the segment starting {series.months[a]:%Y-%m} has {b - a} point: each rebase segment needs at least two"
            )
    chart = xmr_chart(series.values, IMPROVEMENT[improvement], rebase_at=starts or None,  # type: ignore[arg-type]
                      screen_outliers=screen_outliers, shift_length=run_length, trend_length=run_length)
    rows = [
        {
            "month": m.strftime("%Y-%m"), "value": series.values[i], "mean": float(chart.mean[i]),
            "lpl": float(chart.lcl[i]), "upl": float(chart.ucl[i]),
            "special_cause": "true" if chart.special_cause[i] else "false",
            "rule": str(chart.rule[i]), "variation": str(chart.point_variation[i]),
        }
        for i, m in enumerate(series.months)
    ]
    return rows, chart


def _chart_svg(rows: list[dict[str, Any]], segments: list[int], title: str) -> str:
    import altair as alt
    import pandas as pd

    from thrv.report.charts import FONT, to_svg

    df = pd.DataFrame(rows).assign(segment=segments)
    df["date"] = pd.to_datetime(df["month"] + "-01")
    x = alt.X("date:T", title=None, axis=alt.Axis(format="%b %y", tickCount=12))
    base = alt.Chart(df).encode(x=x)
    limits = [base.mark_line(color="#555555", strokeWidth=1.5).encode(y="mean:Q", detail="segment:N")]
    for col in ("lpl", "upl"):
        limits.append(base.mark_line(color="#999999", strokeDash=[4, 3]).encode(y=f"{col}:Q", detail="segment:N"))
    line = base.mark_line(color="#7b7d7d").encode(y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)))
    points = base.mark_circle(size=55, opacity=1).encode(
        y="value:Q",
        color=alt.Color("variation:N", scale=alt.Scale(domain=list(COLOURS), range=list(COLOURS.values())),
                        legend=alt.Legend(title=None, orient="bottom")),
        tooltip=["month:N", alt.Tooltip("value:Q", format=",.2f"), "variation:N", "rule:N"],
    )
    chart = alt.layer(*limits, line, points).properties(title=title, width=720, height=300)
    chart = (chart.configure_axis(labelFont=FONT, titleFont=FONT, labelFontSize=10, grid=False)
             .configure_legend(labelFont=FONT).configure_view(strokeWidth=0)
             .configure_title(font=FONT, fontSize=13, anchor="start"))
    return to_svg(chart)


def _html(title: str, svg: str, rows: list[dict[str, Any]], chart: Any, notes: list[str], improvement: str) -> str:
    from thrv.stats.spc import RULE_TEXT

    last = rows[-1]
    esc = html.escape
    body = "".join(
        f"<tr><td>{esc(r['month'])}</td><td>{r['value']:,.2f}</td><td>{r['mean']:,.2f}</td><td>{r['lpl']:,.2f}</td>"
        f"<td>{r['upl']:,.2f}</td><td>{esc(RULE_TEXT.get(r['rule'], ''))}</td><td>{esc(r['variation'])}</td></tr>"
        for r in rows
    )
    note_html = "".join(f"<li>{esc(n)}</li>" for n in notes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>body{{font-family:"DejaVu Sans",Arial,sans-serif;margin:2em;max-width:60em;color:#222}}
table{{border-collapse:collapse;font-size:0.85em}}td,th{{border-bottom:1px solid #ddd;padding:2px 8px;text-align:right}}
td:nth-child(n+6),th:nth-child(n+6){{text-align:left}}</style></head><body>
<h1>{esc(title)}</h1>
<p>Latest point ({esc(last['month'])}): <strong>{esc(last['variation'])}</strong>{' (' + esc(RULE_TEXT[last['rule']]) + ')' if last['rule'] else ''}.
Mean {last['mean']:,.2f}, process limits {last['lpl']:,.2f} to {last['upl']:,.2f}. Improvement: {esc(improvement)}.</p>
{svg}
<p>Method: XmR chart (individuals and moving ranges), NHS England <em>Making Data Count</em> rules as
NHSRplotthedots applies them: limits mean ± 2.66 × mean moving range{' (moving ranges of 3.267 × their mean or more screened out)' if chart.screen_outliers else ''};
special cause, in order of precedence: a point beyond a limit; a run of {chart.trend_length} rising or falling points;
two of three points beyond two sigma on one side of the mean; a run of {chart.shift_length} points on one side of the mean.</p>
{'<ul>' + note_html + '</ul>' if note_html else ''}
<table><thead><tr><th>month</th><th>value</th><th>mean</th><th>lower limit</th><th>upper limit</th><th>rule</th><th>variation</th></tr></thead>
<tbody>{body}</tbody></table>
</body></html>
"""


@app.command()
def spc(
    input_csv: Annotated[Path, typer.Argument(metavar="INPUT.csv", help="CSV with columns month (YYYY-MM) and value.")],
    improvement: Annotated[str, typer.Option(help="Which way is good: higher, lower or none.")],
    out: Annotated[Path, typer.Option(help="Folder for spc.csv and spc.html (created if missing).")],
    rebase: Annotated[list[str] | None, typer.Option(help="Recompute the limits from this month, YYYY-MM; repeat for several.")] = None,
    screen_outliers: Annotated[bool, typer.Option(help="Leave large moving ranges out of the limits (NHSRplotthedots' default; off = the Making Data Count Excel tool).")] = True,
    run_length: Annotated[int, typer.Option(help="Points in a shift or trend that signal special cause (Making Data Count: 7).")] = 7,
    title: Annotated[str | None, typer.Option(help="Chart title (default: the input file's name).")] = None,
) -> None:
    """XmR (SPC) chart of any monthly series: a table of every point and an offline HTML chart.

    Rules, precedence, outlier screening and rebasing as NHSRplotthedots (the NHS Making
    Data Count reference). Writes OUT/spc.csv (month, value, mean, lpl, upl, special_cause,
    rule, variation; rule is beyond_limits, trend, two_of_three or shift, empty for common
    cause) and OUT/spc.html. A month missing from the file, or with an empty value, is
    skipped. Bad input (missing columns, bad or repeated months, non-numbers, fewer than two
    points) stops with a one-line error and exit code 2.

    Example: `thrv spc burglary.csv --improvement lower --rebase 2024-04 --out spc/`
    """
    if improvement not in IMPROVEMENT:
        err.print(f"[red]error:[/red] --improvement must be higher, lower or none, got {improvement!r}")
        raise typer.Exit(2)
    if run_length < 3:
        err.print(f"[red]error:[/red] --run-length must be at least 3, got {run_length}")
        raise typer.Exit(2)
    months = []
    for r in rebase or []:
        m = _month(r)
        if m is None:
            err.print(f"[red]error:[/red] --rebase {r!r} is not YYYY-MM")
            raise typer.Exit(2)
        months.append(m)
    try:
        series = read_series(input_csv)
        rows, chart = spc_rows(series, improvement, months, screen_outliers, run_length)
    except SeriesError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    notes = [n for n in [chart.note] if n]
    if series.skipped or series.blank:
        gone = sorted([*series.skipped, *series.blank])
        notes.append(f"{len(gone)} month(s) with no value skipped: {', '.join(f'{m:%Y-%m}' for m in gone)}.")
    out.mkdir(parents=True, exist_ok=True)
    with (out / "spc.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["month", "value", "mean", "lpl", "upl", "special_cause", "rule", "variation"])
        writer.writeheader()
        writer.writerows(rows)
    name = title or input_csv.stem
    svg = _chart_svg(rows, chart.segment.tolist(), name)
    (out / "spc.html").write_text(_html(name, svg, rows, chart, notes, improvement), encoding="utf-8")
    last = rows[-1]
    console.print(f"{len(rows)} points, {last['month']}: {last['variation']}"
                  + (f" ({last['rule']})" if last["rule"] else ""), highlight=False)
    for n in notes:
        console.print(f"  note: {n}", highlight=False)
    console.print(f"  wrote {out / 'spc.csv'}\n  wrote {out / 'spc.html'}", highlight=False)
