"""The validation schema of the cross-border e-commerce logistics messages, and its validator.

China customs publishes no XSD for these messages outside the single window's client kit; this module is our
own schema, written from public sources, and every message is checked against it before it is queued
(`validate`). Each field is (name, kind, length, required, codes): `C` text of at most `length` characters
(`C=n`: exactly n), `N` a decimal number with at most `length` digits before the point and 5 after,
`I` a whole number of at most `length` digits. Elements appear in the order listed (the messages are
sequences, as in the JAXB bindings below).

Sources (public implementations of the 海关跨境电子商务进出境统一版 message specification, read 2026-12):
- S1 fucl123/crs, common/src/main/java/com/kzkj/pojo/vo/request/{logistics/Logistics, arrival/ArrivalHead,
  arrival/ArrivalList, departure/DepartureHead, departure/DepartureList, base/BaseTransfer}.java and
  response/arrival/ArrivalReturn.java: element names and their order (JAXB `propOrder`); `EnumMsgType`
  there names CEB505 运单 (waybill), CEB507 运抵 (arrival), CEB509 离境 (departure).
- S2 a PHP client of the single window (`CustomsDeclareClient\\CebMessage\\TransportBillExport\\Client`):
  required CEB505 fields and lengths (logisticsCode <= 20, logisticsName <= 100, freight, insuredFee,
  grossWeight and packNo numbers), BaseTransfer copCode <= 18, copName <= 100, dxpId <= 30, dxpMode `DXP`.
- S3 a MySQL schema of the same specification (T_IMPORT_* tables): logisticsNo VARCHAR(20), goodsInfo 200,
  billNo 37, voyageNo 32, trafName 100, loctNo 10, customs codes 4 digits, appType 1 new / 2 change /
  3 delete, appStatus 1 stored / 2 declared, appTime `YYYYMMDDhhmmss`.
- S4 the specification's receipt table as quoted in public code (CEB304 comment block): guid C36,
  returnStatus C1..10 (1 stored, 2 declaring, 3 sent to customs, 4 sending failed, 100 returned (rejected),
  120 entered (accepted), 399 concluded; < 0 a processing error), returnTime C17 `yyyyMMddHHmmssfff`,
  returnInfo C..1000.
- S5 the import series (1210 bonded import): fucl123/crs, common/src/main/java/com/kzkj/pojo/vo/request/
  {logistics/CEB511Message, logistics/ImportLogistics, logistics/ImportLogisticsHead,
  logisticsStatus/CEB513Message, logisticsStatus/LogisticsStatus}.java: `CEB511Message` holds
  `Logistics/LogisticsHead` (guid, appType, appTime, appStatus, logisticsCode, logisticsName, logisticsNo,
  billNo, orderNo, freight, insuredFee, currency, weight, packNo, goodsInfo, consignee, consigneeAddress,
  consigneeTelephone, note: that order), `CEB513Message` holds `LogisticsStatus` (guid, appType, appTime,
  appStatus, logisticsCode, logisticsName, logisticsNo, logisticsStatus, logisticsTime, note); `EnumMsgType`
  names CEB511 进口运单 (import waybill) and CEB513 进口运单状态 (import waybill status).
- S6 a public implementation's import waybill table (xaeport crossborder, `ImpLogistics`, field comments):
  logisticsStatus "物流签收状态，限定S" (only S, signed for), logisticsTime `YYYYMMDDhhmmss` the moment the
  status happened, currency "限定为人民币，填写142", packNo "限定为1" for a parcel, goodsInfo and consignee
  required under 9610 only, voyageNo left out for bonded import; and a public constants file naming the
  receipts CEB512 `LogisticsReturn` and CEB514 `LogisticsStatusReturn`.
Deviations: S6 limits the import waybill's currency to 142 (CNY); xborder holds no exchange rate, so the
CEB511 declares the booked price in its own currency (one of the six codes) -- a gap, noted in the README;
packNo is the booking's package count, since a 1210 inbound waybill is a consignment, not one parcel.
Where the sources disagree the stricter length is used (logisticsCode: 18 here, the unified social credit
code's length, against S2's 20). Codes: trafMode from the customs transport-mode table (2 sea, 3 rail,
4 road, 5 air; S3 says "海关标准的参数代码"); currency from the customs currency table (142 CNY, 502 USD,
300 EUR, 303 GBP, 116 JPY, 110 HKD) -- these six as used in public implementations, an estimate of the
table's relevant subset, not the whole table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree import ElementTree as ET

NS = "http://www.chinaport.gov.cn/ceb"

CURRENCY_CODES = {"CNY": "142", "USD": "502", "EUR": "300", "GBP": "303", "JPY": "116", "HKD": "110"}
TRAF_MODES = {"sea": "2", "river": "2", "rail": "3", "road": "4", "air": "5"}
APP_TYPES = ("1", "2", "3")  # new, change, delete (S3)


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # C text, C= exact length text, N decimal, I integer
    length: int
    required: bool = True
    codes: tuple[str, ...] = ()
    pattern: str | None = None


def c(name: str, length: int, required: bool = True, **kw: object) -> Field:
    return Field(name, "C", length, required, **kw)  # type: ignore[arg-type]


TIME14 = r"\d{14}"
GUID = r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}"
CUSTOMS = r"\d{4}"

COMMON_HEAD = (
    Field("guid", "C=", 36, pattern=GUID),
    Field("appType", "C=", 1, codes=APP_TYPES),
    Field("appTime", "C=", 14, pattern=TIME14),
    Field("appStatus", "C=", 1, codes=("1", "2")),
)

BLOCKS: dict[str, tuple[Field, ...]] = {
    "BaseTransfer": (
        c("copCode", 18),
        c("copName", 100),
        Field("dxpMode", "C=", 3, codes=("DXP",)),
        c("dxpId", 30),
        c("note", 1000, False),
    ),
    "Logistics": COMMON_HEAD
    + (
        c("logisticsCode", 18),
        c("logisticsName", 100),
        c("logisticsNo", 20),
        Field("freight", "N", 14),
        Field("insuredFee", "N", 14),
        Field("currency", "C=", 3, codes=tuple(CURRENCY_CODES.values())),
        Field("grossWeight", "N", 14),
        Field("packNo", "I", 9),
        c("goodsInfo", 200),
        c("ebcCode", 18, False),
        c("ebcName", 100, False),
        c("ebcTelephone", 50, False),
        c("note", 1000, False),
    ),
    "LogisticsHead": COMMON_HEAD  # the import waybill (CEB511, S5/S6)
    + (
        c("logisticsCode", 18),
        c("logisticsName", 100),
        c("logisticsNo", 20),
        c("billNo", 37, False),
        c("orderNo", 60, False),
        Field("freight", "N", 14),
        Field("insuredFee", "N", 14),
        Field("currency", "C=", 3, codes=tuple(CURRENCY_CODES.values())),
        Field("weight", "N", 14),
        Field("packNo", "I", 9),
        c("goodsInfo", 200, False),
        c("consignee", 100, False),
        c("consigneeAddress", 200, False),
        c("consigneeTelephone", 50, False),
        c("note", 1000, False),
    ),
    "LogisticsStatus": COMMON_HEAD  # the import waybill's status (CEB513, S5/S6)
    + (
        c("logisticsCode", 18),
        c("logisticsName", 100),
        c("logisticsNo", 20),
        Field("logisticsStatus", "C=", 1, codes=("S",)),
        Field("logisticsTime", "C=", 14, pattern=TIME14),
        c("note", 1000, False),
    ),
    "ArrivalHead": COMMON_HEAD
    + (
        Field("customsCode", "C=", 4, pattern=CUSTOMS),
        c("copNo", 20),
        c("operatorCode", 18),
        c("operatorName", 100),
        c("loctNo", 10, False),
        Field("ieFlag", "C=", 1, codes=("E", "I")),
        Field("trafMode", "C=", 1, codes=tuple(sorted(set(TRAF_MODES.values())))),
        c("billNo", 37, False),
        c("domesticTrafNo", 100, False),
        c("logisticsCode", 18),
        c("logisticsName", 100),
        Field("msgCount", "I", 9),
        Field("msgSeqNo", "I", 9),
        c("note", 1000, False),
    ),
    "ArrivalList": (
        Field("gnum", "I", 9),
        c("logisticsNo", 20),
        c("totalPackageNo", 20, False),
        c("note", 1000, False),
    ),
    "DepartureHead": COMMON_HEAD
    + (
        Field("customsCode", "C=", 4, pattern=CUSTOMS),
        c("copNo", 20),
        c("logisticsCode", 18),
        c("logisticsName", 100),
        Field("trafMode", "C=", 1, codes=tuple(sorted(set(TRAF_MODES.values())))),
        c("trafName", 100),
        c("voyageNo", 32),
        c("billNo", 37),
        Field("leaveTime", "C=", 14, pattern=TIME14),
        Field("msgCount", "I", 9),
        Field("msgSeqNo", "I", 9),
        c("note", 1000, False),
    ),
    "DepartureList": (
        Field("gnum", "I", 9),
        c("totalPackageNo", 20, False),
        c("logisticsNo", 20),
        c("note", 1000, False),
    ),
}
RETURN_FIELDS = (
    Field("guid", "C=", 36, pattern=GUID),
    Field("returnStatus", "C", 10, pattern=r"-?\d{1,9}"),
    Field("returnTime", "C=", 17, pattern=r"\d{17}"),
    Field("returnInfo", "C", 1000, required=False),
)

# Root -> its blocks in order, with how many of each (min, max). Lists: at most LIST_ROWS rows per message
# (an estimate from the lists' msgCount/msgSeqNo splitting; the sources give no figure); a longer list is
# split over several messages (`messages.list_parts`).
LIST_ROWS = 100
MESSAGES: dict[str, tuple[tuple[str, int, int], ...]] = {
    "CEB505Message": (("Logistics", 1, 1), ("BaseTransfer", 1, 1)),
    "CEB507Message": (("Arrival", 1, 1), ("BaseTransfer", 1, 1)),
    "CEB509Message": (("Departure", 1, 1), ("BaseTransfer", 1, 1)),
    "CEB511Message": (("Logistics", 1, 100), ("BaseTransfer", 1, 1)),
    "CEB513Message": (("LogisticsStatus", 1, 100), ("BaseTransfer", 1, 1)),
}
# Blocks made of blocks; "<root>/<name>" where a name means another block under that root (the import
# waybill's `Logistics` wraps a `LogisticsHead`, the export waybill's `Logistics` holds the fields).
NESTED: dict[str, tuple[tuple[str, int, int], ...]] = {
    "CEB511Message/Logistics": (("LogisticsHead", 1, 1),),
    "Arrival": (("ArrivalHead", 1, 1), ("ArrivalList", 1, LIST_ROWS)),
    "Departure": (("DepartureHead", 1, 1), ("DepartureList", 1, LIST_ROWS)),
}
RECEIPTS = {
    "CEB506Message": "LogisticsReturn",
    "CEB508Message": "ArrivalReturn",
    "CEB510Message": "DepartureReturn",
    "CEB512Message": "LogisticsReturn",
    "CEB514Message": "LogisticsStatusReturn",
}


class SchemaError(ValueError):
    """A message that does not conform to the schema; `problems` lists each violation with its path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def local(tag: str) -> str:
    return tag.split("}", 1)[1] if tag.startswith("{") else tag


