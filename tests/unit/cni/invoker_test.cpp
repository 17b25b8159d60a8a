// The invoker against fake plugins (shell scripts that log what they were given): chaining with
// prevResult, reverse DEL with the cached result, the cache file, errors, timeouts, CHECK, GC.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "cni/invoker.hpp"
#include "common/base64.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::cni {
namespace {

// A fake plugin: appends "<name> <command> <container>" to $FAKE_DIR/log, keeps its stdin in
// $FAKE_DIR/<name>.<command>, and on ADD prints `result` (or fails / hangs as told).
void write_plugin(const std::string& dir, const std::string& name, const std::string& add_output,
                  const std::string& extra = "") {
  std::string script =
      cat("#!/bin/sh\n", "in=$(cat)\n", "echo \"", name,
          " $CNI_COMMAND $CNI_CONTAINERID\" >> \"$FAKE_DIR/log\"\n",
          "printf '%s' \"$in\" > \"$FAKE_DIR/", name, ".$CNI_COMMAND\"\n", extra,
          "if [ \"$CNI_COMMAND\" = ADD ]; then cat <<'EOF'\n", add_output, "\nEOF\nfi\n");
  test::write_file(dir + "/" + name, script);
  chmod((dir + "/" + name).c_str(), 0755);
}

const char* kFirstResult =
    R"({"cniVersion":"1.1.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],)"
    R"("ips":[{"address":"10.0.0.2/24","gateway":"10.0.0.1","interface":0}]})";
const char* kSecondResult =
    R"({"cniVersion":"1.1.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],)"
    R"("ips":[{"address":"10.0.0.2/24","gateway":"10.0.0.1","interface":0}],)"
    R"("dns":{"nameservers":["10.0.0.53"]}})";

class InvokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("FAKE_DIR", dir_.path().c_str(), 1);
    std::filesystem::create_directories(dir_ / "bin");
    write_plugin(dir_ / "bin", "first", kFirstResult);
    write_plugin(dir_ / "bin", "second", kSecondResult);
    write_plugin(dir_ / "bin", "failing", "",
                 "echo '{\"cniVersion\":\"1.1.0\",\"code\":11,\"msg\":\"busy\"}'; exit 1\n");
    write_plugin(dir_ / "bin", "hanging", kFirstResult, "sleep 30\n");
  }
  void TearDown() override { unsetenv("FAKE_DIR"); }

  NetworkConfigList list(const std::string& version, const std::vector<std::string>& types) {
    Json plugins = Json::array();
    for (const auto& t : types) plugins.push_back({{"type", t}, {"capabilities", {{"ips", true}}}});
    Json j = {{"cniVersion", version}, {"name", "net1"}, {"plugins", plugins}};
    auto l = NetworkConfigList::parse(j.dump());
    EXPECT_TRUE(l.ok());
    return *l;
  }
  Invoker invoker(std::optional<std::chrono::milliseconds> timeout = {}) {
    return Invoker(InvokerOptions{{dir_ / "empty", dir_ / "bin"}, dir_ / "cache", timeout});
  }
  RuntimeConf rt(const std::string& id = "ctr1") {
    RuntimeConf r;
    r.container_id = id;
    r.netns = "/run/netns/x";
    r.args = {{"K8S_POD_NAME", "web"}};
    return r;
  }
  std::string log() { return test::read_file(dir_ / "log"); }
  Json stdin_of(const std::string& name, const std::string& cmd) {
    return Json::parse(test::read_file(dir_ / (name + "." + cmd)));
  }

  test::TempDir dir_{"skiff-invoker"};
};

