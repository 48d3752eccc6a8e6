"""Typed results of the Pythonic layer, built from the daemon's JSON answers.

Field names are the protocol's, in snake_case (``pixelAccuracy`` -> ``pixel_accuracy``).
Every result keeps the answer it was built from in ``raw``, so fields added to the protocol
later are reachable before this module learns them. Optional protocol members are
``Optional`` here and ``None`` when the daemon left them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Union

__all__ = [
    "BenchmarkResult", "ClassFraction", "ClassIoU", "CompressionReport", "EvaluationResult",
    "Latency", "LatencyComparison", "ModelStats", "SegmentResult", "TensorInfo",
    "Progress", "progress_adapter",
]

#: A progress callback of the Pythonic layer: ``fn(fraction, message)``, fraction in 0...1.
Progress = Callable[[float, str], None]


def progress_adapter(fn: Progress) -> Callable[[Dict[str, Any]], None]:
    """Turns ``fn(fraction, message)`` into a raw ``$/progress`` value callback.

    ``begin`` and ``report`` values call ``fn`` with their percentage / 100 (the last
    fraction again when a value carries none) and their message or title; ``end`` calls
    ``fn(1.0, message)`` only when the work finished with a message (a failed or cancelled
    request ends without one, and then the bar is left where it stopped).
    """
    last = [0.0]

    def on_value(value: Dict[str, Any]) -> None:
        kind = value.get("kind")
        message = str(value.get("message") or value.get("title") or "")
        if kind in ("begin", "report"):
            pct = value.get("percentage")
            if isinstance(pct, (int, float)):
                last[0] = max(0.0, min(1.0, pct / 100.0))
            fn(last[0], message)
        elif kind == "end" and value.get("message"):
            last[0] = 1.0
            fn(1.0, message)

    return on_value


def _f(d: Dict[str, Any], key: str) -> Optional[float]:
    v = d.get(key)
    return float(v) if isinstance(v, (int, float)) else None


@dataclass(frozen=True)
class TensorInfo:
    """A model input or output: ``shape`` entries are ints, symbolic names or ``"?"``."""
    name: str
    dtype: Optional[str]
    shape: Optional[List[Union[int, str]]]

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "TensorInfo":
        return cls(str(d.get("name", "")), d.get("dtype"), d.get("shape"))


@dataclass(frozen=True)
class ClassFraction:
    """One class's share of a segmented image."""
    id: int
    name: Optional[str]
    fraction: float


@dataclass(frozen=True)
class SegmentResult:
    """One image from ``model/segment``: the mask (numpy array or :class:`segslim.Mask`),
    the overlay PNG bytes when asked for, and the daemon's per-class fractions and timings."""
    image: Optional[str]
    width: int
    height: int
    mask: Any
    overlay_png: Optional[bytes]
    classes: List[ClassFraction]
    timings: Dict[str, float]
    raw: Dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class ClassIoU:
    name: str
    iou: Optional[float]


@dataclass(frozen=True)
class Latency:
    p50_ms: Optional[float]
    p90_ms: Optional[float]
    mean_ms: Optional[float]

    @classmethod
    def from_json(cls, d: Optional[Dict[str, Any]]) -> Optional["Latency"]:
        if not isinstance(d, dict):
            return None
        return cls(_f(d, "p50Ms"), _f(d, "p90Ms"), _f(d, "meanMs"))


@dataclass(frozen=True)
class EvaluationResult:
    """``model/evaluate``'s answer (metric definitions: protocol/README.md, "Metrics")."""
    id: Optional[str]
    split: Optional[str]
    images: Optional[int]
    miou: Optional[float]
    pixel_accuracy: Optional[float]
    mean_accuracy: Optional[float]
    kappa: Optional[float]
    mean_dice: Optional[float]
    per_class_iou: List[ClassIoU]
    latency: Optional[Latency]
    images_per_second: Optional[float]
    out_of_range_labels: Optional[int]
    raw: Dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "EvaluationResult":
        return cls(
            id=d.get("id"), split=d.get("split"), images=d.get("images"),
            miou=_f(d, "miou"), pixel_accuracy=_f(d, "pixelAccuracy"), mean_accuracy=_f(d, "meanAccuracy"),
            kappa=_f(d, "kappa"), mean_dice=_f(d, "meanDice"),
            per_class_iou=[ClassIoU(str(c.get("class", "")), _f(c, "iou"))
                           for c in d.get("perClassIoU") or [] if isinstance(c, dict)],
            latency=Latency.from_json(d.get("latency")),
            images_per_second=_f(d, "imagesPerSecond"), out_of_range_labels=d.get("outOfRangeLabels"),
            raw=d)

    def iou(self, name: str) -> Optional[float]:
        """The IoU of the class called ``name`` (KeyError if the result has no such class)."""
        for c in self.per_class_iou:
            if c.name == name:
                return c.iou
        raise KeyError("no class %r in this evaluation (classes: %s)"
                       % (name, ", ".join(c.name for c in self.per_class_iou)))


