// Layer unpacking without root (WhiteoutMode::kApply, no chown, no device nodes): every entry
// kind, compressions, whiteouts, the diff_id check, and a corpus of malicious tars that must
// never write outside the layer directory.
#include "oci/image/unpack.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>

#include "common/fs.hpp"
#include "tests/unit/image/image_test_util.hpp"

// GCC 12 warns about members left to their default initializers in designated initializers
// (GCC bug 96868); the corpus below relies on exactly that.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace skiff::image {
namespace {

using test::Entry;
using test::make_tar;

class Unpack : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mkdir(layer().c_str(), 0755), 0);
    skiff::test::write_file(tmp_ / "outside/secret", "secret");
  }
  std::string layer() const { return tmp_ / "layer"; }
  std::string outside() const { return tmp_ / "outside"; }

  // Unpacks `tar` into layer(); the error text, or "" on success.
  std::string unpack(const std::string& tar, std::optional<Digest> diff_id = std::nullopt) {
    skiff::test::write_file(tmp_ / "blob", tar);
    UniqueFd blob(::open((tmp_ / "blob").c_str(), O_RDONLY | O_CLOEXEC));
    auto dir = open_dir(layer());
    EXPECT_TRUE(dir);
    UnpackOptions o;
    o.whiteouts = WhiteoutMode::kApply;
    o.same_owner = false;
    o.devices = false;
    o.diff_id = diff_id;
    o.layer_name = "sha256:test";
    auto r = unpack_layer(blob.get(), dir->get(), o);
    if (r) stats_ = *r;
    return r ? "" : r.error().what();
  }

  struct stat lstat_of(const std::string& rel) {
    struct stat st {};
    EXPECT_EQ(::lstat((layer() + "/" + rel).c_str(), &st), 0) << rel;
    return st;
  }

  // The sentinel outside the layer is untouched and alone.
  void expect_outside_untouched() {
    EXPECT_EQ(test::tree(outside()), std::vector<std::string>{"secret"});
    EXPECT_EQ(skiff::test::read_file(outside() + "/secret"), "secret");
  }

  test::TempDir tmp_{"skiff-unpack"};
  UnpackStats stats_;
};

TEST(CleanEntryPath, MakesNamesRelativeAndRefusesDotDot) {
  EXPECT_EQ(*clean_entry_path("./a//b/"), "a/b");
  EXPECT_EQ(*clean_entry_path("/etc/passwd"), "etc/passwd");
  EXPECT_EQ(*clean_entry_path("."), "");
  EXPECT_EQ(*clean_entry_path("a/./b"), "a/b");
  EXPECT_FALSE(clean_entry_path("../x"));
  EXPECT_FALSE(clean_entry_path("a/../b"));
  EXPECT_FALSE(clean_entry_path("/.."));
}

class UnpackCompressed : public Unpack, public ::testing::WithParamInterface<std::string> {};

