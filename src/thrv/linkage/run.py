"""``thrv link``: link every partner's person records and write what a vault holder needs.

Runs beside the vault: identifiers are opened in memory, linked with Splink
(:mod:`thrv.linkage.model`) or, in the privacy-preserving mode, by Bloom-filter keys alone
(:mod:`thrv.linkage.bloom`), and only pseudonymous results reach the analysis store (record
keys, person keys, probabilities). The output folder is for the vault holder:

- ``people.csv`` — partner, record_id, person_id: one row per record, one person_id per person;
- ``links.csv`` — partner_l, record_id_l, partner_r, record_id_r, match_probability: the links
  (pairs at or above the threshold), within and across partners;
- ``pairs.csv`` — every scored pair above ``keep_above`` with its match weight;
- ``review.csv`` — the clerical-review queue (pairs in the uncertain band), most likely first;
- ``model.json`` — the trained Splink model (settings, m and u), for audit and re-use;
- ``link.html`` — the model's weights and a sample of pairs with their waterfall explanation.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from thrv.linkage.keys import Keys
from thrv.linkage.model import LinkResult, levels, link, prior_weight, waterfall
from thrv.linkage.settings import LinkConfig
from thrv.linkage.sharing import Agreement
from thrv.store import people as people_tables
from thrv.store.database import Store
from thrv.store.vault import Vault


@dataclass
class LinkRun:
    records: int
    partners: dict[str, int]
    links: int
    people: int
    review: int
    run_id: int
    files: list[Path]
    result: LinkResult | None = None


def person_ids(clusters: pd.DataFrame, keys: Keys) -> pd.Series:
    """One keyed person id per cluster: HMAC of the cluster's smallest record key."""
    anchor = clusters.groupby("cluster_id")["unique_id"].transform("min")
    return anchor.map(keys.person_key)


def run_link(store: Store, vault: Vault, out: Path, config: LinkConfig, actor: str = "thrv link",
             method: str = "splink", agreement: Agreement | None = None) -> LinkRun:
    people = vault.people()
    vault.log(actor, f"link ({method})", None, None, f"{len(people)} records opened in memory to link")
    if method == "bloom":
        from thrv.linkage.bloom import BloomSettings, bloom_link

        result = bloom_link(people, vault.keys, config, BloomSettings(dice_threshold=config.bloom_dice))
    else:
        result = link(people, vault.splink_api(), config)
    out.mkdir(parents=True, exist_ok=True)
    ids = people.set_index("unique_id")[["partner", "record_id"]]
    clusters = result.clusters.copy()
    clusters["person_key"] = person_ids(clusters, vault.keys).to_numpy()
    clusters = clusters.join(ids, on="unique_id")
    links = result.links
    written = [
        _csv(out / "people.csv", clusters.sort_values(["partner", "record_id"]), ["partner", "record_id", "person_key"],
             ["partner", "record_id", "person_id"]),
        _csv(out / "links.csv", _with_ids(links, ids), ["partner_l", "record_id_l", "partner_r", "record_id_r",
                                                        "match_probability"]),
        _csv(out / "pairs.csv", _with_ids(result.pairs, ids), ["partner_l", "record_id_l", "partner_r", "record_id_r",
                                                               "match_probability", "match_weight"]),
        _csv(out / "review.csv", _review(result, ids), ["partner_l", "record_id_l", "partner_r", "record_id_r",
                                                        "match_probability", "match_weight", "explanation"]),
    ]
    model_path = out / "model.json"
    model_path.write_text(json.dumps(result.model, indent=1), encoding="utf-8")
    written.append(model_path)
    stored_links = pd.DataFrame({
        "partner_l": links["partner_l"], "record_key_l": links["unique_id_l"], "partner_r": links["partner_r"],
        "record_key_r": links["unique_id_r"], "match_probability": links["match_probability"],
        "match_weight": links["match_weight"]})
    stored_clusters = pd.DataFrame({"partner": clusters["partner"], "record_key": clusters["unique_id"],
                                    "person_key": clusters["person_key"]})
    run_id = people_tables.write_run(store, method, config.threshold, stored_links, stored_clusters,
                                     {"method": method, "threshold": config.threshold,
                                      "model": result.model if method == "splink" else {}})
    html = out / "link.html"
    html.write_text(render_html(result, ids, people, method, run_id), encoding="utf-8")
    written.append(html)
    written += write_insight(store, out, agreement)
    return LinkRun(len(people), {str(k): int(v) for k, v in people.groupby("partner").size().items()}, len(links),
                   int(clusters["person_key"].nunique()), len(result.review()), run_id, written, result)


