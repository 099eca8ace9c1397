"""A simple construction heuristic: the yardstick the OR-Tools solver is measured against in `bench/`."""

from __future__ import annotations

from routing.vrp.solomon import Instance
from routing.vrp.solver import TOLERANCE


def nearest_neighbour(instance: Instance) -> list[list[int]]:
    """Routes built one at a time: from where the vehicle is, go to the nearest unvisited customer it can
    still reach in its window, carry and come back from in time; when none fits, return and start a new
    route. Routes beyond the fleet size are still returned, and then `check` reports them."""
    unvisited = set(range(1, len(instance.customers) + 1))
    depot = instance.depot
    routes: list[list[int]] = []
    while unvisited:
        route: list[int] = []
        here, clock, load = 0, depot.ready, 0
        while True:
            best: tuple[float, int] | None = None
            for c in unvisited:
                site = instance.sites[c]
                if load + site.demand > instance.capacity:
                    continue
                d = instance.distance(here, c)
                arrival = clock + d
                if arrival > site.due + TOLERANCE:
                    continue
                done = max(arrival, site.ready) + site.service
                if done + instance.distance(c, 0) > depot.due + TOLERANCE:
                    continue
                if best is None or (d, c) < best:
                    best = (d, c)
            if best is None:
                break
            c = best[1]
            site = instance.sites[c]
            clock = max(clock + best[0], site.ready) + site.service
            here, load = c, load + site.demand
            route.append(c)
            unvisited.discard(c)
        if not route:
            # A customer no vehicle can serve even alone: give it its own route and let `check` say why.
            c = min(unvisited)
            route.append(c)
            unvisited.discard(c)
        routes.append(route)
    return routes
