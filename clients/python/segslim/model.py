"""The Pythonic layer: :class:`Model`, a handle on a model resident in the daemon.

Each operation is built once as an ``_Op`` (method, params, how to read the answer) so the
blocking :class:`Model` and the asyncio :class:`segslim.AsyncModel` send exactly the same
messages and build the same result objects.
"""

from __future__ import annotations

import base64
import os
import warnings
from typing import TYPE_CHECKING, Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union, cast

from .png import Mask, decode_png, encode_png
from .results import (BenchmarkResult, ClassFraction, CompressionReport, EvaluationResult, Progress,
                      SegmentResult, TensorInfo)

if TYPE_CHECKING:
    from ._client import Client

__all__ = ["Model", "Image"]

#: What ``segment`` accepts: a file path, encoded PNG/JPEG bytes, or a numpy uint8 array
#: (HxWx3 RGB, HxWx4 RGBA or HxW grey).
Image = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, Any]

_NUMPY_MISSING = ("numpy is not installed: masks come back as segslim.Mask objects "
                  "(mask[y, x], .rows(), .counts()); pip install numpy to get HxW uint8 arrays")
_warned_numpy = False


class _Op(NamedTuple):
    method: str
    params: Dict[str, Any]
    convert: Callable[[Any], Any]


def _drop_none(d: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _numpy() -> Any:
    try:
        import numpy
        return numpy
    except ImportError:
        return None


def _image_param(image: Image) -> Any:
    """The wire form of one image: an absolute path (a socket daemon has its own working
    directory), or ``{data: base64}`` for bytes and arrays (arrays are sent as PNG)."""
    if isinstance(image, (str, os.PathLike)):
        return os.path.abspath(os.fspath(image))
    if isinstance(image, (bytes, bytearray, memoryview)):
        return {"data": base64.b64encode(bytes(image)).decode("ascii")}
    shape = getattr(image, "shape", None)
    dtype = getattr(image, "dtype", None)
    if shape is not None and dtype is not None:
        if str(dtype) != "uint8":
            raise TypeError("segment: an image array must be uint8 (got %s); "
                            "scale floats with (a * 255).clip(0, 255).astype('uint8')" % dtype)
        if len(shape) == 2:
            height, width, channels = shape[0], shape[1], 1
        elif len(shape) == 3 and shape[2] in (1, 3, 4):
            height, width, channels = shape
        else:
            raise TypeError("segment: an image array must be HxWx3 (RGB), HxWx4 (RGBA) or HxW (grey); "
                            "got shape %s" % (tuple(shape),))
        np = _numpy()
        pixels = np.ascontiguousarray(image).tobytes() if np is not None else bytes(image)
        png = encode_png(pixels, int(width), int(height), int(channels))
        return {"data": base64.b64encode(png).decode("ascii")}
    raise TypeError("segment: expected a path, PNG/JPEG bytes or a numpy uint8 array, got %s"
                    % type(image).__name__)


def _mask_out(png: bytes, output: str) -> Any:
    """Decodes a mask PNG into what ``output`` asks for (see :meth:`Model.segment`)."""
    global _warned_numpy
    if output == "png":
        return png
    if output not in ("auto", "numpy", "mask"):
        raise ValueError("output: expected 'auto', 'numpy', 'mask' or 'png', got %r" % (output,))
    mask = decode_png(png)
    if output == "mask":
        return mask
    if _numpy() is None:
        if output == "numpy":
            raise ImportError(_NUMPY_MISSING)
        if not _warned_numpy:
            _warned_numpy = True
            warnings.warn(_NUMPY_MISSING, stacklevel=4)
        return mask
    return mask.to_numpy()


def _png_of(value: Any, field: str) -> Optional[bytes]:
    """A PNG the daemon returned inline (``{data}``) or wrote to a file (a path)."""
    if value is None:
        return None
    if isinstance(value, dict) and isinstance(value.get("data"), str):
        return base64.b64decode(value["data"])
    if isinstance(value, str):
        with open(value, "rb") as f:
            return f.read()
    raise ValueError("model/segment answered an unexpected %s: %r" % (field, value))


def _check_many(images: Any) -> None:
    """One image where a list was expected would be iterated into rows or bytes: refuse it."""
    if isinstance(images, (str, bytes, bytearray, memoryview, os.PathLike)) or hasattr(images, "shape"):
        raise TypeError("segment_many: expected a list of images, got one %s; use segment() for one image"
                        % type(images).__name__)


def segment_op(model_id: str, images: Sequence[Image], output: str, overlay: bool, alpha: Optional[float],
               slide: Optional[Dict[str, Any]], output_dir: Optional[str], overwrite: Optional[bool],
               extra: Dict[str, Any]) -> _Op:
    params = _drop_none({"id": model_id, "images": [_image_param(i) for i in images], "mask": True,
                         "overlay": overlay, "alpha": alpha, "slide": slide,
                         "outputDir": os.path.abspath(output_dir) if output_dir else None,
                         "overwrite": overwrite})
    params.update(extra)

    def convert(result: Dict[str, Any]) -> List[SegmentResult]:
        out = []
        for r in result.get("results") or []:
            png = _png_of(r.get("mask"), "mask")
            out.append(SegmentResult(
                image=r.get("image"), width=int(r.get("width", 0)), height=int(r.get("height", 0)),
                mask=_mask_out(png, output) if png is not None else None,
                overlay_png=_png_of(r.get("overlay"), "overlay") if overlay else None,
                classes=[ClassFraction(int(c.get("id", -1)), c.get("class"), float(c.get("fraction", 0.0)))
                         for c in r.get("classes") or []],
                timings={k: float(v) for k, v in (r.get("timings") or {}).items() if isinstance(v, (int, float))},
                raw=r))
        return out

    return _Op("model/segment", params, convert)


def evaluate_op(model_id: str, dataset: str, split: Optional[str], limit: Optional[int]) -> _Op:
    ds = os.path.abspath(dataset) if os.path.isdir(dataset) else dataset  # a folder, or an open dataset's id
    return _Op("model/evaluate", _drop_none({"id": model_id, "dataset": ds, "split": split, "limit": limit}),
               EvaluationResult.from_json)


def compress_params(model_id: str, technique: str, params: Optional[Dict[str, Any]],
                    options: Dict[str, Any]) -> Dict[str, Any]:
    """``model/compress`` params; ``options`` take snake_case or the wire's camelCase names."""
    names = {"output_path": "outputPath", "new_id": "newId", "benchmark_runs": "benchmarkRuns"}
    wire: Dict[str, Any] = {"id": model_id, "technique": technique}
    if params is not None:
        wire["params"] = params
    for key, value in options.items():
        if value is None:
            continue
        key = names.get(key, key)
        if key in ("outputPath", "dataset") and isinstance(value, (str, os.PathLike)) and \
                (key == "outputPath" or os.path.isdir(value)):
            value = os.path.abspath(os.fspath(value))
        wire[key] = value
    return wire


def benchmark_params(model_id: str, options: Dict[str, Any]) -> Dict[str, Any]:
    names = {"input_shape": "inputShape", "profile_steps": "profileSteps"}
    wire: Dict[str, Any] = {"id": model_id}
    wire.update({names.get(k, k): v for k, v in options.items() if v is not None})
    return wire


class Model:
    """A model resident in the daemon (from :meth:`segslim.Client.load`).

    Attributes: ``id`` (the daemon's id), ``path``, ``inputs`` / ``outputs``
    (:class:`TensorInfo`), ``classes`` (class names, empty when the model has none),
    ``info`` (the full ``model/info`` answer). Use as a context manager to unload on exit.
    Every call takes ``timeout`` (seconds; the request is cancelled when it passes) and the
    long ones ``progress``: ``fn(fraction, message)``. Ctrl-C during a call cancels it.
    """

    def __init__(self, client: "Client", info: Dict[str, Any]):
        self.client = client
        self._set_info(info)

    def _set_info(self, info: Dict[str, Any]) -> None:
        self.info: Dict[str, Any] = info
        self.id: str = str(info["id"])
        self.path: Optional[str] = info.get("path")
        self.inputs: List[TensorInfo] = [TensorInfo.from_json(t) for t in info.get("inputs") or []]
        self.outputs: List[TensorInfo] = [TensorInfo.from_json(t) for t in info.get("outputs") or []]
        pre = info.get("preprocessing") or {}
        classes = pre.get("classes") if isinstance(pre, dict) else None
        if isinstance(classes, str):
            classes = [c.strip() for c in classes.split(",") if c.strip()]
        self.classes: List[str] = [str(c) for c in classes or []]
        self.size_bytes: Optional[int] = info.get("sizeBytes")
        self.macs: Optional[int] = info.get("macs")
        self.params: Optional[int] = info.get("params")

    def __repr__(self) -> str:
        return "<segslim.Model %r %s, %d classes>" % (self.id, self.path or "(in memory)", len(self.classes))

    def __enter__(self) -> "Model":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.client.alive:
            self.unload()

    def _run(self, op: _Op, progress: Optional[Progress], timeout: Optional[float]) -> Any:
        return op.convert(self.client.call(op.method, op.params, progress=progress, timeout=timeout))

    def refresh(self, timeout: Optional[float] = 30.0) -> "Model":
        """Re-reads ``model/info``."""
        self._set_info(self.client.request("model/info", {"id": self.id}, timeout=timeout))
        return self

    def segment(self, image: Image, *, output: str = "auto", slide: Optional[Dict[str, Any]] = None,
                progress: Optional[Progress] = None, timeout: Optional[float] = None) -> Any:
        """Segments one image and returns its mask (class id per pixel, the image's size).

        ``image``: a path, PNG/JPEG bytes, or a numpy uint8 array (HxWx3 RGB, HxWx4, HxW).
        ``output``: ``"auto"`` (an HxW ``numpy.uint8`` array when numpy is installed, else a
        :class:`segslim.Mask`, with a one-time warning), ``"numpy"`` (ImportError without
        numpy), ``"mask"`` or ``"png"`` (the palette PNG's bytes).
        """
        results = self.segment_many([image], output=output, slide=slide, progress=progress, timeout=timeout)
        return results[0].mask

    def segment_many(self, images: Sequence[Image], *, output: str = "auto", overlay: bool = False,
                     alpha: Optional[float] = None, slide: Optional[Dict[str, Any]] = None,
                     output_dir: Optional[str] = None, overwrite: Optional[bool] = None,
                     progress: Optional[Progress] = None, timeout: Optional[float] = None,
                     **extra: Any) -> List[SegmentResult]:
        """Segments several images in one request; one :class:`SegmentResult` each (mask,
        overlay PNG bytes if ``overlay``, class fractions, timings). With ``output_dir`` the
        daemon also writes the PNGs there (and the masks are read back from those files)."""
        _check_many(images)
        op = segment_op(self.id, list(images), output, overlay, alpha, slide, output_dir, overwrite, extra)
        return cast(List[SegmentResult], self._run(op, progress, timeout))

    def evaluate(self, dataset: str, split: Optional[str] = None, *, limit: Optional[int] = None,
                 progress: Optional[Progress] = None, timeout: Optional[float] = None) -> EvaluationResult:
        """Scores the model on a labelled split of ``dataset`` (a folder, or an open
        dataset's id); ``split`` defaults to the daemon's (``val``)."""
        return cast(EvaluationResult, self._run(evaluate_op(self.id, dataset, split, limit), progress, timeout))

    def compress(self, technique: str, params: Optional[Dict[str, Any]] = None, *,
                 progress: Optional[Progress] = None, timeout: Optional[float] = None,
                 **options: Any) -> Tuple["Model", CompressionReport]:
        """Runs a technique (``technique/list``) and returns the new resident model and its report.

        ``options`` are ``model/compress``'s other params, snake_case or camelCase:
        ``output_path``, ``new_id``, ``overwrite``, ``dataset``, ``split``, ``evaluate``,
        ``calibration`` (``{"split", "count", "path"}``), ``threads``, ``benchmark_runs``.
        """
        wire = compress_params(self.id, technique, params, options)
        result = self.client.call("model/compress", wire, progress=progress, timeout=timeout)
        new = self.client.model(str(result["id"]))
        return new, CompressionReport.from_json(result.get("report") or {}, result.get("path"))

    def benchmark(self, *, runs: Optional[int] = None, warmup: Optional[int] = None,
                  threads: Optional[int] = None, batch: Optional[int] = None,
                  input_shape: Optional[Sequence[int]] = None, engine: Optional[str] = None,
                  profile: Optional[bool] = None, profile_steps: Optional[int] = None,
                  timeout: Optional[float] = None) -> BenchmarkResult:
        """Latency on seeded random inputs (``model/benchmark``); with ``profile``, time per
        kernel kind and the ``profile_steps`` slowest steps (default 12, 0 for every step)."""
        wire = benchmark_params(self.id, {"runs": runs, "warmup": warmup, "threads": threads, "batch": batch,
                                          "input_shape": list(input_shape) if input_shape else None,
                                          "engine": engine, "profile": profile, "profile_steps": profile_steps})
        return BenchmarkResult.from_json(self.client.call("model/benchmark", wire, timeout=timeout))

    def unload(self, timeout: Optional[float] = 30.0) -> int:
        """Drops the model from the daemon; returns the bytes freed from its budget."""
        result = self.client.request("model/unload", {"id": self.id}, timeout=timeout)
        return int(result.get("freedBytes", 0)) if isinstance(result, dict) else 0