def _with_ids(pairs: pd.DataFrame, ids: pd.DataFrame) -> pd.DataFrame:
    out = pairs.copy()
    out["record_id_l"] = out["unique_id_l"].map(ids["record_id"])
    out["record_id_r"] = out["unique_id_r"].map(ids["record_id"])
    out["partner_l"] = out["unique_id_l"].map(ids["partner"])
    out["partner_r"] = out["unique_id_r"].map(ids["partner"])
    return out.sort_values("match_probability", ascending=False)


def _review(result: LinkResult, ids: pd.DataFrame) -> pd.DataFrame:
    queue = _with_ids(result.review(), ids)
    if result.model.get("comparisons"):
        queue["explanation"] = [
            "; ".join(f"{s['step']}: {s['level']} ({s['weight']:+.1f})"
                      for s in waterfall({str(k): v for k, v in r.items()}, result.model)[1:-1]
                      if s["level"] != "not compared (missing)")
            for r in queue.to_dict("records")]
    else:
        queue["explanation"] = ""
    return queue


def _csv(path: Path, frame: pd.DataFrame, columns: list[str], names: list[str] | None = None) -> Path:
    data = frame[columns].copy() if len(frame) else pd.DataFrame(columns=columns)
    if names:
        data.columns = names
    data.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL, float_format="%.6g")
    return path


def render_html(result: LinkResult, ids: pd.DataFrame, people: pd.DataFrame, method: str, run_id: int) -> str:
    """The audit page: model, weights and explained pairs (no names, addresses or dates)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from thrv.reference import DATA

    env = Environment(loader=FileSystemLoader(str(DATA / "linkage")), autoescape=select_autoescape(["html", "j2"]))
    model = result.model
    table = levels(model) if model.get("comparisons") else {}
    sample = _sample_pairs(result, ids)
    explained = [{"pair": s, "steps": waterfall(s["row"], model)} for s in sample] if table else []
    return env.get_template("link.html.j2").render(
        method=method, run_id=run_id, generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        records=len(people), partners=people.groupby("partner").size().to_dict(), config=result.config,
        links=len(result.links), people=int(result.clusters["cluster_id"].nunique()), review=len(result.review()),
        prior=model.get("probability_two_random_records_match"), prior_weight=prior_weight(model) if table else None,
        levels=table, explained=explained, bloom=model.get("bloom"),
    )


def _sample_pairs(result: LinkResult, ids: pd.DataFrame) -> list[dict[str, Any]]:
    """Pairs across the probability range: the strongest links, the review band, the weakest kept."""
    pairs = result.pairs.sort_values("match_probability", ascending=False)
    if not len(pairs):
        return []
    n = max(3, result.config.explain_pairs)
    picks = pd.concat([pairs.head(n // 3), result.review().head(n // 3), pairs.tail(n - 2 * (n // 3))])
    picks = picks.drop_duplicates(["unique_id_l", "unique_id_r"])
    out = []
    for row in picks.to_dict("records"):
        left, right = ids.loc[row["unique_id_l"]], ids.loc[row["unique_id_r"]]
        out.append({"left": f"{left['partner']!s} / {left['record_id']!s}",
                    "right": f"{right['partner']!s} / {right['record_id']!s}",
                    "probability": row["match_probability"], "row": row})
    return out


def write_insight(store: Store, out: Path, agreement: Agreement | None) -> list[Path]:
    """insight.json and insight.html: cross-agency counts under the agreement's disclosure rule."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from thrv.linkage.insight import insight, upset_chart
    from thrv.reference import DATA
    from thrv.report.disclosure import DisclosureRule

    rule = agreement.rule if agreement else DisclosureRule()
    victims = agreement.victims() if agreement else []
    summary = insight(people_tables.people_table(store), victims, rule, suppressed=True)
    path = out / "insight.json"
    path.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    chart = ""
    if summary.get("available") and summary.get("combinations"):
        import vl_convert as vlc

        chart = vlc.vegalite_to_svg(upset_chart(summary).to_dict())
    env = Environment(loader=FileSystemLoader(str(DATA / "linkage")), autoescape=select_autoescape(["html", "j2"]))
    page = out / "insight.html"
    page.write_text(env.get_template("insight.html.j2").render(s=summary, chart=chart,
                                                                  project=agreement.project if agreement else ""),
                    encoding="utf-8")
    return [path, page]
