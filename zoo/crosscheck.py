#!/usr/bin/python3
"""Cross-check modelc's zoo outputs against PyTorch (run by `make zoo-crosscheck`).

    /usr/bin/python3 zoo/crosscheck.py --dir DIR [--peers PEERS] [--models mlp,resnet20,...]

For each model name in models.NAMES (or --models), DIR/<name>/ must hold

    weights.safetensors  the zoo's seeded weights as written by modelc; tensor names are exactly the
                         PyTorch state_dict names of the model in PEERS/models.py
    inputs.npy           the batch-2 input (float32 [2,3072] / [2,3,32,32], int64 [2,128] for gpt-mini)
    outputs.npy          modelc's reference-evaluator output (float32)

The script builds the model from models.py, loads the weights with load_state_dict(strict=True), runs it
in float64 and compares with outputs.npy by the project's rule (docs/design.md, "What matches means"):

    |a - b| <= rtol * (|b| + max|b|)  elementwise, rtol = 1e-4, b = the PyTorch float64 result;
    argmax over the last axis equal wherever b's top-2 margin exceeds 1e-3 * max|logit| of that row
    (rows under that margin are near-ties: listed, not failed).

It prints one line per model and exits 1 on any failure or missing/unreadable file (naming the file).
Needs only Debian's python3-torch and python3-numpy.
"""
import argparse
import importlib.util
import json
import os
import struct
import sys

import numpy as np

RTOL = 1e-4
MARGIN = 1e-3

_ST_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
              "U8": "u1", "BOOL": "u1"}


class CheckError(Exception):
    pass


def read_safetensors(path):
    """{name: numpy array} from a safetensors file (read by hand: no safetensors package needed)."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise CheckError(f"{path}: not a safetensors file (too short)")
    (n,) = struct.unpack("<Q", buf[:8])
    if 8 + n > len(buf):
        raise CheckError(f"{path}: header length {n} runs past the end of the file")
    try:
        header = json.loads(buf[8:8 + n])
    except ValueError as e:
        raise CheckError(f"{path}: bad JSON header: {e}")
    data = memoryview(buf)[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        dt = e.get("dtype")
        if dt not in _ST_DTYPES:
            raise CheckError(f"{path}: tensor {name!r} has unsupported dtype {dt!r}")
        b, en = e["data_offsets"]
        shape = tuple(e["shape"])
        want = int(np.prod(shape, dtype=np.int64)) * np.dtype(_ST_DTYPES[dt]).itemsize
        if en - b != want or en > len(data):
            raise CheckError(f"{path}: tensor {name!r} data_offsets {[b, en]} do not match shape {list(shape)} {dt}")
        a = np.frombuffer(data[b:en], dtype=_ST_DTYPES[dt]).reshape(shape)
        out[name] = a.astype(np.bool_) if dt == "BOOL" else a
    return out


def load_models_module(peers):
    path = os.path.join(peers, "models.py")
    if not os.path.isfile(path):
        raise CheckError(f"{path}: missing (the peers' models.py; set --peers)")
    spec = importlib.util.spec_from_file_location("peers_models", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def compare(a, b):
    """a: candidate (modelc), b: reference (PyTorch float64). Returns (max error in tolerance units,
    number of argmax rows checked, argmax mismatches, near-tie rows)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    tol = RTOL * (np.abs(b) + np.abs(b).max())
    with np.errstate(invalid="ignore", divide="ignore"):
        units = np.abs(a - b) / tol
    units = np.where(np.isnan(units), np.inf, units)  # NaN anywhere is a failure
    err = float(units.max()) if units.size else 0.0
    a2 = a.reshape(-1, a.shape[-1]) if a.ndim else a.reshape(1, 1)
    b2 = b.reshape(-1, b.shape[-1]) if b.ndim else b.reshape(1, 1)
    checked, wrong, ties = 0, [], []
    if b2.shape[1] >= 2:
        top2 = np.sort(b2, axis=1)[:, -2:]
        margin = top2[:, 1] - top2[:, 0]
        scale = np.abs(b2).max(axis=1)
        for r in range(b2.shape[0]):
            if margin[r] > MARGIN * scale[r]:
                checked += 1
                if np.argmax(a2[r]) != np.argmax(b2[r]):
                    wrong.append(r)
            else:
                ties.append(r)
    else:
        checked = 0
    return err, checked, wrong, ties


