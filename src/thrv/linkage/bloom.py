"""Privacy-preserving linkage: Bloom-filter encodings (CLKs) compared without identifiers.

For partners who may not share names or dates of birth, each partner encodes its own
records with a secret shared by the partners (never by the linkage unit) and sends only the
encodings. A record's cryptographic long-term key (CLK; Schnell, Bachteler & Reiher 2009,
2011) is one Bloom filter of ``bits`` bits into which the padded bigrams of each field are
hashed ``k`` times (a field's k sets its weight); two records are compared by the
Sørensen–Dice coefficient of their filters, 2|A∩B| / (|A| + |B|), and pairs at or above a
threshold are links, clustered by connected components.

Hashing (per field, keyed by HMAC of the shared secret and the field name, so equal bigrams
of different fields set different bits):

- ``blake2b`` (default): the k positions are read from keyed BLAKE2b digests of the bigram
  ("random hashing", as clkhash's ``blakeHash``): it resists the pattern-mining attack on
  double hashing (Kroll & Steinmetzer 2015);
- ``double_hash``: Schnell's original h_i = (HMAC-SHA1(g) + i · HMAC-MD5(g)) mod bits.

This is an implementation of the published method, not the clkhash/anonlink packages:
clkhash 0.18 pins ``mypy_extensions<0.5`` (thrv's type checker needs ≥1.0) and anonlink 0.15
imports ``pkg_resources``, which setuptools ≥81 no longer ships. docs/linkage.md gives the
limits: CLKs are pseudonymous, not anonymous (frequency attacks on small populations), so
the secret and the encodings need the same care as identifiers.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from thrv.linkage import normalise
from thrv.linkage.keys import Keys
from thrv.linkage.model import LinkResult
from thrv.linkage.settings import LinkConfig

#: field -> hashes per bigram (its weight in the filter)
FIELDS = {"forename": 15, "surname": 15, "dob": 20, "postcode": 10, "sex": 5}


@dataclass(frozen=True)
class BloomSettings:
    bits: int = 1024
    hashing: str = "blake2b"
    dice_threshold: float = 0.8
    fields: tuple[tuple[str, int], ...] = tuple(FIELDS.items())


def bigrams(text: str | None) -> list[str]:
    if not text:
        return []
    padded = f"_{text}_"
    return [padded[i:i + 2] for i in range(len(padded) - 1)]


def _field_tokens(prepared: pd.DataFrame) -> dict[str, list[list[str]]]:
    return {
        "forename": [bigrams(v) for v in prepared["forename"]],
        "surname": [bigrams(v) for v in prepared["surname"]],
        "dob": [bigrams(v.replace("-", "")) if v else [] for v in prepared["dob"]],
        "postcode": [bigrams((u or o or "").replace(" ", "")) for u, o in
                     zip(prepared["postcode_uk"], prepared["postcode_other"], strict=True)],
        "sex": [[f"s{v}"] if v else [] for v in prepared["sex"]],
    }


def _positions(token: str, k: int, bits: int, key: bytes, hashing: str) -> list[int]:
    data = token.encode("utf-8")
    if hashing == "double_hash":
        h1 = int.from_bytes(hmac.new(key, data, hashlib.sha1).digest(), "big")
        h2 = int.from_bytes(hmac.new(key, data, hashlib.md5).digest(), "big")
        return [(h1 + i * h2) % bits for i in range(k)]
    out: list[int] = []
    counter = 0
    while len(out) < k:
        digest = hashlib.blake2b(data + counter.to_bytes(2, "big"), key=key[:64], digest_size=64).digest()
        out.extend(int.from_bytes(digest[j:j + 4], "big") % bits for j in range(0, 64, 4))
        counter += 1
    return out[:k]


def encode(people: pd.DataFrame, secret: bytes, settings: BloomSettings | None = None) -> np.ndarray:
    """CLKs of person records (contract columns): an array of ``bits / 64`` uint64 words a record."""
    settings = settings or BloomSettings()
    if settings.bits % 64:
        raise ValueError("the filter length must be a multiple of 64 bits")
    prepared = normalise.prepare(people.assign(unique_id=range(len(people)), partner=""))
    tokens = _field_tokens(prepared)
    words = settings.bits // 64
    filters = np.zeros((len(people), settings.bits), dtype=bool)
    for field, k in settings.fields:
        key = hmac.new(secret, b"clk:" + field.encode(), hashlib.sha256).digest()
        cache: dict[str, list[int]] = {}
        for row, grams in enumerate(tokens[field]):
            for g in grams:
                if g not in cache:
                    cache[g] = _positions(g, k, settings.bits, key, settings.hashing)
                filters[row, cache[g]] = True
    packed = np.packbits(filters, axis=1, bitorder="little")
    return packed.view(np.uint64).reshape(len(people), words)


def _bits(clks: np.ndarray) -> np.ndarray:
    return np.unpackbits(np.ascontiguousarray(clks).view(np.uint8), axis=1, bitorder="little").astype(np.float32)


def dice(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sørensen–Dice coefficients of every row of ``a`` with every row of ``b``.

    The shared bits of every pair at once, as a product of 0/1 matrices (exact in float32:
    counts are at most the filter length).
    """
    bits_a, bits_b = _bits(a), _bits(b)
    common = (bits_a @ bits_b.T).astype(np.float64)
    ones = bits_a.sum(axis=1, dtype=np.float64)[:, None] + bits_b.sum(axis=1, dtype=np.float64)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 2 * common / ones
    return np.nan_to_num(out)


