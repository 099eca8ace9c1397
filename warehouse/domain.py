"""The overseas-warehouse domain, pure: stock locations, ledger movements, allocation, returns.

No database, no web. Handlers (`warehouse.orders`, `warehouse.returns`, ...) load what a rule needs, call
these functions and write the result; the in-memory `Stockbook` applies the same movements for the property
tests.

Stock lives at *locations*. A real location is a zone of a warehouse (`pick` = sellable, `quarantine`,
`returns` = received back and waiting for inspection, `refurbish` = graded for refurbishment and waiting
for it, `transit` = on its way *to* that warehouse). A
virtual location stands for the outside world (`@supplier`, `@customer`, `@scrap`, `@lost`, `@adjustment`,
`@origin` = shipped back to Yibin). Every `StockMove` is a set of signed lines that sums to zero per
(SKU, lot), so stock is never created or lost without a counterpart line that says where it went.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from geopy.distance import geodesic

from kernel.errors import Conflict, InvalidInput


class Zone(StrEnum):
    PICK = "pick"
    QUARANTINE = "quarantine"
    RETURNS = "returns"
    TRANSIT = "transit"
    REFURBISH = "refurbish"


class Virtual(StrEnum):
    SUPPLIER = "supplier"
    CUSTOMER = "customer"
    SCRAP = "scrap"
    LOST = "lost"
    ADJUSTMENT = "adjustment"
    ORIGIN = "origin"


class MoveKind(StrEnum):
    INBOUND_SHIPPED = "inbound_shipped"
    RECEIPT = "receipt"
    RECEIPT_SURPLUS = "receipt_surplus"
    RECEIPT_SHORTAGE = "receipt_shortage"
    ORDER_SHIPPED = "order_shipped"
    TRANSFER_SHIPPED = "transfer_shipped"
    TRANSFER_RECEIVED = "transfer_received"
    RETURN_RECEIVED = "return_received"
    DISPOSITION = "disposition"
    CYCLE_COUNT = "cycle_count"
    REVERSAL = "reversal"
    EXPIRED = "expired"
    REFURBISHED = "refurbished"


class OrderStatus(StrEnum):
    ALLOCATED = "ALLOCATED"
    PICKING = "PICKING"  # some units picked, nothing shipped yet
    PARTLY_SHIPPED = "PARTLY_SHIPPED"  # some units shipped, the rest still reserved or picked
    CANCELLED = "CANCELLED"
    SHIPPED = "SHIPPED"


class ReservationStatus(StrEnum):
    ACTIVE = "ACTIVE"
    PICKED = "PICKED"  # taken off the shelf, still on hand and reserved until it ships
    RELEASED = "RELEASED"
    SHIPPED = "SHIPPED"


class Grade(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


class Disposition(StrEnum):
    RESTOCK = "restock"
    REFURBISH = "refurbish"
    QUARANTINE = "quarantine"
    DISPOSE = "dispose"
    RETURN_TO_ORIGIN = "return_to_origin"


DEFAULT_DISPOSITIONS: dict[Grade, Disposition] = {
    Grade.A: Disposition.RESTOCK,
    Grade.B: Disposition.REFURBISH,
    Grade.C: Disposition.QUARANTINE,
    Grade.D: Disposition.DISPOSE,
}

NO_LOT = ""


@dataclass(frozen=True, order=True)
class Location:
    """A zone of a warehouse, or (warehouse None) a virtual location of the outside world."""

    warehouse: str | None
    zone: str

    @property
    def is_real(self) -> bool:
        return self.warehouse is not None

    @property
    def code(self) -> str:
        return f"{self.warehouse}/{self.zone}" if self.warehouse else f"@{self.zone}"

    @staticmethod
    def at(warehouse: str, zone: Zone) -> Location:
        return Location(warehouse, zone.value)

    @staticmethod
    def virtual(where: Virtual) -> Location:
        return Location(None, where.value)


@dataclass(frozen=True, order=True)
class StockKey:
    """The grain of a balance: one seller's units of one SKU lot in one zone of one warehouse."""

    seller_id: str
    warehouse: str
    zone: str
    sku: str
    lot: str = NO_LOT


