#!/usr/bin/python3
"""Writes the ONNX importer/pass test fixtures into tests/fixtures/onnx/.

Every model is built with onnx.helper; reference outputs are computed here with plain numpy (float64 loops,
stored as float32), never with QuantScope's code. Deterministic (fixed seeds, no time stamps) and
idempotent: re-running rewrites the same bytes.

Usage (from the repo root):  /usr/bin/python3 tools/make_fixtures.py [--out tests/fixtures/onnx]
"""

import argparse
import os

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import TensorProto, helper, numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPSET = 13
IR_VERSION = 8  # what onnx 1.12 (Debian's libonnx) writes


def make_model(nodes, inputs, outputs, initializers, name, extra_opsets=()):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=initializers)
    opsets = [helper.make_opsetid("", OPSET)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="qs-make-fixtures")
    model.ir_version = IR_VERSION
    return model


def f32(name, arr):
    return numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name)


def i64(name, arr):
    return numpy_helper.from_array(np.asarray(arr, dtype=np.int64), name)


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


# ---- numpy references (float64, straightforward loops) ----


def conv2d_ref(x, w, b, pad):
    """NCHW convolution, stride 1, dilation 1, group 1, symmetric zero padding `pad`."""
    x, w = x.astype(np.float64), w.astype(np.float64)
    n, c, h, wd = x.shape
    m, cw, kh, kw = w.shape
    assert c == cw
    xp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad))
    xp[:, :, pad : pad + h, pad : pad + wd] = x
    oh, ow = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    y = np.zeros((n, m, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i : i + kh, j : j + kw]  # n, c, kh, kw
            y[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    if b is not None:
        y += b.astype(np.float64)[None, :, None, None]
    return y


def batchnorm_ref(x, scale, bias, mean, var, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    s = scale.astype(np.float64).reshape(shape)
    return (x - mean.astype(np.float64).reshape(shape)) / np.sqrt(var.astype(np.float64).reshape(shape) + eps) * s + \
        bias.astype(np.float64).reshape(shape)


def gemm_bt_ref(a, w, b):
    """Y = A · Wᵀ + b (Gemm with transB = 1)."""
    return a.astype(np.float64) @ w.astype(np.float64).T + b.astype(np.float64)


# ---- fixtures ----


def tiny_model(rng):
    """Conv(2→3, 3x3, pad 1, bias) → Relu → Flatten → Gemm(108→4, transB) on a fixed [2, 2, 6, 6] input."""
    w1 = rng.standard_normal((3, 2, 3, 3)).astype(np.float32) * 0.5
    b1 = rng.standard_normal(3).astype(np.float32) * 0.1
    w2 = rng.standard_normal((4, 108)).astype(np.float32) * 0.2
    b2 = rng.standard_normal(4).astype(np.float32) * 0.1
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["conv1_out"], name="conv1",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv1_out"], ["relu1_out"], name="relu1"),
        helper.make_node("Flatten", ["relu1_out"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["output"], name="fc", transB=1),
    ]
    inits = [f32("conv1.weight", w1), f32("conv1.bias", b1), f32("fc.weight", w2), f32("fc.bias", b2)]
    model = make_model(nodes, [vi("input", [2, 2, 6, 6])], [vi("output", [2, 4])], inits, "tiny")
    x = rng.standard_normal((2, 2, 6, 6)).astype(np.float32)
    h = np.maximum(conv2d_ref(x, w1, b1, 1), 0).reshape(2, -1)
    y = gemm_bt_ref(h, w2, b2).astype(np.float32)
    return model, x, y


def external_tensor(name, dims, location):
    """A float initializer whose data is said to live in file `location` (the file is never written)."""
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", str(4 * int(np.prod(dims))))):
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def external_location_model(location):
    """Input + external weight (Add), where the weight's data location is `location`."""
    nodes = [helper.make_node("Add", ["input", "w"], ["output"], name="add_w")]
    return make_model(nodes, [vi("input", [4])], [vi("output", [4])], [external_tensor("w", [4], location)],
                      "external_location")


def unsupported_model():
    """Three nodes that cannot run: an op we do not implement, a custom-domain op, a bad attribute value."""
    w = np.ones((1, 1, 3, 3), np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["y"], name="bad_conv", kernel_shape=[3, 3], auto_pad="BOGUS"),
        helper.make_node("Foo", ["y"], ["z"], name="custom_foo", domain="com.example"),
        helper.make_node("Det", ["m"], ["d"], name="det"),
    ]
    inputs = [vi("x", [1, 1, 5, 5]), vi("m", [2, 3, 3])]
    outputs = [vi("z", None), vi("d", None)]
    return make_model(nodes, inputs, outputs, [f32("w", w)], "unsupported", extra_opsets=[("com.example", 1)])


def if_model(data_dependent):
    """An If as torch writes for a shape check it could not resolve while tracing (nn.LocalResponseNorm):
    channels == 2 ? relu(x) · w : −x, the branches reading x and w from the enclosing graph, the then-branch
    with an initializer of its own. With data_dependent, the condition is sum(x) > 0 instead."""
    w = f32("w", np.array([1.5, -0.5], np.float32).reshape(1, 2, 1, 1))
    two = i64("two", np.array(2))
    one = i64("one", np.array(1))
    then_g = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"], name="relu"),
         helper.make_node("Mul", ["r", "w"], ["m"], name="scale"),
         helper.make_node("Add", ["m", "half"], ["t_out"], name="shift")],
        "then", [], [vi("t_out", None)], initializer=[f32("half", np.array(0.5, np.float32))])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e_out"], name="neg")], "else", [],
                               [vi("e_out", None)])
    if data_dependent:
        cond_nodes = [helper.make_node("ReduceSum", ["x"], ["s"], name="sum", keepdims=0),
                      helper.make_node("Greater", ["s", "zero"], ["c"], name="positive")]
        inits = [w, f32("zero", np.array(0.0, np.float32))]
    else:
        cond_nodes = [helper.make_node("Shape", ["x"], ["shape"], name="shape"),
                      helper.make_node("Gather", ["shape", "one"], ["channels"], name="channels", axis=0),
                      helper.make_node("Equal", ["channels", "two"], ["c"], name="is_two")]
        inits = [w, two, one]
    nodes = cond_nodes + [helper.make_node("If", ["c"], ["y"], name="check", then_branch=then_g,
                                           else_branch=else_g)]
    return make_model(nodes, [vi("x", ["N", 2, 3, 3])], [vi("y", ["N", 2, 3, 3])], inits,
                      "if_data" if data_dependent else "if_shape")


