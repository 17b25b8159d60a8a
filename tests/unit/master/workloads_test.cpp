#include "master/controllers/workloads.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace skiff::master