@dataclass(frozen=True)
class MoveLine:
    location: Location
    sku: str
    lot: str
    qty: int  # signed: + into the location, - out of it


@dataclass(frozen=True)
class StockMove:
    """One ledger movement: signed lines that sum to zero per (SKU, lot), all of one seller."""

    seller_id: str
    kind: MoveKind
    reference: str
    lines: tuple[MoveLine, ...]

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError("a stock movement needs lines")
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for line in self.lines:
            if line.qty == 0:
                raise ValueError("a movement line must move a non-zero quantity")
            totals[(line.sku, line.lot)] += line.qty
        unbalanced = {k: v for k, v in totals.items() if v != 0}
        if unbalanced:
            raise ValueError(f"movement lines do not sum to zero: {unbalanced}")

    def real_deltas(self) -> list[tuple[StockKey, int]]:
        """Net change per real balance, in key order (the order locks are taken in)."""
        deltas: dict[StockKey, int] = defaultdict(int)
        for line in self.lines:
            if line.location.warehouse is not None:
                key = StockKey(
                    self.seller_id, line.location.warehouse, line.location.zone, line.sku, line.lot
                )
                deltas[key] += line.qty
        return sorted((k, v) for k, v in deltas.items() if v != 0)

    def reversed(self, reference: str) -> StockMove:
        """The correcting movement: every line negated. Corrections are reversals, never edits."""
        return StockMove(
            self.seller_id,
            MoveKind.REVERSAL,
            reference,
            tuple(MoveLine(ln.location, ln.sku, ln.lot, -ln.qty) for ln in self.lines),
        )


def move(
    seller_id: str, kind: MoveKind, reference: str, parts: Iterable[tuple[Location, Location, str, str, int]]
) -> StockMove:
    """A movement from (source, destination, sku, lot, qty) parts, each a pair of lines."""
    lines: list[MoveLine] = []
    for src, dst, sku, lot, qty in parts:
        if qty <= 0:
            raise ValueError("a moved quantity must be positive")
        lines.append(MoveLine(src, sku, lot, -qty))
        lines.append(MoveLine(dst, sku, lot, qty))
    return StockMove(seller_id, kind, reference, tuple(lines))


def positive_qty(qty: int, field_name: str) -> int:
    if qty <= 0:
        raise InvalidInput(
            f"{field_name} must be a positive quantity",
            errors=[{"field": field_name, "message": "must be > 0"}],
        )
    return qty


# --- allocation -------------------------------------------------------------------------------------

MARKETS: dict[str, frozenset[str]] = {
    "EU": frozenset(
        [
            "AT",
            "BE",
            "BG",
            "HR",
            "CY",
            "CZ",
            "DK",
            "EE",
            "FI",
            "FR",
            "DE",
            "GR",
            "HU",
            "IE",
            "IT",
            "LV",
            "LT",
            "LU",
            "MT",
            "NL",
            "PL",
            "PT",
            "RO",
            "SK",
            "SI",
            "ES",
            "SE",
        ]
    ),
    "ASEAN": frozenset(["BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN"]),
    "NA": frozenset(["US", "CA", "MX"]),
}

# Rough population centres, used only when an order gives a country but no position.
COUNTRY_POINTS: dict[str, tuple[float, float]] = {
    "DE": (51.0, 10.0),
    "PL": (52.0, 19.5),
    "NL": (52.2, 5.3),
    "HU": (47.2, 19.4),
    "FR": (46.6, 2.4),
    "IT": (42.8, 12.6),
    "ES": (40.2, -3.7),
    "CZ": (49.8, 15.5),
    "AT": (47.6, 14.1),
    "BE": (50.6, 4.6),
    "GB": (52.5, -1.5),
    "SE": (59.3, 16.0),
    "DK": (55.9, 10.0),
    "RO": (45.9, 25.0),
    "SK": (48.7, 19.7),
    "SG": (1.35, 103.82),
    "VN": (14.1, 108.3),
    "TH": (15.1, 101.0),
    "MY": (3.1, 101.7),
    "ID": (-6.2, 106.8),
    "PH": (14.6, 121.0),
    "US": (39.8, -98.6),
    "CA": (45.4, -75.7),
    "MX": (19.4, -99.1),
    "CN": (28.8, 104.6),
}


