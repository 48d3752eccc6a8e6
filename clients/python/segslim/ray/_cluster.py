"""The Ray side: actors that each own a ``segslimd``, and the fan-out/merge on top of them."""

from __future__ import annotations

import itertools
import math
import os
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from ..results import EvaluationResult
from ._metrics import ConfusionMatrix, evaluation_json
from ._schedule import DispatchHook, ShardRecord, run_shards
from ._worker import Worker

_RAY_MISSING = ("segslim.ray needs Ray: pip install -r clients/python/requirements-ray.txt "
                "(the base segslim client stays standard-library only)")


def import_ray() -> Any:
    """Ray, imported on first use so that ``import segslim`` never needs it."""
    try:
        import ray
    except ImportError as e:
        raise ImportError(_RAY_MISSING) from e
    return ray


@dataclass
class DistributedEvaluation:
    """A merged evaluation: ``result`` (as ``model/evaluate`` answers, the scores bit for bit
    the daemon's), the merged ``confusion`` matrix, and where each shard ran (``shards``)."""
    result: EvaluationResult
    confusion: ConfusionMatrix
    shards: List[ShardRecord]

    @property
    def retries(self) -> int:
        return sum(len(s.failures) for s in self.shards)


class ActorPool:
    """The actors of a :class:`SegslimCluster`; replaces dead ones when asked to."""

    def __init__(self, ray: Any, count: Optional[int], actor_options: Dict[str, Any], worker_args: Dict[str, Any],
                 replace_dead: bool):
        self.ray = ray
        self._cls = ray.remote(Worker)
        self._options = dict(actor_options)
        self._worker_args = worker_args
        self._replace_dead = replace_dead
        self._serial = itertools.count()
        self._names: Dict[int, str] = {}
        self.actors: List[Any] = []
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        if count is None:
            # One actor per node, pinned to it (soft: a node that leaves does not fail the start).
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
            for node in nodes:
                self._start(scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=True))
        else:
            for _ in range(count):
                self._start(scheduling_strategy="SPREAD")
        # Wait for every daemon to be up, so a bad daemon path fails here and not mid-job.
        ray.get([a.pid.remote() for a in self.actors])

    def _start(self, **extra: Any) -> Any:
        options = dict({"num_cpus": 1, "max_restarts": 0}, **self._options, **extra)
        actor = self._cls.options(**options).remote(**self._worker_args)
        self._names[id(actor)] = "actor-%d" % next(self._serial)
        self.actors.append(actor)
        return actor

    def name(self, actor: Any) -> str:
        return self._names.get(id(actor), "actor-?")

    def replace(self, dead: Any) -> Optional[Any]:
        if dead in self.actors:
            self.actors.remove(dead)
        return self._start(scheduling_strategy="SPREAD") if self._replace_dead else None

    def shutdown(self) -> None:
        for actor in self.actors:
            try:
                self.ray.get(actor.close.remote(), timeout=30)
            except Exception:  # a dead actor has nothing left to close
                pass
            self.ray.kill(actor)
        self.actors = []


