// Image garbage collection's arithmetic and choice: nothing below the high threshold, enough to
// reach the low one above it; unused images least recently used first, never one in use.

#include <gtest/gtest.h>

#include "kubelet/node/image_gc.hpp"

namespace skiff::kubelet::node {
namespace {

TEST(ImageGc, BytesToFreeFollowTheThresholds) {
  EXPECT_EQ(image_gc_bytes_to_free(1000, 200, 85, 80), 0) << "80% used, high 85";
  EXPECT_EQ(image_gc_bytes_to_free(1000, 150, 85, 80), 50) << "85% used: down to 80%";
  EXPECT_EQ(image_gc_bytes_to_free(1000, 50, 85, 80), 150);
  EXPECT_EQ(image_gc_bytes_to_free(0, 0, 85, 80), 0) << "no filesystem figures";
  EXPECT_EQ(image_gc_bytes_to_free(1000, 1000, 0, 80), 0) << "an empty filesystem";
}

TEST(ImageGc, UnusedLeastRecentlyUsedFirstUntilEnough) {
  auto img = [](std::string id, int64_t size, int64_t last, bool used) {
    ImageEntry e;
    e.id = id;
    e.names = {id + ":1"};
    e.size = size;
    e.last_used = last;
    e.in_use = used;
    return e;
  };
  std::vector<ImageEntry> all = {img("newest", 100, 40, false),   img("running", 500, 1, true),
                                 img("oldest", 30, 10, false),    img("middle", 50, 20, false),
                                 img("tie-small", 10, 30, false), img("tie-big", 20, 30, false)};
  auto ids = [](const std::vector<ImageEntry>& v) {
    std::vector<std::string> out;
    for (const auto& e : v) out.push_back(e.id);
    return out;
  };
  EXPECT_EQ(ids(select_images_to_remove(all, 0)), std::vector<std::string>{});
  EXPECT_EQ(ids(select_images_to_remove(all, 1)), std::vector<std::string>{"oldest"});
  EXPECT_EQ(ids(select_images_to_remove(all, 31)), (std::vector<std::string>{"oldest", "middle"}));
  EXPECT_EQ(ids(select_images_to_remove(all, 81)),
            (std::vector<std::string>{"oldest", "middle", "tie-big"}))
      << "a tie in use time: the larger first";
  EXPECT_EQ(ids(select_images_to_remove(all, 1 << 30)),
            (std::vector<std::string>{"oldest", "middle", "tie-big", "tie-small", "newest"}))
      << "never the image in use, however much is asked";
}

// imageMinimumGCAge: an unused image stored less than the minimum age ago stays, however much is
// asked; at exactly the age it may go.
TEST(ImageGc, ImagesYoungerThanTheMinimumAgeStay) {
  auto img = [](std::string id, int64_t stored) {
    ImageEntry e;
    e.id = id;
    e.names = {id + ":1"};
    e.size = 10;
    e.last_used = stored;
    e.stored = stored;
    return e;
  };
  std::vector<ImageEntry> all = {img("old", 100), img("just-old-enough", 880), img("young", 950)};
  auto ids = [](const std::vector<ImageEntry>& v) {
    std::vector<std::string> out;
    for (const auto& e : v) out.push_back(e.id);
    return out;
  };
  EXPECT_EQ(ids(select_images_to_remove(all, 1 << 30, 1000, 120)),
            (std::vector<std::string>{"old", "just-old-enough"}));
  EXPECT_EQ(ids(select_images_to_remove(all, 1 << 30, 1000, 0)),
            (std::vector<std::string>{"old", "just-old-enough", "young"}))
      << "imageMinimumGCAge 0s: every unused image";
  EXPECT_EQ(ids(select_images_to_remove(all, 1 << 30, 1000, 10'000)), std::vector<std::string>{});
}

}  // namespace
}  // namespace skiff::kubelet::node