def missing_input_model():
    nodes = [
        helper.make_node("Relu", ["input"], ["r"], name="relu_ok"),
        helper.make_node("Add", ["r", "ghost"], ["output"], name="add_ghost"),
    ]
    return make_model(nodes, [vi("input", [4])], [vi("output", [4])], [], "missing_input")


def cycle_model():
    nodes = [
        helper.make_node("Add", ["input", "loop_b"], ["loop_a"], name="cycle_add"),
        helper.make_node("Relu", ["loop_a"], ["loop_b"], name="cycle_relu"),
        helper.make_node("Neg", ["loop_a"], ["output"], name="out_neg"),
    ]
    return make_model(nodes, [vi("input", [4])], [vi("output", [4])], [], "cycle")


def shape_mismatch_model():
    """The input has 3 channels, the Conv weight expects 2 (weight [4, 2, 3, 3])."""
    w = np.full((4, 2, 3, 3), 0.1, np.float32)
    nodes = [helper.make_node("Conv", ["input", "w"], ["output"], name="conv_mismatch", kernel_shape=[3, 3])]
    return make_model(nodes, [vi("input", [1, 3, 5, 5])], [vi("output", None)], [f32("w", w)], "shape_mismatch")


def identity_chain_model(rng):
    """input → Identity → Relu → Dropout → Identity → 'output'; also 'passthrough' = Identity(input), which
    must be kept (a graph output fed directly by a graph input), and 'side' = Neg(Identity(Identity(input)))."""
    nodes = [
        helper.make_node("Identity", ["input"], ["id1"], name="id1"),
        helper.make_node("Relu", ["id1"], ["relu"], name="relu"),
        helper.make_node("Dropout", ["relu"], ["drop"], name="drop"),
        helper.make_node("Identity", ["drop"], ["output"], name="id_out"),
        helper.make_node("Identity", ["input"], ["passthrough"], name="id_pass"),
        helper.make_node("Identity", ["input"], ["id_a"], name="id_a"),
        helper.make_node("Identity", ["id_a"], ["id_b"], name="id_b"),
        helper.make_node("Neg", ["id_b"], ["side"], name="neg"),
    ]
    outputs = [vi("output", [2, 5]), vi("passthrough", [2, 5]), vi("side", [2, 5])]
    model = make_model(nodes, [vi("input", [2, 5])], outputs, [], "identity_chain")
    x = rng.standard_normal((2, 5)).astype(np.float32)
    return model, x


