"""Tests of the Pythonic layer's pieces that need no daemon: the PNG codec, the progress
adapter, result parsing, image parameters, and installing the package with pip.

Standard library only; the numpy cases skip (saying so) when numpy is not installed.
"""

from __future__ import annotations

import base64
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from segslim import EvaluationResult, Mask, PNGError, decode_png, encode_png, progress_adapter  # noqa: E402
from segslim.model import _image_param, _mask_out  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

try:
    import numpy
except ImportError:
    numpy = None
NO_NUMPY = "numpy is not installed: the array cases of the Pythonic layer are skipped"


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_from_rows(width: int, height: int, depth: int, ctype: int, filtered_rows: bytes,
                  palette: bytes = b"") -> bytes:
    """A PNG around already-filtered scanlines (each starting with its filter byte)."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, ctype, 0, 0, 0)
    plte = chunk(b"PLTE", palette) if palette else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + plte +
            chunk(b"IDAT", zlib.compress(filtered_rows)) + chunk(b"IEND", b""))


class PNGTests(unittest.TestCase):
    # A 4x3 grey image; each row is written with a different filter below.
    IMAGE = [[10, 20, 30, 250], [15, 25, 200, 5], [0, 255, 128, 64]]

    def test_each_filter_type(self) -> None:
        # Filtered by hand from the PNG specification's definitions (bpp = 1), independently
        # of the decoder: row 0 Sub, row 1 Up, row 2 Average; then Paeth for all rows.
        a, b, c = self.IMAGE
        sub = bytes([a[0]] + [(a[i] - a[i - 1]) % 256 for i in range(1, 4)])
        up = bytes([(b[i] - a[i]) % 256 for i in range(4)])
        avg = bytes([(c[0] - (b[0] // 2)) % 256] + [(c[i] - (c[i - 1] + b[i]) // 2) % 256 for i in range(1, 4)])
        rows = b"\x01" + sub + b"\x02" + up + b"\x03" + avg
        mask = decode_png(png_from_rows(4, 3, 8, 0, rows))
        self.assertEqual(mask.tolist(), self.IMAGE)

        def paeth(left: int, above: int, upleft: int) -> int:
            p = left + above - upleft
            options = [(abs(p - left), 0, left), (abs(p - above), 1, above), (abs(p - upleft), 2, upleft)]
            return min(options)[2]  # ties: left, then above, then upper-left

        prev = [0, 0, 0, 0]
        rows = b""
        for row in self.IMAGE:
            out = []
            for i, v in enumerate(row):
                left = row[i - 1] if i else 0
                upleft = prev[i - 1] if i else 0
                out.append((v - paeth(left, prev[i], upleft)) % 256)
            rows += b"\x04" + bytes(out)
            prev = row
        self.assertEqual(decode_png(png_from_rows(4, 3, 8, 0, rows)).tolist(), self.IMAGE)

    def test_palette_two_bits_per_pixel(self) -> None:
        # 5 pixels at 2 bits: values 3,0,1,2 | 3 packed MSB first, the last byte padded.
        rows = b"\x00" + bytes([0b11000110, 0b11000000])
        palette = bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
        mask = decode_png(png_from_rows(5, 1, 2, 3, rows, palette))
        self.assertEqual(mask.tolist(), [[3, 0, 1, 2, 3]])
        self.assertEqual(mask.palette[1], (255, 0, 0))
        self.assertEqual(mask.counts(), {0: 1, 1: 1, 2: 1, 3: 2})
        self.assertEqual(mask[0, 4], 3)
        with self.assertRaises(IndexError):
            mask[1, 0]

    def test_round_trip_grey(self) -> None:
        pixels = bytes(range(256)) * 3
        mask = decode_png(encode_png(pixels, 64, 12, 1))
        self.assertEqual((mask.width, mask.height), (64, 12))
        self.assertEqual(mask.data, pixels)

    def test_refusals_name_the_problem(self) -> None:
        good = encode_png(bytes(12), 2, 2, 3)
        with self.assertRaisesRegex(PNGError, "colour type 2"):
            decode_png(good)  # RGB is not a mask
        with self.assertRaisesRegex(PNGError, "not a PNG"):
            decode_png(b"GIF89a" + bytes(20))
        grey = bytearray(encode_png(bytes(4), 2, 2, 1))
        grey[-20] ^= 0xFF  # a byte inside IDAT
        with self.assertRaisesRegex(PNGError, "bad CRC"):
            decode_png(bytes(grey))
        with self.assertRaisesRegex(PNGError, "filter type 9"):
            decode_png(png_from_rows(2, 1, 8, 0, b"\x09\x01\x02"))
        with self.assertRaisesRegex(PNGError, "truncated|runs past"):
            decode_png(encode_png(bytes(4), 2, 2, 1)[:-15])
        with self.assertRaisesRegex(ValueError, "channels"):
            encode_png(bytes(4), 2, 1, 2)

    def test_mask_output_kinds(self) -> None:
        png = encode_png(bytes([0, 1, 2, 3, 4, 5]), 3, 2, 1)
        self.assertEqual(_mask_out(png, "png"), png)
        self.assertEqual(_mask_out(png, "mask"), Mask(3, 2, bytes([0, 1, 2, 3, 4, 5])))
        with self.assertRaisesRegex(ValueError, "output"):
            _mask_out(png, "pil")

    @unittest.skipUnless(numpy, NO_NUMPY)
    def test_mask_to_numpy(self) -> None:
        png = encode_png(bytes([0, 1, 2, 3, 4, 5]), 3, 2, 1)
        array = _mask_out(png, "numpy")
        self.assertEqual(array.dtype, numpy.uint8)
        self.assertEqual(array.tolist(), [[0, 1, 2], [3, 4, 5]])
        self.assertEqual(_mask_out(png, "auto").shape, (2, 3))


class ImageParamTests(unittest.TestCase):
    def test_paths_are_made_absolute(self) -> None:
        self.assertEqual(_image_param("a/b.png"), os.path.join(os.getcwd(), "a", "b.png"))

    def test_bytes_are_sent_as_base64(self) -> None:
        self.assertEqual(_image_param(b"\x89PNG"), {"data": base64.b64encode(b"\x89PNG").decode()})

    def test_other_types_are_refused(self) -> None:
        with self.assertRaisesRegex(TypeError, "numpy uint8 array"):
            _image_param(42)

    def test_one_image_where_a_list_is_expected(self) -> None:
        from segslim import Model
        model = Model(None, {"id": "m"})  # type: ignore[arg-type]  # never reaches a client
        for one in ("a.jpg", b"\x89PNG"):
            with self.assertRaisesRegex(TypeError, "use segment"):
                model.segment_many(one)
        if numpy is not None:
            with self.assertRaisesRegex(TypeError, "ndarray"):
                model.segment_many(numpy.zeros((4, 4, 3), dtype=numpy.uint8))

    @unittest.skipUnless(numpy, NO_NUMPY)
    def test_arrays_become_png(self) -> None:
        rgb = numpy.arange(2 * 3 * 3, dtype=numpy.uint8).reshape(2, 3, 3)
        png = base64.b64decode(_image_param(rgb[:, ::-1])["data"])  # a non-contiguous view
        # Independently: IHDR says 3x2 RGB, and the inflated rows are filter 0 + the flipped pixels.
        self.assertEqual(struct.unpack(">IIBB", png[16:26]), (3, 2, 8, 2))
        idat_len = struct.unpack(">I", png[33:37])[0]
        raw = zlib.decompress(png[41:41 + idat_len])
        flipped = rgb[:, ::-1].tolist()
        expect = b"".join(b"\x00" + bytes(v for px in row for v in px) for row in flipped)
        self.assertEqual(raw, expect)
        with self.assertRaisesRegex(TypeError, "uint8"):
            _image_param(rgb.astype(numpy.float32))
        with self.assertRaisesRegex(TypeError, "HxWx3"):
            _image_param(numpy.zeros((2, 3, 5), dtype=numpy.uint8))


class ProgressAdapterTests(unittest.TestCase):
    def test_fractions_and_messages(self) -> None:
        calls = []
        on_value = progress_adapter(lambda f, m: calls.append((f, m)))
        for v in ({"kind": "begin", "title": "Evaluating", "percentage": 0},
                  {"kind": "report", "message": "1/4 images", "percentage": 25},
                  {"kind": "report", "message": "still going"},
                  {"kind": "end", "message": "done"}):
            on_value(v)
        self.assertEqual(calls, [(0.0, "Evaluating"), (0.25, "1/4 images"), (0.25, "still going"), (1.0, "done")])

    def test_cancelled_end_leaves_the_bar(self) -> None:
        calls = []
        on_value = progress_adapter(lambda f, m: calls.append(f))
        on_value({"kind": "begin", "percentage": 0})
        on_value({"kind": "report", "percentage": 40})
        on_value({"kind": "end"})
        self.assertEqual(calls, [0.0, 0.4])


class ResultTests(unittest.TestCase):
    def test_evaluation_from_the_protocol_example(self) -> None:
        # The example answer in protocol/methods/model-evaluate.md.
        r = EvaluationResult.from_json({
            "id": "lraspp", "split": "val", "images": 101, "miou": 0.5583, "pixelAccuracy": 0.8976,
            "meanAccuracy": 0.66, "kappa": 0.86, "meanDice": 0.67, "perClassIoU": [{"class": "sky", "iou": 0.929}],
            "latency": {"p50Ms": 55.1, "p90Ms": 60.3, "meanMs": 56.0}, "imagesPerSecond": 10.4,
            "outOfRangeLabels": 0})
        self.assertEqual((r.id, r.split, r.images), ("lraspp", "val", 101))
        self.assertEqual((r.miou, r.pixel_accuracy, r.mean_accuracy, r.kappa, r.mean_dice),
                         (0.5583, 0.8976, 0.66, 0.86, 0.67))
        self.assertEqual(r.iou("sky"), 0.929)
        self.assertEqual((r.latency.p50_ms, r.latency.p90_ms, r.latency.mean_ms), (55.1, 60.3, 56.0))
        self.assertEqual((r.images_per_second, r.out_of_range_labels), (10.4, 0))
        with self.assertRaisesRegex(KeyError, "road"):
            r.iou("road")


class FindDaemonTests(unittest.TestCase):
    def test_finds_the_repositorys_build_from_inside_the_package(self) -> None:
        from unittest import mock
        from segslim import find_daemon
        built = [os.path.join(REPO, ".build", c, "segslimd") for c in ("release", "debug")]
        built = [p for p in built if os.access(p, os.X_OK)]
        env = {k: v for k, v in os.environ.items() if k != "SEGSLIMD"}
        env["PATH"] = "/nonexistent"
        with mock.patch.dict(os.environ, env, clear=True):
            if built:
                self.assertEqual(find_daemon(), built[0])
            else:
                with self.assertRaisesRegex(FileNotFoundError, os.path.join(REPO, ".build", "debug")):
                    find_daemon()


class PackagingTests(unittest.TestCase):
    def test_package_carries_py_typed(self) -> None:
        self.assertTrue(os.path.isfile(os.path.join(HERE, "segslim", "py.typed")))

    def test_setuptools_reads_pyproject(self) -> None:
        """Offline and without ``wheel``: setuptools builds the package from pyproject.toml
        with the module's version and the py.typed marker (what pip's wheel would hold)."""
        try:
            import setuptools  # noqa: F401
        except ImportError:
            self.skipTest("setuptools is not installed for %s" % sys.executable)
        out = tempfile.mkdtemp(prefix="segslim-build-", dir="/tmp")
        try:
            run = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()",
                                  "-q", "egg_info", "--egg-base", out, "build_py", "--build-lib", out],
                                 capture_output=True, text=True, cwd=HERE)
            self.assertEqual(run.returncode, 0, run.stderr[-2000:])
            import segslim
            with open(os.path.join(out, "segslim.egg-info", "PKG-INFO"), encoding="utf-8") as f:
                self.assertIn("Version: %s\n" % segslim.__version__, f.read())
            built = sorted(os.listdir(os.path.join(out, "segslim")))
            for name in ("__init__.py", "_client.py", "aio.py", "model.py", "png.py", "py.typed", "results.py"):
                self.assertIn(name, built)
            # The Ray integration ships as a subpackage (it imports Ray only when used).
            ray_built = sorted(os.listdir(os.path.join(out, "segslim", "ray")))
            for name in ("__init__.py", "_cluster.py", "_metrics.py", "_samples.py", "_schedule.py", "_worker.py"):
                self.assertIn(name, ray_built)
        finally:
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(os.path.join(HERE, "build"), ignore_errors=True)

    def test_pip_install_in_a_venv(self) -> None:
        """``pip install clients/python`` into a throwaway venv, offline (no build isolation)."""
        venv = tempfile.mkdtemp(prefix="segslim-venv-", dir="/tmp")
        try:
            made = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True)
            if made.returncode != 0:
                self.skipTest("python3 -m venv failed here: %s" % made.stderr.strip()[-200:])
            py = os.path.join(venv, "bin", "python")
            has = subprocess.run([py, "-c", "import setuptools, wheel"], capture_output=True)
            if has.returncode != 0:
                self.skipTest("the venv has no setuptools + wheel offline, so pip cannot build the package "
                              "without the network; `pip install clients/python` (with network) is not tested here")
            pip = subprocess.run([py, "-m", "pip", "install", "--no-index", "--no-build-isolation", "-q", HERE],
                                 capture_output=True, text=True, cwd=venv)
            self.assertEqual(pip.returncode, 0, pip.stderr[-2000:])
            out = subprocess.run([py, "-c", "import segslim, os; print(segslim.__version__); "
                                  "print(os.path.isfile(os.path.join(os.path.dirname(segslim.__file__), 'py.typed')))"],
                                 capture_output=True, text=True, cwd=venv)
            import segslim
            self.assertEqual(out.stdout.split(), [segslim.__version__, "True"], out.stderr)
        finally:
            shutil.rmtree(venv, ignore_errors=True)
            for leftover in ("build", "segslim.egg-info"):
                shutil.rmtree(os.path.join(HERE, leftover), ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
