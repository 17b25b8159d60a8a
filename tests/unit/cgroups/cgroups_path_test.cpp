// linux.cgroupsPath → the path inside every hierarchy, and --systemd-cgroup refusals.

#include <gtest/gtest.h>

#include "runtime/cgroups/files.hpp"
#include "runtime/cgroups/manager.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::runtime::cgroups {
namespace {

Options opts(std::string path, std::string id = "c1") {
  Options o;
  o.cgroups_path = std::move(path);
  o.container_id = std::move(id);
  return o;
}

struct Case {
  const char* given;
  const char* resolved;
};

// make_cgroup_dirs tries the leaf first (its parents usually exist: a container's cgroup below its
// pod's); what it created is recorded either way, for the clean-up of a failed create.
TEST(MakeCgroupDirs, LeafFirstRecordsWhatItCreated) {
  test::TempDir dir;
  std::vector<std::string> created;
  ASSERT_TRUE(make_cgroup_dirs(dir.path(), "kube/pod1/c-0", created).ok());
  EXPECT_EQ(created,
            (std::vector<std::string>{dir / "kube", dir / "kube/pod1", dir / "kube/pod1/c-0"}));
  created.clear();
  ASSERT_TRUE(make_cgroup_dirs(dir.path(), "kube/pod1/c-1", created).ok());
  EXPECT_EQ(created, std::vector<std::string>{dir / "kube/pod1/c-1"});
  created.clear();
  ASSERT_TRUE(make_cgroup_dirs(dir.path(), "kube/pod1", created).ok());  // exists
  EXPECT_TRUE(created.empty());
  test::write_file(dir / "kube/pod1/file", "");
  auto r = make_cgroup_dirs(dir.path(), "kube/pod1/file", created);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("not a directory"), std::string::npos) << r.error().what();
  r = make_cgroup_dirs(dir.path(), "kube/pod1/file/x", created);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(created.empty());
}

TEST(CgroupsPath, ResolvesUnderTheHierarchyRoot) {
  const Case cases[] = {
      {"", "/skiff/c1"},         // default
      {"/a/b", "/a/b"},          // absolute
      {"a/b", "/a/b"},           // relative: under the root too, not our own cgroup
      {"/a//b/./c/", "/a/b/c"},  // cleaned
      {"a/../b", "/b"},          // ".." inside the path is fine
      {"/kubepods/pod1/../pod2/c", "/kubepods/pod2/c"},
      {"system.slice:docker:x", "/system.slice:docker:x"},  // no --systemd-cgroup: a plain name
  };
  for (const auto& c : cases) {
    auto r = resolve_cgroups_path(opts(c.given));
    ASSERT_TRUE(r.ok()) << c.given << ": " << r.error().what();
    EXPECT_EQ(*r, c.resolved) << "given " << c.given;
  }
}

TEST(CgroupsPath, RefusesEscapesAndTheRoot) {
  const std::pair<const char*, const char*> cases[] = {
      {"..", "`..` climbs above the cgroup root"},
      {"../x", "`..` climbs above the cgroup root"},
      {"/a/../../etc", "`..` climbs above the cgroup root"},
      {"a/b/../../..", "`..` climbs above the cgroup root"},
      {"/", "names the root cgroup"},
      {"a/..", "names the root cgroup"},
      {"/./", "names the root cgroup"},
  };
  for (const auto& [given, why] : cases) {
    auto r = resolve_cgroups_path(opts(given));
    ASSERT_FALSE(r.ok()) << given;
    EXPECT_EQ(r.error().what(), cat("linux.cgroupsPath `", given, "`: ", why,
                                    std::string_view(why).starts_with("names")
                                        ? "; a container needs a cgroup of its own"
                                        : ""));
  }
}

TEST(CgroupsPath, DefaultNeedsAUsableContainerId) {
  for (const char* id : {"", ".", "..", "a/b"}) {
    auto r = resolve_cgroups_path(opts("", id));
    ASSERT_FALSE(r.ok()) << id;
    EXPECT_NE(r.error().what().find("container id"), std::string::npos) << r.error().what();
  }
}

TEST(CgroupsPath, SystemdWithoutSystemdRunning) {
  test::TempDir tmp;
  Options o = opts("system.slice:skiff:c1");
  o.systemd = true;
  o.systemd_run_dir = tmp / "no-such-dir";
  auto r = resolve_cgroups_path(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(),
            "--systemd-cgroup: cannot serve systemd cgroup path `system.slice:skiff:c1`: systemd "
            "is not running on this host");
  // The empty path gets runc's default form, and the same refusal.
  o.cgroups_path = "";
  r = resolve_cgroups_path(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("`system.slice:skiff:c1`: systemd is not running"),
            std::string::npos)
      << r.error().what();
  // make_manager refuses before touching anything.
  EXPECT_FALSE(make_manager(o).ok());
}

TEST(CgroupsPath, SystemdRunningButNoDriver) {
  test::TempDir tmp;  // stands for /run/systemd/system
  Options o = opts(":skiff:c1");
  o.systemd = true;
  o.systemd_run_dir = tmp.path();
  auto r = resolve_cgroups_path(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("`:skiff:c1`: skiff has no systemd cgroup driver"),
            std::string::npos)
      << r.error().what();
  EXPECT_NE(r.error().what().find("D-Bus"), std::string::npos);
}

TEST(CgroupsPath, SystemdNeedsSlicePrefixName) {
  test::TempDir tmp;
  for (const char* bad : {"/a/b", "a:b", "a.slice:b:c:d", "system.slice:skiff:", "notaslice:p:n",
                          "system.slice:a/b:c"}) {
    Options o = opts(bad);
    o.systemd = true;
    o.systemd_run_dir = tmp.path();
    auto r = resolve_cgroups_path(o);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().what(), cat("--systemd-cgroup: linux.cgroupsPath `", bad,
                                    "` is not of the form `slice:prefix:name` (e.g. "
                                    "`system.slice:skiff:c1`)"));
  }
}

}  // namespace
}  // namespace skiff::runtime::cgroups