def _check_value(path: str, f: Field, text: str, problems: list[str]) -> None:
    if f.kind == "C" and len(text) > f.length:
        problems.append(f"{path}: {len(text)} characters, at most {f.length}")
    if f.kind == "C=" and len(text) != f.length:
        problems.append(f"{path}: {len(text)} characters, exactly {f.length}")
    if f.kind == "N" and not re.fullmatch(rf"\d{{1,{f.length}}}(\.\d{{1,5}})?", text):
        problems.append(f"{path}: {text!r} is not a decimal of at most {f.length} digits and 5 decimals")
    if f.kind == "I" and not re.fullmatch(rf"\d{{1,{f.length}}}", text):
        problems.append(f"{path}: {text!r} is not a whole number of at most {f.length} digits")
    if f.codes and text not in f.codes:
        problems.append(f"{path}: {text!r} is not one of {', '.join(f.codes)}")
    if f.pattern and not re.fullmatch(f.pattern, text):
        problems.append(f"{path}: {text!r} does not match {f.pattern}")


def _check_fields(path: str, el: ET.Element, fields: tuple[Field, ...], problems: list[str]) -> None:
    names = [f.name for f in fields]
    children = list(el)
    order = []
    for child in children:
        if child.tag.startswith("{") and not child.tag.startswith(f"{{{NS}}}"):
            problems.append(f"{path}/{child.tag}: not in the ceb namespace")
            continue
        name = local(child.tag)
        if name not in names:
            problems.append(f"{path}/{name}: not an element of {local(el.tag)}")
            continue
        order.append(names.index(name))
    if order != sorted(order) or len(order) != len(set(order)):
        problems.append(f"{path}: elements out of order or repeated (expected {', '.join(names)})")
    for f in fields:
        found = el.find(q(f.name))
        text = (found.text or "") if found is not None else ""
        if found is None or text == "":
            if f.required:
                problems.append(f"{path}/{f.name}: required")
            continue
        _check_value(f"{path}/{f.name}", f, text, problems)


