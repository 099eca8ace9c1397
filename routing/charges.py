"""The price of an option line by line, as a forwarder's quote shows it.

Per leg: freight (FRT, the service's line-haul rate for the equipment or chargeable weight), the dangerous
goods (DG) and reefer (RF) surcharges, and terminal handling (THC) where the leg starts at a transfer. Per
shipment: customs brokerage (BRK) for the export declaration and, when the goods end in another country, the
import entry. The leg lines repeat `routing.tariff`'s arithmetic, split so that they add up to the leg's
cost to the cent; brokerage is the same for every option of a quote, so it never changes which options are
Pareto-optimal and is added outside the search.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from routing.network_model import ESTIMATE, Network
from routing.options import Option
from routing.quote_request import Cargo

CENT = Decimal("0.01")


@dataclass(frozen=True)
class ChargeLine:
    code: str  # FRT | BAF | PSS | DG | RF | THC | BRK
    description: str
    amount: Decimal  # USD
    leg: int | None  # index of the leg it belongs to; None for a per-shipment charge
    basis: str  # published | estimate
    source: str


def _money(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def _pct(network: Network, name: str) -> Decimal:
    return Decimal(str(network.planning.surcharges.get(name, 0.0)))


def brokerage(network: Network, option: Option) -> tuple[ChargeLine, ...]:
    """Export declaration always (cross-border e-commerce modes file one); import entry when abroad."""
    fees = network.planning.brokerage_usd
    src = "planning.json brokerage_usd (estimate)"
    lines = [
        ChargeLine(
            "BRK",
            "export customs declaration",
            _money(Decimal(str(fees.get("export", 0.0)))),
            None,
            ESTIMATE,
            src,
        )
    ]
    first = network.nodes.get(option.legs[0].origin) or network.nodes.get(option.legs[0].destination)
    last = network.nodes.get(option.legs[-1].destination) or network.nodes.get(option.legs[-1].origin)
    if first is not None and last is not None and first.country != last.country:
        lines.append(
            ChargeLine(
                "BRK",
                f"import customs entry ({last.country})",
                _money(Decimal(str(fees.get("import", 0.0)))),
                None,
                ESTIMATE,
                src,
            )
        )
    return tuple(line for line in lines if line.amount > 0)


def breakdown(network: Network, option: Option, cargo: Cargo) -> tuple[ChargeLine, ...]:
    """Every line of the option's price: the legs' lines add up to option.cost, brokerage comes on top."""
    dg = _pct(network, "dangerous_goods") if cargo.dangerous_goods else Decimal(0)
    rf = _pct(network, "reefer") if cargo.needs_reefer else Decimal(0)
    lines: list[ChargeLine] = []
    for i, leg in enumerate(option.legs):
        svc = network.services.get(leg.service_id or "")
        rate_basis = svc.rate.basis if svc is not None else ESTIMATE
        rate_src = ", ".join(svc.sources) if svc is not None and svc.sources else "planning.json rates"
        if svc is not None and svc.rate.source:
            rate_src = svc.rate.source
        baf = svc.rate.baf if svc is not None else Decimal(0)
        peak = svc.rate.peak if svc is not None else Decimal(0)
        line_haul = leg.cost - leg.handling_cost
        base = line_haul / (1 + dg + rf + baf + peak)
        dg_amount = _money(base * dg)
        rf_amount = _money(base * rf)
        baf_amount = _money(base * baf)
        peak_amount = _money(base * peak)
        what = f"{leg.mode} {leg.origin}-{leg.destination}"
        frt = line_haul - dg_amount - rf_amount - baf_amount - peak_amount
        lines.append(ChargeLine("FRT", what, frt, i, rate_basis, rate_src))
        if baf_amount:
            lines.append(
                ChargeLine("BAF", f"bunker/fuel surcharge, {what}", baf_amount, i, rate_basis, rate_src)
            )
        if peak_amount:
            lines.append(
                ChargeLine("PSS", f"peak season surcharge, {what}", peak_amount, i, rate_basis, rate_src)
            )
        if dg_amount:
            lines.append(
                ChargeLine("DG", f"dangerous goods, {what}", dg_amount, i, ESTIMATE, "planning.json")
            )
        if rf_amount:
            lines.append(ChargeLine("RF", f"reefer, {what}", rf_amount, i, ESTIMATE, "planning.json"))
        if leg.handling_cost:
            lines.append(
                ChargeLine(
                    "THC",
                    f"terminal handling at {leg.origin}",
                    leg.handling_cost,
                    i,
                    ESTIMATE,
                    "planning.json handling_cost",
                )
            )
    return (*lines, *brokerage(network, option))
