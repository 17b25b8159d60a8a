// CNI data model: errors, results in every version's shape, network configs and conflists.
#include <gtest/gtest.h>

#include "cni/errors.hpp"
#include "cni/types.hpp"
#include "cni/version.hpp"

namespace skiff::cni {
namespace {

const char* kResult11 = R"({
  "cniVersion": "1.1.0",
  "interfaces": [{"name": "cni0", "mac": "aa:bb:cc:dd:ee:ff"},
                 {"name": "eth0", "mac": "11:22:33:44:55:66", "mtu": 1400,
                  "sandbox": "/run/netns/p1", "socketPath": "/x.sock", "pciID": "0000:00:01.0"}],
  "ips": [{"address": "10.1.0.5/24", "gateway": "10.1.0.1", "interface": 1},
          {"address": "fd00::5/64", "interface": 1}],
  "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.0.1", "mtu": 1400, "priority": 10, "table": 5}],
  "dns": {"nameservers": ["10.1.0.10"], "search": ["svc.local"]}
})";

TEST(CniError, JsonShapeFollowsTheSpec) {
  CniError e{kErrInvalidNetworkConfig, "bad bridge", "name too long"};
  auto j = e.to_json("1.0.0");
  EXPECT_EQ(j["cniVersion"], "1.0.0");
  EXPECT_EQ(j["code"], 7);
  EXPECT_EQ(j["msg"], "bad bridge");
  EXPECT_EQ(j["details"], "name too long");
  CniError no_details{kErrTryAgainLater, "busy", ""};
  EXPECT_FALSE(no_details.to_json("1.1.0").contains("details"));
}

TEST(CniError, ReadsPluginOutputAndFallsBackTo999) {
  auto e = CniError::from_output(R"({"cniVersion":"1.0.0","code":11,"msg":"later","details":"d"})");
  EXPECT_EQ(e.code, 11u);
  EXPECT_EQ(e.msg, "later");
  EXPECT_EQ(e.details, "d");
  auto raw = CniError::from_output("panic: something\n");
  EXPECT_EQ(raw.code, kErrInternal);
  EXPECT_EQ(raw.msg, "panic: something");
}

TEST(CniError, PlainErrorsLiftToInternalAndTryPropagates) {
  auto f = []() -> CniResult<int> {
    Result<int> r = Error("disk on fire", ENOSPC);
    int v = TRY(r);
    return v;
  };
  auto r = f();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kErrInternal);
  EXPECT_NE(r.error().msg.find("disk on fire"), std::string::npos);
  EXPECT_NE(r.error().msg.find("No space left"), std::string::npos);
}

