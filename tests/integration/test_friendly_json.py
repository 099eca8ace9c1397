"""A JSON body is read as JSON whatever the client forgot to declare; a body that is not JSON gets a problem
that says what to send, and where reading stopped."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

BODY = b'{"name": "Sanjiang Freight Forwarding", "kind": "forwarder"}'


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain;charset=UTF-8", None]
)
def test_a_json_body_without_the_json_header_is_accepted(
    client: TestClient, admin: dict[str, str], content_type: str | None
) -> None:
    headers = dict(admin)
    if content_type:
        headers["Content-Type"] = content_type
    r = client.post("/v1/tenants", content=BODY, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "Sanjiang Freight Forwarding"


def test_a_form_that_is_not_json_is_415_naming_the_header(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post(
        "/v1/tenants",
        content=b"name=Sanjiang&kind=forwarder",
        headers={**admin, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["type"].endswith("/unsupported-media-type")
    assert "Content-Type: application/json" in problem["detail"]


@pytest.mark.parametrize("content_type", ["application/json", None])
def test_malformed_json_names_line_and_column(
    client: TestClient, admin: dict[str, str], content_type: str | None
) -> None:
    body = b'{\n  "name": "Sanjiang",\n  "kind" "forwarder"\n}'  # the colon after "kind" is missing
    headers = dict(admin)
    if content_type:
        headers["Content-Type"] = content_type
    r = client.post("/v1/tenants", content=body, headers=headers)
    assert r.status_code == 400
    problem = r.json()
    assert problem["type"].endswith("/malformed-json")
    (error,) = problem["errors"]
    assert error == {
        "field": "body",
        "message": "Expecting ':' delimiter",
        "line": 3,
        "column": 10,
        "type": "json_invalid",
    }
    assert "line 3, column 10" in problem["detail"]


def test_another_declared_type_is_left_to_its_route(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post("/v1/tenants", content=BODY, headers={**admin, "Content-Type": "application/xml"})
    assert r.status_code == 415  # not read as JSON: the problem says which header to send
    assert "Content-Type: application/json" in r.json()["detail"]


def test_a_customs_receipt_sent_as_a_form_is_read_as_xml(client: TestClient, admin: dict[str, str]) -> None:
    """`curl -d @receipt.xml` declares a form: the receipts route takes its body as the XML it is, so the
    answer is about the receipt (not one this service filed: 404), not a 415 asking for JSON."""
    receipt = (
        b'<ceb:CEB506Message xmlns:ceb="http://www.chinaport.gov.cn/ceb" guid="x" version="1.0">'
        b"<ceb:LogisticsReturn><ceb:guid>00000000-0000-0000-0000-000000000000</ceb:guid>"
        b"<ceb:returnStatus>120</ceb:returnStatus><ceb:returnTime>20270301140000000</ceb:returnTime>"
        b"<ceb:returnInfo>ok</ceb:returnInfo></ceb:LogisticsReturn></ceb:CEB506Message>"
    )
    r = client.post(
        "/v1/customs/receipts",
        content=receipt,
        headers={**admin, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code != 415, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.status_code == 404, r.text
