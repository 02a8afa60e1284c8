"""Request bodies larger than REQUEST_BODY_MAX_BYTES are refused with 413 before they are read.

Django under ASGI reads a whole body (spooling it to disk) before its own size check runs, and
/mcp is answered in front of Django: so the bound is kept here, outermost.  A declared
Content-Length over the limit is refused at once; a chunked body is counted as it arrives and
refused as soon as it passes the limit.
"""

from __future__ import annotations

import json

from .problems import BODY_TOO_LARGE, PROBLEM_CONTENT_TYPE, problem_body


class BodySizeLimit:
    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False  # the server refuses a malformed length itself
                if too_big:
                    return await self._refuse(send)
        received = 0
        refused = False

        async def counting_receive():
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not refused:
                    refused = True
                    await self._refuse(send)
                    # The application sees the client go away and answers nothing more.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if not refused:
                await send(message)

        return await self.app(scope, counting_receive, guarded_send)

    async def _refuse(self, send) -> None:
        body = json.dumps(problem_body(BODY_TOO_LARGE, f"request body larger than {self.max_bytes} bytes")).encode()
        await send({"type": "http.response.start", "status": BODY_TOO_LARGE.status,
                    "headers": [(b"content-type", PROBLEM_CONTENT_TYPE.encode()), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
