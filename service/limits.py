"""Request bodies over a set size are refused before they are read whole (413)."""
from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import error_body

# paths that take a list file: these get the import limit, everything else the body limit
FILE_PATHS = ("/admin/import", "/api/v1/imports")


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Pure ASGI middleware: checks Content-Length up front and counts streamed bytes."""

    def __init__(self, app: ASGIApp, *, body_bytes: int, file_bytes: int):
        self.app = app
        self.body_bytes = body_bytes
        self.file_bytes = file_bytes

    def limit_for(self, path: str) -> int:
        # a multipart file upload carries some form overhead beyond the file itself
        return self.file_bytes + 64 * 1024 if path.startswith(FILE_PATHS) else self.body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._refuse(scope, send, limit)
            return
        seen = 0
        exceeded = False
        refused = False

        async def counted() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise _TooLarge()
            return message

        async def watched(message: Message) -> None:
            # a framework may turn the read error into its own 400: answer 413 instead
            nonlocal refused
            if exceeded:
                if not refused:
                    refused = True
                    await self._refuse(scope, send, limit)
                return
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not refused:
                refused = True
                await self._refuse(scope, send, limit)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        size = f"{limit // 1024} KB" if limit < 1024 * 1024 else f"{limit / 1024 / 1024:.0f} MB"
        if scope["path"].startswith("/api/"):
            body = json.dumps(error_body("too_large", f"the request body is larger than {size}")).encode()
            content_type = b"application/json"
        else:
            body = f"提交的内容过大（上限 {size}）。".encode()
            content_type = b"text/plain; charset=utf-8"
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
