"""The web application factory."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from service.api.errors import CODES, ApiError, error_body
from service.api.responses import WHY, ErrorBody
from service.context import Context
from service.follow import Follower
from service.limits import BodyLimit
from service.ratelimit import RateLimited
from service.api.routers import API_ROUTERS
from service.routes import ROUTERS
from service.settings import Settings
from service.web import STATIC, SignInRequired, render

log = logging.getLogger(__name__)

API_DESCRIPTION = """Matchmaking for Wuxi's 场景机会清单 (opportunities) and 场景能力清单 (capabilities).

* **Public** (no key): published entries without phone or email, their matches, search
  (rate-limited), firm submissions (rate-limited).
* **Firm**: `Authorization: Bearer <submission token>` reads and edits its own submission.
* **Integrator** key: read-only, contact details and unpublished entries included.
* **Organiser** key: everything.

Errors are `{"error": {"code", "message", "field"}}` with a stable `code`."""

ERROR_TITLES = {403: "没有权限", 404: "页面不存在", 405: "不支持的操作", 413: "内容过大", 422: "输入有误",
                429: "请求过于频繁"}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/health"


def _json_error(status: int, code: str, message: str, field: str | None = None,
                headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, field), status_code=status, headers=headers)


def _field_of(error: dict) -> str:
    """``("body", "title")`` → ``title``; ``("query", "limit")`` → ``limit``."""
    loc = [str(part) for part in error.get("loc", ())]
    return ".".join(loc[1:] if len(loc) > 1 and loc[0] in ("body", "query", "path", "header") else loc)


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, _: SignInRequired):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return _json_error(exc.status, exc.code, exc.message, exc.field, exc.headers)

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
        if _wants_json(request):
            return _json_error(429, "rate_limited", f"too many {exc.what} requests from this address; "
                               f"retry after {exc.retry_after} s", headers=headers)
        response = render(request, "error.html", {"title": ERROR_TITLES[429],
                                                  "message": f"操作过于频繁，请 {exc.retry_after} 秒后再试。"},
                          status_code=429)
        response.headers.update(headers)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if _wants_json(request):
            message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
            if exc.status_code == 404 and message == "Not Found":
                message = f"no such path: {request.url.path}"
            return _json_error(exc.status_code, CODES.get(exc.status_code, "error"), message, headers=exc.headers)
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else "找不到这个页面或条目。"
        return render(request, "error.html", {"title": ERROR_TITLES.get(exc.status_code, "出错了"),
                                              "message": message}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if _wants_json(request):
            first = errors[0] if errors else {}
            field = _field_of(first) if first else None
            reason = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
            message = f"{field}: {reason}" if field else reason
            return _json_error(422, "invalid", message, field)
        fields = "、".join(str(e["loc"][-1]) for e in errors)
        return render(request, "error.html", {"title": "输入有误", "message": f"请检查这些参数：{fields}"},
                      status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if _wants_json(request):
            return _json_error(500, "internal", "an unexpected error; it has been logged")
        return render(request, "error.html", {"title": "出错了", "message": "服务器内部错误，已记录。请稍后重试。"},
                      status_code=500)


def _openapi_with_our_errors(app: FastAPI) -> None:
    """Document 422 in the shape the app sends (``{"error": …}``), not FastAPI's default."""

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components["ErrorBody"] = body
        for operation in (op for path in schema.get("paths", {}).values() for op in path.values()):
            invalid = operation.get("responses", {}).get("422")
            if invalid:
                invalid["description"] = WHY[422]
                invalid["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; nothing is opened until the app starts."""
    settings = settings or Settings()
    context = Context(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # the follower rebuilds the indexes from stored vectors without holding up the first
        # requests, then keeps them in step with what other processes write
        follower = Follower(context)
        app.state.follower = follower
        follower.start()
        try:
            yield
        finally:
            follower.stop()

    app = FastAPI(title="scenario-match 场景供需对接", version="0.1.0", lifespan=lifespan,
                  description=API_DESCRIPTION)
    app.state.context = context
    app.add_middleware(BodyLimit, body_bytes=settings.max_body_bytes, file_bytes=settings.max_import_bytes)
    app.add_middleware(SessionMiddleware, secret_key=settings.session_secret(), same_site="lax",
                       session_cookie="scenario_match_session", max_age=12 * 3600)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS + API_ROUTERS:
        app.include_router(router)
    _install_error_pages(app)
    _openapi_with_our_errors(app)
    return app
