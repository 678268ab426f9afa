// Transpose, DepthToSpace and SpaceToDepth: all are a reshape to a view, an axis permutation and a reshape.
// The permutation runs on strided_copy, whose axis merging turns the common 4-D permutations into a
// batched 2-D blocked transpose (NCHW<->NHWC) or row memcpy (e.g. [0, 2, 1, 3]).
#include "core/ops/movement_transpose.h"

#include "core/ops/movement_strided.h"
#include "core/ops/shape_common.h"

namespace qs {

namespace {

void check_perm(const std::vector<int64_t>& perm, int64_t rank) {
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  bool ok = static_cast<int64_t>(perm.size()) == rank;
  for (int64_t p : perm) {
    if (!ok || p < 0 || p >= rank || seen[static_cast<size_t>(p)]) {
      ok = false;
      break;
    }
    seen[static_cast<size_t>(p)] = true;
  }
  if (!ok)
    throw Error("perm " + ints_str(perm) + " is not a permutation of the " + std::to_string(rank) + " axes");
}

std::unique_ptr<Kernel> make_transpose(const KernelInit& init) {
  require_inputs(init, 1);
  const Node& n = init.node;
  const bool has_perm = n.has_attr("perm");
  const std::vector<int64_t> perm = n.attr_ints("perm");
  if (has_perm) {
    try {
      check_perm(perm, static_cast<int64_t>(perm.size()));
    } catch (const Error& e) {
      init.invalid(e.what());
    }
  }
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    std::vector<int64_t> p = perm;
    if (!has_perm)
      for (int64_t i = x.rank() - 1; i >= 0; --i) p.push_back(i);
    if (static_cast<int64_t>(p.size()) != x.rank())
      throw Error("perm " + ints_str(p) + " has " + std::to_string(p.size()) + " axes but the input is " +
                  x.str());
    out[0] = transpose_tensor(x, p);
  });
}

int64_t read_blocksize(const KernelInit& init) {
  if (!init.node.has_attr("blocksize")) init.invalid("attribute 'blocksize' is required");
  const int64_t b = init.node.attr_int("blocksize", 0);
  if (b <= 0) init.invalid("blocksize must be positive, got " + std::to_string(b));
  return b;
}

std::unique_ptr<Kernel> make_depth_to_space(const KernelInit& init) {
  require_inputs(init, 1);
  const int64_t b = read_blocksize(init);
  if (init.opset < 11 && init.node.has_attr("mode")) init.invalid("attribute 'mode' requires opset 11");
  const std::string mode = init.node.attr_string("mode", "DCR");
  if (mode != "DCR" && mode != "CRD") init.invalid("mode must be DCR or CRD, got '" + mode + "'");
  const bool dcr = mode == "DCR";
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    if (x.rank() != 4) throw Error("input should be 4-D [N, C, H, W], got " + x.str());
    const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    if (C % (b * b) != 0)
      throw Error("channels " + std::to_string(C) +
                  " are not divisible by blocksize^2 = " + std::to_string(b * b));
    const int64_t c = C / (b * b);
    // DCR: channel = (bh * b + bw) * c + ch; CRD: channel = (ch * b + bh) * b + bw.
    const Tensor v = dcr ? x.reshaped({N, b, b, c, H, W}) : x.reshaped({N, c, b, b, H, W});
    const std::vector<int64_t> perm =
        dcr ? std::vector<int64_t>{0, 3, 4, 1, 5, 2} : std::vector<int64_t>{0, 1, 4, 2, 5, 3};
    out[0] = transpose_tensor(v, perm).reshaped({N, c, H * b, W * b});
  });
}

std::unique_ptr<Kernel> make_space_to_depth(const KernelInit& init) {
  require_inputs(init, 1);
  const int64_t b = read_blocksize(init);
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = *in[0];
    if (x.rank() != 4) throw Error("input should be 4-D [N, C, H, W], got " + x.str());
    const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    if (H % b != 0 || W % b != 0)
      throw Error("spatial extents of " + x.str() + " are not divisible by blocksize " + std::to_string(b));
    // Output channel = (bh * b + bw) * C + ch.
    const Tensor v = x.reshaped({N, C, H / b, b, W / b, b});
    out[0] = transpose_tensor(v, {0, 3, 5, 1, 2, 4}).reshaped({N, C * b * b, H / b, W / b});
  });
}

}  // namespace

Tensor transpose_tensor(const Tensor& x, const std::vector<int64_t>& perm) {
  check_perm(perm, x.rank());
  return materialize(x, permuted_view(x.shape(), perm));
}

void register_transpose_ops(OpRegistry& r) {
  r.add("", "Transpose", 1, 21, make_transpose);
  r.add("", "DepthToSpace", 1, 21, make_depth_to_space);
  r.add("", "SpaceToDepth", 1, 21, make_space_to_depth);
}

}  // namespace qs
