// The mixed-precision ILP (core/algo/mixed/ilp.h) against brute-force enumeration of every allocation of
// small random instances: same optimal loss, the returned allocation within every budget, infeasibility
// exactly when no allocation fits, and the smallest feasible budget equal to the enumerated minimum.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "core/algo/mixed/ilp.h"
#include "core/common/error.h"

namespace qs {
namespace {

struct Brute {
  bool feasible = false;
  double loss = std::numeric_limits<double>::infinity();
  std::vector<int> choice;
};

// Visits every allocation (product of the groups' options).
void for_each_choice(const MixedProblem& p, const std::function<void(const std::vector<int>&)>& f) {
  std::vector<int> c(p.groups.size(), 0);
  while (true) {
    f(c);
    size_t i = 0;
    for (; i < c.size(); ++i) {
      if (++c[i] < static_cast<int>(p.groups[i].options.size())) break;
      c[i] = 0;
    }
    if (i == c.size()) return;
  }
}

Brute brute_force(const MixedProblem& p) {
  Brute b;
  for_each_choice(p, [&](const std::vector<int>& c) {
    const MixedCosts k = evaluate(p, c);
    if (within_budget(p, k) && k.loss < b.loss) {
      b.feasible = true;
      b.loss = k.loss;
      b.choice = c;
    }
  });
  return b;
}

// The least value of one resource over the allocations meeting the other budgets.
std::optional<double> brute_min(const MixedProblem& p, const std::function<double(const MixedCosts&)>& resource,
                                const std::function<void(MixedBudget&)>& drop) {
  MixedProblem q = p;
  drop(q.budget);
  std::optional<double> best;
  for_each_choice(q, [&](const std::vector<int>& c) {
    const MixedCosts k = evaluate(q, c);
    if (within_budget(q, k) && (!best || resource(k) < *best)) best = resource(k);
  });
  return best;
}

// Weight groups with 2–4 widths and losses that mostly fall with width (as real sensitivities do, with
// noise so that the order is not always monotone); `acts` > 0 adds activation groups feeding the layers.
MixedProblem random_problem(std::mt19937& rng, int weights, int acts) {
  MixedProblem p;
  std::uniform_int_distribution<int> elems(10, 400), nopt(2, 4), macs(0, 5000);
  std::uniform_real_distribution<double> u(0, 1);
  const std::vector<int> wbits = {2, 3, 4, 5, 6, 8};
  for (int a = 0; a < acts; ++a) {
    MixedGroup g;
    g.tensor = "act" + std::to_string(a);
    g.kind = TensorKind::Activation;
    g.elements = elems(rng);
    g.options = {{4, u(rng)}, {8, 0.1 * u(rng)}};
    if (u(rng) < 0.3) g.options.push_back({16, 0});
    p.groups.push_back(g);
  }
  for (int w = 0; w < weights; ++w) {
    MixedGroup g;
    g.tensor = "w" + std::to_string(w);
    g.kind = TensorKind::Weight;
    g.elements = elems(rng);
    g.macs = macs(rng);
    if (acts > 0) g.input = static_cast<int>(rng() % static_cast<unsigned>(acts));
    else g.input_bits = 8;
    const int k = nopt(rng);
    std::vector<int> bits = wbits;
    std::shuffle(bits.begin(), bits.end(), rng);
    bits.resize(static_cast<size_t>(k));
    std::sort(bits.begin(), bits.end());
    for (int b : bits) g.options.push_back({b, std::exp2(-b) * (0.5 + u(rng)) * g.elements});
    p.groups.push_back(g);
  }
  return p;
}

void expect_matches_brute_force(const MixedProblem& p, const std::string& what) {
  const Brute b = brute_force(p);
  const MixedSolution s = solve_mixed(p);
  ASSERT_EQ(s.feasible, b.feasible) << what;
  if (!b.feasible) return;
  ASSERT_EQ(s.choice.size(), p.groups.size()) << what;
  const MixedCosts c = evaluate(p, s.choice);
  EXPECT_TRUE(within_budget(p, c)) << what;
  EXPECT_NEAR(c.loss, b.loss, 1e-9 * std::max(1.0, b.loss)) << what;
  EXPECT_DOUBLE_EQ(s.costs.loss, c.loss) << what;
  EXPECT_DOUBLE_EQ(s.costs.weight_bytes, c.weight_bytes) << what;
}

TEST(MixedIlp, WeightBudgetMatchesBruteForce) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 40; ++trial) {
    MixedProblem p = random_problem(rng, 3 + trial % 4, 0);
    const double lo = min_weight_bytes(p), hi = max_weight_bytes(p);
    // Budgets across the whole range, including exactly the extremes.
    const double f = trial % 8 == 0 ? 0.0 : trial % 8 == 1 ? 1.0 : std::uniform_real_distribution<double>(0, 1)(rng);
    p.budget.weight_bytes = lo + (hi - lo) * f;
    expect_matches_brute_force(p, "trial " + std::to_string(trial));
  }
}