@dataclass(frozen=True)
class ModelStats:
    """A model's size in a compression report's ``before`` / ``after``."""
    size_bytes: Optional[int]
    params: Optional[int]
    macs: Optional[int]
    nodes: Optional[int]
    op_counts: Dict[str, int]

    @classmethod
    def from_json(cls, d: Optional[Dict[str, Any]]) -> Optional["ModelStats"]:
        if not isinstance(d, dict):
            return None
        return cls(d.get("sizeBytes"), d.get("params"), d.get("macs"), d.get("nodes"), dict(d.get("opCounts") or {}))


@dataclass(frozen=True)
class LatencyComparison:
    """The report's side-by-side latency on the daemon's runtime (runs alternating)."""
    before_p50_ms: Optional[float]
    after_p50_ms: Optional[float]
    ratio: Optional[float]
    runs: Optional[int]


@dataclass(frozen=True)
class CompressionReport:
    """The report of ``model/compress`` (also written as ``OUT.report.json``)."""
    technique: Optional[str]
    steps: List[Dict[str, Any]] = field(repr=False)
    before: Optional[ModelStats]
    after: Optional[ModelStats]
    size_ratio: Optional[float]
    duration_ms: Optional[float]
    latency: Optional[LatencyComparison]
    evaluation_before: Optional[EvaluationResult]
    evaluation_after: Optional[EvaluationResult]
    miou_drop: Optional[float]
    budget_misses: List[Dict[str, Any]]
    path: Optional[str]
    raw: Dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, d: Dict[str, Any], path: Optional[str] = None) -> "CompressionReport":
        lat = d.get("latency")
        raw_ev = d.get("evaluation")
        ev: Dict[str, Any] = raw_ev if isinstance(raw_ev, dict) else {}
        return cls(
            technique=d.get("technique"), steps=list(d.get("steps") or []),
            before=ModelStats.from_json(d.get("before")), after=ModelStats.from_json(d.get("after")),
            size_ratio=_f(d, "sizeRatio"), duration_ms=_f(d, "durationMs"),
            latency=LatencyComparison(_f(lat, "beforeP50Ms"), _f(lat, "afterP50Ms"), _f(lat, "ratio"), lat.get("runs"))
            if isinstance(lat, dict) else None,
            evaluation_before=EvaluationResult.from_json(ev["before"]) if isinstance(ev.get("before"), dict) else None,
            evaluation_after=EvaluationResult.from_json(ev["after"]) if isinstance(ev.get("after"), dict) else None,
            miou_drop=_f(ev, "miouDrop"), budget_misses=list(d.get("budgetMisses") or []),
            path=path, raw=d)


@dataclass(frozen=True)
class BenchmarkResult:
    """``model/benchmark``'s answer: latency of one model on seeded random inputs."""
    id: Optional[str]
    engine: Optional[str]
    runs: Optional[int]
    warmup: Optional[int]
    batch: Optional[int]
    threads: Optional[int]
    p50_ms: Optional[float]
    p90_ms: Optional[float]
    min_ms: Optional[float]
    mean_ms: Optional[float]
    load_ms: Optional[float]
    arena_bytes: Optional[int]
    peak_rss_bytes: Optional[int]
    raw: Dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "BenchmarkResult":
        return cls(d.get("id"), d.get("engine"), d.get("runs"), d.get("warmup"), d.get("batch"), d.get("threads"),
                   _f(d, "p50Ms"), _f(d, "p90Ms"), _f(d, "minMs"), _f(d, "meanMs"), _f(d, "loadMs"),
                   d.get("arenaBytes"), d.get("peakRSSBytes"), raw=d)
