#!/usr/bin/python3
"""Trains a small RepVGG (with RepVGG's custom L2) and its QARepVGG counterpart on Fashion-MNIST and exports
both for `quantscope-cli repvgg` (issue 7). A dev-time measurement script: nothing it writes is committed.

Models (28x28x1 input, widths 16/32/64, blocks per stage 1/3/3, stride 2 at the first block of stages 2 and 3,
global average pool, linear classifier):
  - RepVGG block (Ding et al. 2021): ReLU(BN(conv3x3 x) + BN(conv1x1 x) [+ BN(x) when in == out, stride 1]).
    Trained with the official repo's custom L2 on the block convs (`get_custom_L2`: plain L2 on the 3x3
    kernel's ring, and on the equivalent centre point K3c·t3 + K1·t1 normalized by t3² + t1²), added to the
    loss as 0.5 · wd · L2; those kernels and all BN parameters get no optimizer weight decay.
  - QARepVGG block (Chu et al. 2023, YOLOv6's QARepVGGBlock): ReLU(BN_post(BN(conv3x3 x) + conv1x1 x [+ x])),
    BN-free 1x1 (no bias) and identity; plain weight decay on every conv/linear weight, no custom L2.

Written to OUT (for each of repvgg, qarepvgg):
  NAME_train.onnx   training-time form: every BN a separate BatchNormalization node (eval statistics;
                    exported with TrainingMode.PRESERVE and no constant folding, so nothing is fused)
  NAME_folded.onnx  as a default torch.onnx.export produces it: BN folded into the convs where it follows
                    one; the identity BN (RepVGG) and the post-sum BN (QARepVGG) stay BatchNormalization
  NAME_deploy.onnx  PyTorch's own re-parameterization (one 3x3 conv per block, the official
                    get_equivalent_kernel_bias): an independent reference for QuantScope's fusion
  heldout-images.npy, heldout-labels.npy   t10k[5000:10000], never trained on (uint8 / int64)
  repvgg.json       float top-1 of every form, and PyTorch weight-only fake-quant top-1 (symmetric round to
                    nearest, narrow range, min/max scale) of the deploy form and of the training form (each
                    branch's BN-scaled kernel quantized separately, identity and post-sum BN in float) — a
                    reference for QuantScope's simulation with --act-bits 32.

Data split (the zoo holds the 2,000 `calib` training images and the 10,000 `t10k` test images):
  training: calib[0:2000] + t10k[0:5000]; held out: t10k[5000:10000].
Preprocessing as the zoo: x = (pixel / 255 - 0.5) / 0.5.

Usage (from the repo root; ~5 minutes per model, ~12 in all, on 2 CPU cores with the defaults):
  /usr/bin/python3 tools/train_repvgg.py FASHION_DIR --out build-h7/repvgg [--epochs 6] [--wd 1e-4]
FASHION_DIR holds the zoo's calib-*-ubyte.gz and t10k-*-ubyte.gz (e.g. ../shared/zoo/data/fashion).
"""

import argparse
import gzip
import json
import os
import random
import struct
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # shared machine: waiting threads sleep, not spin

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

SEED = 20240711
OPSET = 13
SCALE, MEAN, STD = 1.0 / 255.0, 0.5, 0.5
HELDOUT_START = 5000
WIDTHS = (16, 32, 64)
DEPTHS = (1, 3, 3)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    if magic >> 8 != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {magic:#010x})")
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def bn_scale(bn):
    return bn.weight / torch.sqrt(bn.running_var + bn.eps)


class ConvBN(nn.Module):
    def __init__(self, cin, cout, k, stride, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))

    def equivalent(self):
        t = bn_scale(self.bn)
        return self.conv.weight * t.reshape(-1, 1, 1, 1), self.bn.bias - self.bn.running_mean * t


def pad_1x1(k):
    return F.pad(k, (1, 1, 1, 1))


def identity_kernel(c, groups=1):
    """One-hot 3x3 kernel of the identity: [c, c/groups, 3, 3] with a 1 at [i, i mod (c/groups), 1, 1]."""
    cpg = c // groups
    k = torch.zeros(c, cpg, 3, 3)
    for i in range(c):
        k[i, i % cpg, 1, 1] = 1.0
    return k


