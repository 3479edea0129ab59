"""Privacy-preserving linkage by Bloom-filter encodings: the method, and its accuracy beside Splink's."""

from __future__ import annotations

import secrets

import duckdb
import numpy as np
import pandas as pd
from splink import DuckDBAPI

from thrv.linkage.bloom import BloomSettings, bigrams, bloom_link, dice, encode
from thrv.linkage.evaluate import accuracy, pairs_of_clusters, pairs_of_links
from thrv.linkage.generate import extracts
from thrv.linkage.keys import Keys
from thrv.linkage.model import LinkResult, link
from thrv.linkage.settings import load_config

PEOPLE = pd.DataFrame({"forename": ["John", "Jon", "Mary"], "surname": ["Smith", "Smith", "Jones"],
                       "date_of_birth": ["1980-01-02", "1980-01-02", "1975-05-06"],
                       "postcode": ["CB1 2AB", "CB12AB", "PE1 1AA"], "address": ["", "", ""], "sex": ["m", "m", "f"]})


def test_bigrams_and_dice_by_hand() -> None:
    assert bigrams("ann") == ["_a", "an", "nn", "n_"]
    a = np.array([[0b1011]], dtype=np.uint64)  # 3 bits
    b = np.array([[0b0011]], dtype=np.uint64)  # 2 bits, both shared
    assert dice(a, b)[0, 0] == 2 * 2 / (3 + 2)


def test_encodings_depend_on_the_secret_not_on_anything_else() -> None:
    secret = secrets.token_bytes(32)
    one, two = encode(PEOPLE, secret), encode(PEOPLE, secret)
    assert one.shape == (3, 16) and (one == two).all()
    other = encode(PEOPLE, secrets.token_bytes(32))
    assert (one != other).any()
    d = dice(one, one)
    assert d[0, 1] > 0.8 > d[0, 2]  # a one-letter difference stays close; another person does not
    for hashing in ("blake2b", "double_hash"):
        clk = encode(PEOPLE, secret, BloomSettings(hashing=hashing))
        assert np.bitwise_count(clk).sum(axis=1).min() > 0


def test_bloom_accuracy_beside_splink_on_the_same_records() -> None:
    made = extracts(800, {"police": 0.6, "council": 0.5}, seed=5)
    people = pd.concat([f.assign(partner=p, unique_id=p + ":" + f.record_id) for p, f in made.records.items()],
                       ignore_index=True)
    truth = pairs_of_clusters(made.truth, "person_id")
    ids = people.set_index("unique_id")

    def scored(result: LinkResult) -> dict[str, float]:
        links = result.links.assign(record_id_l=lambda f: f["unique_id_l"].map(ids["record_id"]),
                                    record_id_r=lambda f: f["unique_id_r"].map(ids["record_id"]))
        return accuracy(pairs_of_links(links), truth).as_dict()

    config = load_config(u_max_pairs=30_000)
    keys = Keys(project=secrets.token_bytes(32), vault=secrets.token_bytes(32))
    bloom = scored(bloom_link(people, keys, config))
    splink = scored(link(people, DuckDBAPI(connection=duckdb.connect()), config))
    assert bloom["precision"] >= 0.95 and bloom["recall"] >= 0.9, bloom
    assert splink["f1"] >= bloom["f1"] - 0.01  # identifiers compared in the clear do at least as well
