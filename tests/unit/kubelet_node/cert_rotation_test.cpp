// The client certificate's renewal point: 70-90 % of its life, picked by the jitter.

#include <gtest/gtest.h>

#include "kubelet/node/cert_rotation.hpp"

namespace skiff::kubelet::node {
namespace {

TEST(CertRotation, DeadlineBetween70And90PercentOfTheLife) {
  EXPECT_EQ(rotation_deadline(1000, 2000, 0.0), 1700);
  EXPECT_EQ(rotation_deadline(1000, 2000, 0.5), 1800);
  EXPECT_EQ(rotation_deadline(1000, 2000, 0.25), 1750);
  EXPECT_EQ(rotation_deadline(1000, 2000, 7.0), 1900) << "jitter clamped";
  EXPECT_EQ(rotation_deadline(1000, 2000, -1.0), 1700);
  EXPECT_EQ(rotation_deadline(2000, 1000, 0.5), 2000) << "an inverted certificate: renew now";
  // A year's certificate (backdated 5 minutes) is renewed after about 255 days at the earliest.
  int64_t year = 365LL * 86400;
  EXPECT_EQ(rotation_deadline(-300, year, 0.0), -300 + (year + 300) * 7 / 10);
}

}  // namespace
}  // namespace skiff::kubelet::node
