#include "core/algo/obc/grid.h"

#include "core/common/error.h"

namespace qs::obc {

RowGrid RowGrid::from_params(const QuantSpec& spec, const QuantParams& p, int64_t rows) {
  validate_params(p);
  if (p.channels() != 1 && p.channels() != rows)
    throw Error("the grid has " + std::to_string(p.channels()) + " channels for a weight of " +
                std::to_string(rows) + " output channels");
  RowGrid g;
  g.spec = spec;
  g.scale = p.scale;
  g.zero_point = p.zero_point;
  g.qmin = p.qmin;
  g.qmax = p.qmax;
  return g;
}

RowGrid RowGrid::slice(int64_t row0, int64_t n) const {
  if (scale.size() == 1) return *this;
  RowGrid g = *this;
  g.scale.assign(scale.begin() + row0, scale.begin() + row0 + n);
  g.zero_point.assign(zero_point.begin() + row0, zero_point.begin() + row0 + n);
  return g;
}

}  // namespace qs::obc
