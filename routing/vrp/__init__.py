"""Vehicle routing with time windows: Solomon benchmark instances and warehouse delivery runs (OR-Tools)."""

from routing.vrp.delivery import (
    DeliveryPlan,
    Depot,
    InvalidDeliveryRun,
    Stop,
    Van,
    VanRun,
    Visit,
    plan_delivery_run,
)
from routing.vrp.solomon import (
    BestKnown,
    Customer,
    Instance,
    SolomonFormatError,
    best_known,
    bundled,
    load,
    parse,
)
from routing.vrp.solver import OBJECTIVES, Objective, Solution, check, route_distance, solve

__all__ = [
    "DeliveryPlan",
    "Depot",
    "InvalidDeliveryRun",
    "Stop",
    "Van",
    "VanRun",
    "Visit",
    "plan_delivery_run",
    "OBJECTIVES",
    "BestKnown",
    "Customer",
    "Instance",
    "Objective",
    "Solution",
    "SolomonFormatError",
    "best_known",
    "bundled",
    "check",
    "load",
    "parse",
    "route_distance",
    "solve",
]
