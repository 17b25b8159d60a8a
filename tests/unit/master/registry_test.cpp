#include "master/registry/registry.hpp"

#include <gtest/gtest.h>

#include "api/kinds.hpp"
#include "master/store/sqlite_backend.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::master {
namespace {

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = SqliteBackend::open(dir_ / "state.db");
    ASSERT_TRUE(b.ok());
    store_ = std::move(*Store::open(std::move(*b)));
    RegistryOptions o;
    o.service_cidr = "10.0.0.0/29";  // 6 usable addresses
    auto r = Registry::create(*store_, o);
    ASSERT_TRUE(r.ok()) << r.error().what();
    reg_ = std::move(*r);
    ASSERT_TRUE(reg_->bootstrap().ok());
  }
  const api::KindInfo& kind(const char* g, const char* r) { return *api::find_resource(g, r); }
  Json pod(const std::string& name) {
    return {{"metadata", {{"name", name}}},
            {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
  }
  test::TempDir dir_{"skiff-registry"};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Registry> reg_;
  Identity admin_{"admin", {"system:masters"}};
};

TEST_F(RegistryTest, BootstrapMakesNamespacesServiceAccountsAndKubernetesService) {
  EXPECT_TRUE(store_->get("/namespaces/kube-system"));
  EXPECT_TRUE(store_->get("/serviceaccounts/default/default"));
  Object svc = store_->get("/services/default/kubernetes");
  ASSERT_TRUE(svc);
  EXPECT_EQ((*svc.json)["spec"]["clusterIP"], "10.0.0.1");
}

TEST_F(RegistryTest, CreateSetsMetadataStatusAndDefaults) {
  auto o = reg_->create(kind("", "pods"), "default", pod("web"), admin_);
  ASSERT_TRUE(o.ok()) << o.error->message;
  EXPECT_EQ(o.code, 201);
  const Json& j = *o.object.json;
  EXPECT_EQ(j["metadata"]["uid"].get<std::string>().size(), 36u);
  EXPECT_EQ(j["metadata"]["generation"], 1);
  EXPECT_EQ(j["metadata"]["resourceVersion"], std::to_string(o.object.mod_rev));
  EXPECT_EQ(j["status"]["phase"], "Pending");
  EXPECT_EQ(j["status"]["qosClass"], "BestEffort");
  EXPECT_EQ(j["spec"]["serviceAccountName"], "default");
  EXPECT_EQ(j["spec"]["restartPolicy"], "Always");
  auto dup = reg_->create(kind("", "pods"), "default", pod("web"), admin_);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error->code, 409);
  EXPECT_EQ(dup.error->reason, "AlreadyExists");
}

TEST_F(RegistryTest, GenerateNameAndMissingNamespace) {
  Json p = pod("");
  p["metadata"].erase("name");
  p["metadata"]["generateName"] = "web-";
  auto o = reg_->create(kind("", "pods"), "default", p, admin_);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ((*o.object.json)["metadata"]["name"].get<std::string>().rfind("web-", 0), 0u);
  auto missing = reg_->create(kind("", "pods"), "nowhere", pod("x"), admin_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error->code, 404);
  EXPECT_EQ(missing.error->message, "namespaces \"nowhere\" not found");
  auto wrong = reg_->create(kind("", "pods"), "default", Json{{"apiVersion", "apps/v1"}}, admin_);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error->code, 400);
}

