"""Excel workbook for analysts: one sheet per table, numbers as numbers, labels coloured.

Written with XlsxWriter in constant-memory mode: a force's LSOA sheet of ~10,000 rows
takes about a second (openpyxl took 20).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, cast

import pandas as pd
import xlsxwriter

LABEL_COLOURS = {
    "Improved": "#D4EDDA",
    "Deteriorated": "#F8D7DA",
    "Higher": "#DBE8F6",
    "Lower": "#FDEBD0",
}


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def write_tables_xlsx(tables: dict[str, pd.DataFrame], path: Path, about: list[tuple[str, Any]]) -> Path:
    """A workbook with an 'About' sheet and one sheet per table."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "nan_inf_to_errors": False})
    header = wb.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E79", "text_wrap": True})
    p_format = wb.add_format({"num_format": "0.0000"})
    fills = {k: wb.add_format({"bg_color": v}) for k, v in LABEL_COLOURS.items()}
    info = wb.add_worksheet("About")
    info.set_column(0, 0, 28)
    info.set_column(1, 1, 100)
    for r, (key, value) in enumerate(about):
        info.write_string(r, 0, key)
        info.write(r, 1, value if isinstance(value, (int, float)) else str(value))
    for name, frame in tables.items():
        ws = wb.add_worksheet(name[:31])
        columns = list(frame.columns)
        for c, col in enumerate(columns):
            ws.write_string(0, c, str(col), header)
            width = max([len(str(col))] + [len(str(v)) for v in frame[col].head(200)])
            ws.set_column(c, c, min(max(width + 2, 8), 60), p_format if col.startswith("p_value") else None)
        for r, row in enumerate(frame.itertuples(index=False), start=1):
            for c, value in enumerate(row):
                v = _cell(value)
                if v is None:
                    continue
                if isinstance(v, bool):
                    ws.write_boolean(r, c, v)
                elif isinstance(v, (int, float)):
                    ws.write_number(r, c, v)
                else:
                    ws.write_string(r, c, str(v))
        last = len(frame)
        for c, col in enumerate(columns):
            if col.startswith("label") and last:
                for word, fmt in fills.items():
                    ws.conditional_format(1, c, last, c, {"type": "cell", "criteria": "==", "value": f'"{word}"', "format": fmt})
        ws.freeze_panes(1, 1)
        ws.autofilter(0, 0, max(last, 1), max(len(columns) - 1, 0))
    wb.close()
    return path


#: readable headers for the Data sheet (others: snake_case → words)
HEADERS = {
    "indicator": "Indicator id", "title": "Indicator", "group": "Theme", "area": "Area", "area_level": "Level",
    "month": "Month", "current": "This month", "prev_1y": "Same month 1 year ago", "prev_2y": "Same month 2 years ago",
    "prev_3y": "Same month 3 years ago", "avg_1y": "1-year monthly average", "avg_3y": "3-year monthly average",
    "rolling_12m": "Rolling 12 months", "baseline": "Baseline (12 months)", "label": "Performance vs baseline",
    "test": "Test (vs baseline)", "p_value": "p (vs baseline)", "label_1y": "vs 1-year average", "test_1y": "Test (vs 1-year average)",
    "p_value_1y": "p (vs 1-year average)", "label_3y": "vs 3-year average", "test_3y": "Test (vs 3-year average)",
    "p_value_3y": "p (vs 3-year average)", "current_num": "This month: numerator", "current_den": "This month: n",
    "rolling_12m_num": "12 months: numerator", "rolling_12m_den": "12 months: n", "rate_per_1000": "Rate per 1,000 (12 months)",
    "national_rate_per_1000": "National rate per 1,000", "regional_rate_per_1000": "Regional rate per 1,000",
    "force_rank": "Rank of forces (1 = lowest rate)", "force_rank_of": "Forces ranked", "spc_variation": "SPC",
    "spc_rules": "SPC rules", "spc_mean": "SPC mean", "spc_lcl": "SPC lower limit", "spc_ucl": "SPC upper limit",
    "sentence": "Finding", "generated_data": "Generated data", "area_code": "Area code", "force": "Force",
}


def readable(column: str) -> str:
    if column in HEADERS:
        return HEADERS[column]
    text = column.replace("_1y", " (1 year)").replace("_3y", " (3 years)").replace("_12m", " 12 months").replace("_", " ")
    return text[:1].upper() + text[1:]