TEST_P(UnpackCompressed, EveryEntryKindWithItsMetadata) {
  std::string how = GetParam();
  if (how == "zstd" && !test::have_zstd()) GTEST_SKIP() << "no zstd binary to make the layer";
  std::string long_name = "deep/" + std::string(120, 'n') + "/file";
  std::string tar = make_tar({
      {.name = "./", .type = "dir", .mode = 0751, .mtime = 1111},
      {.name = "bin", .type = "dir", .mtime = 2222},
      {.name = "bin/tool", .data = "#!/bin/sh\n", .mode = 0755, .mtime = 3333},
      {.name = "ro", .type = "dir", .mode = 0555, .mtime = 4444},
      {.name = "ro/inside", .data = "x", .mode = 0600},
      {.name = "bin/link", .type = "symlink", .target = "tool", .mtime = 5555},
      {.name = "bin/abs", .type = "symlink", .target = "/etc/passwd"},
      {.name = "bin/hard", .type = "hardlink", .target = "bin/tool"},
      {.name = "pipe", .type = "fifo", .mode = 0640},
      {.name = "dev/null", .type = "chr", .major = 1, .minor = 3},
      {.name = "no/parent/dirs", .data = "made"},
      {.name = "x", .data = "xattr", .xattrs = {{"user.skiff", "yes"}}},
      {.name = long_name, .data = "long"},
  });
  auto diff = *parse_digest(test::digest_of(tar));
  ASSERT_EQ(unpack(test::compress(tar, how), diff), "");
  EXPECT_EQ(stats_.diff_id, diff);
  EXPECT_EQ(stats_.uncompressed_bytes, tar.size());
  EXPECT_EQ(stats_.skipped, 1u);  // the device node: no CAP_MKNOD asked for

  EXPECT_EQ(skiff::test::read_file(layer() + "/bin/tool"), "#!/bin/sh\n");
  auto tool = lstat_of("bin/tool");
  EXPECT_EQ(tool.st_mode & 07777, 0755u);
  EXPECT_EQ(tool.st_mtim.tv_sec, 3333);
  EXPECT_EQ(tool.st_nlink, 2u);
  EXPECT_EQ(lstat_of("bin/hard").st_ino, tool.st_ino);
  EXPECT_TRUE(S_ISLNK(lstat_of("bin/link").st_mode));
  EXPECT_EQ(lstat_of("bin/link").st_mtim.tv_sec, 5555);
  EXPECT_EQ(std::filesystem::read_symlink(layer() + "/bin/abs"), "/etc/passwd");
  // Directory modes and times are applied last: the read-only one still got its child.
  EXPECT_EQ(lstat_of("ro").st_mode & 07777, 0555u);
  EXPECT_EQ(lstat_of("ro").st_mtim.tv_sec, 4444);
  EXPECT_EQ(skiff::test::read_file(layer() + "/ro/inside"), "x");
  EXPECT_EQ(lstat_of("bin").st_mtim.tv_sec, 2222);
  struct stat root;
  ASSERT_EQ(::stat(layer().c_str(), &root), 0);
  EXPECT_EQ(root.st_mode & 07777, 0751u);
  EXPECT_EQ(root.st_mtim.tv_sec, 1111);
  EXPECT_TRUE(S_ISFIFO(lstat_of("pipe").st_mode));
  EXPECT_EQ(lstat_of("pipe").st_mode & 0777, 0640u);
  EXPECT_FALSE(path_exists(layer() + "/dev/null"));
  EXPECT_EQ(skiff::test::read_file(layer() + "/no/parent/dirs"), "made");
  EXPECT_EQ(skiff::test::read_file(layer() + "/" + long_name), "long");
  char value[16] = {};
  ssize_t n = ::getxattr((layer() + "/x").c_str(), "user.skiff", value, sizeof value);
  if (n < 0 && errno == ENOTSUP) GTEST_SKIP() << "no user xattrs on " << layer();
  EXPECT_EQ(std::string(value, n > 0 ? n : 0), "yes");
}

INSTANTIATE_TEST_SUITE_P(Compressions, UnpackCompressed, ::testing::Values("", "gzip", "zstd"),
                         [](const auto& info) {
                           return info.param.empty() ? std::string("plain") : info.param;
                         });

TEST_F(Unpack, GnuAndUstarFormats) {
  for (std::string format : {"gnu", "ustar"}) {
    SCOPED_TRACE(format);
    std::string tar = make_tar({{.name = "dir/" + format, .data = format}}, format);
    ASSERT_EQ(unpack(tar), "");
    EXPECT_EQ(skiff::test::read_file(layer() + "/dir/" + format), format);
  }
}

TEST_F(Unpack, LaterEntriesReplaceEarlierOnes) {
  ASSERT_EQ(unpack(make_tar({
                {.name = "a", .data = "file first"},
                {.name = "a", .type = "dir"},
                {.name = "a/child", .data = "c"},
                {.name = "b", .type = "dir"},
                {.name = "b/old", .data = "o"},
                {.name = "b", .type = "symlink", .target = "a"},
                {.name = "c", .type = "symlink", .target = "/nowhere"},
                {.name = "c", .data = "a file now"},
            })),
            "");
  EXPECT_TRUE(S_ISDIR(lstat_of("a").st_mode));
  EXPECT_TRUE(S_ISLNK(lstat_of("b").st_mode));
  EXPECT_TRUE(S_ISREG(lstat_of("c").st_mode));
  EXPECT_EQ(skiff::test::read_file(layer() + "/c"), "a file now");
}