TEST_F(RegistryTest, UpdateConflictsStatusSubresourceAndGeneration) {
  const auto& deploy = kind("apps", "deployments");
  Json d = Json::parse(R"({"metadata":{"name":"d"},"spec":{"replicas":1,
    "selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},
    "spec":{"containers":[{"name":"c","image":"i"}]}}}})");
  auto c = reg_->create(deploy, "default", d, admin_);
  ASSERT_TRUE(c.ok()) << c.error->message;
  Json stale = *c.object.json;
  Json next = stale;
  next["spec"]["replicas"] = 2;
  next["status"] = {{"replicas", 99}};  // ignored on the main resource
  auto u = reg_->update(deploy, "default", "d", "", next);
  ASSERT_TRUE(u.ok()) << u.error->message;
  EXPECT_EQ((*u.object.json)["metadata"]["generation"], 2);
  EXPECT_FALSE((*u.object.json)["status"].contains("replicas"));
  auto conflict = reg_->update(deploy, "default", "d", "", stale);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error->code, 409);
  EXPECT_EQ(conflict.error->reason, "Conflict");
  auto st = reg_->patch(deploy, "default", "d", "status", api::PatchType::kMerge,
                        Json::parse(R"({"status":{"replicas":2},"spec":{"replicas":7}})"));
  ASSERT_TRUE(st.ok());
  EXPECT_EQ((*st.object.json)["status"]["replicas"], 2);
  EXPECT_EQ((*st.object.json)["spec"]["replicas"], 2);
  EXPECT_EQ((*st.object.json)["metadata"]["generation"], 2);
  auto scale = reg_->patch(deploy, "default", "d", "scale", api::PatchType::kMerge,
                           Json::parse(R"({"spec":{"replicas":5}})"));
  ASSERT_TRUE(scale.ok());
  EXPECT_EQ(scale.json["kind"], "Scale");
  EXPECT_EQ(scale.json["spec"]["replicas"], 5);
  EXPECT_EQ(scale.json["status"]["selector"], "a=b");
}

TEST_F(RegistryTest, InvalidUpdateStoresNothing) {
  ASSERT_TRUE(reg_->create(kind("", "pods"), "default", pod("web"), admin_).ok());
  int64_t rev = store_->revision();
  auto bad = reg_->patch(kind("", "pods"), "default", "web", "", api::PatchType::kStrategic,
                         Json::parse(R"({"spec":{"containers":[{"name":"c","image":""}]}})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error->code, 422);
  EXPECT_EQ(store_->revision(), rev);
}

TEST_F(RegistryTest, BoundPodsDeleteGracefullyUnboundAtOnce) {
  const auto& pods = kind("", "pods");
  ASSERT_TRUE(reg_->create(pods, "default", pod("a"), admin_).ok());
  ASSERT_TRUE(reg_->create(pods, "default", pod("b"), admin_).ok());
  auto bind = reg_->bind("default", "b", Json::parse(R"({"target":{"name":"n1"}})"));
  ASSERT_TRUE(bind.ok());
  auto again = reg_->bind("default", "b", Json::parse(R"({"target":{"name":"n2"}})"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error->code, 409);
  auto da = reg_->remove(pods, "default", "a", Json::object());
  ASSERT_TRUE(da.ok());
  EXPECT_EQ(da.code, 200);
  EXPECT_FALSE(store_->get("/pods/default/a"));
  auto db = reg_->remove(pods, "default", "b", Json::object());
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db.code, 202);
  Object b = store_->get("/pods/default/b");
  ASSERT_TRUE(b);
  EXPECT_EQ((*b.json)["metadata"]["deletionGracePeriodSeconds"], 30);
  EXPECT_TRUE((*b.json)["metadata"].contains("deletionTimestamp"));
  ASSERT_TRUE(reg_->remove(pods, "default", "b", Json{{"gracePeriodSeconds", 0}}).ok());
  EXPECT_FALSE(store_->get("/pods/default/b"));
}

TEST_F(RegistryTest, FinalizersHoldDeletion) {
  const auto& cms = kind("", "configmaps");
  Json cm = Json::parse(R"({"metadata":{"name":"c","finalizers":["x/y"]},"data":{"a":"b"}})");
  ASSERT_TRUE(reg_->create(cms, "default", cm, admin_).ok());
  auto d = reg_->remove(cms, "default", "c", Json::object());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.code, 202);
  ASSERT_TRUE(store_->get("/configmaps/default/c"));
  auto p = reg_->patch(cms, "default", "c", "", api::PatchType::kMerge,
                       Json::parse(R"({"metadata":{"finalizers":null}})"));
  ASSERT_TRUE(p.ok()) << p.error->message;
  EXPECT_FALSE(store_->get("/configmaps/default/c"));
}

TEST_F(RegistryTest, ClusterIPsAllocatedClaimedAndReleased) {
  const auto& svcs = kind("", "services");
  auto svc = [](const std::string& name, const std::string& ip) {
    Json s = {{"metadata", {{"name", name}}}, {"spec", {{"ports", {{{"port", 80}}}}}}};
    if (!ip.empty()) s["spec"]["clusterIP"] = ip;
    return s;
  };
  auto a = reg_->create(svcs, "default", svc("a", ""), admin_);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a.object.json)["spec"]["clusterIP"], "10.0.0.2");
  auto taken = reg_->create(svcs, "default", svc("b", "10.0.0.2"), admin_);
  ASSERT_FALSE(taken.ok());
  EXPECT_NE(taken.error->message.find("provided IP is already allocated"), std::string::npos);
  auto outside = reg_->create(svcs, "default", svc("b", "10.9.9.9"), admin_);
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error->code, 422);
  ASSERT_TRUE(reg_->remove(svcs, "default", "a", Json::object()).ok());
  EXPECT_TRUE(reg_->create(svcs, "default", svc("c", "10.0.0.2"), admin_).ok());
  auto imm = reg_->patch(svcs, "default", "c", "", api::PatchType::kMerge,
                         Json::parse(R"({"spec":{"clusterIP":"10.0.0.3"}})"));
  ASSERT_FALSE(imm.ok());
  EXPECT_EQ(imm.error->code, 422);
}

