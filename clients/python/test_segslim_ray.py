"""Tests of segslim.ray against the REAL daemon: sharded evaluation equals one daemon's
``model/evaluate`` bit for bit (bundled samples, and CamVid val when ../shared has it), a Ray
actor killed mid-evaluation has its shard retried with the result still exact, and layer-
sharded sensitivity (on a small model and a synthetic dataset made by the test) and distributed
``model/pipeline`` trials equal the local answers.

    SEGSLIMD=/path/to/segslimd .venv-ray/bin/python -m unittest clients/python/test_segslim_ray.py -v
    (or .ci/ray-tests.sh, which makes that venv)

The Ray cases start a local cluster of two CPUs (``ray.init(num_cpus=2)``) and shut it down;
they skip when Ray is not installed, saying so. The exactness of the matrix itself needs no
Ray and runs wherever $SEGSLIMD is set.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from segslim import encode_png  # noqa: E402
from segslim.ray import ConfusionMatrix, Worker, evaluation_json, read_label  # noqa: E402

try:
    import ray
except ImportError:
    ray = None

DAEMON = os.environ.get("SEGSLIMD")
NO_DAEMON = ("SEGSLIMD is not set: point it at a built segslimd binary to run segslim.ray against the real daemon")
NO_RAY = ("ray is not installed: the Ray integration's cluster tests are skipped; "
          "install it with .ci/ray-tests.sh (a venv with clients/python/requirements-ray.txt)")
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DEMO = os.path.join(REPO, "Sources", "segslim", "Demo")
MODEL = os.path.join(DEMO, "lraspp_mbv3_camvid.onnx")
#: A 3-class LR-ASPP miniature (64x64): cheap enough for sensitivity on a debug daemon.
SMALL_MODEL = os.path.join(REPO, "Tests", "SegRuntimeTests", "Fixtures", "small_lraspp.onnx")
SAMPLES = os.path.join(DEMO, "samples")
SHARED = os.environ.get("SEGSLIM_SHARED") or os.path.join(REPO, "..", "shared")
CAMVID = os.path.join(SHARED, "data", "camvid")
SCORES = ("miou", "pixelAccuracy", "meanAccuracy", "kappa", "meanDice")


def bits(answer: dict) -> dict:
    """An evaluation's scores as exact bit patterns (float.hex), so equality is bit for bit."""
    out = {k: float(answer[k]).hex() for k in SCORES}
    out["perClassIoU"] = [(c["class"], float(c["iou"]).hex()) for c in answer["perClassIoU"]]
    out["images"] = answer["images"]
    out["outOfRangeLabels"] = answer["outOfRangeLabels"]
    return out


