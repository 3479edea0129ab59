"""The performance pack at national scale, beside a plain pandas implementation.

    python benchmarks/national.py [--months 60] [--month 2025-12] [--work bench-work]

1. Builds (once, cached in --work) a **derived** national-scale store: 43 territorial forces ×
   60 months, about 30 million street-level rows, made from the REAL data.police.uk rows of
   October and November 2025 in ../shared/data (38 forces). Each force-month resamples its
   force's real rows, scaled by a seasonal profile taken from Cambridgeshire's real 2024-25
   months and a small yearly trend. The five forces absent from the real files
   (Metropolitan, Greater Manchester, West Midlands, West Yorkshire, Avon and Somerset) are
   derived from a proxy force's rows moved onto their own LSOAs and scaled by population.
   The store says so in its `meta` table and ingest log: it is for timing, not for analysis.
2. Times `thrv pack` for every force, area and district for one month (figures, tests,
   SPC, rates, sentences; JSON and CSV written) in a child process, with its peak memory:
   first counting the crime rows themselves, then from the store's monthly crime summary
   (``thrv.store.summary``: counts per force, district, month, crime type and outcome, which
   ingest keeps beside the rows), whose one-off build is timed and printed in between. The
   two pack.csv files must be byte-identical. Each is run ``--repeat`` times (default 3) and
   the median reported, with every run's time: on two cores runs differ by up to a second.
3. Times a straightforward pandas implementation of the same figures (group-bys, then the
   comparisons series by series: a statsmodels quasi-Poisson GLM per series for the
   dispersion and the seasonal expectation, scipy for the tests) in another child process,
   checks its figures against thrv's, and prints both times, the ratio and peak memory.
4. With ``--growth 2,4``: the same pack on stores holding 2x and 4x the national rows (each
   force-month's rows repeated under new crime ids; built once in --work), to show how the
   cost grows with the rows. The machine's load average is printed at the start and the end:
   on a shared machine compare figures within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "police_uk"
MISSING = {  # absent force -> proxy force whose rows are moved onto its LSOAs
    "Metropolitan Police Service": "Thames Valley Police",
    "Greater Manchester Police": "Lancashire Constabulary",
    "West Midlands Police": "Staffordshire Police",
    "West Yorkshire Police": "South Yorkshire Police",
    "Avon and Somerset Constabulary": "Devon & Cornwall Police",
}


def build_store(work: Path, months: int, last_month: str) -> Path:
    """Create the derived national store (cached)."""
    import duckdb  # the benchmark writes the derived rows with SQL directly

    from thrv.ingest import ingest
    from thrv.reference import forces
    from thrv.store.database import Store

    db = work / f"national-{months}m.duckdb"
    if db.exists():
        return db
    base = work / "national-base.duckdb"
    if not base.exists():
        print("loading the real all-force months (2025-10, 2025-11) ...", flush=True)
        with Store(base) as store:
            ingest(store, [SHARED / "all_forces"])
    tmp = db.with_suffix(".tmp.duckdb")
    tmp.unlink(missing_ok=True)
    Store(tmp).close()  # schema and reference tables
    con = duckdb.connect(str(tmp))
    con.execute(f"ATTACH '{base}' AS base (READ_ONLY)")
    # seasonal profile from Cambridgeshire's real 24 months (mean 1.0)
    sample = ROOT / "data" / "sample" / "cambridgeshire"
    profile = con.execute(
        f"SELECT month(CAST(Month || '-01' AS DATE)) AS m, count(*) AS n FROM read_csv('{sample}/*/*-street.csv.gz', "
        "all_varchar=true, union_by_name=true) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    mean = sum(n for _, n in profile) / len(profile)
    season = {m: n / mean for m, n in profile}
    pfa = {f.name: f.pfa_code for f in forces() if f.pfa_code}
    real = [r[0] for r in con.execute("SELECT DISTINCT force FROM base.crimes WHERE force IN (SELECT name FROM ref_forces WHERE pfa_code IS NOT NULL)").fetchall()]
    targets = sorted(set(real) | set(MISSING))
    pop = dict(con.execute("SELECT code, population FROM ref_population WHERE level = 'force'").fetchall())
    first_idx = int(last_month[:4]) * 12 + int(last_month[5:]) - 1 - (months - 1)
    month_rows = []
    for k in range(months):
        idx = first_idx + k
        y, m = divmod(idx, 12)
        trend = 1.0 + 0.02 * (k / 12 - months / 24)  # about +2% a year around the middle
        month_rows.append((f"{y:04d}-{m + 1:02d}-01", season[m + 1] * trend))
    con.execute("CREATE TEMP TABLE months (month DATE, factor DOUBLE)")
    con.executemany("INSERT INTO months VALUES (?, ?)", month_rows)
    con.execute(
        "CREATE TEMP TABLE template AS SELECT row_number() OVER () AS rid, * FROM base.crimes WHERE force IN ("
        + ",".join("?" * len(real)) + ")",
        real,
    )
    con.execute("CREATE TEMP TABLE plan (target VARCHAR, source VARCHAR, scale DOUBLE, pfa VARCHAR, n_lsoa BIGINT)")
    n_lsoa = dict(con.execute("SELECT pfa_code, count(*) FROM ref_lsoa WHERE vintage = 2021 GROUP BY 1").fetchall())
    for target in targets:
        source = MISSING.get(target, target)
        scale = pop.get(pfa[target], 1.0) / pop.get(pfa[source], 1.0) if target in MISSING else 1.0
        # the template holds two months: per month we want half of it, times the scale
        con.execute("INSERT INTO plan VALUES (?, ?, ?, ?, ?)", [target, source, scale / 2.0, pfa[target], n_lsoa[pfa[target]]])
    con.execute(
        "CREATE TEMP TABLE target_lsoas AS SELECT pfa_code, lsoa_code, "
        "row_number() OVER (PARTITION BY pfa_code ORDER BY lsoa_code) - 1 AS i FROM ref_lsoa WHERE vintage = 2021"
    )
    print(f"deriving {months} months for {len(targets)} forces ...", flush=True)
    started = time.perf_counter()
    con.execute(
        """
        INSERT INTO crimes
        WITH expanded AS (
            SELECT t.*, p.target, p.pfa, p.n_lsoa, p.scale * mo.factor AS want, mo.month AS new_month, r.range AS rep
            FROM template t JOIN plan p ON t.force = p.source
            CROSS JOIN months mo CROSS JOIN range(3) r
            WHERE r.range < ceil(p.scale * mo.factor)
        )
        SELECT printf('%016x', hash(e.rid, e.new_month, e.rep)) AS crime_id, e.new_month AS month,
               e.target AS reported_by, e.target AS force, e.longitude, e.latitude, e.location,
               CASE WHEN e.target = e.force THEN e.lsoa_code ELSE tl.lsoa_code END AS lsoa_code,
               CASE WHEN e.target = e.force THEN e.lsoa_name ELSE tl.lsoa_code END AS lsoa_name,
               e.crime_type, e.last_outcome_category, e.context, rl.lad_code AS district_code,
               0 AS ingest_id, 'derived: benchmarks/national.py' AS source_file, e.source_line
        FROM expanded e
        LEFT JOIN target_lsoas tl ON tl.pfa_code = e.pfa AND tl.i = hash(e.lsoa_code) % e.n_lsoa
        LEFT JOIN ref_lsoa rl ON rl.lsoa_code = CASE WHEN e.target = e.force THEN e.lsoa_code ELSE tl.lsoa_code END
        WHERE (hash(e.rid, e.new_month, e.rep) % 1000000) / 1000000.0 < e.want - e.rep
        """
    )
    n = con.execute("SELECT count(*) FROM crimes").fetchone()[0]  # type: ignore[index]
    con.execute(
        "INSERT INTO ingest_log (ingest_id, file, sha256, bytes, kind, table_name, status, rows_read, rows_stored, "
        "rows_quarantined, rows_replaced, superseded_by, units, message, started_at, finished_at, seconds, thrv_version, "
        "rows_current) VALUES (0, 'derived: benchmarks/national.py', 'derived', 0, 'street', 'crimes', "
        "'stored', ?, ?, 0, 0, NULL, NULL, 'DERIVED national-scale benchmark data made from real data.police.uk rows; "
        "not for analysis', now(), now(), 0, 'benchmark', ?)",
        [n, n, n],
    )
    con.execute("INSERT OR REPLACE INTO meta VALUES ('derived_benchmark', 'national scale, derived from real rows')")
    con.close()
    tmp.rename(db)
    print(f"derived {n:,} rows in {time.perf_counter() - started:.0f} s -> {db}", flush=True)
    return db


def scaled_store(work: Path, db: Path, factor: int) -> Path:
    """``db`` with every crime row repeated ``factor`` times under new ids (cached)."""
    import duckdb

    out = work / f"{db.stem}-x{factor}.duckdb"
    if out.exists():
        return out
    tmp = out.with_suffix(".tmp.duckdb")
    tmp.unlink(missing_ok=True)
    started = time.perf_counter()
    import shutil

    shutil.copyfile(db, tmp)
    con = duckdb.connect(str(tmp))
    cols = [r[0] for r in con.execute("DESCRIBE crimes").fetchall()]
    select = ", ".join("crime_id || '-x{k}'" if c == "crime_id" else c for c in cols)
    for k in range(1, factor):
        con.execute(f"INSERT INTO crimes SELECT {select.format(k=k)} FROM crimes WHERE crime_id NOT LIKE '%-x%'")
    con.execute("INSERT OR REPLACE INTO meta VALUES ('derived_benchmark', ?)", [f"national scale x{factor}, derived from real rows"])
    con.close()
    tmp.rename(out)
    print(f"built {out.name} ({factor}x the rows) in {time.perf_counter() - started:.0f} s", flush=True)
    return out


def build_summary(db: Path) -> tuple[float, int]:
    """(Re)build the store's monthly crime summary, as a store gets it once: seconds and rows."""
    from thrv.store import summary
    from thrv.store.database import Store

    started = time.perf_counter()
    with Store(db) as store, store.transaction() as con:
        con.execute("SET threads = 2")
        rows = summary.build(con, "crimes")
    return time.perf_counter() - started, rows