// ServiceAccount admission: a pod without imagePullSecrets gets its account's; its own, an
// account without any and a mirror pod are left alone.
TEST_F(RegistryTest, PodsTakeTheirServiceAccountsImagePullSecrets) {
  auto sa = reg_->create(kind("", "serviceaccounts"), "default",
                         Json::parse(R"({"metadata":{"name":"builder"},
                           "imagePullSecrets":[{"name":"regcred"}]})"),
                         admin_);
  ASSERT_TRUE(sa.ok()) << sa.error->message;
  auto with_sa = [&](const std::string& name, const char* account) {
    Json p = pod(name);
    p["spec"]["serviceAccountName"] = account;
    return p;
  };
  auto a = reg_->create(kind("", "pods"), "default", with_sa("a", "builder"), admin_);
  ASSERT_TRUE(a.ok()) << a.error->message;
  EXPECT_EQ((*a.object.json)["spec"]["imagePullSecrets"], Json::parse(R"([{"name":"regcred"}])"));

  Json own = with_sa("b", "builder");
  own["spec"]["imagePullSecrets"] = Json::parse(R"([{"name":"mine"}])");
  auto b = reg_->create(kind("", "pods"), "default", own, admin_);
  ASSERT_TRUE(b.ok()) << b.error->message;
  EXPECT_EQ((*b.object.json)["spec"]["imagePullSecrets"], Json::parse(R"([{"name":"mine"}])"));

  auto c = reg_->create(kind("", "pods"), "default", pod("c"), admin_);  // "default": none
  ASSERT_TRUE(c.ok()) << c.error->message;
  EXPECT_FALSE((*c.object.json)["spec"].contains("imagePullSecrets")) << c.object.json->dump();

  Json mirror = with_sa("d", "builder");
  mirror["metadata"]["annotations"]["kubernetes.io/config.mirror"] = "0123";
  auto d = reg_->create(kind("", "pods"), "default", mirror, admin_);
  ASSERT_TRUE(d.ok()) << d.error->message;
  EXPECT_FALSE((*d.object.json)["spec"].contains("imagePullSecrets")) << d.object.json->dump();
}

}  // namespace
}  // namespace skiff::master
