"""Loading the multimodal network: validated from data into the model of `routing.network_model`.

`load_network(data)` turns the JSON of `routing/data/network.json` (nodes, legs, meta.sources) plus an
optional `planning` section (defaults the data lacks, see `routing/data/planning.json`) and an
`emission_factors` section into a validated, immutable `Network`. Every derived figure is marked
`estimate`; published figures keep `published` and their sources. The model's names (`Network`, `Node`,
`Service`, ...) are importable from here too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from importlib import resources
from typing import Any

from routing.errors import NetworkInvalid
from routing.network_model import (
    ESTIMATE,
    MODES,
    NOT_SNAPPABLE,
    PUBLISHED,
    SPEED_KMH,
    Figure,
    Network,
    Node,
    Planning,
    Rate,
    Service,
    geodesic_km,
    norm_locode,
)

# The model's names, importable from here as before the model had its own module.
__all__ = [
    "ESTIMATE",
    "MODES",
    "NOT_SNAPPABLE",
    "PUBLISHED",
    "SPEED_KMH",
    "Figure",
    "Network",
    "Node",
    "Planning",
    "Rate",
    "Service",
    "default_emission_factors",
    "default_planning",
    "geodesic_km",
    "load_network",
    "load_reference_network",
]


def _read_package_json(name: str) -> dict[str, Any]:
    text = resources.files("routing").joinpath("data", name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def default_planning() -> dict[str, Any]:
    return _read_package_json("planning.json")


def default_emission_factors() -> dict[str, Any]:
    return _read_package_json("emission_factors.json")


def load_reference_network() -> Network:
    """The Yibin reference network shipped with the package, with planning defaults and emission factors."""
    data = _read_package_json("network.json")
    data["planning"] = default_planning()
    data["emission_factors"] = default_emission_factors()
    return load_network(data)


def load_network(data: Mapping[str, Any]) -> Network:
    """Validate and build a Network from network.json-shaped data; NetworkInvalid lists every problem."""
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise NetworkInvalid(["the network must be a JSON object with 'nodes' and 'legs'"])
    planning_raw = data.get("planning") or default_planning()
    factors_raw = data.get("emission_factors") or default_emission_factors()
    planning = _build_planning(planning_raw, factors_raw, problems)
    nodes = _build_nodes(data.get("nodes"), problems)
    sources = (data.get("meta") or {}).get("sources") or {}
    services: dict[str, Service] = {}
    legs = data.get("legs")
    if not isinstance(legs, list) or not legs:
        problems.append("'legs' must be a non-empty list")
        legs = []
    seen_legs: set[str] = set()
    overrides = planning_raw.get("legs") or {}
    for i, leg in enumerate(legs):
        where = f"leg #{i}" if not isinstance(leg, Mapping) or "id" not in leg else f"leg {leg['id']!r}"
        if not isinstance(leg, Mapping):
            problems.append(f"{where}: must be an object")
            continue
        leg_id = str(leg.get("id", ""))
        if not leg_id:
            problems.append(f"{where}: has no id")
            continue
        if leg_id in seen_legs:
            problems.append(f"{where}: duplicate leg id")
            continue
        seen_legs.add(leg_id)
        for svc in _build_services(
            leg, nodes, planning_raw, planning, overrides.get(leg_id) or {}, sources, problems
        ):
            if svc.id in services:
                problems.append(
                    f"{where}: service id {svc.id!r} collides with another leg's reverse direction"
                )
            services[svc.id] = svc
    for key in overrides:
        if key not in seen_legs and key != "reasoning":
            problems.append(f"planning.legs names {key!r}, which is not a leg of the network")
    if nodes and services:
        _check_reachability(nodes, services, problems)
        _check_borders(nodes, services, planning, problems)
    if problems:
        raise NetworkInvalid(problems)
    raw = {k: v for k, v in data.items()}
    raw["planning"] = planning_raw
    raw["emission_factors"] = factors_raw
    return Network(nodes, services, planning, sources, raw)


def _build_planning(p: Mapping[str, Any], factors: Mapping[str, Any], problems: list[str]) -> Planning:
    def numbers(name: str) -> dict[str, float]:
        section = p.get(name) or {}
        out: dict[str, float] = {}
        for k, v in section.items():
            if k == "reasoning":
                continue
            if not isinstance(v, int | float) or isinstance(v, bool) or v < 0:
                problems.append(f"planning.{name}.{k} must be a number >= 0, not {v!r}")
                continue
            out[str(k)] = float(v)
        return out

    def tables(name: str) -> dict[str, dict[str, float]]:
        section = p.get(name) or {}
        out: dict[str, dict[str, float]] = {}
        for k, v in section.items():
            if k == "reasoning":
                continue
            if not isinstance(v, Mapping):
                problems.append(f"planning.{name}.{k} must be an object")
                continue
            row: dict[str, float] = {}
            for kk, vv in v.items():
                if isinstance(vv, int | float) and not isinstance(vv, bool):
                    if vv < 0:
                        problems.append(f"planning.{name}.{k}.{kk} is negative ({vv})")
                    row[str(kk)] = float(vv)
            out[str(k)] = row
        return out

    emission: dict[str, float] = {}  # WTW, what the planner sums and labels on
    emission_ttw: dict[str, float] = {}
    emission_source: dict[str, str] = {}
    defaults = factors.get("recommended_planner_defaults") or []
    for cls, spec in (p.get("emission_classes") or {}).items():
        match = [
            f
            for f in defaults
            if f.get("mode") == spec.get("mode")
            and str(f.get("submode", "")).startswith(spec.get("submode_prefix", ""))
        ]
        if len(match) != 1:
            problems.append(
                f"planning.emission_classes.{cls}: {len(match)} emission factors match "
                f"mode {spec.get('mode')!r} submode {spec.get('submode_prefix')!r} (need exactly one)"
            )
            continue
        value = match[0].get("default_g_per_tkm")
        if not isinstance(value, int | float) or value <= 0 or value > 2000:
            problems.append(
                f"emission factor for {cls} is {value!r} g/tkm: expected 0 < g/tkm <= 2000 (units?)"
            )
            continue
        wtw_ttw = _scopes(cls, match[0], float(value), problems)
        if wtw_ttw is None:
            continue
        emission[cls], emission_ttw[cls] = wtw_ttw
        emission_source[cls] = (
            f"{match[0].get('submode')}: {value:g} g/tkm {match[0].get('scope', 'TTW')} "
            f"({match[0].get('basis', 'estimate')}; emission_factors.json)"
            + (
                f"; WTW/TTW {match[0]['wtw_per_ttw']:g}: {match[0].get('wtw_source', '')}"
                if match[0].get("wtw_per_ttw")
                else ""
            )
        )
    for mode in MODES:
        if mode not in (p.get("default_emission_class") or {}):
            problems.append(f"planning.default_emission_class has no class for mode {mode!r}")
    for eq in ("LCL", "20GP", "40GP", "40HC", "40RF", "AIR"):
        if eq not in (p.get("equipment") or {}):
            problems.append(f"planning.equipment has no entry for {eq}")
    return Planning(
        cutoff_hours=numbers("cutoff_hours"),
        handling_in_hours=numbers("handling_in_hours"),
        node_handling_in_hours=tables("node_handling_in_hours"),
        customs_hours=numbers("customs_hours"),
        rates=tables("rates"),
        equipment=tables("equipment"),
        surcharges=numbers("surcharges"),
        handling_cost=numbers("handling_cost"),
        hub_emissions_kg_per_tonne=numbers("hub_emissions_kg_per_tonne"),
        circuity=numbers("circuity"),
        emission_g_per_tkm=emission,
        emission_ttw_g_per_tkm=emission_ttw,
        emission_source=emission_source,
        import_clearance_hours=numbers("import_clearance_hours"),
        selection_margins=numbers("selection_margins"),
        node_cutoff_hours=tables("node_cutoff_hours"),
        road_border_hours=numbers("road_border_hours"),
        closed_road_borders=_crossings(p.get("closed_road_borders"), problems),
        brokerage_usd=numbers("brokerage_usd"),
        backhaul_rate_factor=numbers("backhaul_rate_factor"),
        customs_unions={
            str(k): frozenset(str(c) for c in v)
            for k, v in (p.get("customs_unions") or {}).items()
            if k != "reasoning" and isinstance(v, list)
        },
    )


def _scopes(
    cls: str, spec: Mapping[str, Any], value: float, problems: list[str]
) -> tuple[float, float] | None:
    """(WTW, TTW) g/tkm of a planner default from its stated scope and WTW/TTW ratio (ISO 14083 scopes)."""
    scope = str(spec.get("scope") or "TTW").upper()
    ratio = spec.get("wtw_per_ttw")
    if scope == "WTW":
        ttw = spec.get("ttw_g_per_tkm")
        if isinstance(ttw, int | float) and 0 <= ttw <= value:
            return value, float(ttw)
        if isinstance(ratio, int | float) and ratio >= 1:
            return value, round(value / ratio, 3)
        problems.append(f"emission factor for {cls}: a WTW default needs ttw_g_per_tkm or wtw_per_ttw >= 1")
        return None
    if scope == "TTW":
        if ratio is None:
            ratio = 1.0  # no well-to-tank figure given: WTW = TTW, which understates WTW
        if not isinstance(ratio, int | float) or not 1 <= ratio <= 3:
            problems.append(f"emission factor for {cls}: wtw_per_ttw {ratio!r} must be between 1 and 3")
            return None
        return round(value * ratio, 3), value
    problems.append(f"emission factor for {cls}: scope {scope!r} is not TTW or WTW")
    return None


def _crossings(raw: Any, problems: list[str]) -> frozenset[str]:
    """planning.closed_road_borders: a list of "XX-YY" crossings (ISO 3166 alpha-2, from-to)."""
    if raw is None:
        return frozenset()
    items = raw.get("crossings") if isinstance(raw, Mapping) else raw
    if not isinstance(items, list):
        problems.append("planning.closed_road_borders.crossings must be a list of 'XX-YY' crossings")
        return frozenset()
    out = set()
    for c in items:
        if not (isinstance(c, str) and len(c) == 5 and c[2] == "-" and c[:2].isupper() and c[3:].isupper()):
            problems.append(f"planning.closed_road_borders: {c!r} is not a crossing like 'AM-TR'")
            continue
        out.add(c)
    return frozenset(out)


def _build_nodes(raw: Any, problems: list[str]) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    if not isinstance(raw, list) or not raw:
        problems.append("'nodes' must be a non-empty list")
        return nodes
    for i, n in enumerate(raw):
        if not isinstance(n, Mapping) or not n.get("id"):
            problems.append(f"node #{i}: must be an object with an id")
            continue
        nid = str(n["id"])
        if nid in nodes:
            problems.append(f"node {nid!r}: duplicate id")
            continue
        lat, lon = n.get("lat"), n.get("lon")
        if (
            not isinstance(lat, int | float)
            or not isinstance(lon, int | float)
            or not (-90 <= lat <= 90)
            or not (-180 <= lon <= 180)
        ):
            problems.append(
                f"node {nid!r}: lat/lon ({lat!r}, {lon!r}) out of range (lat -90..90, lon -180..180)"
            )
            continue
        kind = n.get("kind", n.get("kinds", []))
        kinds = (kind,) if isinstance(kind, str) else tuple(str(k) for k in kind or ())
        if not kinds:
            problems.append(f"node {nid!r}: has no kind")
        code = n.get("unlocode")
        if code is not None and not re.fullmatch(r"[A-Z]{2}[A-Z2-9]{3}", norm_locode(str(code))):
            problems.append(f"node {nid!r}: UN/LOCODE {code!r} is not 2 letters + 3 characters")
        nodes[nid] = Node(
            id=nid,
            name=str(n.get("name") or nid),
            unlocode=norm_locode(str(code)) if code else None,
            lat=float(lat),
            lon=float(lon),
            kinds=kinds,
            country=str(n.get("country") or ""),
            notes=n.get("notes"),
        )
    return nodes


def _range_value(v: Any) -> tuple[float, float] | None:
    """A number, a [min, max] pair or null -> (min, max)."""
    if v is None:
        return None
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v), float(v)
    if (
        isinstance(v, Sequence)
        and not isinstance(v, str)
        and len(v) == 2
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
    ):
        return float(v[0]), float(v[1])
    raise ValueError(f"expected a number or [min, max], not {v!r}")


def _basis_of(text: Any, default: str) -> str:
    if text is None:
        return default
    t = str(text).lower()
    if "estimate" in t or "proxy" in t or "assum" in t:
        return ESTIMATE
    return PUBLISHED


def _build_services(
    leg: Mapping[str, Any],
    nodes: Mapping[str, Node],
    planning_raw: Mapping[str, Any],
    planning: Planning,
    override: Mapping[str, Any],
    sources: Mapping[str, Any],
    problems: list[str],
) -> list[Service]:
    leg_id = str(leg["id"])
    where = f"leg {leg_id!r}"
    before = len(problems)
    origin, destination = str(leg.get("from", "")), str(leg.get("to", ""))
    for end in (origin, destination):
        if end not in nodes:
            problems.append(f"{where}: node {end!r} does not exist")
    if origin == destination:
        problems.append(f"{where}: starts and ends at {origin!r}")
    mode = leg.get("mode")
    if mode not in MODES:
        problems.append(f"{where}: mode {mode!r} is not one of {', '.join(MODES)}")
    via = tuple(str(v) for v in leg.get("via") or ())
    for v in via:
        if v not in nodes:
            problems.append(f"{where}: via node {v!r} does not exist")
    leg_type = str(leg.get("leg_type") or "segment")
    if leg_type not in ("segment", "service"):
        problems.append(f"{where}: leg_type {leg_type!r} is not 'segment' or 'service'")
    for s in leg.get("sources") or ():
        if sources and s not in sources:
            problems.append(f"{where}: source {s!r} is not in meta.sources")
    if len(problems) > before:
        return []
    assert isinstance(mode, str)
    provenance: list[Figure] = []

    # transit time
    tt = leg.get("transit_time") or {}
    unit = tt.get("unit")
    factor = {"hours": 1.0, "days": 24.0}.get(str(unit))
    tmin, tmax = tt.get("min"), tt.get("max")
    if factor is None:
        problems.append(f"{where}: transit_time.unit {unit!r} must be 'hours' or 'days'")
        return []
    if not isinstance(tmin, int | float) or not isinstance(tmax, int | float):
        problems.append(f"{where}: transit_time needs numeric min and max")
        return []
    if tmin <= 0 or tmax <= 0:
        problems.append(f"{where}: transit time must be positive, not {tmin}..{tmax} {unit}")
        return []
    if tmax < tmin:
        problems.append(f"{where}: transit_time max {tmax} is below min {tmin}")
        return []
    lo, hi = tmin * factor, tmax * factor
    transit = (lo + hi) / 2
    transit_basis = _basis_of(tt.get("basis"), ESTIMATE)
    provenance.append(Figure("transit_hours", transit_basis, f"{tmin}-{tmax} {unit}, midpoint used"))

    # distance
    a, b = nodes[origin], nodes[destination]
    gc_computed = geodesic_km(a, b)
    gc_stated = leg.get("great_circle_km")
    if (
        isinstance(gc_stated, int | float)
        and gc_computed > 20
        and abs(gc_stated - gc_computed) > 0.15 * gc_computed + 5
    ):
        problems.append(
            f"{where}: great_circle_km {gc_stated} disagrees with the coordinates ({gc_computed:.0f} km): "
            "check lat/lon (swapped?) or units"
        )
    try:
        dist_range = _range_value(override.get("distance_km", leg.get("distance_km")))
    except ValueError as exc:
        problems.append(f"{where}: distance_km: {exc}")
        return []
    if dist_range is not None:
        distance = (dist_range[0] + dist_range[1]) / 2
        if "distance_km" in override:
            dist_basis, note = ESTIMATE, str(override.get("reasoning", "planning override"))
        else:
            dist_basis = _basis_of(leg.get("distance_basis"), PUBLISHED)
            note = str(leg.get("distance_basis") or "stated in the leg")
        if distance < 0.9 * gc_computed:
            problems.append(
                f"{where}: distance_km {distance:g} is shorter than the great circle ({gc_computed:.0f} km): "
                "miles instead of km?"
            )
            return []
    else:
        circ = planning.circuity.get(mode, 1.2)
        distance = round(max(gc_computed, 1.0) * circ, 1)
        dist_basis, note = ESTIMATE, f"great circle {gc_computed:.0f} km x circuity {circ} for {mode}"
    provenance.append(Figure("distance_km", dist_basis, note))
    speed = distance / transit
    smin, smax = SPEED_KMH[mode]
    # Short legs (border crossings, gauge changes) are mostly dwell: only their upper speed is checked.
    if speed > smax or (distance >= 100 and speed < smin):
        problems.append(
            f"{where}: {distance:.0f} km in {transit:g} h is {speed:.1f} km/h, implausible for {mode} "
            f"({smin:g}-{smax:g} km/h): check the units (hours vs days, km vs miles)"
        )
        return []

    # frequency
    freq: float | None
    if mode == "road":
        freq = None
        provenance.append(Figure("departures_per_week", ESTIMATE, "trucks on demand"))
    else:
        raw_freq = override.get("departures_per_week", leg.get("departures_per_week"))
        try:
            fr = _range_value(raw_freq)
        except ValueError as exc:
            problems.append(f"{where}: departures_per_week: {exc}")
            return []
        if fr is not None:
            freq = (fr[0] + fr[1]) / 2
            if "departures_per_week" in override:
                fbasis, fnote = ESTIMATE, str(override.get("reasoning", "planning override"))
            else:
                fbasis = _basis_of(leg.get("departures_basis"), ESTIMATE)
                fnote = str(leg.get("departures_basis") or "")
        else:
            key = "rail_service" if (mode == "rail" and leg_type == "service") else mode
            freq = float((planning_raw.get("departures_per_week") or {}).get(key, 1))
            fbasis, fnote = ESTIMATE, f"no published frequency: planning default for {key}"
        if not (0 < freq <= 500):
            problems.append(f"{where}: {freq:g} departures per week is out of range (0 < f <= 500)")
            return []
        provenance.append(Figure("departures_per_week", fbasis, fnote))

    # rate
    price = leg.get("price") or {}
    rate = _rate(mode, distance, price, planning, provenance, where, problems)
    if rate is None:
        return []

    # flags, capacity, emissions
    cap = (planning_raw.get("capacity") or {}).get(mode) or {}
    cap_teu = float(override.get("capacity_teu", cap.get("teu", 0.0)))
    cap_kg = float(override.get("capacity_kg", cap.get("kg", 0.0)))
    if mode != "road" and cap_kg <= 0:
        problems.append(f"{where}: no capacity in kg for mode {mode} (planning.capacity)")
        return []
    ecls = str(
        override.get("emission_class") or (planning_raw.get("default_emission_class") or {}).get(mode, "")
    )
    if mode == "sea" and "emission_class" not in override and distance >= 6000:
        ecls = "sea_mainline"
    if ecls not in planning.emission_g_per_tkm:
        problems.append(f"{where}: emission class {ecls!r} has no factor")
        return []
    basis = PUBLISHED if all(f.basis == PUBLISHED for f in provenance) else ESTIMATE
    # The emission factor is reported with the leg's CO2e (PlannedLeg.basis), not with the service's figures.
    provenance.append(
        Figure(
            "co2e_g_per_tkm",
            ESTIMATE,
            f"{planning.emission_g_per_tkm[ecls]:g} g/tkm WTW, {planning.emission_ttw_g_per_tkm[ecls]:g} TTW "
            f"({ecls}): {planning.emission_source.get(ecls, 'emission_factors.json')}",
        )
    )
    common: dict[str, Any] = dict(
        mode=mode,
        corridor=str(leg.get("corridor") or ""),
        distance_km=round(distance, 1),
        transit_hours=round(transit, 2),
        departures_per_week=freq,
        basis=basis,
        leg_id=leg_id,
        leg_type=leg_type,
        transit_hours_range=(lo, hi),
        rate=rate,
        dangerous_goods=bool(override.get("dangerous_goods", True)),
        reefer=bool(override.get("reefer", mode != "air" or not override.get("passenger_aircraft", False))),
        passenger_aircraft=bool(override.get("passenger_aircraft", False)),
        capacity_teu=cap_teu,
        capacity_kg=cap_kg,
        emission_class=ecls,
        co2e_g_per_tkm=planning.emission_g_per_tkm[ecls],
        ttw_g_per_tkm=planning.emission_ttw_g_per_tkm[ecls],
        distance_basis=dist_basis,
        co2e_basis=ESTIMATE,
        sources=tuple(str(s) for s in leg.get("sources") or ()),
        notes=leg.get("notes"),
        provenance=tuple(provenance),
    )
    out = [Service(id=leg_id, origin=origin, destination=destination, via=via, **common)]
    if leg.get("bidirectional"):
        rev_notes = "reverse direction assumed to have the same figures (estimate)"
        rev = dict(common)
        rev["basis"] = ESTIMATE
        factor = planning.backhaul_rate_factor.get(mode, 1.0)
        if nodes[origin].country == "CN" and nodes[destination].country != "CN" and factor != 1.0:
            # into China: the backhaul rate, a published share of the export rate where one exists
            rev_notes = f"into China: {factor:g} x the export rate (planning.json backhaul_rate_factor)"
            rev["rate"] = Rate(
                None if rate.per_feu is None else Decimal(str(round(rate.per_feu * Decimal(str(factor)), 2))),
                None if rate.per_kg is None else Decimal(str(round(rate.per_kg * Decimal(str(factor)), 4))),
                rate.currency,
                ESTIMATE,
            )
        rev["provenance"] = (*provenance, Figure("direction", ESTIMATE, rev_notes))
        out.append(
            Service(
                id=f"{leg_id}-rev", origin=destination, destination=origin, via=tuple(reversed(via)), **rev
            )
        )
    return out


def _rate(
    mode: str,
    distance: float,
    price: Mapping[str, Any],
    planning: Planning,
    provenance: list[Figure],
    where: str,
    problems: list[str],
) -> Rate | None:
    value: float | None = None
    if price:
        if "value" in price and isinstance(price["value"], int | float):
            value = float(price["value"])
        elif isinstance(price.get("min"), int | float) and isinstance(price.get("max"), int | float):
            value = (float(price["min"]) + float(price["max"])) / 2
    unit = str(price.get("unit") or "") if price else ""
    currency = str(price.get("currency") or "USD") if price else "USD"
    if value is not None:
        if currency != "USD":
            problems.append(f"{where}: price in {currency}; only USD rates are supported")
            return None
        if value <= 0:
            problems.append(f"{where}: price {value} must be positive")
            return None
        basis = _basis_of(price.get("basis"), PUBLISHED)
        provenance.append(Figure("rate", basis, str(price.get("basis") or "")))
        if unit == "per FEU" and mode != "air":
            if value / distance > 20:
                problems.append(f"{where}: {value} USD per FEU over {distance:.0f} km is implausible: units?")
                return None
            return Rate(Decimal(str(round(value, 2))), None, "USD", basis)
        if unit == "per kg" and mode == "air":
            if value > 50:
                problems.append(f"{where}: air rate {value} USD/kg is implausible: per tonne?")
                return None
            return Rate(None, Decimal(str(round(value, 2))), "USD", basis)
        problems.append(
            f"{where}: price unit {unit!r} does not fit mode {mode} (surface: 'per FEU', air: 'per kg')"
        )
        return None
    r = planning.rates.get(mode) or {}
    if mode == "air":
        per_kg = r.get("fixed_per_kg", 0.0) + r.get("per_kg_km", 0.0) * distance
        provenance.append(Figure("rate", ESTIMATE, "planning default rate per chargeable kg for air"))
        return Rate(None, Decimal(str(round(per_kg, 2))), "USD", ESTIMATE)
    per_feu = r.get("fixed_per_feu", 0.0) + r.get("per_feu_km", 0.0) * distance
    if per_feu <= 0:
        problems.append(f"{where}: no rate for mode {mode} (planning.rates)")
        return None
    provenance.append(Figure("rate", ESTIMATE, f"planning default rate for {mode}: fixed + per FEU-km"))
    return Rate(Decimal(str(round(per_feu, 2))), None, "USD", ESTIMATE)


def _check_borders(
    nodes: Mapping[str, Node], services: Mapping[str, Service], planning: Planning, problems: list[str]
) -> None:
    """A land leg (rail, road, river) across a customs border starts, ends or passes at a border node."""
    for s in services.values():
        if s.mode in ("sea", "air") or s.id.endswith("-rev"):
            continue  # ports and airports are where those modes clear; a reverse leg has its forward's nodes
        a, b = nodes[s.origin], nodes[s.destination]
        if not planning.customs_border(a.country, b.country):
            continue
        stops = [a, b, *(nodes[v] for v in s.via if v in nodes)]
        if not any("border_crossing" in n.kinds for n in stops):
            problems.append(
                f"leg {s.id!r}: {s.mode} from {a.country} to {b.country} crosses a customs border "
                "but neither its ends nor its via name a border_crossing node (where does it wait?)"
            )


def _check_reachability(
    nodes: Mapping[str, Node], services: Mapping[str, Service], problems: list[str]
) -> None:
    """Every node must be touched by a service, and the network must be one connected piece."""
    touched = {s.origin for s in services.values()} | {s.destination for s in services.values()}
    for s in services.values():
        touched.update(s.via)
    for nid in nodes:
        if nid not in touched:
            problems.append(f"node {nid!r} is unreachable: no leg starts, ends or passes there")
    adj: dict[str, set[str]] = {n: set() for n in nodes}
    for s in services.values():
        adj[s.origin].add(s.destination)
        adj[s.destination].add(s.origin)
    component: dict[str, int] = {}
    for start in sorted(nodes):
        if start in component or start not in touched:
            continue
        cid = len(set(component.values()))
        stack = [start]
        while stack:
            n = stack.pop()
            if n in component:
                continue
            component[n] = cid
            stack.extend(adj[n] - component.keys())
    sizes: dict[int, int] = {}
    for c in component.values():
        sizes[c] = sizes.get(c, 0) + 1
    if len(sizes) > 1:
        main = max(sizes, key=lambda c: (sizes[c], -c))
        cut = sorted(
            n for n, c in component.items() if c != main and not set(nodes[n].kinds) <= NOT_SNAPPABLE
        )
        if cut:
            problems.append(
                f"nodes {', '.join(cut)} are unreachable from the rest of the network (no leg connects them)"
            )
