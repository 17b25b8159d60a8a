// End to end through the skiff binary (root): import an image, `bundle create` it, `skiff run`
// it; the image's config applied; overlay and copy rootfs; `image ls|inspect|rm|prune`; and a
// failed bundle leaves no directory, mount or writable layer behind.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <fstream>

#include "common/fs.hpp"
#include "oci/image/bundle.hpp"
#include "oci/image/snapshots.hpp"
#include "tests/support/runtime_fixture.hpp"
#include "tests/unit/image/image_test_util.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // GCC bug 96868

namespace skiff::image {
namespace {

using skiff::test::CommandResult;
using test::json;

class ImageCli : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    layout_ = test::busybox_layout(tmp_);
  }
  // Other tests may run on this host at the same time: only what this test made is checked.
  void TearDown() override {
    if (!skiff::test::is_root()) return;
    for (const auto& id : ids_) skiff_({"delete", "--force", id});
    for (const auto& b : bundles_)
      if (path_exists(b + "/image.json")) image({"bundle", "rm", b});
    std::ifstream mountinfo("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mountinfo, line))
      EXPECT_EQ(line.find(" " + tmp_.path() + "/"), std::string::npos) << "mount left: " << line;
    for (const auto& dir : skiff::test::HostSnapshot::take().cgroup_dirs)
      for (const auto& id : ids_) EXPECT_EQ(dir.find(id), std::string::npos) << dir;
  }

  // `skiff GROUP --image-root … --snapshot-root … REST...`
  CommandResult image(std::vector<std::string> args) {
    args.insert(args.begin() + 1,
                {"--image-root", tmp_ / "images", "--snapshot-root", tmp_ / "snapshots"});
    return skiff_(args);
  }
  std::string bundle_dir(const std::string& name) {
    bundles_.push_back(tmp_ / name);
    return bundles_.back();
  }
  std::string new_id() {
    ids_.push_back(skiff::test::unique_id("img"));
    return ids_.back();
  }
  // The unpacked layers (chain IDs).
  std::vector<std::string> layers() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(tmp_ / "snapshots/layers", ec))
      out.push_back(e.path().filename());
    return out;
  }

  test::TempDir tmp_{"skiff-image-cli"};
  skiff::test::Skiff skiff_;
  std::string layout_;
  std::vector<std::string> ids_, bundles_;
};

