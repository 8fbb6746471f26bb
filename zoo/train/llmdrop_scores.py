"""LLM-Drop's layer-dropping scores for the vit twin, computed with PyTorch hooks.

    /usr/bin/python3 zoo/train/llmdrop_scores.py [--twin zoo/twins/vit]      (make zoo-drop-scores)

The reference modelc's attention-drop pass is tested against (passes:
TestAttentionDropTorch, which reads the JSON this writes, so `make test`
needs no torch). It rebuilds the twin's PyTorch model (train.py's ViT) from
weights.safetensors and, as LLM-Drop (He et al. 2024, Shwai-He/LLM-Drop)
does with its default layer_drop_norm=True, scores each residual sublayer
on the calibration rows (calib_x.npy) by the cosine similarity of the
hidden state entering it (before its norm) and leaving it (after the
residual add):

    X   forward pre-hook on ln1 (attention) / ln2 (MLP) / the block: its input
    Y   X + the output of attn (forward hook) / X + fc2's output / the block's output
    Sim = mean over every token of every row of cos(X_t, Y_t)   (float64)

and ranks them: drop the k highest Sim (ties to the lower layer). For
k = 1, 2, 3 attention regions it also runs the held-out set through the
model with those attention sublayers removed (h_out = h_in) and records
PyTorch's top-1, the accuracy modelc's dropped graph must reproduce.

Writes <twin>/drop_scores.json. Needs Debian's python3-torch (and
python3-sklearn, which train.py imports).
"""

import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train  # noqa: E402  (the twins' model definitions)


def read_safetensors(path):
    """A safetensors file as {name: float32 tensor} (F32 only), without the safetensors package."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name}: dtype {info['dtype']}, want F32")
        lo, hi = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[lo:hi], dtype=np.float32).reshape(info["shape"]).copy())
    return out


def cos_sum(x, y):
    """Σ over tokens of cos(x_t, y_t) along the last axis, float64, and the token count."""
    x, y = x.double().reshape(-1, x.shape[-1]), y.double().reshape(-1, y.shape[-1])
    cos = (x * y).sum(-1) / (x.norm(dim=-1) * y.norm(dim=-1))
    return cos.sum().item(), x.shape[0]


def scores(model, x):
    """Sim of every attention, MLP and block region on rows x, by hooks."""
    sums = {k: [0.0] * len(model.blocks) for k in ("attn", "mlp", "block")}
    tokens = {"n": 0}
    saved = {}
    hooks = []
    for i, blk in enumerate(model.blocks):
        def pre(key):
            def f(_mod, args):
                saved[key] = args[0].detach()
            return f

        def attn_out(i):
            def f(_mod, _args, out):
                s, n = cos_sum(saved[("attn", i)], saved[("attn", i)] + out.detach())
                sums["attn"][i] += s
                if i == 0:
                    tokens["n"] += n
            return f

        def mlp_out(i):
            def f(_mod, _args, out):
                s, _ = cos_sum(saved[("mlp", i)], saved[("mlp", i)] + out.detach())
                sums["mlp"][i] += s
            return f

        def block_out(i):
            def f(_mod, _args, out):
                s, _ = cos_sum(saved[("block", i)], out.detach())
                sums["block"][i] += s
            return f

        hooks += [blk.ln1.register_forward_pre_hook(pre(("attn", i))),
                  blk.attn.register_forward_hook(attn_out(i)),
                  blk.ln2.register_forward_pre_hook(pre(("mlp", i))),
                  blk.fc2.register_forward_hook(mlp_out(i)),
                  blk.register_forward_pre_hook(pre(("block", i))),
                  blk.register_forward_hook(block_out(i))]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return {k: [s / tokens["n"] for s in v] for k, v in sums.items()}, tokens["n"]


def ranking(sims):
    """Indices by Sim, highest first, ties to the lower index."""
    return sorted(range(len(sims)), key=lambda i: (-sims[i], i))


class Skip(torch.nn.Module):
    """An attention sublayer removed: contributes nothing to the residual."""

    def forward(self, x):
        return torch.zeros_like(x)


def top1_without(model, drop, x, y):
    """Held-out top-1 with the attention sublayers in drop removed (h_out = h_in)."""
    saved = [blk.attn for blk in model.blocks]
    for i in drop:
        model.blocks[i].attn = Skip()
    with torch.no_grad():
        pred = model(x).argmax(-1)
    for blk, a in zip(model.blocks, saved):
        blk.attn = a
    return int((pred == y).sum().item())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--twin", default="zoo/twins/vit")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = train.ViT()
    model.load_state_dict(read_safetensors(os.path.join(args.twin, "weights.safetensors")))
    model.eval()
    x = torch.from_numpy(np.load(os.path.join(args.twin, "calib_x.npy")))
    sims, ntok = scores(model, x)
    hx = torch.from_numpy(np.load(os.path.join(args.twin, "heldout_x.npy")))
    hy = torch.from_numpy(np.load(os.path.join(args.twin, "heldout_labels.npy")))
    drops, top1 = {}, {"0": top1_without(model, [], hx, hy)}
    for k in (1, 2, 3):
        d = sorted(ranking(sims["attn"])[:k])
        drops[str(k)] = d
        top1[str(k)] = top1_without(model, d, hx, hy)
    out = {
        "source": "zoo/train/llmdrop_scores.py (PyTorch forward hooks, LLM-Drop's layer_drop_norm=True scores)",
        "torch": torch.__version__,
        "calibration": {"rows": int(x.shape[0]), "tokens": ntok},
        "sim": sims,
        "attn_drops": drops,
        "heldout_rows": int(hx.shape[0]),
        "heldout_correct_after_attn_drop": top1,
    }
    path = os.path.join(args.twin, "drop_scores.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {path}: attention Sim {['%.6f' % s for s in sims['attn']]}, drops {drops}, held-out correct {top1}")


if __name__ == "__main__":
    main()
