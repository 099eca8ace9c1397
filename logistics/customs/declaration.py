"""The customs data a booking carries, and the mode rules that matter for logistics.

`CustomsData` is what the messages need (enterprises with their customs codes, goods lines, weights,
packages, the customs offices, the transport); `check_mode` refuses what a mode cannot be:
- 9610 (B2C parcels cleared by lists): parcels, each with its own logistics number; one waybill per parcel.
- 9710 / 9810 (B2B): no parcels; 9810 must end at an overseas warehouse of the network.
- 1210 (bonded): starts or ends in the bonded zone (`BONDED_NODES`).
- Every export mode needs a route that leaves China (an exit point), else there is nothing to declare.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from kernel.errors import InvalidInput
from logistics.customs.spec import CURRENCY_CODES

# The Yibin Comprehensive Bonded Zone lies by the port; the reference network has no node of its own for
# it, so the Yibin port node stands for it (an estimate: the zone and the port share the Sanjiang New Area).
BONDED_NODES = frozenset({"YIB"})
HS_CODE = re.compile(r"\d{10}")  # China's tariff: 10-digit commodity codes (HS 6 + 4 national digits)
CUSTOMS_CODE = re.compile(r"\d{4}")  # 关区代码: the customs office (district + office), 4 digits
ENTERPRISE_CODE = re.compile(r"[0-9A-Z]{10}|[0-9A-Z]{18}")  # 10-digit customs code or 18-char USCC


@dataclass(frozen=True)
class Enterprise:
    code: str
    name: str


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class GoodsLine:
    hs_code: str
    description: str
    quantity: Decimal
    unit: str
    value: Money


@dataclass(frozen=True)
class Parcel:
    logistics_no: str
    gross_weight_kg: Decimal
    packages: int
    goods: tuple[GoodsLine, ...]


@dataclass(frozen=True)
class CustomsData:
    ecommerce_enterprise: Enterprise
    logistics_enterprise: Enterprise
    declaration_customs: str
    exit_customs: str
    consignee_country: str
    gross_weight_kg: Decimal
    net_weight_kg: Decimal
    packages: int
    goods: tuple[GoodsLine, ...]
    platform: Enterprise | None = None
    supervision_site: str | None = None  # loctNo, where the declaring office has several sites
    vehicle: str | None = None  # train number, vessel or flight (trafName)
    voyage: str | None = None
    parcels: tuple[Parcel, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = _jsonable(asdict(self))
        return doc

    @staticmethod
    def from_json(doc: Mapping[str, Any]) -> CustomsData:
        def ent(d: Mapping[str, Any] | None) -> Enterprise | None:
            return Enterprise(str(d["code"]), str(d["name"])) if d else None

        def goods(items: Sequence[Mapping[str, Any]]) -> tuple[GoodsLine, ...]:
            return tuple(
                GoodsLine(
                    hs_code=str(g["hs_code"]),
                    description=str(g["description"]),
                    quantity=Decimal(str(g["quantity"])),
                    unit=str(g["unit"]),
                    value=Money(Decimal(str(g["value"]["amount"])), str(g["value"]["currency"])),
                )
                for g in items
            )

        ebc, logistics = ent(doc["ecommerce_enterprise"]), ent(doc["logistics_enterprise"])
        assert ebc is not None and logistics is not None
        return CustomsData(
            ecommerce_enterprise=ebc,
            logistics_enterprise=logistics,
            declaration_customs=str(doc["declaration_customs"]),
            exit_customs=str(doc["exit_customs"]),
            consignee_country=str(doc["consignee_country"]),
            gross_weight_kg=Decimal(str(doc["gross_weight_kg"])),
            net_weight_kg=Decimal(str(doc["net_weight_kg"])),
            packages=int(doc["packages"]),
            goods=goods(doc.get("goods") or ()),
            platform=ent(doc.get("platform")),
            supervision_site=doc.get("supervision_site"),
            vehicle=doc.get("vehicle"),
            voyage=doc.get("voyage"),
            parcels=tuple(
                Parcel(
                    logistics_no=str(p["logistics_no"]),
                    gross_weight_kg=Decimal(str(p["gross_weight_kg"])),
                    packages=int(p["packages"]),
                    goods=goods(p.get("goods") or ()),
                )
                for p in doc.get("parcels") or ()
            ),
        )


def _jsonable(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


@dataclass(frozen=True)
class Route:
    """What the mode rules need of a booked route: its first and last node, and its exit point (if any)."""

    origin: str
    destination: str
    exit_node: str | None
    destination_is_overseas_warehouse: bool


def _goods_problems(prefix: str, goods: Sequence[GoodsLine]) -> list[dict[str, str]]:
    problems = []
    for i, g in enumerate(goods):
        where = f"{prefix}.goods[{i}]"
        if not HS_CODE.fullmatch(g.hs_code):
            problems.append({"field": f"{where}.hs_code", "message": "must be a 10-digit commodity code"})
        if g.value.currency not in CURRENCY_CODES:
            problems.append(
                {"field": f"{where}.value.currency", "message": f"must be one of {', '.join(CURRENCY_CODES)}"}
            )
        if g.value.amount <= 0 or g.quantity <= 0:
            problems.append({"field": where, "message": "quantity and value must be positive"})
    return problems


def check(mode: str, data: CustomsData, route: Route) -> None:
    """Refuse customs data the mode or the route cannot carry (InvalidInput naming every problem)."""
    problems: list[dict[str, str]] = []
    for name in ("ecommerce_enterprise", "logistics_enterprise", "platform"):
        ent = getattr(data, name)
        if ent is not None and not ENTERPRISE_CODE.fullmatch(ent.code):
            problems.append(
                {
                    "field": f"customs.{name}.code",
                    "message": "must be a 10-character customs code or an 18-character USCC",
                }
            )
    for name in ("declaration_customs", "exit_customs"):
        if not CUSTOMS_CODE.fullmatch(getattr(data, name)):
            problems.append({"field": f"customs.{name}", "message": "must be a 4-digit customs office code"})
    problems += _goods_problems("customs", data.goods)
    seen: set[str] = set()
    for i, p in enumerate(data.parcels):
        problems += _goods_problems(f"customs.parcels[{i}]", p.goods)
        if p.logistics_no in seen:
            problems.append({"field": f"customs.parcels[{i}].logistics_no", "message": "is repeated"})
        seen.add(p.logistics_no)
    if data.net_weight_kg > data.gross_weight_kg:
        problems.append({"field": "customs.net_weight_kg", "message": "is above the gross weight"})
    if mode == "9610" and not data.parcels:
        problems.append(
            {"field": "customs.parcels", "message": "9610 clears parcels by lists: name the parcels"}
        )
    if mode != "9610" and data.parcels:
        problems.append({"field": "customs.parcels", "message": f"{mode} is B2B or bonded: no parcel lists"})
    if mode != "9610" and not data.goods:
        problems.append({"field": "customs.goods", "message": "name at least one goods line"})
    if mode == "9810" and not route.destination_is_overseas_warehouse:
        problems.append(
            {
                "field": "customs_mode",
                "message": f"9810 must end at an overseas warehouse; {route.destination} is none",
            }
        )
    if mode == "1210" and not ({route.origin, route.destination} & BONDED_NODES):
        problems.append(
            {"field": "customs_mode", "message": "1210 must start or end in the bonded zone (Yibin, YIB)"}
        )
    if mode in ("9610", "9710", "9810") and route.exit_node is None:
        problems.append(
            {"field": "customs_mode", "message": f"{mode} is an export: this route does not leave China"}
        )
    if problems:
        raise InvalidInput("the booking's customs data cannot be declared", errors=problems)
