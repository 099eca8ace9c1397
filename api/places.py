"""Names and UN/LOCODEs beside the network's internal node ids in answers.

Requests take UN/LOCODEs (`CNYIB`), while itineraries, legs and milestones are planned on the network's node
ids (`YIB`, `CKG_RAIL`), which the contract's fields (`origin`, `destination`, `location`) carry and clients
compare. Those values stay as they are; beside each one that names a node the answer gains `<field>_name`
and `<field>_locode` (the node's UN/LOCODE, or null where the place has none: a border crossing or a
rail yard inside a city, whose public code is then the node id itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from routing.network import Node

T = TypeVar("T")
PLACE_FIELDS = ("origin", "destination", "location")  # a stop has `name` and `unlocode` already


def name_places(body: T, nodes: Mapping[str, Node]) -> T:
    """`body` with `<field>_name` and `<field>_locode` beside every place field naming a node (in place)."""
    _name(body, nodes)
    return body


def _name(body: Any, nodes: Mapping[str, Node]) -> None:
    if isinstance(body, list):
        for item in body:
            _name(item, nodes)
    elif isinstance(body, dict):
        for key in PLACE_FIELDS:
            value = body.get(key)
            if isinstance(value, str) and value in nodes:
                node = nodes[value]
                body.setdefault(f"{key}_name", node.name)
                body.setdefault(f"{key}_locode", node.unlocode)
        for value in body.values():
            if isinstance(value, dict | list):
                _name(value, nodes)
