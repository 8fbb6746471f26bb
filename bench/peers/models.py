# Copied verbatim from the project's reference peers, with only this header added.  The zoo's model.yaml
# files (zoo/<name>/) describe exactly these four models, in architecture, parameter names and seeds, and
# `make zoo-crosscheck` proves it (zoo/crosscheck.py loads modelc's seeded weights into these modules with
# load_state_dict(strict=True) and compares outputs).  Do not change a model here without its model.yaml,
# and rerun the crosscheck.
"""Reference PyTorch models for modelc's latency peers (random weights, fixed seeds).

    mlp       Scaling-MLPs-style residual MLP: 3072 -> 512, 6 x [x + W2 GELU(W1 LN(x))] (4x), LN, -> 10
    resnet20  CIFAR ResNet-20 (He et al. 2016): conv-BN-ReLU, 3 stages x 3 basic blocks, 16/32/64 channels,
              option-A (parameter-free) shortcuts, global avg pool, -> 10
    vit-tiny  ViT: 32x32x3 input, patch 4 (64 patches + cls), dim 192, depth 12, 3 heads, MLP 768,
              pre-norm, GELU, final LN, head on cls -> 10
    gpt-mini  causal decoder: vocab 512, seq 128, dim 256, 6 layers, 4 heads, pre-norm LN, GELU MLP (4x),
              learned positions, final LN, untied LM head; full-sequence forward -> logits [B,128,512]

Only torch is needed (Debian's python3-torch 1.13 works; attention is written out by hand so that ONNX
export with opset 13/14 needs no newer op).  build(name) returns the model in eval mode; example_input(name,
batch) returns a deterministic input of the right shape and dtype.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

NAMES = ["mlp", "resnet20", "vit-tiny", "gpt-mini"]
SEED = 0


# ---------------------------------------------------------------- mlp
class MLPBlock(nn.Module):
    def __init__(self, dim, expansion=4):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, dim * expansion)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(dim * expansion, dim)

    def forward(self, x):
        return x + self.fc2(self.act(self.fc1(self.norm(x))))


class ResMLP(nn.Module):
    def __init__(self, in_dim=3072, width=512, depth=6, expansion=4, classes=10):
        super().__init__()
        self.embed = nn.Linear(in_dim, width)
        self.blocks = nn.Sequential(*[MLPBlock(width, expansion) for _ in range(depth)])
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, classes)

    def forward(self, x):  # x: [B, 3072] (a flattened 32x32x3 image)
        return self.head(self.norm(self.blocks(self.embed(x))))


# ---------------------------------------------------------------- resnet20
class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = cout - cin
        self.stride = stride

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x
        if self.stride != 1 or self.pad:
            # option A: subsample spatially, zero-pad the new channels
            sc = x[:, :, :: self.stride, :: self.stride]
            sc = F.pad(sc, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return F.relu(out + sc)


class ResNet20(nn.Module):
    def __init__(self, classes=10, n=3):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(n):
                layers.append(BasicBlock(cin, cout, stride if i == 0 else 1))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):  # x: [B, 3, 32, 32]
        x = F.relu(self.bn(self.conv(x)))
        x = self.layers(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


# ---------------------------------------------------------------- transformer parts
class Attention(nn.Module):
    def __init__(self, dim, heads, causal=False, seq=None):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.causal = causal
        if causal:
            mask = torch.triu(torch.ones(seq, seq, dtype=torch.bool), diagonal=1)
            self.register_buffer("mask", mask, persistent=False)

    def forward(self, x):
        b, t, d = x.shape
        h = self.heads
        qkv = self.qkv(x).reshape(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)  # [3, B, H, T, Dh]
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // h))
        if self.causal:
            att = att.masked_fill(self.mask[:t, :t], float("-inf"))
        att = att.softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        return self.proj(y)


class Block(nn.Module):
    def __init__(self, dim, heads, mlp, causal=False, seq=None):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, causal, seq)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp)
        self.fc2 = nn.Linear(mlp, dim)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class ViT(nn.Module):
    def __init__(self, img=32, patch=4, dim=192, depth=12, heads=3, mlp=768, classes=10):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, patch, patch)
        n = (img // patch) ** 2
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):  # x: [B, 3, 32, 32]
        x = self.patch(x).flatten(2).transpose(1, 2)  # [B, 64, dim]
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


class GPT(nn.Module):
    def __init__(self, vocab=512, seq=128, dim=256, depth=6, heads=4):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(1, seq, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads, 4 * dim, causal=True, seq=seq) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)

    def forward(self, idx):  # idx: [B, 128] int64 token ids
        x = self.tok(idx) + self.pos[:, : idx.shape[1]]
        return self.head(self.norm(self.blocks(x)))


# ---------------------------------------------------------------- API
def build(name):
    torch.manual_seed(SEED)
    model = {
        "mlp": ResMLP,
        "resnet20": ResNet20,
        "vit-tiny": ViT,
        "gpt-mini": GPT,
    }[name]()
    if name == "resnet20":  # non-trivial BN statistics so that BN folding is exercised
        g = torch.Generator().manual_seed(SEED + 1)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return model.eval()


def example_input(name, batch):
    g = torch.Generator().manual_seed(SEED + 2)
    if name == "mlp":
        return torch.randn(batch, 3072, generator=g)
    if name == "gpt-mini":
        return torch.randint(0, 512, (batch, 128), generator=g, dtype=torch.int64)
    return torch.randn(batch, 3, 32, 32, generator=g)


def flops(name):
    """Approximate multiply-add FLOPs (2 per MAC) of one sample's forward pass (matmul/conv only)."""
    if name == "mlp":
        return 2 * (3072 * 512 + 6 * 2 * 512 * 2048 + 512 * 10)
    if name == "resnet20":
        total, hw, cin = 3 * 16 * 9 * 32 * 32, 32, 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(3):
                s = stride if i == 0 else 1
                hw //= s
                total += (cin * cout * 9 + cout * cout * 9) * hw * hw
                cin = cout
        return 2 * (total + 64 * 10)
    if name == "vit-tiny":
        t, d = 65, 192
        per = t * (4 * d * d + 2 * d * 768) + 2 * t * t * d
        return 2 * (64 * 3 * 16 * d + 12 * per + d * 10)
    if name == "gpt-mini":
        t, d = 128, 256
        per = t * (4 * d * d + 2 * d * 4 * d) + 2 * t * t * d
        return 2 * (6 * per + t * d * 512)
    raise KeyError(name)


if __name__ == "__main__":
    for n in NAMES:
        m = build(n)
        params = sum(p.numel() for p in m.parameters())
        with torch.inference_mode():
            y = m(example_input(n, 2))
        print(f"{n:9s} params {params/1e6:6.2f} M  fp32 {params*4/2**20:6.1f} MiB  "
              f"GFLOP/sample {flops(n)/1e9:6.3f}  out {tuple(y.shape)}")
