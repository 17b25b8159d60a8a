// Layer snapshots on the real kernel (root): overlay whiteouts as device nodes and opaque xattrs,
// ownership, set-uid bits and device nodes kept, forged overlay xattrs dropped; the overlay mount
// equals the copy fallback; concurrent users unpack each layer once; a bad layer leaves nothing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "common/fs.hpp"
#include "oci/image/images.hpp"
#include "oci/image/import.hpp"
#include "oci/image/snapshots.hpp"
#include "oci/image/unpack.hpp"
#include "tests/unit/image/image_test_util.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // GCC bug 96868

namespace skiff::image {
namespace {

using test::json;

std::string xattr(const std::string& path, const char* name) {
  char buf[256];
  ssize_t n = ::lgetxattr(path.c_str(), name, buf, sizeof buf);
  return n < 0 ? std::string("<none>") : std::string(buf, static_cast<size_t>(n));
}

// type, mode, owner, device, size, link target and content of every path: two trees compare equal
// when their listings do.
std::vector<std::string> listing(const std::string& root) {
  std::vector<std::string> out;
  for (const auto& rel : test::tree(root)) {
    std::string p = root + "/" + rel;
    struct stat st;
    if (::lstat(p.c_str(), &st) < 0) continue;
    std::string line =
        skiff::cat(rel, " mode=", st.st_mode, " uid=", st.st_uid, " gid=", st.st_gid);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
      line += skiff::cat(" dev=", major(st.st_rdev), ':', minor(st.st_rdev));
    if (S_ISREG(st.st_mode))
      line += skiff::cat(" data=", test::sha256_hex(skiff::test::read_file(p)));
    if (S_ISLNK(st.st_mode)) line += " -> " + std::filesystem::read_symlink(p).string();
    out.push_back(line);
  }
  return out;
}

class Snapshots : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    if (!overlay_available()) GTEST_SKIP() << "no overlayfs in /proc/filesystems";
    store_.emplace(std::move(*Store::open(tmp_ / "images")));
    snapshots_.emplace(std::move(*Snapshotter::open(tmp_ / "snapshots")));
  }
  void TearDown() override {
    for (const auto& m : mounts_) (void)unmount(m);
  }

  // Imports a layout's image as `name` and resolves it.
  Image import_image(const test::LayoutBuilder& b, const std::string& name) {
    ImportOptions o;
    o.name = name;
    auto r = import_archive(*store_, b.dir(), o);
    EXPECT_TRUE(r) << r.error().what();
    auto img = resolve_image(*store_, name, host_platform());
    EXPECT_TRUE(img) << img.error().what();
    return *img;
  }

  // Two layers exercising every feature a snapshot must keep.
  Image feature_image() {
    test::LayoutBuilder b(tmp_ / "layout");
    std::string l1 = test::make_tar({
        {.name = "a", .data = "lower a"},
        {.name = "keep", .data = "kept"},
        {.name = "opq", .type = "dir"},
        {.name = "opq/old", .data = "old"},
        {.name = "owned", .data = "suid", .mode = 04755, .uid = 1234, .gid = 5678},
        {.name = "owned-dir", .type = "dir", .mode = 0700, .uid = 1234, .gid = 5678},
        {.name = "owned-link", .type = "symlink", .target = "owned", .uid = 1234, .gid = 5678},
        {.name = "dev/chr", .type = "chr", .mode = 0666, .major = 1, .minor = 3},
        {.name = "dev/blk", .type = "blk", .mode = 0600, .major = 7, .minor = 0},
        {.name = "dev/fifo", .type = "fifo", .mode = 0600},
        {.name = "forged", .type = "dir", .xattrs = {{"trusted.overlay.opaque", "y"}}},
        {.name = "forged/f", .data = "f"},
        {.name = "trusted", .data = "t", .xattrs = {{"trusted.skiff", "1"}}},
    });
    std::string l2 = test::make_tar({
        {.name = ".wh.a"},
        {.name = "opq", .type = "dir"},
        {.name = "opq/.wh..wh..opq"},
        {.name = "opq/new", .data = "new"},
        {.name = "added", .data = "added"},
    });
    json layers = json::array(), diff_ids = json::array();
    layers.push_back(b.add_blob(test::compress(l1, "gzip"), test::layer_media_type("gzip")));
    std::string how = test::have_zstd() ? "zstd" : "";
    layers.push_back(b.add_blob(test::compress(l2, how), test::layer_media_type(how)));
    diff_ids.push_back(test::digest_of(l1));
    diff_ids.push_back(test::digest_of(l2));
    b.write_index({{b.add_manifest(layers, diff_ids), "1"}});
    return import_image(b, "features:1");
  }

  std::string mount_image(const Image& img, const std::vector<std::string>& lowers) {
    std::string merged = tmp_ / "merged";
    std::filesystem::create_directories(merged);
    auto active = snapshots_->create_active(img, merged);
    EXPECT_TRUE(active);
    std::string dir = snapshots_->active_dir(active->id);
    auto m = mount_overlay(lowers, dir + "/upper", dir + "/work", merged);
    EXPECT_TRUE(m) << m.error().what();
    mounts_.push_back(merged);
    return merged;
  }

  test::TempDir tmp_{"skiff-snapshots"};
  std::optional<Store> store_;
  std::optional<Snapshotter> snapshots_;
  std::vector<std::string> mounts_;
};

