#!/usr/bin/env python3
"""onnxruntime's time for one forward pass of MODEL on INPUT (EZKL-style input JSON), CPU,
intra-op threads = THREADS (0: onnxruntime's default, every core): the median of RUNS after
one warm-up. Prints one line: `onnxruntime median X ms (min Y ms)`.

usage: .venv/bin/python benches/ort_time.py MODEL INPUT [THREADS] [RUNS]
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort

model, inp = sys.argv[1], sys.argv[2]
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 0
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 20
so = ort.SessionOptions()
so.intra_op_num_threads = threads
s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
data = json.load(open(inp))["input_data"]
feeds = {}
for i, x in zip(s.get_inputs(), data):
    dt = np.int64 if "int64" in i.type else np.float32
    shape = [d if isinstance(d, int) else 1 for d in i.shape]
    a = np.array(x, dtype=dt)
    if a.size == int(np.prod(shape)):
        a = a.reshape(shape)
    feeds[i.name] = a
s.run(None, feeds)
ts = []
for _ in range(runs):
    t = time.perf_counter()
    s.run(None, feeds)
    ts.append(time.perf_counter() - t)
ts.sort()
print(f"onnxruntime median {1e3 * ts[len(ts) // 2]:.3f} ms (min {1e3 * ts[0]:.3f} ms)")
