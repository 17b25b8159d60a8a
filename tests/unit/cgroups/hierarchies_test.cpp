// Finding cgroup hierarchies in mountinfo without assuming a host layout; detect_mode.

#include <gtest/gtest.h>

#include "runtime/cgroups/hierarchies.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::runtime::cgroups {
namespace {

// This host (Debian 12, hybrid, every v1 controller on its own).
const char* kSeparate = R"(22 1 254:0 / / rw,relatime - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
)";

// A typical systemd v1 host: combined mounts, optional fields, extra options, a bind mount of a
// hierarchy elsewhere, a named hierarchy we do not use, and a cgroup mount outside the root.
const char* kCombined =
    R"(25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd
30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:14 - cgroup cgroup rw,cpu,cpuacct
31 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid shared:15 - cgroup cgroup rw,net_cls,net_prio
32 25 0:29 / /sys/fs/cgroup/cpuset rw,nosuid shared:16 - cgroup cgroup rw,cpuset,clone_children
33 25 0:30 / /sys/fs/cgroup/hugetlb rw shared:17 - cgroup cgroup rw,hugetlb
34 25 0:31 / /sys/fs/cgroup/rdma rw shared:18 - cgroup cgroup rw,rdma
35 25 0:32 / /sys/fs/cgroup/my\040stuff rw shared:19 - cgroup cgroup rw,name=mine
36 25 0:33 / /sys/fs/cgroup/memory rw shared:20 - cgroup cgroup rw,memory
90 1 0:33 / /mnt/memory-again rw shared:20 - cgroup cgroup rw,memory
91 25 0:33 / /sys/fs/cgroup/memory2 rw shared:20 - cgroup cgroup rw,memory
92 1 0:27 / /elsewhere/cpu rw - cgroup cgroup rw,cpu,cpuacct
)";

std::vector<std::string> names(const std::vector<Hierarchy>& hs) {
  std::vector<std::string> out;
  for (const auto& h : hs) out.push_back(h.name());
  return out;
}

TEST(Hierarchies, SeparateControllers) {
  auto hs = parse_cgroup_mounts(kSeparate, "/sys/fs/cgroup");
  EXPECT_EQ(names(hs),
            (std::vector<std::string>{"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer",
                                      "blkio", "pids", "systemd", "unified"}));
  EXPECT_EQ(hs[8].controllers, std::vector<std::string>{"name=systemd"});
  EXPECT_TRUE(hs[9].cgroup2);
  EXPECT_TRUE(hs[9].controllers.empty());
  EXPECT_EQ(hs[3].mountpoint, "/sys/fs/cgroup/memory");
}

TEST(Hierarchies, CombinedMountsOptionsAndDuplicates) {
  auto hs = parse_cgroup_mounts(kCombined, "/sys/fs/cgroup");
  EXPECT_EQ(names(hs),
            (std::vector<std::string>{"unified", "systemd", "cpu,cpuacct", "net_cls,net_prio",
                                      "cpuset", "hugetlb", "rdma", "my stuff", "memory"}));
  EXPECT_EQ(hs[1].controllers, std::vector<std::string>{"name=systemd"});  // xattr dropped
  EXPECT_EQ(hs[2].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ(hs[4].controllers, std::vector<std::string>{"cpuset"});  // clone_children dropped
  EXPECT_EQ(hs[7].mountpoint, "/sys/fs/cgroup/my stuff");            // \040 unescaped
  EXPECT_TRUE(hs[2].has("cpuacct"));
  EXPECT_FALSE(hs[2].has("cpuset"));
  // Which ones get a directory for a container: not the foreign named hierarchy.
  std::vector<std::string> used;
  for (const auto& h : hs)
    if (used_for_containers(h)) used.push_back(h.name());
  EXPECT_EQ(used, (std::vector<std::string>{"unified", "systemd", "cpu,cpuacct", "net_cls,net_prio",
                                            "cpuset", "hugetlb", "rdma", "memory"}));
}

// A tmpfs mounted over /sys/fs/cgroup (here in a private mount namespace) hides the hierarchies
// below it, which mountinfo still lists; a hierarchy mounted after it counts. A root listed late
// (moved into place) hides nothing.
TEST(Hierarchies, OvermountedHierarchiesAreHidden) {
  std::string text = std::string(kSeparate) +
                     "50 31 0:60 / /sys/fs/cgroup rw - tmpfs skiff-it rw\n"
                     "51 50 0:36 / /sys/fs/cgroup/pids rw - cgroup skiff-it rw,pids\n"
                     "52 1 0:61 / / rw - overlay overlay rw\n";
  auto hs = parse_cgroup_mounts(text, "/sys/fs/cgroup");
  EXPECT_EQ(names(hs), std::vector<std::string>{"pids"});
  // Only one over a single hierarchy.
  std::string one = std::string(kSeparate) + "50 35 0:60 / /sys/fs/cgroup/memory rw - tmpfs t rw\n";
  auto without_memory = names(parse_cgroup_mounts(one, "/sys/fs/cgroup"));
  EXPECT_EQ(without_memory,
            (std::vector<std::string>{"cpu", "cpuacct", "cpuset", "devices", "freezer", "blkio",
                                      "pids", "systemd", "unified"}));
  EXPECT_TRUE(parse_cgroup_mounts(std::string(kSeparate) + "50 31 0:60 / /sys/fs/cgroup rw - "
                                                           "tmpfs t rw\n",
                                  "/sys/fs/cgroup")
                  .empty());
}

TEST(Hierarchies, OtherRoot) {
  EXPECT_TRUE(parse_cgroup_mounts(kSeparate, "/other").empty());
  auto hs = parse_cgroup_mounts(kCombined, "/elsewhere");
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].mountpoint, "/elsewhere/cpu");
}

TEST(Hierarchies, MountpointHelpers) {
  Hierarchy h{"/x/cpu,cpuacct", {"cpu", "cpuacct"}, false};
  EXPECT_EQ(h.name(), "cpu,cpuacct");
  EXPECT_TRUE(h.has("cpu"));
  EXPECT_FALSE(h.has("cpuacc"));
}

TEST(DetectMode, PlainDirectoryIsNoCgroupRoot) {
  test::TempDir tmp;
  auto m = detect_mode(tmp.path());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().what().find("is not a cgroup2 mount and has no cgroup v1 hierarchy"),
            std::string::npos)
      << m.error().what();
  auto missing = detect_mode(tmp / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().what().find("statfs"), std::string::npos);
}

TEST(DetectMode, ThisHost) {
  auto m = detect_mode("/sys/fs/cgroup");
  if (!m.ok()) GTEST_SKIP() << "no cgroups on this host: " << m.error().what();
  // Whatever the host is, detection agrees with mountinfo.
  auto hs = discover_hierarchies("/sys/fs/cgroup");
  ASSERT_TRUE(hs.ok());
  bool v1 = false, v2 = false;
  for (const auto& h : *hs) (h.cgroup2 ? v2 : v1) = true;
  if (*m == Mode::kV2) {
    EXPECT_FALSE(v1);
  } else {
    EXPECT_TRUE(v1);
    EXPECT_EQ(*m == Mode::kHybrid, v2);
  }
  std::printf("this host: cgroup %s\n", mode_name(*m));
}

TEST(DetectMode, Names) {
  EXPECT_STREQ(mode_name(Mode::kV1), "v1");
  EXPECT_STREQ(mode_name(Mode::kV2), "v2");
  EXPECT_STREQ(mode_name(Mode::kHybrid), "hybrid");
}

}  // namespace
}  // namespace skiff::runtime::cgroups
