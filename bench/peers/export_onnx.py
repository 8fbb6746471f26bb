#!/usr/bin/python3
"""Export one zoo model (models.py) to ONNX with a dynamic batch dimension, for ort_peer.js.

    /usr/bin/python3 export_onnx.py --model NAME --out FILE.onnx

Adapted from the reference peers' ONNX exporter, which writes one fixed-shape file per (model, batch); this
one writes a single file per model whose input and output have a symbolic dimension 0 ("batch"), so one
file serves every batch size.  Opset 14 (the highest Debian's torch 1.13 exports the models with; models.py
writes attention out by hand so no newer op is needed), constant folding on, input named "input"
(float32 [batch,3072] for mlp, int64 [batch,128] for gpt-mini, float32 [batch,3,32,32] otherwise),
output named "output".  The weights are models.build(NAME)'s: random, fixed seeds, so the file is the same
on every run.

The file is checked with onnx.checker and written atomically (a temporary file in the same folder,
renamed over FILE.onnx), so a killed export never leaves a truncated FILE.onnx.  On success one line goes
to stdout (the file, its size, the ops used); on error a message goes to stderr and the exit status is 1.
"""
import argparse
import os
import sys
import tempfile
import warnings

OPSET = 14
EXPORT_BATCH = 2  # traced at batch 2 so that no size-1 dimension is specialised; dim 0 is symbolic anyway


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def export(name, out):
    import onnx
    import torch

    sys.dont_write_bytecode = True  # no __pycache__ next to the scripts
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import models

    if name not in models.NAMES:
        raise UsageError(f"--model {name!r}: not one of {', '.join(models.NAMES)}")
    warnings.filterwarnings("ignore")  # tracer warnings about shape-dependent Python code are expected
    model = models.build(name)
    x = models.example_input(name, EXPORT_BATCH)

    out = os.path.abspath(out)
    d = os.path.dirname(out)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(out) + ".", suffix=".tmp", dir=d)
    os.close(fd)
    try:
        with torch.no_grad():
            torch.onnx.export(model, (x,), tmp, opset_version=OPSET, do_constant_folding=True,
                              input_names=["input"], output_names=["output"],
                              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        m = onnx.load(tmp)
        onnx.checker.check_model(m)
        for v in list(m.graph.input) + list(m.graph.output):
            dim0 = v.type.tensor_type.shape.dim[0]
            if dim0.dim_param != "batch":
                raise RuntimeError(f"{v.name}: dimension 0 is {dim0} in the exported graph, not the symbolic 'batch'")
        names = [v.name for v in m.graph.input]
        if names != ["input"] or [v.name for v in m.graph.output] != ["output"]:
            raise RuntimeError(f"exported graph has inputs {names}, outputs {[v.name for v in m.graph.output]}")
        ops = sorted({n.op_type for n in m.graph.node})
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    return out, os.path.getsize(out), ops


def main(argv):
    ap = Parser(description="export a zoo model to ONNX (dynamic batch, opset 14)")
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    try:
        a = ap.parse_args(argv)
        # the exporter may print to stdout: keep it for our one line
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(2, 1)
        try:
            out, size, ops = export(a.model, a.out)
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
    except UsageError as e:
        print(f"export_onnx.py: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001
        print(f"export_onnx.py: {a.model}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(f"{out} {size / 2**20:.1f} MiB opset {OPSET} dynamic batch ops {' '.join(ops)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