THRV_CHILD = r"""
import datetime as dt, json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
from thrv.store.database import Store
import thrv.indicators.pack as pack_module
from thrv.indicators.pack import build_pack
if sys.argv[4:] == ["rows"]:  # count the rows themselves, as a store without a current summary does
    pack_module.summaries_of = lambda con, tables: {}
from thrv.report.model import pack_model
from thrv.report.files import write_json, write_csv
from thrv.report.model import CONTRACT_COLUMNS
db, month, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
with Store(db, read_only=True) as store:
    store.con.execute("SET threads = 2")
    pack = build_pack(store, dt.date(int(month[:4]), int(month[5:]), 1), levels=["force", "area", "district"])
computed = time.perf_counter() - started
model = pack_model(pack)
write_json(model, out / "pack.json")
write_csv(model["rows"], out / "pack.csv", CONTRACT_COLUMNS)
total = time.perf_counter() - started
rss = ([int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:")] or [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024])[0]  # VmHWM: this process alone (ru_maxrss after exec can carry the parent's peak)
print(json.dumps({"seconds": total, "computed": computed, "rows": len(model["rows"]), "peak_mib": rss}))
"""


ASSESS_CHILD = r"""
import datetime as dt, json, resource, sys, time
started = time.perf_counter()
from thrv.store.database import Store
from thrv.assess import build_assessment
db, force, first, last = sys.argv[1:5]
with Store(db, read_only=True) as store:
    model = build_assessment(store, dt.date.fromisoformat(first + "-01"), dt.date.fromisoformat(last + "-01"), force)
rss = ([int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:")] or [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024])[0]  # VmHWM: this process alone (ru_maxrss after exec can carry the parent's peak)
print(json.dumps({"seconds": time.perf_counter() - started, "priorities": len(model["priorities"]), "peak_mib": rss}))
"""


