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


# --- MobileNetV2-style at 96x96: ReLU6, inverted residuals, a 5x5 depthwise layer; its first stage is too
# wide for the integer engine's channels-last layout, the later ones take it (core/int/engine.cpp) --------
class InvRes(nn.Module):
    def __init__(self, cin, cout, s, e=4, k=3):
        super().__init__()
        h = cin * e
        self.body = nn.Sequential(conv_bn(cin, h, 1, act=nn.ReLU6), conv_bn(h, h, k, s, g=h, act=nn.ReLU6),
                                  conv_bn(h, cout, 1, act=None))
        self.res = s == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.res else y


class MBV2Wide(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, 2, act=nn.ReLU6)
        self.blocks = nn.Sequential(InvRes(16, 16, 1, e=2), InvRes(16, 24, 2), InvRes(24, 24, 1, k=5),
                                    InvRes(24, 40, 2), InvRes(40, 40, 1))
        self.head = conv_bn(40, 128, 1, act=nn.ReLU6)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


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


# --- Second sweep ---------------------------------------------------------------------------------------
# EfficientNet MBConv: SiLU, squeeze-excitation with Sigmoid * Mul, stride-2 depthwise 5x5.
class MBConv(nn.Module):
    def __init__(self, cin, cexp, cout, k, s):
        super().__init__()
        self.expand = conv_bn(cin, cexp, 1, act=nn.SiLU) if cexp != cin else nn.Identity()
        self.dw = conv_bn(cexp, cexp, k, s, g=cexp, act=nn.SiLU)
        self.se1 = nn.Conv2d(cexp, max(1, cin // 4), 1)
        self.se2 = nn.Conv2d(max(1, cin // 4), cexp, 1)
        self.project = conv_bn(cexp, cout, 1, act=None)
        self.res = s == 1 and cin == cout

    def forward(self, x):
        y = self.dw(self.expand(x))
        y = y * torch.sigmoid(self.se2(F.silu(self.se1(y.mean((2, 3), keepdim=True)))))
        y = self.project(y)
        return x + y if self.res else y


class EffNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, 2, act=nn.SiLU)
        self.b1 = MBConv(16, 16, 16, 3, 1)
        self.b2 = MBConv(16, 64, 24, 5, 2)
        self.b3 = MBConv(24, 96, 24, 5, 1)
        self.head = conv_bn(24, 64, 1, act=nn.SiLU)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.head(self.b3(self.b2(self.b1(self.stem(x)))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# ResNeXt / RegNet: grouped 3x3 convolutions (groups 4 and 8) in bottlenecks with residuals.
class XBlock(nn.Module):
    def __init__(self, cin, cout, groups, s):
        super().__init__()
        self.a = conv_bn(cin, cout, 1)
        self.b = conv_bn(cout, cout, 3, s, g=groups)
        self.c = conv_bn(cout, cout, 1, act=None)
        self.short = conv_bn(cin, cout, 1, s, act=None) if (s != 1 or cin != cout) else nn.Identity()

    def forward(self, x):
        return F.relu(self.short(x) + self.c(self.b(self.a(x))))


class ResNeXt(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, 1)
        self.b1 = XBlock(16, 32, 4, 2)
        self.b2 = XBlock(32, 32, 8, 1)
        self.b3 = XBlock(32, 64, 8, 2)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.b3(self.b2(self.b1(self.stem(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# ConvNeXt: 7x7 depthwise, permute to NHWC, LayerNorm over channels, Linear on 4-D (MatMul + Add), GELU,
# layer scale (Mul by a constant vector), permute back, residual.
class ConvNeXtBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.ln = nn.LayerNorm(c, eps=1e-6)
        self.pw1 = nn.Linear(c, 4 * c)
        self.pw2 = nn.Linear(4 * c, c)
        self.gamma = nn.Parameter(torch.rand(c) * 0.5 + 0.25)

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.pw2(F.gelu(self.pw1(self.ln(y)))) * self.gamma
        return x + y.permute(0, 3, 1, 2)


class ConvNeXt(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 24, 4, 4)
        self.stem_ln = nn.LayerNorm(24, eps=1e-6)
        self.b1 = ConvNeXtBlock(24)
        self.b2 = ConvNeXtBlock(24)
        self.ln = nn.LayerNorm(24, eps=1e-6)
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        x = self.stem(x)
        x = self.stem_ln(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        x = self.b2(self.b1(x))
        return self.fc(self.ln(x.mean((2, 3))))


# YOLO-style neck and heads: nearest Upsample x2 + Concat + 1x1 convs, Sigmoid, two outputs.
class YOLO(nn.Module):
    def __init__(self, large_first=False):
        super().__init__()
        self.large_first = large_first  # the sweep compares the first output: this checks the other one
        self.c1 = conv_bn(3, 16, 3, 2, act=nn.SiLU)
        self.c2 = conv_bn(16, 32, 3, 2, act=nn.SiLU)
        self.c3 = conv_bn(32, 64, 3, 2, act=nn.SiLU)
        self.lat = conv_bn(64, 32, 1, act=nn.SiLU)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.fuse = conv_bn(64, 32, 1, act=nn.SiLU)
        self.head_s = nn.Conv2d(32, 3 * 7, 1)
        self.head_l = nn.Conv2d(64, 3 * 7, 1)

    def forward(self, x):
        p3 = self.c2(self.c1(x))
        p4 = self.c3(p3)
        f = self.fuse(torch.cat([self.up(self.lat(p4)), p3], 1))
        s, l = torch.sigmoid(self.head_s(f)), torch.sigmoid(self.head_l(p4))
        return (l, s) if self.large_first else (s, l)


# DenseNet/U-Net with ConvTranspose upsampling (stride 2, grouped, with and without output_padding; one
# followed by BatchNorm).
class UNetT(nn.Module):
    def __init__(self):
        super().__init__()
        self.e1 = conv_bn(3, 8)
        self.e2 = conv_bn(8, 16, s=2)
        self.e3 = conv_bn(16, 32, s=2)
        self.u2 = nn.ConvTranspose2d(32, 16, 2, 2, groups=2)
        self.d2 = conv_bn(32, 16)
        self.u1 = nn.ConvTranspose2d(16, 8, 3, 2, padding=1, output_padding=1)
        self.bn_u1 = nn.BatchNorm2d(8)
        self.d1 = conv_bn(16, 8)
        self.out = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        a = self.e1(x)
        b = self.e2(a)
        c = self.e3(b)
        d = self.d2(torch.cat([F.relu(self.u2(c)), b], 1))
        d = self.d1(torch.cat([a, F.relu(self.bn_u1(self.u1(d)))], 1))
        return self.out(d)


# Transformer with torch.nn.MultiheadAttention (batch_first) plus an MLP-Mixer token-mixing MLP.
class MHA(nn.Module):
    def __init__(self, dim=32, heads=4):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 4, 4)
        self.ln1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(dim)
        self.tok1 = nn.Linear(64, 32)
        self.tok2 = nn.Linear(32, 64)
        self.ln3 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)  # (N, 64, dim)
        h = self.ln1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        x = x + self.tok2(F.gelu(self.tok1(self.ln2(x).transpose(1, 2)))).transpose(1, 2)  # token mixing
        x = x + self.mlp(self.ln3(x))
        return self.head(x.mean(1))


# Recurrent: GRU over a sequence (need not quantize; must fail or fall back with a clear message).
class GRUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16, batch_first=True)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        y, _ = self.gru(x)
        return self.fc(y[:, -1])


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y[:, -1])


# Model for the opset-18 rewrite: ReduceMean, Pad, Split, Resize, all in one graph.
class Op18Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = conv_bn(3, 16, 3, 2)
        self.a = conv_bn(8, 8, 3)
        self.b = conv_bn(16, 16, 3, act=None)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.c1(x)
        p, q = torch.split(x, [8, 8], dim=1)
        p = self.a(F.pad(p, (1, 1, 1, 1), mode="reflect"))[:, :, 1:-1, 1:-1]
        y = torch.cat([p, q], 1)
        y = F.interpolate(F.max_pool2d(y, 2), scale_factor=2, mode="nearest") + y
        y = self.b(y)
        return self.fc(y.mean((2, 3)))


class LRNFn(torch.autograd.Function):
    """torch exports nn.LocalResponseNorm as a decomposition with an If; the ONNX zoo's Caffe-converted
    GoogLeNet/AlexNet hold the LRN op itself, which this writes."""

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        return nn.functional.local_response_norm(x, size, alpha, beta, k)

    @staticmethod
    def symbolic(g, x, size, alpha, beta, k):
        return g.op("LRN", x, size_i=size, alpha_f=alpha, beta_f=beta, bias_f=k)


class LRN(nn.Module):
    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.args = (size, alpha, beta, k)

    def forward(self, x):
        if torch.onnx.is_in_onnx_export():
            return LRNFn.apply(x, *self.args)
        return nn.functional.local_response_norm(x, *self.args)


class LRNNet(nn.Module):
    """GoogLeNet/AlexNet-style stem: LRN after the first convolutions."""

    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(
            nn.Conv2d(3, 16, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2), LRN(5),
            nn.Conv2d(16, 32, 3, 1, 1), nn.ReLU(), LRN(3, alpha=2e-4, beta=0.7, k=2.0),
            nn.MaxPool2d(2), nn.Conv2d(32, 32, 3, 1, 1), nn.ReLU())
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(self.f(x).mean((2, 3)))


class NormNet(nn.Module):
    """Style-transfer / GAN-style blocks: InstanceNorm (affine), GroupNorm, Mish and Hardswish."""

    def __init__(self):
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1), nn.InstanceNorm2d(16, affine=True), nn.ReLU())
        self.b = nn.Sequential(nn.Conv2d(16, 32, 3, 2, 1), nn.GroupNorm(4, 32), nn.Mish())
        self.c = nn.Sequential(nn.Conv2d(32, 32, 3, 2, 1), nn.InstanceNorm2d(32), nn.Hardswish())
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(self.c(self.b(self.a(x))).mean((2, 3)))


class NHWCInput(nn.Module):
    """tf2onnx style: the graph input is NHWC and a leading Transpose makes it NCHW."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x.permute(0, 3, 1, 2))


# --- Rewrites of exported graphs into forms torch 1.13 does not write ------------------------------------
def _const(m, name, values):
    from onnx import helper, TensorProto
    m.graph.initializer.append(helper.make_tensor(name, TensorProto.INT64, [len(values)], values))
    return name


def _fold_constant_chains(m):
    """Constant nodes become initializers and the small shape computations on them (torch writes a Pad's
    pads as ConstantOfShape -> Concat -> Reshape -> Slice -> Transpose -> Reshape -> Cast) are evaluated,
    so that the opset-18 rewrite sees constant sizes, pads and axes."""
    from onnx import numpy_helper
    vals = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    keep = []
    for n in m.graph.node:
        a = {x.name: x for x in n.attribute}
        ins = [vals.get(i) for i in n.input if i]
        done = None
        if n.op_type == "Constant" and "value" in a:
            done = numpy_helper.to_array(a["value"].t)
        elif ins and all(v is not None for v in ins):
            if n.op_type == "ConstantOfShape":
                v = numpy_helper.to_array(a["value"].t) if "value" in a else np.zeros(1, np.float32)
                done = np.full(ins[0].astype(np.int64), v.reshape(-1)[0], v.dtype)
            elif n.op_type == "Concat":
                done = np.concatenate(ins, a["axis"].i)
            elif n.op_type == "Reshape":
                done = ins[0].reshape(ins[1])
            elif n.op_type == "Transpose":
                done = ins[0].transpose(list(a["perm"].ints) if "perm" in a else None)
            elif n.op_type == "Cast":
                done = ins[0].astype(onnx_to_np(a["to"].i))
            elif n.op_type == "Slice":
                data, st, en = ins[:3]
                ax = ins[3] if len(ins) > 3 else range(len(st))
                sp = ins[4] if len(ins) > 4 else [1] * len(st)
                sl = [slice(None)] * data.ndim
                for b, e, x, k in zip(st, en, ax, sp):
                    sl[int(x)] = slice(int(b), None if (k < 0 and e < -data.shape[int(x)]) else int(e), int(k))
                done = data[tuple(sl)]
        if done is None:
            keep.append(n)
            continue
        vals[n.output[0]] = np.asarray(done)
        m.graph.initializer.append(numpy_helper.from_array(np.asarray(done), n.output[0]))
    del m.graph.node[:]
    m.graph.node.extend(keep)
    used = {i for n in m.graph.node for i in n.input} | {o.name for o in m.graph.output}
    inits = [t for t in m.graph.initializer if t.name in used]
    del m.graph.initializer[:]
    m.graph.initializer.extend(inits)


def onnx_to_np(t):
    from onnx import mapping
    return mapping.TENSOR_TYPE_TO_NP_TYPE[t]


def to_opset18(m):
    """An opset-13 export rewritten to opset 18's forms: reductions take axes as an input, Pad names its
    axes, Split says num_outputs instead of sizes; Resize keeps its inputs (antialias left absent)."""
    from onnx import helper, numpy_helper
    _fold_constant_chains(m)
    inits = {t.name: t for t in m.graph.initializer}
    reduces = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
               "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"}
    for i, n in enumerate(m.graph.node):
        attrs = {a.name: a for a in n.attribute}
        if n.op_type in reduces and "axes" in attrs and len(n.input) == 1:
            n.input.append(_const(m, f"op18_axes_{i}", list(attrs["axes"].ints)))
            n.attribute.remove(attrs["axes"])
        elif n.op_type == "Split" and len(n.input) == 2 and n.input[1] in inits:
            sizes = numpy_helper.to_array(inits[n.input[1]]).tolist()
            if len(set(sizes)) == 1:
                del n.input[1]
                n.attribute.append(helper.make_attribute("num_outputs", len(sizes)))
        elif n.op_type == "Pad" and len(n.input) >= 2 and n.input[1] in inits:
            pads = numpy_helper.to_array(inits[n.input[1]]).tolist()
            r = len(pads) // 2
            keep = [a for a in range(r) if pads[a] or pads[a + r]]
            if len(keep) < r:
                new = [pads[a] for a in keep] + [pads[a + r] for a in keep]
                n.input[1] = _const(m, f"op18_pads_{i}", new)
                while len(n.input) < 3:
                    n.input.append("")
                n.input.append(_const(m, f"op18_padaxes_{i}", keep))
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = 18
    used = {i for n in m.graph.node for i in n.input}
    inits = [t for t in m.graph.initializer if t.name in used]
    del m.graph.initializer[:]
    m.graph.initializer.extend(inits)
    return m


def _insert_after(m, value, make):
    """Inserts nodes made by make(value, new_name) after the producer of value and renames consumers."""
    new = value + "_x"
    for n in m.graph.node:
        for k, v in enumerate(n.input):
            if v == value:
                n.input[k] = new
    nodes = make(value, new)
    pos = next(i for i, n in enumerate(m.graph.node) if value in n.output)
    for j, nd in enumerate(nodes):
        m.graph.node.insert(pos + 1 + j, nd)
    return m


def add_dropout_identity(m):
    """Explicit Dropout (ratio input, mask output unused) and Identity nodes, one of them producing the
    graph output, as exports of training graphs and some converters leave them."""
    from onnx import helper, TensorProto
    relus = [n.output[0] for n in m.graph.node if n.op_type == "Relu"]
    m.graph.initializer.append(helper.make_tensor("drop_ratio", TensorProto.FLOAT, [], [0.25]))
    _insert_after(m, relus[0], lambda v, new: [
        helper.make_node("Dropout", [v, "drop_ratio"], [v + "_d", v + "_mask"], name="explicit_dropout"),
        helper.make_node("Identity", [v + "_d"], [new], name="explicit_identity")])
    out = m.graph.output[0].name
    prod = next(n for n in m.graph.node if out in n.output)
    prod.output[list(prod.output).index(out)] = out + "_pre"
    m.graph.node.append(helper.make_node("Identity", [out + "_pre"], [out], name="output_identity"))
    return m


def add_custom_op(m):
    """A node of a custom domain (as contrib/custom-op exports have): refused with the node named."""
    from onnx import helper
    relus = [n.output[0] for n in m.graph.node if n.op_type == "Relu"]
    _insert_after(m, relus[0], lambda v, new: [
        helper.make_node("FancyAct", [v], [new], name="custom_fancy_act", domain="com.example.custom")])
    m.opset_import.append(helper.make_opsetid("com.example.custom", 1))
    return m


def make_data(rng, n, shape):
    """Smooth random fields plus noise, so activations are not pure white noise."""
    x = rng.standard_normal((n, *shape)).astype(np.float32)
    if len(shape) == 3:
        k = torch.ones(1, 1, 3, 3) / 9
        x = F.conv2d(torch.from_numpy(x).reshape(-1, 1, *shape[1:]), k, padding=1).reshape(n, *shape).numpy() * 2
    return x.astype(np.float32)


def fit(model, shape, rng, steps=80, data=make_data):
    """Brief fitting of classifiers to a fixed random linear teacher, so that the 10 scores differ per
    input and top-1 agreement between engines means something. Other models keep random weights."""
    with torch.no_grad():
        y = model(torch.zeros(2, *shape))
        if not isinstance(y, torch.Tensor) or y.shape != (2, 10):
            return
    teacher = torch.from_numpy(rng.standard_normal((int(np.prod(shape)), 10)).astype(np.float32))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        x = torch.from_numpy(data(rng, 64, shape))
        y = (x.flatten(1) @ teacher).argmax(1)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


def settle_bn(model, shape, rng, data=make_data):
    """A few training-mode passes so BatchNorm running statistics match the data."""
    model.train()
    with torch.no_grad():
        for _ in range(8):
            model(torch.from_numpy(data(rng, 32, shape)))
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

    # --- Second sweep ---
    "effnet_op13": (EffNet, (3, 32, 32), dict(opset_version=13)),
    "effnet_op17_dyn": (EffNet, (3, 32, 32), dict(opset_version=17, dynamic_axes={"input": {0: "N"}})),
    "resnext_op13": (ResNeXt, (3, 32, 32), dict(opset_version=13)),
    "convnext_op13": (ConvNeXt, (3, 32, 32), dict(opset_version=13)),
    "convnext_op17_dyn": (ConvNeXt, (3, 32, 32), dict(opset_version=17, dynamic_axes={"input": {0: "N"}})),
    "yolo_op13": (YOLO, (3, 32, 32), dict(opset_version=13, output_names=["output", "output_large"])),
    "yolo_large_first_op13": (lambda: YOLO(True), (3, 32, 32),
                              dict(opset_version=13, output_names=["output", "output_small"])),
    "unet_convT_op13": (UNetT, (3, 32, 32), dict(opset_version=13)),
    "mha_op14": (MHA, (3, 32, 32), dict(opset_version=14)),
    "mha_op17_dyn": (MHA, (3, 32, 32), dict(opset_version=17, dynamic_axes={"input": {0: "N"}})),
    "op18_base_op13": (Op18Net, (3, 32, 32), dict(opset_version=13)),  # op18_rewrite before the rewrite
    "op18_rewrite": (Op18Net, (3, 32, 32), dict(opset_version=13), dict(post=to_opset18)),
    "op18_rewrite_dyn": (Op18Net, (3, 32, 32), dict(opset_version=13, dynamic_axes={"input": {0: "N"}}),
                         dict(post=to_opset18)),
    "dropout_identity_op13": (ResNeXt, (3, 32, 32), dict(opset_version=13), dict(post=add_dropout_identity)),
    "nhwc_input_op13": (lambda: NHWCInput(ResNeXt()), (32, 32, 3), dict(opset_version=13), dict(nhwc=True)),
    "gru_op14": (GRUNet, (12, 8), dict(opset_version=14)),
    "lstm_op14_dyn": (LSTMNet, (12, 8), dict(opset_version=14, dynamic_axes={"input": {0: "N"}})),
    "custom_domain_op13": (ResNeXt, (3, 32, 32), dict(opset_version=13), dict(post=add_custom_op)),

    # --- Third sweep: ops of older and generative models ---
    "lrn_op11": (LRNNet, (3, 32, 32), dict(opset_version=11)),
    "norms_op14": (NormNet, (3, 32, 32), dict(opset_version=14)),
    "norms_op17_dyn": (NormNet, (3, 32, 32), dict(opset_version=17, dynamic_axes={"input": {0: "N"}})),
    "mbv2_wide_op13_dyn": (MBV2Wide, (3, 96, 96), dict(opset_version=13, dynamic_axes={"input": {0: "N"}})),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/sweep/models"
    only = set(sys.argv[2:])
    os.makedirs(out, exist_ok=True)
    for name, (factory, shape, kw, *rest) in MODELS.items():
        if only and name not in only:
            continue
        extra = rest[0] if rest else {}
        torch.manual_seed(zlib.crc32(name.encode()) % 1000)
        m = factory()
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        # NHWC models see the same smooth fields as the NCHW ones, transposed.
        data = (lambda r, n, s: make_data(r, n, (s[2], s[0], s[1])).transpose(0, 2, 3, 1).copy()) \
            if extra.get("nhwc") else make_data
        fit(m, shape, rng, data=data)
        settle_bn(m, shape, rng, data=data)
        x = torch.randn(1, *shape)
        path = os.path.join(out, name + ".onnx")
        kw = dict(kw)
        output_names = kw.pop("output_names", ["output"])
        torch.onnx.export(m, x, path, input_names=["input"], output_names=output_names, **kw)
        if "post" in extra:
            import onnx
            onnx.save(extra["post"](onnx.load(path)), path)
        for split, n in (("calib", 256), ("test", 200)):
            np.save(os.path.join(out, f"{name}.{split}.npy"), data(rng, n, shape))
        print(name, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
