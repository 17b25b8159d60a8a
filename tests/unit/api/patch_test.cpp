#include "api/patch.hpp"

#include <gtest/gtest.h>

namespace skiff::api {
namespace {

TEST(Patch, ContentTypes) {
  EXPECT_EQ(patch_type_from_content_type("application/json-patch+json"), PatchType::kJson);
  EXPECT_EQ(patch_type_from_content_type("application/merge-patch+json"), PatchType::kMerge);
  EXPECT_EQ(patch_type_from_content_type("application/strategic-merge-patch+json; charset=utf-8"),
            PatchType::kStrategic);
  EXPECT_FALSE(patch_type_from_content_type("application/json").has_value());
}

TEST(Patch, JsonPatchRfc6902) {
  Json doc = Json::parse(R"({"a":{"b":[1,2]},"c":"x"})");
  auto out = json_patch(doc, Json::parse(R"([{"op":"add","path":"/a/b/-","value":3},
    {"op":"replace","path":"/c","value":"y"},{"op":"test","path":"/c","value":"y"},
    {"op":"copy","from":"/c","path":"/d"},{"op":"move","from":"/d","path":"/e"},
    {"op":"remove","path":"/a/b/0"}])"));
  ASSERT_TRUE(out.ok()) << out.error().what();
  EXPECT_EQ(*out, Json::parse(R"({"a":{"b":[2,3]},"c":"y","e":"y"})"));
  auto failed = json_patch(doc, Json::parse(R"([{"op":"test","path":"/c","value":"nope"}])"));
  EXPECT_FALSE(failed.ok());
  EXPECT_FALSE(json_patch(doc, Json::parse(R"({"op":"add"})")).ok());
}

TEST(Patch, MergePatchRfc7386) {
  Json doc = Json::parse(R"({"a":"b","c":{"d":"e","f":"g"},"l":[1,2]})");
  auto out = merge_patch(doc, Json::parse(R"({"a":"z","c":{"f":null},"l":[3]})"));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, Json::parse(R"({"a":"z","c":{"d":"e"},"l":[3]})"));
}

TEST(Patch, StrategicMergesContainersByName) {
  Json pod = Json::parse(R"({"metadata":{"labels":{"a":"1"},"finalizers":["x"]},
    "spec":{"containers":[{"name":"web","image":"nginx:1","env":[{"name":"A","value":"1"}]},
                          {"name":"side","image":"busybox"}],
            "tolerations":[{"key":"t1"}]}})");
  Json patch = Json::parse(R"({"metadata":{"labels":{"b":"2","a":null},"finalizers":["y"]},
    "spec":{"containers":[{"name":"web","image":"nginx:2","env":[{"name":"B","value":"2"}]},
                          {"name":"side","$patch":"delete"},{"name":"new","image":"alpine"}],
            "tolerations":[{"key":"t2"}],
            "$setElementOrder/containers":[{"name":"web"},{"name":"new"}]}})");
  auto out = strategic_merge_patch(pod, patch);
  ASSERT_TRUE(out.ok()) << out.error().what();
  const Json& o = *out;
  EXPECT_EQ(o["metadata"]["labels"], Json::parse(R"({"b":"2"})"));
  EXPECT_EQ(o["metadata"]["finalizers"], Json::parse(R"(["x","y"])"));
  ASSERT_EQ(o["spec"]["containers"].size(), 2u);
  EXPECT_EQ(o["spec"]["containers"][0]["image"], "nginx:2");
  EXPECT_EQ(o["spec"]["containers"][0]["env"].size(), 2u);
  EXPECT_EQ(o["spec"]["containers"][1]["name"], "new");
  EXPECT_EQ(o["spec"]["tolerations"], Json::parse(R"([{"key":"t2"}])"));  // atomic list
  EXPECT_FALSE(o["spec"].contains("$setElementOrder/containers"));
}

TEST(Patch, StrategicDirectives) {
  Json obj = Json::parse(R"({"spec":{"a":{"x":1,"y":2},"finalizers":["a","b","c"]}})");
  auto out = strategic_merge_patch(obj, Json::parse(R"({"spec":{"a":{"$patch":"replace","z":3},
                                   "$deleteFromPrimitiveList/finalizers":["b"]}})"));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)["spec"]["a"], Json::parse(R"({"z":3})"));
  EXPECT_EQ((*out)["spec"]["finalizers"], Json::parse(R"(["a","c"])"));
  auto bad = strategic_merge_patch(Json::parse(R"({"spec":{"containers":[{"name":"a"}]}})"),
                                   Json::parse(R"({"spec":{"containers":[{"image":"no-name"}]}})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().what().find("merge key"), std::string::npos);
  EXPECT_FALSE(strategic_merge_patch(obj, Json::array()).ok());
}

TEST(Patch, ServicePortsMergeOnPort) {
  Json svc =
      Json::parse(R"({"spec":{"ports":[{"port":80,"name":"http"},{"port":443,"name":"https"}]}})");
  auto out = strategic_merge_patch(
      svc, Json::parse(R"({"spec":{"ports":[{"port":80,"targetPort":8080}]}})"));
  ASSERT_TRUE(out.ok());
  ASSERT_EQ((*out)["spec"]["ports"].size(), 2u);
  EXPECT_EQ((*out)["spec"]["ports"][0]["targetPort"], 8080);
  EXPECT_EQ((*out)["spec"]["ports"][0]["name"], "http");
}

}  // namespace
}  // namespace skiff::api
