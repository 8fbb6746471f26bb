"""Train the accuracy twins (zoo/twins/NAME) on Debian's bundled digits data set.

    /usr/bin/python3 zoo/train/train.py [--out zoo/twins] [--only NAME,...]     (make zoo-train)

Small models trained on real data, each the accuracy twin of a zoo
architecture (random weights show speed, not whether a lossy pass keeps a
model useful). The data set is scikit-learn's handwritten digits (1,797 8×8
images, pixel values 0–16, scaled to [0, 1]), split once with a fixed seed:

    test         360 images (held out; the twins' accuracy is measured here)
    calibration  128 images (for lossy passes: calib_x.npy, calib_labels.npy)
    train      1,309 images

    resmlp-bn   twin of mlp       residual MLP with BatchNorm after fc1 (bn-fold: BN into the linear before it)
    repvgg      twin of resnet20  RepVGG blocks: conv3×3+BN ‖ conv1×1+BN ‖ BN(identity), summed, ReLU
    vit         twin of vit-tiny  pre-norm ViT, patch 2, dim 64, 4 layers, 4 heads (attention dropping)
                and gpt-mini
    phm-mlp     twin of mlp       residual MLP whose linears are PHM layers, W = Σᵢ Aᵢ ⊗ Fᵢ, n = 4
    phc-cnn     twin of resnet20  CNN whose 3×3 convolutions are PHC layers, n = 4
    vit-repbn   twin of vit-tiny  the ViT with SLAB's progressive LayerNorm → RepBN schedule, trained until
                the LayerNorm share λ is 0, so every norm is RepBN: BN(x) + α·x over the tokens' channels

For each NAME it writes, under --out/NAME:
    weights.safetensors   the tensors model.yaml binds, named as in the PyTorch state_dict
    model.onnx            the ONNX export (dynamic batch; BatchNorm kept, as zoo/onnx/export.py does)
    heldout_x.npy, heldout_labels.npy, heldout_logits.npy   the held-out set: inputs, labels,
                          PyTorch's float32 logits
    test_x.npy, test_logits.npy, test_labels.npy   its first 32 rows: model.yaml's test vectors
                                  (the labels let a lossy pass report top-1 on them)
    calib_x.npy, calib_labels.npy                  calibration inputs and labels
    accuracy.json         the float top-1 accuracy on the held-out set, and how the model was trained

model.yaml is written by hand and not touched here. phm-mlp and phc-cnn bind
their PHM/PHC factors (<layer>.A, <layer>.F) with model.yaml's phm_linear and
phc_conv2d layers; their model.onnx holds each layer's materialised weight
Σᵢ Aᵢ ⊗ Fᵢ (the kronecker pass's compress path recovers the factors from it).
One twin binds something other than the raw state_dict, and its model.yaml says so:
  * vit-repbn: the LayerNorm branch of each progressive norm (share 0 after training) and the
    schedule counters are left out; the RepBN tensors keep their state_dict names.

Training uses one CPU thread and fixed seeds; all six take about four minutes.
Needs Debian's python3-torch, python3-sklearn and python3-onnx.
"""

import argparse
import json
import math
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits

SPLIT_SEED = 0
N_TEST, N_CALIB = 360, 128
TEST_ROWS = 32


def digits_split():
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    perm = np.random.RandomState(SPLIT_SEED).permutation(len(y))
    te, ca, tr = perm[:N_TEST], perm[N_TEST:N_TEST + N_CALIB], perm[N_TEST + N_CALIB:]
    return (x[tr], y[tr]), (x[ca], y[ca]), (x[te], y[te])


# ---- layers ------------------------------------------------------------------


