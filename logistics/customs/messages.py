"""The messages as XML: export (`CEB505Message`, `CEB507Message`, `CEB509Message`), the 1210 bonded
import (`CEB511Message` waybill, `CEB513Message` waybill status), and their receipts.

Field by field, where each value comes from (the schema and its sources: `logistics.customs.spec`):
- guid: the outbox message's id (an upper-case UUID); receipts name it back.
- appType 1 new / 2 correction / 3 cancellation; appStatus 2 (declared, not merely stored); appTime and
  leaveTime in China Standard Time (UTC+8, no daylight saving), `YYYYMMDDhhmmss`.
- logisticsCode/Name, copCode/Name (BaseTransfer): the booking's logistics enterprise; ebcCode/Name: its
  e-commerce enterprise; operatorCode/Name of the arrival: the logistics enterprise too (it files the
  arrival for the supervised site it delivers to).
- logisticsNo: the waybill number (9710/9810/1210) or the parcel's own logistics number (9610).
- freight: the booked price in its currency (a 9610 parcel carries its share by gross weight); insuredFee 0
  (xborder sells no insurance); grossWeight, packNo, goodsInfo: the booking's customs block.
- customsCode: the declaration office (arrival) or the exit office (departure), from the booking.
- trafMode: the mode of the leg leaving the exit point (customs codes: `spec.TRAF_MODES`); trafName: the
  vehicle named on the booking, else the booked service's id; voyageNo: the voyage named on the booking,
  else the departure date of that service; billNo and copNo: the waybill number.
- the arrival and departure lists: one row per waybill (B2B) or per parcel (9610), at most `LIST_ROWS` per
  message: a longer list is split over several messages, numbered by msgCount (how many) and msgSeqNo
  (which one, from 1); gnum counts the rows from 1 in each.
- CEB511 (import waybill): as the CEB505 (weight is the gross weight), billNo the waybill number, goodsInfo
  the goods lines; CEB513: logisticsStatus S (signed for: the cargo arrived in the bonded zone, the only
  status the sources allow), logisticsTime the ACT arrival's time.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from xml.etree import ElementTree as ET

from logistics.customs.declaration import CustomsData, GoodsLine
from logistics.customs.spec import CURRENCY_CODES, LIST_ROWS, NS, TRAF_MODES, q

CST = timezone(timedelta(hours=8), "CST")
ET.register_namespace("ceb", NS)


def new_guid() -> str:
    return str(uuid.uuid4()).upper()


def cst(t: datetime, millis: bool = False) -> str:
    local = t.astimezone(CST)
    text = local.strftime("%Y%m%d%H%M%S")
    return text + f"{local.microsecond // 1000:03d}" if millis else text


@dataclass(frozen=True)
class Shipment:
    """What the messages need of the booked shipment beyond its customs data."""

    waybill_no: str
    freight: Decimal
    freight_currency: str
    exit_mode: str | None
    exit_service: str | None
    exit_departure: datetime | None


def _el(parent: ET.Element, name: str, text: object | None) -> None:
    if text is None or text == "":
        return
    ET.SubElement(parent, q(name)).text = str(text)


def _root(name: str, guid: str) -> ET.Element:
    return ET.Element(q(name), {"guid": guid, "version": "1.0"})


def _base_transfer(root: ET.Element, data: CustomsData, dxp_id: str) -> None:
    bt = ET.SubElement(root, q("BaseTransfer"))
    _el(bt, "copCode", data.logistics_enterprise.code)
    _el(bt, "copName", data.logistics_enterprise.name)
    _el(bt, "dxpMode", "DXP")
    _el(bt, "dxpId", dxp_id)


def _xml(root: ET.Element) -> bytes:
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _goods_info(goods: Sequence[GoodsLine]) -> str:
    text = "; ".join(f"{g.description} x{g.quantity:g} {g.unit}" for g in goods)
    return text[:200]


def _money(v: Decimal) -> str:
    return f"{v.quantize(Decimal('0.01'))}"


def waybill_messages(
    guids: Sequence[str], app_type: str, at: datetime, data: CustomsData, shipment: Shipment, dxp_id: str
) -> list[tuple[str, bytes]]:
    """CEB505: one per waybill (B2B, bonded) or one per parcel (9610); (logisticsNo, XML) each."""
    currency = CURRENCY_CODES.get(shipment.freight_currency, CURRENCY_CODES["USD"])
    if data.parcels:
        total = sum((p.gross_weight_kg for p in data.parcels), Decimal(0)) or Decimal(1)
        docs = [
            (
                p.logistics_no,
                shipment.freight * p.gross_weight_kg / total,
                p.gross_weight_kg,
                p.packages,
                p.goods,
            )
            for p in data.parcels
        ]
    else:
        docs = [(shipment.waybill_no, shipment.freight, data.gross_weight_kg, data.packages, data.goods)]
    out = []
    for guid, (no, freight, gross, packs, goods) in zip(guids, docs, strict=True):
        root = _root("CEB505Message", guid)
        lg = ET.SubElement(root, q("Logistics"))
        _el(lg, "guid", guid)
        _el(lg, "appType", app_type)
        _el(lg, "appTime", cst(at))
        _el(lg, "appStatus", "2")
        _el(lg, "logisticsCode", data.logistics_enterprise.code)
        _el(lg, "logisticsName", data.logistics_enterprise.name)
        _el(lg, "logisticsNo", no)
        _el(lg, "freight", _money(freight))
        _el(lg, "insuredFee", "0")
        _el(lg, "currency", currency)
        _el(lg, "grossWeight", f"{gross.normalize():f}")
        _el(lg, "packNo", packs)
        _el(lg, "goodsInfo", _goods_info(goods or data.goods))
        _el(lg, "ebcCode", data.ecommerce_enterprise.code)
        _el(lg, "ebcName", data.ecommerce_enterprise.name)
        _base_transfer(root, data, dxp_id)
        out.append((no, _xml(root)))
    return out


def import_waybill_message(
    guid: str, app_type: str, at: datetime, data: CustomsData, shipment: Shipment, dxp_id: str
) -> bytes:
    """CEB511: the import waybill of a 1210 consignment into the bonded zone."""
    currency = CURRENCY_CODES.get(shipment.freight_currency, CURRENCY_CODES["USD"])
    root = _root("CEB511Message", guid)
    head = ET.SubElement(ET.SubElement(root, q("Logistics")), q("LogisticsHead"))
    _el(head, "guid", guid)
    _el(head, "appType", app_type)
    _el(head, "appTime", cst(at))
    _el(head, "appStatus", "2")
    _el(head, "logisticsCode", data.logistics_enterprise.code)
    _el(head, "logisticsName", data.logistics_enterprise.name)
    _el(head, "logisticsNo", shipment.waybill_no)
    _el(head, "billNo", shipment.waybill_no)
    _el(head, "freight", _money(shipment.freight))
    _el(head, "insuredFee", "0")
    _el(head, "currency", currency)
    _el(head, "weight", f"{data.gross_weight_kg.normalize():f}")
    _el(head, "packNo", data.packages)
    _el(head, "goodsInfo", _goods_info(data.goods))
    _base_transfer(root, data, dxp_id)
    return _xml(root)


def waybill_status_message(
    guid: str,
    app_type: str,
    at: datetime,
    arrived_at: datetime,
    data: CustomsData,
    shipment: Shipment,
    dxp_id: str,
) -> bytes:
    """CEB513: the import waybill's status, signed for (S) at the ACT arrival in the bonded zone."""
    root = _root("CEB513Message", guid)
    status = ET.SubElement(root, q("LogisticsStatus"))
    _el(status, "guid", guid)
    _el(status, "appType", app_type)
    _el(status, "appTime", cst(at))
    _el(status, "appStatus", "2")
    _el(status, "logisticsCode", data.logistics_enterprise.code)
    _el(status, "logisticsName", data.logistics_enterprise.name)
    _el(status, "logisticsNo", shipment.waybill_no)
    _el(status, "logisticsStatus", "S")
    _el(status, "logisticsTime", cst(arrived_at))
    _base_transfer(root, data, dxp_id)
    return _xml(root)