def link_clks(clks: np.ndarray, threshold: float, chunk: int = 2000) -> pd.DataFrame:
    """Every pair (i < j) with Dice ≥ threshold: columns i, j, dice."""
    found: list[pd.DataFrame] = []
    n = len(clks)
    for start in range(0, n, chunk):
        block = dice(clks[start:start + chunk], clks)
        rows, cols = np.nonzero(block >= threshold)
        rows = rows + start
        keep = cols > rows
        found.append(pd.DataFrame({"i": rows[keep], "j": cols[keep], "dice": block[rows[keep] - start, cols[keep]]}))
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=["i", "j", "dice"])


def bloom_secret(keys: Keys) -> bytes:
    """The encoding secret: THRV_BLOOM_SECRET when the partners agreed one, else derived from the project key."""
    import os

    from thrv.linkage.keys import decode_key

    text = os.environ.get("THRV_BLOOM_SECRET")
    if text:
        return decode_key(text, "THRV_BLOOM_SECRET")
    return hmac.new(keys.project, b"bloom-filter-secret", hashlib.sha256).digest()


def bloom_link(people: pd.DataFrame, keys: Keys, config: LinkConfig, settings: BloomSettings | None = None) -> LinkResult:
    """Link by CLKs alone; ``match_probability`` holds the Dice coefficient (not a probability)."""
    settings = settings or BloomSettings()
    clks = encode(people, bloom_secret(keys), settings)
    pairs = link_clks(clks, min(settings.dice_threshold, config.review_band[0]))
    ids = people["unique_id"].to_numpy()
    partners = people["partner"].to_numpy()
    frame = pd.DataFrame({"unique_id_l": ids[pairs["i"]], "unique_id_r": ids[pairs["j"]],
                          "partner_l": partners[pairs["i"]], "partner_r": partners[pairs["j"]],
                          "match_probability": pairs["dice"].to_numpy(), "match_weight": np.nan})
    strong = pairs[pairs["dice"] >= settings.dice_threshold]
    graph = sp.coo_matrix((np.ones(len(strong)), (strong["i"], strong["j"])), shape=(len(people), len(people)))
    _, labels = connected_components(graph, directed=False)
    clusters = pd.DataFrame({"unique_id": ids, "cluster_id": labels})
    model = {"bloom": {"bits": settings.bits, "hashing": settings.hashing, "dice_threshold": settings.dice_threshold,
                       "fields": [f"{f} (k={k})" for f, k in settings.fields]}}
    bloom_config = LinkConfig(**{**config.__dict__, "threshold": settings.dice_threshold,
                                 "review_band": (min(settings.dice_threshold, config.review_band[0]),
                                                 settings.dice_threshold)})
    return LinkResult(frame, clusters, model, bloom_config)
