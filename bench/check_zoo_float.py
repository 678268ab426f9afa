#!/usr/bin/env python3
"""Float correctness on the zoo models, against PyTorch's saved logits and ONNX Runtime.

For each model in ../shared/zoo: (1) `quantscope-cli run` on the 16 saved sample inputs must reproduce
PyTorch's logits within 1e-4; (2) on the 10,000 test images, our logits and ONNX Runtime's must give the
same argmax on >= 99.9% of images, and `quantscope-cli eval` top-1 must equal the PyTorch figure in
baselines.json. Needs /usr/bin/python3 with numpy, the Release build, node and onnxruntime-node
(ORT_PREFIX, default build/ort; installed with npm on first use).

Usage: /usr/bin/python3 bench/check_zoo_float.py [--zoo ../shared/zoo] [--build build]
"""
import argparse, gzip, json, os, struct, subprocess, sys, tempfile
import numpy as np

ap = argparse.ArgumentParser()
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
ap.add_argument("--zoo", default=os.path.join(root, "..", "shared", "zoo"))
ap.add_argument("--build", default=os.path.join(root, "build"))
ap.add_argument("--peers", default=os.path.join(root, "..", "shared", "peers"))
args = ap.parse_args()
cli = os.path.join(args.build, "app", "quantscope-cli")
ort_prefix = os.environ.get("ORT_PREFIX", os.path.join(args.build, "ort"))
if not os.path.isdir(os.path.join(ort_prefix, "node_modules", "onnxruntime-node")):
    subprocess.run(["npm", "install", "--silent", "--prefix", ort_prefix, "--ignore-scripts",
                    "onnxruntime-node@1.30.0"], check=True)
env = dict(os.environ, ORT_PREFIX=ort_prefix)

def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    nd = magic & 0xff
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data[4 + 4 * nd:], dtype=np.uint8).reshape(dims)

baselines = json.load(open(os.path.join(args.zoo, "baselines.json")))
tmp = tempfile.mkdtemp()
ok = True
results = []
for name, meta in sorted(baselines.items()):
    model = os.path.join(args.zoo, meta["onnx"])
    ds = "mnist" if meta["dataset"] == "mnist" else "fashion"
    # (1) saved PyTorch logits
    s = json.load(open(os.path.join(args.zoo, "samples", name + ".json")))
    x = np.fromfile(os.path.join(args.zoo, "samples", s["input_file"]), dtype="<f4").reshape(s["input_shape"])
    ref = np.fromfile(os.path.join(args.zoo, "samples", s["logits_file"]), dtype="<f4").reshape(s["logits_shape"])
    np.save(os.path.join(tmp, "x16.npy"), x)
    subprocess.run([cli, "run", model, "--input", os.path.join(tmp, "x16.npy"), "--output", os.path.join(tmp, "y16.npy")],
                   check=True, capture_output=True)
    y16 = np.load(os.path.join(tmp, "y16.npy"))
    logit_diff = float(np.abs(y16 - ref).max())
    # (2) all test images vs ONNX Runtime
    imgs = read_idx(os.path.join(args.zoo, "data", ds, "t10k-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(args.zoo, "data", ds, "t10k-labels-idx1-ubyte.gz"))
    xt = ((imgs.astype(np.float32) / 255.0 - 0.5) / 0.5).reshape(-1, 1, 28, 28).astype(np.float32)
    np.save(os.path.join(tmp, "xt.npy"), xt)
    subprocess.run([cli, "run", model, "--input", os.path.join(tmp, "xt.npy"), "--output", os.path.join(tmp, "ours.npy")],
                   check=True, capture_output=True)
    subprocess.run(["node", os.path.join(args.peers, "ort-run.mjs"), model, os.path.join(tmp, "xt.npy"), "--runs", "1",
                    "--warmup", "0", "--threads", "2", "--out", os.path.join(tmp, "ort.npy")], check=True,
                   capture_output=True, env=env)
    ours, peer = np.load(os.path.join(tmp, "ours.npy")), np.load(os.path.join(tmp, "ort.npy"))
    agree = float((ours.argmax(1) == peer.argmax(1)).mean())
    top1_ours = float((ours.argmax(1) == labels).mean())
    ev = json.loads(subprocess.run([cli, "eval", model, "--data", os.path.join(args.zoo, "data", ds, "t10k-images-idx3-ubyte.gz"),
                                    "--labels", os.path.join(args.zoo, "data", ds, "t10k-labels-idx1-ubyte.gz"),
                                    "--mean", "0.5", "--std", "0.5", "--batch", "100", "--json"],
                                   check=True, capture_output=True, text=True).stdout)
    torch_top1 = meta["torch_float_top1"]
    row = {"model": name, "max_logit_diff_vs_torch_16": logit_diff, "argmax_agreement_vs_ort": agree,
           "max_logit_diff_vs_ort": float(np.abs(ours - peer).max()), "eval_top1": ev["top1"],
           "torch_top1": torch_top1, "eval_seconds": ev["seconds"]}
    results.append(row)
    good = logit_diff <= 1e-4 and agree >= 0.999 and abs(ev["top1"] - torch_top1) < 5e-5
    ok = ok and good
    print(json.dumps(row), "OK" if good else "FAIL", flush=True)
os.makedirs(os.path.join(here, "results"), exist_ok=True)
json.dump(results, open(os.path.join(here, "results", "zoo_float_check.json"), "w"), indent=1)
sys.exit(0 if ok else 1)
