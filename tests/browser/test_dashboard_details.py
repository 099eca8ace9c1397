"""Dashboard behaviour that needs states the test server does not reach by itself (a waybill under way,
a stream that drops), plus accessibility and layout checks across the views."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, shoot, sign_in
from tests.browser.test_dashboard import book_through_api

pytestmark = pytest.mark.usefixtures("chromium_executable")


def _at(t: str, hours: float) -> str:
    moved = datetime.fromisoformat(t.replace("Z", "+00:00")) + timedelta(hours=hours)
    return moved.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def under_way(waybill: dict[str, Any]) -> dict[str, Any]:
    """The booked waybill as it would look days later: departed an hour late, a border crossing inferred
    (no reading inside the fence), the arrival re-estimated, a live and a cleared alarm, a last position."""
    planned = [m for m in waybill["milestones"] if m["classifier"] == "PLN"]
    depa, cros, last = planned[1], next(m for m in planned if m["code"] == "CROS"), planned[-1]
    assert depa["code"] == "DEPA"
    actual = [
        {**planned[0], "classifier": "ACT", "time": _at(planned[0]["time"], 1), "inferred": False},
        {**depa, "classifier": "ACT", "time": _at(depa["time"], 1), "inferred": False},
        {**cros, "classifier": "ACT", "time": _at(cros["time"], -2), "inferred": True},
        {**last, "classifier": "EST", "time": _at(last["time"], 30), "inferred": False},
    ]
    stop = next(s for s in waybill["itinerary"]["stops"] if s["node_id"] == cros["location"])
    return {
        **waybill,
        "status": "IN_TRANSIT",
        "eta": _at(last["time"], 30),
        "milestones": waybill["milestones"] + actual,
        "position": {"lat": stop["lat"] + 0.5, "lon": stop["lon"] + 1.0, "at": _at(cros["time"], 3)},
        "alarms": [
            {
                "kind": "temperature",
                "device_id": "TRK-1",
                "raised_at": _at(depa["time"], 5),
                "cleared_at": None,
                "max_c": 9.5,
            },
            {
                "kind": "shock",
                "device_id": "TRK-1",
                "raised_at": _at(depa["time"], 2),
                "cleared_at": _at(depa["time"], 2.1),
            },
        ],
        "trackers": ["TRK-1"],
    }


def test_waybill_under_way_shows_plan_estimate_and_actual_side_by_side(
    page: Any, server: Server, shots: Path
) -> None:
    key = server.key("forwarder")
    real = book_through_api(server, key)
    shown = under_way(real)
    no = real["waybill_no"]
    page.route(
        f"**/v1/waybills/{no}",
        lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(shown)),
    )
    sign_in(page, key)
    page.goto(server.base + f"/#/waybills/{no}")
    page.locator("#timeline tbody tr").first.wait_for()
    rows = page.locator("#timeline tbody tr")
    # one row per planned milestone: actual and estimated events join their planned row, never add rows
    assert rows.count() == len(
        {(m["code"], m["location"]) for m in real["milestones"] if m["classifier"] == "PLN"}
    )
    departed = rows.nth(1)
    assert departed.locator("td.pln time").count() == departed.locator("td.act time").count() == 1
    assert departed.locator("td.num").inner_text() == "+1.0 h"
    arrival = rows.last
    assert arrival.locator("td.est time").count() == 1 and arrival.locator("td.act time").count() == 0
    assert arrival.locator("td.num").inner_text() == "+30.0 h"
    inferred = page.locator("#timeline .badge.inferred")
    assert inferred.count() == 1
    assert inferred.locator("xpath=ancestor::tr").get_attribute("data-code") == "CROS"
    # alarms: the live one stands out, the cleared one is kept but muted
    assert page.locator("#alarms tbody tr.active").count() == 1
    assert page.locator("#alarms tbody tr.cleared").count() == 1
    assert "temperature" in page.locator("#alarms tbody tr.active").inner_text()
    # the last position is drawn on the map, and the ETA says it is behind plan
    page.locator("#route-map #map-position").wait_for(state="attached")
    assert page.locator("#route-map #map-position").count() == 1
    assert "+30.0 h vs plan" in page.locator("dl.facts").inner_text()
    shoot(page, shots, "waybill-under-way")


def test_the_stream_reader_reconnects_with_backoff_and_stops_on_a_refused_key(page: Any) -> None:
    """`openStream` against a scripted fetch: two connections that end, then a 401."""
    result = page.evaluate(
        """async () => {
          const { openStream } = await import('/static/js/sse.js');
          const answers = [
            () => new Response(new ReadableStream({ start(c) {
              c.enqueue(new TextEncoder().encode('event: waybill.status\\ndata: {"waybill_no": "A"}\\n\\n'));
              c.close(); } }),
              { status: 200, headers: { 'content-type': 'text/event-stream' } }),
            () => { throw new TypeError('network down'); },
            () => new Response(new ReadableStream({ start(c) {
              c.enqueue(new TextEncoder().encode('data: {"waybill_no": "B"}\\n\\n')); c.close(); } }),
              { status: 200 }),
            () => new Response('{}', { status: 401 }),
          ];
          const calls = [];
          const realFetch = window.fetch;
          window.fetch = async (url, init) => {
            calls.push(init.headers.Authorization);
            return answers[calls.length - 1]();
          };
          const events = [], states = [];
          await new Promise((resolve) => {
            openStream('/v1/stream', {
              headers: { Authorization: 'Bearer k' }, minDelay: 5, maxDelay: 40,
              onEvent: (e) => events.push([e.event, e.data.waybill_no]),
              onState: (s, info) => {
                states.push([s, info.delay ?? info.status ?? null]);
                if (s === 'refused') resolve();
              },
            });
          });
          window.fetch = realFetch;
          return { calls, events, states };
        }"""
    )
    assert result["calls"] == ["Bearer k"] * 4
    assert result["events"] == [["waybill.status", "A"], ["message", "B"]]
    kinds = [s for s, _ in result["states"]]
    assert kinds == [
        "connecting",
        "open",
        "retrying",
        "connecting",
        "retrying",
        "connecting",
        "open",
        "retrying",
        "connecting",
        "refused",
    ]
    delays = [d for s, d in result["states"] if s == "retrying"]
    # after the network error the delay doubles (jitter is within +-25%); data resets it
    assert 5 * 0.75 <= delays[0] <= 5 * 1.25
    assert 10 * 0.75 <= delays[1] <= 10 * 1.25
    assert 5 * 0.75 <= delays[2] <= 5 * 1.25
    assert result["states"][-1] == ["refused", 401]


def unlabelled_controls(page: Any) -> list[str]:
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('main input, main select, main textarea, main button')]
              .filter((el) => !el.hidden && el.offsetParent !== null)
              .filter((el) => !(el.labels && el.labels.length))
              .filter((el) => !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
              .filter((el) => !(el.tagName === 'BUTTON' && el.textContent.trim()))
              .map((el) => el.outerHTML.slice(0, 120))"""
        )
    )