PANDAS_CHILD = r"""
import datetime as dt, json, math, resource, sys, time, tomllib
import numpy as np, pandas as pd, pyarrow.parquet as pq
import statsmodels.api as sm
from scipy.stats import beta as beta_dist
from statsmodels.stats.proportion import proportions_ztest
started = time.perf_counter()
parquet, reference, config, month = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
M = pd.Period(month, "M")
# 1. load (categorical strings: the memory-conscious way to hold 30 M rows in pandas)
df = pq.read_table(parquet, columns=["force", "month", "lsoa_code", "crime_type", "last_outcome_category"]).to_pandas(strings_to_categorical=True)
df["month"] = pd.to_datetime(df["month"]).dt.to_period("M")
lookup = pd.read_csv(reference + "/lsoa.csv.gz", usecols=["lsoa_code", "lad_name", "pfa_code"])
forces = pd.read_csv(reference + "/forces.csv", usecols=["name", "pfa_code"])
outcomes = pd.read_csv(reference + "/outcome_categories.csv")
df = df.merge(lookup, on="lsoa_code", how="left")
df = df.merge(forces.rename(columns={"name": "force", "pfa_code": "force_pfa"}), on="force", how="left")
df["district"] = df["lad_name"].where(df["pfa_code"] == df["force_pfa"])
areas = tomllib.loads(open(config + "/areas.toml").read())["forces"]
area_of = {(f, d): a for f, spec in areas.items() for a, ds in spec["areas"].items() for d in ds}
df["area"] = [area_of.get((f, d)) for f, d in zip(df["force"], df["district"])]
crime = df["crime_type"] != "Anti-social behaviour"
# charged or summonsed: Home Office outcome type 1 (1A); type 4 (TIC) is not a charge
possible = set(outcomes.loc[outcomes["home_office_outcome_types"].fillna("").astype(str).str.split(";").map(lambda t: bool({"1", "1A"} & set(t))), "outcome"])
df["possible"] = df["last_outcome_category"].isin(possible) & crime
df["no_suspect"] = (df["last_outcome_category"] == "Investigation complete; no suspect identified") & crime
df["is_crime"] = crime
# 2. monthly counts per indicator, force, area and district
types = sorted(df["crime_type"].dropna().unique())
frames, props = [], []
for level, keys in (("force", ["force"]), ("area", ["force", "area"]), ("district", ["force", "district"])):
    sub = df.dropna(subset=keys)
    g = sub.groupby(keys + ["month", "crime_type"], observed=True).size().rename("n").reset_index()
    for t in types:
        part = g[g["crime_type"] == t].drop(columns="crime_type")
        part["indicator"] = t
        part["level"] = level
        frames.append(part)
    crimes = g[g["crime_type"] != "Anti-social behaviour"].groupby(keys + ["month"], observed=True)["n"].sum().reset_index()
    crimes["indicator"] = "all_crime"
    crimes["level"] = level
    frames.append(crimes)
    p = sub.groupby(keys + ["month"], observed=True)[["possible", "no_suspect", "is_crime"]].sum().reset_index()
    p["level"] = level
    props.append(p)
long = pd.concat(frames, ignore_index=True)
long["area"] = long["district"].where(long["level"] == "district", long["area"].where(long["level"] == "area", long["force"]))
prop = pd.concat(props, ignore_index=True)
prop["area"] = prop["district"].where(prop["level"] == "district", prop["area"].where(prop["level"] == "area", prop["force"]))
# residents per area, for rates per 1,000
pop = pd.read_csv(reference + "/population.csv.gz", usecols=["level", "code", "population"], dtype={"code": str})
pop_of = {(lv, c): p for lv, c, p in zip(pop["level"], pop["code"], pop["population"])}
lad_code = dict(zip(pd.read_csv(reference + "/lsoa.csv.gz", usecols=["lad_name", "lad_code"]).drop_duplicates()["lad_name"],
                    pd.read_csv(reference + "/lsoa.csv.gz", usecols=["lad_name", "lad_code"]).drop_duplicates()["lad_code"]))
pfa_of = dict(zip(forces["name"], forces["pfa_code"]))
def population(level, force, area):
    if level == "force":
        return pop_of.get(("force", pfa_of.get(force)), math.nan)
    if level == "district":
        return pop_of.get(("district", lad_code.get(area)), math.nan)
    return sum(pop_of.get(("district", lad_code.get(d)), math.nan) for (f, d), a in area_of.items() if f == force and a == area)
def spc_latest(values, run=7):
    # XmR verdict on the last point (NHSRplotthedots' rules): limits from the moving ranges
    # with outliers screened out, then the four rules, written plainly
    x = np.array(values, dtype=float)
    mean = x.mean()
    ranges = np.abs(np.diff(x))
    mr = ranges.mean()
    if mr > 0:
        mr = ranges[ranges < 3.267 * mr].mean()
    ucl, lcl, sigma = mean + 2.66 * mr, mean - 2.66 * mr, 2.66 / 3 * mr
    beyond = x[-1] > ucl or x[-1] < lcl
    side = np.sign(x - mean)
    k = 0
    while k < len(x) and side[-1 - k] == side[-1] != 0:
        k += 1
    steps = np.sign(np.diff(x))
    t = 0
    while t < len(steps) and steps[-1 - t] == steps[-1] != 0:
        t += 1
    last3 = x[-3:]
    near = ((last3 > mean + 2 * sigma) | (last3 < mean - 2 * sigma)) & (last3 <= ucl) & (last3 >= lcl)
    two = bool(near[-1] and near.sum() >= 2 and abs(np.sign(last3 - mean).sum()) == 3)
    return bool(beyond or k >= run or t >= run - 1 or two)
# 3. comparisons, series by series, as a spreadsheet-minded script would
def glm(values, periods):
    # Poisson GLM with intercept, trend and month of year; scale = Pearson chi2 / df
    idx = np.array([p.year * 12 + p.month - 1 for p in periods])
    moy = idx % 12
    present = np.unique(moy)
    x = np.column_stack([np.ones(len(idx)), idx / 12.0] + [(moy == c).astype(float) for c in present[1:]])
    return sm.GLM(np.array(values, dtype=float), x, family=sm.families.Poisson()).fit(scale="X2"), present
def central(a, ea, b, eb, phi):
    # exact conditional test on the counts divided by phi: twice the smaller beta-form tail
    if a + b == 0:
        return 1.0
    k, n, pi0 = a / phi, (a + b) / phi, ea / (ea + eb)
    lower = 1.0 if k >= n else beta_dist.sf(pi0, k + 1, n - k)
    upper = 1.0 if k <= 0 else beta_dist.cdf(pi0, k, n - k + 1)
    return min(1.0, 2 * min(lower, upper))
def seasonal(series, cur, ref, phi):
    # expected month from the 36 months before M: reference weight and widened dispersion
    pre = [M - k for k in range(36, 0, -1)]
    y = [float(series.get(p, 0)) for p in pre]
    if min(sum(v for p, v in zip(pre, y) if p.month == c) for c in range(1, 13)) < 10:
        return None
    fit, present = glm(y, pre)
    gamma = {c: (0.0 if k == 0 else fit.params[1 + k]) for k, c in enumerate(present)}
    rel = {c: math.exp(gamma[c] - gamma[M.month - 1]) for c in present}
    w = sum(rel[p.month - 1] for p in ref)
    g = np.zeros(len(fit.params))
    for k, c in enumerate(present):
        if k:
            g[1 + k] = (1.0 if c == M.month - 1 else 0.0) - sum(rel[c] for p in ref if p.month - 1 == c) / w
    q = float(g @ np.asarray(fit.normalized_cov_params) @ g)
    total = sum(float(series.get(p, 0)) for p in ref)
    pi0 = 1 / (1 + w)
    return central(cur, 1, total, w, phi * (1 + (cur + total) * pi0 * (1 - pi0) * q))
rows = []
fy_end = pd.Period(f"{M.year if M.month > 3 else M.year - 1}-03", "M")
for (ind, level, force, area), s in long.groupby(["indicator", "level", "force", "area"], observed=True):
    series = s.set_index("month")["n"]
    def v(p):
        return float(series.get(p, 0))
    cur = v(M)
    special = spc_latest([v(M - k) for k in range(35, -1, -1)])
    rate = sum(v(M - k) for k in range(12)) / population(level, force, area) * 1000
    prior = [v(M - k) for k in range(1, 13)]
    prior3 = [v(M - k) for k in range(1, 37)]
    rolling = sum(v(M - k) for k in range(12))
    base = sum(v(fy_end - k) for k in range(12))
    window = [M - k for k in range(35, -1, -1)]
    y36 = [v(p) for p in window]
    phi = max(1.0, float(glm(y36, window)[0].scale)) if sum(y36) else 1.0
    r_months, b_months = {M - k for k in range(12)}, {fy_end - k for k in range(12)}
    r_only, b_only = r_months - b_months, b_months - r_months
    p_base = central(sum(v(p) for p in r_only), len(r_only), sum(v(p) for p in b_only), len(b_only), phi)
    ref1, ref3 = [M - k for k in range(1, 13)], [M - k for k in range(1, 37)]
    p_1y = seasonal(series, cur, ref1, phi)
    p_1y = central(cur, 1, sum(prior), 12, phi) if p_1y is None else p_1y
    p_3y = seasonal(series, cur, ref3, phi)
    p_3y = central(cur, 1, sum(prior3), 36, phi) if p_3y is None else p_3y
    rows.append((ind, level, force, area, cur, v(M - 12), v(M - 24), v(M - 36), np.mean(prior), np.mean(prior3), rolling, base, p_base, p_1y, p_3y, special, rate, phi))
r_only_p = {M - k for k in range(12)} - {fy_end - k for k in range(12)}
b_only_p = {fy_end - k for k in range(12)} - {M - k for k in range(12)}
for (level, force, area), s in prop.groupby(["level", "force", "area"], observed=True):
    s = s.set_index("month")
    for ind, col in (("prosecution_possible_rate", "possible"), ("no_suspect_rate", "no_suspect")):
        def pooled(months):
            x = sum(float(s[col].get(m, 0)) for m in months)
            n = sum(float(s["is_crime"].get(m, 0)) for m in months)
            return x, n
        cx, cn = pooled([M])
        px, pn = pooled([M - 12])
        ax, an = pooled([M - k for k in range(1, 13)])
        rx, rn = pooled([M - k for k in range(12)])
        bx, bn = pooled([fy_end - k for k in range(12)])
        # M is in the store's latest three months: immature, so no month-vs-average test, and
        # the baseline test on the months not shared leaves the immature calendar months out
        p_1y = math.nan
        immature = {M - k for k in range(3)}
        dropped = {p.month for p in (r_only_p | b_only_p) if p in immature}
        tx, tn = pooled([p for p in r_only_p if p.month not in dropped])
        ux, un = pooled([p for p in b_only_p if p.month not in dropped])
        p_base = proportions_ztest([tx, ux], [tn, un])[1] if tn and un else math.nan
        if tn and un and (tx + ux == 0 or (tx == tn and ux == un)):
            p_base = 1.0  # all failures (or all successes) on both sides: equal, by convention
        rows.append((ind, level, force, area, 100 * cx / cn if cn else math.nan, 100 * px / pn if pn else math.nan, math.nan, math.nan,
                     100 * ax / an if an else math.nan, math.nan, 100 * rx / rn if rn else math.nan,
                     100 * bx / bn if bn else math.nan, p_base, p_1y, math.nan, None, math.nan, math.nan))
out = pd.DataFrame(rows, columns=["indicator", "level", "force", "area", "current", "prev_1y", "prev_2y", "prev_3y", "avg_1y", "avg_3y", "rolling_12m", "baseline", "p_value", "p_value_1y", "p_value_3y", "spc_special", "rate_per_1000", "dispersion"])
out.to_csv(sys.argv[5], index=False)
rss = ([int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:")] or [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024])[0]  # VmHWM: this process alone (ru_maxrss after exec can carry the parent's peak)
print(json.dumps({"seconds": time.perf_counter() - started, "rows": len(out), "peak_mib": rss}))
"""