TEST_F(Unpack, WhiteoutsDeleteFromTheLayersBelow) {
  // The layer below.
  ASSERT_EQ(unpack(make_tar({{.name = "a/keep", .data = "k"},
                             {.name = "a/gone", .data = "g"},
                             {.name = "a/gonedir/deep", .data = "d"},
                             {.name = "o/old1", .data = "1"},
                             {.name = "o/olddir/x", .data = "x"}})),
            "");
  // The layer above: whiteouts, an opaque directory with a new file before and after the marker.
  ASSERT_EQ(unpack(make_tar({{.name = "a/.wh.gone"},
                             {.name = "a/.wh.gonedir"},
                             {.name = "a/.wh.never-existed"},
                             {.name = "nodir/.wh.x"},
                             {.name = "o", .type = "dir"},
                             {.name = "o/before", .data = "b"},
                             {.name = "o/.wh..wh..opq"},
                             {.name = "o/after", .data = "a"},
                             {.name = ".wh..wh.plnk/123.456", .data = "aufs"}})),
            "");
  EXPECT_EQ(test::tree(layer()),
            (std::vector<std::string>{"a", "a/keep", "o", "o/after", "o/before"}));
}

// --- the malicious corpus -----------------------------------------------------------------------

struct Evil {
  const char* name;
  std::function<std::vector<Entry>(const std::string& outside)> entries;
  const char* error;  // expected in the message; nullptr: must succeed (harmlessly)
};

class Malicious : public Unpack, public ::testing::WithParamInterface<Evil> {};

TEST_P(Malicious, NeverWritesOutsideTheLayer) {
  const Evil& evil = GetParam();
  std::string err = unpack(make_tar(evil.entries(outside())));
  if (evil.error) {
    EXPECT_NE(err.find(evil.error), std::string::npos) << err;
    EXPECT_NE(err.find("layer sha256:test: entry `"), std::string::npos) << err;
  } else {
    EXPECT_EQ(err, "");
  }
  expect_outside_untouched();
}

const Evil kCorpus[] = {
    {"DotDotName", [](auto&) { return std::vector<Entry>{{.name = "../outside/pwned"}}; },
     "a `..` in the name could leave the layer"},
    {"DotDotInTheMiddle",
     [](auto&) { return std::vector<Entry>{{.name = "a/../../outside/pwned"}}; }, "`..`"},
    {"AbsoluteSymlinkThenWriteThroughIt",
     [](const std::string& out) {
       return std::vector<Entry>{{.name = "link", .type = "symlink", .target = out},
                                 {.name = "link/pwned", .data = "x"}};
     },
     "the path leaves the layer"},
    {"RelativeSymlinkClimbingOut",
     [](auto&) {
       return std::vector<Entry>{{.name = "link", .type = "symlink", .target = "../outside"},
                                 {.name = "link/pwned", .data = "x"}};
     },
     "the path leaves the layer"},
    {"SymlinkChainClimbingOut",
     [](auto&) {
       return std::vector<Entry>{{.name = "l1", .type = "symlink", .target = "l2"},
                                 {.name = "l2", .type = "symlink", .target = "sub/../../outside"},
                                 {.name = "sub", .type = "dir"},
                                 {.name = "l1/pwned", .data = "x"}};
     },
     "the path leaves the layer"},
    {"SymlinkToEtcThenDirectory",
     [](auto&) {
       return std::vector<Entry>{{.name = "etc", .type = "symlink", .target = "/etc"},
                                 {.name = "etc/skiff-pwned", .type = "dir"}};
     },
     "the path leaves the layer"},
    {"HardlinkWithDotDot",
     [](auto&) {
       return std::vector<Entry>{{.name = "hl", .type = "hardlink", .target = "../outside/secret"}};
     },
     "`..`"},
    {"HardlinkToAbsoluteHostPath",
     [](const std::string& out) {
       return std::vector<Entry>{{.name = "hl", .type = "hardlink", .target = out + "/secret"}};
     },
     "is not in the layer"},
    {"HardlinkThroughSymlink",
     [](const std::string& out) {
       return std::vector<Entry>{{.name = "link", .type = "symlink", .target = out},
                                 {.name = "hl", .type = "hardlink", .target = "link/secret"}};
     },
     "the path leaves the layer"},
    {"WhiteoutThroughSymlink",
     [](const std::string& out) {
       return std::vector<Entry>{{.name = "link", .type = "symlink", .target = out},
                                 {.name = "link/.wh.secret"}};
     },
     "the path leaves the layer"},
    {"WhiteoutOfDotDot", [](auto&) { return std::vector<Entry>{{.name = "a/.wh.."}}; },
     "whiteout for an invalid name"},
    {"ParentDirOfWhiteoutIsDotDot",
     [](auto&) { return std::vector<Entry>{{.name = "../.wh.secret"}}; }, "`..`"},
    {"RootEntryThatIsAFile", [](auto&) { return std::vector<Entry>{{.name = "."}}; },
     "not a directory"},
    // Harmless, so accepted: the results stay inside the layer (checked below too).
    {"OpaqueMarkerUnderASymlinkReplacesTheLink",
     [](const std::string& out) {
       return std::vector<Entry>{{.name = "link", .type = "symlink", .target = out},
                                 {.name = "link/.wh..wh..opq"}};
     },
     nullptr},
    {"FileOverASymlinkReplacesTheLink",
     [](const std::string& out) {
       return std::vector<Entry>{{.name = "link", .type = "symlink", .target = out + "/secret"},
                                 {.name = "link", .data = "overwritten?"}};
     },
     nullptr},
    {"AbsoluteNameLandsInsideTheLayer",
     [](const std::string& out) {
       return std::vector<Entry>{{.name = out + "/pwned", .data = "x"}};
     },
     nullptr},
    {"HardlinkToASymlinkLinksTheSymlink",
     [](const std::string& out) {
       return std::vector<Entry>{{.name = "link", .type = "symlink", .target = out + "/secret"},
                                 {.name = "hl", .type = "hardlink", .target = "link"}};
     },
     nullptr},
};

