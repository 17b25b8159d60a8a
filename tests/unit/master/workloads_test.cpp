#include "master/controllers/workloads.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "api/kinds.hpp"
#include "master/store/sqlite_backend.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::master {
namespace {

TEST(Workloads, PodTemplateHashIsStableAndChangesWithTheTemplate) {
  Json a =
      Json::parse(R"({"metadata":{"labels":{"app":"x"}},"spec":{"containers":[{"image":"a"}]}})");
  Json b = a;
  b["spec"]["containers"][0]["image"] = "b";
  EXPECT_EQ(pod_template_hash(a), pod_template_hash(Json::parse(a.dump())));
  EXPECT_NE(pod_template_hash(a), pod_template_hash(b));
  for (char c : pod_template_hash(a)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)));
}

TEST(Workloads, IntOrPercentRoundsLikeKube) {
  EXPECT_EQ(resolve_int_or_percent(Json("25%"), 10, true), 3);   // maxSurge rounds up
  EXPECT_EQ(resolve_int_or_percent(Json("25%"), 10, false), 2);  // maxUnavailable rounds down
  EXPECT_EQ(resolve_int_or_percent(Json(2), 10, false), 2);
  EXPECT_EQ(resolve_int_or_percent(Json("bogus%"), 10, false), 0);
}

TEST(Workloads, ReadinessFromTheReadyCondition) {
  EXPECT_TRUE(
      pod_ready(Json::parse(R"({"status":{"conditions":[{"type":"Ready","status":"True"}]}})")));
  EXPECT_FALSE(
      pod_ready(Json::parse(R"({"status":{"conditions":[{"type":"Ready","status":"False"}]}})")));
  EXPECT_FALSE(pod_ready(Json::parse(R"({"status":{"phase":"Running"}})")));
}

// The ReplicaSet controller on a real store: it stamps spec.replicas pods, counts the Ready ones
// from what the watch showed it, and on a scale-down removes the not-ready pods, exactly as many
// as asked, also across the syncs that run before the watch reports the removals.
class ReplicaSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = SqliteBackend::open(dir_ / "state.db");
    ASSERT_TRUE(b.ok());
    store_ = std::move(*Store::open(std::move(*b)));
    auto r = Registry::create(*store_, RegistryOptions{});
    ASSERT_TRUE(r.ok()) << r.error().what();
    reg_ = std::move(*r);
    ASSERT_TRUE(reg_->bootstrap().ok());
    controllers_ = std::make_unique<WorkloadControllers>(*reg_);
    ASSERT_TRUE(controllers_->start().ok());
  }
  void TearDown() override { controllers_.reset(); }
  const api::KindInfo& kind(const char* g, const char* r) { return *api::find_resource(g, r); }
  std::vector<Json> live_pods() {
    std::vector<Json> out;
    for (const auto& o : store_->list("/pods/default/").items)
      if (!o.json->contains("/metadata/deletionTimestamp"_json_pointer)) out.push_back(*o.json);
    return out;
  }
  bool eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 200; i++) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return done();
  }
  test::TempDir dir_{"skiff-workloads"};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Registry> reg_;
  std::unique_ptr<WorkloadControllers> controllers_;
  Identity admin_{"admin", {"system:masters"}};
};

TEST_F(ReplicaSetTest, KeepsReplicasCountsReadyAndScalesDownTheNotReadyFirst) {
  Json rs = Json::parse(R"({"metadata":{"name":"web"},
    "spec":{"replicas":4,"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}},
        "spec":{"containers":[{"name":"c","image":"busybox"}]}}}})");
  auto c = reg_->create(kind("apps", "replicasets"), "default", rs, admin_);
  ASSERT_TRUE(c.ok()) << c.error->message;
  ASSERT_TRUE(eventually([&] { return live_pods().size() == 4; })) << live_pods().size();
  for (const auto& p : live_pods()) EXPECT_EQ(p["metadata"]["ownerReferences"][0]["name"], "web");

  std::string ready_one = live_pods()[2]["metadata"]["name"];
  auto st = reg_->patch(kind("", "pods"), "default", ready_one, "status", api::PatchType::kMerge,
                        Json::parse(R"({"status":{"phase":"Running",
                          "conditions":[{"type":"Ready","status":"True"}]}})"));
  ASSERT_TRUE(st.ok()) << st.error->message;
  auto rs_status = [&](const char* field) {
    Object o = store_->get("/replicasets.apps/default/web");
    return o ? o.json->value("status", Json::object()).value(field, int64_t{-1}) : -1;
  };
  ASSERT_TRUE(eventually([&] { return rs_status("readyReplicas") == 1; }))
      << rs_status("readyReplicas");
  EXPECT_EQ(rs_status("replicas"), 4);

  auto sc = reg_->patch(kind("apps", "replicasets"), "default", "web", "", api::PatchType::kMerge,
                        Json::parse(R"({"spec":{"replicas":1}})"));
  ASSERT_TRUE(sc.ok()) << sc.error->message;
  ASSERT_TRUE(eventually([&] { return rs_status("replicas") == 1; })) << rs_status("replicas");
  // Settled: no sync in between removed one pod too many (the set would have made a new one).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto left = live_pods();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]["metadata"]["name"], ready_one);
  EXPECT_EQ(rs_status("readyReplicas"), 1);

  // A pod removed by someone else is replaced.
  auto rm = reg_->remove(kind("", "pods"), "default", ready_one, Json::object());
  ASSERT_TRUE(rm.ok()) << rm.error->message;
  ASSERT_TRUE(eventually([&] {
    auto now = live_pods();
    return now.size() == 1 && now[0]["metadata"]["name"] != ready_one;
  }));
  ASSERT_TRUE(eventually([&] { return rs_status("readyReplicas") == 0; }));
}

}  // namespace
}  // namespace skiff::master
