// Where the kubelet looks for CNI plugins when no --cni-bin-dir is given: an installed tree
// (/usr/bin + /usr/lib/cni, any prefix, an extracted package) before the build tree.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "kubelet/engine/config.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::kubelet {
namespace {

size_t index_of(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<size_t>(std::find(v.begin(), v.end(), s) - v.begin());
}

TEST(DefaultCniPluginDirs, InstalledTreeBeforeTheBuildTree) {
  test::TempDir root("cni-dirs");
  test::write_file(root / "usr/bin/skiff-pod", "");
  test::write_file(root / "usr/lib/cni/skiff-bridge", "");
  auto dirs = default_cni_plugin_dirs(root / "usr/bin/skiff-pod", "/src/build");
  ASSERT_FALSE(dirs.empty());
  EXPECT_EQ(dirs[0], root / "usr/lib/cni");  // normalized, no "bin/.."
  EXPECT_LT(index_of(dirs, root / "usr/lib/cni"), index_of(dirs, "/src/build/cni"));
  EXPECT_LT(index_of(dirs, "/src/build/cni"), dirs.size());
  for (const char* d : {"/usr/local/lib/cni", "/usr/lib/cni", "/opt/cni/bin"})
    EXPECT_LT(index_of(dirs, d), dirs.size()) << d;
}

TEST(DefaultCniPluginDirs, PluginsNextToTheBinaryComeFirst) {
  test::TempDir root("cni-dirs");
  test::write_file(root / "bin/skiff-bridge", "");
  ASSERT_EQ(::chmod((root / "bin/skiff-bridge").c_str(), 0755), 0);
  auto dirs = default_cni_plugin_dirs(root / "bin/skiff-shim", "");
  ASSERT_GE(dirs.size(), 2u);
  EXPECT_EQ(dirs[0], root / "bin");
  EXPECT_EQ(dirs[1], root / "lib/cni");
}

TEST(DefaultCniPluginDirs, SystemPrefixHasNoDuplicates) {
  auto dirs = default_cni_plugin_dirs("/usr/bin/skiff-pod", "");
  EXPECT_EQ(dirs, (std::vector<std::string>{"/usr/lib/cni", "/usr/local/lib/cni", "/opt/cni/bin"}));
  // Without a readable /proc/self/exe: the fixed directories only.
  EXPECT_EQ(
      default_cni_plugin_dirs("", "/b"),
      (std::vector<std::string>{"/b/cni", "/usr/local/lib/cni", "/usr/lib/cni", "/opt/cni/bin"}));
}

}  // namespace
}  // namespace skiff::kubelet
