#!/usr/bin/python3
"""Trains the embedded demo model (a small residual CNN on MNIST) and writes resources/demo/.

Deterministic: fixed seeds, 2 threads, deterministic algorithms, gzip files without timestamps; running it
twice on the same machine gives byte-identical files.

Data split (the zoo has only 2,000 training images, the `calib` files, and the 10,000 `t10k` test images):
  - training:  calib[0:2000] + t10k[0:5000]                      (7,000 images)
  - held out:  t10k[5000:10000], never seen in training          (5,000 images)
      - demo calibration set: held-out[0:256]    = t10k[5000:5256]
      - demo test set:        held-out[4500:5000] = t10k[9500:10000]  (disjoint from calibration)

Usage (from the repo root):
  /usr/bin/python3 tools/train_demo.py [MNIST_DIR] [--out resources/demo] [--epochs N]
MNIST_DIR defaults to ../shared/zoo/data/mnist relative to the repo root and must hold the zoo's
calib-*-ubyte.gz and t10k-*-ubyte.gz IDX files.
"""

import argparse
import gzip
import io
import json
import os
import random
import struct
import sys
import time

# Threads that wait sleep instead of spinning: on a shared, busy machine spinning OpenMP threads made
# training several times slower. Does not change any result.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 20240611
OPSET = 13
# Preprocessing shared with the zoo: x = (pixel * SCALE - MEAN) / STD.
SCALE, MEAN, STD = 1.0 / 255.0, 0.5, 0.5
HELDOUT_START = 5000  # t10k index where the held-out part begins
CALIB = (0, 256)  # ranges inside the held-out part
TEST = (4500, 5000)


def read_idx(path):
    """Reads a gzip-compressed IDX file (uint8 data) into a numpy array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    if magic >> 8 != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {magic:#010x})")
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: holds {arr.size} values, the header says {dims}")
    return arr.reshape(dims)


def write_idx_gz(path, arr):
    """Writes uint8 `arr` as gzip-compressed IDX; no file name or time stamp in the gzip header."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = struct.pack(">I", 0x0800 | arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as f:
        f.write(header + arr.tobytes())
    with open(path, "wb") as f:
        f.write(raw.getvalue())


class ResBlock(nn.Module):
    """Conv-BN-ReLU-Conv-BN + identity shortcut, then ReLU (exports Conv, Add, Relu)."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(x + y)


class DemoNet(nn.Module):
    """28x28x1 -> [Conv-BN-ReLU, MaxPool] -> [Conv-BN-ReLU, ResBlock, MaxPool] -> Flatten -> Gemm-ReLU-Gemm."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.block = ResBlock(16)
        self.fc1 = nn.Linear(16 * 7 * 7, 48)
        self.fc2 = nn.Linear(48, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)  # 8 x 14 x 14
        x = F.relu(self.bn2(self.conv2(x)))  # 16 x 14 x 14
        x = F.max_pool2d(self.block(x), 2)  # 16 x 7 x 7
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


def normalize(u8):
    return torch.from_numpy((u8.astype(np.float32) * SCALE - MEAN) / STD).unsqueeze(1)


def shift_batch(x, gen, max_shift=2):
    """Random translation by up to max_shift pixels per image (zero = background after padding with -1)."""
    n = x.shape[0]
    padded = F.pad(x, (max_shift,) * 4, value=(0.0 - MEAN) / STD)
    offs = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=gen)
    out = torch.empty_like(x)
    for i in range(n):
        dy, dx = int(offs[i, 0]), int(offs[i, 1])
        out[i] = padded[i, :, dy : dy + 28, dx : dx + 28]
    return out


