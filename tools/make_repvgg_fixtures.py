#!/usr/bin/python3
"""Writes the RepVGG test fixtures into tests/fixtures/repvgg/: tiny RepVGG and QARepVGG networks as
torch.onnx.export writes them, with PyTorch's own outputs to check QuantScope's fusion against.

The blocks are tools/train_repvgg.py's (same classes), untrained, with every BatchNormalization given
random statistics and affine parameters so that no BN is an identity. Network (input [N, 3, 8, 8]):
  block 3 -> 8 (stride 1, no identity), block 8 -> 8 (groups 2), block 8 -> 16 (stride 2),
  block 16 -> 16 (groups 4), global average pool, linear 16 -> 4.

Files, for NAME in repvgg, qarepvgg:
  NAME_train.onnx    training-time form (each BN a node; TrainingMode.PRESERVE, no constant folding)
  NAME_folded.onnx   default export (the exporter folds each conv's BN; identity / post-sum BN stay)
  NAME_output.npy    PyTorch's logits for input.npy (eval mode, training-time form)
  NAME_deploy_output.npy  the same after PyTorch's re-parameterization (get_equivalent_kernel_bias)
  input.npy          float32 [2, 3, 8, 8]

Deterministic (fixed seed, no time stamps). Usage (from the repo root):
  /usr/bin/python3 tools/make_repvgg_fixtures.py [--out tests/fixtures/repvgg]
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_repvgg import RepVGGBlock  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 7
OPSET = 13


class TinyNet(nn.Module):
    def __init__(self, qa):
        super().__init__()
        self.blocks = nn.Sequential(RepVGGBlock(3, 8, 1, qa), RepVGGBlock(8, 8, 1, qa, groups=2),
                                    RepVGGBlock(8, 16, 2, qa), RepVGGBlock(16, 16, 1, qa, groups=4))
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.blocks(x), 1), 1))


def randomize_bn(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = torch.rand(c, generator=gen) + 0.5
            m.bias.data = torch.randn(c, generator=gen) * 0.2
            m.running_mean = torch.randn(c, generator=gen) * 0.3
            m.running_var = torch.rand(c, generator=gen) * 1.5 + 0.5


def export(model, path, **kw):
    torch.onnx.export(model, torch.zeros(1, 3, 8, 8), path, opset_version=OPSET, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, **kw)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "fixtures", "repvgg"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    x = torch.randn(2, 3, 8, 8, generator=gen)
    np.save(os.path.join(args.out, "input.npy"), x.numpy())
    for qa in (False, True):
        name = "qarepvgg" if qa else "repvgg"
        model = TinyNet(qa)
        randomize_bn(model, gen)
        model.eval()
        with torch.no_grad():
            y = model(x)
        export(model, os.path.join(args.out, f"{name}_train.onnx"), training=torch.onnx.TrainingMode.PRESERVE,
               do_constant_folding=False)
        export(model, os.path.join(args.out, f"{name}_folded.onnx"))
        np.save(os.path.join(args.out, f"{name}_output.npy"), y.numpy())
        for b in model.blocks:
            b.reparameterize()
        with torch.no_grad():
            yd = model(x)
        np.save(os.path.join(args.out, f"{name}_deploy_output.npy"), yd.numpy())
        print(f"{name}: max |train - deploy| = {float((y - yd).abs().max()):.2e}")
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"wrote {args.out} ({total} bytes)")


if __name__ == "__main__":
    main()