def run_child(code: str, *args: str) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"child failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def median_run(repeat: int, code: str, *args: str) -> dict[str, Any]:
    """``run_child`` ``repeat`` times: the median run's figures (by seconds), the peak of all,
    and ``runs``, a note listing every time when there is more than one."""
    runs = sorted((run_child(code, *args) for _ in range(repeat)), key=lambda r: r["seconds"])
    out: dict[str, Any] = dict(runs[len(runs) // 2])
    out["peak_mib"] = max(r["peak_mib"] for r in runs)
    times = ", ".join(f"{r['seconds']:.1f}" for r in runs)
    out["runs"] = f" [median of {repeat}: {times} s]" if repeat > 1 else ""
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--month", default="2025-12", help="the pack month (the last derived month)")
    parser.add_argument("--work", type=Path, default=ROOT / "bench-work")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--growth", default="", help="e.g. 2,4: also time the pack on 2x and 4x the rows")
    parser.add_argument("--repeat", type=int, default=3,
                        help="time each 1x pack this many times and report the median (the runs differ by up to a second)")
    args = parser.parse_args()
    if args.repeat < 1:
        raise SystemExit("--repeat must be at least 1")
    if not SHARED.exists():
        raise SystemExit(f"{SHARED}: the real data set is not there")
    args.work.mkdir(parents=True, exist_ok=True)
    db = build_store(args.work, args.months, args.month)

    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    n_rows, n_forces = con.execute("SELECT count(*), count(DISTINCT force) FROM crimes").fetchone()  # type: ignore[misc]
    parquet = args.work / f"national-{args.months}m-v2.parquet"
    if not parquet.exists():
        con.execute(
            f"COPY (SELECT force, month, lsoa_code, crime_type, last_outcome_category FROM crimes) TO '{parquet}' (FORMAT parquet)"
        )
    con.close()
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min; {os.cpu_count()} cores)")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, Python {platform.python_version()}")
    print(f"store: {n_rows:,} DERIVED crime rows, {n_forces} forces, {args.months} months ({db.name})")

    rows_run = median_run(args.repeat, THRV_CHILD, str(db), args.month, str(args.work / "national-pack-rows"), "rows")
    print(f"thrv pack, every force, area and district, counting the rows: {rows_run['seconds']:.1f} s "
          f"(figures {rows_run['computed']:.1f} s){rows_run['runs']}, {int(rows_run['rows']):,} rows, peak {rows_run['peak_mib']:,.0f} MiB")
    seconds, summary_rows = build_summary(db)
    print(f"monthly crime summary (force, district, month, crime type, outcome: what ingest keeps up to date), "
          f"built once: {seconds:.1f} s, {summary_rows:,} rows")
    thrv = median_run(args.repeat, THRV_CHILD, str(db), args.month, str(args.work / "national-pack"))
    print(f"thrv pack, every force, area and district, from the summary: {thrv['seconds']:.1f} s "
          f"(figures {thrv['computed']:.1f} s){thrv['runs']}, {int(thrv['rows']):,} rows, peak {thrv['peak_mib']:,.0f} MiB")
    same = (args.work / "national-pack" / "pack.csv").read_bytes() == (args.work / "national-pack-rows" / "pack.csv").read_bytes()
    print(f"pack.csv from the summary and from the rows: {'byte-identical' if same else 'DIFFERENT'}")
    first = f"{int(args.month[:4]) - 3}-{args.month[5:]}"
    first = f"{int(first[:4]) + (int(first[5:]) == 12)}-{int(first[5:]) % 12 + 1:02d}"  # 36 months
    assess = run_child(ASSESS_CHILD, str(db), "Kent Police", first, args.month)
    print(f"thrv assessment, one force (Kent Police), {first} to {args.month}: {assess['seconds']:.1f} s, "
          f"peak {assess['peak_mib']:,.0f} MiB")
    for factor in [int(f) for f in args.growth.split(",") if f.strip()]:
        big = scaled_store(args.work, db, factor)
        seconds, summary_rows = build_summary(big)
        print(f"summary of {factor}x the rows built once: {seconds:.1f} s, {summary_rows:,} rows")
        res = run_child(THRV_CHILD, str(big), args.month, str(args.work / f"national-pack-x{factor}"))
        print(f"thrv pack on {factor}x the rows ({factor * n_rows:,}): {res['seconds']:.1f} s "
              f"(figures {res['computed']:.1f} s; {res['seconds'] / thrv['seconds']:.2f}x the 1x time), "
              f"peak {res['peak_mib']:,.0f} MiB", flush=True)
    if args.skip_pandas:
        _load_at_end()
        return
    from thrv.reference import DATA, REFERENCE

    pandas_out = args.work / "national-pandas.csv"
    pd_res = run_child(PANDAS_CHILD, str(parquet), str(REFERENCE), str(DATA / "config"), args.month, str(pandas_out))
    print(f"pandas baseline (the same counts, outcome rates, tests, SPC verdicts and rates per 1,000 for every force, area and district; no sentences): "
          f"{pd_res['seconds']:.1f} s, {int(pd_res['rows']):,} rows, peak {pd_res['peak_mib']:,.0f} MiB")
    print(f"speed-up: {pd_res['seconds'] / thrv['seconds']:.1f}x from the summary, "
          f"{pd_res['seconds'] / rows_run['seconds']:.1f}x counting the rows")
    _cross_check(args.work / "national-pack" / "pack.csv", pandas_out)
    _load_at_end()