def _board_columns(month: str, with_area: bool, comparison: bool, rows: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(field, heading, kind) of the Pack/Areas sheets: the board table's columns, plus n."""
    from thrv.report.html import columns

    records = cast(list[dict[str, Any]], rows.to_dict("records"))
    cols = [(c.key, c.heading, c.kind) for c in columns(month, records, comparison)]
    if with_area:
        cols.insert(0, ("area", "Area", "text"))
        cols.insert(1, ("area_level", "Level", "text"))
    cols = [("spc_variation", "SPC", "text") if k == "spc" else (k, h, kind) for k, h, kind in cols]
    cols += [("current_den", "n (month)", "n"), ("rolling_12m_den", "n (12 months)", "n")]
    return cols


def _board_sheet(wb: Any, name: str, title: str, subtitle: str, rows: pd.DataFrame, cols: list[tuple[str, str, str]], fmts: dict[str, Any]) -> None:
    """A sheet laid out like the board table: title rows, a header, rows grouped by theme."""
    from thrv.report.glance import spc_words

    ws = wb.add_worksheet(name)
    ws.write_string(0, 0, title, fmts["title"])
    ws.write_string(1, 0, subtitle, fmts["subtitle"])
    header_row = 3
    for c, (_, heading, _) in enumerate(cols):
        ws.write_string(header_row, c, heading, fmts["header"])
        ws.set_column(c, c, 34 if c == 0 else 22 if heading in {"Area", "SPC"} else 12)
    r = header_row + 1
    group = None
    records = cast(list[dict[str, Any]], rows.to_dict("records"))
    order: dict[str, int] = {}
    for rec in records:
        order.setdefault(str(rec.get("group") or ""), len(order))
    records = [rec for _, rec in sorted(enumerate(records), key=lambda t: (order[str(t[1].get("group") or "")], t[0]))]
    for rec in records:
        if rec.get("group") != group:
            group = rec.get("group")
            ws.merge_range(r, 0, r, len(cols) - 1, str(group or ""), fmts["group"])
            r += 1
        measure = rec.get("measure", "count")
        for c, (key, _, kind) in enumerate(cols):
            v = _cell(rec.get(key))
            if key == "title" and rec.get("generated_data"):
                v = f"{v} ⚠ (generated data)"
            if key == "spc_variation":
                v = spc_words(rec) or None
            if v is None or v == "":
                continue
            if isinstance(v, (str, bool)):
                ws.write_string(r, c, str(v), fmts.get(f"label_{v}", fmts["text"]) if kind == "label" else fmts["text"])
            elif kind == "n":
                ws.write_number(r, c, v, fmts["count"])
            elif key.startswith(("rate_", "national_rate", "regional_rate")):
                ws.write_number(r, c, v, fmts["rate"])
            elif key == "force_rank":
                ws.write_number(r, c, v, fmts["count"])
            elif measure == "proportion":
                ws.write_number(r, c, v / 100.0, fmts["pct"])  # stored as a percentage: Excel shows 0.0%
            elif measure == "count" and key not in {"avg_1y", "avg_3y"}:
                ws.write_number(r, c, v, fmts["count"])
            else:
                ws.write_number(r, c, v, fmts["dec"])
        r += 1
    ws.freeze_panes(header_row + 1, 1)
    ws.autofilter(header_row, 0, max(r - 1, header_row + 1), len(cols) - 1)


def write_pack_xlsx(model: dict[str, Any], path: Path) -> Path:
    """The pack for an analyst to send on: Pack (the board table), Findings, Areas, Data, About.

    Pack and Areas are laid out like the board table (titles, grouped by theme, numbers
    formatted 0 / 0.0 / 0.0%); Findings holds the at-a-glance lines and every sentence;
    Data holds every row and column with readable headers; each sheet has frozen panes and
    filters. Markers from a published model ("[c]", "<5") are written as text.
    """
    from thrv.report.glance import sections
    from thrv.report.model import CONTRACT_COLUMNS
    from thrv.report.narrative import month_name

    rows = pd.DataFrame(model["rows"])
    meta = model["meta"]
    month = meta["month"]
    if rows.empty:
        raise ValueError(f"the pack for {month} has no rows to write")
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "nan_inf_to_errors": False})
    fmts = {
        "title": wb.add_format({"bold": True, "font_size": 14, "font_color": "#1F4E79"}),
        "subtitle": wb.add_format({"italic": True, "font_color": "#444444"}),
        "header": wb.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E79", "text_wrap": True, "valign": "top"}),
        "group": wb.add_format({"bold": True, "bg_color": "#EEF3F8"}),
        "text": wb.add_format({}),
        "count": wb.add_format({"num_format": "#,##0"}),
        "dec": wb.add_format({"num_format": "#,##0.0"}),
        "pct": wb.add_format({"num_format": "0.0%"}),
        "rate": wb.add_format({"num_format": "0.00"}),
        **{f"label_{k}": wb.add_format({"bg_color": v}) for k, v in LABEL_COLOURS.items()},
    }
    comparison = len(meta.get("forces_in_store") or []) > 1
    scope_name = meta.get("area") or ", ".join(sorted(rows["force"].unique()))
    subtitle = f"{month_name(month)} · baseline {meta['baseline_period']} · tests at {meta['confidence']:.0%} confidence · thrv {meta['thrv_version']}"
    lead = rows[rows["area_level"] == "force"]
    if lead.empty:
        lead = rows[rows["area"] == meta.get("area")] if meta.get("area") else rows[rows["area_level"] != "lsoa"]
    _board_sheet(wb, "Pack", f"Performance pack: {scope_name}", subtitle, lead, _board_columns(month, lead["force"].nunique() > 1, comparison, lead), fmts)

    ws = wb.add_worksheet("Findings")
    ws.write_string(0, 0, f"Findings: {scope_name}, {month_name(month)}", fmts["title"])
    for c, h in enumerate(("Section", "Area", "Finding")):
        ws.write_string(2, c, h, fmts["header"])
    ws.set_column(0, 0, 36)
    ws.set_column(1, 1, 28)
    ws.set_column(2, 2, 160)
    r = 3
    lead_records = cast(list[dict[str, Any]], lead.to_dict("records"))
    for force in sorted(lead["force"].unique()):
        for section in sections([x for x in lead_records if x["force"] == force], month):
            for line in section.lines:
                ws.write_string(r, 0, section.heading)
                ws.write_string(r, 1, str(force))
                ws.write_string(r, 2, line)
                r += 1
    for rec in rows[rows["area_level"] != "lsoa"].to_dict("records"):
        ws.write_string(r, 0, "Every indicator")
        ws.write_string(r, 1, str(rec["area"]))
        ws.write_string(r, 2, str(rec.get("sentence") or ""))
        r += 1
    ws.freeze_panes(3, 0)
    ws.autofilter(2, 0, max(r - 1, 3), 2)

    detail = rows[rows["area_level"].isin(["area", "district"]) & ~rows.index.isin(lead.index)]
    if not detail.empty:
        _board_sheet(wb, "Areas", f"Areas and districts: {scope_name}", subtitle, detail, _board_columns(month, True, False, detail), fmts)

    data = rows[rows["area_level"] != "lsoa"]
    lsoa = rows[rows["area_level"] == "lsoa"]
    _data_sheet(wb, "Data", data, fmts)
    if not lsoa.empty:
        # the LSOA sheet keeps the board-pack columns: all ~80 would be ~1M cells per force
        extra = ["title", "force", "current_num", "current_den", "population", "rate_per_1000"]
        _data_sheet(wb, "LSOA", lsoa[[c for c in CONTRACT_COLUMNS + extra if c in lsoa.columns]], fmts)
    _data_sheet(wb, "Indicators", pd.DataFrame(model["indicators"]).drop(columns=["where", "numerator"], errors="ignore"), fmts)
    info = wb.add_worksheet("About")
    info.set_column(0, 0, 28)
    info.set_column(1, 1, 110)
    legend = meta.get("legend") or (meta.get("disclosure") or {}).get("legend")
    about = [
        ("Report", "Performance pack"),
        ("Month", month),
        ("Baseline", meta["baseline_period"]),
        ("Confidence", meta["confidence"]),
        ("Produced", f"{meta['generated_at']} by thrv {meta['thrv_version']}"),
        ("Labels", "Performance vs baseline = rolling 12 months vs baseline; vs 1-/3-year average = the month vs that monthly average"),
        ("Proportions", "Shown as %, with n (the records behind them) for the month and the 12 months"),
        ("Generated data", ", ".join(meta.get("generated_data") or []) or "none"),
        *([("Legend", legend if isinstance(legend, str) else "; ".join(f"{k} {v}" for k, v in legend.items()))] if legend else []),
        ("Licence", "Contains public sector information licensed under the Open Government Licence v3.0."),
    ]
    for r, (key, value) in enumerate(about):
        info.write_string(r, 0, key, fmts["header"])
        info.write(r, 1, value if isinstance(value, (int, float)) else str(value))
    wb.close()
    return path


