#!/usr/bin/python3
"""Generate the per-op PyTorch fixtures for modelc's reference evaluator (ir.Eval).

Run from the repository root:

    /usr/bin/python3 ir/testdata/torch/gen.py

Writes, next to this script,

  tensors.safetensors  every input and expected output, written by hand in the safetensors format
                       (F32 / I64 / BOOL, tensors in sorted name order, contiguous, little endian)
  cases.json           {"cases": [{"name", "op", "attrs", "inputs", "outputs"}, ...]}

Conventions (the Go side relies on them):
  * inputs are "<case>.in<i>", outputs "<case>.out<i>"; an optional input that is absent (linear/gemm/
    conv2d bias, layernorm bias) is simply left off the end of the list;
  * float inputs are drawn as float32 from a generator seeded by crc32(case name), so adding or removing a
    case never changes another one; outputs are computed in float64 from those float32 values and rounded
    once to float32;
  * float attributes are applied as float32(value) (e.g. eps = 1e-5 means float32(1e-5)), which is what
    an evaluator holding f32 attributes does; the JSON holds the plain decimal value;
  * the output is deterministic: same bytes on every run (single-threaded torch, fixed seeds).
"""
import json
import math
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)

HERE = os.path.dirname(os.path.abspath(__file__))
INF = float("inf")
NAN = float("nan")
I64_MAX = 9223372036854775807
I64_MIN_PLUS1 = -9223372036854775807

CASES = []
TENSORS = {}


# ------------------------------------------------------------------ helpers
def f32(a):
    """The float32 value of a float attribute, as a Python float."""
    return float(np.float32(a))


class Rng:
    def __init__(self, name):
        self.g = torch.Generator().manual_seed(zlib.crc32(name.encode()))

    def randn(self, *shape, scale=1.0, shift=0.0):
        return (torch.randn(tuple(shape), generator=self.g, dtype=torch.float32) * scale + shift).numpy()

    def rand(self, *shape, lo=0.0, hi=1.0):
        return (torch.rand(tuple(shape), generator=self.g, dtype=torch.float32) * (hi - lo) + lo).numpy()

    def randint(self, lo, hi, *shape):
        return torch.randint(lo, hi, shape, generator=self.g, dtype=torch.int64).numpy()

    def bools(self, *shape):
        return (torch.rand(tuple(shape), generator=self.g) < 0.5).numpy()


def to_torch(a):
    a = np.asarray(a)
    if a.dtype == np.float32:
        return torch.from_numpy(a.astype(np.float64))
    return torch.from_numpy(a.copy())


def to_out(t):
    a = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    if a.dtype in (np.float64, np.float32):
        with np.errstate(over="ignore"):
            return a.astype(np.float32)
    if a.dtype == np.bool_:
        return a.astype(np.bool_)
    if a.dtype.kind in "iu":
        return a.astype(np.int64)
    raise TypeError(a.dtype)


def case(name, op, attrs, inputs, fn, formats=None):
    """inputs: numpy arrays (float32 / int64 / bool); fn(*float64 torch tensors) -> tensor or list.
    formats: per input, None or the IR dtype it has ("i8", "u8", "i16", "i32") with its quantized
    format ("scale" and "zp", or "wl" and "fl"); the tensors themselves are stored as int64."""
    assert all(c["name"] != name for c in CASES), name
    ins = []
    for i, a in enumerate(inputs):
        a = np.asarray(a)
        assert a.dtype in (np.float32, np.int64, np.bool_), (name, a.dtype)
        TENSORS[f"{name}.in{i}"] = a
        ins.append(f"{name}.in{i}")
    res = fn(*[to_torch(a) for a in inputs])
    if not isinstance(res, (list, tuple)):
        res = [res]
    outs = []
    for i, r in enumerate(res):
        o = to_out(r)
        assert o.size > 0, name
        TENSORS[f"{name}.out{i}"] = o
        outs.append(f"{name}.out{i}")
    c = {"name": name, "op": op, "attrs": attrs, "inputs": ins, "outputs": outs}
    if formats:
        c["formats"] = formats
    CASES.append(c)


def arr(values, dtype=np.float32):
    return np.array(values, dtype=dtype)


# ------------------------------------------------------------------ linear / gemm / matmul
def gen_linear():
    def c(name, xs, out, bias=True):
        r = Rng(name)
        x, w = r.randn(*xs), r.randn(out, xs[-1], scale=0.3)
        ins = [x, w] + ([r.randn(out)] if bias else [])
        case(name, "linear", {}, ins, lambda x, w, b=None: F.linear(x, w, b))

    c("linear_2d", (5, 13), 7)
    c("linear_nobias", (3, 9), 4, bias=False)
    c("linear_3d", (2, 3, 17), 33)
    c("linear_1d", (13,), 5)
    c("linear_4d_nobias", (2, 2, 3, 8), 6, bias=False)


def gen_gemm():
    def c(name, m, k, n, cshape=None, alpha=1.0, beta=1.0, ta=False, tb=False):
        r = Rng(name)
        a = r.randn(*((k, m) if ta else (m, k)))
        b = r.randn(*((n, k) if tb else (k, n)))
        ins = [a, b] + ([r.randn(*cshape)] if cshape is not None else [])
        attrs = {"alpha": alpha, "beta": beta, "trans_a": ta, "trans_b": tb}

        def fn(a, b, cc=None):
            A = a.T if ta else a
            B = b.T if tb else b
            y = f32(alpha) * (A @ B)
            if cc is not None:
                y = y + f32(beta) * cc
            return y

        case(name, "gemm", attrs, ins, fn)

    c("gemm_c_n", 7, 13, 5, (5,))
    c("gemm_trans_a", 7, 13, 5, (5,), ta=True)
    c("gemm_trans_b", 7, 13, 5, (7, 5), tb=True)
    c("gemm_trans_ab_c_m1", 6, 11, 9, (6, 1), alpha=0.5, beta=2.0, ta=True, tb=True)
    c("gemm_c_11", 3, 4, 5, (1, 1), alpha=-1.25, beta=0.75)
    c("gemm_c_mn_alpha", 9, 7, 3, (9, 3), alpha=0.1, beta=-0.3)
    c("gemm_c_scalar", 4, 6, 3, (), beta=1.5)
    c("gemm_no_c", 5, 33, 7, None, alpha=2.0)
    c("gemm_large_trans_b", 37, 65, 29, (29,), tb=True)


def gen_matmul():
    def c(name, ash, bsh):
        r = Rng(name)
        case(name, "matmul", {}, [r.randn(*ash), r.randn(*bsh)], torch.matmul)

    c("matmul_2d", (7, 13), (13, 5))
    c("matmul_large", (67, 129), (129, 35))
    c("matmul_1d_1d", (13,), (13,))
    c("matmul_1d_2d", (13,), (13, 5))
    c("matmul_2d_1d", (7, 13), (13,))
    c("matmul_batch", (3, 7, 13), (3, 13, 5))
    c("matmul_batch_bcast", (2, 1, 7, 13), (3, 13, 5))
    c("matmul_batch_2d", (3, 7, 13), (13, 5))
    c("matmul_2d_batch", (7, 13), (2, 13, 5))
    c("matmul_1d_batch", (13,), (2, 13, 5))
    c("matmul_batch_1d", (2, 7, 13), (13,))
    c("matmul_k1", (5, 1), (1, 6))