def test_every_control_has_a_label_and_the_views_fit_a_phone(page: Any, server: Server, shots: Path) -> None:
    key = server.key("admin")
    sign_in(page, key)
    for view, ready in (
        ("shipments", "#waybills, .problem"),
        ("quote", "#quote-form"),
        ("warehouses", "#p-inventory"),
    ):
        page.goto(server.base + f"/#/{view}")
        page.locator(ready).first.wait_for()
        assert unlabelled_controls(page) == [], view
    page.set_viewport_size({"width": 390, "height": 844})
    for view, ready in (
        ("shipments", "#waybills, .problem"),
        ("quote", "#quote-form"),
        ("warehouses", "#p-inventory table"),
    ):
        page.goto(server.base + f"/#/{view}")
        page.locator(ready).first.wait_for()
        # wide tables scroll inside their own box; the page itself never scrolls sideways
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{view} is {overflow}px wider than a phone screen"
        shoot(page, shots, f"phone-{view}")


def test_keyboard_g_then_a_letter_switches_views_and_j_k_walk_the_rows(page: Any, server: Server) -> None:
    key = server.key("forwarder")
    first, second = book_through_api(server, key), book_through_api(server, key)
    sign_in(page, key)
    page.locator("[data-testid=overview]").wait_for()  # the overview comes first
    page.keyboard.press("g")
    page.keyboard.press("s")
    page.locator("#waybills tbody tr").nth(1).wait_for()
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("j")
    focused = page.evaluate("document.activeElement.textContent")
    shown = page.locator("#waybills tbody tr td:first-child a").all_inner_texts()
    assert focused == shown[1] and set(shown) == {first["waybill_no"], second["waybill_no"]}
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/#/waybills/{focused}")
    page.keyboard.press("g")
    page.keyboard.press("q")
    page.wait_for_url("**/#/quote")
    page.locator("#quote-form").wait_for()
    page.keyboard.press("g")
    page.keyboard.press("w")
    page.locator("#p-inventory").wait_for()
    assert page.locator("#nav a[aria-current='page']").inner_text() == "Warehouses"
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "inv-sku"