class PHMLinear(nn.Module):
    """Parameterised hypercomplex multiplication layer (Zhang et al. 2021):
    W = Σᵢ Aᵢ ⊗ Fᵢ, A: [n, n, n], F: [n, out/n, in/n]."""

    def __init__(self, n, fin, fout):
        super().__init__()
        self.n, self.fin, self.fout = n, fin, fout
        self.A = nn.Parameter(torch.randn(n, n, n) / math.sqrt(n))
        bound = math.sqrt(3.0 / fin)
        self.F = nn.Parameter(torch.empty(n, fout // n, fin // n).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(fout))

    def weight(self):
        n = self.n
        w = (self.A[:, :, None, :, None] * self.F[:, None, :, None, :]).sum(0)
        return w.reshape(self.fout, self.fin)

    def forward(self, x):
        return F.linear(x, self.weight(), self.bias)


class PHConv2d(nn.Module):
    """Parameterised hypercomplex convolution (Grassucci et al. 2021):
    W = Σᵢ Aᵢ ⊗ Fᵢ, A: [n, n, n], F: [n, out/n, in/n, k, k]; no bias (BN follows)."""

    def __init__(self, n, cin, cout, k, stride):
        super().__init__()
        self.n, self.cin, self.cout, self.k, self.stride = n, cin, cout, k, stride
        self.A = nn.Parameter(torch.randn(n, n, n) / math.sqrt(n))
        bound = math.sqrt(3.0 / (cin * k * k))
        self.F = nn.Parameter(torch.empty(n, cout // n, cin // n, k, k).uniform_(-bound, bound))

    def weight(self):
        w = (self.A[:, :, None, :, None, None, None] * self.F[:, None, :, None, :, :, :]).sum(0)
        return w.reshape(self.cout, self.cin, self.k, self.k)

    def forward(self, x):
        return F.conv2d(x, self.weight(), None, self.stride, self.k // 2)


class Attention(nn.Module):
    """Self-attention with a fused qkv projection (the layout of model.yaml's attention layer)."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        b, t, d = x.shape
        h, dh = self.heads, d // self.heads
        q, k, v = self.qkv(x).split(d, dim=-1)
        q = q.reshape(b, t, h, dh).transpose(1, 2)
        k = k.reshape(b, t, h, dh).transpose(1, 2)
        v = v.reshape(b, t, h, dh).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(dh), dim=-1)
        return self.proj((att @ v).transpose(1, 2).reshape(b, t, d))


class RepBN(nn.Module):
    """SLAB's RepBN (Guo et al. 2024): BN over the channels of [B, T, D] tokens plus α·x."""

    def __init__(self, d):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1))
        self.bn = nn.BatchNorm1d(d)

    def forward(self, x):
        x = x.transpose(1, 2)
        x = self.bn(x) + self.alpha * x
        return x.transpose(1, 2)


class ProgressiveNorm(nn.Module):
    """SLAB's progressive re-parameterised norm: LayerNorm for `warm` steps,
    then λ·LN(x) + (1−λ)·RepBN(x) with λ falling linearly from 1 to 0 over
    `decay` steps, then RepBN alone; at inference always RepBN alone."""

    schedule = {"step": 0, "warm": 0, "decay": 1}

    def __init__(self, d):
        super().__init__()
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = RepBN(d)

    @classmethod
    def lam(cls):
        s = cls.schedule
        if s["step"] < s["warm"]:
            return 1.0
        return max(0.0, 1.0 - (s["step"] - s["warm"]) / s["decay"])

    def forward(self, x):
        if not self.training:
            return self.norm2(x)
        lam = self.lam()
        if lam == 1.0:
            return self.norm1(x)
        if lam == 0.0:
            return self.norm2(x)
        return lam * self.norm1(x) + (1 - lam) * self.norm2(x)


# ---- models ------------------------------------------------------------------


class BNBlock(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.fc1 = nn.Linear(d, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x):
        return x + self.fc2(F.gelu(self.bn(self.fc1(x))))


class ResMLPBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(64, 128)
        self.blocks = nn.Sequential(*[BNBlock(128, 128) for _ in range(3)])
        self.norm = nn.BatchNorm1d(128)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        return self.head(self.norm(self.blocks(self.embed(x))))


class ConvBN(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class RepVGGBlock(nn.Module):
    """RepVGG's training-time block (Ding et al. 2021), with its branch names."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.rbr_dense = ConvBN(cin, cout, 3, stride)
        self.rbr_1x1 = ConvBN(cin, cout, 1, stride)
        self.rbr_identity = nn.BatchNorm2d(cin) if cin == cout and stride == 1 else None

    def forward(self, x):
        y = self.rbr_dense(x) + self.rbr_1x1(x)
        if self.rbr_identity is not None:
            y = y + self.rbr_identity(x)
        return F.relu(y)


class RepVGG(nn.Module):
    CFG = [(1, 16, 1), (16, 16, 1), (16, 32, 2), (32, 32, 1), (32, 64, 2), (64, 64, 1)]

    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(*[RepVGGBlock(*c) for c in self.CFG])
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.blocks(x), 1).flatten(1))


class TBlock(nn.Module):
    def __init__(self, d, heads, hidden, norm):
        super().__init__()
        self.ln1 = norm(d)
        self.attn = Attention(d, heads)
        self.ln2 = norm(d)
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class ViT(nn.Module):
    def __init__(self, norm=nn.LayerNorm, d=64, depth=4, heads=4, hidden=128):
        super().__init__()
        self.patch = nn.Conv2d(1, d, 2, 2)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(torch.randn(1, 17, d) * 0.02)
        self.blocks = nn.Sequential(*[TBlock(d, heads, hidden, norm) for _ in range(depth)])
        self.norm = norm(d)
        self.head = nn.Linear(d, 10)

    def forward(self, x):
        p = self.patch(x)
        b, d = p.shape[0], p.shape[1]
        p = p.reshape(b, d, -1).transpose(1, 2)
        # cls for every image, by broadcasting rather than expand: torch
        # exports expand on a dynamic batch as Equal/Where on the shape, which
        # modelc's ONNX import does not take.
        cls = p[:, :1, :] * 0 + self.cls
        x = torch.cat([cls, p], dim=1) + self.pos
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


class PHMBlock(nn.Module):
    def __init__(self, d, hidden, n):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.fc1 = PHMLinear(n, d, hidden)
        self.fc2 = PHMLinear(n, hidden, d)

    def forward(self, x):
        return x + self.fc2(F.gelu(self.fc1(self.norm(x))))


class PHMMLP(nn.Module):
    def __init__(self, n=4):
        super().__init__()
        self.embed = PHMLinear(n, 64, 128)
        self.blocks = nn.Sequential(*[PHMBlock(128, 128, n) for _ in range(3)])
        self.norm = nn.LayerNorm(128)
        self.head = nn.Linear(128, 10)  # 10 classes: not a multiple of n, so dense

    def forward(self, x):
        return self.head(self.norm(self.blocks(self.embed(x))))


class PHCLayer(nn.Module):
    def __init__(self, n, cin, cout, stride):
        super().__init__()
        self.conv = PHConv2d(n, cin, cout, 3, stride)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class PHCCNN(nn.Module):
    """Stem conv (1 input channel: dense), then PHC layers; layers 1 and 3 are residual."""

    def __init__(self, n=4):
        super().__init__()
        self.stem = ConvBN(1, 16, 3, 1)
        self.layers = nn.ModuleList([PHCLayer(n, 16, 32, 1), PHCLayer(n, 32, 32, 1),
                                     PHCLayer(n, 32, 64, 2), PHCLayer(n, 64, 64, 1)])
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = F.relu(self.layers[0](x))
        x = F.relu(self.layers[1](x) + x)
        x = F.relu(self.layers[2](x))
        x = F.relu(self.layers[3](x) + x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


# ---- training and export -----------------------------------------------------

# name: (constructor, twin of, image input?, epochs, learning rate, input name)
MODELS = {
    "resmlp-bn": (ResMLPBN, ["mlp"], False, 40, 2e-3, "x"),
    "repvgg": (RepVGG, ["resnet20"], True, 40, 2e-3, "image"),
    "vit": (ViT, ["vit-tiny", "gpt-mini"], True, 100, 1e-3, "image"),
    "phm-mlp": (PHMMLP, ["mlp"], False, 40, 2e-3, "x"),
    "phc-cnn": (PHCCNN, ["resnet20"], True, 40, 2e-3, "image"),
    "vit-repbn": (lambda: ViT(norm=ProgressiveNorm), ["vit-tiny"], True, 100, 1e-3, "image"),
}
BATCH = 64


def write_safetensors(path, tensors):
    """A safetensors file by hand (no safetensors package needed): F32/I64 only."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        dt = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}[a.dtype]
        b = a.tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def inference_tensors(name, model):
    """The tensors model.yaml binds (see the module comment)."""
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()
          if not k.endswith("num_batches_tracked")}
    for mname, m in model.named_modules():
        if isinstance(m, ProgressiveNorm):
            for k in ("weight", "bias"):
                sd.pop(f"{mname}.norm1.{k}")
    return sd


def train(name, out):
    ctor, twin_of, image, epochs, lr, in_name = MODELS[name]
    (xtr, ytr), (xca, yca), (xte, yte) = digits_split()
    shape = (-1, 1, 8, 8) if image else (-1, 64)
    xtr, xca, xte = (torch.from_numpy(a.reshape(shape)) for a in (xtr, xca, xte))
    ytr_t = torch.from_numpy(ytr)

    torch.manual_seed(1)
    model = ctor()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(ytr) / BATCH)
    total = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=0.1)
    # SLAB's schedule: LayerNorm alone for the first 10% of steps, λ falls to 0
    # by 70%, RepBN alone for the last 30%.
    ProgressiveNorm.schedule = {"step": 0, "warm": total // 10, "decay": total * 6 // 10}
    gen = torch.Generator().manual_seed(2)
    t0 = time.time()
    step = 0
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(ytr), generator=gen)
        for i in range(0, len(ytr), BATCH):
            idx = perm[i:i + BATCH]
            if len(idx) < 2:
                continue
            ProgressiveNorm.schedule["step"] = step
            loss = F.cross_entropy(model(xtr[idx]), ytr_t[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
    lam = ProgressiveNorm.lam() if name == "vit-repbn" else None
    model.eval()
    with torch.no_grad():
        logits = model(xte)
        calib_acc = float((model(xca).argmax(1).numpy() == yca).mean())
    pred = logits.argmax(1).numpy()
    correct = int((pred == yte).sum())
    acc = correct / len(yte)

    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, "weights.safetensors"), inference_tensors(name, model))
    np.save(os.path.join(d, "heldout_x.npy"), xte.numpy().astype(np.float32))
    np.save(os.path.join(d, "heldout_labels.npy"), yte.astype(np.int64))
    np.save(os.path.join(d, "heldout_logits.npy"), logits.numpy().astype(np.float32))
    # model.yaml's test vectors: the first TEST_ROWS held-out rows (a
    # generated package's own test runs them as one batch, within its
    # default max batch of 32).
    np.save(os.path.join(d, "test_x.npy"), xte.numpy()[:TEST_ROWS].astype(np.float32))
    np.save(os.path.join(d, "test_logits.npy"), logits.numpy()[:TEST_ROWS].astype(np.float32))
    np.save(os.path.join(d, "test_labels.npy"), yte.astype(np.int64)[:TEST_ROWS])
    np.save(os.path.join(d, "calib_x.npy"), xca.numpy().astype(np.float32))
    np.save(os.path.join(d, "calib_labels.npy"), yca.astype(np.int64))
    torch.onnx.export(
        model, (xte[:2],), os.path.join(d, "model.onnx"),
        input_names=[in_name], output_names=["logits"],
        dynamic_axes={in_name: {0: "batch"}, "logits": {0: "batch"}},
        opset_version=14,
        training=torch.onnx.TrainingMode.PRESERVE,  # keep BatchNorm (zoo/onnx/export.py)
        do_constant_folding=False,
    )
    info = {
        "model": name,
        "twin_of": twin_of,
        "dataset": "sklearn.datasets.load_digits (8x8, pixels/16)",
        "split": {"seed": SPLIT_SEED, "test": len(yte), "calibration": len(yca), "train": len(ytr)},
        "test_correct": correct,
        "test_top1": round(acc, 6),
        "calibration_top1": round(calib_acc, 6),
        "epochs": epochs, "batch": BATCH, "optimizer": f"AdamW lr {lr} wd 1e-4, one-cycle",
        "seed": 1,
        "torch": torch.__version__,
    }
    if lam is not None:
        info["layernorm_share_at_end"] = lam
    with open(os.path.join(d, "accuracy.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    print(f"{name}: top-1 {acc:.4f} ({correct}/{len(yte)}), calibration {calib_acc:.4f}, "
          f"{epochs} epochs in {time.time() - t0:.1f}s" + (f", LayerNorm share {lam}" if lam is not None else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "twins"))
    ap.add_argument("--only", default="", help="comma-separated names (default: all)")
    args = ap.parse_args()
    # One thread: on small tensors PyTorch's second thread costs more than it
    # gives (20x slower steps on a 2-core machine), and one thread keeps the
    # summation order, so a rerun reproduces the files.
    torch.set_num_threads(1)
    names = [n for n in args.only.split(",") if n] or list(MODELS)
    for name in names:
        train(name, args.out)


if __name__ == "__main__":
    main()