def market_of(country: str) -> str | None:
    for name, members in MARKETS.items():
        if country in members:
            return name
    return None


@dataclass(frozen=True)
class Site:
    """What allocation needs to know about a warehouse."""

    code: str
    country: str
    lat: float
    lon: float
    handling_cost: Decimal = Decimal("0")


@dataclass(frozen=True)
class ShipTo:
    country: str
    lat: float | None = None
    lon: float | None = None
    postcode: str | None = None

    def point(self) -> tuple[float, float] | None:
        if self.lat is not None and self.lon is not None:
            return (self.lat, self.lon)
        return COUNTRY_POINTS.get(self.country)


@dataclass(frozen=True)
class SellableLot:
    """Sellable units of one lot at one warehouse, as read (without a lock) before reserving."""

    warehouse: str
    sku: str
    lot: str
    available: int
    expires_on: date | None = None


@dataclass(frozen=True)
class Pick:
    warehouse: str
    sku: str
    lot: str
    qty: int
    line_no: int


@dataclass
class AllocationPlan:
    picks: list[Pick]
    explanation: list[str] = field(default_factory=list)

    @property
    def warehouses(self) -> list[str]:
        return sorted({p.warehouse for p in self.picks})


class InsufficientStock(Conflict):
    """Not enough sellable (or unreserved) stock for what was asked; nothing was reserved or moved."""

    title = "Insufficient stock"
    slug = "insufficient-stock"


def is_expired(expires_on: date | None, today: date) -> bool:
    return expires_on is not None and expires_on <= today


def fefo(lots: Iterable[SellableLot], today: date) -> list[SellableLot]:
    """First expired, first out; never an expired lot; lots without expiry after those with one."""
    usable = [lt for lt in lots if lt.available > 0 and not is_expired(lt.expires_on, today)]
    return sorted(usable, key=lambda lt: (lt.expires_on is None, lt.expires_on or date.max, lt.lot))


@dataclass(frozen=True)
class Ranked:
    site: Site
    tier: int  # 0 in-country, 1 same market, 2 elsewhere
    distance_km: float

    @property
    def sort_key(self) -> tuple[int, float, Decimal, str]:
        return (self.tier, round(self.distance_km, 1), self.site.handling_cost, self.site.code)

    def why(self) -> str:
        tier = ("in the destination country", "in the same market", "outside the destination market")[
            self.tier
        ]
        dist = "distance unknown" if math.isinf(self.distance_km) else f"{self.distance_km:.0f} km"
        return f"{self.site.code} ({tier}, {dist}, handling {self.site.handling_cost})"


@lru_cache(maxsize=65536)
def _geodesic_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # Karney's geodesic costs ~50 us; customers cluster (postcodes, country points), so cache it
    return float(geodesic((lat1, lon1), (lat2, lon2)).km)


def rank_sites(sites: Iterable[Site], ship_to: ShipTo) -> list[Ranked]:
    """The ordered rules: in-country first, then same market, then nearest by geodesic, then cheapest."""
    point = ship_to.point()
    market = market_of(ship_to.country)
    out = []
    for s in sites:
        tier = 0 if s.country == ship_to.country else 1 if market and market_of(s.country) == market else 2
        dist = _geodesic_km(point[0], point[1], s.lat, s.lon) if point else math.inf
        out.append(Ranked(s, tier, dist))
    return sorted(out, key=lambda r: r.sort_key)


