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
        n = len(points)
        km = [[0.0] * n for _ in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                km[i][j] = km[j][i] = float(geodesic(points[i], points[j]).km) * self.road_factor
        return Matrix(km, [[d / self.speed_kmh * 3600 for d in row] for row in km])


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
