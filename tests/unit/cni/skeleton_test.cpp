// The plugin skeleton: environment and stdin checks, version negotiation, dispatch, output.
#include <gtest/gtest.h>

#include "cni/skeleton.hpp"

namespace skiff::cni {
namespace {

class FakePlugin : public Plugin {
 public:
  std::vector<std::string> calls;
  CmdArgs last;
  CniResult<NetworkResult> add(const CmdArgs& a) override {
    calls.push_back("ADD");
    last = a;
    NetworkResult r;
    r.interfaces.push_back({"eth0", "aa:aa:aa:aa:aa:aa", 1400, a.netns, {}, {}});
    r.ips.push_back({*IpNet::parse("10.0.0.2/24"), IpAddr::parse("10.0.0.1"), 0});
    return r;
  }
  CniResult<void> del(const CmdArgs&) override {
    calls.push_back("DEL");
    return {};
  }
  CniResult<void> check(const CmdArgs&) override {
    calls.push_back("CHECK");
    return cni_error(kErrUnknownContainer, "gone");
  }
  CniResult<void> gc(const CmdArgs&) override {
    calls.push_back("GC");
    return {};
  }
};

PluginIo io_for(std::string command, std::string config) {
  PluginIo io;
  io.env = {{"CNI_COMMAND", command},        {"CNI_CONTAINERID", "c1"},
            {"CNI_NETNS", "/run/netns/p"},   {"CNI_IFNAME", "eth0"},
            {"CNI_PATH", "/opt/cni/bin:/x"}, {"CNI_ARGS", "A=1"}};
  io.stdin_data = std::move(config);
  return io;
}

const char* kConf = R"({"cniVersion":"1.1.0","name":"net","type":"fake"})";

TEST(Skeleton, AddPrintsTheResultInTheCallersVersion) {
  FakePlugin p;
  auto io = io_for("ADD", R"({"cniVersion":"0.4.0","name":"net","type":"fake"})");
  ASSERT_EQ(run_plugin(p, "fake", io), 0) << io.out;
  auto j = Json::parse(io.out);
  EXPECT_EQ(j["cniVersion"], "0.4.0");
  EXPECT_EQ(j["ips"][0]["version"], "4");
  EXPECT_FALSE(j["interfaces"][0].contains("mtu"));
  EXPECT_EQ(p.last.container_id, "c1");
  EXPECT_EQ(p.last.path, (std::vector<std::string>{"/opt/cni/bin", "/x"}));
  EXPECT_EQ(p.last.config.name, "net");
}

TEST(Skeleton, DelPrintsNothing) {
  FakePlugin p;
  auto io = io_for("DEL", kConf);
  io.env.erase("CNI_NETNS");  // optional for DEL
  EXPECT_EQ(run_plugin(p, "fake", io), 0);
  EXPECT_EQ(io.out, "");
  EXPECT_EQ(p.calls, std::vector<std::string>{"DEL"});
}

TEST(Skeleton, PluginErrorsArePrintedWithTheirCode) {
  FakePlugin p;
  auto io = io_for("CHECK", kConf);
  EXPECT_EQ(run_plugin(p, "fake", io), 1);
  auto j = Json::parse(io.out);
  EXPECT_EQ(j["code"], 3);
  EXPECT_EQ(j["msg"], "gone");
  EXPECT_EQ(j["cniVersion"], "1.1.0");
}

TEST(Skeleton, VersionReportsWhatWeSpeak) {
  FakePlugin p;
  PluginIo io;
  io.env = {{"CNI_COMMAND", "VERSION"}};
  io.stdin_data = R"({"cniVersion":"1.0.0"})";
  ASSERT_EQ(run_plugin(p, "fake", io), 0);
  auto j = Json::parse(io.out);
  EXPECT_EQ(j["cniVersion"], "1.0.0");
  EXPECT_EQ(j["supportedVersions"], Json::parse(R"(["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"])"));
  PluginIo bare;
  bare.env = {{"CNI_COMMAND", "VERSION"}};
  ASSERT_EQ(run_plugin(p, "fake", bare), 0);
  EXPECT_EQ(Json::parse(bare.out)["cniVersion"], "1.1.0");
  EXPECT_TRUE(p.calls.empty());
}

struct BadCase {
  const char* name;
  std::function<void(PluginIo&)> edit;
  uint32_t code;
};

class SkeletonBadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(SkeletonBadInput, SpecErrorAndNoDispatch) {
  FakePlugin p;
  auto io = io_for("ADD", kConf);
  GetParam().edit(io);
  EXPECT_EQ(run_plugin(p, "fake", io), 1);
  auto j = Json::parse(io.out);
  EXPECT_EQ(j["code"], GetParam().code) << io.out;
  EXPECT_TRUE(j["msg"].is_string());
  EXPECT_TRUE(p.calls.empty());
}

const BadCase kBad[] = {
    {"no_command", [](PluginIo& io) { io.env.erase("CNI_COMMAND"); }, kErrInvalidEnvironment},
    {"unknown_command", [](PluginIo& io) { io.env["CNI_COMMAND"] = "FROB"; },
     kErrInvalidEnvironment},
    {"no_container", [](PluginIo& io) { io.env.erase("CNI_CONTAINERID"); }, kErrInvalidEnvironment},
    {"no_netns_on_add", [](PluginIo& io) { io.env.erase("CNI_NETNS"); }, kErrInvalidEnvironment},
    {"no_ifname", [](PluginIo& io) { io.env.erase("CNI_IFNAME"); }, kErrInvalidEnvironment},
    {"no_path", [](PluginIo& io) { io.env.erase("CNI_PATH"); }, kErrInvalidEnvironment},
    {"bad_args", [](PluginIo& io) { io.env["CNI_ARGS"] = "oops"; }, kErrInvalidEnvironment},
    {"invalid_json", [](PluginIo& io) { io.stdin_data = "{\"cniVersion\":"; }, kErrDecodingFailure},
    {"unsupported_version",
     [](PluginIo& io) { io.stdin_data = R"({"cniVersion":"5.0.0","name":"n","type":"t"})"; },
     kErrIncompatibleVersion},
    {"no_name", [](PluginIo& io) { io.stdin_data = R"({"cniVersion":"1.0.0","type":"t"})"; },
     kErrInvalidNetworkConfig},
    {"check_on_031",
     [](PluginIo& io) {
       io.env["CNI_COMMAND"] = "CHECK";
       io.stdin_data = R"({"cniVersion":"0.3.1","name":"n","type":"t"})";
     },
     kErrIncompatibleVersion},
    {"gc_on_100",
     [](PluginIo& io) {
       io.env["CNI_COMMAND"] = "GC";
       io.stdin_data = R"({"cniVersion":"1.0.0","name":"n","type":"t"})";
     },
     kErrIncompatibleVersion},
};

INSTANTIATE_TEST_SUITE_P(Cases, SkeletonBadInput, ::testing::ValuesIn(kBad),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Skeleton, ValidAttachments) {
  auto v = valid_attachments(
      Json::parse(R"({"cni.dev/valid-attachments":[{"containerID":"a","ifname":"eth0"}]})"));
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->size(), 1u);
  EXPECT_EQ((*v)[0].container_id, "a");
  auto bad = valid_attachments(Json::parse(R"({"cni.dev/valid-attachments":[{"x":1}]})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, kErrInvalidNetworkConfig);
}

}  // namespace
}  // namespace skiff::cni
