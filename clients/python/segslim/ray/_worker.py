"""What one node does: a :class:`Worker` owns one ``segslimd`` and serves shards to it.

Plain Python (no Ray), so it runs in-process too; :mod:`segslim.ray` wraps it in a Ray actor,
one per node. A model is loaded once per worker (by path) and stays resident for every shard
that names it; a dataset is listed by whoever asks for its samples, and each shard carries
only its (image, label) paths.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
import uuid
from typing import Any, Dict, List, Optional, Sequence

from .._client import Client
from ..png import decode_png
from ._metrics import ConfusionMatrix
from ._samples import label_mapping, labelled_samples, read_label

#: Techniques whose layers :meth:`Worker.layers` can list, and so spread over workers.
SENSITIVITY_TECHNIQUES = ("prune", "quantize")


class Worker:
    """One private ``segslimd`` (spawned at construction, closed by :meth:`close`).

    ``daemon``: the executable (default ``$SEGSLIMD`` on this node, else ``find_daemon``);
    ``daemon_args``: extra flags (e.g. ``["--memory-budget", "4294967296"]``).
    """

    def __init__(self, daemon: Optional[str] = None, daemon_args: Sequence[str] = (),
                 daemon_stderr: Any = subprocess.DEVNULL):
        self.client = Client.spawn(daemon, args=list(daemon_args), stderr=daemon_stderr)
        self.client.initialize(client_name="segslim.ray")
        self._models: Dict[str, str] = {}

    def pid(self) -> int:
        """The daemon's process id (tests use it to see it go when the worker is killed)."""
        return self.client.process.pid if self.client.process is not None else -1

    def close(self) -> None:
        self.client.close()

    def resident(self) -> List[str]:
        """Ids of the models resident in this worker's daemon."""
        return [m.id for m in self.client.models()]

    def model_id(self, model: str) -> str:
        """The resident id of the model at path ``model``, loading it on first use."""
        path = os.path.abspath(model)
        if path not in self._models:
            self._models[path] = self.client.load(path).id
        return self._models[path]

    # -- evaluation ------------------------------------------------------------------------

    def plan_evaluation(self, model: str, dataset: str, split: str, limit: Optional[int]) -> Dict[str, Any]:
        """The split's labelled samples (first ``limit``), its classes and ignore index, checked
        against the daemon: its sample count and its class-count rule for this model."""
        opened = self.client.request("dataset/open", {"path": os.path.abspath(dataset)})
        fmt, samples = labelled_samples(opened["path"], split, opened.get("format"))
        if split not in (opened.get("splits") or {}):
            raise ValueError("params.split: no split '%s' in %s (splits: %s)"
                             % (split, opened["path"], ", ".join(sorted(opened.get("splits") or {}))))
        expected = (opened.get("labelledSplits") or {}).get(split, 0)
        if len(samples) != expected:
            raise RuntimeError("%s: listed %d labelled samples in split '%s' but the daemon counts %d; "
                               "the Ray integration's listing no longer matches the daemon's"
                               % (opened["path"], len(samples), split, expected))
        if not samples:
            raise ValueError("%s: split '%s' has no labelled samples" % (opened["path"], split))
        info = self.client.request("model/info", {"id": self.model_id(model)})
        model_classes = len(((info.get("preprocessing") or {}).get("classes")) or [])
        dataset_classes = int(opened.get("numClasses") or 0)
        if model_classes and dataset_classes and model_classes != dataset_classes:
            raise ValueError("model '%s' predicts %d classes but the dataset has %d"
                             % (info["id"], model_classes, dataset_classes))
        if limit is not None:
            samples = samples[:max(limit, 0)]
        return {"format": fmt, "samples": samples, "classes": list(opened.get("classes") or []),
                "numClasses": max(dataset_classes or model_classes, 1), "ignoreIndex": int(opened.get("ignoreIndex", 255)),
                "modelId": info["id"]}

    def confusion(self, model: str, samples: Sequence[Sequence[str]], num_classes: int, ignore_index: int,
                  fmt: str) -> Dict[str, Any]:
        """Segments ``samples`` (``[image, label]`` pairs) and counts their confusion matrix.

        ``model/segment`` runs the same segmenter on the same decoded image as
        ``model/evaluate`` does, so the masks, and so the counts, are the daemon's.
        """
        matrix = ConfusionMatrix(num_classes, ignore_index)
        mapping = label_mapping(fmt)
        answer = self.client.request("model/segment", {
            "id": self.model_id(model), "images": [os.path.abspath(s[0]) for s in samples],
            "mask": True, "overlay": False})
        infer_ms: List[float] = []
        for (image, label), r in zip(samples, answer.get("results") or []):
            mask = decode_png(base64.b64decode(r["mask"]["data"]))
            width, height, ids = read_label(label, mapping)
            if (width, height) != (mask.width, mask.height):
                raise ValueError("%s: label is %dx%d but its image is %dx%d" % (label, width, height, mask.width, mask.height))
            matrix.add(mask.data, ids)
            infer_ms.append(float((r.get("timings") or {}).get("inferMs", 0.0)))
        return {"confusion": matrix.to_json(), "images": len(infer_ms), "inferMs": infer_ms}

    # -- sensitivity -----------------------------------------------------------------------

    def layers(self, model: str, technique: str, params: Optional[Dict[str, Any]]) -> List[str]:
        """The layers ``model/sensitivity`` measures for ``technique``, without measuring:
        quantize's dry run (its INT8 nodes), or prune's channel groups (a no-op prune)."""
        model_id = self.model_id(model)
        params = dict(params or {})
        if technique == "quantize":
            # Sensitivity measures static INT8 whatever the mode; the dry run lists its layers.
            params.pop("mode", None)
            params["dryRun"] = True
            report = self.client.request("model/compress", {"id": model_id, "technique": "quantize", "params": params,
                                                            "evaluate": False, "benchmarkRuns": 0})["report"]
            return [n["node"] for n in report["steps"][0]["details"]["preflight"]["int8Nodes"]]
        if technique == "prune":
            for key in ("ratio", "ratios", "targetMacs"):
                params.pop(key, None)
            params.update({"ratio": 0, "latencyRuns": 0})
            new_id = "segslim-ray-layers-%s" % uuid.uuid4().hex[:12]
            answer = self.client.request("model/compress", {"id": model_id, "technique": "prune", "params": params,
                                                            "evaluate": False, "benchmarkRuns": 0, "newId": new_id})
            self.client.request("model/unload", {"id": answer["id"]})
            return [g["name"] for g in answer["report"]["steps"][0]["details"]["groups"]]
        raise ValueError("technique %r: layers can be listed for %s only" % (technique, ", ".join(SENSITIVITY_TECHNIQUES)))

    def sensitivity(self, model: str, request: Dict[str, Any], layers: Sequence[str],
                    all_layers: Sequence[str]) -> Dict[str, Any]:
        """``model/sensitivity`` measuring ``layers`` only: every other listed layer goes to the
        technique's ``excludeNodes`` (there is no param naming the layers to measure), and
        entries for layers outside ``layers`` (activations an excluded node no longer
        absorbs) are dropped."""
        mine = set(layers)
        params = dict(request.get("params") or {})
        params["excludeNodes"] = list(params.get("excludeNodes") or []) + [n for n in all_layers if n not in mine]
        wire = dict(request, id=self.model_id(model), params=params)
        answer: Dict[str, Any] = self.client.request("model/sensitivity", wire)
        answer["layers"] = [e for e in answer.get("layers") or [] if e.get("layer") in mine]
        return answer

    # -- compression trials ----------------------------------------------------------------

    def pipeline(self, model: str, request: Dict[str, Any]) -> Dict[str, Any]:
        """One ``model/pipeline`` trial; the model it makes is unloaded afterwards (its file,
        with ``outputPath``, stays)."""
        wire = {k: v for k, v in request.items() if k != "model"}
        wire["id"] = self.model_id(model)
        wire.setdefault("newId", "segslim-ray-trial-%s" % uuid.uuid4().hex[:12])
        started = time.monotonic()
        answer: Dict[str, Any] = self.client.request("model/pipeline", wire)
        if answer.get("id"):
            self.client.request("model/unload", {"id": answer["id"]})
        answer["trialSeconds"] = time.monotonic() - started
        return answer
