// Image config -> config.json: args, env, cwd, user resolved in the image's own /etc files,
// annotations; the result must pass the runtime-spec parser and validator.
#include "oci/image/bundle_spec.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/fs.hpp"
#include "oci/image/image_user.hpp"
#include "oci/runtime_spec.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::image {
namespace {

class BundleSpec : public ::testing::Test {
 protected:
  void SetUp() override {
    skiff::test::write_file(rootfs() + "/etc/passwd",
                            "root:x:0:0:root:/root:/bin/sh\n"
                            "# a comment\n"
                            "app:x:1000:1001:app:/home/app:/bin/sh\n"
                            "broken line\n"
                            "nobody:x:65534:65534::/:/bin/false\n");
    skiff::test::write_file(rootfs() + "/etc/group",
                            "root:x:0:\napp:x:1001:\nwheel:x:10:app,other\naudio:x:29:app\n"
                            "staff:x:50:root\n");
    auto fd = open_dir(rootfs());
    ASSERT_TRUE(fd);
    fd_ = std::move(*fd);
  }
  std::string rootfs() const { return tmp_ / "rootfs"; }

  Json spec(const ImageConfig& c, const BundleSpecOptions& o = {}) {
    auto j = runtime_spec_for_image(c, fd_.get(), o);
    EXPECT_TRUE(j) << j.error().what();
    if (!j) return Json();
    auto parsed = oci::parse_spec(*j);
    EXPECT_TRUE(parsed) << parsed.error().what();
    if (parsed) {
      auto valid = oci::validate_spec(*parsed);
      EXPECT_TRUE(valid) << valid.error().what();
    }
    return *j;
  }

  Result<oci::User> user(const std::string& u) { return resolve_image_user(fd_.get(), u); }

