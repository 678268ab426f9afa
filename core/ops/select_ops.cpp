// Selection and scans of classifier and detector heads: TopK, Hardmax, CumSum and NonMaxSuppression.
// Orders are stable: equal values keep their index order (TopK: the lower index first, as ONNX states);
// NaN counts as the largest value.
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/common/parallel.h"
#include "core/ops/elementwise_util.h"
#include "core/ops/kernel.h"

namespace qs {

namespace {

// An integer scalar (or one-element) input, e.g. TopK's K or CumSum's axis.
int64_t scalar_int(const Tensor& t, const std::string& what) {
  if (t.numel() != 1) throw Error(what + " must hold one value, got shape " + shape_str(t.shape()));
  if (t.dtype() != DType::Int64 && t.dtype() != DType::Int32)
    throw Error(what + " must be int32 or int64, got " + dtype_name(t.dtype()));
  return static_cast<int64_t>(t.value_as_double(0));
}

// Whether a ranks before b (descending: larger first; NaN largest).
template <typename T>
bool before_desc(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return !std::isnan(b);
    if (std::isnan(b)) return false;
  }
  return a > b;
}

std::unique_ptr<Kernel> make_topk(const KernelInit& init) {
  const Node& n = init.node;
  ew::check_arity(init, init.opset >= 10 ? 2 : 1, init.opset >= 10 ? 2 : 1, 2);
  const int64_t axis_attr = n.attr_int("axis", -1);
  const bool largest = n.attr_int("largest", 1) != 0;
  const int64_t k_attr = n.attr_int("k", -1);
  if (init.opset < 10 && k_attr < 0) init.invalid("attribute 'k' is required before opset 10");
  const bool k_input = init.opset >= 10;
  const std::string where = init.where();
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = ew::required(in, 0);
    const int64_t k = k_input ? scalar_int(ew::required(in, 1), where + ": K") : k_attr;
    const int64_t a = normalize_axis(axis_attr, x.rank(), where + " axis");
    const int64_t len = x.dim(a);
    if (k < 0 || k > len)
      throw Error(where + ": K = " + std::to_string(k) + " is outside [0, " + std::to_string(len) + "]");
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < a; ++d) outer *= x.dim(d);
    for (int64_t d = a + 1; d < x.rank(); ++d) inner *= x.dim(d);
    Shape ys = x.shape();
    ys[static_cast<size_t>(a)] = k;
    Tensor values(x.dtype(), ys), indices(DType::Int64, ys);
    dispatch_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (ew::kIsBool<T>) {
        ew::unsupported_type(x.dtype(), "X", ew::NumericTypes::names);
      } else {
        const T* px = x.data<T>();
        T* pv = values.data<T>();
        int64_t* pi = indices.data<int64_t>();
        parallel_for(
            0, outer * inner,
            [&](int64_t item) {
              const int64_t o = item / inner, i = item % inner;
              const T* row = px + o * len * inner + i;
              std::vector<int64_t> order(static_cast<size_t>(len));
              std::iota(order.begin(), order.end(), int64_t{0});
              auto cmp = [&](int64_t p, int64_t q) {
                const T u = row[p * inner], v = row[q * inner];
                return largest ? before_desc(u, v) : before_desc(v, u);
              };
              std::stable_sort(order.begin(), order.end(), cmp);
              for (int64_t j = 0; j < k; ++j) {
                const int64_t src = order[static_cast<size_t>(j)], dst = (o * k + j) * inner + i;
                pv[dst] = row[src * inner];
                pi[dst] = src;
              }
            },
            len * 8);
      }
    });
    out[0] = std::move(values);
    out[1] = std::move(indices);
  });
}

// Hardmax: 1 at the first largest value along the axis (opset 13), or of each row of the input coerced to
// 2-D at `axis` (before 13), 0 elsewhere.
std::unique_ptr<Kernel> make_hardmax(const KernelInit& init) {
  ew::check_arity(init, 1, 1);
  const bool coerce = init.opset < 13;
  const int64_t axis_attr = init.node.attr_int("axis", coerce ? 1 : -1);
  const std::string where = init.where();
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = ew::required(in, 0);
    const int64_t a = normalize_axis(axis_attr, x.rank(), where + " axis");
    int64_t outer = 1, len = 1, inner = 1;
    for (int64_t d = 0; d < a; ++d) outer *= x.dim(d);
    if (coerce)
      for (int64_t d = a; d < x.rank(); ++d) len *= x.dim(d);
    else
      len = x.dim(a);
    if (!coerce)
      for (int64_t d = a + 1; d < x.rank(); ++d) inner *= x.dim(d);
    Tensor y(x.dtype(), x.shape());
    dispatch_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!ew::kIsFloat<T>) {
        ew::unsupported_type(x.dtype(), "input", ew::FloatTypes::names);
      } else {
        const T* px = x.data<T>();
        T* py = y.data<T>();
        std::fill(py, py + y.numel(), T{0});
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t i = 0; i < inner; ++i) {
            const T* row = px + o * len * inner + i;
            int64_t best = 0;
            for (int64_t j = 1; j < len; ++j)
              if (before_desc(row[j * inner], row[best * inner])) best = j;
            if (len > 0) py[(o * len + best) * inner + i] = T{1};
          }
      }
    });
    out[0] = std::move(y);
  });
}

