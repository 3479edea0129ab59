"""Person linkage at scale: 100,000 x 100,000 generated records, beside a plain exact match.

    python benchmarks/linkage.py [--records 100000] [--bloom 5000] [--work bench-work]

Two partners' extracts are generated (thrv.linkage.generate: realistic errors, households,
duplicates within each partner; every record labelled generated) with exactly ``--records``
records each, and linked across and within partners by thrv's Splink model, in a child
process so its time and peak memory (resident set) are its own. Printed beside it, on the
same records: a plain baseline (pandas, exact agreement on forename, surname and date of
birth after the same normalisation) and, on the first ``--bloom`` records of each partner,
the privacy-preserving Bloom-filter mode. Precision, recall and F1 are pairwise, against the
generator's truth (links at the configured threshold; and the clusters).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def generate(records: int, work: Path, seed: int) -> tuple[Path, Path]:
    from thrv.linkage.generate import extracts

    share = 0.75
    made = extracts(int(records / share * 1.01) + 50, {"police": share, "council": share}, seed=seed)
    frames, truth = [], []
    for partner, frame in made.records.items():
        frame = frame.head(records)
        frames.append(frame.assign(partner=partner, unique_id=partner + ":" + frame["record_id"]))
        truth.append(made.truth[(made.truth["partner"] == partner) & made.truth["record_id"].isin(frame["record_id"])])
    people, true = work / "people.parquet", work / "truth.parquet"
    pd.concat(frames, ignore_index=True).to_parquet(people)
    pd.concat(truth, ignore_index=True).to_parquet(true)
    return people, true


def child(people_path: str, out_path: str) -> None:
    """Runs in a fresh process: link, and report time and peak memory of this process alone."""
    import duckdb
    from splink import DuckDBAPI

    from thrv.linkage.model import link
    from thrv.linkage.settings import load_config

    people = pd.read_parquet(people_path)
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    result = link(people, DuckDBAPI(connection=con), load_config())
    seconds = time.perf_counter() - started
    result.links[["unique_id_l", "unique_id_r", "match_probability"]].to_parquet(out_path + ".links.parquet")
    result.clusters.to_parquet(out_path + ".clusters.parquet")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    Path(out_path).write_text(json.dumps({"seconds": seconds, "peak_bytes": peak, "pairs_scored": len(result.pairs)}))


def scores(pairs: set[tuple[tuple[str, str], tuple[str, str]]], truth: set) -> dict[str, float]:
    from thrv.linkage.evaluate import accuracy

    return accuracy(pairs, truth).as_dict()


def _pairs(frame: pd.DataFrame, ids: pd.DataFrame, a: str, b: str) -> set:
    left = ids.loc[frame[a]]
    right = ids.loc[frame[b]]
    return set(zip(zip(left["partner"], left["record_id"], strict=True), zip(right["partner"], right["record_id"],
                                                                            strict=True), strict=True))


def baseline(people: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Exact agreement on normalised forename, surname and date of birth (pandas self-merge)."""
    from thrv.linkage import normalise

    started = time.perf_counter()
    key = pd.DataFrame({"unique_id": people["unique_id"],
                        "f": [normalise.name(v) for v in people["forename"]],
                        "s": [normalise.name(v) for v in people["surname"]],
                        "d": people["date_of_birth"].replace("", None)}).dropna()
    pairs = key.merge(key, on=["f", "s", "d"])
    pairs = pairs[pairs["unique_id_x"] < pairs["unique_id_y"]]
    return pairs, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--bloom", type=int, default=5000)
    parser.add_argument("--work", type=Path, default=ROOT / "bench-work" / "linkage")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    from thrv.linkage.evaluate import pairs_of_clusters

    args.work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    clock = time.perf_counter()
    people_path, truth_path = generate(args.records, args.work, args.seed)
    people, truth_frame = pd.read_parquet(people_path), pd.read_parquet(truth_path)
    truth = pairs_of_clusters(truth_frame, "person_id")
    ids = people.set_index("unique_id")[["partner", "record_id"]]
    counts = people.groupby("partner").size().to_dict()
    print(f"generated {len(people):,} records ({counts}) of {truth_frame['person_id'].nunique():,} people, "
          f"{len(truth):,} true pairs, in {time.perf_counter() - clock:.0f} s (not in the figures below)")

    out = args.work / "splink.json"
    subprocess.run([sys.executable, __file__, "--child", str(people_path), str(out)], check=True)
    figures = json.loads(out.read_text())
    links = pd.read_parquet(str(out) + ".links.parquet")
    clusters = pd.read_parquet(str(out) + ".clusters.parquet").join(ids, on="unique_id")
    by_links = scores(_pairs(links, ids, "unique_id_l", "unique_id_r"), truth)
    by_clusters = scores(pairs_of_clusters(clusters, "cluster_id"), truth)

    base_pairs, base_seconds = baseline(people)
    by_base = scores(_pairs(base_pairs, ids, "unique_id_x", "unique_id_y"), truth)

    def line(name: str, s: dict[str, float], seconds: float, extra: str = "") -> str:
        return (f"{name:<44} precision {s['precision']:.4f}  recall {s['recall']:.4f}  F1 {s['f1']:.4f}  "
                f"{seconds:7.1f} s{extra}")

    print(line("thrv link (Splink, links at p >= 0.9)", by_links, figures["seconds"],
               f"  peak memory {figures['peak_bytes'] / 2**30:.2f} GiB, {figures['pairs_scored']:,} pairs scored"))
    print(line("thrv link (Splink, clusters = people)", by_clusters, figures["seconds"]))
    print(line("baseline: exact forename+surname+dob", by_base, base_seconds))
    if args.bloom:
        from thrv.linkage.bloom import bloom_link
        from thrv.linkage.keys import Keys
        from thrv.linkage.settings import load_config

        subset = people.groupby("partner").head(args.bloom).reset_index(drop=True)
        keep = set(zip(subset["partner"], subset["record_id"], strict=True))
        sub_truth = {p for p in truth if p[0] in keep and p[1] in keep}
        started = time.perf_counter()
        result = bloom_link(subset, Keys(project=secrets.token_bytes(32), vault=secrets.token_bytes(32)), load_config())
        seconds = time.perf_counter() - started
        bloom = scores(_pairs(result.links, ids, "unique_id_l", "unique_id_r"), sub_truth)
        sub_links = links[links["unique_id_l"].isin(subset["unique_id"]) & links["unique_id_r"].isin(subset["unique_id"])]
        same = scores(_pairs(sub_links, ids, "unique_id_l", "unique_id_r"), sub_truth)
        print(line(f"Bloom filters, Dice >= 0.8 ({args.bloom:,} x {args.bloom:,})", bloom, seconds))
        print(line(f"Splink on the same {args.bloom:,} x {args.bloom:,}", same, float("nan")))


if __name__ == "__main__":
    main()