def _check_blocks(
    path: str, el: ET.Element, layout: tuple[tuple[str, int, int], ...], problems: list[str], root: str
) -> None:
    allowed = [name for name, _, _ in layout]
    for child in el:
        if local(child.tag) not in allowed or not child.tag.startswith(f"{{{NS}}}"):
            problems.append(f"{path}/{local(child.tag)}: not allowed here (expected {', '.join(allowed)})")
    for name, low, high in layout:
        found = el.findall(q(name))
        if not low <= len(found) <= high:
            problems.append(f"{path}/{name}: {len(found)} found, {low}..{high} expected")
        for i, child in enumerate(found, 1):
            where = f"{path}/{name}[{i}]"
            nested = NESTED.get(f"{root}/{name}") or NESTED.get(name)
            if nested is not None:
                _check_blocks(where, child, nested, problems, root)
            else:
                _check_fields(where, child, BLOCKS[name], problems)


def validate(xml: bytes) -> ET.Element:
    """The message's root if it conforms to the schema; else `SchemaError` naming every violation."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise SchemaError([f"not well-formed XML: {exc}"]) from exc
    name = local(root.tag)
    if not root.tag.startswith(f"{{{NS}}}") or name not in MESSAGES:
        raise SchemaError([f"root {root.tag!r} is not one of {', '.join(MESSAGES)} in {NS}"])
    problems: list[str] = []
    if not re.fullmatch(GUID, root.get("guid", "")):
        problems.append(f"/{name}@guid: must be an upper-case UUID")
    if root.get("version") != "1.0":
        problems.append(f"/{name}@version: must be 1.0")
    _check_blocks(f"/{name}", root, MESSAGES[name], problems, name)
    if problems:
        raise SchemaError(problems)
    return root


def validate_receipt(xml: bytes) -> tuple[str, ET.Element]:
    """(receipt type, its return block) if `xml` is a CEB506/508/510/512/514 receipt; else `SchemaError`."""
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise SchemaError(["document type declarations are not accepted"])
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise SchemaError([f"not well-formed XML: {exc}"]) from exc
    name = local(root.tag)
    if not root.tag.startswith(f"{{{NS}}}") or name not in RECEIPTS:
        raise SchemaError([f"root {root.tag!r} is not one of {', '.join(RECEIPTS)} in {NS}"])
    block = root.find(q(RECEIPTS[name]))
    if block is None:
        raise SchemaError([f"/{name}/{RECEIPTS[name]}: required"])
    problems: list[str] = []
    for f in RETURN_FIELDS:
        child = block.find(q(f.name))
        text = (child.text or "") if child is not None else ""
        if not text:
            if f.required:
                problems.append(f"/{name}/{RECEIPTS[name]}/{f.name}: required")
            continue
        _check_value(f"/{name}/{RECEIPTS[name]}/{f.name}", f, text, problems)
    if problems:
        raise SchemaError(problems)
    return name[:6], block