class MetricsTests(unittest.TestCase):
    """The matrix and the metric formulas, against values worked by hand."""

    def test_importing_segslim_ray_does_not_import_ray(self) -> None:
        run = subprocess.run([sys.executable, "-c", "import sys, segslim, segslim.ray; print('ray' in sys.modules)"],
                             capture_output=True, text=True, cwd=HERE)
        self.assertEqual((run.returncode, run.stdout.strip()), (0, "False"), run.stderr[-2000:])

    def test_counts_skip_ignored_and_count_out_of_range(self) -> None:
        m = ConfusionMatrix(3, ignore_index=255)
        m.add(bytes([0, 1, 2, 2, 7, 0, 1]), bytes([0, 1, 2, 1, 0, 255, 9]))
        self.assertEqual(m.counts, [1, 0, 0, 0, 1, 1, 0, 0, 1])
        self.assertEqual((m.out_of_range_labels, m.out_of_range_predictions), (1, 1))

    def test_metrics_match_hand_computed(self) -> None:
        m = ConfusionMatrix(2, counts=[3, 1, 2, 4])  # labels 0: 3 right, 1 wrong; labels 1: 2 wrong, 4 right
        s = m.metrics()
        self.assertEqual(s["classIoU"], [3 / 6, 4 / 7])
        self.assertEqual(s["miou"], (0.0 + 3 / 6 + 4 / 7) / 2)
        self.assertEqual(s["pixelAccuracy"], 7 / 10)
        self.assertEqual(s["meanAccuracy"], (0.0 + 3 / 4 + 4 / 6) / 2)
        pe = (5.0 * 4.0 + 5.0 * 6.0) / 100.0
        self.assertEqual(s["kappa"], (0.7 - pe) / (1 - pe))

    def test_merge_is_the_matrix_of_the_union(self) -> None:
        a, b, whole = ConfusionMatrix(3), ConfusionMatrix(3), ConfusionMatrix(3)
        pa, la, pb, lb = bytes([0, 1, 2, 2]), bytes([0, 2, 2, 255]), bytes([1, 1, 0]), bytes([1, 0, 5])
        a.add(pa, la)
        b.add(pb, lb)
        whole.add(pa + pb, la + lb)
        a.merge(b)
        self.assertEqual(a, whole)

    def test_labels_decode_as_the_daemon_reads_them(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            grey = os.path.join(tmp, "grey.png")
            with open(grey, "wb") as f:
                f.write(encode_png(bytes([0, 1, 2, 255]), 2, 2, 1))
            self.assertEqual(read_label(grey), (2, 2, bytes([0, 1, 2, 255])))
            wide = os.path.join(tmp, "wide.png")
            with open(wide, "wb") as f:
                f.write(_png16([3, 0, 255, 7], 2, 2))
            self.assertEqual(read_label(wide), (2, 2, bytes([3, 0, 255, 7])))
            with open(wide, "wb") as f:
                f.write(_png16([3, 256, 0, 1], 2, 2))
            with self.assertRaisesRegex(ValueError, "256 does not fit in 8 bits"):
                read_label(wide)
            rgb = os.path.join(tmp, "rgb.png")
            with open(rgb, "wb") as f:
                f.write(encode_png(bytes(12), 2, 2, 3))
            with self.assertRaisesRegex(ValueError, "colour type 2"):
                read_label(rgb)


def _exits(pid: int, within: float = 20.0) -> bool:
    """Whether process ``pid`` is gone (or a zombie) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/status" % pid) as f:
                if any(line.startswith("State:") and "Z" in line.split()[1] for line in f):
                    return True
        except OSError:
            return True
        time.sleep(0.1)
    return False


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _png_palette(values: bytes, width: int, height: int) -> bytes:
    """An 8-bit palette PNG (the daemon reads its indices as class ids)."""
    rows = b"".join(b"\x00" + values[y * width:(y + 1) * width] for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0))
            + _chunk(b"PLTE", bytes(range(256)) * 3) + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b""))


def make_synthetic_dataset(root: str) -> str:
    """A 3-class folder dataset (images/ + masks/: one split, "all"; dataset.json) for SMALL_MODEL: four
    64x48 images whose labels come as 8-bit grey, 16-bit grey and palette PNGs, with ignored
    (255) and out-of-range (7) pixels, so label decoding is compared with the daemon's too."""
    width, height = 64, 48
    os.makedirs(os.path.join(root, "images"))
    os.makedirs(os.path.join(root, "masks"))
    with open(os.path.join(root, "dataset.json"), "w", encoding="utf-8") as f:
        f.write('{"classes": ["red", "green", "blue"], "ignore_index": 255}')
    for k in range(4):
        labels = bytearray()
        pixels = bytearray()
        for y in range(height):
            for x in range(width):
                c = ((x + 3 * k) // 16 + (y // 12)) % 3
                labels.append(255 if (x + y + k) % 23 == 0 else 7 if (x * y + k) % 97 == 1 else c)
                tone = (x * 4 + y * 3 + k * 40) % 96
                rgb = [tone, tone, tone]
                rgb[c] = 160 + tone
                pixels += bytes(rgb)
        with open(os.path.join(root, "images", "s%d.png" % k), "wb") as f:
            f.write(encode_png(bytes(pixels), width, height, 3))
        label_png = (_png16(list(labels), width, height) if k == 1 else _png_palette(bytes(labels), width, height)
                     if k == 2 else encode_png(bytes(labels), width, height, 1))
        with open(os.path.join(root, "masks", "s%d.png" % k), "wb") as f:
            f.write(label_png)
    return root


def _png16(values: list, width: int, height: int) -> bytes:
    rows = b"".join(b"\x00" + struct.pack(">%dH" % width, *values[y * width:(y + 1) * width]) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b""))


@unittest.skipUnless(DAEMON, NO_DAEMON)
class WorkerExactnessTests(unittest.TestCase):
    """One worker, no Ray: the matrix counted from model/segment masks scores exactly as
    model/evaluate does on the bundled samples."""

    def test_segment_masks_give_the_daemons_scores(self) -> None:
        w = Worker(DAEMON)
        try:
            plan = w.plan_evaluation(MODEL, SAMPLES, "val", None)
            self.assertEqual(len(plan["samples"]), 4)
            shard = w.confusion(MODEL, plan["samples"], plan["numClasses"], plan["ignoreIndex"], plan["format"])
            mine = evaluation_json(plan["modelId"], "val", ConfusionMatrix.from_json(shard["confusion"]), plan["classes"],
                                   shard["images"], shard["inferMs"], 1.0)
            ref = w.client.request("model/evaluate", {"id": plan["modelId"], "dataset": SAMPLES, "split": "val"})
            self.assertEqual(bits(mine), bits(ref))
        finally:
            w.close()

    def test_labels_of_every_png_kind_give_the_daemons_scores(self) -> None:
        tmp = tempfile.mkdtemp(prefix="segslim-ray-")
        w = Worker(DAEMON)
        try:
            data = make_synthetic_dataset(os.path.join(tmp, "synthetic"))
            plan = w.plan_evaluation(SMALL_MODEL, data, "all", None)
            self.assertEqual((plan["format"], len(plan["samples"]), plan["numClasses"]), ("folder", 4, 3))
            shard = w.confusion(SMALL_MODEL, plan["samples"], 3, 255, plan["format"])
            mine = evaluation_json(plan["modelId"], "all", ConfusionMatrix.from_json(shard["confusion"]), plan["classes"],
                                   shard["images"], shard["inferMs"], 1.0)
            ref = w.client.request("model/evaluate", {"id": plan["modelId"], "dataset": data, "split": "all"})
            self.assertGreater(ref["outOfRangeLabels"], 0)
            self.assertEqual(bits(mine), bits(ref))
        finally:
            w.close()
            shutil.rmtree(tmp, ignore_errors=True)


@unittest.skipUnless(DAEMON, NO_DAEMON)
@unittest.skipIf(ray is None, NO_RAY)
class RayClusterTests(unittest.TestCase):
    """A local Ray cluster of 2 CPUs and 2 segslimd actors for the class."""

    cluster = None
    local: Worker

    @classmethod
    def setUpClass(cls) -> None:
        from segslim.ray import SegslimCluster
        if not os.path.isfile(MODEL):
            raise unittest.SkipTest("the demo model %s is missing" % MODEL)
        # Workers import segslim from this checkout, as the driver does.
        ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": HERE, "SEGSLIMD": DAEMON}})
        cls.tmp = tempfile.mkdtemp(prefix="segslim-ray-")
        cls.synthetic = make_synthetic_dataset(os.path.join(cls.tmp, "synthetic"))
        try:
            cls.cluster = SegslimCluster(2, daemon=DAEMON)
            cls.local = Worker(DAEMON)
        except BaseException:
            ray.shutdown()
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        try:
            if cls.cluster is not None:
                cls.cluster.shutdown()
            cls.local.close()
        finally:
            ray.shutdown()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def local_evaluation(self, dataset: str, model: str = MODEL, split: str = "val") -> dict:
        model_id = self.local.model_id(model)
        return self.local.client.request("model/evaluate", {"id": model_id, "dataset": dataset, "split": split}, timeout=600)

    def test_distributed_evaluation_equals_one_daemon_bit_for_bit(self) -> None:
        for model, data, split in ((MODEL, SAMPLES, "val"), (SMALL_MODEL, self.synthetic, "all")):
            with self.subTest(dataset=os.path.basename(data)):
                ev = self.cluster.evaluate(model, data, split, shard_size=1)
                self.assertEqual(len(ev.shards), 4)
                self.assertEqual(len({s.attempts[0] for s in ev.shards}), 2, "both actors should have taken shards")
                self.assertEqual(bits(ev.result.raw), bits(self.local_evaluation(data, model, split)))

    def test_camvid_val_distributed_equals_local(self) -> None:
        if not os.path.isdir(CAMVID):
            if os.environ.get("CI") == "true":
                self.fail("CamVid is missing at %s (CI=true: not skipping)" % CAMVID)
            self.skipTest("CamVid is not at %s (set SEGSLIM_SHARED)" % CAMVID)
        ev = self.cluster.evaluate(MODEL, CAMVID, "val")
        local = self.local_evaluation(CAMVID)
        self.assertEqual(ev.result.images, 101)
        self.assertEqual(bits(ev.result.raw), bits(local))
        print("\nCamVid val over %d shards: distributed mIoU %r (%s), local %r (%s)"
              % (len(ev.shards), ev.result.miou, float(ev.result.miou).hex(), local["miou"], float(local["miou"]).hex()),
              file=sys.stderr)

    def test_actor_killed_mid_evaluation_is_retried_and_still_exact(self) -> None:
        killed = []

        def kill_first(shard: int, attempt: int, actor: object) -> None:
            if not killed:
                killed.append(shard)
                # Let it start on the shard (two images: well over 0.1 s to segment and score),
                # then kill it; the scheduler waits here, so it cannot have taken the result yet.
                time.sleep(0.1)
                ray.kill(actor, no_restart=True)

        pids = {self.cluster.pool.name(a): ray.get(a.pid.remote()) for a in self.cluster.actors}
        ev = self.cluster.evaluate(MODEL, SAMPLES, "val", shard_size=2, on_dispatch=kill_first)
        self.assertEqual(ev.retries, 1)
        record = ev.shards[killed[0]]
        self.assertEqual(len(record.attempts), 2)
        self.assertNotEqual(record.attempts[0], record.attempts[1], "the retry must run on another actor")
        self.assertEqual(len(self.cluster.actors), 2, "the dead actor is replaced")
        self.assertTrue(_exits(pids[record.attempts[0]]), "the killed actor's segslimd should exit with it")
        self.assertEqual(bits(ev.result.raw), bits(self.local_evaluation(SAMPLES)))

    def test_sensitivity_over_layers_equals_local(self) -> None:
        model_id = self.local.model_id(SMALL_MODEL)
        calibration = {"split": "all", "count": 2}
        for technique, params, entries, shards in (("prune", {"criterion": "l1"}, 10, 2), ("prune", {"criterion": "fpgm"}, 10, 2),
                                                   ("prune", {"criterion": "random", "seed": 3}, 10, 1), ("quantize", {}, 15, 2)):
            with self.subTest(technique=technique, params=params):
                local = self.local.client.request("model/sensitivity", {
                    "id": model_id, "technique": technique, "params": params, "dataset": self.synthetic, "split": "all",
                    "limit": 2, "calibration": calibration}, timeout=600)
                spread = self.cluster.sensitivity(SMALL_MODEL, technique, self.synthetic, params=params, split="all",
                                                  limit=2, calibration=calibration)
                self.assertEqual(len(spread["shards"]), shards)
                self.assertGreaterEqual(len(local["layers"]), entries)
                self.assertGreater(len({e["miou"] for e in local["layers"]}), 3, "the layers should score differently")
                self.assertEqual(spread["baseline"], local["baseline"])
                self.assertEqual(spread["layers"], local["layers"])

    def test_pipeline_trials_on_the_cluster_equal_local_runs(self) -> None:
        data = {"dataset": self.synthetic, "split": "all", "calibration": {"split": "all", "count": 2}, "benchmarkRuns": 0}
        requests = [dict(data, steps=[{"technique": "quantize", "params": {"mode": "dynamic"}}]),
                    dict(data, steps=[{"technique": "prune", "params": {"ratio": 0.5, "roundTo": 1, "latencyRuns": 0}}]),
                    dict(data, steps=[{"technique": "prune", "params": {"ratio": 0.25, "roundTo": 1, "latencyRuns": 0}},
                                      {"technique": "quantize", "params": {"rounding": "nearest"}}])]
        answers = self.cluster.run_pipelines([dict(r, model=SMALL_MODEL) for r in requests])
        self.assertEqual(len(answers), 3)
        model_id = self.local.model_id(SMALL_MODEL)
        for request, answer in zip(requests, answers):
            local = self.local.client.request("model/pipeline", dict(request, id=model_id), timeout=600)
            self.local.client.request("model/unload", {"id": local["id"]})
            self.assertEqual([s["technique"] for s in answer["report"]["steps"]], [s["technique"] for s in request["steps"]])
            self.assertEqual(answer["report"]["after"], local["report"]["after"])
            for side in ("before", "after"):  # the scores; latencies are timings
                self.assertEqual(bits(answer["report"]["evaluation"][side]), bits(local["report"]["evaluation"][side]))
            self.assertNotEqual(answer["report"]["after"], answer["report"]["before"], "each trial changes the model")
        # Trials leave no model of theirs resident on the actors.
        for actor in self.cluster.actors:
            resident = ray.get(actor.resident.remote())
            self.assertEqual([m for m in resident if m.startswith("segslim-ray-trial-")], [])

    def test_default_cluster_has_one_actor_per_node(self) -> None:
        from segslim.ray import SegslimCluster
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        # num_cpus 0: the class's two actors hold both CPUs of this local cluster.
        with SegslimCluster(daemon=DAEMON, actor_options={"num_cpus": 0}) as per_node:
            self.assertEqual(len(per_node.actors), len(nodes))
            ev = per_node.evaluate(SMALL_MODEL, self.synthetic, "all")
            self.assertEqual(bits(ev.result.raw), bits(self.local_evaluation(self.synthetic, SMALL_MODEL, "all")))

if __name__ == "__main__":
    unittest.main()
