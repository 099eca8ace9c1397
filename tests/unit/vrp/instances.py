"""Helpers for the VRP tests: tiny Solomon instances written as text, so the parser is exercised too."""

from __future__ import annotations

from collections.abc import Sequence

from routing.vrp import Instance, parse

Row = tuple[float, float, int, float, float, float]  # x, y, demand, ready, due, service


def solomon_text(name: str, vehicles: int, capacity: int, rows: Sequence[Row]) -> str:
    """Solomon text for a depot (rows[0]) and customers (rows[1:])."""
    lines = [
        name,
        "",
        "VEHICLE",
        "NUMBER     CAPACITY",
        f"  {vehicles}         {capacity}",
        "",
        "CUSTOMER",
        "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME",
        " ",
    ]
    for i, (x, y, demand, ready, due, service) in enumerate(rows):
        lines.append(f"{i:5d} {x:10g} {y:10g} {demand:10d} {ready:10g} {due:10g} {service:10g}")
    return "\r\n".join(lines) + "\r\n"


def tiny(vehicles: int, capacity: int, rows: Sequence[Row], name: str = "TINY") -> Instance:
    return parse(solomon_text(name, vehicles, capacity, rows))