TEST(MixedIlp, BopsAndActivationChoicesMatchBruteForce) {
  // Weight and activation widths chosen together: BOPs are products of the two (linearized in the ILP).
  std::mt19937 rng(5);
  for (int trial = 0; trial < 40; ++trial) {
    MixedProblem p = random_problem(rng, 3 + trial % 3, 1 + trial % 2);
    std::uniform_real_distribution<double> u(0, 1);
    p.budget.weight_bytes = min_weight_bytes(p) + (max_weight_bytes(p) - min_weight_bytes(p)) * u(rng);
    // BOPs between the all-minimum and all-maximum values.
    std::vector<int> lo(p.groups.size(), 0), hi(p.groups.size());
    for (size_t i = 0; i < hi.size(); ++i) hi[i] = static_cast<int>(p.groups[i].options.size()) - 1;
    const double bl = evaluate(p, lo).bops, bh = evaluate(p, hi).bops;
    if (trial % 3 != 0) p.budget.bops = bl + (bh - bl) * u(rng);
    if (trial % 4 == 1) p.budget.act_bytes = 0.9 * evaluate(p, hi).act_bytes;
    expect_matches_brute_force(p, "trial " + std::to_string(trial));
  }
}

TEST(MixedIlp, PinnedGroupsKeepTheirWidth) {
  std::mt19937 rng(3);
  MixedProblem p = random_problem(rng, 5, 0);
  // Pin w1 to its widest option with a loss that makes the solver want anything else, and w3 to float.
  p.groups[1].options = {{8, 1e6}};
  p.groups[3].options = {{kFloatBits, 0}};
  p.budget.weight_bytes = max_weight_bytes(p);
  const MixedSolution s = solve_mixed(p);
  ASSERT_TRUE(s.feasible);
  EXPECT_EQ(s.choice[1], 0);
  EXPECT_EQ(s.choice[3], 0);
  // A float pin counts 32 bits: the budget below it is infeasible whatever the others do.
  EXPECT_DOUBLE_EQ(min_weight_bytes(p), [&] {
    double b = 0;
    for (const auto& g : p.groups) {
      int m = 99;
      for (const auto& o : g.options) m = std::min(m, o.bits);
      b += g.elements * m / 8.0;
    }
    return b;
  }());
  expect_matches_brute_force(p, "pinned");
}

TEST(MixedIlp, InfeasibleBudgetReportsTheSmallestFeasible) {
  std::mt19937 rng(8);
  for (int trial = 0; trial < 12; ++trial) {
    MixedProblem p = random_problem(rng, 4, trial % 2);
    const double lo = min_weight_bytes(p);
    p.budget.weight_bytes = lo - 1;
    if (trial % 3 == 2) {
      // With a BOPs budget too, the smallest feasible weight memory is the least among allocations that
      // meet it, not simply every layer at its fewest bits.
      std::vector<int> hi(p.groups.size());
      for (size_t i = 0; i < hi.size(); ++i) hi[i] = static_cast<int>(p.groups[i].options.size()) - 1;
      std::vector<int> lo_c(p.groups.size(), 0);
      p.budget.bops = 0.5 * (evaluate(p, lo_c).bops + evaluate(p, hi).bops);
    }
    const MixedSolution s = solve_mixed(p);
    ASSERT_FALSE(s.feasible);
    const auto want = brute_min(
        p, [](const MixedCosts& c) { return c.weight_bytes; }, [](MixedBudget& b) { b.weight_bytes.reset(); });
    ASSERT_EQ(s.min_weight_bytes.has_value(), want.has_value());
    if (want) {
      EXPECT_NEAR(*s.min_weight_bytes, *want, 1e-9);
      EXPECT_NE(s.message.find("smallest feasible"), std::string::npos) << s.message;
      // That budget is indeed feasible.
      MixedProblem q = p;
      q.budget.weight_bytes = *s.min_weight_bytes;
      EXPECT_TRUE(solve_mixed(q).feasible);
    }
    if (p.budget.bops) {
      const auto wb = brute_min(
          p, [](const MixedCosts& c) { return c.bops; }, [](MixedBudget& b) { b.bops.reset(); });
      ASSERT_EQ(s.min_bops.has_value(), wb.has_value());
      if (wb) {
        EXPECT_NEAR(*s.min_bops, *wb, 1e-6 * std::max(1.0, *wb));
      }
    }
  }
}

