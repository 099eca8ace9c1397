"""A JSON body sent without `Content-Type: application/json` is read as JSON, or refused with a 415 saying so.

`curl -d '{...}'` sends `application/x-www-form-urlencoded`; FastAPI then hands the route the raw bytes and
answers "Input should be a valid dictionary", which does not say why. No route of the API takes a form or
plain text, so a body declared as either (or declared as nothing) that parses as JSON is taken as the JSON it
is: the header is relabelled `application/json` before routing. One that does not parse is answered
`415 Unsupported Media Type` with a detail naming the header to send. Any other declared type (XML, say) is
left to its route, and so is every body of the routes that take XML (`XML_ROUTES`: a customs receipt sent
with `curl -d @receipt.xml` is read as the XML it is).
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import problems

# What a client sends when it did not think about the type: curl -d, fetch with a string body, or nothing.
RELABELLED = {b"", b"application/x-www-form-urlencoded", b"text/plain"}
JSON = b"application/json"
# Routes whose body is XML whatever it is declared as (they read the raw body).
XML_ROUTES = frozenset({"/v1/customs/receipts"})


def _media_type(scope: Scope) -> tuple[bytes | None, str]:
    """(the media type, lower case and without parameters, or None without a header; the header as sent)"""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower(), value.decode("latin-1")
    return None, ""


class JsonBodies:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("POST", "PUT", "PATCH")
            or scope["path"] in XML_ROUTES
        ):
            await self.app(scope, receive, send)
            return
        media, declared = _media_type(scope)
        if media is not None and media not in RELABELLED:
            await self.app(scope, receive, send)
            return
        try:
            body = await _read(receive)
        except HTTPException as exc:  # the body limit's 413, raised from its receive
            await problems.too_large_from(exc)(scope, receive, send)
            return
        if body.strip():
            try:
                json.loads(body)
            except (ValueError, UnicodeDecodeError):
                if media is not None:  # declared as a form or text, and not JSON: say what to send
                    await problems.unsupported_media_type(declared)(scope, receive, send)
                    return
                # Without a header FastAPI parses it as JSON anyway: its malformed-JSON problem answers.
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope = dict(scope, headers=[*headers, (b"content-type", JSON)])
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _read(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
