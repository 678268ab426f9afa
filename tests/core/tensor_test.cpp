#include <gtest/gtest.h>

#include "core/tensor/tensor.h"

namespace qs {

TEST(Tensor, ReshapeSharesBufferAndCloneCopies) {
  Tensor t = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor r = t.reshaped({3, 2});
  EXPECT_EQ(r.raw(), t.raw());
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  Tensor c = t.clone();
  EXPECT_NE(c.raw(), t.raw());
  EXPECT_EQ(c.to_vector<float>(), t.to_vector<float>());
  EXPECT_THROW(t.reshaped({4}), Error);
}

TEST(Tensor, TypedAccessChecksType) {
  Tensor t = Tensor::from_vector<int64_t>({2}, {7, -1});
  EXPECT_THROW(t.data<float>(), Error);
  EXPECT_EQ(t.data<int64_t>()[1], -1);
  EXPECT_EQ(t.cast(DType::Float32).to_vector<float>(), (std::vector<float>{7.f, -1.f}));
}

TEST(Shape, BroadcastFollowsNumpy) {
  EXPECT_EQ(broadcast_shapes({2, 1, 4}, {3, 1}, "t"), (Shape{2, 3, 4}));
  EXPECT_EQ(broadcast_shapes({}, {5}, "t"), (Shape{5}));
  EXPECT_THROW(broadcast_shapes({2, 3}, {4, 3}, "t"), Error);
}

}  // namespace qs