def _data_sheet(wb: Any, name: str, frame: pd.DataFrame, fmts: dict[str, Any]) -> None:
    """Every column with a readable header; numbers as numbers; p-values to 4 dp."""
    ws = wb.add_worksheet(name)
    columns = list(frame.columns)
    p_format = wb.add_format({"num_format": "0.0000"})
    for c, col in enumerate(columns):
        ws.write_string(0, c, readable(str(col)), fmts["header"])
        ws.set_column(c, c, 14 if col not in {"title", "sentence"} else 40 if col == "title" else 80,
                      p_format if str(col).startswith("p_value") else None)
    for r, row in enumerate(frame.itertuples(index=False), start=1):
        for c, value in enumerate(row):
            v = _cell(value)
            if v is None:
                continue
            if isinstance(v, bool):
                ws.write_boolean(r, c, v)
            elif isinstance(v, (int, float)):
                ws.write_number(r, c, v)
            elif isinstance(v, (list, dict)):
                ws.write_string(r, c, str(v))
            else:
                ws.write_string(r, c, str(v))
    last = len(frame)
    for c, col in enumerate(columns):
        if str(col).startswith("label") and last:
            for word in LABEL_COLOURS:
                ws.conditional_format(1, c, last, c, {"type": "cell", "criteria": "==", "value": f'"{word}"', "format": fmts[f"label_{word}"]})
    ws.freeze_panes(1, 2 if len(columns) > 2 else 1)
    ws.autofilter(0, 0, max(last, 1), max(len(columns) - 1, 0))
