"""Python functions as a mesh service.

``serve({"upper": lambda b: b.upper()}, name="text")`` listens on a Unix
socket, registers it with the local daemon as an external service (name,
``rpc+unix://`` endpoint, a check that the socket accepts a connection), and
answers the daemon's calls with the function's bytes. Any daemon then
reaches it: ``noodled call text upper``, mesh RPC from another daemon, the
gateway's ``POST /svc/text/upper``.

- Transports: ``"unix"`` (the default) and ``"tcp"`` speak the daemon's RPC
  frames (_frames.py: no HTTP per call, about twice the calls per second);
  ``"http"`` answers ``POST /<fn>`` on loopback (_http.py), for a daemon
  that cannot reach the socket, or to call the functions with curl.
- Each call runs in a worker thread (up to ``max_concurrency`` at once), the
  connections in one asyncio thread: one slow call does not hold up the
  others.
- The call's deadline arrives with it (``timeout_ms`` in the frame,
  ``x-noodle-timeout-ms`` over HTTP): a function that takes a second
  argument gets a :class:`Call` with ``deadline`` and ``remaining()``; an
  answer that comes after the deadline is not delivered (the caller has been
  told DeadlineExceededError already).
- An exception is answered as the named error the caller sees (its type's
  name and its message).
- SIGINT or SIGTERM deregisters the service and stops the server; while it
  runs, a watcher registers it again whenever the daemon does not list it
  (a daemon restarted on a fresh repo, a deregistration by hand).
"""
import inspect
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from typing import Callable, Dict, Optional, Tuple, Union

from ._frames import FramesServer
from ._http import FunctionServer
from .client import Client
from .errors import DaemonNotRunningError, NoodleError

Function = Union[Callable[[bytes], bytes], Callable[[bytes, "Call"], bytes]]


