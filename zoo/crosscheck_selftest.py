#!/usr/bin/python3
"""Self-test of zoo/crosscheck.py without modelc.

    /usr/bin/python3 zoo/crosscheck_selftest.py [--peers PEERS] [--keep DIR]

Writes a DIR the way modelc would, but from PyTorch itself (state_dict -> weights.safetensors, F32 and
num_batches_tracked left out; example_input(name, 2) -> inputs.npy; the model's own float32 output ->
outputs.npy), then checks that crosscheck.py
  1. passes on it,
  2. fails when one weight is perturbed,
  3. fails, naming the file, when a file is missing,
  4. fails when a weight tensor is missing.
"""
import argparse
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "crosscheck.py")


def write_safetensors(path, tensors):
    tags = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        a = np.asarray(tensors[name])
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": tags[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


def make_dir(models, d):
    import torch

    for name in models.NAMES:
        os.makedirs(os.path.join(d, name), exist_ok=True)
        model = models.build(name)
        sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()
              if not k.endswith("num_batches_tracked")}
        write_safetensors(os.path.join(d, name, "weights.safetensors"), sd)
        x = models.example_input(name, 2)
        with torch.no_grad():
            y = model(x).numpy().astype(np.float32)
        np.save(os.path.join(d, name, "inputs.npy"), x.numpy())
        np.save(os.path.join(d, name, "outputs.npy"), y)


def run(d, peers, models=None):
    cmd = [sys.executable, SCRIPT, "--dir", d, "--peers", peers] + (["--models", models] if models else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peers", default=os.path.normpath(os.path.join(HERE, "..", "bench", "peers")))
    ap.add_argument("--keep", default=None, help="write the generated DIR here and keep it")
    args = ap.parse_args()
    sys.dont_write_bytecode = True  # leave no __pycache__ in zoo/
    sys.path.insert(0, HERE)
    import crosscheck

    models = crosscheck.load_models_module(args.peers)
    d = args.keep or tempfile.mkdtemp(prefix="crosscheck-selftest-")
    failures = []

    def expect(what, rc_want_zero, rc, out, must_contain=None):
        good = (rc == 0) == rc_want_zero and (must_contain is None or must_contain in out)
        print(f"--- {what}: rc {rc} {'ok' if good else 'UNEXPECTED'}\n{out.rstrip()}")
        if not good:
            failures.append(what)

    try:
        make_dir(models, d)
        rc, out = run(d, args.peers)
        expect("clean directory passes", True, rc, out)

        # perturb one weight deep inside resnet20 (a 3x3 conv tap in the last stage)
        wpath = os.path.join(d, "resnet20", "weights.safetensors")
        shutil.copy(wpath, wpath + ".orig")
        w = {k: np.array(v) for k, v in crosscheck.read_safetensors(wpath).items()}
        w["layers.7.conv2.weight"][5, 7, 1, 1] += 0.5  # (+0.05 gives 0.42 x tol: passes)
        write_safetensors(wpath, w)
        rc, out = run(d, args.peers, "resnet20")
        expect("perturbed resnet20 weight fails", False, rc, out, "FAIL")

        # a missing weight tensor
        del w["layers.7.conv2.weight"]
        write_safetensors(wpath, w)
        rc, out = run(d, args.peers, "resnet20")
        expect("missing weight tensor fails", False, rc, out, "layers.7.conv2.weight")
        shutil.move(wpath + ".orig", wpath)

        # a missing file
        opath = os.path.join(d, "gpt-mini", "outputs.npy")
        os.rename(opath, opath + ".away")
        rc, out = run(d, args.peers)
        expect("missing outputs.npy fails", False, rc, out, opath)
        os.rename(opath + ".away", opath)
    finally:
        if not args.keep:
            shutil.rmtree(d, ignore_errors=True)
    if failures:
        print(f"selftest: FAIL: {failures}")
        return 1
    print("selftest: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
