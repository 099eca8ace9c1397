"""What the planner refuses, and why.

RoutingError (.detail)
 ├── UnknownPlace         no node matches a name, UN/LOCODE or coordinate
 ├── AmbiguousPlace       several nodes match (.candidates)
 ├── InvalidCargo         weight, volume, equipment or temperature the planner cannot carry
 ├── InvalidRequest       dates, options or customs mode out of range
 ├── NoRoute              nothing feasible (.suggestion: the nearest thing that would work)
 ├── UnknownDeparture     a departure id not in the timetable
 └── NetworkInvalid       network data that fails validation (.problems)

`routing` cannot import the kernel; the composition root maps every RoutingError to a 422 problem.
"""

from __future__ import annotations


class RoutingError(Exception):
    """Base of the planner's errors; `detail` is a sentence meant for the user."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class UnknownPlace(RoutingError):
    pass


class AmbiguousPlace(RoutingError):
    def __init__(self, detail: str, candidates: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        self.candidates = candidates


class InvalidCargo(RoutingError):
    pass


class InvalidRequest(RoutingError):
    pass


class UnknownDeparture(RoutingError):
    pass


class NoRoute(RoutingError):
    def __init__(self, detail: str, suggestion: str | None = None) -> None:
        super().__init__(detail)
        self.suggestion = suggestion


class NetworkInvalid(RoutingError):
    def __init__(self, problems: list[str]) -> None:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        super().__init__(f"the network data has {len(problems)} problem(s): {shown}")
        self.problems = problems
