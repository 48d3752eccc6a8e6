"""Tests of the Python client against the REAL daemon binary.

Run with the daemon's path in $SEGSLIMD:

    SEGSLIMD=.build/debug/segslimd python3 -m unittest discover -s clients/python -v

Without $SEGSLIMD every test is skipped (with a message saying so). Standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from segslim import Client, ConnectionLost, PendingRequest, SegSlimError  # noqa: E402

DAEMON = os.environ.get("SEGSLIMD")
SKIP_REASON = ("SEGSLIMD is not set: point it at a built segslimd binary "
               "(e.g. SEGSLIMD=.build/debug/segslimd) to run the client tests against the real daemon")


def spawn(*extra: str) -> Client:
    """A daemon with debug methods, its log discarded (warnings only anyway)."""
    return Client.spawn(DAEMON, args=["--enable-debug-methods"] + list(extra), stderr=subprocess.DEVNULL)


@unittest.skipUnless(DAEMON, SKIP_REASON)
class StdioTests(unittest.TestCase):
    def setUp(self) -> None:
        self.client = spawn()
        self.init = self.client.initialize()

    def tearDown(self) -> None:
        self.client.close()

    def test_initialize(self) -> None:
        self.assertEqual(self.init["serverInfo"]["name"], "segslimd")
        self.assertIsInstance(self.init["serverInfo"]["version"], str)
        caps = self.init["capabilities"]
        for method in ("initialize", "shutdown", "exit", "server/status", "technique/list",
                       "debug/sleep", "$/cancelRequest"):
            self.assertIn(method, caps["methods"])
        self.assertIsInstance(caps["techniques"], list)
        self.assertGreater(caps["limits"]["maxMessageBytes"], 0)
        self.assertEqual(self.client.capabilities, caps)

    def test_initialize_twice_is_invalid_request(self) -> None:
        with self.assertRaises(SegSlimError) as cm:
            self.client.request("initialize", {})
        self.assertEqual(cm.exception.code, SegSlimError.INVALID_REQUEST)

    def test_status(self) -> None:
        status = self.client.request("server/status", timeout=10)
        self.assertEqual(status["pid"], self.client.process.pid)
        self.assertEqual(status["connections"], 1)
        self.assertEqual(status["models"], 0)
        self.assertGreaterEqual(status["uptimeMs"], 0)
        self.assertGreater(status["rssBytes"], 1 << 20)
        self.assertEqual(status["version"], self.init["serverInfo"]["version"])

    def test_liberal_params(self) -> None:
        for params in (None, {}, []):
            self.assertIn("pid", self.client.request("server/status", params))

    def test_technique_list(self) -> None:
        result = self.client.request("technique/list")
        self.assertIsInstance(result["techniques"], list)
        ids = [t["id"] for t in result["techniques"]]
        self.assertEqual(sorted(ids), sorted(self.init["capabilities"]["techniques"]))
        for t in result["techniques"]:
            for key in ("id", "summary", "parameters", "needs", "examples"):
                self.assertIn(key, t)

    def test_model_list_empty(self) -> None:
        self.assertEqual(self.client.request("model/list"), {"models": []})

    def test_unknown_method(self) -> None:
        with self.assertRaises(SegSlimError) as cm:
            self.client.request("no/such/method", {})
        self.assertEqual(cm.exception.code, -32601)
        self.assertEqual(cm.exception.code, SegSlimError.METHOD_NOT_FOUND)
        self.assertEqual(cm.exception.name, "MethodNotFound")
        self.assertIn("no/such/method", cm.exception.message)

    def test_invalid_params_names_field(self) -> None:
        cases = [
            ({"durationMs": "soon"}, "params.durationMs"),
            ({}, "params.durationMs"),
            ({"durationMs": -5}, "params.durationMs"),
            ({"durationMs": 10, "stepz": 3}, "params.stepz"),
            ({"durationMs": 10, "steps": 0}, "params.steps"),
        ]
        for params, field in cases:
            with self.subTest(params=params):
                with self.assertRaises(SegSlimError) as cm:
                    self.client.request("debug/sleep", params)
                self.assertEqual(cm.exception.code, -32602)
                self.assertIn(field, cm.exception.message)
        with self.assertRaises(SegSlimError) as cm:
            self.client.request("server/status", {"verbose": True})
        self.assertEqual(cm.exception.code, SegSlimError.INVALID_PARAMS)
        self.assertIn("params.verbose", cm.exception.message)

    def test_concurrent_requests_answer_out_of_order(self) -> None:
        order = []
        slow = self.client.request_async("debug/sleep", {"durationMs": 1000, "steps": 1})
        fast = self.client.request_async("debug/sleep", {"durationMs": 50, "steps": 1})
        slow.add_done_callback(lambda p: order.append("slow"))
        fast.add_done_callback(lambda p: order.append("fast"))
        self.assertEqual(fast.result(10)["steps"], 1)
        self.assertFalse(slow.done(), "the 50 ms sleep must be answered while the 1000 ms one still runs")
        # A quick request overtakes the slow one too.
        self.assertIn("pid", self.client.request("server/status", timeout=5))
        self.assertGreaterEqual(slow.result(10)["sleptMs"], 1000)
        self.assertEqual(order, ["fast", "slow"])
        self.assertGreater(slow.id, 0)
        self.assertLess(slow.id, fast.id)

    def test_many_in_flight(self) -> None:
        handles = [self.client.request_async("debug/sleep", {"durationMs": 10 * (i % 5), "steps": 1})
                   for i in range(40)]
        for h in handles:
            self.assertEqual(h.result(20)["steps"], 1)

    def test_cancellation(self) -> None:
        start = time.monotonic()
        pending = self.client.request_async("debug/sleep", {"durationMs": 20000})
        time.sleep(0.1)
        self.assertTrue(pending.cancel())
        with self.assertRaises(SegSlimError) as cm:
            pending.result(10)
        self.assertEqual(cm.exception.code, -32800)
        self.assertEqual(cm.exception.code, SegSlimError.REQUEST_CANCELLED)
        self.assertTrue(pending.cancelled())
        self.assertLess(time.monotonic() - start, 5)
        self.assertFalse(pending.cancel(), "cancelling an answered request does nothing")
        # The connection still serves.
        self.assertIn("pid", self.client.request("server/status", timeout=5))

    def test_cancel_unknown_id_is_not_an_error(self) -> None:
        self.client.notify("$/cancelRequest", {"id": 987654})
        self.assertIn("pid", self.client.request("server/status", timeout=5))

    def test_request_timeout_cancels(self) -> None:
        with self.assertRaises(TimeoutError):
            self.client.request("debug/sleep", {"durationMs": 20000}, timeout=0.2)
        status = self.client.request("server/status", timeout=5)
        # The timed-out sleep was cancelled: only this request is in flight by now.
        deadline = time.monotonic() + 5
        while status["requestsInFlight"] != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
            status = self.client.request("server/status", timeout=5)
        self.assertEqual(status["requestsInFlight"], 1)

    def test_progress_order(self) -> None:
        values = []
        result = self.client.request("debug/sleep", {"durationMs": 200, "steps": 4},
                                     progress=values.append, timeout=10)
        self.assertEqual(result["steps"], 4)
        kinds = [v["kind"] for v in values]
        self.assertEqual(kinds, ["begin", "report", "report", "report", "report", "end"])
        self.assertIsInstance(values[0]["title"], str)
        pcts = [v["percentage"] for v in values if "percentage" in v]
        self.assertEqual(pcts, sorted(pcts))
        self.assertTrue(all(0 <= p <= 100 for p in pcts))
        self.assertEqual(values[-2]["percentage"], 100)

    def test_progress_ends_when_cancelled(self) -> None:
        values = []
        seen_begin = threading.Event()

        def on_progress(v):
            values.append(v)
            if v["kind"] == "begin":
                seen_begin.set()

        pending = self.client.request_async("debug/sleep", {"durationMs": 20000, "steps": 100},
                                            progress=on_progress)
        self.assertTrue(seen_begin.wait(5))
        pending.cancel()
        self.assertEqual(pending.exception(10).code, SegSlimError.REQUEST_CANCELLED)
        self.assertEqual(values[0]["kind"], "begin")
        self.assertEqual(values[-1]["kind"], "end")

    def test_progress_not_sent_without_token(self) -> None:
        notes = []
        self.client.on_notification = lambda m, p: notes.append(m)
        self.client.request("debug/sleep", {"durationMs": 30, "steps": 3}, timeout=5)
        self.assertEqual(notes, [])

    def test_batch(self) -> None:
        results = self.client.batch([
            ("server/status", None),
            ("no/such/method", {}),
            ("initialized", None, True),          # a notification: no entry
            ("debug/sleep", {"durationMs": "x"}),
            ("model/list", []),
        ], timeout=10)
        self.assertEqual(len(results), 4)
        self.assertIn("pid", results[0])
        self.assertIsInstance(results[1], SegSlimError)
        self.assertEqual(results[1].code, SegSlimError.METHOD_NOT_FOUND)
        self.assertEqual(results[2].code, SegSlimError.INVALID_PARAMS)
        self.assertEqual(results[3], {"models": []})

    def test_batch_raw_wire_shape(self) -> None:
        """A batch is answered with one array; a batch of notifications with nothing."""
        raw = []
        got = threading.Event()

        def on_message(method, params):
            raw.append((method, params))
            got.set()

        self.client.on_notification = on_message
        self.client.send_message([{"jsonrpc": "2.0", "method": "initialized"}])
        self.client.send_message([{"jsonrpc": "2.0", "id": "b1", "method": "model/list"},
                                  {"jsonrpc": "2.0", "id": "b2", "method": "nope"}])
        self.assertTrue(got.wait(5))
        time.sleep(0.1)
        self.assertEqual(sorted(m["id"] for _, m in raw), ["b1", "b2"])
        self.assertTrue(all(method == "<response>" for method, _ in raw))

    def test_debug_print_does_not_corrupt_stdout(self) -> None:
        self.assertIsNone(self.client.request("debug/print", {"text": "Content-Length: 5\r\n\r\n{oops"}))
        self.assertIn("pid", self.client.request("server/status", timeout=5))

    def test_daemon_death_is_a_clean_error(self) -> None:
        pending = self.client.request_async("debug/sleep", {"durationMs": 20000})
        time.sleep(0.1)
        self.client.process.kill()
        with self.assertRaises(ConnectionLost) as cm:
            pending.result(10)
        self.assertIsNone(cm.exception.code)
        self.assertIsInstance(cm.exception, SegSlimError)
        with self.assertRaises(ConnectionLost):
            self.client.request("server/status", timeout=5)
        self.assertFalse(self.client.alive)
        self.assertEqual(self.client.close(), -signal.SIGKILL)


@unittest.skipUnless(DAEMON, SKIP_REASON)
class LifecycleTests(unittest.TestCase):
    def test_exit_after_shutdown_is_0(self) -> None:
        client = spawn()
        client.initialize()
        client.shutdown()
        client.exit()
        self.assertEqual(client.wait(10), 0)
        client.close()

    def test_exit_without_shutdown_is_1(self) -> None:
        client = spawn()
        client.initialize()
        client.exit()
        self.assertEqual(client.wait(10), 1)
        client.close()

    def test_exit_before_initialize_is_1(self) -> None:
        client = spawn()
        client.exit()
        self.assertEqual(client.wait(10), 1)
        client.close()

    def test_close_returns_0(self) -> None:
        with spawn() as client:
            client.initialize()
        self.assertEqual(client.process.returncode, 0)
        self.assertEqual(client.close(), 0)  # idempotent

    def test_request_before_initialize(self) -> None:
        with spawn() as client:
            with self.assertRaises(SegSlimError) as cm:
                client.request("server/status", timeout=5)
            self.assertEqual(cm.exception.code, -32002)
            self.assertEqual(cm.exception.code, SegSlimError.SERVER_NOT_INITIALIZED)
            client.initialize()
            self.assertIn("pid", client.request("server/status", timeout=5))

    def test_request_after_shutdown(self) -> None:
        client = spawn()
        client.initialize()
        client.shutdown()
        with self.assertRaises(SegSlimError) as cm:
            client.request("server/status", timeout=5)
        self.assertEqual(cm.exception.code, -32600)
        client.exit()
        self.assertEqual(client.wait(10), 0)
        client.close()

    def test_shutdown_waits_for_running_requests(self) -> None:
        client = spawn()
        client.initialize()
        sleep = client.request_async("debug/sleep", {"durationMs": 300, "steps": 1})
        client.shutdown(timeout=10)
        self.assertTrue(sleep.done(), "shutdown is answered after every earlier request")
        self.assertEqual(sleep.result(0)["steps"], 1)
        self.assertEqual(client.close(), 0)

    def test_end_of_input_exits_0(self) -> None:
        proc = subprocess.run([DAEMON], input=b"", stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=10)
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(proc.stdout, b"")

    def test_newline_delimited_json(self) -> None:
        lines = [
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
            {"jsonrpc": "2.0", "id": 2, "method": "model/list"},
            {"jsonrpc": "2.0", "id": 3, "method": "shutdown"},
            {"jsonrpc": "2.0", "method": "exit"},
        ]
        data = b"".join(json.dumps(m).encode() + b"\n" for m in lines)
        proc = subprocess.run([DAEMON], input=data, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=10)
        self.assertEqual(proc.returncode, 0)
        answers = [json.loads(line) for line in proc.stdout.splitlines()]
        self.assertEqual([a["id"] for a in answers], [1, 2, 3])
        self.assertEqual(answers[1]["result"], {"models": []})

    def test_debug_methods_need_the_flag(self) -> None:
        with Client.spawn(DAEMON, stderr=subprocess.DEVNULL) as client:
            init = client.initialize()
            self.assertNotIn("debug/sleep", init["capabilities"]["methods"])
            with self.assertRaises(SegSlimError) as cm:
                client.request("debug/sleep", {"durationMs": 1})
            self.assertEqual(cm.exception.code, SegSlimError.METHOD_NOT_FOUND)


@unittest.skipUnless(DAEMON, SKIP_REASON)
class SocketTests(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="segslim-", dir="/tmp")
        self.path = os.path.join(self.dir, "d.sock")
        self.daemon = subprocess.Popen([DAEMON, "--enable-debug-methods", "--listen", "unix:" + self.path],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL)

    def tearDown(self) -> None:
        if self.daemon.poll() is None:
            self.daemon.terminate()
            self.daemon.wait(10)
        self.daemon.stdout.close()
        if os.path.exists(self.path):
            os.unlink(self.path)
        os.rmdir(self.dir)

    def test_two_clients_share_one_daemon(self) -> None:
        a = Client.connect("unix:" + self.path, timeout=10)
        b = Client.connect(self.path, timeout=10)
        try:
            a.initialize(client_name="a")
            b.initialize(client_name="b")
            sa = a.request("server/status", timeout=5)
            sb = b.request("server/status", timeout=5)
            self.assertEqual(sa["pid"], self.daemon.pid)
            self.assertEqual(sb["pid"], self.daemon.pid)
            self.assertEqual(sb["connections"], 2)
            # A slow request on one connection does not hold up the other.
            slow = a.request_async("debug/sleep", {"durationMs": 1500, "steps": 1})
            start = time.monotonic()
            self.assertEqual(b.request("model/list", timeout=5), {"models": []})
            self.assertLess(time.monotonic() - start, 1.0)
            self.assertFalse(slow.done())
            # Ids are per connection: both clients use id 1.. without clashing, and a
            # cancel on b cannot touch a's request with the same id.
            b.notify("$/cancelRequest", {"id": slow.id})
            self.assertGreaterEqual(slow.result(10)["sleptMs"], 1500)
            # shutdown + exit closes one connection; the daemon keeps serving the other.
            self.assertIsNone(a.close())
            deadline = time.monotonic() + 5
            while b.request("server/status", timeout=5)["connections"] != 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(b.request("server/status", timeout=5)["connections"], 1)
            self.assertIsNone(self.daemon.poll())
        finally:
            a.close()
            b.close()
        # A third client can still connect after both left.
        with Client.connect("unix:" + self.path) as c:
            c.initialize()
            self.assertIn("pid", c.request("server/status", timeout=5))
        self.assertIsNone(self.daemon.poll())
        # SIGTERM removes the socket file.
        self.daemon.terminate()
        self.daemon.wait(10)
        self.assertFalse(os.path.exists(self.path))

    def test_socket_lifecycle_errors(self) -> None:
        with Client.connect(self.path, timeout=10) as c:
            with self.assertRaises(SegSlimError) as cm:
                c.request("server/status", timeout=5)
            self.assertEqual(cm.exception.code, SegSlimError.SERVER_NOT_INITIALIZED)


class ErrorTableTests(unittest.TestCase):
    """No daemon needed: the client's constants agree with protocol/README.md's table."""

    def test_constants_match_protocol_readme(self) -> None:
        readme = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "protocol", "README.md")
        if not os.path.exists(readme):
            self.skipTest("protocol/README.md not found next to the client")
        rows = []
        with open(readme, encoding="utf-8") as f:
            for line in f:
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if len(cells) == 3 and cells[0].lstrip("-").isdigit():
                    rows.append((int(cells[0]), cells[1]))
        self.assertEqual(rows, list(SegSlimError.NAMES.items()))
        for code, name in rows:
            constant = "".join("_" + ch if ch.isupper() and i else ch for i, ch in enumerate(name)).upper()
            self.assertEqual(getattr(SegSlimError, constant), code, constant)


if __name__ == "__main__":
    unittest.main(verbosity=2)
