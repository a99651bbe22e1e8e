"""The control API of a noodled daemon, from Python.

Over the daemon's Unix socket (``<repo>/api.sock``; the repo is ``repo=``,
else ``$NOODLE_PATH``, else ``~/.noodle``, as for the CLI), or over its TCP
control API (``api_url="http://HOST:PORT"``) with its bearer token
(``token=``, else ``$NOODLE_API_TOKEN``, else the repo's ``api.token``).
Method names follow the CLI: ``noodled status`` is ``Client().status()``,
``noodled service deploy`` is ``Client().service_deploy(spec)``.
"""
import base64
import http.client
import json
import os
import socket
import threading
import time
from typing import Any, Dict, Iterator, List, Optional, Union
from urllib.parse import quote, urlencode, urlparse

from .errors import DaemonNotRunningError, NoodleError, error_for

API_PREFIX = "/api/v1"
#: a connection idle longer than this is not used again (the daemon closes idle ones after 1 s)
REUSE_IDLE_S = 0.5
Json = Any


def default_repo() -> str:
    """``$NOODLE_PATH``, else ``~/.noodle``: where the CLI looks too."""
    return os.environ.get("NOODLE_PATH") or os.path.join(os.path.expanduser("~"), ".noodle")


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a Unix socket (the daemon's api.sock)."""

    def __init__(self, path: str, timeout: Optional[float]) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.timeout is not None:
            sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class Client:
    """One daemon's control API.

    >>> c = Client()                      # the local daemon, as `noodled` finds it
    >>> c.status()["peerId"]
    >>> c.call("echo", "x", b"hello")     # b'hello', from wherever echo runs
    """

    def __init__(self, repo: Optional[str] = None, api_url: Optional[str] = None, token: Optional[str] = None, timeout: float = 30.0) -> None:
        self.repo = os.path.abspath(repo) if repo is not None else default_repo()
        self.api_url = api_url
        self.timeout = timeout
        self._token = token
        self._local = threading.local()
        if api_url is not None and token is None:
            self._token = os.environ.get("NOODLE_API_TOKEN") or self._read_token()

    def _read_token(self) -> Optional[str]:
        try:
            with open(os.path.join(self.repo, "api.token"), encoding="utf-8") as f:
                return f.read().strip()
        except OSError:
            return None

    def close(self) -> None:
        """Close the connection this thread keeps to the daemon, if any (a later request opens one)."""
        cached = self._local.__dict__.pop("conn", None)
        if cached is not None:
            cached[0].close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def socket_path(self) -> str:
        return os.path.join(self.repo, "api.sock")

    # ---- the wire ---------------------------------------------------------

    def _connection(self, timeout: Optional[float]) -> http.client.HTTPConnection:
        if self.api_url is None:
            return _UnixConnection(self.socket_path, timeout)
        u = urlparse(self.api_url)
        return http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80, timeout=timeout)

    def _open(self, method: str, path: str, body: Optional[bytes], timeout: Optional[float], reuse: bool = False) -> http.client.HTTPResponse:
        headers = {"accept": "application/json"}
        if body is not None:
            headers["content-type"] = "application/json"
        if self.api_url is not None and self._token:
            headers["authorization"] = f"Bearer {self._token}"
        # a connection this thread used moments ago is used again (the daemon keeps an idle one open
        # for 1 s); if the daemon closed it just then, it read nothing from it: once more on a new one
        cached = self._local.__dict__.pop("conn", None) if reuse else None
        if cached is not None and (time.monotonic() - cached[1] > REUSE_IDLE_S or cached[0].timeout != timeout):
            cached[0].close()
            cached = None
        conn = cached[0] if cached is not None else self._connection(timeout)
        try:
            conn.request(method, API_PREFIX + path, body=body, headers=headers)
            res = conn.getresponse()
            res._noodle_conn = conn  # type: ignore[attr-defined]
            return res
        except OSError as err:  # RemoteDisconnected is a ConnectionResetError, an OSError too
            conn.close()
            if isinstance(err, (FileNotFoundError, ConnectionRefusedError)):
                where = self.api_url or self.repo
                raise DaemonNotRunningError(f"daemon not running at {where}; start it with `noodled start --repo {self.repo}` ({err})") from None
            # a timeout is not retried: the daemon may be working on the request
            if cached is None or isinstance(err, TimeoutError):
                raise
            return self._open(method, path, body, timeout)

    def _keep(self, res: http.client.HTTPResponse) -> None:
        """After a whole answer: keep its connection for this thread's next request, unless it is closing."""
        conn = getattr(res, "_noodle_conn", None)
        if conn is not None and not res.will_close:
            self._local.conn = (conn, time.monotonic())

    def request(self, method: str, path: str, body: Optional[Json] = None, timeout: Optional[float] = None) -> Json:
        """One JSON request to the control API; a failure is raised as its named error."""
        payload = json.dumps(body).encode() if body is not None else None
        t = timeout if timeout is not None else self.timeout
        res = self._open(method, path, payload, t, reuse=True)
        try:
            data = res.read()
        finally:
            res.close()
        self._keep(res)
        if 200 <= res.status < 300:
            return json.loads(data) if data else None
        try:
            err = json.loads(data)["error"]
            raise error_for(str(err["name"]), str(err["message"]), res.status)
        except (ValueError, KeyError, TypeError):
            raise NoodleError(f"HTTP {res.status}: {data[:200].decode('utf-8', 'replace')}", status=res.status) from None

    # ---- the daemon ------------------------------------------------------

    def health(self) -> Json:
        return self.request("GET", "/health")

    def id(self) -> Json:
        """Peer id and addresses (`noodled id`)."""
        return self.request("GET", "/id")

    def status(self) -> Json:
        """`noodled status`."""
        return self.request("GET", "/status")

    def peers(self) -> Json:
        return self.request("GET", "/peers")

    def members(self, status: Optional[str] = None) -> List[Json]:
        """`noodled members [--status alive]`."""
        rows = self.request("GET", "/members")
        return [m for m in rows if status is None or m.get("status") == status]

    def member(self, peer_id: str) -> Json:
        return self.request("GET", f"/members/{quote(peer_id, safe='')}")

    def events(self, follow: bool = True) -> Iterator[Json]:
        """Member events (`noodled events`): the recent ones, then, following, each as it happens;
        an iterator that ends when the daemon closes the stream."""
        if not follow:
            yield from self.request("GET", "/events")
            return
        res = self._open("GET", "/events?follow=1", None, None)
        if res.status != 200:
            self._raise(res)
        try:
            for line in res:
                line = line.strip()
                if line:
                    yield json.loads(line)
        finally:
            res.close()

    def _raise(self, res: http.client.HTTPResponse) -> None:
        data = res.read()
        res.close()
        try:
            err = json.loads(data)["error"]
        except (ValueError, KeyError, TypeError):
            raise NoodleError(f"HTTP {res.status}", status=res.status) from None
        raise error_for(str(err["name"]), str(err["message"]), res.status)

    # ---- services --------------------------------------------------------

    def service_deploy(self, spec: Dict[str, Any], dry_run: bool = False) -> Json:
        """`noodled service deploy <spec>`: declare (or replace) a service."""
        return self.request("POST", "/services" + ("?dryRun=1" if dry_run else ""), spec)

    def service_status(self, name: str) -> Json:
        """`noodled service status <name>`."""
        return self.request("GET", f"/services/{quote(name, safe='')}")

    def service_ls(self) -> List[Json]:
        return self.request("GET", "/services")

    def service_remove(self, name: str) -> Json:
        """`noodled service rm <name>`."""
        return self.request("DELETE", f"/services/{quote(name, safe='')}")

    def service_resolve(self, name: str) -> Json:
        """`noodled service resolve <name>`: its instances and their health."""
        return self.request("GET", f"/resolve/{quote(name, safe='')}")

    def service_register(self, name: str, endpoint: str, check: Optional[Dict[str, Any]] = None) -> Json:
        """`noodled service register`: a process beside this daemon as an instance of `name`."""
        body: Dict[str, Any] = {"name": name, "endpoint": endpoint}
        if check is not None:
            body["check"] = check
        return self.request("POST", "/external", body)

    def service_deregister(self, name: str) -> Json:
        """`noodled service deregister <name>`."""
        return self.request("DELETE", f"/external/{quote(name, safe='')}")

    def external(self) -> List[Json]:
        """External services registered on this daemon."""
        return self.request("GET", "/external")

    def call(self, service: str, fn: str, data: Union[bytes, str] = b"", timeout: Optional[float] = None, idempotent: bool = False) -> bytes:
        """`noodled call <service> <fn>`: the answer's bytes, from wherever the service runs.

        ``timeout`` (seconds) is the call's deadline in the mesh; the call fails with
        DeadlineExceededError past it.
        """
        raw = data.encode() if isinstance(data, str) else bytes(data)
        body: Dict[str, Any] = {"service": service, "fn": fn, "inputBase64": base64.b64encode(raw).decode(), "idempotent": idempotent}
        if timeout is not None:
            body["timeoutMs"] = max(1, int(timeout * 1000))
        res = self.request("POST", "/call", body, timeout=(timeout + 5.0) if timeout is not None else None)
        return base64.b64decode(res["outputBase64"])

    # ---- modules ---------------------------------------------------------

    def module_ls(self) -> List[Json]:
        return self.request("GET", "/modules")

    def module_resolve(self, spec: str) -> Json:
        """`noodled module resolve name@range`."""
        return self.request("GET", f"/module-resolve/{quote(spec, safe='@')}")

    def module_publish(self, directory: str) -> Json:
        """`noodled module publish <dir>`: the directory's noodle.json and the wasm its "entry" names."""
        with open(os.path.join(directory, "noodle.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        with open(os.path.join(directory, manifest["entry"]), "rb") as f:
            wasm = f.read()
        return self.request("POST", "/modules", {"manifest": manifest, "wasm": base64.b64encode(wasm).decode()})

    # ---- knowledge graphs --------------------------------------------------

    def kg_add(self, graph: str, data: str, format: str = "turtle", base_iri: Optional[str] = None) -> Json:
        """`noodled kg add <file> --graph NAME`: RDF text into one of this daemon's graphs."""
        body: Dict[str, Any] = {"data": data, "format": format}
        if base_iri is not None:
            body["baseIri"] = base_iri
        return self.request("POST", f"/kg/graphs/{quote(graph, safe='')}", body)

    def kg_add_text(self, graph: str, text: str, source: Optional[str] = None, analyzer: Optional[str] = None) -> Json:
        """`noodled kg add --text ... [--source IRI] [--analyzer SERVICE]`."""
        body: Dict[str, Any] = {"text": text}
        if source is not None:
            body["source"] = source
        if analyzer is not None:
            body["analyzer"] = analyzer
        return self.request("POST", f"/kg/graphs/{quote(graph, safe='')}", body)

    def kg_update(self, graph: str, sparql: str) -> Json:
        """`noodled kg update '<update>' --graph NAME`."""
        return self.request("POST", f"/kg/graphs/{quote(graph, safe='')}", {"update": sparql})

    def kg_graphs(self, mesh: bool = False) -> List[Json]:
        """`noodled kg graphs [--mesh]`."""
        return self.request("GET", "/kg/graphs" + ("?scope=mesh" if mesh else ""))

    def kg_query(self, sparql: str, scope: str = "local", deadline: Optional[float] = None, limit: Optional[int] = None, offset: Optional[int] = None) -> Json:
        """`noodled kg query '<SPARQL>' [--scope mesh] [--deadline 2s]`: the answer, with `complete` and `sources`."""
        body: Dict[str, Any] = {"query": sparql, "scope": scope}
        if deadline is not None:
            body["timeoutMs"] = max(1, int(deadline * 1000))
        if limit is not None:
            body["limit"] = limit
        if offset is not None:
            body["offset"] = offset
        return self.request("POST", "/kg/query", body)

    def kg_about(self, name_or_iri: str, scope: str = "mesh") -> Json:
        """`noodled kg about '<name or IRI>'`."""
        return self.request("GET", "/kg/about?" + urlencode({"q": name_or_iri, "scope": scope}))
