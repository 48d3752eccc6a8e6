"""Tests of the Pythonic layer (Model, AsyncClient) against the REAL daemon and the demo model
and samples bundled under Sources/segslim/Demo.

    SEGSLIMD=.build/debug/segslimd python3 -m unittest discover -s clients/python -v

Without $SEGSLIMD every test is skipped (saying so). Standard library only; the numpy cases
skip when numpy is missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import segslim  # noqa: E402
from segslim import AsyncClient, Client, Mask, SegSlimError, encode_png  # noqa: E402
from segslim import model as model_module  # noqa: E402
from segslim.png import decode_png  # noqa: E402

DAEMON = os.environ.get("SEGSLIMD")
SKIP_REASON = ("SEGSLIMD is not set: point it at a built segslimd binary "
               "(e.g. SEGSLIMD=.build/debug/segslimd) to run the client tests against the real daemon")
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEMO = os.path.join(REPO, "Sources", "segslim", "Demo")
MODEL = os.path.join(DEMO, "lraspp_mbv3_camvid.onnx")
SAMPLES = os.path.join(DEMO, "samples")
IMAGE = os.path.join(SAMPLES, "images", "0016E5_07959.jpg")
LABEL = os.path.join(SAMPLES, "labels", "0016E5_07959.png")

try:
    import numpy
except ImportError:
    numpy = None
NO_NUMPY = "numpy is not installed: the array cases of the Pythonic layer are skipped"


def dataset_json() -> dict:
    with open(os.path.join(SAMPLES, "dataset.json"), encoding="utf-8") as f:
        return json.load(f)


@unittest.skipUnless(DAEMON, SKIP_REASON)
class ModelTests(unittest.TestCase):
    """One daemon and one resident demo model for the class (a debug build segments in seconds)."""

    client: Client
    model: segslim.Model

    @classmethod
    def setUpClass(cls) -> None:
        if not os.path.isfile(MODEL):
            if os.environ.get("CI") == "true":
                raise AssertionError("the demo model %s is missing (CI=true: not skipping)" % MODEL)
            raise unittest.SkipTest("the demo model %s is missing" % MODEL)
        cls.client = Client.spawn(DAEMON, args=["--enable-debug-methods"], stderr=subprocess.DEVNULL)
        cls.client.initialize()
        cls.model = cls.client.load(MODEL)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()

    def test_load_describes_the_model(self) -> None:
        m = self.model
        self.assertEqual(m.id, "lraspp_mbv3_camvid")  # the file's stem
        self.assertEqual(m.path, MODEL)
        self.assertEqual([(t.name, t.dtype, t.shape) for t in m.inputs], [("image", "f32", [1, 3, 360, 480])])
        self.assertEqual(m.outputs[0].shape, [1, 11, 360, 480])
        self.assertEqual(m.classes, dataset_json()["classes"])
        self.assertEqual(m.size_bytes, os.path.getsize(MODEL))
        self.assertEqual(m.info["id"], m.id)
        again = self.client.model(m.id)
        # residentBytes grows once the runtime has compiled the model; the rest is the same.
        strip = lambda info: {k: v for k, v in info.items() if k != "residentBytes"}  # noqa: E731
        self.assertEqual(strip(again.info), strip(m.info))
        self.assertIn(m.id, [x.id for x in self.client.models()])

    def test_segment_mask_agrees_with_the_daemons_class_fractions(self) -> None:
        [r] = self.model.segment_many([IMAGE], output="mask")
        self.assertIsInstance(r.mask, Mask)
        self.assertEqual((r.mask.width, r.mask.height), (r.width, r.height))
        self.assertEqual((r.width, r.height), (480, 360))  # the JPEG's own size
        self.assertEqual(r.image, IMAGE)
        counts = r.mask.counts()
        total = r.width * r.height
        self.assertEqual(sorted(counts), sorted(c.id for c in r.classes))
        for c in r.classes:
            self.assertEqual(c.name, self.model.classes[c.id])
            self.assertAlmostEqual(counts[c.id] / total, c.fraction, places=5, msg=c.name)
        self.assertIsNone(r.overlay_png)
        self.assertGreater(r.timings["inferMs"], 0)

    def test_segment_bytes_equals_segment_path(self) -> None:
        with open(IMAGE, "rb") as f:
            data = f.read()
        by_path = self.model.segment(IMAGE, output="mask")
        by_bytes = self.model.segment(data, output="mask")
        self.assertEqual(by_bytes.data, by_path.data)

    @unittest.skipUnless(numpy, NO_NUMPY)
    def test_segment_numpy_array(self) -> None:
        # An RGB picture built from the sample's label and the dataset's palette.
        with open(LABEL, "rb") as f:
            label = decode_png(f.read()).to_numpy()
        palette = numpy.array(dataset_json()["palette"] + [[0, 0, 0]] * 256, dtype=numpy.uint8)
        rgb = palette[label]
        mask = self.model.segment(rgb)
        self.assertIsInstance(mask, numpy.ndarray)
        self.assertEqual((mask.dtype, mask.shape), (numpy.uint8, label.shape))
        self.assertLess(int(mask.max()), len(self.model.classes))
        # The array travels as a PNG: the same pixels sent as PNG bytes give the same mask.
        png = encode_png(rgb.tobytes(), rgb.shape[1], rgb.shape[0], 3)
        numpy.testing.assert_array_equal(self.model.segment(png, output="numpy"), mask)

    def test_segment_without_numpy_returns_a_mask_and_says_why(self) -> None:
        with mock.patch.object(model_module, "_numpy", lambda: None), \
                mock.patch.object(model_module, "_warned_numpy", False):
            with self.assertWarnsRegex(UserWarning, "pip install numpy"):
                mask = self.model.segment(IMAGE)
            self.assertIsInstance(mask, Mask)
            self.assertEqual(mask.shape, (360, 480))
            with self.assertRaisesRegex(ImportError, "numpy is not installed"):
                self.model.segment(IMAGE, output="numpy")

    def test_segment_refuses_bad_input_before_sending(self) -> None:
        with self.assertRaisesRegex(TypeError, "expected a path"):
            self.model.segment(3.5)
        with self.assertRaises(SegSlimError) as cm:
            self.model.segment(os.path.join(SAMPLES, "no-such.jpg"))
        self.assertEqual(cm.exception.code, SegSlimError.FILE_NOT_FOUND)

    def test_load_missing_file(self) -> None:
        with self.assertRaises(SegSlimError) as cm:
            self.client.load(os.path.join(DEMO, "missing.onnx"))
        self.assertEqual(cm.exception.code, SegSlimError.FILE_NOT_FOUND)

    def test_evaluate_with_progress(self) -> None:
        seen = []
        result = self.model.evaluate(SAMPLES, split="val", progress=lambda f, m: seen.append((f, m)))
        with open(os.path.join(SAMPLES, "val.txt"), encoding="utf-8") as f:
            n = len([line for line in f if line.strip()])
        self.assertEqual((result.id, result.split, result.images), (self.model.id, "val", n))
        self.assertEqual([c.name for c in result.per_class_iou], self.model.classes)
        ious = [c.iou for c in result.per_class_iou if c.iou is not None]
        self.assertAlmostEqual(result.miou, sum(ious) / len(ious), places=6)
        self.assertTrue(0 <= result.pixel_accuracy <= 1)
        fractions = [f for f, _ in seen]
        self.assertEqual(fractions, sorted(fractions))
        self.assertEqual(fractions[-1], 1.0)
        self.assertIn("%d/%d" % (n, n), " ".join(m for _, m in seen))

    def test_compress_benchmark_unload(self) -> None:
        new, report = self.model.compress("quantize", {"mode": "weightOnly"}, new_id="demo-w8",
                                          evaluate=False, benchmark_runs=0)
        self.assertEqual(new.id, "demo-w8")
        self.assertIsNone(new.path)  # in memory only: no output_path given
        self.assertEqual(new.classes, self.model.classes)  # keeps the source's preprocessing
        self.assertEqual(report.technique, "quantize")
        self.assertEqual(report.before.size_bytes, os.path.getsize(MODEL))
        self.assertLess(report.after.size_bytes, report.before.size_bytes)
        self.assertAlmostEqual(report.size_ratio, report.after.size_bytes / report.before.size_bytes, places=6)
        self.assertEqual(report.steps[0]["parameters"], {"mode": "weightOnly"})
        bench = new.benchmark(runs=1, warmup=0)
        self.assertEqual((bench.id, bench.runs, bench.warmup), ("demo-w8", 1, 0))
        self.assertGreater(bench.p50_ms, 0)
        self.assertEqual(bench.p50_ms, bench.min_ms)  # one run: every statistic is that run
        profiled = new.benchmark(runs=1, warmup=0, profile=True, profile_steps=2)
        self.assertEqual(len(profiled.raw["slowestSteps"]), 2)
        self.assertGreater(new.unload(), 0)
        with self.assertRaises(SegSlimError) as cm:
            new.benchmark(runs=1, warmup=0)
        self.assertEqual(cm.exception.code, SegSlimError.MODEL_NOT_FOUND)
        self.assertNotIn("demo-w8", [m.id for m in self.client.models()])

    def test_ctrl_c_cancels_the_request(self) -> None:
        seen = []
        began = threading.Event()

        def on_progress(fraction: float, message: str) -> None:
            seen.append(fraction)
            began.set()

        def interrupt() -> None:
            began.wait(10)
            os.kill(os.getpid(), signal.SIGINT)

        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            threading.Thread(target=interrupt, daemon=True).start()
            with self.assertRaises(KeyboardInterrupt):
                self.client.call("debug/sleep", {"durationMs": 60000, "steps": 100}, progress=on_progress)
        finally:
            signal.signal(signal.SIGINT, previous)
        # The daemon was told: nothing of ours is still running (only this status request),
        # and the bar stopped short (a cancelled request ends without reaching 100%). The
        # daemon answers the cancelled request before it retires it, so ask a few times
        # (bounded; a request that kept sleeping would stay in flight for the whole minute).
        in_flight = None
        for _ in range(50):
            in_flight = self.client.request("server/status", timeout=10)["requestsInFlight"]
            if in_flight == 1:
                break
            time.sleep(0.1)
        self.assertEqual(in_flight, 1)
        self.assertLess(seen[-1], 1.0)


@unittest.skipUnless(DAEMON, SKIP_REASON)
class AsyncClientTests(unittest.TestCase):
    def test_requests_progress_and_cancellation(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        async with await AsyncClient.spawn(DAEMON, args=["--enable-debug-methods"],
                                           stderr=subprocess.DEVNULL) as client:
            init = await client.initialize()
            self.assertEqual(init["serverInfo"]["name"], "segslimd")
            # Concurrent requests; progress arrives on the event loop's thread, before the answer.
            loop_thread = threading.current_thread()
            seen = []

            def on_progress(fraction: float, message: str) -> None:
                self.assertIs(threading.current_thread(), loop_thread)
                seen.append(fraction)

            slept, status = await asyncio.gather(
                client.request("debug/sleep", {"durationMs": 100, "steps": 4}, progress=on_progress),
                client.request("server/status"))
            self.assertEqual(slept["steps"], 4)
            self.assertEqual(seen, [0.0, 0.25, 0.5, 0.75, 1.0, 1.0])
            self.assertEqual(status["pid"], client.client.process.pid)
            # Cancelling the task cancels the daemon's work.
            began = asyncio.Event()
            task = asyncio.ensure_future(client.request("debug/sleep", {"durationMs": 60000, "steps": 100},
                                                        progress=lambda f, m: began.set()))
            await asyncio.wait_for(began.wait(), 10)
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task
            for _ in range(200):
                status = await client.request("server/status")
                if status["requestsInFlight"] == 1:
                    break
                await asyncio.sleep(0.05)
            self.assertEqual(status["requestsInFlight"], 1)
            # Errors arrive as SegSlimError.
            with self.assertRaises(SegSlimError) as cm:
                await client.load(os.path.join(DEMO, "missing.onnx"))
            self.assertEqual(cm.exception.code, SegSlimError.FILE_NOT_FOUND)
        self.assertEqual(client.client.process.returncode, 0)

    @unittest.skipUnless(os.path.isfile(MODEL), "the demo model is missing")
    def test_async_model(self) -> None:
        async def run() -> None:
            async with await AsyncClient.spawn(DAEMON, stderr=subprocess.DEVNULL) as client:
                await client.initialize()
                m = await client.load(MODEL, id="demo")
                self.assertEqual((m.id, m.classes), ("demo", dataset_json()["classes"]))
                [r] = await m.segment_many([IMAGE], output="mask")
                self.assertEqual(r.mask.shape, (360, 480))
                self.assertGreater(await m.unload(), 0)
        asyncio.run(run())


if __name__ == "__main__":
    unittest.main(verbosity=2)
