"""The web application factory."""
from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from service.context import Context
from service.routes import ROUTERS
from service.settings import Settings
from service.web import STATIC, SignInRequired, render

ERROR_TITLES = {403: "没有权限", 404: "页面不存在", 405: "不支持的操作", 413: "内容过大", 422: "输入有误"}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/health"


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, _: SignInRequired):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if _wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else "找不到这个页面或条目。"
        return render(request, "error.html", {"title": ERROR_TITLES.get(exc.status_code, "出错了"),
                                              "message": message}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        if _wants_json(request):
            return JSONResponse({"detail": exc.errors()}, status_code=422)
        fields = "、".join(str(e["loc"][-1]) for e in exc.errors())
        return render(request, "error.html", {"title": "输入有误", "message": f"请检查这些参数：{fields}"},
                      status_code=422)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; nothing is opened until the app starts."""
    settings = settings or Settings()
    context = Context(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # rebuild the indexes from stored vectors without holding up the first requests
        threading.Thread(target=lambda: context.matches, name="warm-matcher", daemon=True).start()
        yield

    app = FastAPI(title="scenario-match 场景供需对接", version="0.1.0", lifespan=lifespan)
    app.state.context = context
    app.add_middleware(SessionMiddleware, secret_key=settings.session_secret(), same_site="lax",
                       session_cookie="scenario_match_session", max_age=12 * 3600)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    _install_error_pages(app)
    return app
