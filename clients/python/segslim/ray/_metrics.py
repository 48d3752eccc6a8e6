"""Confusion matrices and the metrics derived from them, computed exactly as the daemon does.

The daemon scores one evaluation as one confusion matrix (``Sources/SegMetrics``). Counts are
integers, so matrices from shards of a split add up to the matrix of the whole split, and the
metrics below repeat ``SegmentationMetrics`` operation for operation (the same IEEE double
divisions, the same left-to-right sums; not Python's ``sum``, which compensates since 3.12),
so a merged result equals one daemon's ``model/evaluate`` bit for bit.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence


class ConfusionMatrix:
    """``counts[label * num_classes + prediction]`` pixels, as ``Sources/SegMetrics`` keeps it.

    Pixels labelled ``ignore_index`` are skipped; labels or predictions outside
    ``0..<num_classes`` are counted in ``out_of_range_labels`` / ``out_of_range_predictions``.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255, counts: Optional[Sequence[int]] = None,
                 out_of_range_labels: int = 0, out_of_range_predictions: int = 0):
        if not 0 < num_classes <= 65536:
            raise ValueError("number of classes must be in 1...65536, got %d" % num_classes)
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.counts: List[int] = list(counts) if counts is not None else [0] * (num_classes * num_classes)
        if len(self.counts) != num_classes * num_classes:
            raise ValueError("a %d-class matrix has %d counts, got %d" % (num_classes, num_classes ** 2, len(self.counts)))
        self.out_of_range_labels = out_of_range_labels
        self.out_of_range_predictions = out_of_range_predictions

    def add(self, prediction: bytes, label: bytes) -> None:
        """Adds one image: ``prediction[i]`` is pixel i's class, ``label[i]`` its ground truth."""
        if len(prediction) != len(label):
            raise ValueError("prediction has %d pixels but the label has %d" % (len(prediction), len(label)))
        n, ignore = self.num_classes, self.ignore_index
        for (l, p), count in Counter(zip(label, prediction)).items():
            if l == ignore:
                continue
            if l >= n:
                self.out_of_range_labels += count
            elif p >= n:
                self.out_of_range_predictions += count
            else:
                self.counts[l * n + p] += count

    def merge(self, other: "ConfusionMatrix") -> None:
        """Adds another matrix (another shard of the same split)."""
        if other.num_classes != self.num_classes or other.ignore_index != self.ignore_index:
            raise ValueError("cannot merge a %d-class matrix (ignore %d) into a %d-class one (ignore %d)"
                             % (other.num_classes, other.ignore_index, self.num_classes, self.ignore_index))
        self.counts = [a + b for a, b in zip(self.counts, other.counts)]
        self.out_of_range_labels += other.out_of_range_labels
        self.out_of_range_predictions += other.out_of_range_predictions

    def to_json(self) -> Dict[str, Any]:
        return {"numClasses": self.num_classes, "ignoreIndex": self.ignore_index, "counts": self.counts,
                "outOfRangeLabels": self.out_of_range_labels, "outOfRangePredictions": self.out_of_range_predictions}

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "ConfusionMatrix":
        return cls(int(d["numClasses"]), int(d["ignoreIndex"]), [int(c) for c in d["counts"]],
                   int(d.get("outOfRangeLabels", 0)), int(d.get("outOfRangePredictions", 0)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConfusionMatrix) and self.to_json() == other.to_json()

    def __repr__(self) -> str:
        return "<ConfusionMatrix %d classes, %d pixels>" % (self.num_classes, sum(self.counts))

    def metrics(self) -> Dict[str, Any]:
        """``SegmentationMetrics``: ``miou``, ``classIoU``, ``pixelAccuracy``, ``meanAccuracy``,
        ``classDice``, ``meanDice``, ``kappa``, ``pixels`` (the same doubles as the daemon's)."""
        n = self.num_classes
        inter, pred, lab = [0] * n, [0] * n, [0] * n
        for l in range(n):
            for p in range(n):
                v = self.counts[l * n + p]
                lab[l] += v
                pred[p] += v
                if l == p:
                    inter[l] += v

        def ratio(a: int, b: int) -> float:
            return 0.0 if b == 0 else float(a) / float(b)

        def total_of(values: List[float]) -> float:
            s = 0.0
            for v in values:
                s += v
            return s

        class_iou = [ratio(inter[c], pred[c] + lab[c] - inter[c]) for c in range(n)]
        total = 0
        for v in lab:
            total += v
        correct = 0
        for v in inter:
            correct += v
        recall = [ratio(inter[c], lab[c]) for c in range(n)]
        present = [c for c in range(n) if lab[c] > 0]
        dice = [0.0 if pred[c] + lab[c] == 0 else 2 * float(inter[c]) / float(pred[c] + lab[c]) for c in range(n)]
        if total == 0:
            kappa = 0.0
        else:
            po = float(correct) / float(total)
            acc = 0.0
            for c in range(n):
                acc = acc + float(pred[c]) * float(lab[c])
            pe = acc / (float(total) * float(total))
            kappa = 1.0 if pe == 1 else (po - pe) / (1 - pe)
        return {
            "miou": total_of(class_iou) / float(n), "classIoU": class_iou,
            "pixelAccuracy": ratio(correct, total),
            "meanAccuracy": 0.0 if not present else total_of([recall[c] for c in present]) / float(len(present)),
            "classDice": dice, "meanDice": total_of(dice) / float(n), "kappa": kappa, "pixels": total,
        }


def latency_stats(samples: Sequence[float]) -> Dict[str, float]:
    """``LatencyStats`` (p50/p90 by nearest rank, mean, min) in milliseconds."""
    s = sorted(samples)

    def pct(p: float) -> float:
        if not s:
            return 0.0
        # Swift's rounded(): half away from zero (Python's round() goes to even).
        return s[min(len(s) - 1, max(0, int(math.floor(p * (len(s) - 1) + 0.5))))]

    mean = 0.0
    for v in s:
        mean += v
    return {"p50Ms": pct(0.5), "p90Ms": pct(0.9), "meanMs": mean / len(s) if s else 0.0, "minMs": s[0] if s else 0.0}


def evaluation_json(model_id: str, split: str, confusion: ConfusionMatrix, classes: Sequence[str], images: int,
                    infer_ms: Sequence[float], wall_s: float) -> Dict[str, Any]:
    """A ``model/evaluate``-shaped answer for a merged matrix (plus ``confusionMatrix``).

    The scores equal the daemon's; ``latency`` is over ``model/segment``'s per-image
    ``inferMs`` on whichever node ran each image, and ``imagesPerSecond`` is the cluster's.
    """
    m = confusion.metrics()
    return {
        "id": model_id, "split": split, "images": images,
        "miou": m["miou"], "pixelAccuracy": m["pixelAccuracy"], "meanAccuracy": m["meanAccuracy"],
        "kappa": m["kappa"], "meanDice": m["meanDice"],
        "perClassIoU": [{"class": classes[i] if i < len(classes) else "class %d" % i, "iou": v}
                        for i, v in enumerate(m["classIoU"])],
        "latency": latency_stats(infer_ms),
        "imagesPerSecond": round(images / wall_s, 3) if wall_s > 0 else 0,
        "outOfRangeLabels": confusion.out_of_range_labels,
        "confusionMatrix": confusion.to_json(),
    }
