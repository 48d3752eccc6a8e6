#!/usr/bin/env python3
"""The real workflow with the SegSlim Python client: load the bundled demo model, segment a
bundled sample image, evaluate (on the bundled samples, or on DATASET if given), quantize to
INT8, and compare accuracy and latency.

    SEGSLIMD=.build/release/segslimd python3 clients/python/example.py [DATASET] [--split val]

Without $SEGSLIMD the client looks in .build/release, .build/debug, then $PATH. A debug build
works but is slow (seconds per image); a release build (`swift build -c release`) is what the
latency numbers are meant for. If tqdm is installed, progress is shown as a bar.
Ctrl-C at any point cancels the running request in the daemon.
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # not needed once installed with `pip install clients/python`

import segslim  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DEMO = os.path.join(REPO, "Sources", "segslim", "Demo")


def progress_printer(title: str):
    """A ``(fraction, message)`` callback: a tqdm bar if tqdm is installed, else plain lines."""
    try:
        from tqdm import tqdm
    except ImportError:
        return lambda fraction, message: print("   %3d%% %s" % (round(fraction * 100), message))
    bar = tqdm(total=100, desc=title, unit="%", leave=False)

    def update(fraction: float, message: str) -> None:
        bar.update(round(fraction * 100) - bar.n)
        bar.set_postfix_str(message)
    return update


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", nargs="?", default=os.path.join(DEMO, "samples"),
                        help="a labelled dataset folder (default: the bundled CamVid samples)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--runs", type=int, default=5, help="benchmark runs per model")
    args = parser.parse_args()

    with segslim.Client.spawn() as client:
        client.initialize(client_name="example.py")
        print("segslimd %s, pid %d" % (client.server_info["version"], client.process.pid))

        # 1. Load: a handle with the model's inputs, outputs and class names.
        model = client.load(os.path.join(DEMO, "lraspp_mbv3_camvid.onnx"))
        print("loaded %s: input %s, %d classes (%s, ...), %.1f MB, %.2f GMACs"
              % (model.id, model.inputs[0].shape, len(model.classes), ", ".join(model.classes[:3]),
                 model.size_bytes / 1e6, model.macs / 1e9))

        # 2. Segment one bundled sample: an HxW uint8 mask of class ids (numpy if installed).
        image = os.path.join(DEMO, "samples", "images", "0016E5_07959.jpg")
        [result] = model.segment_many([image])
        mask = result.mask
        print("segmented %s: mask %s, %.0f ms inference" % (os.path.basename(image), mask.shape,
                                                             result.timings.get("inferMs", 0)))
        for c in result.classes[:4]:
            print("   %-10s %5.1f%%" % (c.name, 100 * c.fraction))

        # 3. Evaluate on a labelled split.
        before = model.evaluate(args.dataset, split=args.split, progress=progress_printer("evaluate FP32"))
        print("FP32 on %s/%s: mIoU %.4f, pixel accuracy %.4f over %d images"
              % (os.path.basename(args.dataset), before.split, before.miou, before.pixel_accuracy, before.images))

        # 4. Quantize (static INT8, calibrated on the dataset's images) and evaluate again.
        int8, report = model.compress("quantize", {"calibrationCount": 8}, dataset=args.dataset, split=args.split,
                                      evaluate=False, benchmark_runs=0, progress=progress_printer("quantize"))
        print("quantized to %s: %.1f MB -> %.1f MB (x%.2f) in %.1f s"
              % (int8.id, report.before.size_bytes / 1e6, report.after.size_bytes / 1e6,
                 report.size_ratio, report.duration_ms / 1000))
        after = int8.evaluate(args.dataset, split=args.split, progress=progress_printer("evaluate INT8"))
        print("INT8 mIoU %.4f (%+.4f)" % (after.miou, after.miou - before.miou))
        for a, b in zip(before.per_class_iou, after.per_class_iou):
            if a.iou is not None and b.iou is not None and abs(b.iou - a.iou) >= 0.01:
                print("   %-12s IoU %.3f -> %.3f" % (a.name, a.iou, b.iou))

        # 5. Compare latency on the daemon's runtime.
        fp32 = model.benchmark(runs=args.runs, warmup=1)
        q = int8.benchmark(runs=args.runs, warmup=1)
        print("latency p50: FP32 %.1f ms, INT8 %.1f ms (x%.2f), %d threads"
              % (fp32.p50_ms, q.p50_ms, q.p50_ms / fp32.p50_ms, fp32.threads))
        if fp32.p50_ms > 1.5 * fp32.min_ms or q.p50_ms > 1.5 * q.min_ms:
            print("   (noisy: p50 is far from the minimum; use more --runs or a quieter machine)")

        int8.unload()
    print("daemon exited with status %d" % client.process.returncode)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: the running request was cancelled in the daemon", file=sys.stderr)
        sys.exit(130)