def check_model(models, name, d):
    import torch

    paths = {k: os.path.join(d, name, k) for k in ("weights.safetensors", "inputs.npy", "outputs.npy")}
    for p in paths.values():
        if not os.path.isfile(p):
            raise CheckError(f"{p}: missing")
    weights = read_safetensors(paths["weights.safetensors"])
    try:
        x = np.load(paths["inputs.npy"])
        a = np.load(paths["outputs.npy"])
    except (OSError, ValueError) as e:
        raise CheckError(f"{e}")

    model = models.build(name)
    own = model.state_dict()
    sd = {k: torch.from_numpy(np.array(v)) for k, v in weights.items()}
    filled = []
    for k in own:
        # BatchNorm's num_batches_tracked counter is not a weight and does nothing in eval mode; accept a
        # file that leaves it out (e.g. one holding only F32 tensors).
        if k not in sd and k.endswith("num_batches_tracked"):
            sd[k] = own[k]
            filled.append(k)
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        msg = " ".join(str(e).split())
        raise CheckError(f"{paths['weights.safetensors']}: does not match models.py's {name}: {msg}")
    model = model.double().eval()

    ref_x = models.example_input(name, 2)
    if tuple(x.shape) != tuple(ref_x.shape):
        raise CheckError(f"{paths['inputs.npy']}: shape {list(x.shape)}, want {list(ref_x.shape)}")
    if ref_x.dtype.is_floating_point:
        xt = torch.from_numpy(np.asarray(x, np.float64))
    else:
        if x.dtype.kind not in "iu":
            raise CheckError(f"{paths['inputs.npy']}: dtype {x.dtype}, want an integer dtype (token ids)")
        xt = torch.from_numpy(np.asarray(x, np.int64))
    with torch.no_grad():
        b = model(xt).numpy()
    if a.shape != b.shape:
        raise CheckError(f"{paths['outputs.npy']}: shape {list(a.shape)}, want {list(b.shape)}")
    err, checked, wrong, ties = compare(a, b)
    ok = err <= 1.0 and not wrong
    note = f" (filled {len(filled)} num_batches_tracked)" if filled else ""
    line = (f"{name:9s} max err {err:9.3g} x tol   argmax {checked - len(wrong)}/{checked} rows agree"
            f", {len(ties)} near-ties   {'PASS' if ok else 'FAIL'}{note}")
    if wrong:
        line += f"\n          argmax differs in rows {wrong[:10]}{' ...' if len(wrong) > 10 else ''}"
    if ties:
        line += f"\n          near-tie rows (not checked): {ties[:10]}{' ...' if len(ties) > 10 else ''}"
    return ok, line


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True, help="directory holding <model>/{weights.safetensors,inputs.npy,outputs.npy}")
    ap.add_argument("--peers", default=os.path.normpath(os.path.join(here, "..", "bench", "peers")),
                    help="directory holding models.py (default: bench/peers, beside zoo/)")
    ap.add_argument("--models", default=None, help="comma-separated subset of models.NAMES (default: all)")
    args = ap.parse_args(argv)

    try:
        models = load_models_module(args.peers)
    except CheckError as e:
        print(f"crosscheck: {e}", file=sys.stderr)
        return 1
    names = list(models.NAMES) if args.models is None else [n for n in args.models.split(",") if n]
    unknown = [n for n in names if n not in models.NAMES]
    if unknown:
        print(f"crosscheck: unknown model(s) {unknown}; models.py has {models.NAMES}", file=sys.stderr)
        return 1

    failed = []
    for name in names:
        try:
            ok, line = check_model(models, name, args.dir)
        except CheckError as e:
            ok, line = False, f"{name:9s} ERROR {e}"
        print(line, flush=True)
        if not ok:
            failed.append(name)
    if failed:
        print(f"crosscheck: FAIL ({', '.join(failed)}); rule: |a-b| <= {RTOL:g}*(|b|+max|b|), "
              f"argmax equal where top-2 margin > {MARGIN:g}*max|logit|", file=sys.stderr)
        return 1
    print(f"crosscheck: all {len(names)} models match PyTorch (float64) within rtol {RTOL:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
