"""Export torchvision's classic CNNs to ONNX as a new user would, with inputs and PyTorch's outputs.

    /usr/bin/python3 zoo/export_torchvision.py [--out out/torchvision] [--models mobilenet_v2,...]

Each model is built by torchvision 0.14 (Debian's python3-torchvision) with
seeded random weights (torch.manual_seed(0) before construction, so every run
writes the same weights; BatchNorm running statistics are drawn too, so
folding them is not a no-op), put in eval mode and exported by
torch.onnx.export at opset 14 with its defaults (constant folding on, which
folds BatchNorm into the convolutions, as most exports do), on a 64×64 image:

    NAME/fixed.onnx     input [1, 3, 64, 64], output [1, 1000]: every shape fixed
    NAME/dynamic.onnx   input [N, 3, 64, 64], output [N, 1000]: dynamic_axes on dim 0
    NAME/x1.npy, NAME/logits1.npy   a seeded batch of 1 and PyTorch's float32 outputs on it
    NAME/x4.npy, NAME/logits4.npy   a seeded batch of 4 and PyTorch's outputs on it

The models (issue 21): mobilenet_v2, mobilenet_v3_small, efficientnet_b0,
regnet_y_400mf, shufflenet_v2_x1_0, resnet18, convnext_tiny. Together their
files are ~250 MB, so they are written under out/ (not committed); the script
is what makes them reproducible. Check one with

    modelc build out/torchvision/mobilenet_v2/fixed.onnx
    modelc bench out/torchvision/mobilenet_v2/fixed.onnx --peers ort --layers
"""

import argparse
import os
import sys

import numpy as np
import torch
import torchvision

MODELS = ["mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "regnet_y_400mf",
          "shufflenet_v2_x1_0", "resnet18", "convnext_tiny"]


def build(name):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None)
    # Random running statistics: with the defaults (mean 0, var 1) BatchNorm
    # is the identity and a wrong fold would go unnoticed.
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) * 0.5 + 0.75)
    return model.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="out/torchvision")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ",".join(MODELS))
    a = ap.parse_args()
    names = [n for n in a.models.split(",") if n]
    for n in names:
        if n not in MODELS:
            sys.exit(f"export_torchvision.py: --models: unknown model {n!r} (want some of {','.join(MODELS)})")
    for name in names:
        d = os.path.join(a.out, name)
        os.makedirs(d, exist_ok=True)
        model = build(name)
        g = torch.Generator().manual_seed(2)
        x4 = torch.randn(4, 3, 64, 64, generator=g)
        x1 = x4[:1].clone()
        with torch.no_grad():
            for tag, x in (("1", x1), ("4", x4)):
                np.save(os.path.join(d, f"x{tag}.npy"), x.numpy())
                np.save(os.path.join(d, f"logits{tag}.npy"), model(x).numpy().astype(np.float32))
            torch.onnx.export(model, x1, os.path.join(d, "fixed.onnx"), opset_version=14,
                              input_names=["input"], output_names=["output"])
            torch.onnx.export(model, x1, os.path.join(d, "dynamic.onnx"), opset_version=14,
                              input_names=["input"], output_names=["output"],
                              dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
        print(f"{name}: {d}/fixed.onnx, dynamic.onnx, x1/x4.npy, logits1/logits4.npy", flush=True)


if __name__ == "__main__":
    main()