@torch.no_grad()
def top1(model, x, y, batch=500):
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], batch):
        correct += int((model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum())
    return correct / x.shape[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mnist_dir", nargs="?", default=os.path.join(REPO, "..", "shared", "zoo", "data", "mnist"))
    ap.add_argument("--out", default=os.path.join(REPO, "resources", "demo"))
    ap.add_argument("--epochs", type=int, default=15)
    args = ap.parse_args()

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)

    d = args.mnist_dir
    calib_x = read_idx(os.path.join(d, "calib-images-idx3-ubyte.gz"))
    calib_y = read_idx(os.path.join(d, "calib-labels-idx1-ubyte.gz"))
    t10k_x = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"))
    t10k_y = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))
    assert calib_x.shape == (2000, 28, 28) and t10k_x.shape == (10000, 28, 28), (calib_x.shape, t10k_x.shape)

    train_x = normalize(np.concatenate([calib_x, t10k_x[:HELDOUT_START]]))
    train_y = torch.from_numpy(np.concatenate([calib_y, t10k_y[:HELDOUT_START]]).astype(np.int64))
    held_u8, held_lbl = t10k_x[HELDOUT_START:], t10k_y[HELDOUT_START:]
    held_x, held_y = normalize(held_u8), torch.from_numpy(held_lbl.astype(np.int64))

    model = DemoNet()
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps_per_epoch = (train_x.shape[0] + 63) // 64
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=args.epochs * steps_per_epoch)
    gen = torch.Generator().manual_seed(SEED)
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(train_x.shape[0], generator=gen)
        total = 0.0
        for i in range(0, perm.numel(), 64):
            idx = perm[i : i + 64]
            xb = shift_batch(train_x[idx], gen)
            loss = F.cross_entropy(model(xb), train_y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * idx.numel()
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / perm.numel():.4f}, "
              f"held-out top-1 {top1(model, held_x, held_y):.4f} ({time.time() - t0:.0f} s)", flush=True)

    model.eval()
    acc_heldout = top1(model, held_x, held_y)
    test_sl = slice(*TEST)
    acc_test500 = top1(model, held_x[test_sl], held_y[test_sl])

    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "mnist_demo.onnx")
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), onnx_path, opset_version=OPSET, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})

    write_idx_gz(os.path.join(args.out, "calib-images-idx3-ubyte.gz"), held_u8[slice(*CALIB)])
    write_idx_gz(os.path.join(args.out, "calib-labels-idx1-ubyte.gz"), held_lbl[slice(*CALIB)])
    write_idx_gz(os.path.join(args.out, "test-images-idx3-ubyte.gz"), held_u8[test_sl])
    write_idx_gz(os.path.join(args.out, "test-labels-idx1-ubyte.gz"), held_lbl[test_sl])

    info = {
        "model": "mnist_demo.onnx",
        "architecture": "Conv-BN-ReLU, MaxPool, Conv-BN-ReLU, residual block (2x Conv-BN, Add, ReLU), MaxPool, "
                        "Flatten, Gemm-ReLU-Gemm; BN folded into Conv by the exporter",
        "onnx_ops": ops,
        "input": {"name": "input", "shape": ["batch", 1, 28, 28]},
        "output": {"name": "logits", "shape": ["batch", 10]},
        "params": params,
        # What the ONNX file holds: BN's scale and shift are folded into the convs by the exporter.
        "onnx_params": int(sum(int(np.prod(t.dims)) for t in m.graph.initializer)),
        "preprocessing": {"scale": SCALE, "mean": MEAN, "std": STD,
                          "formula": "x = (pixel * scale - mean) / std"},
        "float_top1_test500": acc_test500,
        "float_top1_heldout5000": acc_heldout,
        "splits": {
            "train": "zoo calib[0:2000] + t10k[0:5000]",
            "heldout5000": f"t10k[{HELDOUT_START}:10000] (never trained on)",
            "calib256": f"t10k[{HELDOUT_START + CALIB[0]}:{HELDOUT_START + CALIB[1]}]",
            "test500": f"t10k[{HELDOUT_START + TEST[0]}:{HELDOUT_START + TEST[1]}]",
        },
        "epochs": args.epochs,
        "seed": SEED,
        "onnx_opset": OPSET,
        "torch_version": torch.__version__,
        "onnx_version": onnx.__version__,
        "command": " ".join(["/usr/bin/python3", "tools/train_demo.py"] + sys.argv[1:]),
    }
    with open(os.path.join(args.out, "demo.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    print(json.dumps({k: info[k] for k in ("params", "float_top1_test500", "float_top1_heldout5000", "onnx_ops")}))
    print(f"wrote {args.out} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
