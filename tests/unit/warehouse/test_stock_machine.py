"""A hypothesis state machine over the pure domain: random receive / reserve / pick / release / ship (whole or
what was picked) / transfer / return / adjust steps against the in-memory `Stockbook`, with every invariant
checked after each step."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kernel.errors import Conflict, InvalidInput
from warehouse.domain import (
    Disposition,
    Grade,
    InsufficientStock,
    Location,
    MoveKind,
    OrderStatus,
    ReservationStatus,
    ShipTo,
    Site,
    Stockbook,
    StockKey,
    Virtual,
    Zone,
    disposition_for,
    disposition_target,
    is_expired,
    move,
    plan_allocation,
    refund_amount,
    split_return_receipt,
)
from warehouse.picking import Held, PickRequest, plan_picks, status_after

TODAY = date(2027, 3, 1)
SELLERS = ["s1", "s2"]
SKUS = ["tea", "lamp"]
LOTS = {"": None, "OLD": date(2027, 2, 1), "NEW": date(2027, 12, 1)}
SITES = {
    "DEDUI": Site("DEDUI", "DE", 51.43, 6.76),
    "PLLOD": Site("PLLOD", "PL", 51.76, 19.46, Decimal("1")),
    "SGSIN": Site("SGSIN", "SG", 1.29, 103.85),
}
PRICE = Decimal("12.50")


@dataclass
class Alloc:
    """Units of one order line in one state (a reservation row)."""

    key: StockKey
    qty: int
    line_no: int
    state: ReservationStatus = ReservationStatus.ACTIVE


@dataclass
class Order:
    seller: str
    lines: list[tuple[str, int]]
    picks: list[Alloc]
    state: str = "ALLOCATED"

    def held(self) -> list[Alloc]:
        return [a for a in self.picks if a.state in (ReservationStatus.ACTIVE, ReservationStatus.PICKED)]

    def settle(self) -> None:
        self.state = status_after((a.state, a.qty) for a in self.picks).value


OPEN = {OrderStatus.ALLOCATED.value, OrderStatus.PICKING.value, OrderStatus.PARTLY_SHIPPED.value}


@dataclass
class Rma:
    seller: str
    warehouse: str
    authorised: dict[str, int]
    lots: dict[str, str]
    received: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unexpected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    dispositioned: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refunded: Decimal | None = None


@dataclass
class Transfer:
    seller: str
    dst: str
    sku: str
    lot: str
    shipped: int
    received: int = 0
    lost: int = 0
    done: bool = False


class StockMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.book = Stockbook()
        self.orders: list[Order] = []
        self.transfers: list[Transfer] = []
        self.rmas: list[Rma] = []
        self.expiry = {(s, k, lot): e for s in SELLERS for k in SKUS for lot, e in LOTS.items()}

    # --- steps ---
    @rule(
        seller=st.sampled_from(SELLERS),
        wh=st.sampled_from(list(SITES)),
        sku=st.sampled_from(SKUS),
        lot=st.sampled_from(list(LOTS)),
        qty=st.integers(1, 20),
    )
    def receive(self, seller: str, wh: str, sku: str, lot: str, qty: int) -> None:
        self.book.apply(
            move(
                seller,
                MoveKind.RECEIPT,
                "asn",
                [(Location.virtual(Virtual.SUPPLIER), Location.at(wh, Zone.PICK), sku, lot, qty)],
            )
        )

    @rule(
        seller=st.sampled_from(SELLERS),
        country=st.sampled_from(["DE", "PL", "FR", "SG", "US"]),
        lines=st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 15)), min_size=1, max_size=3),
    )
    def reserve(self, seller: str, country: str, lines: list[tuple[str, int]]) -> None:
        stock = self.book.sellable(seller, self.expiry)
        before = {k: (b.on_hand, b.reserved) for k, b in self.book.balances.items()}
        try:
            plan = plan_allocation(lines, ShipTo(country), SITES, stock, TODAY)
        except InsufficientStock:
            assert {k: (b.on_hand, b.reserved) for k, b in self.book.balances.items()} == before
            return
        picks = []
        for p in plan.picks:
            assert not is_expired(self.expiry[(seller, p.sku, p.lot)], TODAY), "allocated an expired lot"
            key = StockKey(seller, p.warehouse, Zone.PICK.value, p.sku, p.lot)
            self.book.reserve(key, p.qty)
            picks.append(Alloc(key, p.qty, p.line_no))
        self.orders.append(Order(seller, lines, picks))

    @precondition(lambda self: any(o.state in OPEN for o in self.orders))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        """Cancel: whatever is reserved or picked goes back; what shipped stays shipped."""
        o = data.draw(st.sampled_from([o for o in self.orders if o.state in OPEN]))
        for a in o.held():
            self.book.release(a.key, a.qty)
            a.state = ReservationStatus.RELEASED
        o.settle()
        assert o.state in ("CANCELLED", "SHIPPED")

    @precondition(lambda self: any(o.state in OPEN and o.held() for o in self.orders))
    @rule(data=st.data())
    def pick(self, data: st.DataObject) -> None:
        o = data.draw(st.sampled_from([o for o in self.orders if o.state in OPEN and o.held()]))
        sku = data.draw(st.sampled_from(sorted({a.key.sku for a in o.held()})))
        unpicked = sum(a.qty for a in o.picks if a.state is ReservationStatus.ACTIVE and a.key.sku == sku)
        qty = data.draw(st.integers(1, unpicked + 1))
        held = [
            Held(i, a.line_no, a.key.warehouse, a.key.sku, a.key.lot, a.qty, a.state, LOTS[a.key.lot])
            for i, a in enumerate(o.picks)
            if a.state in (ReservationStatus.ACTIVE, ReservationStatus.PICKED)
        ]
        before = [(a.qty, a.state) for a in o.picks]
        try:
            plan = plan_picks(held, [PickRequest(sku, qty)], TODAY)
        except InvalidInput:
            assert qty > unpicked and [(a.qty, a.state) for a in o.picks] == before
            return
        assert qty <= unpicked and sum(q for _, q in plan) == qty
        for h, q in plan:
            a = o.picks[h.id]
            assert a.state is ReservationStatus.ACTIVE and q <= a.qty
            if q == a.qty:
                a.state = ReservationStatus.PICKED
            else:
                a.qty -= q
                o.picks.append(Alloc(a.key, q, a.line_no, ReservationStatus.PICKED))
        o.settle()

    def _ship(self, o: Order, allocs: list[Alloc]) -> None:
        for a in allocs:
            self.book.consume(
                a.key,
                a.qty,
                move(
                    o.seller,
                    MoveKind.ORDER_SHIPPED,
                    "ord",
                    [
                        (
                            Location.at(a.key.warehouse, Zone.PICK),
                            Location.virtual(Virtual.CUSTOMER),
                            a.key.sku,
                            a.key.lot,
                            a.qty,
                        )
                    ],
                ),
            )
            a.state = ReservationStatus.SHIPPED
        o.settle()

    @precondition(lambda self: any(o.state == "ALLOCATED" and o.held() for o in self.orders))
    @rule(data=st.data())
    def ship(self, data: st.DataObject) -> None:
        """An order nobody picked ships whole."""
        o = data.draw(st.sampled_from([o for o in self.orders if o.state == "ALLOCATED" and o.held()]))
        self._ship(o, o.held())
        assert o.state == "SHIPPED"

    @precondition(
        lambda self: any(
            any(a.state is ReservationStatus.PICKED for a in o.picks) for o in self.orders if o.state in OPEN
        )
    )
    @rule(data=st.data())
    def ship_picked(self, data: st.DataObject) -> None:
        """Once picks are recorded, a shipment takes exactly the picked units (partial if some are not)."""
        o = data.draw(
            st.sampled_from(
                [
                    o
                    for o in self.orders
                    if o.state in OPEN and any(a.state is ReservationStatus.PICKED for a in o.picks)
                ]
            )
        )
        self._ship(o, [a for a in o.picks if a.state is ReservationStatus.PICKED])
        still = any(a.state is ReservationStatus.ACTIVE for a in o.picks)
        assert o.state == ("PARTLY_SHIPPED" if still else "SHIPPED")

    @rule(
        seller=st.sampled_from(SELLERS),
        src=st.sampled_from(list(SITES)),
        dst=st.sampled_from(list(SITES)),
        sku=st.sampled_from(SKUS),
        lot=st.sampled_from(list(LOTS)),
        qty=st.integers(1, 10),
    )
    def transfer(self, seller: str, src: str, dst: str, sku: str, lot: str, qty: int) -> None:
        if src == dst:
            return
        key = StockKey(seller, src, Zone.PICK.value, sku, lot)
        available = self.book.balances[key].available if key in self.book.balances else 0
        mv = move(
            seller,
            MoveKind.TRANSFER_SHIPPED,
            "trf",
            [(Location.at(src, Zone.PICK), Location.at(dst, Zone.TRANSIT), sku, lot, qty)],
        )
        if qty > available:
            try:
                self.book.apply(mv)
            except Conflict:
                return
            raise AssertionError("moved more than the unreserved stock")
        self.book.apply(mv)
        self.transfers.append(Transfer(seller, dst, sku, lot, qty))

    @precondition(lambda self: any(not t.done for t in self.transfers))
    @rule(data=st.data())
    def receive_transfer(self, data: st.DataObject) -> None:
        tr = data.draw(st.sampled_from([t for t in self.transfers if not t.done]))
        got = data.draw(st.integers(0, tr.shipped))
        parts = []
        if got:
            parts.append(
                (Location.at(tr.dst, Zone.TRANSIT), Location.at(tr.dst, Zone.PICK), tr.sku, tr.lot, got)
            )
        if tr.shipped - got:
            parts.append(
                (
                    Location.at(tr.dst, Zone.TRANSIT),
                    Location.virtual(Virtual.LOST),
                    tr.sku,
                    tr.lot,
                    tr.shipped - got,
                )
            )
        self.book.apply(move(tr.seller, MoveKind.TRANSFER_RECEIVED, "trf", parts))
        tr.received, tr.lost, tr.done = got, tr.shipped - got, True

    @precondition(lambda self: any(o.state == "SHIPPED" for o in self.orders))
    @rule(data=st.data(), wh=st.sampled_from(list(SITES)))
    def authorise_and_receive_return(self, data: st.DataObject, wh: str) -> None:
        o = data.draw(st.sampled_from([o for o in self.orders if o.state == "SHIPPED"]))
        shipped: dict[str, int] = defaultdict(int)
        lots: dict[str, str] = {}
        for a in o.picks:
            if a.state is ReservationStatus.SHIPPED:
                shipped[a.key.sku] += a.qty
                lots.setdefault(a.key.sku, a.key.lot)
        authorised = {sku: data.draw(st.integers(0, q)) for sku, q in shipped.items()}
        authorised = {k: v for k, v in authorised.items() if v}
        if not authorised:
            return
        rma = Rma(o.seller, wh, authorised, lots)
        counted = {sku: data.draw(st.integers(0, q + 2)) for sku, q in authorised.items()}
        split = split_return_receipt(rma.authorised, rma.received, counted)
        parts = []
        for sku, q in split.expected.items():
            parts.append(
                (Location.virtual(Virtual.CUSTOMER), Location.at(wh, Zone.RETURNS), sku, lots[sku], q)
            )
            rma.received[sku] += q
        for sku, q in split.unexpected.items():
            parts.append(
                (Location.virtual(Virtual.CUSTOMER), Location.at(wh, Zone.QUARANTINE), sku, lots[sku], q)
            )
            rma.unexpected[sku] += q
        if parts:
            self.book.apply(move(o.seller, MoveKind.RETURN_RECEIVED, "rma", parts))
        o.state = "RETURNED"  # one RMA per order in this model
        self.rmas.append(rma)

    @precondition(
        lambda self: any(sum(r.received.values()) > sum(r.dispositioned.values()) for r in self.rmas)
    )
    @rule(data=st.data(), grade=st.sampled_from(list(Grade)))
    def inspect(self, data: st.DataObject, grade: Grade) -> None:
        rma = data.draw(
            st.sampled_from(
                [r for r in self.rmas if sum(r.received.values()) > sum(r.dispositioned.values())]
            )
        )
        sku = data.draw(st.sampled_from([s for s in rma.received if rma.received[s] > rma.dispositioned[s]]))
        qty = data.draw(st.integers(1, rma.received[sku] - rma.dispositioned[sku]))
        lot = rma.lots[sku]
        disp = disposition_for(grade, is_expired(self.expiry[(rma.seller, sku, lot)], TODAY))
        if is_expired(self.expiry[(rma.seller, sku, lot)], TODAY):
            assert disp is Disposition.DISPOSE
        self.book.apply(
            move(
                rma.seller,
                MoveKind.DISPOSITION,
                "rma",
                [
                    (
                        Location.at(rma.warehouse, Zone.RETURNS),
                        disposition_target(rma.warehouse, disp),
                        sku,
                        lot,
                        qty,
                    )
                ],
            )
        )
        rma.dispositioned[sku] += qty

    @precondition(lambda self: any(r.refunded is None and r.received for r in self.rmas))
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        rma = data.draw(st.sampled_from([r for r in self.rmas if r.refunded is None and r.received]))
        rma.refunded = refund_amount(rma.received, {s: PRICE for s in SKUS})

    @rule(
        seller=st.sampled_from(SELLERS),
        wh=st.sampled_from(list(SITES)),
        sku=st.sampled_from(SKUS),
        lot=st.sampled_from(list(LOTS)),
        counted=st.integers(0, 30),
    )
    def adjust(self, seller: str, wh: str, sku: str, lot: str, counted: int) -> None:
        key = StockKey(seller, wh, Zone.PICK.value, sku, lot)
        b = self.book.balances[key]
        diff = counted - b.on_hand
        if diff == 0:
            return
        adj, pick = Location.virtual(Virtual.ADJUSTMENT), Location.at(wh, Zone.PICK)
        mv = move(
            seller,
            MoveKind.CYCLE_COUNT,
            "count",
            [(adj, pick, sku, lot, diff)] if diff > 0 else [(pick, adj, sku, lot, -diff)],
        )
        if counted < b.reserved:
            try:
                self.book.apply(mv)
            except Conflict:
                return
            raise AssertionError("counted below the reserved quantity")
        self.book.apply(mv)

    # --- invariants ---
    @invariant()
    def ledger_equals_balance(self) -> None:
        totals = self.book.ledger_totals()
        for key, b in self.book.balances.items():
            assert totals.get(key, 0) == b.on_hand, key
        for key, q in totals.items():
            assert self.book.balances[key].on_hand == q

    @invariant()
    def movements_sum_to_zero_within_one_seller(self) -> None:
        for mv in self.book.ledger:
            sums: dict[tuple[str, str], int] = defaultdict(int)
            for ln in mv.lines:
                sums[(ln.sku, ln.lot)] += ln.qty
            assert all(v == 0 for v in sums.values())
            assert all(k.seller_id == mv.seller_id for k, _ in mv.real_deltas())

    @invariant()
    def never_negative_and_reservations_within_sellable(self) -> None:
        active: dict[StockKey, int] = defaultdict(int)
        for o in self.orders:
            for a in o.held():  # reserved and picked units both still hold their shelf stock
                active[a.key] += a.qty
        for key, b in self.book.balances.items():
            assert b.on_hand >= 0 and b.reserved >= 0
            assert b.reserved <= b.on_hand
            assert active.get(key, 0) == b.reserved
            if b.reserved:
                assert key.zone == Zone.PICK

    @invariant()
    def order_lines_fully_accounted(self) -> None:
        for o in self.orders:
            per_line: dict[int, int] = defaultdict(int)
            for a in o.picks:
                assert a.qty > 0
                per_line[a.line_no] += a.qty
                assert a.key.seller_id == o.seller
            for i, (_sku, qty) in enumerate(o.lines, start=1):
                assert per_line[i] == qty  # reserved + picked + shipped + released = ordered
            if o.state != "RETURNED":
                assert o.state == status_after((a.state, a.qty) for a in o.picks).value

    @invariant()
    def in_transit_is_shipped_minus_received_minus_lost(self) -> None:
        expect: dict[StockKey, int] = defaultdict(int)
        for tr in self.transfers:
            expect[StockKey(tr.seller, tr.dst, Zone.TRANSIT.value, tr.sku, tr.lot)] += (
                tr.shipped - tr.received - tr.lost
            )
        for key, b in self.book.balances.items():
            if key.zone == Zone.TRANSIT:
                assert b.on_hand == expect.get(key, 0)

    @invariant()
    def returns_within_bounds(self) -> None:
        for r in self.rmas:
            for sku in set(r.received) | set(r.dispositioned):
                assert r.dispositioned[sku] <= r.received[sku] <= r.authorised.get(sku, 0)
            if r.refunded is not None:
                assert r.refunded <= refund_amount(r.received, {s: PRICE for s in SKUS})


StockMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
TestStockMachine = StockMachine.TestCase