std::unique_ptr<Kernel> make_cumsum(const KernelInit& init) {
  ew::check_arity(init, 2, 2);
  const bool exclusive = init.node.attr_int("exclusive", 0) != 0,
             reverse = init.node.attr_int("reverse", 0) != 0;
  const std::string where = init.where();
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& x = ew::required(in, 0);
    const int64_t a =
        normalize_axis(scalar_int(ew::required(in, 1), where + ": axis"), x.rank(), where + " axis");
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < a; ++d) outer *= x.dim(d);
    for (int64_t d = a + 1; d < x.rank(); ++d) inner *= x.dim(d);
    const int64_t len = x.dim(a);
    Tensor y(x.dtype(), x.shape());
    dispatch_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (ew::kIsBool<T>) {
        ew::unsupported_type(x.dtype(), "x", ew::NumericTypes::names);
      } else {
        const T* px = x.data<T>();
        T* py = y.data<T>();
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t i = 0; i < inner; ++i) {
            T acc{0};
            for (int64_t s = 0; s < len; ++s) {
              const int64_t j = reverse ? len - 1 - s : s, at = (o * len + j) * inner + i;
              if (exclusive) {
                py[at] = acc;
                acc = static_cast<T>(acc + px[at]);
              } else {
                acc = static_cast<T>(acc + px[at]);
                py[at] = acc;
              }
            }
          }
      }
    });
    out[0] = std::move(y);
  });
}

// NonMaxSuppression: per batch and class, boxes with score > score_threshold in decreasing score order
// (ties: lower index first), each kept unless its IoU with a kept box exceeds iou_threshold, at most
// max_output_boxes_per_class (0 or omitted: none). Output [selected, 3] int64: (batch, class, box).
std::unique_ptr<Kernel> make_nms(const KernelInit& init) {
  ew::check_arity(init, 2, 5);
  const int64_t center = init.node.attr_int("center_point_box", 0);
  if (center != 0 && center != 1) init.invalid("attribute 'center_point_box' must be 0 or 1");
  const std::string where = init.where();
  return make_kernel([=](std::span<const Tensor* const> in, std::span<Tensor> out) {
    const Tensor& boxes = ew::required(in, 0);
    const Tensor& scores = ew::required(in, 1);
    if (boxes.dtype() != DType::Float32 || scores.dtype() != DType::Float32)
      throw UnsupportedError(where + ": boxes and scores must be float32");
    if (boxes.rank() != 3 || boxes.dim(2) != 4 || scores.rank() != 3 || scores.dim(0) != boxes.dim(0) ||
        scores.dim(2) != boxes.dim(1))
      throw Error(where + ": boxes " + shape_str(boxes.shape()) + " and scores " + shape_str(scores.shape()) +
                  " are not [B, N, 4] and [B, C, N]");
    const int64_t max_out =
        in.size() > 2 && in[2] ? scalar_int(*in[2], where + ": max_output_boxes_per_class") : 0;
    const float iou_th = in.size() > 3 && in[3] ? static_cast<float>(in[3]->value_as_double(0)) : 0.f;
    const bool has_score_th = in.size() > 4 && in[4];
    const float score_th = has_score_th ? static_cast<float>(in[4]->value_as_double(0)) : 0.f;
    const int64_t B = boxes.dim(0), N = boxes.dim(1), C = scores.dim(1);
    const float* pb = boxes.data<float>();
    const float* ps = scores.data<float>();
    // Corners (y1, x1, y2, x2) with y1 ≤ y2, x1 ≤ x2.
    auto corners = [&](int64_t b, int64_t i) {
      const float* p = pb + (b * N + i) * 4;
      std::array<float, 4> r{};
      if (center == 1) {
        r = {p[1] - p[3] / 2, p[0] - p[2] / 2, p[1] + p[3] / 2, p[0] + p[2] / 2};
      } else {
        r = {std::min(p[0], p[2]), std::min(p[1], p[3]), std::max(p[0], p[2]), std::max(p[1], p[3])};
      }
      return r;
    };
    auto iou = [](const std::array<float, 4>& a, const std::array<float, 4>& b) {
      const float ih = std::max(0.f, std::min(a[2], b[2]) - std::max(a[0], b[0]));
      const float iw = std::max(0.f, std::min(a[3], b[3]) - std::max(a[1], b[1]));
      const float inter = ih * iw;
      const float area_a = (a[2] - a[0]) * (a[3] - a[1]), area_b = (b[2] - b[0]) * (b[3] - b[1]);
      const float uni = area_a + area_b - inter;
      return uni > 0 ? inter / uni : 0.f;
    };
    std::vector<int64_t> selected;
    for (int64_t b = 0; b < B && max_out > 0; ++b)
      for (int64_t c = 0; c < C; ++c) {
        const float* s = ps + (b * C + c) * N;
        std::vector<int64_t> order;
        for (int64_t i = 0; i < N; ++i)
          if (!has_score_th || s[i] > score_th) order.push_back(i);
        std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) { return s[p] > s[q]; });
        std::vector<std::array<float, 4>> kept;
        for (int64_t i : order) {
          if (static_cast<int64_t>(kept.size()) >= max_out) break;
          const auto box = corners(b, i);
          bool keep = true;
          for (const auto& k : kept) keep = keep && !(iou(box, k) > iou_th);
          if (!keep) continue;
          kept.push_back(box);
          selected.insert(selected.end(), {b, c, i});
        }
      }
    out[0] = Tensor::from_vector<int64_t>({static_cast<int64_t>(selected.size() / 3), 3}, selected);
  });
}

}  // namespace

void register_select_ops(OpRegistry& r) {
  // TopK: 1 (k attribute), 10 (K input), 11 (largest, sorted, negative axis).
  r.add("", "TopK", 1, 21, make_topk);
  r.add("", "Hardmax", 1, 21, make_hardmax);
  r.add("", "CumSum", 11, 21, make_cumsum);
  r.add("", "NonMaxSuppression", 10, 21, make_nms);
}

}  // namespace qs