class Call:
    """One invocation, as a function that asks for it sees it."""

    def __init__(self, service: str, fn: str, timeout_ms: Optional[int]) -> None:
        self.service = service
        self.fn = fn
        #: time.monotonic() at which the caller stops waiting, if it said
        self.deadline = time.monotonic() + timeout_ms / 1000.0 if timeout_ms else None

    def remaining(self) -> Optional[float]:
        """Seconds until the deadline (never below 0), or None without one."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())


def _takes_call(f: Callable[..., bytes]) -> bool:
    """Whether `f` takes the Call as a second parameter."""
    try:
        params = [p for p in inspect.signature(f).parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    return len(params) >= 2


class Service:
    """A mesh service made of Python functions.

    >>> svc = Service("text")
    >>> @svc.function
    ... def upper(data: bytes) -> bytes:
    ...     return data.upper()
    >>> svc.serve()          # blocks until SIGINT/SIGTERM
    """

    TRANSPORTS = ("unix", "tcp", "http")

    def __init__(self, name: str, functions: Optional[Dict[str, Function]] = None, *, repo: Optional[str] = None,
                 client: Optional[Client] = None, transport: str = "unix", socket_path: Optional[str] = None,
                 host: str = "127.0.0.1", port: int = 0, max_concurrency: int = 64, check_interval: float = 1.0) -> None:
        if transport not in self.TRANSPORTS:
            raise ValueError(f"transport must be one of {', '.join(self.TRANSPORTS)}, not {transport!r}")
        self.name = name
        self.transport = transport
        #: the Unix socket's path ("unix"): given, or in a directory of its own made at start
        self.socket_path = socket_path
        self._socket_dir: Optional[str] = None
        self.functions: Dict[str, Function] = dict(functions or {})
        self.client = client or Client(repo=repo)
        self.host = host
        self.port = port
        self.check_interval = check_interval
        self.max_concurrency = max_concurrency
        # per function (by id: any callable, hashable or not): whether it takes the Call; asked once, not per call
        self._takes: Dict[int, bool] = {}
        self._server: Optional[Union[FunctionServer, FramesServer]] = None
        self._stop = threading.Event()
        self._threads: list = []
        #: times this service was registered with the daemon (the first, and each again)
        self.registrations = 0

    def function(self, f: Function) -> Function:
        """Decorator: serve ``f`` under its own name."""
        self.functions[f.__name__] = f
        return f

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise NoodleError("the service is not started")
        if isinstance(self._server, FramesServer):
            return self._server.endpoint
        host, port = self._server.address
        return f"http://{host}:{port}"

    # ---- lifecycle ---------------------------------------------------------

    def start(self) -> "Service":
        """Listen, register with the daemon, and keep the registration; returns at once."""
        if self._server is not None:
            return self
        if self.transport == "http":
            self._server = FunctionServer(self.host, self.port, self._dispatch, self.max_concurrency)
        elif self.transport == "tcp":
            self._server = FramesServer(self._run, self.max_concurrency, host=self.host, port=self.port)
        else:
            if self.socket_path is None:
                # short: a Unix socket's path is limited to ~100 bytes
                self._socket_dir = tempfile.mkdtemp(prefix="noodle-")
                self.socket_path = os.path.join(self._socket_dir, f"{self.name[:40]}.sock")
            self._server = FramesServer(self._run, self.max_concurrency, path=self.socket_path)
        self._register()
        watcher = threading.Thread(target=self._watch, name=f"noodle:{self.name}:watch", daemon=True)
        watcher.start()
        self._threads = [watcher]
        return self

    def stop(self) -> None:
        """Deregister (when the daemon is there to hear it) and stop serving. Idempotent."""
        if self._server is None:
            return
        self._stop.set()
        try:
            self.client.service_deregister(self.name)
        except NoodleError:
            pass
        self._server.close()
        self._server = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None
            self.socket_path = None

    def serve(self) -> None:
        """start(), then block until SIGINT or SIGTERM (from the main thread), then stop()."""
        self.start()
        done = threading.Event()

        def on_signal(signum, frame):  # noqa: ARG001
            done.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not done.wait(0.5):
                pass
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
            self.stop()

    def __enter__(self) -> "Service":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- the daemon ----------------------------------------------------------

    def _register(self) -> None:
        interval = max(100, int(self.check_interval * 1000))
        # over HTTP, GET /health; on a socket, that it accepts a connection
        check = {"type": "http", "path": "/health", "intervalMs": interval} if self.transport == "http" else {"type": "tcp", "intervalMs": interval}
        self.client.service_register(self.name, self.endpoint, check=check)
        self.registrations += 1

    def _registered(self) -> bool:
        endpoint = self.endpoint
        return any(e.get("name") == self.name and e.get("endpoint") == endpoint for e in self.client.external())

    def _watch(self) -> None:
        while not self._stop.wait(self.check_interval):
            try:
                if not self._registered():
                    self._register()
            except DaemonNotRunningError:
                continue  # not back yet: ask again at the next tick
            except NoodleError:
                continue
            except OSError:
                continue

    # ---- calls -----------------------------------------------------------------

    def _run(self, fn: str, timeout_ms: Optional[int], data: bytes) -> Tuple[Optional[bytes], Optional[Tuple[str, str]]]:
        """One call, in a worker thread: (output, None), or (None, (error name, message))."""
        f = self.functions.get(fn)
        if f is None:
            return None, ("NoHandlerError", f'"{self.name}" has no function "{fn}" (it has {", ".join(sorted(self.functions)) or "none"})')
        call = Call(self.name, fn, timeout_ms)
        try:
            takes = self._takes.get(id(f))
            if takes is None:
                takes = self._takes[id(f)] = _takes_call(f)
            out = f(data, call) if takes else f(data)  # type: ignore[call-arg]
        except Exception as err:  # noqa: BLE001 (every failure is the caller's answer)
            if isinstance(err, NoodleError):
                return None, (err.name, err.message)
            return None, (type(err).__name__, str(err))
        if call.deadline is not None and time.monotonic() > call.deadline:
            # the caller has its DeadlineExceededError already; this says so to anyone else listening
            return None, ("DeadlineExceededError", f'"{self.name}/{fn}" answered after its deadline')
        if isinstance(out, str):
            out = out.encode()
        if not isinstance(out, (bytes, bytearray, memoryview)):
            return None, ("TypeError", f'"{fn}" returned {type(out).__name__}, not bytes')
        return bytes(out), None

    # ---- HTTP ------------------------------------------------------------------

    #: HTTP statuses of the errors a call itself can end in (any other: 500)
    _STATUS = {"NoHandlerError": 404, "DeadlineExceededError": 504}

    @staticmethod
    def _error(status: int, name: str, message: str) -> Tuple[int, str, bytes]:
        return status, "application/json", json.dumps({"error": {"name": name, "message": message}}).encode()

    def _dispatch(self, method: str, path: str, headers: Dict[str, str], data: bytes) -> Tuple[int, str, bytes]:
        """One HTTP request, in a worker thread: the health check, or a function's answer."""
        if method == "GET" and path == "/health":
            return 200, "text/plain", b"ok"
        if method != "POST":
            return self._error(404, "NotFoundError", f"no such path: {method} {path}")
        fn = path.lstrip("/").split("?", 1)[0]
        timeout = headers.get("x-noodle-timeout-ms")
        out, err = self._run(fn, int(timeout) if timeout and timeout.isdigit() else None, data)
        if err is not None:
            return self._error(self._STATUS.get(err[0], 500), err[0], err[1])
        return 200, "application/octet-stream", out or b""


def serve(functions: Dict[str, Function], name: str, repo: Optional[str] = None, **options) -> None:
    """Serve ``functions`` (name -> callable taking and returning bytes) as the mesh service ``name``
    until SIGINT or SIGTERM; see :class:`Service` for the options."""
    Service(name, functions, repo=repo, **options).serve()
