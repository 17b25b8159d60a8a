#include "api/selector.hpp"

#include <gtest/gtest.h>

namespace skiff::api {
namespace {

Json labels(std::initializer_list<std::pair<const char*, const char*>> kv) {
  Json j = Json::object();
  for (auto& [k, v] : kv) j[k] = v;
  return j;
}

TEST(LabelSelector, EqualityAndSetOperators) {
  auto s = LabelSelector::parse("app=web,tier!=db,env in (prod, staging),zone notin (x),team,!old");
  ASSERT_TRUE(s.ok()) << s.error().what();
  EXPECT_EQ(s->requirements().size(), 6u);
  EXPECT_TRUE(s->matches(labels({{"app", "web"}, {"env", "prod"}, {"team", "a"}})));
  EXPECT_FALSE(s->matches(labels({{"app", "web"}, {"env", "prod"}})));  // team missing
  EXPECT_FALSE(s->matches(labels({{"app", "web"}, {"env", "dev"}, {"team", "a"}})));
  EXPECT_FALSE(s->matches(labels({{"app", "web"}, {"env", "prod"}, {"team", "a"}, {"old", "1"}})));
  EXPECT_FALSE(
      s->matches(labels({{"app", "web"}, {"env", "prod"}, {"team", "a"}, {"tier", "db"}})));
  EXPECT_FALSE(s->matches(labels({{"app", "web"}, {"env", "prod"}, {"team", "a"}, {"zone", "x"}})));
}

TEST(LabelSelector, DoubleEqualsAndEmpty) {
  auto s = LabelSelector::parse("app==web");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->matches(labels({{"app", "web"}})));
  auto all = LabelSelector::parse("");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
  EXPECT_TRUE(all->matches(Json()));
}

TEST(LabelSelector, RejectsBadInputNamingIt) {
  auto bad = LabelSelector::parse("app in web");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().what().find("parentheses"), std::string::npos) << bad.error().what();
  auto badkey = LabelSelector::parse("-bad=x");
  ASSERT_FALSE(badkey.ok());
  EXPECT_NE(badkey.error().what().find("-bad"), std::string::npos);
  auto badval = LabelSelector::parse("a=b c");
  EXPECT_FALSE(badval.ok());
  EXPECT_FALSE(LabelSelector::parse("a,,b").ok());
}

TEST(LabelSelector, FromMetav1LabelSelector) {
  Json sel = Json::parse(R"({"matchLabels":{"app":"web"},
    "matchExpressions":[{"key":"env","operator":"In","values":["a","b"]},
                        {"key":"x","operator":"DoesNotExist"}]})");
  auto s = LabelSelector::from_json(sel);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->matches(labels({{"app", "web"}, {"env", "b"}})));
  EXPECT_FALSE(s->matches(labels({{"app", "web"}, {"env", "c"}})));
  EXPECT_FALSE(s->matches(labels({{"app", "web"}, {"env", "a"}, {"x", ""}})));
  EXPECT_FALSE(LabelSelector::from_json(
                   Json::parse(R"({"matchExpressions":[{"key":"a","operator":"Bogus"}]})"))
                   .ok());
}

TEST(FieldSelector, DottedPaths) {
  Json pod = Json::parse(
      R"({"metadata":{"name":"web","namespace":"default"},"spec":{"nodeName":"n1"},
          "status":{"phase":"Running"}})");
  auto s = FieldSelector::parse("metadata.name=web,spec.nodeName==n1,status.phase!=Failed");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->matches(pod));
  ASSERT_NE(s->equals_value("spec.nodeName"), nullptr);
  EXPECT_EQ(*s->equals_value("spec.nodeName"), "n1");
  auto unbound = FieldSelector::parse("spec.nodeName=");
  ASSERT_TRUE(unbound.ok());
  EXPECT_FALSE(unbound->matches(pod));
  EXPECT_TRUE(unbound->matches(Json::parse(R"({"spec":{}})")));
  EXPECT_FALSE(FieldSelector::parse("metadata.name").ok());
}

}  // namespace
}  // namespace skiff::api
