// Element conversion with defined results for every input, as used by Cast and mixed-type Pow.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace qs::ew {

// Converts s to D:
//  - to bool: s != 0 (NaN is true);
//  - floating to integer: truncates toward zero; NaN gives 0; the truncated value is saturated to the
//    int64 range (uint64 range for uint64) and then wrapped modulo 2^bits into D, which is what numpy's
//    astype does on x86-64 for in-range values (e.g. -1.0 -> uint8 255) and avoids C++'s undefined behavior
//    for out-of-range values;
//  - otherwise the C++ conversion (integers wrap modulo 2^bits, doubles round to nearest float).
template <typename D, typename S>
inline D convert(S s) {
  if constexpr (std::is_same_v<D, bool>) {
    return s != S{0};
  } else if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D>) {
    if (std::isnan(s)) return D{0};
    const double t = std::trunc(static_cast<double>(s));
    if constexpr (std::is_same_v<D, uint64_t>) {
      if (t >= 18446744073709551616.0) return std::numeric_limits<uint64_t>::max();
      if (t >= 0) return static_cast<uint64_t>(t);
    }
    if (t >= 9223372036854775808.0) return static_cast<D>(std::numeric_limits<int64_t>::max());
    if (t < -9223372036854775808.0) return static_cast<D>(std::numeric_limits<int64_t>::min());
    return static_cast<D>(static_cast<int64_t>(t));
  } else {
    return static_cast<D>(s);
  }
}

}  // namespace qs::ew
