"""asyncio variant: :class:`AsyncClient` and :class:`AsyncModel`.

Design: these wrap the threaded :class:`segslim.Client` instead of re-implementing the
protocol on asyncio streams. The client's reader thread already demultiplexes answers by id;
each request here registers a done-callback that completes an asyncio future through
``loop.call_soon_threadsafe``. So there is one implementation of framing, ids, progress
routing and connection loss, no executor thread is parked per request (any number may be in
flight), and progress callbacks run on the event loop in the daemon's order, all before the
request's own future completes (they are queued on the loop in the order they arrived).

Cancelling the awaiting task (``task.cancel()``, ``asyncio.wait_for`` timing out) sends
``$/cancelRequest`` so the daemon stops the work.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union, cast

from ._client import Client, JSON, PendingRequest
from .model import Image, _check_many, _Op, benchmark_params, compress_params, evaluate_op, segment_op
from .results import (BenchmarkResult, CompressionReport, EvaluationResult, Progress, SegmentResult,
                      TensorInfo, progress_adapter)

__all__ = ["AsyncClient", "AsyncModel"]


class AsyncClient:
    """An asyncio front for one daemon connection. Create with :meth:`spawn` or
    :meth:`connect`, then ``await initialize()``; use ``async with`` to close."""

    def __init__(self, client: Client):
        #: The underlying threaded client (its raw methods stay usable).
        self.client = client

    @classmethod
    async def spawn(cls, daemon_path: Optional[str] = None, args: Sequence[str] = (),
                    stderr: Any = None, env: Optional[Dict[str, str]] = None) -> "AsyncClient":
        """As :meth:`segslim.Client.spawn` (starting the process does not block for long)."""
        return cls(Client.spawn(daemon_path, args, stderr, env))

    @classmethod
    async def connect(cls, address: str, timeout: Optional[float] = 5.0) -> "AsyncClient":
        """As :meth:`segslim.Client.connect`; the retry loop runs in the default executor."""
        loop = asyncio.get_running_loop()
        return cls(await loop.run_in_executor(None, Client.connect, address, timeout))

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def initialize(self, client_name: str = "segslim.py (asyncio)", **extra: Any) -> Dict[str, Any]:
        result = await self.request("initialize", dict({"processId": os.getpid(),
                                                       "clientInfo": {"name": client_name}}, **extra))
        self.client.server_info = result.get("serverInfo")
        self.client.capabilities = result.get("capabilities")
        self.client.notify("initialized", {})
        return cast(Dict[str, Any], result)

    async def request(self, method: str, params: JSON = None, *,
                      progress: Optional[Progress] = None) -> JSON:
        """Sends a request and awaits its result; ``progress(fraction, message)`` runs on
        the event loop. Cancelling the awaiting task sends ``$/cancelRequest``."""
        loop = asyncio.get_running_loop()
        raw = None
        if progress is not None:
            on_value = progress_adapter(progress)

            def raw(value: Dict[str, Any]) -> None:
                loop.call_soon_threadsafe(on_value, value)
        pending = self.client.request_async(method, params, progress=raw)
        future: "asyncio.Future[JSON]" = loop.create_future()

        def settle(p: PendingRequest) -> None:
            if future.done():
                return
            error = p._error
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(p._result)

        def on_done(p: PendingRequest) -> None:
            loop.call_soon_threadsafe(settle, p)

        pending.add_done_callback(on_done)
        try:
            return await future
        except asyncio.CancelledError:
            pending.cancel()
            raise

    def notify(self, method: str, params: JSON = None) -> None:
        self.client.notify(method, params)

    async def close(self, timeout: float = 10.0) -> Optional[int]:
        """``shutdown`` + ``exit`` + wait, in the default executor (it blocks)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.client.close, timeout)

    async def load(self, path: Union[str, "os.PathLike[str]"], *, id: Optional[str] = None,
                   preprocessing: Optional[Dict[str, Any]] = None, **options: Any) -> "AsyncModel":
        params: Dict[str, Any] = {"path": os.path.abspath(os.fspath(path))}
        if id is not None:
            params["id"] = id
        if preprocessing is not None:
            params["preprocessing"] = preprocessing
        params.update(options)
        return AsyncModel(self, await self.request("model/load", params))

    async def model(self, model_id: str) -> "AsyncModel":
        return AsyncModel(self, await self.request("model/info", {"id": model_id}))


class AsyncModel:
    """:class:`segslim.Model` for asyncio: the same attributes, awaitable methods."""

    def __init__(self, client: AsyncClient, info: Dict[str, Any]):
        self.client = client
        self.info = info
        self.id = str(info["id"])
        self.path: Optional[str] = info.get("path")
        self.inputs = [TensorInfo.from_json(t) for t in info.get("inputs") or []]
        self.outputs = [TensorInfo.from_json(t) for t in info.get("outputs") or []]
        pre = info.get("preprocessing") or {}
        classes = pre.get("classes") if isinstance(pre, dict) else None
        if isinstance(classes, str):
            classes = [c.strip() for c in classes.split(",") if c.strip()]
        self.classes: List[str] = [str(c) for c in classes or []]

    def __repr__(self) -> str:
        return "<segslim.AsyncModel %r>" % self.id

    async def _run(self, op: _Op, progress: Optional[Progress]) -> Any:
        return op.convert(await self.client.request(op.method, op.params, progress=progress))

    async def segment(self, image: Image, *, output: str = "auto", slide: Optional[Dict[str, Any]] = None,
                      progress: Optional[Progress] = None) -> Any:
        results = await self.segment_many([image], output=output, slide=slide, progress=progress)
        return results[0].mask

    async def segment_many(self, images: Sequence[Image], *, output: str = "auto", overlay: bool = False,
                           alpha: Optional[float] = None, slide: Optional[Dict[str, Any]] = None,
                           output_dir: Optional[str] = None, overwrite: Optional[bool] = None,
                           progress: Optional[Progress] = None, **extra: Any) -> List[SegmentResult]:
        _check_many(images)
        op = segment_op(self.id, list(images), output, overlay, alpha, slide, output_dir, overwrite, extra)
        return cast(List[SegmentResult], await self._run(op, progress))

    async def evaluate(self, dataset: str, split: Optional[str] = None, *, limit: Optional[int] = None,
                       progress: Optional[Progress] = None) -> EvaluationResult:
        return cast(EvaluationResult, await self._run(evaluate_op(self.id, dataset, split, limit), progress))

    async def compress(self, technique: str, params: Optional[Dict[str, Any]] = None, *,
                       progress: Optional[Progress] = None, **options: Any) -> Tuple["AsyncModel", CompressionReport]:
        result = await self.client.request("model/compress", compress_params(self.id, technique, params, options),
                                           progress=progress)
        new = await self.client.model(str(result["id"]))
        return new, CompressionReport.from_json(result.get("report") or {}, result.get("path"))

    async def benchmark(self, **options: Any) -> BenchmarkResult:
        """Keyword arguments as :meth:`segslim.Model.benchmark` (``runs``, ``warmup``, ...)."""
        if options.get("input_shape") is not None:
            options["input_shape"] = list(options["input_shape"])
        return BenchmarkResult.from_json(await self.client.request("model/benchmark",
                                                                   benchmark_params(self.id, options)))

    async def unload(self) -> int:
        result = await self.client.request("model/unload", {"id": self.id})
        return int(result.get("freedBytes", 0)) if isinstance(result, dict) else 0
