"""A Python client for the SegSlim daemon (``segslimd``).

Two layers share one connection:

* the raw JSON-RPC client (:class:`Client`: ``request``, ``request_async``, ``notify``,
  ``batch``), standard library only;
* a Pythonic layer on top: ``client.load(path) -> Model``, ``model.segment(image) -> mask``,
  ``model.evaluate(dataset) -> EvaluationResult``, ``model.compress(...) -> (Model, Report)``,
  ``model.benchmark()``, ``model.unload()``, with results as dataclasses. Masks come back as
  numpy arrays when numpy is installed, else as :class:`Mask` objects (numpy stays optional).

:class:`AsyncClient` offers the same on asyncio. See README.md next to this package.
"""

from ._version import __version__
from ._client import Client, ConnectionLost, PendingRequest, SegSlimError, find_daemon
from .png import Mask, PNGError, decode_png, encode_png
from .results import (BenchmarkResult, ClassFraction, ClassIoU, CompressionReport, EvaluationResult,
                      Latency, LatencyComparison, ModelStats, SegmentResult, TensorInfo, progress_adapter)
from .model import Model
from .aio import AsyncClient, AsyncModel

__all__ = [
    "__version__",
    "Client", "ConnectionLost", "PendingRequest", "SegSlimError", "find_daemon",
    "Mask", "PNGError", "decode_png", "encode_png",
    "BenchmarkResult", "ClassFraction", "ClassIoU", "CompressionReport", "EvaluationResult",
    "Latency", "LatencyComparison", "ModelStats", "SegmentResult", "TensorInfo", "progress_adapter",
    "Model", "AsyncClient", "AsyncModel",
]
