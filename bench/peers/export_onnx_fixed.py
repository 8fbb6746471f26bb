"""Export the models in models.py to ONNX with fixed shapes, one file per (model, batch).

A verbatim copy of the project's reference peers' export_onnx.py (kept outside this repository), but for this
paragraph and the usage line: `make peer-exports` runs it and checks modelc on every file
(zoo/peers_onnx_test.go).

    /usr/bin/python3 bench/peers/export_onnx_fixed.py [--batches 1,32] [--opset 14] [--dir onnx]

Writes   onnx/<model>_b<batch>.onnx          (opset 14, constant folding on, fixed input shape)
         onnx/<model>_b<batch>.input.bin     (the example input, raw little-endian float32 or int64)
         onnx/<model>_b<batch>.output.bin    (PyTorch's output for it, raw float32, for checking runtimes)
         onnx/manifest.json                  (shapes, dtypes, sizes)
The folder is regenerated deterministically (fixed seeds) and is git-ignored: the files are ~200 MB.
"""
import argparse
import json
import os
import warnings

import onnx
import torch

import models


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--opset", type=int, default=14)
    ap.add_argument("--dir", default="onnx")
    a = ap.parse_args()
    warnings.filterwarnings("ignore")  # tracer warnings about shape-dependent Python code are expected
    os.makedirs(a.dir, exist_ok=True)
    torch.set_num_threads(2)
    manifest = []
    for name in models.NAMES:
        model = models.build(name)
        for batch in [int(b) for b in a.batches.split(",")]:
            x = models.example_input(name, batch)
            with torch.inference_mode():
                y = model(x)
            base = os.path.join(a.dir, f"{name}_b{batch}")
            with torch.no_grad():
                torch.onnx.export(model, (x,), base + ".onnx", opset_version=a.opset,
                                  input_names=["input"], output_names=["output"], do_constant_folding=True)
            onnx.checker.check_model(onnx.load(base + ".onnx"))
            x.numpy().tofile(base + ".input.bin")
            y.float().numpy().tofile(base + ".output.bin")
            ops = sorted({n.op_type for n in onnx.load(base + ".onnx").graph.node})
            entry = {"model": name, "batch": batch, "file": os.path.basename(base + ".onnx"),
                     "input": {"name": "input", "dtype": str(x.dtype).replace("torch.", ""), "shape": list(x.shape)},
                     "output": {"name": "output", "dtype": "float32", "shape": list(y.shape)},
                     "opset": a.opset, "bytes": os.path.getsize(base + ".onnx"), "ops": ops}
            manifest.append(entry)
            print(f"{entry['file']:22s} {entry['bytes']/2**20:7.1f} MiB  in {entry['input']['shape']} "
                  f"{entry['input']['dtype']}  out {entry['output']['shape']}  ops {' '.join(ops)}", flush=True)
    with open(os.path.join(a.dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    total = sum(e["bytes"] for e in manifest)
    print(f"total {total/2**20:.1f} MiB in {len(manifest)} files")


if __name__ == "__main__":
    main()
