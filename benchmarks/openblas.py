"""NumPy float32 matmul speed under OpenBLAS's Haswell and SkylakeX (AVX-512) kernels, the choice
`helpers._choose_openblas_kernel` makes before NumPy loads.

Each kernel runs in its own process (OpenBLAS reads OPENBLAS_CORETYPE once, at load); the sizes are the hand-in 1
network's matmuls (batch 64 through 784-512-256-128-10) and a square 2048² one. Best of several repeats, interleaved,
so that other load on the machine hurts both kernels alike. Usage: python benchmarks/openblas.py
"""
import json
import os
import subprocess
import sys

CHILD = r"""
import json, time, numpy as np
rng = np.random.default_rng(0)
shapes = {"hand-in 1 net, batch 64 (forward+backward)": None, "2048x2048 @ 2048x2048": (2048, 2048, 2048)}
out = {}
def best(f, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
    return min(times)
sizes = [784, 512, 256, 128, 10]
ws = [rng.standard_normal((a, b), dtype=np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
x = rng.standard_normal((64, 784), dtype=np.float32)
def net():
    for _ in range(100):
        a = x
        acts = []
        for w in ws:
            acts.append(a); a = a @ w
        g = np.ones_like(a)
        for w, a_in in zip(reversed(ws), reversed(acts)):
            _ = a_in.T @ g; g = g @ w.T
flops_net = 100 * 3 * 2 * 64 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
a = rng.standard_normal((2048, 2048), dtype=np.float32); b = rng.standard_normal((2048, 2048), dtype=np.float32)
out["hand-in 1 net, batch 64, 100 forward+backward"] = flops_net / best(net, 5) / 1e9
out["matmul 2048x2048"] = 2 * 2048 ** 3 / best(lambda: a @ b, 5) / 1e9
print(json.dumps(out))
"""


def measure(kernel):
    """GFLOP/s per case with OPENBLAS_CORETYPE=kernel, in a fresh process."""
    env = dict(os.environ, OPENBLAS_CORETYPE=kernel, KEEP_OPENBLAS_CORETYPE="1")
    return json.loads(subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True,
                                     check=True).stdout)


def main():
    """Print a table: GFLOP/s under each kernel (best of 3 interleaved processes) and the speed-up."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    import helpers
    runs = {"Haswell": [], "SkylakeX": []}
    for _ in range(3):
        for kernel in runs:
            runs[kernel].append(measure(kernel))
    print(f"Machine: {helpers.hardware()}; numpy float32, GFLOP/s (best of 3)\n")
    print("| case | Haswell | SkylakeX | SkylakeX / Haswell |\n|---|---|---|---|")
    for case in runs["Haswell"][0]:
        h, s = (max(r[case] for r in runs[k]) for k in runs)
        print(f"| {case} | {h:.0f} | {s:.0f} | {s / h:.2f}× |")


if __name__ == "__main__":
    main()