def _load_at_end() -> None:
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")


def _cross_check(thrv_csv: Path, pandas_csv: Path) -> None:
    """Both implementations must agree on the figures they share."""
    import pandas as pd

    from thrv.reference import slugify

    a = pd.read_csv(thrv_csv, low_memory=False)
    b = pd.read_csv(pandas_csv)
    b["indicator"] = b["indicator"].map(lambda t: t if t == "all_crime" else ("asb" if t == "Anti-social behaviour" else slugify(t)))
    a = a.rename(columns={"area_level": "level"})
    cols = ["current", "prev_1y", "avg_1y", "rolling_12m", "baseline", "dispersion", "p_value", "p_value_1y", "p_value_3y", "rate_per_1000"]
    merged = a.merge(b, on=["indicator", "level", "area"], suffixes=("", "_pd"))
    worst = 0.0
    for c in cols:
        diff = (merged[c] - merged[f"{c}_pd"]).abs() / merged[f"{c}_pd"].abs().clip(lower=1e-12)
        worst = max(worst, float(diff.max()))
        # a figure one side has and the other has not is a disagreement too
        one_sided = int((merged[c].isna() != merged[f"{c}_pd"].isna()).sum())
        if one_sided:
            print(f"cross-check: {c} is empty on one side only in {one_sided:,} series")
    counted = merged.dropna(subset=["spc_special"])
    spc_agree = (counted["spc_special"].astype(bool) == counted["spc_variation"].fillna("").str.startswith("special")).mean()
    print(f"cross-check: {len(merged):,} shared series, largest relative difference {worst:.2e} "
          f"over {', '.join(cols)}; SPC verdicts agree on {spc_agree:.1%} of {len(counted):,} count series")


if __name__ == "__main__":
    main()
