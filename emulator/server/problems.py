"""Errors as RFC 9457 problem documents: every client mistake is a 4xx that says which field and why."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from emulator.errors import (
    ConflictError,
    EmulatorError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    RefusedError,
    ScenarioError,
)

PROBLEM = "application/problem+json"
MAX_BODY = 1024 * 1024
MAX_DEPTH = 32  # levels of nesting a request body may have (what needs more is not an emulator's input)


# the status of each kind of refusal the domain raises
REFUSAL_STATUS: dict[type[RefusedError], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    InvalidError: 422,
    ForbiddenError: 403,
}


class ApiError(EmulatorError):
    """A request the API refuses as HTTP (malformed JSON, too large, a wrong query parameter): status,
    a short title, what exactly is wrong, and where."""

    def __init__(self, status: int, title: str, detail: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.field, self.extra = status, title, detail, field, extra


def problem_response(status: int, title: str, detail: str, field: str | None = None, **extra: Any) -> web.Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if field:
        body["field"] = field
    body.update(extra)
    return web.Response(status=status, text=json.dumps(body, ensure_ascii=False), content_type=PROBLEM)


async def read_json(request: web.Request, empty: bool = True) -> dict[str, Any]:
    """The request body as a JSON object, or a 4xx problem that says what is wrong with it.

    An empty body reads as ``{}`` unless ``empty`` is false.
    """
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "Request body too large", f"at most {MAX_BODY} bytes")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, "Request body too large", f"at most {MAX_BODY} bytes") from None
    if not raw and not empty:
        raise ApiError(422, "Body needed", "this request needs a JSON object as its body")
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "Malformed JSON", f"the body is not JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "Nested too deeply", "the JSON body nests too deeply") from None
    if not isinstance(data, dict):
        raise ApiError(422, "Wrong type", "the body must be a JSON object")
    if depth(data) > MAX_DEPTH:
        raise ApiError(422, "Nested too deeply", f"a request nests at most {MAX_DEPTH} levels")
    return data


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply ``value`` nests, found without recursion (a hostile body may nest thousands deep);
    counting stops past ``limit``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if level > limit:
            return level
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def field(
    data: dict[str, Any], name: str, kind: type | tuple[type, ...], required: bool = False, default: Any = None
) -> Any:
    """One field of a JSON body, checked for type; a problem names the field."""
    if name not in data or data[name] is None:
        if required:
            raise ApiError(422, "Missing field", f"'{name}' is required", name)
        return default
    value = data[name]
    if not isinstance(value, kind) or (
        isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,))
    ):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ApiError(422, "Wrong type", f"'{name}' must be {names}, got {type(value).__name__}", name)
    return value


@web.middleware
async def problems(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Turn every refusal into a problem document; a fault of ours is a 500 without internals."""
    try:
        return await handler(request)
    except ApiError as exc:
        return problem_response(exc.status, exc.title, exc.detail, exc.field, **exc.extra)
    except RefusedError as exc:
        status = REFUSAL_STATUS.get(type(exc), 422)
        return problem_response(status, exc.title, exc.detail, exc.field, **exc.extra)
    except ScenarioError as exc:
        return problem_response(422, "Invalid scenario", str(exc), "yaml", problems=[str(p) for p in exc.problems])
    except EmulatorError as exc:
        return problem_response(422, "Invalid request", str(exc))
    except web.HTTPException as exc:
        if exc.status >= 400:
            response = problem_response(exc.status, exc.reason, exc.text or exc.reason)
            if "Allow" in exc.headers:  # a 405 says which methods would do (RFC 9110)
                response.headers["Allow"] = exc.headers["Allow"]
            return response
        raise
