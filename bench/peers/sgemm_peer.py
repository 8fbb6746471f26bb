#!/usr/bin/python3
"""OpenBLAS sgemm through numpy: the latency of one shape at one thread count (a peer for `modelc bench --op gemm`).

    OPENBLAS_NUM_THREADS=T /usr/bin/python3 sgemm_peer.py --m M --n N --k K --op NN|NT --threads T --seconds S

Adapted from the reference peers' numpy sgemm script. C[M,N] = A[M,K] @ B with np.matmul(a, b, out=c);
B is b[K,N] for NN and the transposed view of a [N,K] array for NT (nn.Linear's layout; no copy is
made). The caller sets OPENBLAS_NUM_THREADS=T (read when numpy loads) and unsets OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE (they force a slower kernel); threadpoolctl also limits the pool to T.

Warm-up: >= 5 calls and >= 0.5 s. Then timed calls until they add up to >= S seconds, at least 10 and at
most 5000 of them, each timed on its own with time.perf_counter_ns (numpy's ~1 us call overhead is
included, as a user calling it pays it). Row 0 of C is checked against a float64 product.

Prints exactly one JSON line on stdout: {"peer": "openblas", "version": ..., "times_ns": [...],
"cpu_wall": ...}; on error a message on stderr and exit status 1.
"""
import argparse
import json
import sys
import time

MAX_CALLS = 5000
MIN_CALLS = 10


def main(argv):
    ap = argparse.ArgumentParser()
    for f in ("--m", "--n", "--k", "--threads"):
        ap.add_argument(f, type=int, required=True)
    ap.add_argument("--op", choices=("NN", "NT"), required=True)
    ap.add_argument("--seconds", type=float, required=True)
    a = ap.parse_args(argv)
    if min(a.m, a.n, a.k, a.threads) < 1:
        print("sgemm_peer.py: --m, --n, --k and --threads must be >= 1", file=sys.stderr)
        return 1
    import numpy as np
    import threadpoolctl

    rng = np.random.default_rng(0)
    x = rng.standard_normal((a.m, a.k), dtype=np.float32)
    if a.op == "NN":
        w = rng.standard_normal((a.k, a.n), dtype=np.float32)
    else:
        w = rng.standard_normal((a.n, a.k), dtype=np.float32).T
    c = np.empty((a.m, a.n), dtype=np.float32)
    with threadpoolctl.threadpool_limits(limits=a.threads, user_api="blas"):
        parts = [f"numpy {np.__version__}"]
        for info in threadpoolctl.threadpool_info():
            if info.get("user_api") == "blas":
                parts.append(f"{info.get('internal_api')} {info.get('version') or '?'} {info.get('architecture') or '?'}")
        t_end = time.perf_counter_ns() + 500_000_000
        i = 0
        while i < 5 or time.perf_counter_ns() < t_end:
            np.matmul(x, w, out=c)
            i += 1
        times, busy, cpu = [], 0, 0
        while len(times) < MIN_CALLS or (busy < a.seconds * 1e9 and len(times) < MAX_CALLS):
            c0 = time.process_time_ns()
            t0 = time.perf_counter_ns()
            np.matmul(x, w, out=c)
            t1 = time.perf_counter_ns()
            cpu += time.process_time_ns() - c0
            times.append(t1 - t0)
            busy += t1 - t0
    ref = x[:1].astype(np.float64) @ w.astype(np.float64)
    if not np.allclose(c[:1], ref, rtol=1e-3, atol=1e-3 * np.sqrt(a.k)):
        print("sgemm_peer.py: wrong result in row 0", file=sys.stderr)
        return 1
    print(json.dumps({"peer": "openblas", "version": ", ".join(parts), "times_ns": times,
                      "cpu_wall": round(cpu / busy, 4) if busy else 0.0}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
