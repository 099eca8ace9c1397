"""The multi-criteria label-setting search: Pareto labels at the target over (arrival, cost, CO2e).

The model it follows is stated in `routing.planner`'s docstring.
"""

from __future__ import annotations

import bisect
import gc
import heapq
import math
from collections.abc import Iterator
from contextlib import contextmanager

from routing.network_model import Service
from routing.options import TOLERANCE_CO2, TOLERANCE_COST, TOLERANCE_HOURS
from routing.quote_request import carries
from routing.search_graph import Edge, Problem, edge_of, graph_for, lower_bounds
from routing.tariff import ChargeRow, charge_row, charges_for
from routing.timetable import Departure

# Labels an exact search may create before it starts pruning within the tolerance. Quotes on the reference
# network stay far below it (a few hundred labels); large generated networks can need 10^4-10^5.
LABEL_BUDGET = 1000
BAG_CAP = 3  # labels per node once past the budget

_AT_TARGET = (0, 0, 0.0)  # the bounds of the target itself


class Label:
    """A way to reach `node`: ready again at `ready`, having paid `cost` (cents) and emitted `co2` (kg)."""

    __slots__ = (
        "node",
        "ready",
        "arrival",
        "cost",
        "co2",
        "parent",
        "service",
        "departure",
        "dep_s",
        "charge",
        "alive",
    )

    def __init__(
        self,
        node: str,
        ready: int,
        arrival: int,
        cost: int,  # US cents: integer comparisons are much faster than Decimal ones
        co2: float,
        parent: Label | None,
        service: Service | None,
        departure: Departure | None,
        dep_s: int,
        charge: ChargeRow | None,
    ) -> None:
        self.node, self.ready, self.arrival, self.cost, self.co2 = node, ready, arrival, cost, co2
        self.parent, self.service, self.departure, self.dep_s, self.charge = (
            parent,
            service,
            departure,
            dep_s,
            charge,
        )
        self.alive = True


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while a search runs.

    A search allocates thousands of labels that refer only to their parents (no cycles: reference counting
    frees them all when it ends), but the allocations alone would trigger full collections, and a full
    collection walks every long-lived object of the process, the timetable's 10^5 departures included:
    hundreds of milliseconds that land on whichever quote triggered it. Nothing is lost by waiting: the
    collector runs again as soon as the search is over. Left alone if something else turned it off.
    """
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def search(pb: Problem) -> list[Label]:
    """Pareto labels at the target (arrival, cost, co2e); see `_search_labels`."""
    with _cyclic_gc_paused():
        return _search_labels(pb)


def _search_labels(pb: Problem) -> list[Label]:
    """Pareto labels at the target (arrival, cost, co2e), non-dominated, in a deterministic order.

    Labels leave the heap in the order of a lower bound on their arrival at the target (ready time plus the
    least time still needed from their node, an A*-style key): the bound is consistent (no leg lowers it),
    so the labels of one node still leave in the order of their ready times, and the first arrivals at the
    target, which prune everything they dominate, are found early.
    """
    net, tt, cargo = pb.network, pb.timetable, pb.cargo
    graph = graph_for(net, tt, cargo)
    extra_out: dict[str, list[Edge]] = {}
    extra_services: list[Service] = []
    for node, services in pb.extra_from.items():
        for svc in services:
            if carries(svc, cargo) is None:
                extra_out.setdefault(node, []).append(edge_of(net, svc, None))
                extra_services.append(svc)
    bounds = lower_bounds(pb, graph, extra_services)
    deliver_by = pb.deliver_by_s
    target = pb.target
    b0 = bounds.get(pb.source)
    if b0 is None or (deliver_by is not None and pb.ready_s + b0[0] > deliver_by):
        return []

    bags: dict[str, list[Label]] = {}
    results: list[Label] = []  # the Pareto bag at the target
    targets: list[Label] = []  # the same labels, reordered for fast pruning checks
    seq = 0
    start = Label(pb.source, pb.ready_s, pb.ready_s, 0, 0.0, None, None, None, 0, None)
    bags[pb.source] = [start]
    heap: list[tuple[int, int, Label]] = [(pb.ready_s + b0[0], seq, start)]

    relaxed = False
    level = 0
    next_level = pb.label_budget if pb.label_budget is not None else 0
    tol_s = round(TOLERANCE_HOURS * 3600)
    tol_cost = 1 + float(TOLERANCE_COST[0])
    tol_co2 = 1 + TOLERANCE_CO2[0]

    def dominated_by_result(b: tuple[int, int, float], ready: int, cost: int, co2: float) -> bool:
        """No extension of this label can reach the target undominated (b: its node's lower bounds)."""
        t, e = ready + b[0], co2 + b[2]
        c: float = cost + b[1]
        if relaxed:
            t, c, e = t + tol_s, c * tol_cost, e * tol_co2
        for i, r in enumerate(targets):
            if r.arrival <= t and r.cost <= c and r.co2 <= e:
                if i:
                    targets[0], targets[i] = r, targets[0]
                return True
        return False

    def admit(bag: list[Label], t: int, c: int, e: float, at_target: bool) -> bool:
        """Whether a label (t = arrival at the target, else ready time) enters the Pareto bag; if it does,
        the members it dominates leave (marked dead) and the caller appends it."""
        dominated: list[int] = []
        for i, m in enumerate(bag):
            mt = m.arrival if at_target else m.ready
            if mt <= t:
                if m.cost <= c and m.co2 <= e:
                    if i:  # move to front: a label that dominates once tends to dominate the next ones too
                        bag[0], bag[i] = m, bag[0]
                    return False
                if t == mt and c <= m.cost and e <= m.co2:
                    dominated.append(i)
            elif c <= m.cost and e <= m.co2:
                dominated.append(i)
        if relaxed and not at_target:
            # past the label budget: a label another one nearly dominates (within the tolerance) is dropped,
            # and a node keeps at most BAG_CAP labels unless the new one dominates one of them or is the
            # node's new fastest, cheapest or greenest (then members left without such a role make room):
            # keeping each node's extremes keeps the cheap but slow ways that a time-ordered search finds last
            tt, tc, te = t + tol_s, c * tol_cost, e * tol_co2
            for m in bag:
                if m.ready <= tt and m.cost <= tc and m.co2 <= te:
                    return False
            if not dominated and len(bag) >= BAG_CAP:
                bt, bc, be = min(m.ready for m in bag), min(m.cost for m in bag), min(m.co2 for m in bag)
                if t >= bt and c >= bc and e >= be:
                    return False
                nt, nc, ne = min(t, bt), min(c, bc), min(e, be)
                dominated = [i for i, m in enumerate(bag) if m.ready != nt and m.cost != nc and m.co2 != ne]
        for i in reversed(dominated):
            bag[i].alive = False
            del bag[i]
        return True

    charges = charges_for(net, cargo)
    charge_table = charges.table
    cargo_teu, cargo_kg = cargo.teu(), cargo.weight_kg
    teu_get = pb.capacity_left.get if pb.capacity_left is not None else None
    kg_get = pb.kg_left.get if pb.kg_left is not None else None
    ignore_suspensions = pb.ignore_suspensions
    no_limit = math.inf if deliver_by is None else deliver_by + 1  # arrivals must come before this
    bisect_left = bisect.bisect_left
    heappop, heappush = heapq.heappop, heapq.heappush
    out_edges = graph.out
    no_edges: list[Edge] = []

    while heap:
        _, _, lab = heappop(heap)
        if not lab.alive:
            continue
        if pb.label_budget is not None and seq > next_level:
            # Past the budget, and again each time it is spent once more: prune within a tolerance that
            # doubles each time (2 % / 6 h, then 4 % / 12 h, ... capped at 16 % / 48 h).
            level = min(level + 1, 4)
            next_level = seq + pb.label_budget
            relaxed = pb.relaxed = True
            widen = 2 ** (level - 1)
            tol_s = round(TOLERANCE_HOURS * 3600 * widen)
            tol_cost = 1 + float(TOLERANCE_COST[0]) * widen
            tol_co2 = 1 + TOLERANCE_CO2[0] * widen
        here = lab.node
        if targets and dominated_by_result(bounds[here], lab.ready, lab.cost, lab.co2):
            lab.alive = False
            continue
        transfer = lab.parent is not None and not here.startswith("@")
        ready0 = lab.ready
        edges = out_edges.get(here, no_edges)
        if here in extra_out:
            edges = [*edges, *extra_out[here]]
        for svc, run, least, node, hin, is_air in edges:
            earliest = ready0 + least  # no departure of this service arrives earlier
            if earliest >= no_limit:
                continue
            at_target = node == target
            if at_target:
                b = _AT_TARGET
            else:
                found = bounds.get(node)
                if found is None or node.startswith("@"):
                    continue  # the target cannot be reached from there with this cargo
                b = found
            charge = charge_table.get((svc.id, transfer))
            if charge is None:
                charge = charge_row(charges, svc, transfer)
            cost = lab.cost + charge[4]
            co2 = lab.co2 + charge[1]
            if not at_target and targets and dominated_by_result(b, earliest + hin, cost, co2):
                continue  # even the earliest arrival there would be dominated: no need to look at departures
            choices: list[tuple[int, int, Departure | None]] = []
            if run is None:
                choices.append((ready0, earliest, None))
            else:
                # Departures in cut-off order; one whose cut-off plus the least lead and transit cannot beat
                # the best arrival so far (or deliver_by) ends the scan: every later one arrives later still.
                limit = no_limit
                cutoffs, departures, arrivals = run.cutoffs, run.departures, run.arrivals
                for j in range(bisect_left(cutoffs, ready0), len(departures)):
                    if cutoffs[j] + least >= limit:
                        break
                    d = departures[j]
                    if d.status != "scheduled" and not ignore_suspensions:
                        continue
                    # room on the departure: what `fits` checks, inlined (it runs for every departure seen)
                    if cargo_teu > (teu_get(d.id, d.capacity_teu) if teu_get else d.capacity_teu) + 1e-9:
                        continue
                    if (is_air or kg_get) and cargo_kg > (
                        kg_get(d.id, d.capacity_kg) if kg_get else d.capacity_kg
                    ) + 1e-6:
                        continue
                    arr = arrivals[j]
                    if arr < limit:
                        limit = arr
                        choices.append((run.departs[j], arr, d))
                        if run.fifo:
                            break  # every later departure arrives no earlier
                if not choices:
                    continue
            if at_target:
                for dep_s, arr_s, dep in choices:
                    if admit(results, arr_s, cost, co2, True):
                        new = Label(node, arr_s, arr_s, cost, co2, lab, svc, dep, dep_s, charge)
                        results.append(new)
                        targets[:] = [r for r in targets if r.alive]
                        targets.append(new)
                continue
            for dep_s, arr_s, dep in choices:
                ready = arr_s + hin
                key = ready + b[0]
                if key >= no_limit or (targets and dominated_by_result(b, ready, cost, co2)):
                    continue
                bag = bags.get(node)
                if bag is None:
                    bag = bags[node] = []
                elif not admit(bag, ready, cost, co2, False):
                    continue
                new = Label(node, ready, arr_s, cost, co2, lab, svc, dep, dep_s, charge)
                bag.append(new)
                seq += 1
                heappush(heap, (key, seq, new))
    pb.labels_created = seq
    return sorted((r for r in results if r.alive), key=lambda r: (r.arrival, r.cost, r.co2))
