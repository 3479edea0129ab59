"""Linkage accuracy against truth: pairwise precision, recall and F1.

A pair is two records; the true pairs are every two records of one true person. Links are
judged as pairs (``links``) and so are clusters (every two records given one person id),
because clustering can add pairs no single link scored (A~B, B~C gives A~C).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

import pandas as pd

Record = tuple[str, str]
Pair = tuple[Record, Record]


@dataclass(frozen=True)
class Accuracy:
    true_pairs: int
    predicted_pairs: int
    true_positives: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "true_pairs": self.true_pairs,
                "predicted_pairs": self.predicted_pairs, "true_positives": self.true_positives}


def _ordered(a: Record, b: Record) -> Pair:
    return (a, b) if a <= b else (b, a)


def pairs_of_clusters(frame: pd.DataFrame, cluster: str) -> set[Pair]:
    """Every two records sharing ``cluster`` (frame has partner, record_id and ``cluster``)."""
    out: set[Pair] = set()
    for _, group in frame.groupby(cluster):
        records = sorted(zip(group["partner"].astype(str), group["record_id"].astype(str), strict=True))
        out.update(combinations(records, 2))
    return out


def pairs_of_links(links: pd.DataFrame) -> set[Pair]:
    return {_ordered((str(a), str(b)), (str(c), str(d))) for a, b, c, d in
            zip(links["partner_l"], links["record_id_l"], links["partner_r"], links["record_id_r"], strict=True)}


def accuracy(predicted: Iterable[Pair], truth: set[Pair]) -> Accuracy:
    predicted = {_ordered(a, b) for a, b in predicted}
    truth = {_ordered(a, b) for a, b in truth}
    return Accuracy(len(truth), len(predicted), len(predicted & truth))