TEST(Version, SupportedAndOrdered) {
  for (const char* v : {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"})
    EXPECT_TRUE(version_supported(v));
  for (const char* v : {"0.2.0", "1.2.0", "", "1.0", "x"}) EXPECT_FALSE(version_supported(v)) << v;
  EXPECT_LT(compare_versions("0.4.0", "1.0.0"), 0);
  EXPECT_GT(compare_versions("1.1.0", "1.0.0"), 0);
  EXPECT_EQ(compare_versions("0.3.1", "0.3.1"), 0);
  EXPECT_LT(compare_versions("0.10.0", "1.0.0"), 0);
  EXPECT_GT(compare_versions("0.10.0", "0.9.0"), 0);
  EXPECT_TRUE(version_at_least("1.1.0", "0.4.0"));
  EXPECT_FALSE(version_at_least("0.3.1", "0.4.0"));
  EXPECT_EQ(pick_version({"0.4.0", "1.0.0", "2.0.0"}), "1.0.0");
  EXPECT_EQ(pick_version({"9.0.0"}), std::nullopt);
}

TEST(NetworkResult, RoundTrips11) {
  auto r = NetworkResult::from_json(Json::parse(kResult11));
  ASSERT_TRUE(r.ok()) << r.error().what();
  EXPECT_EQ(r->interfaces.size(), 2u);
  EXPECT_EQ(r->interfaces[1].mtu, 1400);
  EXPECT_EQ(r->ips[0].address.str(), "10.1.0.5/24");
  EXPECT_EQ(r->ips[0].gateway->str(), "10.1.0.1");
  EXPECT_EQ(r->ips[1].interface, 1);
  EXPECT_EQ(r->routes[0].table, 5);
  EXPECT_EQ(r->dns.nameservers, std::vector<std::string>{"10.1.0.10"});
  EXPECT_EQ(r->to_json("1.1.0"), Json::parse(kResult11));
}

TEST(NetworkResult, ConvertsTo040ForOldCallers) {
  auto j = convert_result(Json::parse(kResult11), "0.4.0");
  ASSERT_TRUE(j.ok()) << j.error().what();
  EXPECT_EQ((*j)["cniVersion"], "0.4.0");
  EXPECT_EQ((*j)["ips"][0]["version"], "4");
  EXPECT_EQ((*j)["ips"][1]["version"], "6");
  EXPECT_EQ((*j)["ips"][0]["interface"], 1);
  // 1.1.0-only fields are not in the 0.4.0 (nor 1.0.0) schema.
  EXPECT_FALSE((*j)["interfaces"][1].contains("mtu"));
  EXPECT_FALSE((*j)["interfaces"][1].contains("socketPath"));
  EXPECT_FALSE((*j)["routes"][0].contains("table"));
  EXPECT_EQ((*j)["routes"][0]["gw"], "10.1.0.1");
  auto v100 = convert_result(Json::parse(kResult11), "1.0.0");
  ASSERT_TRUE(v100.ok());
  EXPECT_FALSE((*v100)["ips"][0].contains("version"));
  EXPECT_FALSE((*v100)["routes"][0].contains("mtu"));
}

TEST(NetworkResult, ReadsA040ResultAndUpgradesIt) {
  Json old = Json::parse(R"({"cniVersion":"0.4.0","interfaces":[{"name":"eth0"}],
    "ips":[{"version":"4","address":"10.2.0.9/16","gateway":"10.2.0.1","interface":0}],
    "routes":[{"dst":"0.0.0.0/0"}],"dns":{}})");
  auto j = convert_result(old, "1.1.0");
  ASSERT_TRUE(j.ok()) << j.error().what();
  EXPECT_EQ((*j)["cniVersion"], "1.1.0");
  EXPECT_FALSE((*j)["ips"][0].contains("version"));
  EXPECT_EQ((*j)["ips"][0]["address"], "10.2.0.9/16");
}

TEST(NetworkResult, MalformedIsADecodingFailure) {
  for (const char* bad : {
           R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.300/24"}]})",
           R"({"cniVersion":"1.0.0","ips":"nope"})",
           R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24","interface":3}]})",
           R"({"cniVersion":"1.0.0","routes":[{"gw":"10.0.0.1"}]})",
       }) {
    auto r = NetworkResult::from_json(Json::parse(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, kErrDecodingFailure) << bad;
  }
  auto v = NetworkResult::from_json(Json::parse(R"({"cniVersion":"0.2.0","ip4":{}})"));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, kErrIncompatibleVersion);
}

TEST(NetworkConfig, ParsesAndNamesTheFaultyField) {
  auto ok =
      NetworkConfig::parse(R"({"cniVersion":"1.0.0","name":"n","type":"skiff-bridge","x":1})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->type, "skiff-bridge");
  EXPECT_EQ(ok->raw["x"], 1);

  struct Case {
    const char* text;
    uint32_t code;
    const char* needle;
  } cases[] = {
      {"{not json", kErrDecodingFailure, "invalid JSON"},
      {"[1,2]", kErrDecodingFailure, "expected a JSON object"},
      {R"({"cniVersion":"2.0.0","name":"n","type":"t"})", kErrIncompatibleVersion, "2.0.0"},
      {R"({"name":"n","type":"t"})", kErrIncompatibleVersion, "0.1.0"},
      {R"({"cniVersion":"1.0.0","type":"t"})", kErrInvalidNetworkConfig, "name"},
      {R"({"cniVersion":"1.0.0","name":"n","type":5})", kErrInvalidNetworkConfig, "type"},
  };
  for (const auto& c : cases) {
    auto r = NetworkConfig::parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().code, c.code) << c.text << ": " << r.error().what();
    EXPECT_NE(r.error().what().find(c.needle), std::string::npos) << r.error().what();
  }
}

TEST(NetworkConfigList, ParsesListsAndLiftsSingleConfs) {
  auto l = NetworkConfigList::parse(R"({"cniVersion":"1.1.0","name":"pods","disableCheck":"true",
      "plugins":[{"type":"skiff-bridge","bridge":"b0"},{"type":"portmap"}]})");
  ASSERT_TRUE(l.ok()) << l.error().what();
  EXPECT_EQ(l->name, "pods");
  EXPECT_TRUE(l->disable_check);
  EXPECT_FALSE(l->disable_gc);
  ASSERT_EQ(l->plugins.size(), 2u);
  EXPECT_EQ(l->plugins[0]["bridge"], "b0");

  auto multi = NetworkConfigList::parse(
      R"({"cniVersions":["0.4.0","1.0.0","7.0.0"],"name":"n","plugins":[{"type":"x"}]})");
  ASSERT_TRUE(multi.ok()) << multi.error().what();
  EXPECT_EQ(multi->cni_version, "1.0.0");

  auto single = NetworkConfigList::from_single(
      R"({"cniVersion":"0.4.0","name":"one","type":"bridge","bridge":"x"})");
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->plugins.size(), 1u);
  EXPECT_EQ(single->plugins[0]["bridge"], "x");
  EXPECT_EQ(single->cni_version, "0.4.0");

  auto empty = NetworkConfigList::parse(R"({"cniVersion":"1.0.0","name":"n","plugins":[]})");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, kErrInvalidNetworkConfig);
  auto untyped = NetworkConfigList::parse(R"({"cniVersion":"1.0.0","name":"n","plugins":[{}]})");
  ASSERT_FALSE(untyped.ok());
  EXPECT_NE(untyped.error().msg.find("plugins[0].type"), std::string::npos);
}

TEST(CniArgs, ParseAndFormat) {
  auto a = parse_cni_args("IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.0.0.5");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 3u);
  EXPECT_EQ((*a)[1].second, "web");
  EXPECT_EQ(format_cni_args(*a), "IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.0.0.5");
  auto bad = parse_cni_args("novalue");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, kErrInvalidEnvironment);
}

}  // namespace
}  // namespace skiff::cni