def conv_bn_model(rng):
    """Conv(bias) → BatchNormalization → Relu → Flatten → Gemm(transB) → BatchNormalization (2-D), unfused,
    plus a Conv without bias → BN on a second branch, summed; input [2, 3, 5, 5] → output [2, 6]."""
    c = 4
    w1 = rng.standard_normal((c, 3, 3, 3)).astype(np.float32) * 0.4
    b1 = rng.standard_normal(c).astype(np.float32) * 0.2
    w2 = rng.standard_normal((c, 3, 1, 1)).astype(np.float32) * 0.4

    def bn_params(k):
        return (rng.uniform(0.5, 1.5, k).astype(np.float32), rng.standard_normal(k).astype(np.float32) * 0.3,
                rng.standard_normal(k).astype(np.float32) * 0.3, rng.uniform(0.2, 2.0, k).astype(np.float32))

    bn1, bn2, bn3 = bn_params(c), bn_params(c), bn_params(6)
    wf = rng.standard_normal((6, c * 25)).astype(np.float32) * 0.2
    bf = rng.standard_normal(6).astype(np.float32) * 0.1
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"], name="conv1", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn1.s", "bn1.b", "bn1.m", "bn1.v"], ["n1"], name="bn1",
                         epsilon=1e-3),
        helper.make_node("Conv", ["input", "conv2.weight"], ["c2"], name="conv2", kernel_shape=[1, 1]),
        helper.make_node("BatchNormalization", ["c2", "bn2.s", "bn2.b", "bn2.m", "bn2.v"], ["n2"], name="bn2"),
        helper.make_node("Add", ["n1", "n2"], ["sum"], name="add"),
        helper.make_node("Relu", ["sum"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["g"], name="fc", transB=1, beta=0.5),
        helper.make_node("BatchNormalization", ["g", "bn3.s", "bn3.b", "bn3.m", "bn3.v"], ["output"], name="bn3"),
    ]
    inits = [f32("conv1.weight", w1), f32("conv1.bias", b1), f32("conv2.weight", w2), f32("fc.weight", wf),
             f32("fc.bias", bf)]
    for k, p in (("bn1", bn1), ("bn2", bn2), ("bn3", bn3)):
        inits += [f32(f"{k}.s", p[0]), f32(f"{k}.b", p[1]), f32(f"{k}.m", p[2]), f32(f"{k}.v", p[3])]
    model = make_model(nodes, [vi("input", [2, 3, 5, 5])], [vi("output", [2, 6])], inits, "conv_bn")
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    n1 = batchnorm_ref(conv2d_ref(x, w1, b1, 1), *bn1, 1e-3)
    n2 = batchnorm_ref(conv2d_ref(x, w2, None, 0), *bn2, 1e-5)
    h = np.maximum(n1 + n2, 0).reshape(2, -1)
    g = gemm_bt_ref(h, wf, 0.5 * bf)
    y = batchnorm_ref(g, *bn3, 1e-5).astype(np.float32)
    return model, x, y


