"""SegSlim on a Ray cluster: one ``segslimd`` per actor (one actor per node by default).

Ray is imported when a :class:`SegslimCluster` starts, never by ``import segslim``::

    import ray
    from segslim.ray import SegslimCluster

    ray.init()                                   # or ray.init(address="auto") on a cluster
    with SegslimCluster() as cluster:            # one actor (one daemon) per node
        ev = cluster.evaluate("model.onnx", "data/camvid", "val")
        print(ev.result.miou, ev.retries)        # the same mIoU as one daemon, bit for bit
        sens = cluster.sensitivity("model.onnx", "prune", "data/camvid", limit=20)
        reports = cluster.run_pipelines([{"model": "model.onnx", "steps": [{"technique": "quantize"}],
                                          "dataset": "data/camvid"}])

* :meth:`SegslimCluster.evaluate` shards the split's (image, label) list over the actors; each
  counts its shard's confusion matrix from ``model/segment`` masks, and the integer counts
  add up to the whole split's matrix, so the merged scores are the daemon's, bit for bit.
* :meth:`SegslimCluster.sensitivity` spreads the technique's layers over the actors.
* :meth:`SegslimCluster.run_pipelines` / :func:`run_pipelines` run ``model/pipeline`` trials:
  the hook an auto-compression search uses to evaluate candidates on a cluster.

An actor that dies mid-shard (killed, node lost) has its shard re-run on another actor; the
result is unchanged. See README.md ("Ray") for clusters and scaling.
"""

from ._cluster import ActorPool, DistributedEvaluation, SegslimCluster, import_ray, run_pipelines
from ._metrics import ConfusionMatrix, evaluation_json, latency_stats
from ._samples import labelled_samples, read_label
from ._schedule import ActorsExhausted, ShardRecord
from ._worker import SENSITIVITY_TECHNIQUES, Worker

__all__ = [
    "SegslimCluster", "DistributedEvaluation", "ActorPool", "ActorsExhausted", "ShardRecord", "run_pipelines",
    "ConfusionMatrix", "Worker", "SENSITIVITY_TECHNIQUES", "evaluation_json", "latency_stats",
    "labelled_samples", "read_label", "import_ray",
]
