import http.client
import json
import os
import signal
import subprocess
import sys
import time
import unittest
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import noodle

from .daemons import GATEWAY, REPO_A, REPO_B, needs_daemons
from .test_client import until


def gateway_post(path: str, body: bytes):
    u = urlparse(GATEWAY)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("POST", path, body=body)
    res = conn.getresponse()
    return res.status, res.read()


@needs_daemons
class PythonService(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = noodle.Client(repo=REPO_A)
        cls.name = f"pytext-{uuid.uuid4().hex[:6]}"
        cls.svc = noodle.Service(cls.name, repo=REPO_B, check_interval=0.2)

        @cls.svc.function
        def upper(data: bytes) -> bytes:
            return data.upper()

        @cls.svc.function
        def fail(data: bytes) -> bytes:
            raise ValueError(f"cannot use {data.decode()!r}")

        @cls.svc.function
        def slow(data: bytes, call: noodle.Call) -> bytes:
            # the deadline arrives with the call
            time.sleep(float(data or b"1"))
            return json.dumps({"remaining": call.remaining()}).encode()

        cls.svc.start()
        until("daemon A to resolve the Python service",
              lambda: any(i["healthy"] for i in cls.a.service_resolve(cls.name)["instances"]))

    @classmethod
    def tearDownClass(cls):
        cls.svc.stop()

    def test_called_from_another_daemon_by_mesh_rpc_and_the_gateway(self):
        self.assertEqual(self.a.call(self.name, "upper", b"quiet"), b"QUIET")
        self.assertEqual(gateway_post(f"/svc/{self.name}/upper", b"loud"), (200, b"LOUD"))

    def test_exceptions_are_named_errors_and_unknown_functions_too(self):
        with self.assertRaises(noodle.NoodleError) as caught:
            self.a.call(self.name, "fail", b"x")
        self.assertEqual(caught.exception.name, "ValueError")
        self.assertIn("cannot use 'x'", caught.exception.message)
        with self.assertRaises(noodle.NoHandlerError):
            self.a.call(self.name, "nope", b"")

    def test_the_deadline_is_honoured(self):
        started = time.monotonic()
        with self.assertRaises(noodle.DeadlineExceededError):
            self.a.call(self.name, "slow", b"3", timeout=0.5)
        self.assertLess(time.monotonic() - started, 2.5)
        out = json.loads(self.a.call(self.name, "slow", b"0.05", timeout=5))
        self.assertGreater(out["remaining"], 3.0)
        self.assertLessEqual(out["remaining"], 5.0)

    def test_concurrent_calls_are_served_concurrently(self):
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: self.a.call(self.name, "slow", b"1", timeout=10), range(8)))
        self.assertEqual(len(answers), 8)
        # eight one-second calls, one at a time, would take eight seconds
        self.assertLess(time.monotonic() - started, 4.0)

    def test_registered_again_when_the_daemon_no_longer_lists_it(self):
        # a service of its own: the deregistration below takes a while to settle across the mesh
        # (adverts, provider records), and the other tests must not call into that window
        b = noodle.Client(repo=REPO_B)
        name = f"pyagain-{uuid.uuid4().hex[:6]}"
        with noodle.Service(name, {"upper": lambda d: d.upper()}, repo=REPO_B, check_interval=0.2) as svc:
            until("daemon A to resolve it", lambda: any(i["healthy"] for i in self.a.service_resolve(name)["instances"]))
            before = svc.registrations
            b.service_deregister(name)
            until("the watcher to register the service again", lambda: svc.registrations > before and any(e["name"] == name for e in b.external()))
            # the other daemon hears of it again through the mesh
            until("daemon A to resolve it again", lambda: any(i["healthy"] for i in self.a.service_resolve(name)["instances"]))
            self.assertEqual(until("a call from daemon A", lambda: self.a.call(name, "upper", b"back")), b"BACK")


@needs_daemons
class Transports(unittest.TestCase):
    """The same functions on each transport, called from the other daemon."""

    def served(self, transport: str, scheme: str) -> None:
        a = noodle.Client(repo=REPO_A)
        name = f"py{transport}-{uuid.uuid4().hex[:6]}"
        svc = noodle.Service(name, {"upper": lambda b: b.upper()}, repo=REPO_B, transport=transport, check_interval=0.2)
        with svc:
            self.assertTrue(svc.endpoint.startswith(scheme), svc.endpoint)
            until(f"daemon A to resolve the {transport} service", lambda: any(i["healthy"] for i in a.service_resolve(name)["instances"]))
            self.assertEqual(a.call(name, "upper", b"over " + transport.encode()), b"OVER " + transport.upper().encode())
            path = svc.socket_path
        if path is not None:
            self.assertFalse(os.path.exists(path), "the socket is removed on stop")

    def test_unix_socket(self):
        self.served("unix", "rpc+unix:///")

    def test_tcp_socket(self):
        self.served("tcp", "rpc+tcp://127.0.0.1:")

    def test_http(self):
        self.served("http", "http://127.0.0.1:")

    def test_an_unknown_transport_is_refused(self):
        with self.assertRaises(ValueError):
            noodle.Service("x", {}, repo=REPO_B, transport="carrier-pigeon")


@needs_daemons
class ServeProcess(unittest.TestCase):
    def test_deregistered_on_sigterm(self):
        b = noodle.Client(repo=REPO_B)
        name = f"pysig-{uuid.uuid4().hex[:6]}"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in [os.path.dirname(os.path.dirname(os.path.abspath(noodle.__file__))), os.environ.get("PYTHONPATH")] if p))
        proc = subprocess.Popen([sys.executable, "-c", f"import noodle; noodle.serve({{'echo': lambda b: b}}, name={name!r}, repo={REPO_B!r})"], env=env)
        try:
            until("the service to register", lambda: any(e["name"] == name for e in b.external()))
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(10), 0)
            self.assertNotIn(name, [e["name"] for e in b.external()])
        finally:
            if proc.poll() is None:
                proc.kill()


if __name__ == "__main__":
    unittest.main()
