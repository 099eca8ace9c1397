"""VRPLIB instances (CVRPLIB's CVRP sets, Homberger-Gehring VRPTW in VRPLIB form) as an `Instance`.

Parsed with the `vrplib` package (PyVRP's own reader). Only what `Instance` can hold is accepted: one depot,
2-D coordinates (EUC_2D), one load dimension; time windows and service times when the file has them, else
an open horizon. Distances are the exact Euclidean arcs like Solomon's (CVRPLIB's best-known figures round
each arc to the nearest integer: compare with that in mind). VEHICLES, when absent, is one per customer.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from vrplib import parse as _vrplib_parse

from routing.vrp.solomon import Customer, Instance, SolomonFormatError

# The horizon of an instance without time windows: beyond any route's duration, finite for the integer model.
_OPEN = 1e9


class VrplibFormatError(SolomonFormatError):
    """A file that is not a VRPLIB instance this solver can take; the message says what is wrong."""


def parse_vrplib(text: str, name: str | None = None) -> Instance:
    """Parse VRPLIB text; `name` overrides the NAME field."""
    try:
        data: dict[str, Any] = _vrplib_parse.parse_vrplib(text, compute_edge_weights=False)
    except (ValueError, IndexError, KeyError, RuntimeError) as exc:  # RuntimeError: vrplib's own refusal
        raise VrplibFormatError(f"not a VRPLIB instance: {exc}") from None
    for key in ("node_coord", "demand", "capacity"):
        if key not in data:
            raise VrplibFormatError(f"the {key.upper()} section or field is missing")
    weight_type = str(data.get("edge_weight_type", "EUC_2D")).upper()
    if weight_type != "EUC_2D":
        raise VrplibFormatError(f"EDGE_WEIGHT_TYPE {weight_type} is not supported (only EUC_2D)")
    coords = np.asarray(data["node_coord"], dtype=float)
    demand = np.asarray(data["demand"]).reshape(-1)
    n = len(coords)
    if coords.ndim != 2 or coords.shape[1] != 2 or len(demand) != n or n < 2:
        raise VrplibFormatError("NODE_COORD_SECTION and DEMAND_SECTION must list the same nodes, at least 2")
    depots = np.asarray(data.get("depot", [0])).reshape(-1)
    if len(depots) != 1 or int(depots[0]) != 0:
        raise VrplibFormatError("exactly one depot, the first node, is supported")
    capacity = _whole(data["capacity"], "CAPACITY")
    windows = np.asarray(data["time_window"], dtype=float) if "time_window" in data else None
    service = np.asarray(data["service_time"], dtype=float).reshape(-1) if "service_time" in data else None
    horizon = float(windows[0][1]) if windows is not None else _OPEN
    sites = []
    for i in range(n):
        d = _whole(demand[i], f"demand of node {i + 1}")
        if d < 0 or d > capacity:
            raise VrplibFormatError(f"node {i + 1} demands {d}: must be 0 to the capacity {capacity}")
        ready, due = (float(windows[i][0]), float(windows[i][1])) if windows is not None else (0.0, horizon)
        if due < ready:
            raise VrplibFormatError(f"node {i + 1} is due before it is ready")
        serve = float(service[i]) if service is not None else 0.0
        x, y = float(coords[i][0]), float(coords[i][1])
        if not all(math.isfinite(v) for v in (x, y, ready, serve)):
            raise VrplibFormatError(f"node {i + 1} has a non-finite number")
        sites.append(Customer(i, x, y, d, ready, due, serve))
    if sites[0].demand != 0:
        raise VrplibFormatError("the depot has a demand; it must be 0")
    vehicles = _whole(data["vehicles"], "VEHICLES") if "vehicles" in data else n - 1
    if vehicles < 1:
        raise VrplibFormatError("VEHICLES must be at least 1")
    return Instance(name or str(data.get("name", "vrplib")), vehicles, capacity, sites[0], tuple(sites[1:]))


def load_vrplib(path: str | Path) -> Instance:
    """Read and parse a VRPLIB file; unreadable files raise VrplibFormatError too."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VrplibFormatError(f"{p}: cannot read it ({exc})") from exc
    return parse_vrplib(text)


def _whole(value: Any, what: str) -> int:
    v = float(np.asarray(value).reshape(-1)[0])
    if not math.isfinite(v) or v != int(v):
        raise VrplibFormatError(f"{what} must be a whole number, got {value}")
    return int(v)
