"""The README's quick-start snippet, verbatim, timed by benchmarks/bench.py (target: < 15 s on 2 cores).

Runs in a temporary directory (the snippet writes flow.npz) and prints, as its last line, JSON with
the seconds from before `import numpy` to the end. bench.py times the whole process too, and its
--check compares the block between the markers with README.md's "Quick start".
"""
import json
import os
import tempfile
import time

_t0 = time.perf_counter()
_tmp = tempfile.TemporaryDirectory()
os.chdir(_tmp.name)
# --- README quick start: begin
import numpy as np
import minflow

rng = np.random.default_rng(0)
data = rng.multivariate_normal([1.0, -1.0], [[1.0, 0.9], [0.9, 1.0]], size=5000)

flow = minflow.RealNVP(dim=2, n_layers=6, hidden=(64, 64), rng=rng)   # starts as the identity map
history = minflow.fit(flow, data, rng=rng, epochs=50, batch_size=256, lr=1e-3, patience=10)
flow.log_prob(data[:5])            # (5,) nats
z, log_det = flow.forward(data)    # data -> latent
x, _ = flow.inverse(z)             # latent -> data
samples = flow.sample(1000, rng)
for layer in flow.trace(data[:3]): # every layer's output, log-det, s and t
    print(layer["layer"], layer["log_det"])

print(minflow.format_consistency_report(minflow.consistency_report(flow, data[:500], rng)))  # eq. 2 both ways
minflow.save(flow, "flow.npz"); flow = minflow.load("flow.npz")         # bit-identical log_prob
# --- README quick start: end
print(json.dumps({"script_seconds": time.perf_counter() - _t0, "fit_seconds": history.seconds,
                  "epochs_run": len(history.train_nll)}))
