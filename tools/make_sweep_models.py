#!/usr/bin/python3
"""Exports small models in the forms third-party exporters write, for the robustness sweep
(tools/sweep_check.sh runs the whole CLI path and ONNX Runtime on each).

Run with /usr/bin/python3 (torch 1.13, onnx 1.12):  tools/make_sweep_models.py OUT_DIR
Writes OUT_DIR/NAME.onnx and OUT_DIR/NAME.calib.npy (256 samples) / NAME.test.npy (200 samples) per model.
Architectures are written in plain torch (no torchvision); weights are random with BatchNorm statistics
set by a few forward passes in training mode, so activations have realistic, non-degenerate ranges.
"""
import os
import zlib
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
np.random.seed(0)


def conv_bn(cin, cout, k=3, s=1, g=1, act=nn.ReLU):
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


# --- MobileNetV3-style: Hardswish, depthwise, squeeze-excitation with HardSigmoid ---------------------
class SE(nn.Module):
    def __init__(self, c, r=4):
        super().__init__()
        self.fc1 = nn.Conv2d(c, c // r, 1)
        self.fc2 = nn.Conv2d(c // r, c, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        s = F.hardsigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s


class MBV3Block(nn.Module):
    def __init__(self, cin, cexp, cout, s):
        super().__init__()
        self.expand = conv_bn(cin, cexp, 1, act=nn.Hardswish)
        self.dw = conv_bn(cexp, cexp, 3, s, g=cexp, act=nn.Hardswish)
        self.se = SE(cexp)
        self.project = conv_bn(cexp, cout, 1, act=None)
        self.res = s == 1 and cin == cout

    def forward(self, x):
        y = self.project(self.se(self.dw(self.expand(x))))
        return x + y if self.res else y


class MBV3(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, 2, act=nn.Hardswish)
        self.b1 = MBV3Block(16, 48, 16, 1)
        self.b2 = MBV3Block(16, 64, 24, 2)
        self.head = nn.Linear(24, 10)

    def forward(self, x):
        x = self.b2(self.b1(self.stem(x)))
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# --- ShuffleNetV2: channel split (chunk -> Split, or slicing -> Slice), shuffle, Concat ------------------
def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    x = x.reshape(n, groups, c // groups, h, w).transpose(1, 2)
    return x.reshape(n, c, h, w)


class ShuffleUnit(nn.Module):
    def __init__(self, c, use_slice):
        super().__init__()
        h = c // 2
        self.use_slice = use_slice
        self.h = h
        self.branch = nn.Sequential(conv_bn(h, h, 1), conv_bn(h, h, 3, g=h, act=None), conv_bn(h, h, 1))

    def forward(self, x):
        if self.use_slice:
            c = x.shape[1] // 2
            a, b = x[:, :c], x[:, c:]
        else:
            a, b = torch.split(x, [self.h, self.h], dim=1)  # a Split node with constant sizes
        return channel_shuffle(torch.cat([a, self.branch(b)], 1), 2)


class ShuffleDown(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        h = cout // 2
        self.left = nn.Sequential(conv_bn(cin, cin, 3, 2, g=cin, act=None), conv_bn(cin, h, 1))
        self.right = nn.Sequential(conv_bn(cin, h, 1), conv_bn(h, h, 3, 2, g=h, act=None), conv_bn(h, h, 1))

    def forward(self, x):
        return channel_shuffle(torch.cat([self.left(x), self.right(x)], 1), 2)


class Shuffle(nn.Module):
    def __init__(self, use_slice):
        super().__init__()
        self.stem = conv_bn(3, 24, 3, 2)
        self.down = ShuffleDown(24, 48)
        self.u1 = ShuffleUnit(48, use_slice)
        self.u2 = ShuffleUnit(48, use_slice)
        self.fc = nn.Linear(48, 10)

    def forward(self, x):
        x = self.u2(self.u1(self.down(self.stem(x))))
        return self.fc(x.mean((2, 3)))


# --- Inception / DenseNet: Concat of branches at different scales, AvgPool both ways, MaxPool ceil/pad ---
class Inception(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16, 3)
        self.b1 = conv_bn(16, 8, 1)
        self.b3 = nn.Sequential(conv_bn(16, 8, 1), conv_bn(8, 12, 3))
        self.bp = nn.Sequential(nn.AvgPool2d(3, 1, 1, count_include_pad=False), conv_bn(16, 4, 1))
        self.bm = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv_bn(16, 4, 1, act=nn.ReLU6))
        self.pool = nn.MaxPool2d(3, 2, 1, ceil_mode=True)
        self.dense = conv_bn(28, 12, 3)
        self.trans = nn.AvgPool2d(2, 2, 1, count_include_pad=True)
        self.fc = nn.Linear(40, 10)

    def forward(self, x):
        x = self.stem(x)
        x = torch.cat([self.b1(x), self.b3(x) * 3.0, self.bp(x), self.bm(x)], 1)  # branch scales differ
        x = self.pool(x)
        x = torch.cat([x, self.dense(x)], 1)  # DenseNet-style growth
        x = self.trans(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# --- U-Net-ish: nearest Upsample/Resize + Concat with the skip ------------------------------------------
class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.e1 = conv_bn(3, 8)
        self.e2 = conv_bn(8, 16, s=2)
        self.e3 = conv_bn(16, 32, s=2)
        self.d2 = conv_bn(48, 16)
        self.d1 = conv_bn(24, 8)
        self.out = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        a = self.e1(x)
        b = self.e2(a)
        c = self.e3(b)
        d = self.d2(torch.cat([F.interpolate(c, scale_factor=2, mode="nearest"), b], 1))
        d = self.d1(torch.cat([F.interpolate(d, size=a.shape[2:], mode="nearest"), a], 1))
        return self.out(d)


# --- SiLU (x * Sigmoid) ----------------------------------------------------------------------------------
class SiLUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = conv_bn(3, 16, 3, 2, act=nn.SiLU)
        self.c2 = conv_bn(16, 32, 3, 2, act=nn.SiLU)
        self.c3 = conv_bn(32, 32, 3, 1, act=None)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.c2(self.c1(x))
        x = x + F.silu(self.c3(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# --- ViT-ish: patch embedding, LayerNorm, attention (MatMul/Softmax), GELU (Erf) MLP ---------------------
class ViT(nn.Module):
    def __init__(self, dim=32, heads=2):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 4, 4)
        self.pos = nn.Parameter(torch.randn(1, 64, dim) * 0.1)
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, dim * 2)
        self.fc2 = nn.Linear(dim * 2, dim)
        self.lnf = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)
        self.heads = heads

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2) + self.pos  # (N, 64, dim)
        n, t, d = x.shape
        h = self.ln1(x)
        q, k, v = self.qkv(h).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-2, -1) * (d // self.heads) ** -0.5, dim=-1)
        x = x + self.proj((a @ v).transpose(1, 2).reshape(n, t, d))
        x = x + self.fc2(F.gelu(self.fc1(self.ln2(x))))
        return self.head(self.lnf(x).mean(1))


# --- Conv1d (rank-3 input) -------------------------------------------------------------------------------
class Conv1dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Sequential(nn.Conv1d(1, 8, 5, padding=2), nn.BatchNorm1d(8), nn.ReLU())
        self.c2 = nn.Sequential(nn.Conv1d(8, 16, 3, stride=2, padding=1), nn.BatchNorm1d(16), nn.ReLU())
        self.pool = nn.MaxPool1d(2)
        self.fc = nn.Linear(16 * 16, 10)

    def forward(self, x):
        x = self.pool(self.c2(self.c1(x)))
        return self.fc(x.view(x.size(0), -1))


# --- LeNet-like on 1x28x28, with ReLU6/Hardtanh (Clip) and x.view(x.size(0), -1) (Shape->Gather->Concat) --
class ClipNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc1 = nn.Linear(16 * 7 * 7, 32)
        self.bnf = nn.BatchNorm1d(32)  # a BatchNorm no exporter folds (after a Linear)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu6(self.bn1(self.c1(x)))
        x = F.max_pool2d(x, 2)
        x = F.hardtanh(self.bn2(self.c2(x)), -1.0, 2.0)
        x = x.view(x.size(0), -1)
        return self.fc2(F.relu(self.bnf(self.fc1(x))))


# --- Channel softmax (Softmax over axis 1 of a 4-D tensor: before opset 13 this coerces to 2-D) ---------
class ChannelAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = conv_bn(3, 16, 3, 2)
        self.logits = nn.Conv2d(16, 8, 1)
        self.value = conv_bn(16, 8, 1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.c1(x)
        a = torch.softmax(self.logits(x), dim=1)
        x = (a * self.value(x)).unsqueeze(1).squeeze(1)  # Unsqueeze/Squeeze with axes
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def make_data(rng, n, shape):
    """Smooth random fields plus noise, so activations are not pure white noise."""
    x = rng.standard_normal((n, *shape)).astype(np.float32)
    if len(shape) == 3:
        k = torch.ones(1, 1, 3, 3) / 9
        x = F.conv2d(torch.from_numpy(x).reshape(-1, 1, *shape[1:]), k, padding=1).reshape(n, *shape).numpy() * 2
    return x.astype(np.float32)


def fit(model, shape, rng, steps=80):
    """Brief fitting of classifiers to a fixed random linear teacher, so that the 10 scores differ per
    input and top-1 agreement between engines means something. Other models keep random weights."""
    with torch.no_grad():
        if model(torch.zeros(2, *shape)).shape != (2, 10):
            return
    teacher = torch.from_numpy(rng.standard_normal((int(np.prod(shape)), 10)).astype(np.float32))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        x = torch.from_numpy(make_data(rng, 64, shape))
        y = (x.flatten(1) @ teacher).argmax(1)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


def settle_bn(model, shape, rng):
    """A few training-mode passes so BatchNorm running statistics match the data."""
    model.train()
    with torch.no_grad():
        for _ in range(8):
            model(torch.from_numpy(make_data(rng, 32, shape)))
    model.eval()


# name: (module factory, input shape (no batch), export kwargs)
MODELS = {
    "mbv3_op13": (MBV3, (3, 32, 32), dict(opset_version=13)),
    "shuffle_split_op13": (lambda: Shuffle(False), (3, 32, 32), dict(opset_version=13)),
    "shuffle_slice_op11": (lambda: Shuffle(True), (3, 32, 32), dict(opset_version=11)),
    "inception_op11": (Inception, (3, 32, 32), dict(opset_version=11)),
    "unet_op11": (UNet, (3, 32, 32), dict(opset_version=11)),
    "unet_op17_dyn": (UNet, (3, 32, 32), dict(opset_version=17, dynamic_axes={"input": {0: "N"}})),
    "silu_op17": (SiLUNet, (3, 32, 32), dict(opset_version=17)),
    "vit_op13": (ViT, (3, 32, 32), dict(opset_version=13)),
    "vit_op17": (ViT, (3, 32, 32), dict(opset_version=17)),
    "conv1d_op13": (Conv1dNet, (1, 64), dict(opset_version=13)),
    # BatchNorm left as nodes (the export keeps training-mode structure but the model is in eval).
    "clip_bn_unfolded_op12": (
        ClipNet, (1, 28, 28),
        dict(opset_version=12, training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)),
    # Initializers listed as graph inputs, dynamic batch (Shape->Gather->Unsqueeze->Concat->Reshape).
    "clip_kiai_dyn_op11": (
        ClipNet, (1, 28, 28),
        dict(opset_version=11, keep_initializers_as_inputs=True, dynamic_axes={"input": {0: "N"}})),
    # Clip with min/max attributes (opset < 11).
    "clip_op10": (ClipNet, (1, 28, 28), dict(opset_version=10)),
    "mbv3_op17_dyn": (MBV3, (3, 32, 32), dict(opset_version=17, dynamic_axes={"input": {0: "N"}})),
    # Older forms the quantized export rewrites to opset 13 (core/graph/opset_upgrade.h).
    "chansoftmax_op11": (ChannelAttention, (3, 32, 32), dict(opset_version=11)),
    "shuffle_split_op11": (lambda: Shuffle(False), (3, 32, 32), dict(opset_version=11)),
    "inception_op10": (Inception, (3, 32, 32), dict(opset_version=10)),
    "unet_op9": (UNet, (3, 32, 32), dict(opset_version=9)),
    "vit_op11": (ViT, (3, 32, 32), dict(opset_version=11)),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/sweep/models"
    only = set(sys.argv[2:])
    os.makedirs(out, exist_ok=True)
    for name, (factory, shape, kw) in MODELS.items():
        if only and name not in only:
            continue
        torch.manual_seed(zlib.crc32(name.encode()) % 1000)
        m = factory()
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        fit(m, shape, rng)
        settle_bn(m, shape, rng)
        x = torch.randn(1, *shape)
        path = os.path.join(out, name + ".onnx")
        torch.onnx.export(m, x, path, input_names=["input"], output_names=["output"], **kw)
        for split, n in (("calib", 256), ("test", 200)):
            np.save(os.path.join(out, f"{name}.{split}.npy"), make_data(rng, n, shape))
        print(name, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
