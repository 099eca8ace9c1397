"""A thin typed client of the public xborder HTTP API (only the calls the simulator needs)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from iot_sim.motion import parse_time


class ApiError(Exception):
    """The API answered with an error (an RFC 9457 problem where it could)."""

    def __init__(self, status: int, detail: str, problem: dict[str, Any] | None = None) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail
        self.problem = problem or {}


@dataclass(frozen=True)
class Health:
    now: datetime
    clock_speed: float | None
    latency_s: float


class XborderApi:
    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 15.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._monotonic = monotonic
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {key}", "User-Agent": "xborder-simulator/0.1"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> XborderApi:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- calls
    def health(self) -> Health:
        """`GET /healthz`: the service clock. A 503 (a part down) still reports the clock."""
        started = self._monotonic()
        try:
            r = self._http.get("/healthz")
        except httpx.TransportError as exc:
            raise ApiError(0, f"GET /healthz: {exc}") from exc
        latency = self._monotonic() - started
        body = _json(r)
        if "now" not in body:
            raise ApiError(r.status_code, "GET /healthz did not report the service clock", body)
        speed = body.get("clock_speed")
        return Health(parse_time(str(body["now"])), float(speed) if speed is not None else None, latency)

    def nodes(self) -> dict[str, dict[str, Any]]:
        body = self._call("GET", "/v1/network/nodes")
        items: list[dict[str, Any]] = (
            (body.get("items") or body.get("nodes") or []) if isinstance(body, dict) else list(body)
        )
        return {str(n["id"]): dict(n) for n in items}

    def quote(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call("POST", "/v1/quotes", json=body, idempotent=True))

    def book(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call("POST", "/v1/bookings", json=body, idempotent=True))

    def register_device(
        self, device_id: str, kind: str, report_interval_s: int = 1800
    ) -> dict[str, Any] | None:
        """`POST /v1/devices`: the new device's credentials, or None when it exists already (409)."""
        try:
            body = {"device_id": device_id, "kind": kind, "report_interval_s": report_interval_s}
            return dict(self._call("POST", "/v1/devices", json=body, idempotent=True))
        except ApiError as exc:
            if exc.status == 409:
                return None
            raise

    def attach_tracker(self, waybill_no: str, device_id: str) -> None:
        """`POST /v1/waybills/{no}/trackers`; attaching an attached tracker again is fine (409 ignored)."""
        try:
            self._call(
                "POST", f"/v1/waybills/{waybill_no}/trackers", json={"device_id": device_id}, idempotent=True
            )
        except ApiError as exc:
            if exc.status != 409:
                raise

    def broker_url(self) -> str | None:
        """`GET /v1/broker`: the broker the service consumes telemetry from (None: it has none)."""
        url = self._call("GET", "/v1/broker").get("url")
        return str(url) if url else None

    def waybill(self, waybill_no: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/v1/waybills/{waybill_no}"))

    def waybill_customs(self, waybill_no: str) -> dict[str, Any]:
        """`GET /v1/waybills/{no}/customs`: the waybill's declarations and their receipts."""
        return dict(self._call("GET", f"/v1/waybills/{waybill_no}/customs"))

    def correct_customs(self, waybill_no: str, block: dict[str, Any]) -> dict[str, Any]:
        """`PUT /v1/waybills/{no}/customs`: corrected customs data (filed again as corrections)."""
        return dict(self._call("PUT", f"/v1/waybills/{waybill_no}/customs", json=block))

    def waybills(self, status: str | None = None, limit: int = 100) -> Iterator[dict[str, Any]]:
        """Every waybill the key can see, page by page (`next` is a cursor, or a link)."""
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        url = "/v1/waybills"
        seen: set[str] = set()
        while True:
            body = self._call("GET", url, params=params)
            yield from body.get("items", [])
            cursor = body.get("next")
            if not cursor or str(cursor) in seen:
                return
            seen.add(str(cursor))
            if str(cursor).startswith(("/", "http://", "https://")):
                url, params = str(cursor), {}
            else:
                params = {**params, "cursor": cursor}

    # -- plumbing
    def _call(self, method: str, url: str, *, idempotent: bool = False, **kwargs: Any) -> Any:
        headers = {"Idempotency-Key": f"sim-{uuid.uuid4()}"} if idempotent else {}
        last: Exception | None = None
        # Retry transport errors and 5xx a few times; the idempotency key makes a retried POST safe.
        for attempt in range(3):
            try:
                r = self._http.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                last = exc
                time.sleep(0.5 * (attempt + 1))
                continue
            if r.status_code >= 500 and attempt < 2:
                last = ApiError(r.status_code, r.text[:200])
                time.sleep(0.5 * (attempt + 1))
                continue
            if r.status_code >= 400:
                problem = _json(r)
                detail = str(problem.get("detail") or problem.get("title") or r.reason_phrase)
                raise ApiError(r.status_code, f"{method} {url}: {detail}", problem)
            return r.json() if r.content else {}
        raise ApiError(0, f"{method} {url}: {last}") from last


def _json(r: httpx.Response) -> dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        return {"detail": r.text[:200]}
    return body if isinstance(body, dict) else {"items": body}