class RepVGGBlock(nn.Module):
    """RepVGG (qa=False) or QARepVGG (qa=True) block in training-time form."""

    def __init__(self, cin, cout, stride, qa, groups=1):
        super().__init__()
        self.qa, self.cin, self.cout, self.groups = qa, cin, cout, groups
        self.has_identity = cin == cout and stride == 1
        self.dense = ConvBN(cin, cout, 3, stride, groups)
        if qa:
            self.one = nn.Conv2d(cin, cout, 1, stride, 0, groups=groups, bias=False)
            self.post = nn.BatchNorm2d(cout)
        else:
            self.one = ConvBN(cin, cout, 1, stride, groups)
            self.idbn = nn.BatchNorm2d(cin) if self.has_identity else None
        self.deploy = None  # nn.Conv2d after reparameterize()

    def forward(self, x):
        if self.deploy is not None:
            return F.relu(self.deploy(x))
        y = self.dense(x) + self.one(x)
        if self.has_identity:
            y = y + (x if self.qa else self.idbn(x))
        if self.qa:
            y = self.post(y)
        return F.relu(y)

    def custom_l2(self):
        """The official RepVGG get_custom_L2 (only for qa=False)."""
        k3, k1 = self.dense.conv.weight, self.one.conv.weight
        t3 = bn_scale(self.dense.bn).reshape(-1, 1, 1, 1).detach()
        t1 = bn_scale(self.one.bn).reshape(-1, 1, 1, 1).detach()
        ring = (k3**2).sum() - (k3[:, :, 1:2, 1:2] ** 2).sum()
        eq = k3[:, :, 1:2, 1:2] * t3 + k1 * t1
        return (eq**2 / (t3**2 + t1**2)).sum() + ring

    def branch_kernels(self):
        """[(kernel 3x3, bias, quantizable)] of every branch, BN scaled in; identity not quantizable."""
        out = []
        k, b = self.dense.equivalent()
        out.append((k, b, True))
        if self.qa:
            out.append((pad_1x1(self.one.weight), torch.zeros(self.cout), True))
            if self.has_identity:
                out.append((identity_kernel(self.cin, self.groups), torch.zeros(self.cout), False))
        else:
            k, b = self.one.equivalent()
            out.append((pad_1x1(k), b, True))
            if self.has_identity:
                t = bn_scale(self.idbn)
                out.append((identity_kernel(self.cin, self.groups) * t.reshape(-1, 1, 1, 1),
                            self.idbn.bias - self.idbn.running_mean * t, False))
        return out

    @torch.no_grad()
    def equivalent_kernel_bias(self, wq=None):
        """Fused kernel/bias; `wq` (if given) fake-quantizes each quantizable branch kernel first, as a
        quantizer treating the training-time form does (the post-sum BN is applied in float afterwards)."""
        k = torch.zeros(self.cout, self.cin // self.groups, 3, 3)
        b = torch.zeros(self.cout)
        for kb, bb, quantizable in self.branch_kernels():
            k += wq(kb) if (wq is not None and quantizable) else kb
            b += bb
        if self.qa:
            t = bn_scale(self.post)
            k = k * t.reshape(-1, 1, 1, 1)
            b = (b - self.post.running_mean) * t + self.post.bias
        return k, b

    @torch.no_grad()
    def reparameterize(self, wq=None):
        k, b = self.equivalent_kernel_bias(wq)
        conv = nn.Conv2d(self.cin, self.cout, 3, self.dense.conv.stride, 1, groups=self.groups, bias=True)
        conv.weight.copy_(k)
        conv.bias.copy_(b)
        self.deploy = conv


class Net(nn.Module):
    def __init__(self, qa):
        super().__init__()
        blocks, cin = [], 1
        for stage, (w, d) in enumerate(zip(WIDTHS, DEPTHS)):
            for i in range(d):
                blocks.append(RepVGGBlock(cin, w, 2 if (stage > 0 and i == 0) else 1, qa))
                cin = w
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, 10)

    def forward(self, x):
        x = self.blocks(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def normalize(u8):
    return torch.from_numpy((u8.astype(np.float32) * SCALE - MEAN) / STD).unsqueeze(1)


def shift_batch(x, gen, max_shift=2):
    n = x.shape[0]
    padded = F.pad(x, (max_shift,) * 4, value=(0.0 - MEAN) / STD)
    offs = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=gen)
    out = torch.empty_like(x)
    for i in range(n):
        dy, dx = int(offs[i, 0]), int(offs[i, 1])
        out[i] = padded[i, :, dy : dy + 28, dx : dx + 28]
    if torch.rand(1, generator=gen).item() < 0.5:  # horizontal flip of the whole batch half the time
        out = out.flip(3)
    return out


