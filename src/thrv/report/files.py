"""Write a report model to files: JSON and CSV always, plus HTML, PDF and Excel on request."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

FORMATS = ("html", "pdf", "xlsx")


def parse_formats(text: str) -> list[str]:
    """'html,pdf' -> ['html', 'pdf']; unknown names are an error naming the choices."""
    chosen = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise ValueError(f"--format takes a comma-separated subset of {', '.join(FORMATS)}; got {text!r}")
    return list(dict.fromkeys(chosen))


def write_json(model: dict[str, Any], path: Path) -> Path:
    """Strict JSON (a NaN or infinity left in a model becomes null), written by orjson."""
    import orjson

    path.write_bytes(orjson.dumps(model, option=orjson.OPT_SERIALIZE_NUMPY))
    return path


def write_csv(rows: Iterable[dict[str, Any]], path: Path, columns: list[str] | None = None) -> Path:
    """Rows to CSV, the given columns first; numbers as numbers, missing values empty."""
    import pyarrow as pa
    import pyarrow.csv as pv

    frame = pd.DataFrame(list(rows))
    if columns:
        frame = frame[[c for c in columns if c in frame.columns] + [c for c in frame.columns if c not in columns]]
    # mixed columns (numbers and "<5" in a published pack) are written as text
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = frame[col].map(lambda v: None if v is None else str(v) if not isinstance(v, str) else v)
    pv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), path, pv.WriteOptions(quoting_style="needed"))
    return path


def write_pack(
    model: dict[str, Any],
    out: Path,
    formats: Iterable[str] = ("html",),
    public: bool = False,
    progress: Callable[[str], None] | None = None,
    intervals: bool = False,
) -> list[Path]:
    """pack.json, pack.csv and pack.<format> for each requested format, into ``out``."""
    from thrv.report.html import render_pack_html
    from thrv.report.model import CONTRACT_COLUMNS

    out.mkdir(parents=True, exist_ok=True)
    step = progress or (lambda _name: None)
    written = []
    step("pack.json")
    written.append(write_json(model, out / "pack.json"))
    step("pack.csv")
    if model.get("meta", {}).get("disclosure"):  # withheld cells empty, their kinds in two columns
        from thrv.report.disclosure import csv_rows

        written.append(write_csv(csv_rows(model), out / "pack.csv", [*CONTRACT_COLUMNS, "suppressed", "suppressed_columns"]))
    else:
        written.append(write_csv(model["rows"], out / "pack.csv", CONTRACT_COLUMNS))
    cache: dict[str, Any] = {}  # charts drawn once for the HTML and the PDF
    for fmt in formats:
        step(f"pack.{fmt}")
        if fmt == "html":
            path = out / "pack.html"
            path.write_text(render_pack_html(model, public=public, intervals=intervals, cache=cache), encoding="utf-8")
            if any(r.get("area_level") in {"area", "district"} for r in model["rows"]):
                areas = out / "pack-areas.html"
                areas.write_text(render_pack_html(model, charts=False, public=public, part="areas", intervals=intervals), encoding="utf-8")
                written.append(areas)
        elif fmt == "pdf":
            from thrv.report.pdf import html_to_pdf

            path = html_to_pdf(render_pack_html(model, public=public, part="pdf", intervals=intervals, cache=cache), out / "pack.pdf")
        elif fmt == "xlsx":
            from thrv.report.excel import write_pack_xlsx

            path = write_pack_xlsx(model, out / "pack.xlsx")
        else:  # pragma: no cover - parse_formats guards this
            raise ValueError(fmt)
        written.append(path)
    return written