def shape_chain_model(batch):
    """PyTorch's x.view(x.size(0), -1) export: Shape → Gather(0) → Unsqueeze → Concat([n, -1]) → Reshape,
    then Relu. `batch` is an int (static) or a string (symbolic, dynamic)."""
    nodes = [
        helper.make_node("Shape", ["input"], ["shape"], name="shape"),
        helper.make_node("Gather", ["shape", "zero"], ["n"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="unsqueeze"),
        helper.make_node("Concat", ["n1", "minus_one"], ["new_shape"], name="concat", axis=0),
        helper.make_node("Reshape", ["input", "new_shape"], ["flat"], name="reshape"),
        helper.make_node("Relu", ["flat"], ["output"], name="relu"),
    ]
    inits = [i64("zero", 0), i64("axes0", [0]), i64("minus_one", [-1])]
    return make_model(nodes, [vi("input", [batch, 3, 4, 4])], [vi("output", [batch, 48])], inits,
                      "shape_chain_" + ("static" if isinstance(batch, int) else "dynamic"))


def bfloat16_input_model():
    """A graph input of a type no Tensor can hold (bfloat16): must be refused at load, naming the input."""
    nodes = [helper.make_node("Cast", ["input_bf16"], ["output"], name="cast", to=TensorProto.FLOAT)]
    return make_model(nodes, [vi("input_bf16", [3], TensorProto.BFLOAT16)], [vi("output", [3])], [], "bfloat16_input")


def node_names_model():
    """Unnamed and repeated node names, one generated name ("Relu_2") already taken by an explicit name."""
    nodes = [
        helper.make_node("Relu", ["input"], ["a"], name="Relu_2"),
        helper.make_node("Relu", ["a"], ["b"]),
        helper.make_node("Relu", ["b"], ["c"]),
        helper.make_node("Neg", ["c"], ["d"], name="dup"),
        helper.make_node("Neg", ["d"], ["output"], name="dup"),
    ]
    return make_model(nodes, [vi("input", [3])], [vi("output", [3])], [], "node_names")


def must_not_parse(data, what):
    try:
        onnx.load_model_from_string(data)
    except (DecodeError, RuntimeError, ValueError):
        return
    raise SystemExit(f"{what}: still parses as a ModelProto; pick other bytes")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "fixtures", "onnx"))
    args = ap.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(1234)

    def save(model, name, check=True):
        if check:
            onnx.checker.check_model(model)
        with open(os.path.join(out, name), "wb") as f:
            f.write(model.SerializeToString())

    tiny, x, y = tiny_model(rng)
    save(tiny, "valid.onnx")
    np.save(os.path.join(out, "valid_input.npy"), x)
    np.save(os.path.join(out, "valid_output.npy"), y)

    # Same model, every initializer in one external file next to it (relative location). onnx appends to an
    # existing data file, so remove it first to stay idempotent.
    ext_bin = os.path.join(out, "external_data.bin")
    if os.path.exists(ext_bin):
        os.remove(ext_bin)
    ext = onnx.ModelProto()
    ext.CopyFrom(tiny)
    onnx.save_model(ext, os.path.join(out, "external_data.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="external_data.bin", size_threshold=0)

    save(external_location_model("/etc/passwd"), "external_absolute.onnx", check=False)
    save(external_location_model("../x.bin"), "external_escape.onnx", check=False)

    data = tiny.SerializeToString()
    truncated = data[: len(data) // 2]
    must_not_parse(truncated, "truncated.onnx")
    with open(os.path.join(out, "truncated.onnx"), "wb") as f:
        f.write(truncated)
    garbage = np.random.default_rng(99).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    must_not_parse(garbage, "garbage.onnx")
    with open(os.path.join(out, "garbage.onnx"), "wb") as f:
        f.write(garbage)

    save(unsupported_model(), "unsupported.onnx", check=False)
    save(missing_input_model(), "missing_input.onnx", check=False)
    save(cycle_model(), "cycle.onnx", check=False)
    save(shape_mismatch_model(), "shape_mismatch.onnx", check=False)

    save(bfloat16_input_model(), "bfloat16_input.onnx")
    save(node_names_model(), "node_names.onnx", check=False)

    ident, xi = identity_chain_model(rng)
    save(ident, "identity_chain.onnx")
    np.save(os.path.join(out, "identity_chain_input.npy"), xi)

    cbn, xb, yb = conv_bn_model(rng)
    save(cbn, "conv_bn.onnx")
    np.save(os.path.join(out, "conv_bn_input.npy"), xb)
    np.save(os.path.join(out, "conv_bn_output.npy"), yb)

    save(if_model(False), "if_shape.onnx")
    save(if_model(True), "if_data.onnx")
    save(shape_chain_model(2), "shape_chain_static.onnx")
    save(shape_chain_model("batch"), "shape_chain_dynamic.onnx")

    total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f"wrote {len(os.listdir(out))} files to {out}, {total} bytes")


if __name__ == "__main__":
    main()
