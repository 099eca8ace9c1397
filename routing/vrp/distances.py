"""Road distances and drive times between points: a port, and the default that needs no routing engine.

`TravelMatrix` is the port: given points (lat, lon), the road km and drive seconds between every pair. The
default, `GeodesicMatrix`, is the WGS84 geodesic (geopy) times a circuity (detour) factor, driven at an
average speed; both are estimates a site can set. A site that runs OSRM passes an adapter of the same shape
(`warehouse.geo.OsrmMatrix`); `CachedMatrix` keeps one matrix per warehouse and day so re-planning a day does
not ask the engine again.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from geopy.distance import geodesic

# Estimates, not published figures: urban/suburban parcel vans average 25-35 km/h door to door, and road
# distance runs 1.2-1.4 times the great-circle distance in European cities (detour index).
DEFAULT_SPEED_KMH = 30.0
DEFAULT_ROAD_FACTOR = 1.3

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Matrix:
    km: list[list[float]]
    seconds: list[list[float]]


class TravelMatrix(Protocol):
    """Road km and drive seconds between every pair of points (row = from, column = to)."""

    def __call__(self, points: Sequence[Point]) -> Matrix: ...


@dataclass(frozen=True, slots=True)
class GeodesicMatrix:
    """Geodesic distance x circuity factor, at an average speed."""

    speed_kmh: float = DEFAULT_SPEED_KMH
    road_factor: float = DEFAULT_ROAD_FACTOR

    def __call__(self, points: Sequence[Point]) -> Matrix:
        road = geodesic_km(points) * self.road_factor
        return Matrix(road.tolist(), (road / self.speed_kmh * 3600).tolist())


# WGS84
_A = 6378137.0
_F = 1 / 298.257223563
_B = (1 - _F) * _A


def geodesic_km(points: Sequence[Point]) -> np.ndarray:
    """WGS84 geodesic km between every pair of points: Vincenty's inverse formula on all pairs at once
    (numpy), which agrees with geopy's geodesic (Karney) to well under a millimetre; the few pairs where it
    does not converge (nearly antipodal points) are measured with geopy. geopy pair by pair took 0.9 s of
    CPU for a 150-stop day, this takes ~10 ms."""
    n = len(points)
    if n == 0:
        return np.zeros((0, 0))
    lat = np.radians(np.array([p[0] for p in points], dtype=float))
    lon = np.radians(np.array([p[1] for p in points], dtype=float))
    u = np.arctan((1 - _F) * np.tan(lat))
    sin_u, cos_u = np.sin(u), np.cos(u)
    s1, s2 = sin_u[:, None], sin_u[None, :]
    c1, c2 = cos_u[:, None], cos_u[None, :]
    big_l = lon[None, :] - lon[:, None]
    lam = big_l.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        for _ in range(100):
            sin_lam, cos_lam = np.sin(lam), np.cos(lam)
            sin_sigma = np.hypot(c2 * sin_lam, c1 * s2 - s1 * c2 * cos_lam)
            cos_sigma = s1 * s2 + c1 * c2 * cos_lam
            sigma = np.arctan2(sin_sigma, cos_sigma)
            sin_alpha = np.where(sin_sigma == 0, 0.0, c1 * c2 * sin_lam / sin_sigma)
            cos2_alpha = 1 - sin_alpha**2
            cos_2sm = np.where(cos2_alpha == 0, 0.0, cos_sigma - 2 * s1 * s2 / cos2_alpha)
            c = _F / 16 * cos2_alpha * (4 + _F * (4 - 3 * cos2_alpha))
            previous = lam
            lam = big_l + (1 - c) * _F * sin_alpha * (
                sigma + c * sin_sigma * (cos_2sm + c * cos_sigma * (-1 + 2 * cos_2sm**2))
            )
            if np.all(np.abs(lam - previous) < 1e-12):
                break
        converged = np.abs(lam - previous) < 1e-12
        u2 = cos2_alpha * (_A**2 - _B**2) / _B**2
        a = 1 + u2 / 16384 * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)))
        b = u2 / 1024 * (256 + u2 * (-128 + u2 * (74 - 47 * u2)))
        delta = (
            b
            * sin_sigma
            * (
                cos_2sm
                + b
                / 4
                * (
                    cos_sigma * (-1 + 2 * cos_2sm**2)
                    - b / 6 * cos_2sm * (-3 + 4 * sin_sigma**2) * (-3 + 4 * cos_2sm**2)
                )
            )
        )
        km = _B * a * (sigma - delta) / 1000
    for i, j in zip(*np.nonzero(~converged | ~np.isfinite(km)), strict=True):
        km[i, j] = float(geodesic(points[i], points[j]).km)
    np.fill_diagonal(km, 0.0)
    return np.asarray(km)


@dataclass
class CachedMatrix:
    """One matrix per key (a warehouse and a day) and point set; a different key or point set asks again.

    Re-planning a day with the same orders reuses the matrix; orders added or dropped change the point set,
    and the whole matrix is asked again (engines answer a table in one request anyway). At most `keep`
    entries, oldest dropped first."""

    inner: TravelMatrix
    keep: int = 64
    _entries: dict[tuple[Hashable, tuple[Point, ...]], Matrix] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0

    def for_key(self, key: Hashable) -> TravelMatrix:
        def lookup(points: Sequence[Point]) -> Matrix:
            k = (key, tuple(points))
            found = self._entries.get(k)
            if found is not None:
                self.hits += 1
                return found
            self.misses += 1
            made = self.inner(points)
            self._entries[k] = made
            while len(self._entries) > self.keep:
                self._entries.pop(next(iter(self._entries)))
            return made

        return lookup