def plan_allocation(
    lines: Sequence[tuple[str, int]],
    ship_to: ShipTo,
    sites: Mapping[str, Site],
    stock: Iterable[SellableLot],
    today: date,
) -> AllocationPlan:
    """Allocate order lines (sku, qty) to warehouse lots by explainable, ordered rules.

    1. one warehouse that can fill the whole order, ranked by `rank_sites`;
    2. otherwise split: repeatedly take the warehouse that fills the most remaining units (ties by rank).
    Within a warehouse lots are taken FEFO; expired and quarantined units are never offered.
    Raises `InsufficientStock` when the network cannot fill the order.
    """
    need: dict[str, int] = defaultdict(int)
    for sku, qty in lines:
        need[sku] += qty
    by_site: dict[str, dict[str, list[SellableLot]]] = defaultdict(lambda: defaultdict(list))
    for lt in stock:
        if lt.warehouse in sites:
            by_site[lt.warehouse][lt.sku].append(lt)
    pools = {wh: {sku: fefo(lts, today) for sku, lts in skus.items()} for wh, skus in by_site.items()}

    def units(wh: str, sku: str) -> int:
        return sum(lt.available for lt in pools.get(wh, {}).get(sku, []))

    short = {sku: q - sum(units(wh, sku) for wh in pools) for sku, q in need.items()}
    short = {k: v for k, v in short.items() if v > 0}
    if short:
        raise InsufficientStock(
            "not enough sellable stock in the network; nothing was reserved",
            shortages=[{"sku": k, "missing": v} for k, v in sorted(short.items())],
        )
    ranked = rank_sites((sites[wh] for wh in pools), ship_to)
    rank_pos = {r.site.code: i for i, r in enumerate(ranked)}
    explanation = [
        f"ship to {ship_to.country}"
        + (
            f" at {ship_to.lat:.3f},{ship_to.lon:.3f}"
            if ship_to.lat is not None and ship_to.lon is not None
            else ""
        ),
        "candidates in rule order (in-country, same market, nearest, cheapest): "
        + "; ".join(r.why() for r in ranked),
    ]
    whole = [r for r in ranked if all(units(r.site.code, sku) >= q for sku, q in need.items())]
    picks: list[Pick] = []
    remaining = dict(need)
    line_queue = _line_queue(lines)
    if whole:
        chosen = whole[0]
        explanation.append(f"{chosen.site.code} can fill the whole order: no split")
        _take(chosen.site.code, remaining, pools, line_queue, picks)
    else:
        explanation.append("no single warehouse can fill the whole order: split")
        while any(v > 0 for v in remaining.values()):
            best = max(
                pools,
                key=lambda wh: (
                    sum(min(units(wh, s), q) for s, q in remaining.items() if q > 0),
                    -rank_pos[wh],
                ),
            )
            got = _take(best, remaining, pools, line_queue, picks)
            explanation.append(f"{best} fills {got} unit(s)")
    return AllocationPlan(picks, explanation)


def _line_queue(lines: Sequence[tuple[str, int]]) -> dict[str, list[list[int]]]:
    q: dict[str, list[list[int]]] = defaultdict(list)
    for i, (sku, qty) in enumerate(lines, start=1):
        q[sku].append([i, qty])
    return q


def _take(
    wh: str,
    remaining: dict[str, int],
    pools: dict[str, dict[str, list[SellableLot]]],
    line_queue: dict[str, list[list[int]]],
    picks: list[Pick],
) -> int:
    taken = 0
    for sku in sorted(remaining):
        lots = pools.get(wh, {}).get(sku, [])
        for idx, lt in enumerate(lots):
            if remaining[sku] <= 0:
                break
            q = min(lt.available, remaining[sku])
            if q <= 0:
                continue
            lots[idx] = SellableLot(lt.warehouse, lt.sku, lt.lot, lt.available - q, lt.expires_on)
            remaining[sku] -= q
            taken += q
            # spread the quantity over the order's lines for this SKU, first line first
            left = q
            for entry in line_queue[sku]:
                if left == 0:
                    break
                part = min(entry[1], left)
                if part > 0:
                    picks.append(Pick(wh, sku, lt.lot, part, entry[0]))
                    entry[1] -= part
                    left -= part
    return taken


# --- returns ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnSplit:
    expected: dict[str, int]
    unexpected: dict[str, int]


