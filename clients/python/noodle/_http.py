"""A small HTTP/1.1 server on asyncio for a service's functions.

One event-loop thread reads and writes every connection (keep-alive, as the
daemon reuses its connections); each request's work runs in a thread pool,
so a slow function holds one worker, not the server. Python's
ThreadingHTTPServer (a thread per connection, parsing under the GIL in all
of them) served an echo at ~1.4k calls/s with 64 in flight; this design
parses in one thread and hands only the function to the pool.
"""
import asyncio
from typing import Awaitable, Callable, Dict, Tuple

from ._loop_server import Connection, LoopServer

#: (method, path, headers with lower-case names, body) -> (status, content type, body)
Dispatch = Callable[[str, str, Dict[str, str], bytes], Tuple[int, str, bytes]]

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Payload Too Large", 500: "Internal Server Error", 504: "Gateway Timeout"}


class FunctionServer(LoopServer):
    """Serves ``dispatch`` on ``host:port`` (0: a free port) from a thread of its own."""

    def __init__(self, host: str, port: int, dispatch: Dispatch, workers: int) -> None:
        self._dispatch = dispatch
        self._host = host
        self._port = port
        super().__init__(workers, "noodle-http")
        sock = self._server.sockets[0]  # type: ignore[union-attr]
        self.address: Tuple[str, int] = sock.getsockname()[:2]

    def _listen(self, connection: Connection) -> Awaitable[asyncio.AbstractServer]:
        return asyncio.start_server(connection, self._host, self._port)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if len(head) > MAX_HEADER_BYTES:
                    await self._reply(writer, 400, "text/plain", b"headers too large", close=True)
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                    await self._reply(writer, 400, "text/plain", b"not an HTTP/1.x request", close=True)
                    return
                method, path, version = parts
                headers: Dict[str, str] = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                if length > MAX_BODY_BYTES:
                    await self._reply(writer, 413, "text/plain", b"body too large", close=True)
                    return
                body = await reader.readexactly(length) if length > 0 else b""
                status, content_type, out = await loop.run_in_executor(self._pool, self._dispatch, method, path, headers, body)
                close = version == "HTTP/1.0" or headers.get("connection", "").lower() == "close"
                await self._reply(writer, status, content_type, out, close=close)
                if close:
                    return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, asyncio.CancelledError, ValueError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, status: int, content_type: str, body: bytes, close: bool = False) -> None:
        head = (f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\ncontent-type: {content_type}\r\n"
                f"content-length: {len(body)}\r\n{'connection: close' if close else 'connection: keep-alive'}\r\n\r\n")
        writer.write(head.encode("latin-1") + body)
        await writer.drain()
