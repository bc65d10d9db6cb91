#!/usr/bin/env python3
"""Splink (DuckDB backend) on FEBRL 3 and FEBRL 4, for comparison with Aloft's matcher.

Same files as `crates/identity/examples/febrl_bench.rs` (data/febrl/), same task definitions:
FEBRL 3 is deduplicated as one file; FEBRL 4 is linked (A against B, link_only, only pairs
across the files counted). The soc_sec_id column is dropped before Splink sees the data; record
ids are used only to score.

The model follows Splink's own FEBRL 4 tutorial (NameComparison with term frequencies for
names, DateOfBirthComparison, street number, postcode with Damerau-Levenshtein), minus the
social-security comparison and blocking rule, plus Jaro-Winkler comparisons of address_1 and
suburb so that Splink sees the same fields as Aloft. Training is the tutorial's: probability of
a match from deterministic rules, u by random sampling, m by EM with two blocking rules.

Usage (see README.md):
    python3 -m venv /tmp/splink-venv && /tmp/splink-venv/bin/pip install splink
    /tmp/splink-venv/bin/python bench/identity/splink_febrl.py [--repeat N]
"""

import argparse
import logging
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import splink
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

DATA = Path(__file__).resolve().parents[2] / "data" / "febrl"
COLUMNS = ["rec_id", "given_name", "surname", "street_number", "address_1", "address_2",
           "suburb", "postcode", "state", "date_of_birth"]


def load(name: str) -> pd.DataFrame:
    df = pd.read_csv(DATA / name, skipinitialspace=True, dtype=str, keep_default_na=False)
    df = df[COLUMNS].replace("", None)  # soc_sec_id is not among COLUMNS
    return df


def settings(link_type: str) -> SettingsCreator:
    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="rec_id",
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            "l.given_name = r.surname and l.surname = r.given_name",
            block_on("date_of_birth"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
        ],
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]).configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
        ],
        retain_intermediate_calculation_columns=False,
    )


def run_splink(frames, link_type, threshold):
    """Trains and predicts; returns (clusters: rec_id -> cluster, predictions dataframe, timings)."""
    t0 = time.perf_counter()
    db_api = DuckDBAPI()
    tables = [db_api.register(f) for f in frames]
    linker = Linker(tables if len(tables) > 1 else tables[0], settings(link_type), log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth"), block_on("date_of_birth", "postcode")],
        recall=0.7,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    t_train = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=0.01)
    t_predict = time.perf_counter()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    cluster_df = clusters.as_pandas_dataframe()
    t_end = time.perf_counter()
    timings = {"train": t_train - t0, "predict": t_predict - t_train, "cluster": t_end - t_predict, "total": t_end - t0}
    return dict(zip(cluster_df["rec_id"], cluster_df["cluster_id"])), predictions.as_pandas_dataframe(), timings


def entity(rec_id: str) -> int:
    return int(re.match(r"rec-(\d+)", rec_id).group(1))


def pairs_in_groups(labels, sources=None):
    groups = defaultdict(Counter)
    for i, label in enumerate(labels):
        groups[label][sources[i] if sources else 0] += 1
    total = 0
    for per_source in groups.values():
        n = sum(per_source.values())
        all_pairs = n * (n - 1) // 2
        same = sum(m * (m - 1) // 2 for m in per_source.values()) if sources else 0
        total += all_pairs - same
    return total


def pairwise(predicted, truth, sources=None):
    pp = pairs_in_groups(predicted, sources)
    tp_ = pairs_in_groups(list(zip(predicted, truth)), sources)
    tt = pairs_in_groups(truth, sources)
    precision = tp_ / pp if pp else 1.0
    recall = tp_ / tt if tt else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp_, "fp": pp - tp_, "fn": tt - tp_}


def fmt(m):
    return (f"precision {m['precision']:.4f} recall {m['recall']:.4f} F1 {m['f1']:.4f} "
            f"(tp {m['tp']} fp {m['fp']} fn {m['fn']})")


def evaluate(name, files, link_type, repeat, threshold):
    totals = []
    for _ in range(repeat):
        start = time.perf_counter()
        frames = [load(f) for f in files]
        clusters, predictions, timings = run_splink(frames, link_type, threshold)
        totals.append(time.perf_counter() - start)
    records = pd.concat(frames)
    ids = list(records["rec_id"])
    truth = [entity(r) for r in ids]
    sources = None
    if len(files) > 1:
        sources = [i for i, f in enumerate(frames) for _ in range(len(f))]
    predicted = [clusters[r] for r in ids]
    m = pairwise(predicted, truth, sources)
    elapsed = statistics.median(totals)
    print(f"{name}: {len(ids)} records, {len(predictions)} scored pairs (p >= 0.01), {fmt(m)}")
    print(f"  read CSV + train + predict + cluster {elapsed:.3f} s median of {repeat} "
          f"({len(ids) / elapsed:.0f} records/s); last run: train {timings['train']:.3f} s, "
          f"predict {timings['predict']:.3f} s, cluster {timings['cluster']:.3f} s")
    # Best threshold in hindsight, to be fair to Splink (uses the labels: an upper bound).
    best = None
    for t in [0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999]:
        kept = predictions[predictions["match_probability"] >= t]
        parent = {r: r for r in ids}

        def find(x):
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for a, b in zip(kept["rec_id_l"], kept["rec_id_r"]):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
        mt = pairwise([find(r) for r in ids], truth, sources)
        if best is None or mt["f1"] > best[1]["f1"]:
            best = (t, mt)
    print(f"  best threshold in hindsight p >= {best[0]}: {fmt(best[1])}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threshold", type=float, default=0.9, help="cluster threshold (Aloft uses 0.9)")
    args = parser.parse_args()
    print(f"splink {splink.__version__}, duckdb {__import__('duckdb').__version__}, python {sys.version.split()[0]}")
    evaluate("FEBRL3 (dedupe)", ["dataset3.csv"], "dedupe_only", args.repeat, args.threshold)
    evaluate("FEBRL4 (link A-B)", ["dataset4a.csv", "dataset4b.csv"], "link_only", args.repeat, args.threshold)


if __name__ == "__main__":
    main()