CONTRAST = """() => {
  const rgba = (s) => {
    const m = s.match(/[\\d.]+/g).map(Number);
    return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1];
  };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
  const background = (el) => {
    const chain = [];
    for (let e = el; e; e = e.parentElement) chain.push(rgba(getComputedStyle(e).backgroundColor));
    return chain.reverse().reduce((acc, c) => over(c, acc), [255, 255, 255, 1]);
  };
  const lum = (c) => {
    const linear = (v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    const [r, g, b] = c.slice(0, 3).map((v) => linear(v / 255));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const bad = [];
  for (const el of document.querySelectorAll('main *, header *')) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join('');
    if (!text || el.offsetParent === null || el.closest('svg')) continue;
    const style = getComputedStyle(el);
    const fg = over(rgba(style.color), background(el));
    const [a, b] = [lum(fg), lum(background(el))].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const where = `${el.tagName.toLowerCase()}.${el.className} "${text.slice(0, 30)}"`;
    if (ratio < 4.5) bad.push(`${where} ${ratio.toFixed(2)}`);
  }
  return bad;
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_meets_wcag_aa_in_light_and_dark(
    page: Any, server: Server, shots: Path, scheme: str
) -> None:
    """WCAG 2 AA (4.5:1) for every piece of text on a busy waybill and on the quote options."""
    page.emulate_media(color_scheme=scheme)
    key = server.key("forwarder")
    real = book_through_api(server, key)
    shown = under_way(real)
    page.route(
        f"**/v1/waybills/{real['waybill_no']}",
        lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(shown)),
    )
    sign_in(page, key)
    page.goto(server.base + f"/#/waybills/{real['waybill_no']}")
    page.locator("#events tbody tr").first.wait_for()
    assert page.evaluate(CONTRAST) == []
    shoot(page, shots, f"waybill-{scheme}")
    page.goto(server.base + "/#/quote")
    page.fill("#q-destination", "DEDUI")
    page.fill("#q-ready_at", "2027-03-01T06:00")
    page.click("#quote-form button[type=submit]")
    page.locator("#options tbody tr").first.wait_for(timeout=30_000)
    assert page.evaluate(CONTRAST) == []


def test_attach_a_new_tracker_shows_its_credentials_once_and_detach_removes_it(
    page: Any, server: Server, shots: Path
) -> None:
    key = server.key("forwarder")
    waybill = book_through_api(server, key)
    device = "TRK-" + uuid.uuid4().hex[:8].upper()
    sign_in(page, key)
    page.goto(server.base + f"/#/waybills/{waybill['waybill_no']}")
    page.fill("#t-device", device)
    page.select_option("#t-kind", "reefer")
    page.click("#tracker-form button[type=submit]")
    creds = page.locator("#device-credentials .creds")
    creds.wait_for()
    assert device in creds.inner_text()
    assert f"xborder/v1/devices/{device}/telemetry" in creds.inner_text()
    page.locator("#trackers ul.trackers li", has_text=device).wait_for()
    page.locator("#trackers").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "waybill-trackers.png"))
    with server.api(key) as api:
        assert api.get(f"/v1/waybills/{waybill['waybill_no']}").json()["trackers"] == [device]
        assert api.get(f"/v1/devices/{device}").json()["kind"] == "reefer"
    page.get_by_role("button", name=f"Detach {device}").click()
    page.locator("#trackers p.muted").wait_for()
    assert page.locator("#device-credentials .creds").count() == 1  # still there to copy after the refresh
    with server.api(key) as api:
        assert api.get(f"/v1/waybills/{waybill['waybill_no']}").json()["trackers"] == []