  skiff::test::TempDir tmp_{"skiff-bundle-spec"};
  UniqueFd fd_;
};

TEST_F(BundleSpec, ArgsEnvCwdAndAnnotations) {
  ImageConfig c;
  c.config.entrypoint = {"/bin/app", "--serve"};
  c.config.cmd = {"--port", "80"};
  c.config.env = {"PATH=/app/bin", "LANG=C.UTF-8"};
  c.config.working_dir = "srv/../data";
  c.config.labels = {{"org.example.team", "infra"}};
  c.config.stop_signal = "SIGQUIT";
  Json j = spec(c);
  EXPECT_EQ(j["process"]["args"], Json({"/bin/app", "--serve", "--port", "80"}));
  EXPECT_EQ(j["process"]["env"], Json({"PATH=/app/bin", "LANG=C.UTF-8"}));
  EXPECT_EQ(j["process"]["cwd"], "/data");
  EXPECT_EQ(j["process"]["terminal"], false);
  EXPECT_EQ(j["root"], Json({{"path", "rootfs"}, {"readonly", false}}));
  EXPECT_EQ(j["annotations"]["org.opencontainers.image.stopSignal"], "SIGQUIT");
  EXPECT_EQ(j["annotations"]["org.example.team"], "infra");
  EXPECT_EQ(j["process"]["user"], Json({{"uid", 0}, {"gid", 0}, {"additionalGids", {50}}}));

  BundleSpecOptions o;
  o.args = {"--debug"};  // replaces Cmd, keeps Entrypoint
  o.env = {"LANG=C", "EXTRA=1"};
  o.tty = true;
  o.read_only = true;
  o.hostname = "web";
  j = spec(c, o);
  EXPECT_EQ(j["process"]["args"], Json({"/bin/app", "--serve", "--debug"}));
  EXPECT_EQ(j["process"]["env"], Json({"PATH=/app/bin", "TERM=xterm", "LANG=C", "EXTRA=1"}));
  EXPECT_EQ(j["process"]["terminal"], true);
  EXPECT_EQ(j["root"]["readonly"], true);
  EXPECT_EQ(j["hostname"], "web");
}

TEST_F(BundleSpec, DefaultsAndNothingToRun) {
  ImageConfig c;
  c.config.cmd = {"sh"};
  Json j = spec(c);
  EXPECT_EQ(j["process"]["args"], Json({"sh"}));
  EXPECT_EQ(j["process"]["cwd"], "/");
  EXPECT_EQ(j["process"]["env"][0],
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  EXPECT_FALSE(j.contains("annotations"));
  c.config.cmd.clear();
  auto r = runtime_spec_for_image(c, fd_.get(), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "the image has no Entrypoint or Cmd: give the command to run");
  c.config.cmd = {"sh"};
  c.config.env = {"NOEQUALS"};
  EXPECT_EQ(runtime_spec_for_image(c, fd_.get(), {}).error().what(),
            "config.Env: `NOEQUALS` is not KEY=VALUE");
}

TEST_F(BundleSpec, UsersAndGroupsFromTheImage) {
  auto u = user("app");
  ASSERT_TRUE(u) << u.error().what();
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1001u);
  EXPECT_EQ(u->additional_gids, (std::vector<uint32_t>{10, 29}));
  u = user("1000");  // a uid with a passwd entry: its gid and groups
  EXPECT_EQ(u->gid, 1001u);
  EXPECT_EQ(u->additional_gids.size(), 2u);
  u = user("4242");  // unknown uid: gid 0, no groups
  EXPECT_EQ(u->uid, 4242u);
  EXPECT_EQ(u->gid, 0u);
  EXPECT_TRUE(u->additional_gids.empty());
  u = user("app:wheel");  // an explicit group wins, no supplementary groups (runc)
  EXPECT_EQ(u->gid, 10u);
  EXPECT_TRUE(u->additional_gids.empty());
  u = user("4242:7");
  EXPECT_EQ(u->uid, 4242u);
  EXPECT_EQ(u->gid, 7u);
  u = user("nobody:app");
  EXPECT_EQ(u->uid, 65534u);
  EXPECT_EQ(u->gid, 1001u);
  EXPECT_EQ(user("ghost").error().what(), "image user `ghost` is not in the image's /etc/passwd");
  EXPECT_EQ(user("app:ghosts").error().what(),
            "image group `ghosts` is not in the image's /etc/group");
  EXPECT_EQ(user("app:").error().what(), "image user `app:`: empty group");
}

TEST_F(BundleSpec, PasswdIsReadInsideTheRootfs) {
  // /etc/passwd a symlink to an absolute path: resolved in the rootfs, never on the host.
  std::filesystem::remove(rootfs() + "/etc/passwd");
  skiff::test::write_file(rootfs() + "/real/passwd", "inside:x:777:777::/:/bin/sh\n");
  std::filesystem::create_symlink("/real/passwd", rootfs() + "/etc/passwd");
  auto u = user("inside");
  ASSERT_TRUE(u) << u.error().what();
  EXPECT_EQ(u->uid, 777u);
  // Climbing out with `..` stays in the rootfs too: the host's root user is not found there.
  std::filesystem::remove(rootfs() + "/etc/passwd");
  std::filesystem::create_symlink("../../../../../../../../etc/passwd", rootfs() + "/etc/passwd");
  EXPECT_FALSE(user("root"));
  // A FIFO as /etc/passwd must not hang the bundle.
  std::filesystem::remove(rootfs() + "/etc/passwd");
  ASSERT_EQ(::mkfifo((rootfs() + "/etc/passwd").c_str(), 0644), 0);
  EXPECT_EQ(user("x").error().what(), "`/etc/passwd` in the image is not a regular file");
}

TEST(MergeEnv, ReplacesInPlaceAndAppends) {
  EXPECT_EQ(merge_env({"A=1", "B=2"}, {"B=3", "C=4", "A="}),
            (std::vector<std::string>{"A=", "B=3", "C=4"}));
}

}  // namespace
}  // namespace skiff::image