INSTANTIATE_TEST_SUITE_P(Corpus, Malicious, ::testing::ValuesIn(kCorpus),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(Unpack, AcceptedEvilLandsInside) {
  ASSERT_EQ(unpack(make_tar({{.name = outside() + "/pwned", .data = "x"},
                             {.name = "link", .type = "symlink", .target = outside() + "/secret"},
                             {.name = "hl", .type = "hardlink", .target = "link"},
                             {.name = "f", .type = "symlink", .target = outside() + "/secret"},
                             {.name = "f", .data = "mine"}})),
            "");
  EXPECT_EQ(skiff::test::read_file(layer() + outside() + "/pwned"), "x");
  EXPECT_TRUE(S_ISLNK(lstat_of("hl").st_mode));  // the link itself, not the host file
  EXPECT_EQ(skiff::test::read_file(layer() + "/f"), "mine");
  expect_outside_untouched();
}

TEST_F(Unpack, DiffIdMismatchIsRefused) {
  std::string tar = make_tar({{.name = "a", .data = "a"}});
  auto wrong = *parse_digest("sha256:" + std::string(64, '0'));
  std::string err = unpack(test::compress(tar, "gzip"), wrong);
  EXPECT_NE(err.find("layer sha256:test: uncompressed content has digest " + test::digest_of(tar) +
                     " but the image config says sha256:000"),
            std::string::npos)
      << err;
}

TEST_F(Unpack, TruncatedAndGarbageStreamsAreErrors) {
  std::string gz = test::compress(
      make_tar({{.name = "a", .data = std::string(100000, 'z')}, {.name = "b", .data = "b"}}),
      "gzip");
  std::string err = unpack(gz.substr(0, gz.size() / 2));
  EXPECT_NE(err.find("layer sha256:test"), std::string::npos) << err;
  EXPECT_FALSE(err.empty());
  err = unpack(std::string(4096, '\x07'));
  EXPECT_NE(err.find("layer sha256:test"), std::string::npos) << err;
  std::string tar = make_tar({{.name = "a", .data = std::string(5000, 'y')}});
  err = unpack(tar.substr(0, 2048));
  EXPECT_NE(err.find("layer sha256:test"), std::string::npos) << err;
}

}  // namespace
}  // namespace skiff::image
