// The kubelet API's log tail (kubectl logs --tail=N).

#include <gtest/gtest.h>

#include "kubelet/node/kubelet_server.hpp"

namespace skiff::kubelet::node {
namespace {

TEST(TailLines, LastNLines) {
  EXPECT_EQ(tail_lines("a\nb\nc\n", 2), "b\nc\n");
  EXPECT_EQ(tail_lines("a\nb\nc\n", 1), "c\n");
  EXPECT_EQ(tail_lines("a\nb\nc\n", 3), "a\nb\nc\n");
  EXPECT_EQ(tail_lines("a\nb\nc\n", 10), "a\nb\nc\n");
  EXPECT_EQ(tail_lines("a\nb\nc", 2), "b\nc");
  EXPECT_EQ(tail_lines("a\nb\nc\n", 0), "");
  EXPECT_EQ(tail_lines("", 3), "");
}

}  // namespace
}  // namespace skiff::kubelet::node
