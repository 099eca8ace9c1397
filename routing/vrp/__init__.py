"""Vehicle routing with time windows (PyVRP): Solomon and VRPLIB instances, and warehouse delivery runs."""

from routing.vrp.delivery import (
    DeliveryPlan,
    Depot,
    InvalidDeliveryRun,
    Stop,
    Unserved,
    Van,
    VanRun,
    Visit,
    check_plan,
    plan_delivery_run,
)
from routing.vrp.distances import CachedMatrix, GeodesicMatrix, Matrix, TravelMatrix
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
from routing.vrp.vrplib_format import VrplibFormatError, load_vrplib, parse_vrplib

__all__ = [
    "CachedMatrix",
    "DeliveryPlan",
    "Depot",
    "GeodesicMatrix",
    "InvalidDeliveryRun",
    "Matrix",
    "Stop",
    "TravelMatrix",
    "Unserved",
    "Van",
    "VanRun",
    "Visit",
    "check_plan",
    "plan_delivery_run",
    "OBJECTIVES",
    "BestKnown",
    "Customer",
    "Instance",
    "Objective",
    "Solution",
    "SolomonFormatError",
    "VrplibFormatError",
    "best_known",
    "bundled",
    "check",
    "load",
    "load_vrplib",
    "parse",
    "parse_vrplib",
    "route_distance",
    "solve",
]