class SegslimCluster:
    """``segslimd`` actors on a Ray cluster (the one ``ray.init`` connected to).

    ``actors``: how many (default: one per alive node, each pinned to its node); ``daemon``:
    the ``segslimd`` path on the nodes (default ``$SEGSLIMD`` there, else ``find_daemon``);
    ``daemon_args``: flags for it; ``actor_options``: Ray options (default ``num_cpus=1``);
    ``replace_dead``: start a new actor when one dies. Model and dataset paths must name the
    same files on every node (a shared or replicated file system). Use as a context manager,
    or call :meth:`shutdown`.
    """

    def __init__(self, actors: Optional[int] = None, *, daemon: Optional[str] = None, daemon_args: Sequence[str] = (),
                 actor_options: Optional[Dict[str, Any]] = None, replace_dead: bool = True):
        self.ray = import_ray()
        if not self.ray.is_initialized():
            raise RuntimeError("segslim.ray: call ray.init() (or ray.init(address=...)) before starting a SegslimCluster")
        self.pool = ActorPool(self.ray, actors, actor_options or {},
                              {"daemon": daemon, "daemon_args": list(daemon_args)}, replace_dead)

    def __enter__(self) -> "SegslimCluster":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()

    @property
    def actors(self) -> List[Any]:
        return list(self.pool.actors)

    def shutdown(self) -> None:
        """Closes every daemon and ends the actors (Ray itself stays up)."""
        self.pool.shutdown()

    def _first(self, method: str, *args: Any) -> Any:
        """A small request on whichever actor is alive (listing, planning)."""
        for actor in list(self.pool.actors):
            try:
                return self.ray.get(getattr(actor, method).remote(*args))
            except self.ray.exceptions.RayActorError:
                self.pool.replace(actor)
        raise RuntimeError("segslim.ray: no live actor to run %s" % method)

    def evaluate(self, model: str, dataset: str, split: str = "val", *, limit: Optional[int] = None,
                 shard_size: Optional[int] = None, max_retries: int = 2,
                 on_dispatch: Optional[DispatchHook] = None) -> DistributedEvaluation:
        """``model/evaluate`` over the cluster: the split's samples in shards of ``shard_size``
        (default: about four shards per actor), one confusion matrix per shard, merged.

        The merged scores equal one daemon's ``model/evaluate`` bit for bit. A shard whose
        actor dies is run again on another actor (at most ``max_retries`` times).
        """
        model, dataset = os.path.abspath(model), os.path.abspath(dataset)
        started = time.monotonic()
        plan = self._first("plan_evaluation", model, dataset, split, limit)
        samples = plan["samples"]
        size = shard_size or max(1, math.ceil(len(samples) / (4 * max(len(self.pool.actors), 1))))
        shards = [samples[i:i + size] for i in range(0, len(samples), size)]
        results, records = run_shards(
            self.ray, self.pool, len(shards),
            lambda actor, k: actor.confusion.remote(model, shards[k], plan["numClasses"], plan["ignoreIndex"], plan["format"]),
            max_retries, on_dispatch)
        merged = ConfusionMatrix(plan["numClasses"], plan["ignoreIndex"])
        infer_ms: List[float] = []
        for r in results:
            merged.merge(ConfusionMatrix.from_json(r["confusion"]))
            infer_ms += r["inferMs"]
        answer = evaluation_json(plan["modelId"], split, merged, plan["classes"], len(infer_ms), infer_ms,
                                 time.monotonic() - started)
        return DistributedEvaluation(EvaluationResult.from_json(answer), merged, records)

    def sensitivity(self, model: str, technique: str, dataset: str, *, params: Optional[Dict[str, Any]] = None,
                    split: Optional[str] = None, limit: Optional[int] = None, calibration: Optional[Dict[str, Any]] = None,
                    threads: Optional[int] = None, shards: Optional[int] = None, max_retries: int = 2,
                    on_dispatch: Optional[DispatchHook] = None) -> Dict[str, Any]:
        """``model/sensitivity`` with its layers spread over the actors (``shards`` groups,
        default one per actor; one for prune's ``random`` criterion, whose draws depend on
        every group), answered as the daemon answers: the union of the layers,
        sorted most sensitive first as the daemon sorts them (mIoU, then layer, then setting).
        Every shard measures the same baseline; they are checked to agree."""
        model = os.path.abspath(model)
        request = {"technique": technique, "dataset": os.path.abspath(dataset) if os.path.isdir(dataset) else dataset,
                   "params": params, "split": split, "limit": limit, "calibration": calibration, "threads": threads}
        request = {k: v for k, v in request.items() if v is not None}
        started = time.monotonic()
        layers = self._first("layers", model, technique, params)
        count = max(1, min(shards or len(self.pool.actors), len(layers)))
        if technique == "prune" and (params or {}).get("criterion") == "random":
            # Its seeded draws run over the groups in order: excluding some changes the others'.
            count = 1
        groups = [layers[k::count] for k in range(count)]
        results, records = run_shards(
            self.ray, self.pool, count, lambda actor, k: actor.sensitivity.remote(model, request, groups[k], layers),
            max_retries, on_dispatch)
        merged = dict(results[0])
        for r in results[1:]:
            if r.get("baseline") != merged.get("baseline"):
                raise RuntimeError("segslim.ray: shards measured different baselines (%r vs %r): the nodes do not run "
                                   "the same daemon on the same files" % (r.get("baseline"), merged.get("baseline")))
        merged["layers"] = sorted((e for r in results for e in r["layers"]),
                                  key=lambda e: (e["miou"], e["layer"], e["setting"]))
        merged["durationMs"] = round((time.monotonic() - started) * 1000, 3)
        merged["shards"] = [{"layers": len(g), "attempts": rec.attempts, "failures": rec.failures}
                            for g, rec in zip(groups, records)]
        return merged

    def run_pipelines(self, requests: Sequence[Dict[str, Any]], *, model: Optional[str] = None, max_retries: int = 2,
                      on_dispatch: Optional[DispatchHook] = None) -> List[Dict[str, Any]]:
        """Runs ``model/pipeline`` trials across the actors; their answers (``{id, path,
        report}`` plus ``trialSeconds``) in request order.

        Each request is ``model/pipeline``'s params with ``"model"`` (a path, loaded once per
        actor) instead of ``"id"``, or the ``model`` argument for all. This is the hook an
        auto-compression search hands its candidate trials to.
        """
        jobs = []
        for i, r in enumerate(requests):
            path = r.get("model") or model
            if not path:
                raise ValueError("requests[%d]: no \"model\" path (and no model= for all requests)" % i)
            wire = dict(r)
            for key in ("dataset", "outputPath"):
                if isinstance(wire.get(key), str) and (key == "outputPath" or os.path.isdir(wire[key])):
                    wire[key] = os.path.abspath(wire[key])
            jobs.append((os.path.abspath(path), wire))
        results, _ = run_shards(self.ray, self.pool, len(jobs),
                                lambda actor, k: actor.pipeline.remote(jobs[k][0], jobs[k][1]), max_retries, on_dispatch)
        return results


def run_pipelines(requests: Sequence[Dict[str, Any]], *, model: Optional[str] = None,
                  cluster: Optional[SegslimCluster] = None, **cluster_options: Any) -> List[Dict[str, Any]]:
    """The auto-compression search's hook: ``model/pipeline`` requests in, reports out, run
    on ``cluster`` (or on a cluster started for the call with ``cluster_options``)."""
    if cluster is not None:
        return cluster.run_pipelines(requests, model=model)
    with SegslimCluster(**cluster_options) as own:
        return own.run_pipelines(requests, model=model)
