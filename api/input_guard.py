"""Refuses, at the edge, input that is well-formed HTTP and JSON but that no layer below can hold.

PostgreSQL refuses a NUL character in text (a 500 deep in a query); Python's JSON decoder and Pydantic recurse
once per nesting level (a `RecursionError` near 1,000 levels). Both are caught here once, for every route,
instead of by a validator on each string field.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import problems

MAX_JSON_DEPTH = 64  # our deepest contract nests 4 levels (booking -> references -> ...): 64 is generous
# A `\u0000` escape that is not itself escaped: preceded by an even number of backslashes.
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def nul_detail(where: str) -> str:
    return f"the {where} contains a NUL character (\\u0000), which no text field accepts"


def depth_detail() -> str:
    return f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels"


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings are skipped)."""
    depth = deepest = 0
    for m in _BRACKETS.finditer(_JSON_STRING.sub(b"", body)):
        if m.group() in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def body_problem(body: bytes) -> str | None:
    """Why a request body must be refused before it is parsed, or None."""
    if b"\x00" in body or _NUL_ESCAPE.search(body):
        return nul_detail("request body")
    if json_depth(body) > MAX_JSON_DEPTH:
        return depth_detail()
    return None


class InputGuard:
    """Answers a NUL in the path or query at once, and one in the body (or a body nested too deep) with a 422.

    The body is read whole (the body limit outside bounds it) when the application first asks for it, so the
    refusal is raised from the application's own read and answered by `problems` like any validation error.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _nul_in_target(scope)
        if where is not None:
            detail = nul_detail(where)
            # The same problem type as the body refusals below (answered by `problems` as any 422 HTTP error).
            response = problems.problem(422, "Invalid input", detail, "invalid-input")
            await response(scope, receive, send)
            return
        read = False

        async def guarded() -> Message:
            nonlocal read
            if read:
                return await receive()
            read = True
            chunks: list[bytes] = []
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return message
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
            refused = body_problem(body)
            if refused is not None:
                raise HTTPException(422, refused)
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, guarded, send)


def _nul_in_target(scope: Scope) -> str | None:
    if "\x00" in scope["path"]:
        return "path"
    if b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
        return "query string"
    return None
