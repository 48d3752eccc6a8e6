#!/usr/bin/env python3
"""Writes a copy of an ONNX model whose batch axis is symbolic ("N"), so batch-4 benchmarks
can run on models exported with a fixed batch of 1 (the shared CamVid models).

    tools/.venv/bin/python tools/zoo/dynamic_batch.py IN.onnx OUT.onnx

Only the graph inputs' and outputs' first dimension change; intermediate value_info is dropped
(it records batch 1). Checks that ONNX Runtime runs the copy at batch 4 and that batch item 0
equals the original's output, and refuses to write otherwise.
"""
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main():
    src, dst = sys.argv[1], sys.argv[2]
    m = onnx.load(src)
    for v in list(m.graph.input) + list(m.graph.output):
        d = v.type.tensor_type.shape.dim[0]
        d.ClearField("dim_value")
        d.dim_param = "N"
    del m.graph.value_info[:]
    onnx.checker.check_model(m)
    data = m.SerializeToString()
    so = ort.SessionOptions()
    new = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
    old = ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])
    i = old.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in i.shape]
    x = np.random.default_rng(0).standard_normal([4] + shape[1:]).astype(np.float32)
    batched = new.run(None, {i.name: x})[0]
    single = old.run(None, {i.name: x[:1]})[0]
    if batched.shape[0] != 4 or not np.allclose(batched[:1], single, rtol=1e-4, atol=1e-4 * np.abs(single).max()):
        sys.exit(f"{src}: the batch-4 copy does not reproduce batch 1; not written")
    open(dst, "wb").write(data)
    print(f"{dst}: batch axis 'N', batch 4 checked against batch 1")


if __name__ == "__main__":
    main()