@torch.no_grad()
def top1(model, x, y, batch=500):
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], batch):
        correct += int((model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum())
    return correct / x.shape[0]


def fake_quant(bits, per_channel):
    """Symmetric narrow-range round-to-nearest-even weight fake quantization (QuantScope's convention)."""
    qmax = 2 ** (bits - 1) - 1

    def f(w):
        if per_channel:
            m = w.abs().reshape(w.shape[0], -1).max(1).values.reshape(-1, *([1] * (w.dim() - 1)))
        else:
            m = w.abs().max()
        s = torch.where(m > 0, m / qmax, torch.ones_like(m))
        return torch.clamp(torch.round(w / s), -qmax, qmax) * s  # torch.round: half to even

    return f


def train(qa, train_x, train_y, held_x, held_y, args):
    torch.manual_seed(SEED)
    model = Net(qa)
    custom = []  # block conv weights handled by the custom L2 (RepVGG only)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.dim() == 1:  # BN and biases
            no_decay.append(p)
        elif not qa and name.startswith("blocks.") and (".dense.conv." in name or ".one.conv." in name):
            custom.append(p)
        else:
            decay.append(p)
    opt = torch.optim.SGD([{"params": decay, "weight_decay": args.wd},
                           {"params": no_decay + custom, "weight_decay": 0.0}], lr=args.lr, momentum=0.9,
                          nesterov=True)
    steps = args.epochs * ((train_x.shape[0] + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(SEED)
    t0 = time.time()
    name = "qarepvgg" if qa else "repvgg"
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(train_x.shape[0], generator=gen)
        total = 0.0
        for i in range(0, perm.numel(), args.batch):
            idx = perm[i : i + args.batch]
            loss = F.cross_entropy(model(shift_batch(train_x[idx], gen)), train_y[idx])
            if not qa:
                loss = loss + 0.5 * args.wd * sum(b.custom_l2() for b in model.blocks)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * idx.numel()
        print(f"{name} epoch {epoch + 1}/{args.epochs}: loss {total / perm.numel():.4f} ({time.time() - t0:.0f} s)",
              flush=True)
    model.eval()
    return model


def export(model, path, **kw):
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, opset_version=OPSET, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, **kw)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return sorted({n.op_type for n in m.graph.node})


@torch.no_grad()
def weight_only_top1(model, held_x, held_y, wq, form):
    """Top-1 with weights fake-quantized by `wq`: form 'deploy' quantizes each fused kernel, 'train' each
    branch kernel (BN scaled in) separately; the linear layer is quantized in both."""
    import copy

    m = copy.deepcopy(model)
    for b in m.blocks:
        if form == "deploy":
            b.reparameterize()
            b.deploy.weight.copy_(wq(b.deploy.weight))
        else:
            b.reparameterize(wq)
    m.fc.weight.copy_(wq(m.fc.weight))
    return top1(m, held_x, held_y)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fashion_dir", help="folder with the zoo's calib-* and t10k-* IDX files")
    ap.add_argument("--out", required=True, help="output folder (not committed)")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--wd", type=float, default=1e-4, help="weight decay (RepVGG: the custom L2's coefficient)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)

    d = args.fashion_dir
    calib_x = read_idx(os.path.join(d, "calib-images-idx3-ubyte.gz"))
    calib_y = read_idx(os.path.join(d, "calib-labels-idx1-ubyte.gz"))
    t10k_x = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"))
    t10k_y = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))
    if calib_x.shape != (2000, 28, 28) or t10k_x.shape != (10000, 28, 28):
        sys.exit(f"{d}: expected 2000 calib and 10000 t10k 28x28 images, found {calib_x.shape}, {t10k_x.shape}")
    train_x = normalize(np.concatenate([calib_x, t10k_x[:HELDOUT_START]]))
    train_y = torch.from_numpy(np.concatenate([calib_y, t10k_y[:HELDOUT_START]]).astype(np.int64))
    held_u8, held_lbl = t10k_x[HELDOUT_START:], t10k_y[HELDOUT_START:].astype(np.int64)
    held_x, held_y = normalize(held_u8), torch.from_numpy(held_lbl)

    os.makedirs(args.out, exist_ok=True)
    np.save(os.path.join(args.out, "heldout-images.npy"), np.ascontiguousarray(held_u8))
    np.save(os.path.join(args.out, "heldout-labels.npy"), held_lbl)

    t0 = time.time()
    info = {"command": " ".join(["/usr/bin/python3", "tools/train_repvgg.py"] + sys.argv[1:]),
            "torch_version": torch.__version__, "onnx_version": onnx.__version__, "seed": SEED,
            "widths": WIDTHS, "depths": DEPTHS, "epochs": args.epochs, "wd": args.wd, "lr": args.lr,
            "splits": {"train": "calib[0:2000] + t10k[0:5000]", "heldout": "t10k[5000:10000]"}, "models": {}}
    for qa in (False, True):
        name = "qarepvgg" if qa else "repvgg"
        model = train(qa, train_x, train_y, held_x, held_y, args)
        r = {"params": sum(p.numel() for p in model.parameters()), "float_top1": top1(model, held_x, held_y)}
        r["ops_train"] = export(model, os.path.join(args.out, f"{name}_train.onnx"),
                                training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
        r["ops_folded"] = export(model, os.path.join(args.out, f"{name}_folded.onnx"))
        wo = {}
        for form in ("deploy", "train"):
            for bits in (8, 4):
                for pc in (False, True):
                    key = f"{form}_w{bits}_{'per_channel' if pc else 'per_tensor'}"
                    wo[key] = weight_only_top1(model, held_x, held_y, fake_quant(bits, pc), form)
        r["torch_weight_only_top1"] = wo
        for b in model.blocks:
            b.reparameterize()
        r["deploy_float_top1"] = top1(model, held_x, held_y)
        r["ops_deploy"] = export(model, os.path.join(args.out, f"{name}_deploy.onnx"))
        r["fused_kernel_max_abs"] = [float(b.deploy.weight.abs().max()) for b in model.blocks]
        r["fused_kernel_std"] = [float(b.deploy.weight.std()) for b in model.blocks]
        info["models"][name] = r
        print(json.dumps({name: {k: v for k, v in r.items() if not k.startswith("ops")}}), flush=True)
    info["seconds"] = time.time() - t0
    with open(os.path.join(args.out, "repvgg.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out} in {info['seconds']:.0f} s")


if __name__ == "__main__":
    main()
