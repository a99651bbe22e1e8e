"""The daemon's RPC frames on a socket, for a service's functions.

The daemon forwards calls to an ``rpc+unix://`` (or ``rpc+tcp://``) endpoint
as the mesh's own messages (``lib/rpc/pb/rpc.proto`` in the repository): each
frame an unsigned varint length and one protobuf message, ``Request`` from the
daemon, ``Response`` back, matched by id, any number in flight on the one
connection and answered in any order. No HTTP headers to write or parse per
call on either side.

One asyncio thread reads and writes the connections; each call's function
runs in a thread pool, so a slow call holds one worker, not the others. The
protobuf codec below covers the two messages and nothing else (the standard
library has none, and the package depends on nothing).
"""
import asyncio
import os
import socket
from typing import Awaitable, Callable, Optional, Tuple

from ._loop_server import Connection, LoopServer

#: (fn, timeout_ms or None, payload) -> (payload, None) or (None, (error name, message))
Run = Callable[[str, Optional[int], bytes], Tuple[Optional[bytes], Optional[Tuple[str, str]]]]

MAX_FRAME_BYTES = 64 * 1024 * 1024 + 4096


class FrameError(ValueError):
    """A frame that is not a valid Request: the connection is closed."""


# ---- protobuf, the two messages ---------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_varint(buf: bytes, at: int) -> Tuple[int, int]:
    value = 0
    shift = 0
    while True:
        if at >= len(buf):
            raise FrameError("truncated varint")
        b = buf[at]
        at += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, at
        shift += 7
        if shift > 63:
            raise FrameError("varint too long")


def decode_request(buf: bytes) -> Tuple[int, str, str, Optional[int], bytes]:
    """A Request message: (id, service, fn, timeout_ms or None, payload). Unknown fields are skipped."""
    rid, service, fn, timeout, payload = 0, "", "", None, b""
    at = 0
    while at < len(buf):
        key, at = _read_varint(buf, at)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _read_varint(buf, at)
            if field == 1:
                rid = value
            elif field == 4:
                timeout = value or None
        elif wire == 2:
            length, at = _read_varint(buf, at)
            if at + length > len(buf):
                raise FrameError("truncated field")
            chunk = buf[at:at + length]
            at += length
            if field == 2:
                service = chunk.decode("utf-8", "replace")
            elif field == 3:
                fn = chunk.decode("utf-8", "replace")
            elif field == 6:
                payload = bytes(chunk)
        elif wire == 1:
            at += 8
        elif wire == 5:
            at += 4
        else:
            raise FrameError(f"unsupported wire type {wire}")
    if at != len(buf):
        raise FrameError("truncated field")
    return rid, service, fn, timeout, payload


def _field(number: int, data: bytes) -> bytes:
    return _varint((number << 3) | 2) + _varint(len(data)) + data


def encode_response(rid: int, payload: Optional[bytes], error: Optional[Tuple[str, str]]) -> bytes:
    """A Response frame (length prefix included)."""
    body = _varint(1 << 3) + _varint(rid)
    if error is not None:
        body += _field(2, _field(1, error[0].encode()) + _field(2, error[1].encode()))
    elif payload:
        body += _field(3, payload)
    return _varint(len(body)) + body


# ---- the server -----------------------------------------------------------------------


class FramesServer(LoopServer):
    """Serves ``run`` on a Unix socket at ``path`` (or TCP ``host:port``, port 0 for a free one) from a thread of its own."""

    def __init__(self, run: Run, workers: int, path: Optional[str] = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self._run = run
        self._path = path
        self._host = host
        self._port = port
        super().__init__(workers, "noodle-frames")
        if path is not None:
            self.endpoint = f"rpc+unix://{path}"
        else:
            bound = self._server.sockets[0].getsockname()  # type: ignore[union-attr]
            self.endpoint = f"rpc+tcp://{bound[0]}:{bound[1]}" if ":" not in bound[0] else f"rpc+tcp://[{bound[0]}]:{bound[1]}"

    def _listen(self, connection: Connection) -> Awaitable[asyncio.AbstractServer]:
        if self._path is None:
            return asyncio.start_server(connection, self._host, self._port)
        if os.path.exists(self._path):
            os.unlink(self._path)  # a socket left by a process that did not stop cleanly
        return asyncio.start_unix_server(connection, path=self._path)

    def close(self) -> None:
        """Stop listening, drop the connections, remove the socket."""
        super().close()
        if self._path is not None:
            try:
                os.unlink(self._path)
            except OSError:
                pass

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        loop = asyncio.get_running_loop()
        calls = set()

        def answered(frame: bytes) -> None:
            if not writer.is_closing():
                writer.write(frame)

        async def one(rid: int, fn: str, timeout: Optional[int], payload: bytes) -> None:
            out, err = await loop.run_in_executor(self._pool, self._run, fn, timeout, payload)
            answered(encode_response(rid, out, err))

        buf = bytearray()
        try:
            while True:
                data = await reader.read(256 * 1024)
                if not data:
                    return
                buf += data
                at = 0
                # every whole frame in what has arrived (one read often holds many)
                while True:
                    try:
                        length, start = _read_varint(buf, at)
                    except FrameError:
                        if len(buf) - at > 10:
                            raise  # not a varint at all
                        break  # the length prefix is still arriving
                    if length > MAX_FRAME_BYTES:
                        raise FrameError("frame too large")  # the daemon never sends one: not a daemon, or a broken one
                    if len(buf) - start < length:
                        break
                    rid, _service, fn, timeout, payload = decode_request(bytes(buf[start:start + length]))
                    at = start + length
                    task = loop.create_task(one(rid, fn, timeout, payload))
                    calls.add(task)
                    task.add_done_callback(calls.discard)
                del buf[:at]
        except (ConnectionError, asyncio.CancelledError, FrameError):
            pass
        finally:
            for task in calls:
                task.cancel()
            writer.close()
