"""Exceptions to HTTP answers: the only mapping (``{"message": …}``, Docker's statuses)."""

from __future__ import annotations

import json
import logging

from aiohttp import web

from seaway.errors import InvalidParameter, SeawayError, status_for

log = logging.getLogger(__name__)


def json_response(data: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON with ``Content-Type: application/json`` exactly: the docker CLI compares the
    header verbatim and shows the raw body when a charset is appended."""
    body = json.dumps(data).encode()
    return web.Response(body=body, status=status, headers={**(headers or {}), "Content-Type": "application/json"})


def error_response(status: int, message: str) -> web.Response:
    return json_response({"message": message}, status=status)


@web.middleware
async def errors_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    try:
        return await handler(request)
    except SeawayError as exc:
        status = status_for(exc)
        if status >= 500 and getattr(exc, "detail", ""):  # the cause behind a generic text (etcd's words)
            log.warning("%s %s: %s (%s)", request.method, request.path, exc, exc.detail)  # type: ignore[attr-defined]
        return error_response(status, str(exc))
    except json.JSONDecodeError as exc:
        return error_response(400, f"invalid JSON: {exc}")
    except web.HTTPNotFound:
        return error_response(501, f"{request.method} {request.path} is not implemented by Seaway")
    except web.HTTPMethodNotAllowed:
        return error_response(501, f"{request.method} {request.path} is not implemented by Seaway")
    except web.HTTPException:
        raise
    except (ConnectionResetError, BrokenPipeError):
        # the client went away while we streamed (a wait or attach it gave up on)
        log.debug("client of %s %s went away", request.method, request.path)
        return web.Response(status=204)
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal error in Seaway; the daemon's log has the details")


async def json_body(request: web.Request) -> dict[str, object]:
    """The request's JSON object (an empty body or ``null`` is an empty object)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    body = json.loads(raw)
    if body is None:  # null: Go decodes it into an empty value, as dockerd does
        return {}
    if not isinstance(body, dict):
        raise InvalidParameter("invalid JSON: expected an object")
    return body