def split_return_receipt(
    authorised: Mapping[str, int], already_received: Mapping[str, int], counted: Mapping[str, int]
) -> ReturnSplit:
    """What arrived against an RMA: up to the authorised quantity is expected, the rest is unexpected."""
    expected: dict[str, int] = {}
    unexpected: dict[str, int] = {}
    for sku, qty in counted.items():
        room = max(0, authorised.get(sku, 0) - already_received.get(sku, 0))
        exp = min(room, qty)
        if exp:
            expected[sku] = exp
        if qty - exp:
            unexpected[sku] = qty - exp
    return ReturnSplit(expected, unexpected)


def disposition_for(
    grade: Grade, expired: bool, policy: Mapping[Grade, Disposition] | None = None
) -> Disposition:
    """The seller's table decides; an expired lot is always disposed, never restocked."""
    if expired:
        return Disposition.DISPOSE
    table = {**DEFAULT_DISPOSITIONS, **(policy or {})}
    return table[grade]


DISPOSITION_TARGET: dict[Disposition, tuple[Zone | None, Virtual | None]] = {
    Disposition.RESTOCK: (Zone.PICK, None),
    Disposition.REFURBISH: (Zone.REFURBISH, None),
    Disposition.QUARANTINE: (Zone.QUARANTINE, None),
    Disposition.DISPOSE: (None, Virtual.SCRAP),
    Disposition.RETURN_TO_ORIGIN: (None, Virtual.ORIGIN),
}


def disposition_target(warehouse: str, disposition: Disposition) -> Location:
    zone, virtual = DISPOSITION_TARGET[disposition]
    if zone is not None:
        return Location.at(warehouse, zone)
    assert virtual is not None
    return Location.virtual(virtual)


def refund_amount(received: Mapping[str, int], unit_prices: Mapping[str, Decimal]) -> Decimal:
    """At most what was received (of what was authorised), at the price paid."""
    total = sum((unit_prices.get(sku, Decimal("0")) * qty for sku, qty in received.items()), Decimal("0"))
    return total.quantize(Decimal("0.01"))


# --- the in-memory stock book (reference model for property tests) ---------------------------------


@dataclass
class Balance:
    on_hand: int = 0
    reserved: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class Stockbook:
    """Balances and ledger in memory, with the same rules the database enforces."""

    def __init__(self) -> None:
        self.balances: dict[StockKey, Balance] = defaultdict(Balance)
        self.ledger: list[StockMove] = []

    def apply(self, mv: StockMove) -> None:
        deltas = mv.real_deltas()
        for key, d in deltas:
            b = self.balances[key]
            if b.on_hand + d < b.reserved:
                raise InsufficientStock(
                    f"not enough unreserved stock of {key.sku} at {key.warehouse}/{key.zone}"
                )
        for key, d in deltas:
            self.balances[key].on_hand += d
        self.ledger.append(mv)

    def reserve(self, key: StockKey, qty: int) -> None:
        b = self.balances[key]
        if b.available < qty:
            raise InsufficientStock("not enough available stock")
        b.reserved += qty

    def release(self, key: StockKey, qty: int) -> None:
        b = self.balances[key]
        if b.reserved < qty:
            raise ValueError("releasing more than reserved")
        b.reserved -= qty

    def consume(self, key: StockKey, qty: int, mv: StockMove) -> None:
        """Ship reserved units: the reservation and the on-hand go down together."""
        self.release(key, qty)
        self.apply(mv)

    def ledger_totals(self) -> dict[StockKey, int]:
        totals: dict[StockKey, int] = defaultdict(int)
        for mv in self.ledger:
            for key, d in mv.real_deltas():
                totals[key] += d
        return {k: v for k, v in totals.items() if v}

    def sellable(
        self, seller_id: str, expiry: Mapping[tuple[str, str, str], date | None]
    ) -> list[SellableLot]:
        """One seller's unreserved pick stock, as allocation sees it."""
        return [
            SellableLot(k.warehouse, k.sku, k.lot, b.available, expiry.get((k.seller_id, k.sku, k.lot)))
            for k, b in self.balances.items()
            if k.seller_id == seller_id and k.zone == Zone.PICK and b.available > 0
        ]