TEST_F(ImageCli, ImportBundleCreateRun) {
  auto r = image({"image", "import", layout_, "busybox"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Imported docker.io/library/busybox:latest (id ", 0), 0u) << r.out;

  std::string dir = bundle_dir("run-bundle");
  r = image({"bundle", "create", "--image", "busybox", dir, "--", "sh", "-c",
             "echo hello from $(hostname) in $(pwd); echo scratch > /tmp/w; rm /bin/ls"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string expected_overlay = overlay_available() ? "overlay" : "copy";
  EXPECT_NE(r.out.find("rootfs " + expected_overlay), std::string::npos) << r.out;
  auto meta = json::parse(skiff::test::read_file(dir + "/image.json"));
  EXPECT_EQ(meta["image"], "docker.io/library/busybox:latest");

  r = skiff_({"run", "--bundle", dir, new_id()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello from skiff in /\n");

  if (meta["rootfs"] == "overlay") {
    // The container wrote to its own layer; the shared layer snapshot is untouched.
    std::string upper =
        tmp_ / ("snapshots/active/" + meta["snapshot"].get<std::string>() + "/upper");
    EXPECT_EQ(skiff::test::read_file(upper + "/tmp/w"), "scratch\n");
    struct stat st;
    ASSERT_EQ(::lstat((upper + "/bin/ls").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));  // overlay's whiteout
    ASSERT_EQ(layers().size(), 1u);
    EXPECT_TRUE(path_exists(tmp_ / ("snapshots/layers/" + layers()[0] + "/fs/bin/ls")));
    EXPECT_TRUE(is_mount_point(dir + "/rootfs"));
  }

  // A second bundle reuses the unpacked layer.
  std::string dir2 = bundle_dir("run-bundle2");
  r = image({"bundle", "create", "--format", "json", "--image", "busybox", dir2});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto info = json::parse(r.out);
  if (info["rootfs"] == "overlay") {
    EXPECT_EQ(info["layersUnpacked"], 0);
    EXPECT_EQ(info["layersReused"], 1);
  }

  r = image({"bundle", "rm", dir, dir2});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(path_exists(dir));
  EXPECT_FALSE(path_exists(dir2));
  EXPECT_TRUE(test::tree(tmp_ / "snapshots/active").empty());
}

TEST_F(ImageCli, DockerArchiveRunsToo) {
  if (skiff::test::sh("command -v skopeo >/dev/null").exit_code != 0)
    GTEST_SKIP() << "needs skopeo to write a docker-archive";
  std::string archive = tmp_ / "busybox.tar";
  auto r = skiff::test::run({"skopeo", "copy", "oci:" + layout_ + ":latest",
                             "docker-archive:" + archive + ":localhost/bb:v1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = image({"image", "import", "--format", "json", archive});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)[0]["name"], "localhost/bb:v1");
  std::string dir = bundle_dir("run-bundle");
  r = image({"bundle", "create", "--image", "localhost/bb:v1", dir, "--", "echo", "archive"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = skiff_({"run", "--bundle", dir, new_id()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "archive\n");
}

TEST_F(ImageCli, PodmanSavedArchives) {
  if (skiff::test::sh("command -v podman >/dev/null && command -v skopeo >/dev/null").exit_code)
    GTEST_SKIP() << "needs podman and skopeo";
  // podman in its own storage (scripts/fixtures/podman-env.sh), saving both archive formats.
  std::string script =
      "set -e; source \"$0\" \"$1/podman\"; trap podman_env_cleanup EXIT; "
      "podman_env_import_busybox >/dev/null; "
      "podman save -q --format docker-archive -o \"$1/podman-docker.tar\" localhost/busybox; "
      "podman save -q --format oci-archive -o \"$1/podman-oci.tar\" localhost/busybox";
  auto r =
      skiff::test::run({"bash", "-c", script,
                        skiff::test::source_path("scripts/fixtures/podman-env.sh"), tmp_.path()});
  if (r.exit_code != 0) GTEST_SKIP() << "podman could not save the fixture here: " << r.err;
  r = image({"image", "import", tmp_ / "podman-docker.tar"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Imported localhost/busybox:latest"), std::string::npos) << r.out;
  r = image({"image", "import", tmp_ / "podman-oci.tar", "podman/oci"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (std::string name : {"localhost/busybox", "podman/oci"}) {
    SCOPED_TRACE(name);
    std::string dir = bundle_dir("podman-" + std::to_string(bundles_.size()));
    r = image({"bundle", "create", "--image", name, dir, "--", "echo", name});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = skiff_({"run", "--bundle", dir, new_id()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, name + "\n");
  }
}

TEST_F(ImageCli, CopyRootfsWhenAsked) {
  ASSERT_EQ(image({"image", "import", layout_, "busybox"}).exit_code, 0);
  std::string dir = bundle_dir("copy");
  auto r = image({"bundle", "create", "--rootfs", "copy", "--image", "busybox", dir, "--", "sh",
                  "-c", "echo kept > /state; cat /state"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(is_mount_point(dir + "/rootfs"));
  EXPECT_TRUE(layers().empty());  // no snapshot needed for a copy
  r = skiff_({"run", "--bundle", dir, new_id()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "kept\n");
  EXPECT_EQ(skiff::test::read_file(dir + "/rootfs/state"), "kept\n");
}

TEST_F(ImageCli, TheImageConfigIsApplied) {
  // busybox plus a layer with a user, a working directory and a file hidden by a whiteout.
  test::LayoutBuilder b(tmp_ / "app-layout");
  auto [base_layers, base_diff_ids] = b.copy_base(layout_);
  std::string passwd =
      skiff::test::read_file(tmp_ / "bundle/rootfs/etc/passwd") + "app:x:1500:1600::/srv:/bin/sh\n";
  std::string group =
      skiff::test::read_file(tmp_ / "bundle/rootfs/etc/group") + "app:x:1600:\nextra:x:1700:app\n";
  std::string top = test::make_tar({{.name = "etc/passwd", .data = passwd},
                                    {.name = "etc/group", .data = group},
                                    {.name = "srv", .type = "dir", .uid = 1500, .gid = 1600},
                                    {.name = "bin/.wh.vi"}});
  base_layers.push_back(b.add_blob(test::compress(top, "gzip"), test::layer_media_type("gzip")));
  base_diff_ids.push_back(test::digest_of(top));
  json config = {{"config",
                  {{"User", "app"},
                   {"WorkingDir", "/srv"},
                   {"Env", {"GREETING=hi there"}},
                   {"Entrypoint", {"sh", "-c"}},
                   {"Cmd", {"echo \"$GREETING\" $(id -u):$(id -g):$(id -G) $(pwd); ls /bin/vi"}},
                   {"StopSignal", "SIGINT"}}}};
  b.write_index({{b.add_manifest(base_layers, base_diff_ids, config), "2.0"}});
  auto r = image({"image", "import", b.dir(), "example.com/app"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  std::string dir = bundle_dir("app");
  r = image({"bundle", "create", "--image", "example.com/app:2.0", dir});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto spec = json::parse(skiff::test::read_file(dir + "/config.json"));
  EXPECT_EQ(spec["annotations"]["org.opencontainers.image.stopSignal"], "SIGINT");
  EXPECT_EQ(spec["process"]["user"],
            json({{"uid", 1500}, {"gid", 1600}, {"additionalGids", {1700}}}));
  r = skiff_({"run", "--bundle", dir, new_id()});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // ls of the whited-out file fails
  EXPECT_EQ(r.out, "hi there 1500:1600:1600 1700 /srv\n");
  EXPECT_NE(r.err.find("/bin/vi"), std::string::npos) << r.err;
}

TEST_F(ImageCli, LsInspectRmPrune) {
  ASSERT_EQ(image({"image", "import", layout_, "busybox:1"}).exit_code, 0);
  ASSERT_EQ(image({"image", "import", layout_, "quay.io/me/box:2"}).exit_code, 0);
  auto r = image({"image", "ls"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')).find("REPOSITORY"), 0u) << r.out;
  EXPECT_NE(r.out.find("docker.io/library/busybox   1 "), std::string::npos) << r.out;
  r = image({"image", "ls", "--format", "json"});
  auto list = json::parse(r.out);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["id"], list[1]["id"]);
  EXPECT_EQ(list[1]["name"], "quay.io/me/box:2");

  std::string dir = bundle_dir("b");
  ASSERT_EQ(image({"bundle", "create", "--image", "busybox:1", dir}).exit_code, 0);
  r = image({"image", "inspect", "quay.io/me/box:2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto inspected = json::parse(r.out)[0];
  EXPECT_EQ(inspected["config"]["config"]["Cmd"], json({"sh"}));
  EXPECT_EQ(inspected["layers"][0]["unpacked"], overlay_available());
  EXPECT_EQ(inspected["id"], list[0]["id"]);
  // By id prefix too.
  std::string id = list[0]["id"].get<std::string>().substr(7, 12);
  EXPECT_EQ(image({"image", "inspect", id}).exit_code, 0);

  // Remove both names: the bundle keeps its snapshot through a prune, its blobs go.
  r = image({"image", "rm", "busybox:1", "quay.io/me/box:2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Untagged: docker.io/library/busybox:1\nUntagged: quay.io/me/box:2\n");
  r = image({"image", "prune", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto pruned = json::parse(r.out);
  EXPECT_EQ(pruned["blobsRemoved"], 3);
  EXPECT_EQ(pruned["snapshotsRemoved"], 0);
  EXPECT_TRUE(test::tree(tmp_ / "images/blobs/sha256").empty());
  r = skiff_({"run", "--bundle", dir, new_id(), "true"});
  ASSERT_EQ(image({"bundle", "rm", dir}).exit_code, 0);
  r = image({"image", "prune"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(layers().empty());
  r = image({"image", "rm", "busybox:1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("image `busybox:1` not found"), std::string::npos) << r.err;
}

// The kubelet's path: the spec edited before config.json is written (once); an edit that fails
// undoes the bundle like any other error.
TEST_F(ImageCli, EditSpecChangesConfigJsonOrUndoesTheBundle) {
  ASSERT_EQ(image({"image", "import", layout_, "busybox"}).exit_code, 0);
  auto store = Store::open(tmp_ / "images");
  ASSERT_TRUE(store) << store.error().what();
  auto snapshots = Snapshotter::open(tmp_ / "snapshots");
  ASSERT_TRUE(snapshots) << snapshots.error().what();

  BundleOptions o;
  o.image = "busybox";
  o.dir = bundle_dir("edited");
  int calls = 0;
  o.edit_spec = [&](Json& spec) -> Result<void> {
    ++calls;
    EXPECT_TRUE(spec["process"]["args"].is_array());  // made from the image already
    spec["annotations"]["example.com/edited"] = "yes";
    return ok();
  };
  auto made = create_bundle(*store, *snapshots, o);
  ASSERT_TRUE(made) << made.error().what();
  EXPECT_EQ(calls, 1);
  auto spec = read_json_file(o.dir + "/config.json");
  ASSERT_TRUE(spec) << spec.error().what();
  EXPECT_EQ((*spec)["annotations"].value("example.com/edited", ""), "yes");
  EXPECT_TRUE(is_mount_point(o.dir + "/rootfs"));

  o.dir = tmp_ / "refused";
  o.edit_spec = [](Json&) -> Result<void> { return error("the settings say no"); };
  auto refused = create_bundle(*store, *snapshots, o);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().what().find("the settings say no"), std::string::npos);
  EXPECT_FALSE(path_exists(o.dir));
  // Only the first bundle's writable layer is left.
  std::vector<std::string> active;
  for (const auto& e : std::filesystem::directory_iterator(tmp_ / "snapshots/active"))
    active.push_back(e.path().filename());
  EXPECT_EQ(active, std::vector<std::string>{made->snapshot});
}

TEST_F(ImageCli, AFailedBundleLeavesNothing) {
  std::string dir = tmp_ / "never";
  auto r = image({"bundle", "create", "--image", "missing", dir});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("image `missing` not found"), std::string::npos) << r.err;
  EXPECT_FALSE(path_exists(dir));

  // An image whose layer is not what its config says fails while unpacking.
  test::LayoutBuilder b(tmp_ / "bad-layout");
  std::string tar = test::make_tar({{.name = "x", .data = "x"}});
  json blobs =
      json::array({b.add_blob(test::compress(tar, "gzip"), test::layer_media_type("gzip"))});
  b.write_index({{b.add_manifest(blobs, json::array({test::digest_of("other")})), "1"}});
  ASSERT_EQ(image({"image", "import", b.dir(), "bad"}).exit_code, 0);
  for (std::string mode : {"auto", "copy"}) {
    SCOPED_TRACE(mode);
    r = image({"bundle", "create", "--rootfs", mode, "--image", "bad:1", dir});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("uncompressed content has digest " + test::digest_of(tar)),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(path_exists(dir));
    EXPECT_TRUE(test::tree(tmp_ / "snapshots/active").empty());
    EXPECT_TRUE(layers().empty());
  }
  // A non-empty directory is refused and left alone.
  skiff::test::write_file(dir + "/mine", "x");
  ASSERT_EQ(image({"image", "import", layout_, "busybox"}).exit_code, 0);
  r = image({"bundle", "create", "--image", "busybox", dir});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is not empty"), std::string::npos) << r.err;
  EXPECT_EQ(test::tree(dir), std::vector<std::string>{"mine"});
  // And `bundle rm` refuses what it did not make.
  r = image({"bundle", "rm", dir});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(path_exists(dir + "/mine"));
}

}  // namespace
}  // namespace skiff::image