def _list_rows(data: CustomsData, waybill_no: str) -> list[tuple[str, int]]:
    if data.parcels:
        return [(p.logistics_no, p.packages) for p in data.parcels]
    return [(waybill_no, data.packages)]


def list_parts(data: CustomsData) -> int:
    """How many messages an arrival or departure list takes (`LIST_ROWS` rows each)."""
    return max(1, -(-len(data.parcels) // LIST_ROWS))


def _part_rows(data: CustomsData, waybill_no: str, part: int) -> list[tuple[str, int]]:
    if not 1 <= part <= list_parts(data):
        raise ValueError(f"part {part} of {list_parts(data)}")
    return _list_rows(data, waybill_no)[(part - 1) * LIST_ROWS : part * LIST_ROWS]


def arrival_message(
    guid: str,
    app_type: str,
    at: datetime,
    data: CustomsData,
    shipment: Shipment,
    dxp_id: str,
    part: int = 1,
) -> bytes:
    """CEB507: the cargo arrived at the origin's supervised site (`part` of `list_parts` messages)."""
    root = _root("CEB507Message", guid)
    arrival = ET.SubElement(root, q("Arrival"))
    head = ET.SubElement(arrival, q("ArrivalHead"))
    _el(head, "guid", guid)
    _el(head, "appType", app_type)
    _el(head, "appTime", cst(at))
    _el(head, "appStatus", "2")
    _el(head, "customsCode", data.declaration_customs)
    _el(head, "copNo", shipment.waybill_no)
    _el(head, "operatorCode", data.logistics_enterprise.code)
    _el(head, "operatorName", data.logistics_enterprise.name)
    _el(head, "loctNo", data.supervision_site)
    _el(head, "ieFlag", "E")
    _el(head, "trafMode", TRAF_MODES.get(shipment.exit_mode or "", "4"))
    _el(head, "billNo", shipment.waybill_no)
    _el(head, "domesticTrafNo", data.vehicle)
    _el(head, "logisticsCode", data.logistics_enterprise.code)
    _el(head, "logisticsName", data.logistics_enterprise.name)
    _el(head, "msgCount", list_parts(data))
    _el(head, "msgSeqNo", part)
    for i, (no, packs) in enumerate(_part_rows(data, shipment.waybill_no, part), 1):
        row = ET.SubElement(arrival, q("ArrivalList"))
        _el(row, "gnum", i)
        _el(row, "logisticsNo", no)
        _el(row, "totalPackageNo", packs)
    _base_transfer(root, data, dxp_id)
    return _xml(root)


def departure_message(
    guid: str,
    app_type: str,
    at: datetime,
    left_at: datetime,
    data: CustomsData,
    shipment: Shipment,
    dxp_id: str,
    part: int = 1,
) -> bytes:
    """CEB509: the cargo left the country at the exit point (`part` of `list_parts` messages)."""
    root = _root("CEB509Message", guid)
    departure = ET.SubElement(root, q("Departure"))
    head = ET.SubElement(departure, q("DepartureHead"))
    _el(head, "guid", guid)
    _el(head, "appType", app_type)
    _el(head, "appTime", cst(at))
    _el(head, "appStatus", "2")
    _el(head, "customsCode", data.exit_customs)
    _el(head, "copNo", shipment.waybill_no)
    _el(head, "logisticsCode", data.logistics_enterprise.code)
    _el(head, "logisticsName", data.logistics_enterprise.name)
    _el(head, "trafMode", TRAF_MODES.get(shipment.exit_mode or "", "4"))
    _el(head, "trafName", (data.vehicle or shipment.exit_service or "UNKNOWN")[:100])
    voyage = data.voyage or (
        cst(shipment.exit_departure)[:8] if shipment.exit_departure else cst(left_at)[:8]
    )
    _el(head, "voyageNo", voyage[:32])
    _el(head, "billNo", shipment.waybill_no)
    _el(head, "leaveTime", cst(left_at))
    _el(head, "msgCount", list_parts(data))
    _el(head, "msgSeqNo", part)
    for i, (no, packs) in enumerate(_part_rows(data, shipment.waybill_no, part), 1):
        row = ET.SubElement(departure, q("DepartureList"))
        _el(row, "gnum", i)
        _el(row, "totalPackageNo", packs)
        _el(row, "logisticsNo", no)
    _base_transfer(root, data, dxp_id)
    return _xml(root)


RECEIPT_OF = {
    "CEB505": "CEB506",
    "CEB507": "CEB508",
    "CEB509": "CEB510",
    "CEB511": "CEB512",
    "CEB513": "CEB514",
}
RETURN_BLOCK = {
    "CEB506": "LogisticsReturn",
    "CEB508": "ArrivalReturn",
    "CEB510": "DepartureReturn",
    "CEB512": "LogisticsReturn",
    "CEB514": "LogisticsStatusReturn",
}


def receipt_message(
    type_: str, guid: str, logistics_code: str, status: str, info: str, at: datetime
) -> bytes:
    """A single window's receipt (CEB506/508/510/512/514) for the message `guid`: its status and reason."""
    receipt = RECEIPT_OF[type_]
    root = _root(f"{receipt}Message", new_guid())
    block = ET.SubElement(root, q(RETURN_BLOCK[receipt]))
    _el(block, "guid", guid)
    _el(block, "logisticsCode", logistics_code)
    _el(block, "returnStatus", status)
    _el(block, "returnTime", cst(at, millis=True))
    _el(block, "returnInfo", info)
    return _xml(root)
