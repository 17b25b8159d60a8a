// Bad input: a clear error naming the field and the reason, and nothing left behind — no state
// dir, cgroup, mount or process (counted before and after).
#include <gtest/gtest.h>

#include "tests/support/runtime_fixture.hpp"

namespace skiff::test {
namespace {

struct BadCase {
  const char* name;
  std::function<void(json&)> edit;
  const char* expect;  // substring of stderr
};

class BadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadInput, ClearErrorAndNothingLeft) {
  SKIFF_REQUIRE_ROOT();
  Skiff skiff;
  Bundle b({"true"});
  GetParam().edit(b.config);
  b.save();
  auto before = HostSnapshot::take();
  std::string id = unique_id("bad");
  auto r = skiff({"create", "--bundle", b.dir(), id});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(GetParam().expect), std::string::npos) << "stderr was: " << r.err;
  EXPECT_EQ(diff(before, HostSnapshot::take()), "");
  EXPECT_EQ(run({"ls", "-A", skiff.root()}).out, "");
  auto s = skiff({"state", id});
  EXPECT_NE(s.exit_code, 0);
}

const BadCase kCases[] = {
    {"args_wrong_type", [](json& c) { c["process"]["args"] = "sh"; }, "process.args"},
    {"unknown_namespace",
     [](json& c) {
       c["linux"]["namespaces"].push_back({{"type", "foo"}});
     },
     "linux.namespaces"},
    {"relative_mount_destination",
     [](json& c) {
       c["mounts"].push_back({{"destination", "tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
     },
     "destination"},
    {"bad_seccomp_action",
     [](json& c) {
       c["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_NOPE"}};
     },
     "linux.seccomp.defaultAction"},
    {"relative_cwd", [](json& c) { c["process"]["cwd"] = "tmp"; }, "process.cwd"},
    {"bad_capability",
     [](json& c) { c["process"]["capabilities"]["bounding"].push_back("CAP_NOPE"); }, "CAP_NOPE"},
    {"missing_executable", [](json& c) { c["process"]["args"] = {"/bin/nonexistent"}; },
     "/bin/nonexistent"},
    {"executable_not_in_path", [](json& c) { c["process"]["args"] = {"nopenope"}; },
     "executable file not found in $PATH"},
    {"mount_source_missing",
     [](json& c) {
       c["mounts"].push_back({{"destination", "/data"},
                              {"type", "bind"},
                              {"source", "/nonexistent/src"},
                              {"options", {"bind"}}});
     },
     "/nonexistent/src"},
    {"failing_create_runtime_hook",
     [](json& c) {
       c["hooks"]["createRuntime"] = {{{"path", "/bin/false"}}};
     },
     "createRuntime"},
    {"failing_create_container_hook",
     [](json& c) {
       c["hooks"]["createContainer"] = {{{"path", "/bin/false"}}};
     },
     "createContainer"},
    {"bad_memory_limit_type",
     [](json& c) {
       c["linux"]["resources"]["memory"] = {{"limit", "lots"}};
     },
     "linux.resources.memory.limit"},
    {"no_mount_namespace",
     [](json& c) {
       auto& ns = c["linux"]["namespaces"];
       json keep = json::array();
       for (auto& n : ns)
         if (n["type"] != "mount") keep.push_back(n);
       ns = keep;
     },
     "mount namespace"},
    {"bad_rlimit",
     [](json& c) {
       c["process"]["rlimits"] = {{{"type", "RLIMIT_NOPE"}, {"hard", 1}, {"soft", 1}}};
     },
     "RLIMIT_NOPE"},
    {"unreachable_cwd", [](json& c) { c["process"]["cwd"] = "/nonexistent"; }, "/nonexistent"},
    {"bad_sysctl",
     [](json& c) {
       c["linux"]["sysctl"] = {{"vm.swappiness", "10"}};
     },
     "vm.swappiness"},
};

INSTANTIATE_TEST_SUITE_P(Configs, BadInput, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(BadInputFiles, SyntaxErrorAndMissingConfig) {
  SKIFF_REQUIRE_ROOT();
  Skiff skiff;
  Bundle b({"true"});
  write_file(b.dir() + "/config.json", "{\"ociVersion\": \"1.0.2\", ");
  auto r = skiff({"create", "--bundle", b.dir(), unique_id("bad")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("config.json"), std::string::npos) << r.err;
  TempDir empty;
  auto r2 = skiff({"create", "--bundle", empty.path(), unique_id("bad")});
  EXPECT_NE(r2.exit_code, 0);
  EXPECT_NE(r2.err.find("config.json"), std::string::npos) << r2.err;
  EXPECT_EQ(run({"ls", "-A", skiff.root()}).out, "");
}

TEST(BadInputCli, InvalidIdAndMissingArguments) {
  SKIFF_REQUIRE_ROOT();
  Skiff skiff;
  Bundle b({"true"});
  auto r = skiff({"create", "--bundle", b.dir(), "../evil"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("invalid container id"), std::string::npos) << r.err;
  auto r2 = skiff({"start"});
  EXPECT_NE(r2.exit_code, 0);
  auto r3 = skiff({"nosuchverb"});
  EXPECT_NE(r3.exit_code, 0);
}

}  // namespace
}  // namespace skiff::test