# ------------------------------------------------------------------ conv2d
def gen_conv2d():
    def c(name, xs, cout, k, stride=(1, 1), pad=(0, 0, 0, 0), dil=(1, 1), groups=1, bias=True):
        r = Rng(name)
        n, cin, h, w = xs
        x = r.randn(*xs)
        wt = r.randn(cout, cin // groups, k[0], k[1], scale=1.0 / math.sqrt(cin // groups * k[0] * k[1]))
        ins = [x, wt] + ([r.randn(cout)] if bias else [])
        attrs = {"stride": list(stride), "pad": list(pad), "dilation": list(dil), "groups": groups}

        def fn(x, w, b=None):
            t, l, bo, ri = pad
            xp = F.pad(x, (l, ri, t, bo))
            return F.conv2d(xp, w, b, stride=tuple(stride), dilation=tuple(dil), groups=groups)

        case(name, "conv2d", attrs, ins, fn)

    c("conv2d_3x3_pad1", (1, 3, 9, 11), 8, (3, 3), pad=(1, 1, 1, 1))
    c("conv2d_stride2_pad1", (2, 3, 9, 9), 5, (3, 3), stride=(2, 2), pad=(1, 1, 1, 1))
    c("conv2d_nobias", (1, 4, 7, 6), 3, (3, 3), bias=False)
    c("conv2d_1x1", (2, 13, 5, 7), 7, (1, 1))
    c("conv2d_1x1_stride2", (1, 6, 7, 7), 5, (1, 1), stride=(2, 2), bias=False)
    c("conv2d_depthwise", (1, 8, 9, 9), 8, (3, 3), pad=(1, 1, 1, 1), groups=8)
    c("conv2d_depthwise_mult2_stride2", (1, 4, 10, 9), 8, (3, 3), stride=(2, 2), pad=(1, 1, 1, 1), groups=4)
    c("conv2d_grouped", (2, 6, 7, 7), 9, (3, 3), pad=(1, 1, 1, 1), groups=3)
    c("conv2d_dilated", (1, 3, 13, 13), 4, (3, 3), pad=(2, 3, 2, 3), dil=(2, 3))
    c("conv2d_asym_pad", (1, 3, 7, 8), 4, (3, 3), pad=(0, 1, 2, 0))
    c("conv2d_asym_pad_stride2", (1, 2, 8, 7), 3, (4, 3), stride=(2, 2), pad=(1, 0, 2, 1))
    c("conv2d_kernel_eq_input", (2, 3, 5, 5), 4, (5, 5))
    c("conv2d_kernel_gt_input_pad2", (1, 2, 3, 3), 3, (5, 5), pad=(2, 2, 2, 2))
    c("conv2d_5x3_stride2x1", (1, 3, 11, 7), 4, (5, 3), stride=(2, 1), pad=(2, 1, 2, 1))
    c("conv2d_patch4", (2, 3, 16, 16), 12, (4, 4), stride=(4, 4))
    c("conv2d_large", (1, 13, 15, 15), 24, (3, 3), pad=(1, 1, 1, 1))


# ------------------------------------------------------------------ conv_transpose2d
def gen_conv_transpose2d():
    def c(name, xs, cout, k, stride=(1, 1), pad=(0, 0, 0, 0), dil=(1, 1), out_pad=(0, 0), groups=1, bias=True):
        r = Rng(name)
        n, cin, h, w = xs
        x = r.randn(*xs)
        wt = r.randn(cin, cout // groups, k[0], k[1], scale=1.0 / math.sqrt(cin // groups * k[0] * k[1]))
        ins = [x, wt] + ([r.randn(cout)] if bias else [])
        attrs = {"stride": list(stride), "pad": list(pad), "dilation": list(dil), "out_pad": list(out_pad),
                 "groups": groups}

        def fn(x, w, b=None):
            # Unpadded result, then crop (or extend, for negative pads) and
            # out_pad at the bottom/right: F.pad crops on negative amounts.
            full = F.conv_transpose2d(x, w, None, stride=tuple(stride), dilation=tuple(dil), groups=groups)
            t, l, bo, ri = pad
            y = F.pad(full, (-l, out_pad[1] - ri, -t, out_pad[0] - bo))
            if b is not None:
                y = y + b[None, :, None, None]
            return y

        case(name, "conv_transpose2d", attrs, ins, fn)

    c("conv_transpose2d_3x3", (1, 3, 5, 4), 2, (3, 3))
    c("conv_transpose2d_stride2_pad1_outpad1", (2, 4, 5, 5), 3, (3, 3), stride=(2, 2), pad=(1, 1, 1, 1), out_pad=(1, 1))
    c("conv_transpose2d_grouped_nobias", (1, 6, 4, 5), 4, (3, 2), stride=(2, 1), groups=2, bias=False)
    c("conv_transpose2d_dilated_asym", (1, 2, 6, 5), 3, (3, 3), stride=(3, 2), pad=(0, 2, 1, 0), dil=(2, 1))
    c("conv_transpose2d_negative_pad", (1, 1, 3, 3), 2, (3, 3), stride=(3, 2), pad=(0, 0, -1, -1))


# ------------------------------------------------------------------ normalisation
def gen_batchnorm():
    def c(name, xs, eps=1e-5):
        r = Rng(name)
        ch = xs[1]
        x = r.randn(*xs)
        scale, bias, mean = r.randn(ch), r.randn(ch), r.randn(ch, scale=0.5)
        var = r.rand(ch, lo=0.1, hi=2.0)
        case(name, "batchnorm", {"eps": eps}, [x, scale, bias, mean, var],
             lambda x, s, b, m, v: F.batch_norm(x, m, v, s, b, training=False, eps=f32(eps)))

    c("batchnorm_rank4", (2, 5, 4, 3))
    c("batchnorm_rank3", (2, 7, 9))
    c("batchnorm_rank2", (5, 13))
    c("batchnorm_eps_large", (1, 3, 5, 5), eps=0.5)


def gen_layernorm():
    def c(name, xs, axis, eps=1e-5, bias=True, x=None):
        r = Rng(name)
        x = r.randn(*xs, scale=2.0, shift=0.5) if x is None else x
        nd = len(xs)
        norm = tuple(xs[axis % nd:])
        ins = [x, r.randn(*norm, scale=0.5, shift=1.0)] + ([r.randn(*norm)] if bias else [])
        case(name, "layernorm", {"axis": axis, "eps": eps}, ins,
             lambda x, s, b=None: F.layer_norm(x, norm, s, b, eps=f32(eps)))

    c("layernorm_last", (3, 13), -1)
    c("layernorm_last_pos_axis", (2, 5, 33), 2)
    c("layernorm_axis1_rank3", (2, 3, 7), 1)
    c("layernorm_axis_neg2", (2, 3, 4, 5), -2)
    c("layernorm_nobias", (4, 17), -1, bias=False)
    c("layernorm_eps_large", (3, 6), 1, eps=0.1)
    xc = Rng("layernorm_const_row_x").randn(3, 7)
    xc[1, :] = 2.5  # zero variance: output = bias
    c("layernorm_const_row", (3, 7), -1, x=xc)


# ------------------------------------------------------------------ elementwise binary
BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "pow": torch.pow}


def gen_binary():
    forms = [
        ("same", (4, 7), (4, 7)),
        ("row", (3, 5), (5,)),
        ("outer", (3, 1), (1, 5)),
        ("rank_mismatch", (2, 1, 5), (3, 1)),
        ("scalar_rhs", (2, 3), ()),
        ("scalar_lhs", (), (5,)),
        ("lhs_bcast", (1, 4), (3, 2, 4)),
    ]
    for op, fn in BINARY.items():
        for form, ash, bsh in forms:
            if op in ("add", "mul") and form == "lhs_bcast":
                continue
            name = f"{op}_{form}"
            r = Rng(name)
            if op == "pow":
                a = r.rand(*ash, lo=0.1, hi=2.0)
                b = r.randn(*bsh, scale=1.5)
            elif op == "div":
                a = r.randn(*ash)
                b = r.rand(*bsh, lo=0.5, hi=2.0) * np.where(r.bools(*bsh), 1, -1).astype(np.float32)
            else:
                a, b = r.randn(*ash), r.randn(*bsh)
            case(name, op, {}, [np.asarray(a, np.float32), np.asarray(b, np.float32)], fn)
    # special values
    case("div_special", "div", {},
         [arr([1, -1, 0, 1, -0.0, INF, INF, NAN, 3, -7]), arr([0, 0, 0, -0.0, 5, INF, 2, 1, INF, -INF])], torch.div)
    case("pow_special", "pow", {},
         [arr([0, 0, 0, -2, -2, -2, -8, NAN, 1, INF, 0.5, 2, 10, -INF]),
          arr([0, -1, 2, 3, 2, 0.5, 1.0 / 3, 0, NAN, -1, INF, -INF, 40, 3])], torch.pow)
    r = Rng("pow_neg_base_int_exp")
    case("pow_neg_base_int_exp", "pow", {}, [r.randn(3, 5, scale=2.0), arr([[0], [1], [2]]) + arr([-2, -1, 3, 4, 5])],
         torch.pow)
    case("add_special", "add", {}, [arr([INF, INF, -INF, NAN, 1e38, -0.0]), arr([-INF, 1, -INF, 1, 1e38, -0.0])],
         torch.add)
    case("mul_special", "mul", {}, [arr([INF, 0, -0.0, NAN, 1e30]), arr([0, -INF, 5, 0, 1e30])], torch.mul)


# ------------------------------------------------------------------ elementwise unary
SPECIAL = [-INF, INF, NAN, 0.0, -0.0, 100.0, -100.0, 20.0, -20.0, 1e30, -1e30, 1e-30, 3.0, -3.0, 0.5, -0.5]
# gelu(-inf) and hardswish(-inf) are -inf*0 in PyTorch's formulas and come out NaN (the limit is 0): -inf is
# left out of those two so that the fixture does not pin an artefact.
SPECIAL_NO_NEG_INF = [v for v in SPECIAL if v != -INF]


def gen_unary():
    unary = {
        "relu": (torch.relu, (3, 13), dict(scale=2.0)),
        "sigmoid": (torch.sigmoid, (3, 13), dict(scale=4.0)),
        "tanh": (torch.tanh, (3, 13), dict(scale=3.0)),
        "erf": (torch.erf, (3, 13), dict(scale=2.0)),
        "exp": (torch.exp, (3, 13), dict(scale=3.0)),
        "log": (torch.log, (3, 13), "pos"),
        "sqrt": (torch.sqrt, (3, 13), "pos"),
        "neg": (torch.neg, (3, 13), dict()),
        "abs": (torch.abs, (3, 13), dict()),
        "hardswish": (F.hardswish, (3, 13), dict(scale=4.0)),
    }
    for op, (fn, shape, kw) in unary.items():
        name = f"{op}_rand"
        r = Rng(name)
        x = r.rand(*shape, lo=1e-3, hi=10.0) if kw == "pos" else r.randn(*shape, **kw)
        case(name, op, {}, [x], fn)
        sp = SPECIAL_NO_NEG_INF if op == "hardswish" else SPECIAL
        case(f"{op}_special", op, {}, [arr(sp)], fn)
    # relu on a rank-4 tensor, exp on a 33-long tail
    case("relu_rank4", "relu", {}, [Rng("relu_rank4").randn(2, 3, 5, 7)], torch.relu)
    case("exp_tail33", "exp", {}, [Rng("exp_tail33").randn(33)], torch.exp)

    def lrelu(alpha):
        return lambda x: F.leaky_relu(x, f32(alpha))

    case("leaky_relu_default", "leaky_relu", {"alpha": 0.01}, [Rng("leaky_relu_default").randn(3, 13)], lrelu(0.01))
    case("leaky_relu_special", "leaky_relu", {"alpha": 0.2}, [arr(SPECIAL)], lrelu(0.2))
    case("leaky_relu_alpha_gt1", "leaky_relu", {"alpha": 1.5}, [Rng("leaky_relu_alpha_gt1").randn(7, 5)], lrelu(1.5))

    def hsig(alpha, beta):
        # ONNX HardSigmoid: max(0, min(1, alpha*x + beta)), with f32 alpha and beta
        return lambda x: torch.clamp(f32(alpha) * x + f32(beta), 0.0, 1.0)

    case("hardsigmoid_onnx_default", "hardsigmoid", {"alpha": 0.2, "beta": 0.5},
         [Rng("hardsigmoid_onnx_default").randn(3, 13, scale=4.0)], hsig(0.2, 0.5))
    case("hardsigmoid_torch", "hardsigmoid", {"alpha": 1.0 / 6, "beta": 0.5},
         [Rng("hardsigmoid_torch").randn(3, 13, scale=4.0)], hsig(1.0 / 6, 0.5))
    case("hardsigmoid_special", "hardsigmoid", {"alpha": 0.25, "beta": 0.5}, [arr(SPECIAL)], hsig(0.25, 0.5))

    def clip(lo, hi):
        return lambda x: torch.clamp(x, f32(lo), f32(hi))

    case("clip_basic", "clip", {"min": -1.5, "max": 2.25}, [Rng("clip_basic").randn(3, 13, scale=2.0)], clip(-1.5, 2.25))
    case("clip_relu6", "clip", {"min": 0.0, "max": 6.0}, [Rng("clip_relu6").randn(5, 7, scale=5.0)], clip(0.0, 6.0))
    case("clip_special", "clip", {"min": -1.0, "max": 1.0}, [arr(SPECIAL)], clip(-1.0, 1.0))

    for approx in ("none", "tanh"):
        name = f"gelu_{approx}_rand"
        case(name, "gelu", {"approximate": approx}, [Rng(name).randn(3, 13, scale=3.0)],
             lambda x, a=approx: F.gelu(x, approximate=a))
        case(f"gelu_{approx}_special", "gelu", {"approximate": approx}, [arr(SPECIAL_NO_NEG_INF)],
             lambda x, a=approx: F.gelu(x, approximate=a))


# ------------------------------------------------------------------ softmax
def gen_softmax():
    for op, fn in (("softmax", F.softmax), ("log_softmax", F.log_softmax)):
        def c(name, x, axis):
            case(name, op, {"axis": axis}, [x], lambda x: fn(x, dim=axis))

        c(f"{op}_last", Rng(f"{op}_last").randn(4, 13, scale=2.0), -1)
        c(f"{op}_axis0", Rng(f"{op}_axis0").randn(5, 7, scale=2.0), 0)
        c(f"{op}_axis1_rank3", Rng(f"{op}_axis1_rank3").randn(2, 5, 3, scale=2.0), 1)
        c(f"{op}_large_vals", Rng(f"{op}_large_vals").randn(3, 33, scale=300.0), -1)
        x = Rng(f"{op}_neg_inf").randn(4, 5)
        x[0, :] = -INF  # all -inf row: PyTorch gives NaN
        x[1, 2] = -INF
        x[2, [0, 4]] = -INF
        x[3, :4] = -INF  # a single finite entry: 1 (softmax) / 0 (log_softmax)
        c(f"{op}_neg_inf", x, -1)


# ------------------------------------------------------------------ shape / data movement
def onnx_slice(x, starts, ends, axes, steps):
    """ONNX Slice, written out index by index (opset 13)."""
    idx = [np.arange(d) for d in x.shape]
    for st, en, ax, sp in zip(starts, ends, axes, steps):
        ax = ax % x.ndim
        d = x.shape[ax]
        assert sp != 0
        if st < 0:
            st += d
        if en < 0:
            en += d
        if sp > 0:
            st = min(max(st, 0), d)
            en = min(max(en, 0), d)
        else:
            st = min(max(st, 0), d - 1)
            en = min(max(en, -1), d - 1)
        sel = []
        i = st
        while (sp > 0 and i < en) or (sp < 0 and i > en):
            sel.append(i)
            i += sp
        idx[ax] = np.array(sel, dtype=np.int64)
    return x[np.ix_(*idx)]


def gen_shape_ops():
    # reshape
    def reshape(name, xs, shape):
        case(name, "reshape", {"shape": list(shape)}, [Rng(name).randn(*xs)], lambda x: x.reshape(shape))

    reshape("reshape_merge", (2, 3, 4), (6, 4))
    reshape("reshape_flat", (2, 3, 4), (24,))
    reshape("reshape_split", (35,), (5, 1, 7))
    reshape("reshape_to_scalar", (1, 1), ())
    reshape("reshape_rank4", (2, 12), (2, 3, 2, 2))

    # transpose
    def transpose(name, xs, perm):
        case(name, "transpose", {"perm": list(perm)}, [Rng(name).randn(*xs)], lambda x: x.permute(*perm))

    transpose("transpose_2d", (7, 13), (1, 0))
    transpose("transpose_last2", (2, 3, 5), (0, 2, 1))
    transpose("transpose_rot3", (2, 3, 5), (2, 0, 1))
    transpose("transpose_nhwc_nchw", (2, 5, 3, 4), (0, 3, 1, 2))
    transpose("transpose_reverse4", (2, 3, 4, 5), (3, 2, 1, 0))
    transpose("transpose_identity", (3, 4), (0, 1))

    # flatten (ONNX: [prod(dims<axis), prod(dims>=axis)])
    def flatten(name, xs, axis):
        nd = len(xs)
        a = axis % nd if axis < 0 else axis
        outer = int(np.prod(xs[:a], dtype=np.int64))
        case(name, "flatten", {"axis": axis}, [Rng(name).randn(*xs)], lambda x: x.reshape(outer, -1))

    flatten("flatten_axis1", (2, 3, 4, 5), 1)
    flatten("flatten_axis0", (2, 3, 4), 0)
    flatten("flatten_axis_neg1", (2, 3, 4, 5), -1)
    flatten("flatten_axis_rank", (2, 3, 5), 3)
    flatten("flatten_axis_neg3", (2, 3, 4, 5), -3)
    flatten("flatten_1d_axis1", (7,), 1)

    # concat
    def concat(name, shapes, axis):
        r = Rng(name)
        case(name, "concat", {"axis": axis}, [r.randn(*s) for s in shapes], lambda *xs: torch.cat(xs, dim=axis))

    concat("concat_axis0", [(2, 5), (3, 5)], 0)
    concat("concat_axis1_3in", [(2, 1, 4), (2, 3, 4), (2, 2, 4)], 1)
    concat("concat_axis_neg1_4in", [(3, 2), (3, 5), (3, 1), (3, 7)], -1)
    concat("concat_rank4_axis2", [(1, 2, 3, 4), (1, 2, 5, 4)], 2)
    concat("concat_1d", [(7,), (13,)], 0)

    # split
    def split(name, xs, axis, sizes):
        case(name, "split", {"axis": axis, "sizes": list(sizes)}, [Rng(name).randn(*xs)],
             lambda x: list(torch.split(x, list(sizes), dim=axis)))

    split("split_axis0", (5, 3), 0, (2, 3))
    split("split_axis_neg1_3", (2, 13), -1, (1, 5, 7))
    split("split_equal", (2, 8, 3), 1, (4, 4))
    split("split_qkv", (2, 5, 12), 2, (4, 4, 4))
    split("split_single", (3, 4), 1, (4,))

    # slice
    def slc(name, xs, starts, ends, axes, steps):
        attrs = {"starts": list(starts), "ends": list(ends), "axes": list(axes), "steps": list(steps)}
        case(name, "slice", attrs, [Rng(name).randn(*xs)],
             lambda x: torch.from_numpy(np.ascontiguousarray(onnx_slice(x.numpy(), starts, ends, axes, steps))))

    slc("slice_basic", (7, 13), (1, 2), (5, 11), (0, 1), (1, 1))
    slc("slice_step2", (7, 13), (0,), (13,), (1,), (2,))
    slc("slice_neg_idx", (7, 13), (-4,), (-1,), (1,), (1,))
    slc("slice_end_i64max", (7, 13), (2,), (I64_MAX,), (0,), (1,))
    slc("slice_reverse_full", (7, 13), (-1,), (I64_MIN_PLUS1,), (1,), (-1,))
    slc("slice_neg_step3", (7, 13), (10,), (1,), (1,), (-3,))
    slc("slice_neg_axes", (3, 5, 7), (1, 0), (4, 2), (-1, -3), (1, 1))
    slc("slice_clamp_both", (3, 5, 7), (-100,), (100,), (1,), (1,))
    slc("slice_axes_unsorted", (3, 5, 7), (1, 2, 0), (7, 5, 2), (2, 1, 0), (2, 1, 1))
    slc("slice_neg_step_clamp", (4, 9), (100, 7), (-100, I64_MIN_PLUS1), (1, 0), (-2, -1))
    slc("slice_cls_token", (2, 65, 6), (0,), (1,), (1,), (1,))
    slc("slice_every_axis_step", (5, 6, 7), (0, 5, 1), (5, 0, 7), (0, 1, 2), (2, -2, 3))

    # pad (ONNX pads order: all begins then all ends), constant mode
    def pad(name, xs, pads, value):
        nd = len(xs)
        width = list(zip(pads[:nd], pads[nd:]))
        case(name, "pad", {"pads": list(pads), "value": value}, [Rng(name).randn(*xs)],
             lambda x: torch.from_numpy(np.pad(x.numpy(), width, mode="constant", constant_values=f32(value))))

    pad("pad_2d", (3, 5), (1, 2, 0, 3), 0.0)
    pad("pad_4d_spatial", (1, 2, 3, 4), (0, 0, 1, 2, 0, 0, 2, 1), -1.5)
    pad("pad_rank3_all", (2, 3, 4), (1, 0, 2, 0, 1, 1), 0.25)
    pad("pad_zero_pads", (2, 3), (0, 0, 0, 0), 7.0)
    pad("pad_1d", (7,), (3, 0), 1.0)
    pad("pad_channels", (1, 3, 2, 2), (0, 2, 0, 0, 0, 3, 0, 0), 0.0)

    # expand (result shape = broadcast(x.shape, shape))
    def expand(name, xs, shape):
        out = np.broadcast_shapes(tuple(xs), tuple(shape))
        case(name, "expand", {"shape": list(shape)}, [Rng(name).randn(*xs)],
             lambda x: torch.from_numpy(np.array(np.broadcast_to(x.numpy(), out))))

    expand("expand_col", (3, 1), (3, 4))
    expand("expand_rank_up", (4,), (2, 3, 4))
    expand("expand_both_ways", (3, 1), (2, 1, 5))
    expand("expand_shape_ones", (2, 3), (1, 1))
    expand("expand_shape_lower_rank", (2, 1, 4), (3, 1))
    expand("expand_scalar", (), (2, 3))
    expand("expand_cls", (1, 1, 6), (2, 1, 6))

    # where
    def where(name, cs, xs, ys, x=None):
        r = Rng(name)
        xv = r.randn(*xs) if x is None else x
        case(name, "where", {}, [r.bools(*cs), xv, r.randn(*ys)], lambda c, x, y: torch.where(c, x, y))

    where("where_same", (3, 5), (3, 5), (3, 5))
    where("where_cond_row", (5,), (3, 5), (3, 5))
    where("where_scalar_y", (2, 7), (2, 7), ())
    where("where_all_bcast", (3, 1), (1, 4), (2, 1, 1))
    where("where_scalar_cond", (), (2, 3), (3,))
    where("where_special", (16,), (16,), (16,), x=arr(SPECIAL))

    # gather (numpy take)
    def gather(name, ds, idx, axis):
        r = Rng(name)
        idx = np.asarray(idx, np.int64)
        case(name, "gather", {"axis": axis}, [r.randn(*ds), idx],
             lambda d, i: torch.from_numpy(np.take(d.numpy(), np.where(i.numpy() < 0, i.numpy() + d.shape[axis],
                                                                       i.numpy()), axis=axis)))

    gather("gather_axis0", (7, 5), [3, 0, 6], 0)
    gather("gather_axis1_2d_idx", (3, 7), [[1, 2], [6, 0]], 1)
    gather("gather_neg_idx", (7, 5), [-1, 0, -7, 2], 0)
    gather("gather_scalar_idx", (3, 7, 2), 4, 1)
    gather("gather_axis_neg1", (2, 3, 4), [[3, -4, 1]], -1)
    gather("gather_rank3_axis1_repeat", (2, 5, 3), [4, 4, 0, 1], 1)
    gather("gather_scalar_idx_axis0", (5, 6), -2, 0)


# ------------------------------------------------------------------ pooling
def pool_out_size(n, k, s, pb, pe, d, ceil):
    eff = (k - 1) * d + 1
    span = n + pb + pe - eff
    if ceil:
        o = -(-span // s) + 1
        # a window that would start in the right padding (or beyond) is dropped (PyTorch / ONNX)
        if (o - 1) * s >= n + pb:
            o -= 1
    else:
        o = span // s + 1
    return o


def pool_ref(x, kernel, stride, pad, dilation, ceil_mode, mode, count_include_pad=False):
    """Pooling written out with loops in float64.

    For output position o along an axis of size n with begin/end pads pb/pe, the taps are
    o*s - pb + j*d (j < k). A tap in [0, n) is a real cell; a tap in [-pb, 0) or [n, n+pe) is a padding
    cell; a tap >= n + pe only exists because ceil_mode added a partial window and is *outside* the
    padded input. max: max over real cells (padding is -inf). avg: sum over real cells divided by
      count_include_pad=False: the number of real cells;
      count_include_pad=True:  the number of real + padding cells, NOT the taps beyond the padded input
                               (this is PyTorch's avg_pool2d, and ONNX AveragePool since the opset-19 fix).
    """
    x = np.asarray(x, np.float64)
    N, C, H, W = x.shape
    kh, kw = kernel
    sh, sw = stride
    pt, pl, pb, pr = pad
    dh, dw = dilation
    oh = pool_out_size(H, kh, sh, pt, pb, dh, ceil_mode)
    ow = pool_out_size(W, kw, sw, pl, pr, dw, ceil_mode)
    out = np.zeros((N, C, oh, ow))
    for i in range(oh):
        for j in range(ow):
            real, padded = [], 0
            for a in range(kh):
                y = i * sh - pt + a * dh
                for b in range(kw):
                    z = j * sw - pl + b * dw
                    if 0 <= y < H and 0 <= z < W:
                        real.append((y, z))
                    if -pt <= y < H + pb and -pl <= z < W + pr:
                        padded += 1
            assert real, "window without real cells"
            vals = np.stack([x[:, :, y, z] for y, z in real], axis=-1)
            if mode == "max":
                out[:, :, i, j] = vals.max(axis=-1)
            else:
                div = padded if count_include_pad else len(real)
                out[:, :, i, j] = vals.sum(axis=-1) / div
    return torch.from_numpy(out)


def gen_pool():
    def maxpool(name, xs, k, s, pad=(0, 0, 0, 0), dil=(1, 1), ceil=False):
        attrs = {"kernel": list(k), "stride": list(s), "pad": list(pad), "dilation": list(dil), "ceil_mode": ceil}

        def fn(x):
            y = pool_ref(x.numpy(), k, s, pad, dil, ceil, "max")
            # cross-check with PyTorch where it applies (symmetric pads, at most half the kernel)
            if pad[0] == pad[2] and pad[1] == pad[3] and 2 * pad[0] <= k[0] and 2 * pad[1] <= k[1]:
                t = F.max_pool2d(x, k, s, (pad[0], pad[1]), dil, ceil_mode=ceil)
                assert t.shape == y.shape and torch.equal(t, y), name
            elif not ceil:  # explicit -inf padding, then an unpadded PyTorch pool
                xp = F.pad(x, (pad[1], pad[3], pad[0], pad[2]), value=float("-inf"))
                t = F.max_pool2d(xp, k, s, 0, dil)
                assert t.shape == y.shape and torch.equal(t, y), name
            return y

        case(name, "maxpool", attrs, [Rng(name).randn(*xs)], fn)

    maxpool("maxpool_2x2_s2", (1, 3, 8, 8), (2, 2), (2, 2))
    maxpool("maxpool_3x3_s2_p1", (2, 4, 9, 9), (3, 3), (2, 2), (1, 1, 1, 1))
    maxpool("maxpool_3x3_s1_p1", (1, 2, 7, 6), (3, 3), (1, 1), (1, 1, 1, 1))
    maxpool("maxpool_ceil", (1, 2, 7, 7), (2, 2), (2, 2), ceil=True)
    maxpool("maxpool_ceil_drop_last", (1, 2, 5, 5), (2, 2), (2, 2), (1, 1, 1, 1), ceil=True)
    maxpool("maxpool_ceil_beyond_pad", (1, 2, 6, 6), (3, 3), (2, 2), (1, 1, 1, 1), ceil=True)
    maxpool("maxpool_asym_pad", (1, 2, 7, 9), (3, 3), (2, 2), (0, 1, 2, 0))
    maxpool("maxpool_asym_pad_ceil", (1, 2, 8, 7), (3, 2), (2, 2), (1, 0, 0, 1), ceil=True)
    maxpool("maxpool_dilation2", (1, 2, 9, 9), (3, 3), (1, 1), dil=(2, 2))
    maxpool("maxpool_dilation_pad_s2", (1, 2, 11, 10), (3, 2), (2, 1), (2, 1, 2, 1), dil=(2, 3))
    maxpool("maxpool_nonsquare", (2, 3, 7, 11), (2, 3), (1, 2))

    def avgpool(name, xs, k, s, pad=(0, 0, 0, 0), ceil=False, cip=False):
        attrs = {"kernel": list(k), "stride": list(s), "pad": list(pad), "ceil_mode": ceil, "count_include_pad": cip}

        def fn(x):
            y = pool_ref(x.numpy(), k, s, pad, (1, 1), ceil, "avg", cip)
            if pad[0] == pad[2] and pad[1] == pad[3] and 2 * pad[0] <= k[0] and 2 * pad[1] <= k[1]:
                t = F.avg_pool2d(x, k, s, (pad[0], pad[1]), ceil_mode=ceil, count_include_pad=cip)
                assert t.shape == y.shape and torch.allclose(t, y, rtol=1e-14, atol=0), name
            elif not ceil and cip:  # explicit zero padding, then an unpadded PyTorch pool
                t = F.avg_pool2d(F.pad(x, (pad[1], pad[3], pad[0], pad[2])), k, s, 0)
                assert t.shape == y.shape and torch.allclose(t, y, rtol=1e-14, atol=0), name
            return y

        case(name, "avgpool", attrs, [Rng(name).randn(*xs)], fn)

    avgpool("avgpool_2x2_s2", (1, 3, 8, 8), (2, 2), (2, 2))
    avgpool("avgpool_3x3_p1_include_pad", (2, 2, 7, 7), (3, 3), (1, 1), (1, 1, 1, 1), cip=True)
    avgpool("avgpool_3x3_p1_exclude_pad", (2, 2, 7, 7), (3, 3), (1, 1), (1, 1, 1, 1), cip=False)
    avgpool("avgpool_ceil", (1, 2, 7, 7), (2, 2), (2, 2), ceil=True)
    # ceil_mode adds a last window that reaches past the padded input: the divisor (count_include_pad)
    # counts the padding cell but not the cell beyond the padded input.
    avgpool("avgpool_ceil_beyond_pad_include", (1, 2, 6, 6), (3, 3), (2, 2), (1, 1, 1, 1), ceil=True, cip=True)
    avgpool("avgpool_ceil_beyond_pad_exclude", (1, 2, 6, 6), (3, 3), (2, 2), (1, 1, 1, 1), ceil=True, cip=False)
    # ceil_mode's extra window would start in the right padding: dropped
    avgpool("avgpool_ceil_drop_last_include", (1, 2, 5, 5), (2, 2), (2, 2), (1, 1, 1, 1), ceil=True, cip=True)
    avgpool("avgpool_asym_pad_include", (1, 2, 7, 8), (3, 3), (2, 2), (0, 1, 2, 1), cip=True)
    avgpool("avgpool_asym_pad_exclude_ceil", (1, 2, 7, 8), (3, 3), (2, 2), (0, 1, 2, 1), ceil=True, cip=False)
    avgpool("avgpool_nonsquare", (2, 3, 7, 11), (3, 2), (2, 3), (1, 0, 1, 0), cip=True)

    def gap(name, xs):
        case(name, "global_avgpool", {}, [Rng(name).randn(*xs)],
             lambda x: x.mean(dim=tuple(range(2, x.dim())), keepdim=True))

    gap("global_avgpool_rank4", (2, 5, 7, 7))
    gap("global_avgpool_rank3", (1, 3, 13))
    gap("global_avgpool_1x1", (2, 4, 1, 1))
    gap("global_avgpool_resnet", (2, 64, 8, 8))


# ------------------------------------------------------------------ conv_nd, conv_transpose_nd, maxpool_nd, avgpool_nd
def pool_ref_nd(x, k, s, pad, dil, ceil, mode, count_include_pad=False, col_major=False):
    """Explicit N-D pooling loops (pads: begins then ends); max also returns ONNX's flat indices."""
    import itertools
    N, C = x.shape[:2]
    sp = x.shape[2:]
    r = len(sp)
    pb, pe = pad[:r], pad[r:]
    outs = [pool_out_size(sp[d], k[d], s[d], pb[d], pe[d], dil[d], ceil) for d in range(r)]
    out = np.zeros((N, C) + tuple(outs))
    idx = np.zeros((N, C) + tuple(outs), dtype=np.int64)
    plane = int(np.prod(sp))
    for o in itertools.product(*[range(n) for n in outs]):
        real, padded = [], 0
        for t in itertools.product(*[range(n) for n in k]):
            c = tuple(o[d] * s[d] - pb[d] + t[d] * dil[d] for d in range(r))
            if all(0 <= c[d] < sp[d] for d in range(r)):
                real.append(c)
            if all(c[d] < sp[d] + pe[d] for d in range(r)):
                padded += 1
        assert real, "window without real cells"
        vals = np.stack([x[(slice(None), slice(None)) + c] for c in real], axis=-1)
        sel = (slice(None), slice(None)) + o
        if mode == "max":
            out[sel] = vals.max(axis=-1)
            first = vals.argmax(axis=-1)  # the first of equal maxima
            for n in range(N):
                for ch in range(C):
                    c = real[first[n, ch]]
                    dims = sp[::-1] if col_major else sp
                    cc = c[::-1] if col_major else c
                    off = int(np.ravel_multi_index(cc, dims))
                    idx[(n, ch) + o] = (n * C + ch) * plane + off
        else:
            div = padded if count_include_pad else len(real)
            out[sel] = vals.sum(axis=-1) / div
    return torch.from_numpy(out), torch.from_numpy(idx)


def gen_nd():
    def conv(name, xs, cout, k, stride=None, pad=None, dil=None, groups=1, bias=True):
        r = Rng(name)
        cin, nd = xs[1], len(k)
        stride, dil = stride or (1,) * nd, dil or (1,) * nd
        pad = pad or (0,) * (2 * nd)
        x = r.randn(*xs)
        wt = r.randn(cout, cin // groups, *k, scale=1.0 / math.sqrt(cin // groups * int(np.prod(k))))
        ins = [x, wt] + ([r.randn(cout)] if bias else [])
        attrs = {"stride": list(stride), "pad": list(pad), "dilation": list(dil), "groups": groups}
        def conv4d(x, w, b, stride, dilation, groups):
            # a sum of 3-D convolutions over the first spatial axis' taps
            o = (x.shape[2] - dilation[0] * (w.shape[2] - 1) - 1) // stride[0] + 1
            ys = [sum(F.conv3d(x[:, :, i * stride[0] + a * dilation[0]], w[:, :, a], None, stride[1:], 0,
                               dilation[1:], groups) for a in range(w.shape[2])) for i in range(o)]
            y = torch.stack(ys, dim=2)
            return y if b is None else y + b.reshape(1, -1, 1, 1, 1, 1)

        conv_fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d, 4: conv4d}[nd]

        def fn(x, w, b=None):
            fp = []  # F.pad wants the last axis first
            for d in reversed(range(nd)):
                fp += [pad[d], pad[nd + d]]
            return conv_fn(F.pad(x, tuple(fp)), w, b, stride=tuple(stride), dilation=tuple(dil), groups=groups)

        case(name, "conv_nd", attrs, ins, fn)

    conv("conv_nd_3d_3x3x3_pad1", (1, 2, 5, 6, 4), 3, (3, 3, 3), pad=(1, 1, 1, 1, 1, 1))
    conv("conv_nd_3d_stride_dil_asym", (2, 3, 7, 6, 8), 4, (3, 2, 3), stride=(2, 1, 3), pad=(0, 1, 2, 1, 0, 1), dil=(2, 2, 1))
    conv("conv_nd_3d_grouped_nobias", (1, 4, 4, 5, 5), 6, (2, 3, 1), groups=2, bias=False)
    conv("conv_nd_1d", (2, 3, 11), 2, (4,), stride=(2,), pad=(1, 2))
    conv("conv_nd_4d", (1, 2, 3, 4, 3, 4), 2, (2, 2, 1, 3), pad=(0, 1, 0, 1, 1, 0, 0, 1))

    def convt(name, xs, cout, k, stride=None, pad=None, dil=None, out_pad=None, groups=1, bias=True):
        r = Rng(name)
        cin, nd = xs[1], len(k)
        stride, dil = stride or (1,) * nd, dil or (1,) * nd
        pad, out_pad = pad or (0,) * (2 * nd), out_pad or (0,) * nd
        x = r.randn(*xs)
        wt = r.randn(cin, cout // groups, *k, scale=1.0 / math.sqrt(cin // groups * int(np.prod(k))))
        ins = [x, wt] + ([r.randn(cout)] if bias else [])
        attrs = {"stride": list(stride), "pad": list(pad), "dilation": list(dil), "out_pad": list(out_pad),
                 "groups": groups}
        convt_fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[nd]

        def fn(x, w, b=None):
            full = convt_fn(x, w, None, stride=tuple(stride), dilation=tuple(dil), groups=groups)
            fp = []  # crop (or extend, for negative pads) and out_pad at each axis' end
            for d in reversed(range(nd)):
                fp += [-pad[d], out_pad[d] - pad[nd + d]]
            y = F.pad(full, tuple(fp))
            if b is not None:
                y = y + b.reshape((1, -1) + (1,) * nd)
            return y

        case(name, "conv_transpose_nd", attrs, ins, fn)

    convt("conv_transpose_nd_3d", (1, 2, 3, 4, 3), 3, (3, 3, 2))
    convt("conv_transpose_nd_3d_stride_pad_outpad_grouped", (2, 4, 3, 3, 4), 2, (3, 2, 3), stride=(2, 3, 1),
          pad=(1, 0, 1, 1, 1, 0), dil=(1, 2, 1), out_pad=(1, 1, 0), groups=2)
    convt("conv_transpose_nd_3d_negative_pad_nobias", (1, 1, 2, 3, 2), 2, (2, 2, 2), stride=(2, 1, 2),
          pad=(0, -1, 0, -1, 0, 1), bias=False)

    def maxpool(name, xs, k, s, pad=None, dil=None, ceil=False, indices=False, col_major=False):
        nd = len(k)
        pad, dil = pad or (0,) * (2 * nd), dil or (1,) * nd
        attrs = {"kernel": list(k), "stride": list(s), "pad": list(pad), "dilation": list(dil), "ceil_mode": ceil,
                 "indices": indices, "column_major": col_major}

        def fn(x):
            y, idx = pool_ref_nd(x.numpy(), k, s, pad, dil, ceil, "max", col_major=col_major)
            if nd == 3 and list(pad[:3]) == list(pad[3:]) and all(2 * pad[d] <= k[d] for d in range(3)):
                t, ti = F.max_pool3d(x, k, s, tuple(pad[:3]), dil, ceil_mode=ceil, return_indices=True)
                assert t.shape == y.shape and torch.equal(t, y), name
                if not col_major:
                    plane = int(np.prod(x.shape[2:]))
                    base = torch.arange(x.shape[0] * x.shape[1]).reshape(x.shape[0], x.shape[1], 1, 1, 1) * plane
                    assert torch.equal(ti + base, idx), name
            return [y, idx] if indices else y

        case(name, "maxpool_nd", attrs, [Rng(name).randn(*xs)], fn)

    maxpool("maxpool_nd_3d_2x2x2_s2", (1, 2, 4, 6, 5), (2, 2, 2), (2, 2, 2))
    maxpool("maxpool_nd_3d_pad_dil_ceil", (2, 2, 7, 6, 8), (3, 2, 3), (2, 2, 2), pad=(1, 1, 1, 1, 1, 1), dil=(2, 1, 1),
            ceil=True, indices=True)
    maxpool("maxpool_nd_3d_asym_pad", (1, 3, 5, 5, 6), (3, 3, 2), (1, 2, 2), pad=(0, 1, 1, 2, 0, 1))
    maxpool("maxpool_nd_2d_indices_col_major", (2, 3, 5, 6), (3, 2), (2, 1), pad=(1, 0, 1, 1), indices=True,
            col_major=True)
    maxpool("maxpool_nd_1d_indices", (1, 2, 9), (3,), (2,), pad=(1, 1), indices=True)

    def avgpool(name, xs, k, s, pad=None, dil=None, ceil=False, cip=False):
        nd = len(k)
        pad, dil = pad or (0,) * (2 * nd), dil or (1,) * nd
        attrs = {"kernel": list(k), "stride": list(s), "pad": list(pad), "dilation": list(dil), "ceil_mode": ceil,
                 "count_include_pad": cip}

        def fn(x):
            y, _ = pool_ref_nd(x.numpy(), k, s, pad, dil, ceil, "avg", cip)
            if (nd == 3 and list(pad[:3]) == list(pad[3:]) and all(2 * pad[d] <= k[d] for d in range(3))
                    and list(dil) == [1, 1, 1]):
                t = F.avg_pool3d(x, k, s, tuple(pad[:3]), ceil_mode=ceil, count_include_pad=cip)
                assert t.shape == y.shape and torch.allclose(t, y, rtol=1e-14, atol=0), name
            return y

        case(name, "avgpool_nd", attrs, [Rng(name).randn(*xs)], fn)

    avgpool("avgpool_nd_3d_2x2x2_s2", (1, 2, 4, 6, 5), (2, 2, 2), (2, 2, 2))
    avgpool("avgpool_nd_3d_pad_include", (2, 2, 5, 6, 5), (3, 3, 3), (2, 1, 2), pad=(1, 1, 1, 1, 1, 1), cip=True)
    avgpool("avgpool_nd_3d_ceil_exclude", (1, 2, 6, 7, 5), (3, 2, 2), (2, 2, 2), pad=(1, 1, 0, 1, 1, 0), ceil=True)
    avgpool("avgpool_nd_3d_ceil_include", (1, 2, 6, 7, 5), (3, 2, 2), (2, 2, 2), pad=(1, 1, 0, 1, 1, 0), ceil=True,
            cip=True)
    avgpool("avgpool_nd_2d_dilated_include", (1, 2, 9, 8), (3, 2), (1, 2), pad=(2, 1, 1, 1), dil=(2, 3), cip=True)
    avgpool("avgpool_nd_3d_dilated_ceil", (1, 1, 8, 7, 9), (2, 3, 2), (3, 2, 2), pad=(1, 0, 1, 0, 1, 1), dil=(3, 1, 2),
            ceil=True)


# ------------------------------------------------------------------ reductions
def gen_reduce():
    for op, fn in (("reduce_mean", torch.mean), ("reduce_sum", torch.sum)):
        def c(name, xs, axes, keep):
            case(name, op, {"axes": list(axes), "keepdims": keep}, [Rng(name).randn(*xs)],
                 lambda x: fn(x, dim=tuple(axes), keepdim=keep))

        c(f"{op}_axis1_keep", (3, 5, 4), (1,), True)
        c(f"{op}_axes02", (3, 5, 4), (0, 2), False)
        c(f"{op}_last_neg", (4, 33), (-1,), False)
        c(f"{op}_all", (2, 3, 7), (0, 1, 2), False)
        c(f"{op}_neg_axes_keep", (2, 3, 4, 5), (-3, -1), True)
        c(f"{op}_all_keep", (3, 13), (0, 1), True)


# ------------------------------------------------------------------ ONNX's other ops (ir/ops_compare.go, ops_unary.go, ops_reduce.go, ops_index.go)
def gen_compare():
    r = Rng("compare")
    a = np.round(r.randn(3, 4) * 2).astype(np.float32)
    b = np.round(r.randn(4) * 2).astype(np.float32)
    a[0, 0], b[1] = NAN, NAN
    for op, fn in (("equal", torch.eq), ("less", torch.lt), ("less_equal", torch.le),
                   ("greater", torch.gt), ("greater_equal", torch.ge)):
        case(op, op, {}, [a, b], fn)
    ia, ib = Rng("compare_i").randint(-3, 3, 5, 3), Rng("compare_i2").randint(-3, 3, 3)
    case("less_int", "less", {}, [ia, ib], torch.lt)
    ba, bb = Rng("logic").bools(3, 4), Rng("logic2").bools(4)
    for op, fn in (("and", torch.logical_and), ("or", torch.logical_or), ("xor", torch.logical_xor)):
        case(op, op, {}, [ba, bb], fn)
    case("not", "not", {}, [ba], torch.logical_not)
    xa, xb = Rng("bits").randint(0, 1000, 4, 5), Rng("bits2").randint(0, 1000, 5)
    for op, fn in (("bit_and", torch.bitwise_and), ("bit_or", torch.bitwise_or), ("bit_xor", torch.bitwise_xor)):
        case(op, op, {}, [xa, xb], fn)
    case("bit_not", "bit_not", {}, [xa], torch.bitwise_not)
    sh = Rng("shift").randint(0, 8, 5)
    case("bit_shift_left", "bit_shift", {"left": True}, [xa, sh], lambda x, n: x * (2 ** n))
    case("bit_shift_right", "bit_shift", {"left": False}, [xa, sh], lambda x, n: torch.div(x, 2 ** n, rounding_mode="floor"))
    m, n = r.randn(3, 5), r.randn(5)
    m[1, 2] = NAN
    case("min", "min", {}, [m, n], torch.minimum)
    case("max", "max", {}, [m, n], torch.maximum)
    case("min_int", "min", {}, [ia, ib], torch.minimum)
    case("mod_fmod", "mod", {"fmod": True}, [r.randn(4, 5, scale=5), r.randn(5, scale=2)], torch.fmod)
    ma, mb = Rng("mod").randint(-20, 20, 4, 5), arr([3, -3, 7, -7, 5], np.int64)
    case("mod_int", "mod", {}, [ma, mb], torch.remainder)
    case("mod_int_fmod", "mod", {"fmod": True}, [ma, mb], torch.fmod)
    case("prelu", "prelu", {}, [r.randn(2, 3, 4), r.randn(3, 1)], lambda x, s: torch.where(x < 0, s * x, x))


def gen_unary_more():
    def c(name, op, attrs, fn, x=None):
        x = Rng(name).randn(3, 7, scale=2) if x is None else x
        case(name, op, attrs, [x], fn)

    for op, fn in (("sin", torch.sin), ("cos", torch.cos), ("tan", torch.tan), ("atan", torch.atan),
                   ("sinh", torch.sinh), ("cosh", torch.cosh), ("asinh", torch.asinh),
                   ("ceil", torch.ceil), ("floor", torch.floor), ("sign", torch.sign),
                   ("reciprocal", torch.reciprocal), ("softplus", F.softplus), ("softsign", F.softsign),
                   ("mish", F.mish)):
        c(op, op, {}, fn)
    c("round", "round", {}, torch.round, arr([[0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6]]))
    c("asin", "asin", {}, torch.asin, Rng("asin").rand(3, 5, lo=-1, hi=1))
    c("acos", "acos", {}, torch.acos, Rng("acos").rand(3, 5, lo=-1, hi=1))
    c("atanh", "atanh", {}, torch.atanh, Rng("atanh").rand(3, 5, lo=-0.9, hi=0.9))
    c("acosh", "acosh", {}, torch.acosh, Rng("acosh").rand(3, 5, lo=1, hi=5))
    special = arr([[1.0, NAN, INF, -INF, 0.0, -2.0]])
    c("is_nan", "is_nan", {}, torch.isnan, special)
    c("is_inf", "is_inf", {}, torch.isinf, special)
    c("is_inf_pos", "is_inf", {"neg": False}, torch.isposinf, special)
    c("is_inf_neg", "is_inf", {"pos": False}, torch.isneginf, special)
    c("elu", "elu", {"alpha": 0.7}, lambda x: F.elu(x, f32(0.7)))
    c("celu", "celu", {"alpha": 1.5}, lambda x: F.celu(x, f32(1.5)))
    c("selu", "selu", {}, F.selu)
    c("thresholded_relu", "thresholded_relu", {"alpha": 0.5}, lambda x: F.threshold(x, f32(0.5), 0.0))
    c("shrink", "shrink", {"bias": 0.25, "lambd": 0.5},
      lambda x: torch.where(x < -f32(0.5), x + f32(0.25), torch.where(x > f32(0.5), x - f32(0.25), torch.zeros_like(x))))
    c("swish", "swish", {"alpha": 1.5}, lambda x: x * torch.sigmoid(f32(1.5) * x))


def gen_reduce_more():
    def dims(fn, x, axes, keep):
        return fn(x, dim=tuple(axes), keepdim=keep)

    def c(name, op, xs, axes, keep, fn, x=None):
        x = Rng(name).randn(*xs) if x is None else x
        case(name, op, {"axes": list(axes), "keepdims": keep}, [x], lambda x: fn(x, axes, keep))

    def prod(x, axes, keep):
        for a in sorted([a % x.dim() for a in axes], reverse=True):
            x = torch.prod(x, dim=a, keepdim=keep)
        return x

    c("reduce_max_axis1", "reduce_max", (3, 5, 4), (1,), True, lambda x, a, k: dims(torch.amax, x, a, k))
    c("reduce_min_axes02", "reduce_min", (3, 5, 4), (0, 2), False, lambda x, a, k: dims(torch.amin, x, a, k))
    c("reduce_prod_last", "reduce_prod", (3, 5), (-1,), False, prod, Rng("rp").rand(3, 5, lo=0.5, hi=1.5))
    c("reduce_l1", "reduce_l1", (2, 3, 4), (1, 2), True, lambda x, a, k: dims(torch.sum, x.abs(), a, k))
    c("reduce_l2", "reduce_l2", (2, 3, 4), (0,), False, lambda x, a, k: torch.sqrt(dims(torch.sum, x * x, a, k)))
    c("reduce_log_sum", "reduce_log_sum", (2, 3, 4), (2,), True, lambda x, a, k: torch.log(dims(torch.sum, x, a, k)),
      Rng("rls").rand(2, 3, 4, lo=0.1, hi=2))
    c("reduce_log_sum_exp", "reduce_log_sum_exp", (2, 3, 4), (1,), False, lambda x, a, k: torch.logsumexp(x, dim=a, keepdim=k))
    c("reduce_sum_square", "reduce_sum_square", (2, 3, 4), (0, 1), True, lambda x, a, k: dims(torch.sum, x * x, a, k))
    c("reduce_max_int", "reduce_max", (3, 4), (1,), False, lambda x, a, k: dims(torch.amax, x, a, k), Rng("rmi").randint(-50, 50, 3, 4))
    x = np.round(Rng("arg").randn(3, 6) * 2).astype(np.float32)
    case("arg_max", "arg_max", {"axis": 1}, [x], lambda x: torch.argmax(x, dim=1, keepdim=True))
    case("arg_min_nokeep", "arg_min", {"axis": 0, "keepdims": False}, [x], lambda x: torch.argmin(x, dim=0))
    case("arg_max_last", "arg_max", {"axis": 1, "select_last": True}, [x],
         lambda x: 5 - torch.argmax(torch.flip(x, [1]), dim=1, keepdim=True))
    t = Rng("topk").randn(3, 7)
    case("topk_largest", "topk", {"axis": 1, "k": 3}, [t], lambda x: list(torch.topk(x, 3, dim=1)))
    case("topk_smallest_axis0", "topk", {"axis": 0, "k": 2, "largest": False}, [t], lambda x: list(torch.topk(x, 2, dim=0, largest=False)))
    case("hardmax", "hardmax", {"axis": 1}, [t], lambda x: F.one_hot(torch.argmax(x, dim=1), 7).to(torch.float64))
    cx = Rng("cum").randn(3, 5)
    case("cumsum", "cumsum", {"axis": 1}, [cx], lambda x: torch.cumsum(x, dim=1))
    case("cumsum_excl_rev", "cumsum", {"axis": 1, "exclusive": True, "reverse": True}, [cx],
         lambda x: torch.flip(torch.cumsum(torch.flip(x, [1]), dim=1), [1]) - x)
    case("cumprod_axis0", "cumprod", {"axis": 0}, [cx], lambda x: torch.cumprod(x, dim=0))


def gen_index():
    r = Rng("index")
    x = r.randn(2, 3)
    case("tile", "tile", {"repeats": [2, 3]}, [x], lambda x: x.repeat(2, 3))
    m = r.randn(2, 4, 5)
    case("trilu_upper_k1", "trilu", {"k": 1}, [m], lambda x: torch.triu(x, 1))
    case("trilu_lower_kneg1", "trilu", {"upper": False, "k": -1}, [m], lambda x: torch.tril(x, -1))
    idx = arr([[0, 2, -1], [1, 3, 2]], np.int64)
    case("one_hot", "one_hot", {"depth": 4, "off": -1.0, "on": 3.0}, [idx],
         lambda i: F.one_hot(torch.remainder(i, 4), 4).to(torch.float64) * 4 - 1)
    d = r.randn(3, 4)
    gi = Rng("ge").randint(0, 3, 2, 4)
    case("gather_elements_axis0", "gather_elements", {}, [d, gi], lambda x, i: torch.gather(x, 0, i))
    si = arr([[1, 0, 2, 0], [0, 2, 1, 1]], np.int64)
    u = r.randn(2, 4)
    case("scatter_elements_axis0", "scatter_elements", {}, [d, arr([[1, 0, 2, 0], [0, 2, 1, 2]], np.int64), u],
         lambda x, i, v: torch.scatter(x, 0, i, v))
    case("scatter_elements_add", "scatter_elements", {"reduction": "add"}, [d, si, u],
         lambda x, i, v: torch.scatter_add(x, 0, i, v))
    g = r.randn(2, 3, 4)
    ni = arr([[1, 2], [0, 0], [1, 0]], np.int64)
    case("gather_nd", "gather_nd", {}, [g, ni], lambda x, i: torch.stack([x[a, b] for a, b in i.tolist()]))
    upd = r.randn(3, 4)
    def scatter_nd(x, i, v):
        y = x.clone()
        for t, (a, b) in enumerate(i.tolist()):
            y[a, b] = v[t]
        return y
    case("scatter_nd", "scatter_nd", {}, [g, arr([[1, 2], [0, 0], [1, 1]], np.int64), upd], scatter_nd)
    ea, eb = r.randn(2, 3, 4), r.randn(2, 4, 5)
    case("einsum_bmm", "einsum", {"equation": "bij,bjk->bik"}, [ea, eb], lambda a, b: torch.einsum("bij,bjk->bik", a, b))
    case("einsum_implicit_trace", "einsum", {"equation": "ii"}, [r.randn(4, 4)], lambda a: torch.einsum("ii", a))


def gen_resize():
    x = Rng("resize").randn(1, 2, 4, 5)
    def c(name, attrs, fn, sizes):
        a = {"sizes": sizes, "scales": [s / d for s, d in zip(sizes, x.shape)]}
        a.update(attrs)
        case(name, "resize", a, [x], fn)
    c("resize_nearest_asymmetric_floor", {"coord": "asymmetric", "nearest": "floor"},
      lambda x: F.interpolate(x, size=(8, 10), mode="nearest"), [1, 2, 8, 10])
    c("resize_linear_half_pixel", {"mode": "linear"},
      lambda x: F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=False), [1, 2, 7, 9])
    c("resize_linear_align_corners", {"mode": "linear", "coord": "align_corners"},
      lambda x: F.interpolate(x, size=(3, 8), mode="bilinear", align_corners=True), [1, 2, 3, 8])
    c("resize_cubic_half_pixel", {"mode": "cubic"},
      lambda x: F.interpolate(x, size=(8, 10), mode="bicubic", align_corners=False), [1, 2, 8, 10])


def gen_grid_sample():
    """grid_sample: x (N, C, D..) at grid (N, O.., r) with coordinates past [-1, 1] to reach the padding.
    Bicubic only with zeros padding: for border and reflection ONNX moves an outside coordinate before taking
    its taps (the ONNX reference, onnxruntime), PyTorch pads each tap; linear and nearest agree."""
    def c(name, xs, gs, mode, padding, ac):
        r = Rng(name)
        x = r.randn(*xs)
        g = r.rand(*gs, lo=-1.4, hi=1.4)
        case(name, "grid_sample", {"mode": mode, "padding": padding, "align_corners": ac}, [x, g],
             lambda x, g: F.grid_sample(x, g, mode={"linear": "bilinear"}.get(mode, {"cubic": "bicubic"}.get(mode, mode)),
                                        padding_mode=padding, align_corners=ac))
    c("grid_sample_linear_zeros", (2, 3, 4, 5), (2, 3, 6, 2), "linear", "zeros", False)
    c("grid_sample_linear_border_align", (1, 2, 5, 4), (1, 4, 3, 2), "linear", "border", True)
    c("grid_sample_linear_reflection", (1, 2, 3, 5), (1, 5, 4, 2), "linear", "reflection", False)
    c("grid_sample_linear_reflection_align", (1, 2, 3, 5), (1, 5, 4, 2), "linear", "reflection", True)
    c("grid_sample_nearest_zeros", (1, 2, 4, 5), (1, 3, 5, 2), "nearest", "zeros", False)
    c("grid_sample_nearest_reflection_align", (1, 2, 4, 3), (1, 4, 4, 2), "nearest", "reflection", True)
    c("grid_sample_nearest_border", (1, 1, 4, 3), (1, 4, 4, 2), "nearest", "border", False)
    c("grid_sample_cubic_zeros_align", (1, 2, 5, 6), (1, 4, 5, 2), "cubic", "zeros", True)
    c("grid_sample_cubic_zeros", (2, 1, 4, 4), (2, 3, 3, 2), "cubic", "zeros", False)
    c("grid_sample_3d_linear_border", (1, 2, 3, 4, 5), (1, 2, 3, 4, 3), "linear", "border", False)
    c("grid_sample_3d_nearest_zeros_align", (1, 2, 3, 4, 3), (1, 3, 2, 2, 3), "nearest", "zeros", True)


def gen_det():
    case("det_3x3_batch", "det", {}, [Rng("det_3x3_batch").randn(2, 3, 3, 3)], lambda x: torch.linalg.det(x))
    case("det_5x5", "det", {}, [Rng("det_5x5").randn(5, 5)], lambda x: torch.linalg.det(x))
    # A zero leading entry needs a row swap; the second matrix is singular.
    case("det_pivot_singular", "det", {}, [arr([[[0, 2], [3, 1]], [[1, 2], [2, 4]]])], lambda x: torch.linalg.det(x))


# ------------------------------------------------------------------ phm_linear / phc_conv2d
def kron_weight(a, s):
    """W = sum_r a[r] (x) s[r] over the first two axes of s (spatial taps ride along), as PHM/PHC layers
    compute it: a [R, m1, n1], s [R, m2, n2, ...] -> [m1*m2, n1*n2, ...]."""
    R, m1, n1 = a.shape
    m2, n2 = s.shape[1], s.shape[2]
    rest = tuple(s.shape[3:])
    pad = (None,) * len(rest)
    w = (a[(slice(None), slice(None), None, slice(None), None) + pad] *
         s[(slice(None), None, slice(None), None, slice(None)) + (slice(None),) * len(rest)]).sum(0)
    return w.reshape((m1 * m2, n1 * n2) + rest)


def gen_phm():
    def lin(name, xs, R, m1, n1, m2, n2, bias=True, scaled=False, act=""):
        r = Rng(name)
        x = r.randn(*xs[:-1], n1 * n2)
        a = r.randn(R, m1, n1, scale=0.5)
        s = r.randn(R, m2, n2, scale=1.0 / math.sqrt(n1 * n2))
        ins = [x, a, s] + ([r.randn(m1 * m2, scale=0.5, shift=1.0)] if scaled else []) + ([r.randn(m1 * m2)] if bias else [])
        attrs = {}
        if scaled:
            attrs["scaled"] = True
        if act:
            attrs["act"] = act

        def fn(x, a, s, *rest):
            rest = list(rest)
            scale = rest.pop(0) if scaled else None
            y = F.linear(x, kron_weight(a, s))
            if scale is not None:
                y = y * scale
            if bias:
                y = y + rest.pop(0)
            return F.relu(y) if act == "relu" else y

        case(name, "phm_linear", attrs, ins, fn)

    lin("phm_linear_n2", (5, 0), 2, 2, 2, 3, 3)
    lin("phm_linear_n4_3d_nobias", (2, 3, 0), 4, 4, 4, 2, 4, bias=False)
    lin("phm_linear_n3_1d", (0,), 3, 3, 3, 4, 5)
    lin("phm_linear_kron_scaled_relu", (4, 0), 3, 2, 3, 5, 2, scaled=True, act="relu")

    def conv(name, xs, R, m1, n1, m2, k, stride=(1, 1), pad=(0, 0, 0, 0), dil=(1, 1), bias=True, scaled=False):
        r = Rng(name)
        n, c, h, w = xs
        n2 = c // n1
        x = r.randn(*xs)
        a = r.randn(R, m1, n1, scale=0.5)
        s = r.randn(R, m2, n2, k[0], k[1], scale=1.0 / math.sqrt(c * k[0] * k[1]))
        ins = [x, a, s] + ([r.randn(m1 * m2, scale=0.5, shift=1.0)] if scaled else []) + ([r.randn(m1 * m2)] if bias else [])
        attrs = {"stride": list(stride), "pad": list(pad), "dilation": list(dil)}
        if scaled:
            attrs["scaled"] = True

        def fn(x, a, s, *rest):
            rest = list(rest)
            scale = rest.pop(0) if scaled else None
            t, l, bo, ri = pad
            y = F.conv2d(F.pad(x, (l, ri, t, bo)), kron_weight(a, s), None, stride=tuple(stride), dilation=tuple(dil))
            if scale is not None:
                y = y * scale[None, :, None, None]
            if bias:
                y = y + rest.pop(0)[None, :, None, None]
            return y

        case(name, "phc_conv2d", attrs, ins, fn)

    conv("phc_conv2d_n2_3x3_pad1", (2, 4, 7, 6), 2, 2, 2, 3, (3, 3), pad=(1, 1, 1, 1))
    conv("phc_conv2d_n4_stride2_nobias", (1, 8, 9, 9), 4, 4, 4, 2, (3, 3), stride=(2, 2), pad=(1, 1, 1, 1), bias=False)
    conv("phc_conv2d_kron_scaled_dilated", (1, 6, 8, 7), 3, 2, 3, 2, (2, 3), pad=(1, 0, 2, 1), dil=(2, 1), scaled=True)


def gen_bit_cast():
    x = arr([[1.0, -2.5, 0.0, -0.0], [INF, 1e-40, 3.4e38, 7.25]])
    case("bit_cast_f32_i32", "bit_cast", {"to": "i32"}, [x],
         lambda x: torch.from_numpy(x.numpy().astype(np.float32).view(np.int32).astype(np.int64)))


# ------------------------------------------------------------------ embedding / attention / cast
def gen_embedding():
    def c(name, ids_shape, v, d):
        r = Rng(name)
        ids = r.randint(0, v, *ids_shape)
        case(name, "embedding", {}, [ids, r.randn(v, d)], lambda i, t: t[i])

    c("embedding_2d_ids", (2, 5), 13, 7)
    c("embedding_1d_ids", (7,), 33, 4)
    c("embedding_scalar_id", (), 9, 5)
    c("embedding_3d_ids", (2, 3, 2), 6, 3)


def attention_ref(q, k, v, heads, causal, scale):
    B, T, D = q.shape
    S = k.shape[1]
    dh = D // heads
    out = torch.zeros(B, T, D, dtype=torch.float64)
    for h in range(heads):
        cols = slice(h * dh, (h + 1) * dh)
        att = f32(scale) * (q[:, :, cols] @ k[:, :, cols].transpose(1, 2))
        if causal:
            mask = torch.triu(torch.ones(T, S, dtype=torch.bool), diagonal=1)
            att = att.masked_fill(mask, float("-inf"))
        out[:, :, cols] = att.softmax(dim=-1) @ v[:, :, cols]
    return out


def gen_attention():
    def c(name, B, T, S, D, heads, causal, scale=None):
        r = Rng(name)
        scale = 1.0 / math.sqrt(D // heads) if scale is None else scale
        q, k, vv = r.randn(B, T, D), r.randn(B, S, D), r.randn(B, S, D)
        case(name, "attention", {"heads": heads, "causal": causal, "scale": scale}, [q, k, vv],
             lambda q, k, v: attention_ref(q, k, v, heads, causal, scale))

    c("attention_h1_T5_S7", 1, 5, 7, 8, 1, False)
    c("attention_h2_causal", 2, 9, 9, 12, 2, True)
    c("attention_h3_T13_S6", 1, 13, 6, 24, 3, False)
    c("attention_h4_causal", 1, 8, 8, 32, 4, True)
    c("attention_h4_T7_S11_b2", 2, 7, 11, 16, 4, False)
    c("attention_h2_scale_custom", 1, 6, 6, 10, 2, False, scale=0.3)
    c("attention_h3_causal_T33", 1, 33, 33, 18, 3, True)
    c("attention_h1_causal_T1", 2, 1, 1, 4, 1, True)


def gen_cast():
    def c(name, x, to):
        def fn(t):
            a = t.numpy()
            if to == "bool":
                return a != 0
            if to == "i64":
                return np.trunc(a).astype(np.int64) if a.dtype.kind == "f" else a.astype(np.int64)
            return a.astype(np.float64)

        case(name, "cast", {"to": to}, [x], lambda t: torch.from_numpy(np.asarray(fn(t))))

    c("cast_f32_i64", arr([-2.7, 2.7, -0.5, 0.5, -3.0, 1e6 + 0.5, -1e9, 7.999, -0.0, 0.0, 16777216.0]), "i64")
    c("cast_f32_bool", arr([0.0, -0.0, NAN, INF, -INF, 1e-30, -1.0, 0.5]), "bool")
    c("cast_f32_f32", Rng("cast_f32_f32").randn(3, 5), "f32")
    c("cast_i64_f32", arr([0, -1, 5, 16777217, -16777219, 2 ** 40 + 1, -(2 ** 62)], np.int64), "f32")
    c("cast_i64_bool", arr([[0, 1], [-5, 0], [2 ** 40, 3]], np.int64), "bool")
    c("cast_i64_i64", arr([3, -4, 0], np.int64), "i64")
    c("cast_bool_f32", arr([[True, False, True], [False, False, True]], np.bool_), "f32")
    c("cast_bool_i64", arr([True, False, True, True], np.bool_), "i64")
    c("cast_bool_bool", arr([True, False], np.bool_), "bool")


# ------------------------------------------------------------------ quantized ops (docs/algorithms.md §5)
# The integer results are computed here by an independent implementation of §5.4's arithmetic in
# Python integers (exact) and numpy float32 (IEEE, as the kernels compute), with the accumulators from
# torch's int64 matmul and float64 conv2d on the integers (exact at these sizes).
RANGES = {"i8": (-128, 127), "u8": (0, 255), "i16": (-32768, 32767), "i32": (-2 ** 31, 2 ** 31 - 1)}


def fmt_affine(fmt):
    """(scale, zero point) of a format dict."""
    if "scale" in fmt:
        return fmt["scale"], fmt.get("zp", 0)
    return 2.0 ** -fmt["fl"], 0


def fmt_range(fmt):
    lo, hi = RANGES[fmt["dtype"]]
    if "wl" in fmt and fmt["wl"] < 8 * {"i8": 1, "u8": 1, "i16": 2, "i32": 4}[fmt["dtype"]]:
        lo, hi = -(1 << (fmt["wl"] - 1)), (1 << (fmt["wl"] - 1)) - 1
    return lo, hi


def q_quantize(x, fmt):
    s, z = fmt_affine(fmt)
    lo, hi = fmt_range(fmt)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        v = np.float32(x) / np.float32(s)
    out = np.empty(v.shape, np.int64)
    for i, e in np.ndenumerate(v):
        out[i] = z if np.isnan(e) else int(min(max(float(np.rint(e)) + z, lo), hi))
    return out


def q_encode(m):
    f, e = math.frexp(m)
    m0, s = round(f * 2 ** 31), -e  # round(): half to even, as quant.Encode
    if m0 == 2 ** 31:
        m0, s = 2 ** 30, s - 1
    return m0, min(s, 32)


def q_requant(acc, m0, s):
    sh = 31 + s
    return (int(acc) * m0 + (1 << (sh - 1))) >> sh  # Python's >> floors: an arithmetic shift


def q_epilogue(acc, sx, ws, attrs, out_fmt):
    """acc[..., j] (int64) through qlinear's epilogue; ws per output channel (float32)."""
    to, act = attrs.get("to", "f32"), attrs.get("act", "")
    if attrs.get("acc", 32) == 32:
        acc = acc.astype(np.int64).astype(np.int32).astype(np.int64)
    j_axis = -1 if acc.ndim == 2 else 1
    out = np.empty(acc.shape, np.float32 if to == "f32" else np.int64)
    for idx, a in np.ndenumerate(acc):
        j = idx[j_axis]
        if to == "f32":
            v = np.float32(a) * np.float32(sx * float(ws[j]))
            out[idx] = max(v, np.float32(0)) if act == "relu" else v
            continue
        if to == "i32":
            out[idx] = a
            continue
        sy, zy = fmt_affine(out_fmt)
        lo, hi = fmt_range(out_fmt)
        if act == "relu":
            lo = max(lo, zy)
        if attrs.get("requant") == "float":
            fs = (np.float32(sx) * np.float32(ws[j])) / np.float32(sy)
            v = np.float32(np.float32(a) * fs)
            v = min(max(v, np.float32(lo - zy)), np.float32(hi - zy))
            out[idx] = int(np.rint(v)) + zy
        else:
            m0, s = q_encode(sx * float(ws[j]) / sy)
            out[idx] = zy + min(max(q_requant(a, m0, s), lo - zy), hi - zy)
    return out


def gen_quant():
    def qtensor(r, shape, fmt):
        lo, hi = fmt_range(fmt)
        v = r.randint(lo, hi + 1, *shape)
        flat = v.reshape(-1)
        flat[:4] = [lo, hi, lo, hi][:flat.size]  # the ends of the range, always
        return v

    def quantize(name, x, fmt):
        attrs = {"to": fmt["dtype"], **{k: v for k, v in fmt.items() if k != "dtype"}}
        case(name, "quantize", attrs, [x], lambda t: torch.from_numpy(q_quantize(t.numpy().astype(np.float32), fmt)))

    s = 0.046875
    x = Rng("quantize_u8").randn(4, 7, scale=3)
    x[0, :6] = [2.5 * s, 3.5 * s, -0.5 * s, 200.0, -200.0, 0.0]  # ties to even, saturation
    quantize("quantize_u8", x, {"dtype": "u8", "scale": s, "zp": 131})
    x = Rng("quantize_i8_fixed").randn(3, 9, scale=2)
    x[0, :5] = [NAN, INF, -INF, 0.0625, -0.0625]  # NaN → zp; 0.0625·8 = 0.5 → 0
    quantize("quantize_i8_fixed", x, {"dtype": "i8", "wl": 6, "fl": 3})
    quantize("quantize_i16", Rng("quantize_i16").randn(2, 11, scale=4), {"dtype": "i16", "scale": 2.0 ** -10, "zp": -7})
    quantize("quantize_i8_neg_fl", Rng("quantize_i8_neg_fl").randn(5, 3, scale=600), {"dtype": "i8", "wl": 8, "fl": -2})

    def dequantize(name, shape, fmt):
        r = Rng(name)
        q = qtensor(r, shape, fmt)
        sc, z = fmt_affine(fmt)
        case(name, "dequantize", {}, [q], lambda t: torch.from_numpy((np.float32(t.numpy() - z) * np.float32(sc)).astype(np.float32)),
             formats=[fmt])

    dequantize("dequantize_u8", (3, 5), {"dtype": "u8", "scale": 0.01171875, "zp": 100})
    dequantize("dequantize_i8_fixed", (4, 4), {"dtype": "i8", "wl": 8, "fl": 4})
    dequantize("dequantize_i16", (2, 9), {"dtype": "i16", "scale": 0.0001220703125, "zp": 0})

    def requantize(name, shape, fin, fout):
        r = Rng(name)
        q = qtensor(r, shape, fin)
        si, zi = fmt_affine(fin)
        so, zo = fmt_affine(fout)
        lo, hi = fmt_range(fout)
        m0, sh = q_encode(si / so)
        attrs = {"to": fout["dtype"], **{k: v for k, v in fout.items() if k != "dtype"}}
        case(name, "requantize", attrs, [q],
             lambda t: torch.tensor([zo + min(max(q_requant(v - zi, m0, sh), lo - zo), hi - zo) for v in t.numpy().reshape(-1)]).reshape(shape),
             formats=[fin])

    requantize("requantize_fixed_u8", (5, 7), {"dtype": "i8", "wl": 8, "fl": 4}, {"dtype": "u8", "scale": 0.1875, "zp": 100})
    requantize("requantize_u8_i8_up", (3, 8), {"dtype": "u8", "scale": 0.0625, "zp": 128}, {"dtype": "i8", "scale": 0.015625, "zp": -1})
    requantize("requantize_i16_i8", (2, 10), {"dtype": "i16", "wl": 16, "fl": 12}, {"dtype": "i8", "wl": 8, "fl": 5})

    def qlinear(name, rows, k, n, xfmt, wdt, attrs, out_fmt=None, bias=True):
        r = Rng(name)
        x = qtensor(r, (rows, k), xfmt)
        wlo, whi = (-128, 127) if wdt == "i8" else (-32768, 32767)
        w = r.randint(wlo, whi + 1, n, k)
        w[0, :3] = [wlo, whi, 0]
        ws = r.rand(n, lo=0.001, hi=0.05)
        b = r.randint(-5000, 5000, n)
        sx, zx = fmt_affine(xfmt)
        ins = [x, w, ws] + ([b] if bias else [])
        fmts = [xfmt, {"dtype": wdt}, None] + ([{"dtype": "i32"}] if bias else [])
        if out_fmt:
            attrs = {**attrs, "to": out_fmt["dtype"], **{k: v for k, v in out_fmt.items() if k != "dtype"}}

        def fn(xt, wt, wst, bt=None):
            acc = (xt - zx) @ wt.T
            if bt is not None:
                acc = acc + bt
            return torch.from_numpy(q_epilogue(acc.numpy(), sx, wst.numpy().astype(np.float32), attrs, out_fmt))

        case(name, "qlinear", attrs, ins, fn, formats=fmts)

    u8 = {"dtype": "u8", "scale": 0.0234375, "zp": 128}
    qlinear("qlinear_u8_f32", 7, 37, 6, u8, "i8", {})
    qlinear("qlinear_u8_i8_canonical", 9, 40, 5, u8, "i8", {}, {"dtype": "i8", "scale": 0.0703125, "zp": -3})
    qlinear("qlinear_u8_u8_relu", 6, 17, 9, u8, "i8", {"act": "relu"}, {"dtype": "u8", "scale": 0.05078125, "zp": 20})
    qlinear("qlinear_u8_float_requant", 8, 33, 7, u8, "i8", {"requant": "float"}, {"dtype": "u8", "scale": 0.0390625, "zp": 110})
    qlinear("qlinear_i8_fixed", 5, 64, 4, {"dtype": "i8", "wl": 8, "fl": 5}, "i8", {}, {"dtype": "i8", "wl": 8, "fl": 2})
    qlinear("qlinear_acc_i32", 4, 29, 3, {"dtype": "i8", "scale": 0.5, "zp": 0}, "i8", {"to": "i32"}, bias=False)
    qlinear("qlinear_i16_acc64", 3, 300, 5, {"dtype": "i16", "wl": 16, "fl": 10}, "i16", {"acc": 64}, bias=True)

    def qconv(name, xs, o, k, xfmt, attrs, out_fmt=None, groups=1):
        r = Rng(name)
        x = qtensor(r, xs, xfmt)
        w = r.randint(-127, 128, o, xs[1] // groups, k, k)
        ws = r.rand(o, lo=0.001, hi=0.05)
        b = r.randint(-3000, 3000, o)
        sx, zx = fmt_affine(xfmt)
        attrs = {**attrs, "groups": groups}
        if out_fmt:
            attrs = {**attrs, "to": out_fmt["dtype"], **{kk: v for kk, v in out_fmt.items() if kk != "dtype"}}
        st, pad, dil = attrs.get("stride", [1, 1]), attrs.get("pad", [0, 0, 0, 0]), attrs.get("dilation", [1, 1])

        def fn(xt, wt, wst, bt):
            xp = F.pad(xt.double() - zx, (pad[1], pad[3], pad[0], pad[2]))  # padding is the real zero
            acc = F.conv2d(xp, wt.double(), bt.double(), stride=st, dilation=dil, groups=groups)
            return torch.from_numpy(q_epilogue(acc.round().long().numpy(), sx, wst.numpy().astype(np.float32), attrs, out_fmt))

        case(name, "qconv2d", attrs, [x, w, ws, b], fn, formats=[xfmt, {"dtype": "i8"}, None, {"dtype": "i32"}])

    qconv("qconv2d_u8_f32_pad", (2, 3, 6, 7), 4, 3, {"dtype": "u8", "scale": 0.03125, "zp": 3}, {"stride": [2, 1], "pad": [1, 1, 1, 0]})
    qconv("qconv2d_u8_relu_canonical", (1, 8, 5, 5), 16, 3, {"dtype": "u8", "scale": 0.03125, "zp": 130}, {"pad": [1, 1, 1, 1], "act": "relu"},
          {"dtype": "u8", "scale": 0.0625, "zp": 0})
    qconv("qconv2d_i8_fixed_dil", (1, 4, 7, 7), 5, 3, {"dtype": "i8", "wl": 8, "fl": 5}, {"dilation": [2, 1], "pad": [2, 1, 2, 1]},
          {"dtype": "i8", "wl": 8, "fl": 3})
    qconv("qconv2d_groups_float", (2, 4, 4, 4), 6, 1, {"dtype": "u8", "scale": 0.25, "zp": 7}, {"requant": "float"},
          {"dtype": "u8", "scale": 0.5, "zp": 9}, groups=2)


# ------------------------------------------------------------------ writing
DTYPES = {np.dtype(np.float32): ("F32", "<f4"), np.dtype(np.int64): ("I64", "<i8"), np.dtype(np.bool_): ("BOOL", "u1")}


def safetensors_bytes(tensors):
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        a = np.asarray(tensors[name])  # (not ascontiguousarray: it turns 0-d into 1-d)
        tag, le = DTYPES[a.dtype]
        b = a.astype(le).tobytes()
        header[name] = {"dtype": tag, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    h = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(chunks)


def read_safetensors(path):
    inv = {"F32": "<f4", "I64": "<i8", "BOOL": "u1"}
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, en = e["data_offsets"]
        a = np.frombuffer(buf[8 + n + b:8 + n + en], dtype=inv[e["dtype"]]).reshape(e["shape"])
        out[name] = a.astype(np.bool_) if e["dtype"] == "BOOL" else a
    return out


def self_check(st_path, cases_path):
    """Re-read both files and recompute a few cases independently (numpy, not the generator's code)."""
    t = read_safetensors(st_path)
    with open(cases_path) as f:
        cases = {c["name"]: c for c in json.load(f)["cases"]}
    assert set(t) == set(TENSORS), "tensor set differs"
    for name, a in TENSORS.items():
        assert t[name].dtype == a.dtype and t[name].shape == a.shape, name
        assert np.array_equal(t[name], a, equal_nan=a.dtype == np.float32), name
    for c in cases.values():
        for n in c["inputs"] + c["outputs"]:
            assert n in t, n

    def io(name):
        c = cases[name]
        return [t[n].astype(np.float64) if t[n].dtype == np.float32 else t[n] for n in c["inputs"]], \
               [t[n] for n in c["outputs"]], c["attrs"]

    def same(got, want, name):
        got = np.asarray(got, np.float64).astype(np.float32)
        assert got.shape == want.shape, (name, got.shape, want.shape)
        # independent float64 recomputation may round differently only by one f32 ulp
        ok = np.isclose(got, want, rtol=2 ** -23, atol=0, equal_nan=True)
        assert ok.all(), (name, np.abs(got - want).max())

    (a, b), (y,), _ = io("matmul_large")
    same(a @ b, y, "matmul_large")
    (a, b, c), (y,), at = io("gemm_trans_ab_c_m1")
    same(np.float32(at["alpha"]) * (a.T @ b.T) + np.float32(at["beta"]) * c, y, "gemm_trans_ab_c_m1")
    (x,), (y,), at = io("softmax_neg_inf")
    with np.errstate(invalid="ignore"):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        same(e / e.sum(axis=-1, keepdims=True), y, "softmax_neg_inf")
    assert np.isnan(y[0]).all() and y[3, 4] == 1.0
    (x, w, bias), (y,), at = io("conv2d_asym_pad_stride2")
    t_, l_, b_, r_ = at["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (t_, b_), (l_, r_)))
    sh, sw = at["stride"]
    co, ci, kh, kw = w.shape
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    ref = np.zeros((x.shape[0], co, oh, ow))
    for i in range(oh):
        for j in range(ow):
            ref[:, :, i, j] = np.einsum("nchw,ochw->no", xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw], w) + bias
    same(ref, y, "conv2d_asym_pad_stride2")
    (x,), (y,), at = io("slice_reverse_full")
    same(x[:, ::-1], y, "slice_reverse_full")
    (x,), (y,), at = io("slice_neg_step3")
    same(x[:, 10:1:-3], y, "slice_neg_step3")
    (d, i), (y,), at = io("gather_neg_idx")
    same(d[i], y, "gather_neg_idx")
    (x,), (y,), _ = io("cast_f32_i64")
    assert y.tolist() == [-2, 2, 0, 0, -3, 1000000, -1000000000, 7, 0, 0, 16777216], y
    (x,), (y,), _ = io("avgpool_ceil_beyond_pad_include")
    # last window along each axis: padded rows 6,7 (+8 beyond): real cell 5 plus one padding cell -> /2 per axis
    same(x[:, :, 5, 5] / 4, y[:, :, 3, 3], "avgpool_ceil_beyond_pad_include")
    (c, a, b), (y,), _ = io("where_all_bcast")
    same(np.where(c.astype(bool), a, b), y, "where_all_bcast")
    # phm_linear: the Kronecker sum by explicit loops, (A (x) F)[i*m2 + p][j*n2 + q] = A[i][j] * F[p][q]
    (x, a, s, scale, bias), (y,), _ = io("phm_linear_kron_scaled_relu")
    R, m1, n1 = a.shape
    _, m2, n2 = s.shape
    w = np.zeros((m1 * m2, n1 * n2))
    for r_ in range(R):
        for i in range(m1):
            for j in range(n1):
                w[i * m2:(i + 1) * m2, j * n2:(j + 1) * n2] += a[r_, i, j] * s[r_]
    same(np.maximum((x @ w.T) * scale + bias, 0), y, "phm_linear_kron_scaled_relu")


# ------------------------------------------------------------------ recurrent (ONNX RNN / GRU / LSTM after the input projection)
REC_GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def rec_act(name, alpha, beta, x):
    a, b = f32(alpha), f32(beta)
    return {
        "relu": lambda: np.maximum(x, 0),
        "tanh": lambda: np.tanh(x),
        "sigmoid": lambda: 1 / (1 + np.exp(-x)),
        "affine": lambda: a * x + b,
        "leakyrelu": lambda: np.where(x >= 0, x, a * x),
        "thresholdedrelu": lambda: np.where(x >= a, x, 0.0),
        "scaledtanh": lambda: a * np.tanh(b * x),
        "hardsigmoid": lambda: np.minimum(np.maximum(a * x + b, 0), 1),
        "elu": lambda: np.where(x >= 0, x, a * (np.exp(np.minimum(x, 0)) - 1)),
        "softsign": lambda: x / (1 + np.abs(x)),
        "softplus": lambda: np.log1p(np.exp(x)),
    }[name]()


def rec_ref(at, xw, r, b=None, seq=None, h0=None, c0=None, p=None):
    """ONNX's RNN, GRU and LSTM equations by explicit float64 loops, on the projected input xw."""
    cell, H = at["cell"], at["hidden"]
    G = REC_GATES[cell]
    D = 2 if at.get("direction") == "bidirectional" else 1
    layout = at.get("layout", 0)
    acts = at["acts"].split(",")
    alpha, beta = at["alpha"], at["beta"]
    clip = at.get("clip", INF)
    xw = np.asarray(xw, np.float64)
    if layout == 1:
        xw = xw.transpose(1, 0, 2)
        h0 = None if h0 is None else np.asarray(h0).transpose(1, 0, 2)
        c0 = None if c0 is None else np.asarray(c0).transpose(1, 0, 2)
    T, B = xw.shape[:2]
    y = np.zeros((T, D, B, H))
    yh = np.zeros((D, B, H))
    yc = np.zeros((D, B, H))
    cl = lambda v: np.clip(v, -clip, clip)
    for d in range(D):
        F_ = len(acts) // D
        act = lambda k, v: rec_act(acts[d * F_ + k], alpha[d * F_ + k], beta[d * F_ + k], v)
        R = np.asarray(r[d], np.float64)
        wb = np.zeros(G * H) if b is None else np.asarray(b[d][:G * H], np.float64)
        rb = np.zeros(G * H) if b is None else np.asarray(b[d][G * H:], np.float64)
        P = np.zeros(3 * H) if p is None else np.asarray(p[d], np.float64)
        rev = at.get("direction") == "reverse" or d == 1
        for bi in range(B):
            L = T if seq is None else int(seq[bi])
            h = np.zeros(H) if h0 is None else np.asarray(h0[d, bi], np.float64)
            c = np.zeros(H) if c0 is None else np.asarray(c0[d, bi], np.float64)
            for s_ in range(L):
                t = L - 1 - s_ if rev else s_
                x = xw[t, bi, d * G * H:(d + 1) * G * H] + wb
                if cell == "rnn":
                    h = act(0, cl(x + h @ R.T + rb))
                elif cell == "gru":
                    z = act(0, cl(x[:H] + h @ R[:H].T + rb[:H]))
                    rr = act(0, cl(x[H:2 * H] + h @ R[H:2 * H].T + rb[H:2 * H]))
                    if at.get("linear_before_reset"):
                        hh = act(1, cl(x[2 * H:] + rr * (h @ R[2 * H:].T + rb[2 * H:])))
                    else:
                        hh = act(1, cl(x[2 * H:] + (rr * h) @ R[2 * H:].T + rb[2 * H:]))
                    h = (1 - z) * hh + z * h
                else:
                    a = x + h @ R.T + rb
                    i = act(0, cl(a[:H] + P[:H] * c))
                    f = 1 - i if at.get("input_forget") else act(0, cl(a[2 * H:3 * H] + P[2 * H:] * c))
                    cc = act(1, cl(a[3 * H:]))
                    c = f * c + i * cc
                    o = act(0, cl(a[H:2 * H] + P[H:2 * H] * c))
                    h = o * act(2, c)
                y[t, d, bi] = h
            yh[d, bi], yc[d, bi] = h, c
    if layout == 1:
        y, yh, yc = y.transpose(2, 0, 1, 3), yh.transpose(1, 0, 2), yc.transpose(1, 0, 2)
    return [y, yh, yc] if cell == "lstm" else [y, yh]


def torch_rec(at, xw, r, b=None, h0=None, c0=None):
    """The same through torch.nn.RNN / GRU / LSTM: the input is xw and weight_ih selects each direction's
    gate columns in torch's gate order (GRU r, z, n; LSTM i, f, g, o), so the recurrence is torch's own.
    Covers tanh/relu RNNs, GRU with linear_before_reset and LSTM with the default activations."""
    cell, H = at["cell"], at["hidden"]
    G = REC_GATES[cell]
    D = 2 if at.get("direction") == "bidirectional" else 1
    bf = at.get("layout", 0) == 1
    order = {"rnn": [0], "gru": [1, 0, 2], "lstm": [0, 2, 3, 1]}[cell]  # torch gate k is ONNX gate order[k]
    perm = np.concatenate([np.arange(g * H, (g + 1) * H) for g in order])
    kw = dict(input_size=D * G * H, hidden_size=H, bias=b is not None, batch_first=bf, bidirectional=D == 2)
    if cell == "rnn":
        m = torch.nn.RNN(nonlinearity=at["acts"].split(",")[0], **kw)
    else:
        m = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell](**kw)
    m = m.double()
    with torch.no_grad():
        for d in range(D):
            sfx = "_reverse" if d else ""
            sel = np.zeros((G * H, D * G * H))
            sel[np.arange(G * H), d * G * H + perm] = 1
            getattr(m, "weight_ih_l0" + sfx).copy_(torch.from_numpy(sel))
            getattr(m, "weight_hh_l0" + sfx).copy_(to_torch(r[d])[perm])
            if b is not None:
                getattr(m, "bias_ih_l0" + sfx).copy_(to_torch(b[d][:G * H])[perm])
                getattr(m, "bias_hh_l0" + sfx).copy_(to_torch(b[d][G * H:])[perm])
    x = to_torch(xw)
    rev = at.get("direction") == "reverse"
    tax = 1 if bf else 0
    if rev:
        x = torch.flip(x, [tax])
    st = lambda v: None if v is None else (to_torch(v).transpose(0, 1).contiguous() if bf else to_torch(v))
    hx = st(h0)
    if cell == "lstm":
        hx = None if h0 is None else (hx, st(c0))
    y, hn = m(x, hx)
    if rev:
        y = torch.flip(y, [tax])
    T, B = (xw.shape[1], xw.shape[0]) if bf else xw.shape[:2]
    if bf:
        y = y.reshape(B, T, D, H)
    else:
        y = y.reshape(T, B, D, H).transpose(1, 2)
    outs = [hn] if cell != "lstm" else list(hn)
    if bf:
        outs = [o.transpose(0, 1) for o in outs]
    return [y] + outs


def gen_recurrent():
    def rec(name, at, T, B, seq=None, bias=False, h0=False, c0=False, peep=False, torch_ok=True):
        r = Rng(name)
        cell, H = at["cell"], at["hidden"]
        G = REC_GATES[cell]
        D = 2 if at.get("direction") == "bidirectional" else 1
        L = at.get("layout", 0)
        xw = r.randn(*((B, T) if L else (T, B)), D * G * H)
        ins = [xw, r.randn(D, G * H, H, scale=1.0 / math.sqrt(H))]
        at = dict(at)
        if len(at["acts"].split(",")) == {"rnn": 1, "gru": 2, "lstm": 3}[cell] and D == 2:
            at["acts"] = at["acts"] + "," + at["acts"]
            at["alpha"], at["beta"] = at["alpha"] * 2, at["beta"] * 2
        names = []
        if bias:
            ins.append(r.randn(D, 2 * G * H, scale=0.5))
            at["b"] = True
            names.append("b")
        if seq is not None:
            ins.append(arr(seq, np.int64))
            at["seq_lens"] = True
            names.append("seq")
        st = (B, D, H) if L else (D, B, H)
        if h0:
            ins.append(r.randn(*st))
            at["h0"] = True
            names.append("h0")
        if c0:
            ins.append(r.randn(*st))
            at["c0"] = True
            names.append("c0")
        if peep:
            ins.append(r.randn(D, 3 * H, scale=0.5))
            at["p"] = True
            names.append("p")

        def fn(xw, rr, *rest):
            kw = dict(zip(names, [v.numpy() for v in rest]))
            ref = rec_ref(at, xw.numpy(), rr.numpy(), **kw)
            if torch_ok:
                got = torch_rec(at, xw.numpy().astype(np.float32), rr.numpy().astype(np.float32),
                                **{k: v.astype(np.float32) for k, v in kw.items()})
                for a_, b_ in zip(ref, got):
                    b_ = b_.detach().numpy()
                    assert np.allclose(a_, b_, rtol=1e-9, atol=1e-12), (name, np.abs(a_ - b_).max())
            return [torch.from_numpy(np.ascontiguousarray(o)) for o in ref]

        case(name, "recurrent", at, ins, fn)

    one = lambda *a: [0.0] * len(a)
    rnn = lambda acts, **kw: dict(cell="rnn", acts=acts, alpha=one(*acts.split(",")), beta=one(*acts.split(",")), **kw)
    rec("recurrent_rnn_tanh", dict(rnn("tanh"), hidden=4), 3, 2)
    rec("recurrent_rnn_relu_bidir_b_h0", dict(rnn("relu,relu"), hidden=3, direction="bidirectional"), 4, 2, bias=True, h0=True)
    gru = dict(cell="gru", acts="sigmoid,tanh", alpha=[0.0, 0.0], beta=[0.0, 0.0])
    rec("recurrent_gru_lbr_bidir_b_h0", dict(gru, hidden=5, direction="bidirectional", linear_before_reset=True), 3, 2, bias=True, h0=True)
    rec("recurrent_gru_reverse_layout1", dict(gru, hidden=4, direction="reverse", layout=1, linear_before_reset=True), 5, 3, bias=True, h0=True)
    rec("recurrent_gru_reset_after_clip", dict(gru, hidden=4, clip=0.75), 4, 2, bias=True, torch_ok=False)
    lstm = dict(cell="lstm", acts="sigmoid,tanh,tanh", alpha=[0.0] * 3, beta=[0.0] * 3)
    rec("recurrent_lstm_bidir_b_h0_c0", dict(lstm, hidden=3, direction="bidirectional", acts="sigmoid,tanh,tanh,sigmoid,tanh,tanh",
                                             alpha=[0.0] * 6, beta=[0.0] * 6), 4, 2, bias=True, h0=True, c0=True)
    rec("recurrent_lstm_layout1", dict(lstm, hidden=4, layout=1), 3, 2, bias=True)
    rec("recurrent_lstm_peep_seq_forget", dict(lstm, hidden=3, direction="bidirectional", input_forget=True, clip=2.0,
                                               acts="hardsigmoid,softsign,elu,sigmoid,scaledtanh,affine",
                                               alpha=[0.3, 0.0, 0.8, 0.0, 1.5, 0.5], beta=[0.4, 0.0, 0.0, 0.0, 0.7, -0.25]),
        4, 3, seq=[4, 0, 2], bias=True, h0=True, c0=True, peep=True, torch_ok=False)
    rec("recurrent_lstm_peep_reverse", dict(lstm, hidden=3, direction="reverse", clip=1.5), 4, 2, bias=True, h0=True, c0=True,
        peep=True, torch_ok=False)
    rec("recurrent_rnn_acts_seq_layout1", dict(cell="rnn", hidden=3, layout=1, direction="bidirectional",
                                              acts="leakyrelu,thresholdedrelu", alpha=[0.1, 0.2], beta=[0.0, 0.0]),
        3, 2, seq=[1, 3], torch_ok=False)
    rec("recurrent_rnn_softplus_relu", dict(rnn("softplus"), hidden=3), 2, 1, h0=True, torch_ok=False)


def main():
    for g in (gen_linear, gen_gemm, gen_matmul, gen_conv2d, gen_conv_transpose2d, gen_batchnorm, gen_layernorm, gen_binary, gen_unary,
              gen_softmax, gen_shape_ops, gen_pool, gen_nd, gen_reduce, gen_embedding, gen_attention, gen_cast,
              gen_compare, gen_unary_more, gen_reduce_more, gen_index, gen_resize, gen_grid_sample, gen_det, gen_bit_cast, gen_quant, gen_phm,
              gen_recurrent):
        g()
    st_path = os.path.join(HERE, "tensors.safetensors")
    cases_path = os.path.join(HERE, "cases.json")
    with open(st_path, "wb") as f:
        f.write(safetensors_bytes(TENSORS))
    with open(cases_path, "w") as f:
        json.dump({"cases": CASES}, f, indent=2, sort_keys=True)
        f.write("\n")
    self_check(st_path, cases_path)
    ops = {}
    for c in CASES:
        ops[c["op"]] = ops.get(c["op"], 0) + 1
    sizes = [os.path.getsize(p) for p in (st_path, cases_path)]
    print(f"{len(CASES)} cases over {len(ops)} ops, {len(TENSORS)} tensors")
    print("  " + ", ".join(f"{k} {v}" for k, v in sorted(ops.items())))
    print(f"tensors.safetensors {sizes[0]} bytes, cases.json {sizes[1]} bytes, total {sum(sizes)} bytes")
    if sum(sizes) > 1 << 20:
        sys.exit("fixtures exceed 1 MiB")


if __name__ == "__main__":
    main()