TEST_F(InvokerTest, AddChainsPrevResultAndCaches) {
  auto inv = invoker();
  auto rtc = rt();
  rtc.capability_args = {{"ips", Json::array({"10.0.0.2/24"})}, {"portMappings", Json::array()}};
  auto r = inv.add(list("1.1.0", {"first", "second"}), rtc);
  ASSERT_TRUE(r.ok()) << r.error().what();
  EXPECT_EQ(r->dns.nameservers, std::vector<std::string>{"10.0.0.53"});
  EXPECT_EQ(log(), "first ADD ctr1\nsecond ADD ctr1\n");
  auto first_in = stdin_of("first", "ADD");
  EXPECT_EQ(first_in["name"], "net1");
  EXPECT_EQ(first_in["cniVersion"], "1.1.0");
  EXPECT_FALSE(first_in.contains("prevResult"));
  EXPECT_EQ(first_in["runtimeConfig"], Json::parse(R"({"ips":["10.0.0.2/24"]})"));
  EXPECT_EQ(stdin_of("second", "ADD")["prevResult"], Json::parse(kFirstResult));

  auto cached = Json::parse(test::read_file(dir_ / "cache/net1-ctr1-eth0"));
  EXPECT_EQ(cached["kind"], "cniCacheV1");
  EXPECT_EQ(cached["result"]["dns"]["nameservers"][0], "10.0.0.53");
  EXPECT_EQ(cached["cniArgs"], Json::parse(R"([["K8S_POD_NAME","web"]])"));
  EXPECT_NE(base64_decode(cached["config"].get<std::string>())->find("\"net1\""),
            std::string::npos);
  struct stat st {};
  ASSERT_EQ(stat((dir_ / "cache/net1-ctr1-eth0").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(InvokerTest, DelRunsInReverseWithTheCachedResult) {
  auto inv = invoker();
  auto l = list("1.1.0", {"first", "second"});
  ASSERT_TRUE(inv.add(l, rt()).ok());
  ASSERT_TRUE(inv.del(l, rt()).ok());
  EXPECT_EQ(log(), "first ADD ctr1\nsecond ADD ctr1\nsecond DEL ctr1\nfirst DEL ctr1\n");
  EXPECT_EQ(stdin_of("first", "DEL")["prevResult"]["dns"]["nameservers"][0], "10.0.0.53");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cache/net1-ctr1-eth0"));
  // Without a cached result (a second DEL, or after a crash): still runs, no prevResult.
  ASSERT_TRUE(inv.del(l, rt()).ok());
  EXPECT_FALSE(stdin_of("first", "DEL").contains("prevResult"));
}

TEST_F(InvokerTest, OldListsGetConvertedResultsAndNoStatusOrGc) {
  auto inv = invoker();
  auto l = list("0.4.0", {"first", "second"});
  auto r = inv.add(l, rt());
  ASSERT_TRUE(r.ok()) << r.error().what();
  EXPECT_EQ(r->cni_version, "0.4.0");
  EXPECT_EQ(stdin_of("second", "ADD")["prevResult"]["ips"][0]["version"], "4");
  EXPECT_EQ(stdin_of("second", "ADD")["prevResult"]["cniVersion"], "0.4.0");
  ASSERT_TRUE(inv.status(l).ok());
  ASSERT_TRUE(inv.gc(l, {{"ctr1", "eth0"}}).ok());
  EXPECT_EQ(log(), "first ADD ctr1\nsecond ADD ctr1\n");
}

TEST_F(InvokerTest, PluginErrorKeepsItsCodeAndCachesNothing) {
  auto inv = invoker();
  auto r = inv.add(list("1.1.0", {"first", "failing", "second"}), rt());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kErrTryAgainLater);
  EXPECT_NE(r.error().msg.find("failing"), std::string::npos) << r.error().msg;
  EXPECT_EQ(log(), "first ADD ctr1\nfailing ADD ctr1\n");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cache/net1-ctr1-eth0"));
}

TEST_F(InvokerTest, MissingPluginIsAConfigError) {
  auto r = invoker().add(list("1.1.0", {"nope"}), rt());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kErrInvalidNetworkConfig);
  EXPECT_NE(r.error().what().find("nope"), std::string::npos);
  auto escape = invoker().add(list("1.1.0", {"../bin/first"}), rt());
  ASSERT_FALSE(escape.ok());
  EXPECT_EQ(escape.error().code, kErrInvalidNetworkConfig);
}

TEST_F(InvokerTest, TimeoutKillsThePluginsProcessGroup) {
  auto start = std::chrono::steady_clock::now();
  auto r = invoker(std::chrono::milliseconds(300)).add(list("1.1.0", {"hanging"}), rt());
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().msg.find("timed out"), std::string::npos) << r.error().msg;
  EXPECT_LT(took, std::chrono::seconds(5));
  // The script's `sleep 30` child was in the killed group too.
  auto ps = test::sh(cat("pgrep -f 'sleep 30' -P $(pgrep -d, -f ", dir_.path(), ") || true"));
  EXPECT_EQ(ps.out, "");
}

TEST_F(InvokerTest, CheckNeedsTheCachedResult) {
  auto inv = invoker();
  auto l = list("1.1.0", {"first"});
  auto none = inv.check(l, rt());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, kErrUnknownContainer);
  ASSERT_TRUE(inv.add(l, rt()).ok());
  ASSERT_TRUE(inv.check(l, rt()).ok());
  EXPECT_EQ(stdin_of("first", "CHECK")["prevResult"], Json::parse(kFirstResult));
  auto old = inv.check(list("0.3.1", {"first"}), rt());
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().code, kErrIncompatibleVersion);
}

TEST_F(InvokerTest, GcDeletesStaleAttachmentsThenSendsTheValidList) {
  auto inv = invoker();
  auto l = list("1.1.0", {"first"});
  ASSERT_TRUE(inv.add(l, rt("keep")).ok());
  ASSERT_TRUE(inv.add(l, rt("stale")).ok());
  ASSERT_TRUE(inv.gc(l, {{"keep", "eth0"}}).ok());
  EXPECT_EQ(log(), "first ADD keep\nfirst ADD stale\nfirst DEL stale\nfirst GC \n");
  EXPECT_EQ(stdin_of("first", "GC")["cni.dev/valid-attachments"],
            Json::parse(R"([{"containerID":"keep","ifname":"eth0"}])"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "cache/net1-keep-eth0"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cache/net1-stale-eth0"));
  ASSERT_TRUE(inv.status(l).ok());
  EXPECT_NE(log().find("first STATUS"), std::string::npos);
}

}  // namespace
}  // namespace skiff::cni
