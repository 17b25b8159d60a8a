#include "common/fs.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/test_util.hpp"

namespace skiff {
namespace {

TEST(CleanPath, Lexical) {
  EXPECT_EQ(clean_path("/a//b/./c/../d"), "/a/b/d");
  EXPECT_EQ(clean_path("/../../x"), "/x");
  EXPECT_EQ(clean_path("a/../../b"), "../b");
  EXPECT_EQ(clean_path(""), ".");
  EXPECT_EQ(clean_path("/"), "/");
}

TEST(PathJoin, Slashes) {
  EXPECT_EQ(path_join("/a/", "/b"), "/a/b");
  EXPECT_EQ(path_join("/a", "b"), "/a/b");
  EXPECT_EQ(path_join("", "b"), "b");
}

TEST(WriteFileAtomic, ReplacesWholeAndLeavesNoTemp) {
  test::TempDir dir;
  std::string p = dir / "state.json";
  ASSERT_TRUE(write_file_atomic(p, "one").ok());
  ASSERT_TRUE(write_file_atomic(p, "two").ok());
  EXPECT_EQ(*read_file(p), "two");
  auto listing = test::sh("ls -A " + dir.path());
  EXPECT_EQ(listing.out, "state.json\n");
}

// mkdir_p tries the leaf first and walks from the top only when a parent is missing.
TEST(MkdirP, LeafFirstThenMissingParentsWithTheirMode) {
  test::TempDir dir;
  std::string deep = dir / "a/b/c";
  ASSERT_TRUE(mkdir_p(deep, 0700).ok());
  struct stat st {};
  for (const std::string& p : {dir / "a", dir / "a/b", deep}) {
    ASSERT_EQ(::stat(p.c_str(), &st), 0) << p;
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << p;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << p;
  }
  EXPECT_TRUE(mkdir_p(deep).ok());           // exists
  ASSERT_TRUE(mkdir_p(dir / "a/b/d").ok());  // the parent exists: the leaf alone
  EXPECT_TRUE(path_exists(dir / "a/b/d"));
  EXPECT_TRUE(mkdir_p("").ok());
  test::write_file(dir / "file", "x");
  auto r = mkdir_p(dir / "file/sub/leaf");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find(dir / "file/sub"), std::string::npos) << r.error().what();
  EXPECT_FALSE(path_exists(dir / "file/sub"));
}

TEST(ReadFile, MissingNamesPathAndReason) {
  auto r = read_file("/nonexistent/skiff/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ENOENT);
  EXPECT_NE(r.error().what().find("`/nonexistent/skiff/x`"), std::string::npos);
  EXPECT_NE(r.error().what().find("No such file or directory"), std::string::npos);
}

// The heart of the CVE-2021-30465 defence: symlinks and ".." never leave the root.
TEST(OpenInRoot, SymlinksStayInsideRoot) {
  test::TempDir outside, root;
  test::write_file(outside / "secret", "host");
  test::write_file(root / "secret", "container");
  ASSERT_EQ(symlink((outside.path() + "/secret").c_str(), (root / "abs-link").c_str()), 0);
  ASSERT_EQ(symlink("../../../../../../secret", (root / "rel-link").c_str()), 0);
  auto rfd = open_dir(root.path());
  ASSERT_TRUE(rfd.ok());
  for (const char* p : {"/abs-link", "rel-link", "/../../secret"}) {
    auto fd = open_in_root(rfd->get(), p, O_RDONLY);
    if (!fd.ok()) {
      // An absolute link to a path that does not exist inside the root fails: also safe.
      EXPECT_EQ(fd.error().code(), ENOENT) << p;
      continue;
    }
    EXPECT_EQ(*read_fd(fd->get()), "container") << p;
  }
}

TEST(MkdirInRoot, CreatesThroughSymlinkInsideRootOnly) {
  test::TempDir outside, root;
  ASSERT_EQ(symlink(outside.path().c_str(), (root / "escape").c_str()), 0);
  auto rfd = open_dir(root.path());
  ASSERT_TRUE(rfd.ok());
  auto fd = mkdir_in_root(rfd->get(), "/escape/sub/dir");
  ASSERT_TRUE(fd.ok()) << fd.error().what();
  struct stat st;
  // Created under root/<outside path>, never in the real outside dir.
  EXPECT_NE(stat((outside.path() + "/sub").c_str(), &st), 0);
  EXPECT_EQ(stat((root.path() + outside.path() + "/sub/dir").c_str(), &st), 0);
}

TEST(MakeTargetInRoot, FileTargetCreatedEmpty) {
  test::TempDir root;
  auto rfd = open_dir(root.path());
  ASSERT_TRUE(rfd.ok());
  auto fd = make_target_in_root(rfd->get(), "/etc/resolv.conf", false);
  ASSERT_TRUE(fd.ok()) << fd.error().what();
  struct stat st;
  ASSERT_EQ(stat((root / "etc/resolv.conf").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST(RemoveTree, RemovesNestedButRefusesMountPoints) {
  test::TempDir dir;
  test::write_file(dir / "a/b/c/file", "x");
  ASSERT_TRUE(remove_tree(dir / "a").ok());
  EXPECT_FALSE(path_exists(dir / "a"));
  EXPECT_TRUE(remove_tree(dir / "missing").ok());
}

TEST(IsProcfs, RealProcAndNot) {
  auto proc = open_dir("/proc");
  ASSERT_TRUE(proc.ok());
  EXPECT_TRUE(is_procfs(proc->get()));
  auto tmp = open_dir("/tmp");
  ASSERT_TRUE(tmp.ok());
  EXPECT_FALSE(is_procfs(tmp->get()));
}

}  // namespace
}  // namespace skiff
