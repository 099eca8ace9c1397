"""The Solomon VRPTW text format (Solomon 1987): a header, the fleet, then one row per customer.

Row 0 is the depot; its due date is the scheduling horizon (every vehicle is back by then). A customer's
service must *start* inside its window; it may end after the due date. Travel time equals Euclidean distance.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

BUNDLED = ("C101", "C201", "R101", "R201", "RC101", "RC201")


class SolomonFormatError(ValueError):
    """A file that is not a well-formed Solomon instance; the message names the line and what is wrong."""


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    x: float
    y: float
    demand: int
    ready: float
    due: float
    service: float


@dataclass(frozen=True, slots=True)
class Instance:
    name: str
    vehicles: int
    capacity: int
    depot: Customer
    customers: tuple[Customer, ...]

    @property
    def sites(self) -> tuple[Customer, ...]:
        """Depot first, then the customers: index i is the site whose id is i."""
        return (self.depot, *self.customers)

    def distance(self, a: int, b: int) -> float:
        """Exact Euclidean distance between two sites, by id."""
        sa, sb = self.sites[a], self.sites[b]
        return math.hypot(sa.x - sb.x, sa.y - sb.y)


@dataclass(frozen=True, slots=True)
class BestKnown:
    """Best-known solutions: `hier_*` fewest vehicles then distance (exact Euclidean arcs);
    `dist_*` distance only with every arc truncated to one decimal (the DIMACS convention)."""

    instance: str
    hier_vehicles: int
    hier_distance: float
    dist_vehicles: int
    dist_distance_dimacs: float


def parse(text: str, name: str | None = None) -> Instance:
    """Parse Solomon text; `name` overrides the name on the first line."""
    lines = [(no, raw.strip()) for no, raw in enumerate(text.splitlines(), start=1)]
    content = [(no, line) for no, line in lines if line]
    if not content:
        raise SolomonFormatError(
            "empty file: expected an instance name, a VEHICLE section and a CUSTOMER section"
        )
    title = content[0][1]
    pos = _expect(content, 1, "VEHICLE")
    pos = _expect(content, pos, "NUMBER")
    if pos >= len(content):
        raise SolomonFormatError("the VEHICLE section has no 'number capacity' line")
    no, line = content[pos]
    fleet = _numbers(no, line, 2, "vehicle number and capacity")
    vehicles, capacity = _whole(no, fleet[0], "vehicle number"), _whole(no, fleet[1], "capacity")
    if vehicles < 1:
        raise SolomonFormatError(f"line {no}: vehicle number must be at least 1, got {vehicles}")
    if capacity < 1:
        raise SolomonFormatError(f"line {no}: capacity must be at least 1, got {capacity}")
    pos = _expect(content, pos + 1, "CUSTOMER")
    pos = _expect(content, pos, "CUST")
    sites: list[Customer] = []
    for no, line in content[pos:]:
        values = _numbers(no, line, 7, "customer row (no, x, y, demand, ready, due, service)")
        cid = _whole(no, values[0], "customer number")
        if cid != len(sites):
            expected = "the depot, 0" if not sites else str(len(sites))
            raise SolomonFormatError(f"line {no}: customer number {cid} out of order (expected {expected})")
        demand = _whole(no, values[3], "demand")
        ready, due, service = values[4], values[5], values[6]
        if demand < 0:
            raise SolomonFormatError(f"line {no}: customer {cid} has a negative demand {demand}")
        if demand > capacity:
            raise SolomonFormatError(
                f"line {no}: customer {cid} demands {demand}, more than a vehicle holds ({capacity})"
            )
        if ready < 0 or service < 0:
            raise SolomonFormatError(f"line {no}: customer {cid} has a negative ready or service time")
        if due < ready:
            raise SolomonFormatError(
                f"line {no}: customer {cid} is due ({due:g}) before it is ready ({ready:g})"
            )
        sites.append(Customer(cid, values[1], values[2], demand, ready, due, service))
    if not sites:
        raise SolomonFormatError("the CUSTOMER section has no rows")
    if len(sites) < 2:
        raise SolomonFormatError("the instance has a depot but no customers")
    if sites[0].demand != 0:
        raise SolomonFormatError(f"the depot (customer 0) has demand {sites[0].demand}; it must be 0")
    return Instance(name or title, vehicles, capacity, sites[0], tuple(sites[1:]))


def load(path: str | Path) -> Instance:
    """Read and parse a Solomon file; unreadable or undecodable files raise SolomonFormatError too."""
    p = Path(path)
    try:
        text = p.read_text(encoding="ascii")
    except UnicodeDecodeError as exc:
        raise SolomonFormatError(f"{p}: not a text file ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise SolomonFormatError(f"{p}: cannot read it ({exc.strerror or exc})") from exc
    return parse(text)


def bundled(name: str) -> Instance:
    """One of the six Solomon instances shipped as package data (C101, C201, R101, R201, RC101, RC201)."""
    key = name.upper()
    if key not in BUNDLED:
        raise KeyError(f"no bundled instance {name!r}; have {', '.join(BUNDLED)}")
    return parse((resources.files("routing.vrp") / "data" / f"{key.lower()}.txt").read_text(encoding="ascii"))


def best_known() -> dict[str, BestKnown]:
    """The bundled best-known solutions, by instance name."""
    text = (resources.files("routing.vrp") / "data" / "bks.csv").read_text(encoding="ascii")
    return {
        row["instance"]: BestKnown(
            row["instance"],
            int(row["hier_bks_vehicles"]),
            float(row["hier_bks_distance"]),
            int(row["dist_bks_vehicles"]),
            float(row["dist_bks_distance_dimacs"]),
        )
        for row in csv.DictReader(text.splitlines())
    }


def _expect(content: list[tuple[int, str]], pos: int, keyword: str) -> int:
    if pos >= len(content) or not content[pos][1].upper().startswith(keyword):
        where = f"line {content[pos][0]}" if pos < len(content) else "end of file"
        found = f" (found {content[pos][1][:40]!r})" if pos < len(content) else ""
        raise SolomonFormatError(f"{where}: expected the {keyword!r} header{found}")
    return pos + 1


def _numbers(no: int, line: str, count: int, what: str) -> list[float]:
    fields = line.split()
    if len(fields) != count:
        raise SolomonFormatError(
            f"line {no}: expected {count} numbers for the {what}, got {len(fields)}: {line[:60]!r}"
        )
    try:
        values = [float(f) for f in fields]
    except ValueError:
        raise SolomonFormatError(f"line {no}: not a number in the {what}: {line[:60]!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise SolomonFormatError(f"line {no}: non-finite number in the {what}: {line[:60]!r}")
    return values


def _whole(no: int, value: float, what: str) -> int:
    if value != int(value):
        raise SolomonFormatError(f"line {no}: {what} must be a whole number, got {value:g}")
    return int(value)
