#!/usr/bin/python3
"""PyTorch eager CPU latency of one zoo model, one batch size, one thread count (a peer for `modelc bench`).

    /usr/bin/python3 torch_peer.py --model NAME --batch B --threads T --seconds S [--flush-mb M] [--warmup-seconds W]

Adapted from the reference peers' PyTorch timing script (same model setup and thread limits), reduced to one
configuration and a machine-readable result.  NAME is one of models.NAMES (mlp, resnet20, vit-tiny,
gpt-mini); the model is models.build(NAME) (eval mode, fixed seeds) run under torch.inference_mode() on
models.example_input(NAME, B).

Threads: torch.set_num_threads(T) (intra-op / OpenMP, which oneDNN convolutions use),
torch.set_num_interop_threads(1), and threadpoolctl limits the OpenBLAS pool (Debian's torch does its
matmuls in OpenBLAS, whose pthreads pool defaults to all cores) to T.  OPENBLAS_CORETYPE /
OPENBLAS_L2_SIZE are left alone here: the caller unsets them for the run (they force a slower kernel).

Warm-up: >= 5 calls and >= W seconds (default 0.5).  Then timed calls until they add up to >= S seconds,
at least 10 and at most 5000 of them; each call is timed on its own with time.perf_counter_ns.  With
--flush-mb M > 0, before each timed call (outside the timed region) every 64-byte line of an M MiB
buffer is read and written, evicting the last-level cache (the same eviction as modelc's bench driver).

Prints exactly one JSON line on stdout:

    {"peer": "torch", "version": "...", "model": NAME, "batch": B, "threads": T,
     "times_ns": [...], "cpu_wall": ...}

cpu_wall is the process CPU time (all threads) spent inside the timed calls over their summed wall time:
about T when T threads really work.  Anything else (warnings) goes to stderr; on error a message goes to
stderr and the exit status is 1.
"""
import argparse
import json
import os
import sys
import time

MAX_CALLS = 5000
MIN_CALLS = 10
MIN_WARM_CALLS = 5


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # exit 1 (not argparse's 2) on bad arguments, like every other error
        raise UsageError(message)


def parse_args(argv):
    ap = Parser(description="PyTorch latency peer for modelc bench (one JSON line on stdout)")
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--flush-mb", type=int, default=0)
    ap.add_argument("--warmup-seconds", type=float, default=0.5)
    a = ap.parse_args(argv)
    if a.batch < 1:
        raise UsageError(f"--batch {a.batch}: must be >= 1")
    if a.threads < 1:
        raise UsageError(f"--threads {a.threads}: must be >= 1")
    if not a.seconds >= 0:
        raise UsageError(f"--seconds {a.seconds}: must be >= 0")
    if a.flush_mb < 0:
        raise UsageError(f"--flush-mb {a.flush_mb}: must be >= 0")
    if not a.warmup_seconds >= 0:
        raise UsageError(f"--warmup-seconds {a.warmup_seconds}: must be >= 0")
    return a


def version_string(torch, threadpoolctl):
    """torch version plus the kernels in use (cheap: no benchmark, no import of anything new)."""
    parts = []
    for info in threadpoolctl.threadpool_info():
        if info.get("user_api") == "blas":
            parts.append(f"{info.get('internal_api')} {info.get('version') or '?'} {info.get('architecture') or '?'}")
    try:
        cfg = torch.__config__.show()
        for line in cfg.splitlines():
            line = line.strip(" -")
            if "MKL-DNN" in line or "oneDNN" in line:
                parts.append(line.replace("Intel(R) ", "").replace(" (Git Hash N/A)", ""))
            elif line.startswith("CPU capability usage:"):
                parts.append(line.replace("CPU capability usage: ", "cpu "))
    except Exception:  # the config string is informative only
        pass
    return f"{torch.__version__} ({', '.join(parts)})" if parts else torch.__version__


def run(a):
    import numpy as np
    import threadpoolctl
    import torch

    sys.dont_write_bytecode = True  # no __pycache__ next to the scripts
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import models

    if a.model not in models.NAMES:
        raise UsageError(f"--model {a.model!r}: not one of {', '.join(models.NAMES)}")

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    model = models.build(a.model)
    x = models.example_input(a.model, a.batch)

    flush = np.zeros(a.flush_mb << 20, dtype=np.uint8) if a.flush_mb > 0 else None
    lines = flush[::64] if flush is not None else None  # one byte per 64-byte cache line

    with threadpoolctl.threadpool_limits(limits=a.threads, user_api="blas"), torch.inference_mode():
        version = version_string(torch, threadpoolctl)  # inside the limits: reports the kernel in use
        # warm-up
        t_end = time.perf_counter_ns() + int(a.warmup_seconds * 1e9)
        i = 0
        while i < MIN_WARM_CALLS or time.perf_counter_ns() < t_end:
            model(x)
            i += 1
        # timed calls
        times = []
        busy_ns = 0
        cpu_ns = 0
        target_ns = a.seconds * 1e9
        while len(times) < MIN_CALLS or (busy_ns < target_ns and len(times) < MAX_CALLS):
            if lines is not None:
                np.add(lines, 1, out=lines)  # evict: read and write every line of the buffer
            c0 = time.process_time_ns()
            t0 = time.perf_counter_ns()
            model(x)
            t1 = time.perf_counter_ns()
            c1 = time.process_time_ns()
            times.append(t1 - t0)
            busy_ns += t1 - t0
            cpu_ns += c1 - c0
    return {"peer": "torch", "version": version, "model": a.model, "batch": a.batch, "threads": a.threads,
            "times_ns": times, "cpu_wall": round(cpu_ns / busy_ns, 4) if busy_ns > 0 else 0.0}


def main(argv):
    # Keep stdout for the one JSON line: anything printed meanwhile (by Python or by C libraries writing
    # to fd 1) goes to stderr instead.
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        result = run(parse_args(argv))
        err = None
    except UsageError as e:
        err = f"torch_peer.py: {e}"
    except Exception as e:  # noqa: BLE001 (any failure: message on stderr, exit 1)
        err = f"torch_peer.py: {type(e).__name__}: {e}"
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    if err is not None:
        print(err, file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