TEST_F(Snapshots, OverlayLayersKeepEverything) {
  Image img = feature_image();
  PrepareStats stats;
  auto lowers = snapshots_->prepare(*store_, img, &stats);
  ASSERT_TRUE(lowers) << lowers.error().what();
  EXPECT_EQ(stats.unpacked, 2u);
  ASSERT_EQ(lowers->size(), 2u);
  std::string l1 = (*lowers)[0], l2 = (*lowers)[1];
  EXPECT_EQ(l1, snapshots_->layer_dir(img.chain_ids[0]));

  struct stat st;
  ASSERT_EQ(::lstat((l1 + "/owned").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mode & 07777, 04755u);  // set-uid survives the chown
  ASSERT_EQ(::lstat((l1 + "/owned-dir").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::lstat((l1 + "/owned-link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_uid, 1234u);
  ASSERT_EQ(::lstat((l1 + "/dev/chr").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  EXPECT_EQ(st.st_mode & 0777, 0666u);
  ASSERT_EQ(::lstat((l1 + "/dev/blk").c_str(), &st), 0);
  EXPECT_TRUE(S_ISBLK(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(7, 0));
  ASSERT_EQ(::lstat((l1 + "/dev/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(xattr(l1 + "/forged", "trusted.overlay.opaque"), "<none>");  // forged: dropped
  EXPECT_EQ(xattr(l1 + "/trusted", "trusted.skiff"), "1");               // others kept

  ASSERT_EQ(::lstat((l2 + "/a").c_str(), &st), 0);  // the whiteout
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_EQ(xattr(l2 + "/opq", "trusted.overlay.opaque"), "y");
  EXPECT_FALSE(path_exists(l2 + "/.wh.a"));
  EXPECT_FALSE(path_exists(l2 + "/opq/.wh..wh..opq"));

  // The merged view: the whiteout hides, the opaque directory hides what was below.
  std::string merged = mount_image(img, *lowers);
  EXPECT_FALSE(path_exists(merged + "/a"));
  EXPECT_EQ(skiff::test::read_file(merged + "/keep"), "kept");
  EXPECT_EQ(test::tree(merged + "/opq"), std::vector<std::string>{"new"});
  EXPECT_EQ(skiff::test::read_file(merged + "/added"), "added");
  EXPECT_EQ(test::tree(merged + "/forged"), std::vector<std::string>{"f"});

  // The copy fallback (layers applied in order) gives the same tree.
  std::filesystem::create_directories(tmp_ / "copy");
  auto dir = open_dir(tmp_ / "copy");
  for (size_t i = 0; i < img.manifest.layers.size(); ++i) {
    auto blob = store_->open_blob(img.manifest.layers[i]);
    UnpackOptions o;
    o.whiteouts = WhiteoutMode::kApply;
    o.diff_id = img.config.diff_ids[i];
    ASSERT_TRUE(unpack_layer(blob->get(), dir->get(), o));
  }
  EXPECT_EQ(listing(tmp_ / "copy"), listing(merged));
}

TEST_F(Snapshots, ConcurrentPreparesUnpackEachLayerOnce) {
  Image img = feature_image();
  constexpr int kUsers = 4;
  std::atomic<size_t> unpacked{0}, reused{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> users;
  for (int i = 0; i < kUsers; ++i) {
    users.emplace_back([&] {
      auto s = Snapshotter::open(tmp_ / "snapshots");  // as another process would
      PrepareStats stats;
      if (!s || !s->prepare(*store_, img, &stats)) ++failures;
      unpacked += stats.unpacked;
      reused += stats.reused;
    });
  }
  for (auto& t : users) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(unpacked, 2u);
  EXPECT_EQ(reused, size_t{kUsers * 2 - 2});
  EXPECT_EQ(snapshots_->layers()->size(), 2u);
  for (const auto& f : test::tree(tmp_ / "snapshots/tmp"))
    EXPECT_TRUE(f.ends_with(".lock")) << f;  // no half-unpacked layer anywhere
}

TEST_F(Snapshots, ALayerThatIsNotItsDiffIdLeavesNothing) {
  test::LayoutBuilder b(tmp_ / "bad");
  std::string good = test::make_tar({{.name = "good"}});
  std::string bad = test::make_tar({{.name = "bad", .data = "not what the config says"}});
  json layers =
      json::array({b.add_blob(test::compress(good, "gzip"), test::layer_media_type("gzip")),
                   b.add_blob(test::compress(bad, "gzip"), test::layer_media_type("gzip"))});
  json diff_ids = json::array({test::digest_of(good), test::digest_of("something else")});
  b.write_index({{b.add_manifest(layers, diff_ids), "1"}});
  Image img = import_image(b, "bad:1");  // import checks compressed digests only
  auto r = snapshots_->prepare(*store_, img);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("image `docker.io/library/bad:1`: layer " +
                                  img.manifest.layers[1].digest.str() +
                                  ": uncompressed content has digest " + test::digest_of(bad)),
            std::string::npos)
      << r.error().what();
  EXPECT_FALSE(snapshots_->has_layer(img.chain_ids[1]));
  for (const auto& f : test::tree(tmp_ / "snapshots/tmp")) EXPECT_TRUE(f.ends_with(".lock")) << f;
}

}  // namespace
}  // namespace skiff::image
