#include "core/algo/obc/layer.h"

#include "core/common/error.h"

namespace qs::obc {

std::string ObcLayer::describe() const {
  return "layer '" + layer + "' (" + op_type + ", weight '" + weight + "')";
}

ObcLayer describe_obc_layer(const Graph& g, const WeightPoint& wp) {
  ObcLayer l;
  l.layer = wp.layer;
  l.op_type = wp.op_type;
  l.weight = wp.tensor;
  l.input = wp.input;
  const Node* node = nullptr;
  for (const auto& n : g.nodes)
    if (n.name == wp.layer) node = &n;
  const std::string where = l.describe();
  if (!node) throw Error(where + ": no such node in the graph");
  const Tensor* w = g.initializer(wp.tensor);
  if (!w) throw Error(where + ": the weight is not an initializer");
  if (w->dtype() != DType::Float32)
    throw UnsupportedError(where + ": the weight is " + w->str() + ", not float32");
  if (g.consumers(wp.tensor).size() != 1)
    throw UnsupportedError(where +
                           ": the weight is shared by several nodes; OBC compresses one layer at a time");
  l.weight_shape = w->shape();
  if (wp.op_type == "Conv") {
    KernelInit init{*node, g.opset, [&g](const std::string& v) { return g.initializer(v); }};
    l.conv = read_conv_attrs(init, false);
    if (w->rank() < 3) throw UnsupportedError(where + ": the weight has rank " + std::to_string(w->rank()));
    l.kind = LayerKind::Conv;
    l.groups = l.conv.group;
    l.rows = w->dim(0);
    l.kernel_size = 1;
    for (int64_t a = 2; a < w->rank(); ++a) l.kernel_size *= w->dim(a);
    l.cols = w->dim(1) * l.kernel_size;
    if (l.rows % l.groups != 0)
      throw Error(where + ": " + std::to_string(l.rows) + " output channels are not divisible by group " +
                  std::to_string(l.groups));
  } else if (wp.op_type == "Gemm") {
    if (w->rank() != 2) throw UnsupportedError(where + ": the weight has rank " + std::to_string(w->rank()));
    if (node->inputs.size() < 2 || node->inputs[1] != wp.tensor)
      throw UnsupportedError(where + ": only a constant B operand is supported");
    l.kind = LayerKind::Gemm;
    l.transposed = node->attr_int("transB", 0) == 0;
    l.gemm_trans_a = node->attr_int("transA", 0) != 0;
    l.rows = l.transposed ? w->dim(1) : w->dim(0);
    l.cols = l.transposed ? w->dim(0) : w->dim(1);
  } else if (wp.op_type == "MatMul") {
    if (w->rank() != 2)
      throw UnsupportedError(where + ": the weight has rank " + std::to_string(w->rank()) +
                             " (OBC handles rank-2 MatMul weights)");
    if (node->inputs.size() >= 2 && node->inputs[1] == wp.tensor) {
      l.kind = LayerKind::MatMulRight;
      l.transposed = true;
      l.rows = w->dim(1);
      l.cols = w->dim(0);
    } else {
      l.kind = LayerKind::MatMulLeft;
      l.rows = w->dim(0);
      l.cols = w->dim(1);
    }
  } else {
    throw UnsupportedError(where + ": OBC supports Conv, Gemm and MatMul layers");
  }
  if (l.rows == 0 || l.cols == 0) throw UnsupportedError(where + ": the weight is empty");
  return l;
}

RowMatrixXf weight_matrix(const Tensor& w, const ObcLayer& l) {
  const float* p = w.data<float>();
  if (!l.transposed) return Eigen::Map<const RowMatrixXf>(p, l.rows, l.cols);
  return Eigen::Map<const RowMatrixXf>(p, l.cols, l.rows).transpose();
}

Tensor weight_tensor(const RowMatrixXf& m, const ObcLayer& l) {
  Tensor t(DType::Float32, l.weight_shape);
  if (!l.transposed)
    Eigen::Map<RowMatrixXf>(t.data<float>(), l.rows, l.cols) = m;
  else
    Eigen::Map<RowMatrixXf>(t.data<float>(), l.cols, l.rows) = m.transpose();
  return t;
}

std::vector<int32_t> nm_column_groups(const ObcLayer& l, int m) {
  if (m < 1) throw Error("N:M: M must be at least 1");
  const int64_t channels = l.cols / l.kernel_size;
  if (channels % m != 0)
    throw Error(l.describe() + ": " + std::to_string(channels) +
                " input channels per group are not a multiple of M = " + std::to_string(m) +
                ", so N:M sparsity along input channels does not apply");
  std::vector<int32_t> group(static_cast<size_t>(l.cols));
  for (int64_t c = 0; c < l.cols; ++c) {
    const int64_t ch = c / l.kernel_size, k = c % l.kernel_size;
    group[static_cast<size_t>(c)] = static_cast<int32_t>((ch / m) * l.kernel_size + k);
  }
  return group;
}

}  // namespace qs::obc
