"""A simple construction heuristic: the yardstick the OR-Tools solver is measured against in `bench/`."""

from __future__ import annotations

from routing.vrp.solomon import Instance
from routing.vrp.solver import TOLERANCE

# Solomon's (1987) time-oriented nearest neighbour weighs distance, waiting and urgency; these are the
# weights he reports as a good default (they sum to 1).
DISTANCE_WEIGHT, WAIT_WEIGHT, URGENCY_WEIGHT = 0.4, 0.4, 0.2


def nearest_neighbour(instance: Instance) -> list[list[int]]:
    """Solomon's time-oriented nearest neighbour: from where the vehicle is, go to the "closest" unvisited
    customer it can still reach in its window, carry, and come back from in time, where closeness is
    0.4 x distance + 0.4 x time until service can start + 0.2 x how long the window stays open after arrival.
    When none fits, return and start a new route. Routes beyond the fleet size are still returned, and then
    `check` reports them."""
    unvisited = set(range(1, len(instance.customers) + 1))
    depot = instance.depot
    routes: list[list[int]] = []
    while unvisited:
        route: list[int] = []
        here, clock, load = 0, depot.ready, 0
        while True:
            best: tuple[float, int, float] | None = None
            for c in unvisited:
                site = instance.sites[c]
                if load + site.demand > instance.capacity:
                    continue
                arrival = clock + instance.distance(here, c)
                if arrival > site.due + TOLERANCE:
                    continue
                start = max(arrival, site.ready)
                if start + site.service + instance.distance(c, 0) > depot.due + TOLERANCE:
                    continue
                closeness = (
                    DISTANCE_WEIGHT * instance.distance(here, c)
                    + WAIT_WEIGHT * (start - clock)
                    + URGENCY_WEIGHT * (site.due - arrival)
                )
                if best is None or (closeness, c) < best[:2]:
                    best = (closeness, c, start)
            if best is None:
                break
            _, c, start = best
            site = instance.sites[c]
            clock, here, load = start + site.service, c, load + site.demand
            route.append(c)
            unvisited.discard(c)
        if not route:
            # A customer no vehicle can serve even alone: give it its own route and let `check` say why.
            c = min(unvisited)
            route.append(c)
            unvisited.discard(c)
        routes.append(route)
    return routes
