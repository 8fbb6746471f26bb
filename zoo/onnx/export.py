"""Export the zoo's ONNX models with PyTorch, with inputs and PyTorch's logits.

    /usr/bin/python3 zoo/onnx/export.py [--out zoo/onnx]     (make zoo-onnx)

Three small models with seeded random weights, each exported with a dynamic
batch (dynamic_axes on dim 0 of input and output), from a model in eval mode,
without constant folding. training=TrainingMode.PRESERVE, not EVAL: with EVAL,
torch 1.13 runs its eval peephole pass, which folds BatchNorm into the
preceding Conv even without constant folding; PRESERVE on a model in eval mode
keeps BatchNormalization nodes (inference form, one output), so the graph
modelc imports has BatchNorm for its own passes to fold.

    resmlp       x[N, 64] → linear → 3 × (x + fc2(gelu(fc1(layernorm(x))))) → layernorm → head[10]
    resnet-bn    x[N, 3, 32, 32] → conv/BN/ReLU stem, three ResNet basic blocks
                 (16, 32, 64 channels; 1×1 conv + BN shortcuts), global average pool → fc[10]
    transformer  x[N, 16, 32] → linear to 64 + learned positions → 2 pre-norm blocks
                 (layernorm → 4-head self-attention written out as PyTorch code → residual;
                 layernorm → MLP with GELU → residual) → layernorm → mean over tokens → head[10]

    vit-mini     bench/peers/models.py's ViT, small (8×8 images, 2 blocks of width 16):
                 packed QKV split by Gather, class token expand(B, −1, −1)
    gpt-micro    its GPT, small (32 tokens, 8 positions): causal masked_fill
    resnet-a     a stem and its option-A basic block (Slice and Pad shortcut)
    mha          nn.MultiheadAttention (batch_first) self-attention
    lstm         nn.LSTM (2 layers, bidirectional, batch_first), a head on mean(Y)
    gru          nn.GRU (likewise), then a 1-layer one; a head on its mean(Y) and its Y_h
The last six are exported with constant folding, as the peers' export
script does (bench/peers/export_onnx_fixed.py); `--models` picks some.

For each NAME it writes NAME/model.onnx, NAME/x.npy (a seeded batch of 4) and
NAME/logits.npy (PyTorch's float32 outputs on x). The Go test zoo/onnx_test.go
checks modelc against them without Python. Needs Debian's python3-torch and
python3-onnx.
"""

import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x):
        return x + self.fc2(F.gelu(self.fc1(self.norm(x))))


class ResMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(64, 128)
        self.blocks = nn.Sequential(*[Block(128, 256) for _ in range(3)])
        self.norm = nn.LayerNorm(128)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        return self.head(self.norm(self.blocks(self.embed(x))))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.short is None else self.short(x)))


class ResNetBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.layers = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 32, 2), BasicBlock(32, 64, 2))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = self.layers(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        b, t, d = x.shape
        h, dh = self.heads, d // self.heads
        q = self.q(x).reshape(b, t, h, dh).transpose(1, 2)
        k = self.k(x).reshape(b, t, h, dh).transpose(1, 2)
        v = self.v(x).reshape(b, t, h, dh).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(dh), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        return self.proj(y)


class TBlock(nn.Module):
    def __init__(self, d, heads, hidden):
        super().__init__()
        self.norm1 = nn.LayerNorm(d)
        self.attn = Attention(d, heads)
        self.norm2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(32, 64)
        self.pos = nn.Parameter(torch.randn(1, 16, 64) * 0.1)
        self.blocks = nn.Sequential(*[TBlock(64, 4, 256) for _ in range(2)])
        self.norm = nn.LayerNorm(64)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = self.blocks(self.embed(x) + self.pos)
        return self.head(self.norm(x).mean(dim=1))


# The peers' architectures (bench/peers/models.py) in small sizes, exported
# as the peers' export script does (constant folding on): the patterns their
# full-size exports rely on, as golden tests.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "peers"))
import models as peers  # noqa: E402


class ResNetA(nn.Module):
    """A stem and one option-A basic block (stride-2 subsampling and zero-padded channels: Slice and Pad)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.block = peers.BasicBlock(8, 16, 2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.block(F.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class MHA(nn.Module):
    """nn.MultiheadAttention (batch_first) self-attention, as PyTorch exports it."""

    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        y, _ = self.attn(x, x, x, need_weights=False)
        return self.head(y.mean(dim=1))


class LSTMNet(nn.Module):
    """nn.LSTM: 2 layers, bidirectional, batch_first; a head on the mean of Y over the steps."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(8, 12, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(24, 10)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y.mean(dim=1))


class GRUNet(nn.Module):
    """nn.GRU: 2 layers, bidirectional, batch_first, then a 1-layer bidirectional nn.GRU on its Y; a head on
    the mean of that one's Y and on its Y_h. (A 2-layer GRU's h_n is a Concat along axis 0 of [2, N, H]
    parts, which generated code does not take yet: the batch is on axis 1.)"""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(8, 10, num_layers=2, bidirectional=True, batch_first=True)
        self.rnn2 = nn.GRU(20, 6, bidirectional=True, batch_first=True)
        self.head = nn.Linear(24, 10)

    def forward(self, x):
        y, _ = self.rnn(x)
        y, h = self.rnn2(y)
        return self.head(torch.cat([y.mean(dim=1), h.transpose(0, 1).flatten(1)], dim=1))


def randomize_norms(model, gen):
    """Non-trivial BN statistics and LayerNorm affines, so that nothing
    folds into an identity by accident."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
            with torch.no_grad():
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=gen))
            m.running_var.copy_(1 + 0.5 * torch.rand(m.running_var.shape, generator=gen))


MODELS = {
    # name: (constructor, input shape without the batch, opset[, constant folding, int64 input below])
    "resmlp": (ResMLP, (64,), 14),
    "resnet-bn": (ResNetBN, (3, 32, 32), 13),
    "transformer": (Transformer, (16, 32), 14),
    "vit-mini": (lambda: peers.ViT(img=8, patch=4, dim=16, depth=2, heads=2, mlp=32), (3, 8, 8), 14, True),
    "gpt-micro": (lambda: peers.GPT(vocab=32, seq=8, dim=16, depth=2, heads=2), (8,), 14, True, 32),
    "resnet-a": (ResNetA, (3, 8, 8), 14, True),
    "mha": (MHA, (6, 16), 14, True),
    "lstm": (LSTMNet, (6, 8), 14, True),
    "gru": (GRUNet, (6, 8), 14, True),
}


def export(name, out):
    ctor, shape, opset, *rest = MODELS[name]
    fold = rest[0] if rest else False
    torch.manual_seed(1)
    model = ctor()
    gen = torch.Generator().manual_seed(2)
    randomize_norms(model, gen)
    model.eval()
    if len(rest) > 1:  # token ids below rest[1]
        x = torch.randint(0, rest[1], (4,) + shape, generator=torch.Generator().manual_seed(3))
    else:
        x = torch.randn((4,) + shape, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        logits = model(x)
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    torch.onnx.export(
        model, (x,), os.path.join(d, "model.onnx"),
        input_names=["x"], output_names=["logits"],
        dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=opset,
        training=torch.onnx.TrainingMode.PRESERVE,  # see the module comment
        do_constant_folding=fold,
    )
    np.save(os.path.join(d, "x.npy"), x.numpy() if x.dtype == torch.int64 else x.numpy().astype(np.float32))
    np.save(os.path.join(d, "logits.npy"), logits.numpy().astype(np.float32))
    size = os.path.getsize(os.path.join(d, "model.onnx"))
    print(f"{name}: {size} bytes, logits {tuple(logits.shape)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated names (default: all)")
    args = ap.parse_args()
    for name in args.models.split(","):
        export(name, args.out)


if __name__ == "__main__":
    main()