TEST(MixedIlp, ActivationMemoryBudgetAloneInfeasible) {
  MixedProblem p;
  MixedGroup a;
  a.tensor = "a";
  a.kind = TensorKind::Activation;
  a.elements = 1000;
  a.options = {{8, 0}};
  p.groups.push_back(a);
  MixedGroup w;
  w.tensor = "w";
  w.elements = 100;
  w.input = 0;
  w.macs = 10;
  w.options = {{4, 1}, {8, 0}};
  p.groups.push_back(w);
  p.budget.act_bytes = 999;  // the fixed 8-bit activation needs 1000 bytes
  const MixedSolution s = solve_mixed(p);
  ASSERT_FALSE(s.feasible);
  ASSERT_TRUE(s.min_act_bytes.has_value());
  EXPECT_DOUBLE_EQ(*s.min_act_bytes, 1000);
  EXPECT_NE(s.message.find("activation memory"), std::string::npos);
}

TEST(MixedIlp, ParetoSweepIsMonotoneAndOptimalAtEachBudget) {
  std::mt19937 rng(21);
  MixedProblem p = random_problem(rng, 6, 0);
  const auto pts = pareto_sweep(p, 15);
  ASSERT_GE(pts.size(), 2u);
  EXPECT_DOUBLE_EQ(pts.front().budget, min_weight_bytes(p));
  EXPECT_DOUBLE_EQ(pts.back().budget, max_weight_bytes(p));
  for (size_t i = 0; i < pts.size(); ++i) {
    MixedProblem q = p;
    q.budget.weight_bytes = pts[i].budget;
    const Brute b = brute_force(q);
    ASSERT_TRUE(b.feasible);
    EXPECT_NEAR(pts[i].solution.costs.loss, b.loss, 1e-9 * std::max(1.0, b.loss)) << "point " << i;
    EXPECT_LE(pts[i].solution.costs.weight_bytes, pts[i].budget);
    if (i > 0) {
      EXPECT_GT(pts[i].budget, pts[i - 1].budget);
      EXPECT_LE(pts[i].solution.costs.loss, pts[i - 1].solution.costs.loss + 1e-12);
      EXPECT_NE(pts[i].solution.choice, pts[i - 1].solution.choice);
    }
  }
  // At the all-maximum size the best allocation is the least-loss option of every group.
  double best = 0;
  for (const auto& g : p.groups) {
    double m = std::numeric_limits<double>::infinity();
    for (const auto& o : g.options) m = std::min(m, o.loss);
    best += m;
  }
  EXPECT_NEAR(pts.back().solution.costs.loss, best, 1e-9 * best);
}

TEST(MixedIlp, MalformedProblemsAreRefusedByName) {
  MixedProblem p;
  MixedGroup g;
  g.tensor = "conv1.weight";
  g.elements = 10;
  p.groups.push_back(g);
  try {
    solve_mixed(p);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("conv1.weight"), std::string::npos) << e.what();
  }
  p.groups[0].options = {{1, 0.5}};
  EXPECT_THROW(solve_mixed(p), Error);
  p.groups[0].options = {{4, -1}};
  EXPECT_THROW(solve_mixed(p), Error);
  p.groups[0].options = {{4, 1}};
  p.groups[0].input = 3;
  EXPECT_THROW(solve_mixed(p), Error);
  p.groups[0].input = -1;
  EXPECT_THROW(pareto_sweep(p, 1), Error);
  EXPECT_THROW(evaluate(p, {2}), Error);
}

}  // namespace
}  // namespace qs
