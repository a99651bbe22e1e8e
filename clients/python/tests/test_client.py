import os
import tempfile
import threading
import time
import unittest
import uuid

import noodle

from .daemons import API_URL, EXAMPLES, REPO_A, REPO_B, needs_daemons


def until(what, predicate, timeout=30.0):
    """Poll `predicate` until it gives something true; a named error counts as not yet."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except noodle.NoodleError as err:
            value, last = None, err
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}" + (f" (last: {last})" if last else ""))


class NoDaemon(unittest.TestCase):
    def test_daemon_not_running_is_named(self):
        with tempfile.TemporaryDirectory() as repo:
            with self.assertRaises(noodle.DaemonNotRunningError) as caught:
                noodle.Client(repo=repo).status()
            self.assertIn(repo, str(caught.exception))
            self.assertIn("noodled start", str(caught.exception))

    def test_every_error_name_is_a_class(self):
        err = noodle.error_for("ServiceNotFoundError", "no such service", 404)
        self.assertIsInstance(err, noodle.ServiceNotFoundError)
        self.assertIsInstance(err, noodle.NoodleError)
        self.assertEqual((err.name, err.status), ("ServiceNotFoundError", 404))
        other = noodle.error_for("SomethingNewError", "from a newer daemon")
        self.assertEqual(type(other), noodle.NoodleError)
        self.assertEqual(other.name, "SomethingNewError")


@needs_daemons
class ClientAgainstDaemons(unittest.TestCase):
    def setUp(self):
        self.a = noodle.Client(repo=REPO_A)
        self.b = noodle.Client(repo=REPO_B)

    def tearDown(self):
        self.a.close()
        self.b.close()

    def test_status_id_members_and_events(self):
        status = self.a.status()
        self.assertEqual(status["peerId"], self.a.id()["peerId"])
        alive = self.a.members(status="alive")
        self.assertEqual(len(alive), 2)
        self.assertIn(self.b.id()["peerId"], [m["peerId"] for m in alive])
        self.assertEqual(self.a.member(self.b.id()["peerId"])["status"], "alive")
        recent = list(self.a.events(follow=False))
        self.assertTrue(any(e["peerId"] == self.b.id()["peerId"] for e in recent))
        # following: the history comes first, so the first event arrives at once
        first = []
        reader = threading.Thread(target=lambda: first.append(next(iter(self.a.events()))), daemon=True)
        reader.start()
        reader.join(10)
        self.assertEqual(len(first), 1)
        self.assertIn("type", first[0])

    def test_a_connection_is_reused_and_renewed_when_the_daemon_closed_it(self):
        import socket
        self.a.status()
        first = self.a._local.conn[0]
        self.a.status()
        self.assertIs(self.a._local.conn[0], first)
        # the connection dies under it (as when the daemon closes an idle one): the request goes
        # again on a new connection
        first.sock.shutdown(socket.SHUT_RDWR)
        self.assertEqual(self.a.status()["peerId"], self.a.id()["peerId"])
        self.assertIsNot(self.a._local.conn[0], first)

    @unittest.skipUnless(API_URL, "no TCP control API")
    def test_the_tcp_api_with_its_token(self):
        # the token comes from the repo's api.token, as for the CLI
        tcp = noodle.Client(repo=REPO_A, api_url=API_URL)
        self.assertEqual(tcp.status()["peerId"], self.a.status()["peerId"])
        with self.assertRaises(noodle.UnauthenticatedError) as caught:
            noodle.Client(api_url=API_URL, token="not-the-token").status()
        self.assertEqual(caught.exception.status, 401)

    def test_call_across_the_mesh_and_named_errors(self):
        name = f"echo-{uuid.uuid4().hex[:8]}"
        self.b.service_register(name, "builtin:echo")
        until("daemon A to resolve the echo", lambda: any(i["healthy"] for i in self.a.service_resolve(name)["instances"]))
        self.assertEqual(self.a.call(name, "x", b"\x00\x01hello", timeout=5), b"\x00\x01hello")
        self.assertEqual(self.a.call(name, "x", "text too"), b"text too")
        with self.assertRaises(noodle.ServiceNotFoundError) as caught:
            self.a.call("no-such-service", "x", b"")
        self.assertEqual(caught.exception.status, 404)
        self.b.service_deregister(name)
        self.assertNotIn(name, [e["name"] for e in self.b.external()])

    def test_services_deploy_status_remove(self):
        name = f"web-{uuid.uuid4().hex[:6]}"
        plan = self.a.service_deploy({"name": name, "replicas": 1}, dry_run=True)
        self.assertTrue(plan)
        self.a.service_deploy({"name": name, "replicas": 1})
        status = until("the service on daemon B", lambda: next((s for s in self.b.service_ls() if s["name"] == name), None))
        self.assertEqual(status["name"], name)
        self.assertEqual(self.a.service_status(name)["name"], name)
        self.a.service_remove(name)
        until("the removal on daemon A", lambda: name not in [s["name"] for s in self.a.service_ls()])
        with self.assertRaises(noodle.InvalidServiceSpecError):
            self.a.service_deploy({"name": "Not A Name"})

    @unittest.skipUnless(EXAMPLES, "no example modules")
    def test_modules_publish_and_resolve(self):
        published = self.a.module_publish(os.path.join(EXAMPLES, "echo"))
        self.assertEqual(published["name"], "echo")
        resolved = until("the module in daemon B's catalog", lambda: self.b.module_resolve("echo@^1"))
        self.assertEqual(resolved["root"], "echo@1.0.0")
        self.assertEqual(resolved["lock"]["echo@1.0.0"], published["cid"])
        with self.assertRaises(noodle.ModuleNotFoundError):
            self.b.module_resolve("no-such-module@^1")

    def test_knowledge_graphs(self):
        graph = f"py-{uuid.uuid4().hex[:6]}"
        v = self.b.kg_add(graph, '<http://example.org/ada> <https://schema.org/name> "Ada Lovelace" .\n', format="ntriples")
        self.assertEqual(v["version"], 1)
        until("daemon A's catalog to list the graph", lambda: any(g["graph"] == v["iri"] for g in self.a.kg_graphs(mesh=True)))
        answer = self.a.kg_query(f"SELECT ?n WHERE {{ GRAPH <{v['iri']}> {{ ?s <https://schema.org/name> ?n }} }}", scope="mesh", deadline=5)
        self.assertTrue(answer["complete"])
        self.assertEqual([b["n"]["value"] for b in answer["bindings"]], ["Ada Lovelace"])
        about = self.a.kg_about("Ada Lovelace")
        self.assertIn("http://example.org/ada", [e["iri"] for e in about["entities"]])
        with self.assertRaises(noodle.RdfSyntaxError):
            self.b.kg_add(graph, "<a> <b> .", format="ntriples")
        with self.assertRaises(noodle.SparqlSyntaxError):
            self.a.kg_query("SELEC nothing")


if __name__ == "__main__":
    unittest.main()
