"""The customs block the simulator's bookings carry (`POST /v1/bookings` `customs`), so the demo's
shipments file their declarations to the (simulated) single window.

Every code here is a placeholder in the right format, not a real registration: enterprise codes are
fictitious 18-character unified social credit codes, `7920` and `7609` stand in for the customs offices of
declaration and exit, and the HS codes are the 10-digit tariff lines of the goods named (tea 0902109000,
bamboo boards 4419190000 and power banks 8507600090: China's tariff, read as an estimate, not verified).
"""

from __future__ import annotations

from typing import Any

LOGISTICS = {"code": "91511500MA62XBXB01", "name": "Xborder Logistics (Yibin) Co., Ltd."}
GOODS = {
    "Sichuan Yibin Tea Export Co.": ("0902109000", "green tea, 250 g tins", "pcs", 6.0),
    "Cuiping Bamboo Products Co.": ("4419190000", "bamboo cutting boards", "pcs", 4.5),
    "Yibin Sanjiang Electronics Co.": ("8507600090", "lithium power banks 10 Ah", "pcs", 9.0),
    "Yibin Lingang Trading Co., Ltd.": ("0902109000", "black tea, 100 g packs", "pcs", 3.0),
}


# The simulated single window of the demo knows no such enterprise: this shipper's declarations are rejected
# (an alarm on its waybills) until corrected with `PUT /v1/waybills/{waybill_no}/customs`.
UNREGISTERED = {"Yibin Lingang Trading Co., Ltd.": "91511500MA00000000"}


def enterprise_code(shipper: str) -> str:
    """A stable fictitious USCC for a shipper name (18 characters, digits and capitals)."""
    if shipper in UNREGISTERED:
        return UNREGISTERED[shipper]
    digest = sum((i + 1) * ord(ch) for i, ch in enumerate(shipper)) % 10**8
    return f"91511500MA{digest:08d}"


def customs_block(shipper: str, destination: str, weight_kg: float) -> dict[str, Any]:
    """B2B (9810) customs data for a container of the shipper's goods to `destination` (a UN/LOCODE)."""
    hs_code, description, unit, unit_value = GOODS.get(shipper, GOODS["Yibin Lingang Trading Co., Ltd."])
    quantity = max(1, int(weight_kg // 2))
    return {
        "ecommerce_enterprise": {"code": enterprise_code(shipper), "name": shipper},
        "logistics_enterprise": LOGISTICS,
        "declaration_customs": "7920",
        "exit_customs": "7609",
        "consignee_country": destination[:2],
        "gross_weight_kg": f"{weight_kg:.1f}",
        "net_weight_kg": f"{weight_kg * 0.9:.1f}",
        "packages": max(1, int(weight_kg // 250)),
        "goods": [
            {
                "hs_code": hs_code,
                "description": description,
                "quantity": str(quantity),
                "unit": unit,
                "value": {"amount": f"{quantity * unit_value:.2f}", "currency": "USD"},
            }
        ],
    }
