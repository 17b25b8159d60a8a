#include "api/validation.hpp"

#include <gtest/gtest.h>

#include "api/kinds.hpp"
#include "api/meta.hpp"
#include "api/status.hpp"
#include "api/table.hpp"
#include "api/yaml.hpp"

namespace skiff::api {
namespace {

const KindInfo& pod_kind() { return *find_resource("", "pods"); }

Json pod(const char* spec) {
  Json p = {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", {{"name", "web"}, {"namespace", "default"}}}};
  p["spec"] = Json::parse(spec);
  return p;
}

TEST(Kinds, Registry) {
  const KindInfo* deploy = find_resource("apps", "deployments");
  ASSERT_NE(deploy, nullptr);
  EXPECT_EQ(deploy->api_version(), "apps/v1");
  EXPECT_EQ(deploy->qualified_kind(), "Deployment.apps");
  EXPECT_EQ(find_kind("v1", "Pod"), &pod_kind());
  EXPECT_FALSE(find_kind("v1", "Deployment"));
  EXPECT_FALSE(find_resource("", "nodes")->namespaced);
}

TEST(Validation, MissingImageIsTheKubectlMessage) {
  Json p = pod(R"({"containers":[{"name":"web"}]})");
  auto errs = validate(pod_kind(), p);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "spec.containers[0].image");
  auto e = invalid_error("", "Pod", "web", errs);
  EXPECT_EQ(e.code, 422);
  EXPECT_EQ(e.message, "Pod \"web\" is invalid: spec.containers[0].image: Required value");
  Json status = e.to_status();
  EXPECT_EQ(status["reason"], "Invalid");
  EXPECT_EQ(status["details"]["causes"][0]["field"], "spec.containers[0].image");
  EXPECT_EQ(status["details"]["kind"], "Pod");
}

TEST(Validation, PodRules) {
  auto errs = validate(pod_kind(), pod(R"({"containers":[]})"));
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "spec.containers");
  errs = validate(pod_kind(), pod(R"({"restartPolicy":"Sometimes","containers":[
      {"name":"a","image":"x","ports":[{"containerPort":70000}],
       "volumeMounts":[{"name":"missing","mountPath":"/m"}],
       "resources":{"limits":{"memory":"lots"}}},
      {"name":"a","image":"y"},{"name":"Bad_Name","image":"z"}]})"));
  std::vector<std::string> fields;
  for (const auto& e : errs) fields.push_back(e.field + " " + e.type);
  auto has = [&](const std::string& s) {
    return std::find(fields.begin(), fields.end(), s) != fields.end();
  };
  EXPECT_TRUE(has("spec.restartPolicy FieldValueNotSupported"));
  EXPECT_TRUE(has("spec.containers[0].ports[0].containerPort FieldValueInvalid"));
  EXPECT_TRUE(has("spec.containers[0].volumeMounts[0].name FieldValueNotFound"));
  EXPECT_TRUE(has("spec.containers[0].resources.limits[memory] FieldValueInvalid"));
  EXPECT_TRUE(has("spec.containers[1].name FieldValueDuplicate"));
  EXPECT_TRUE(has("spec.containers[2].name FieldValueInvalid"));
  EXPECT_TRUE(validate(pod_kind(), pod(R"({"containers":[{"name":"a","image":"x"}]})")).empty());
}

TEST(Validation, MetadataNamesAndLabels) {
  Json p = pod(R"({"containers":[{"name":"a","image":"x"}]})");
  p["metadata"]["name"] = "Web";
  p["metadata"]["labels"] = {{"ok", "fine"}, {"bad key!", "v"}, {"k", "bad value!"}};
  auto errs = validate(pod_kind(), p);
  ASSERT_EQ(errs.size(), 3u);
  EXPECT_EQ(errs[0].field, "metadata.name");
  EXPECT_EQ(errs[1].field, "metadata.labels");
}

TEST(Validation, PodUpdateMayOnlyChangeImages) {
  Json old = pod(R"({"containers":[{"name":"a","image":"x"}]})");
  Json ok_update = pod(R"({"containers":[{"name":"a","image":"y"}]})");
  EXPECT_TRUE(validate_update(pod_kind(), ok_update, old).empty());
  Json bad = pod(R"({"containers":[{"name":"a","image":"x","command":["sh"]}]})");
  auto errs = validate_update(pod_kind(), bad, old);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].type, "FieldValueForbidden");
}

TEST(Validation, DeploymentSelectorMustMatchTemplate) {
  const KindInfo& k = *find_resource("apps", "deployments");
  Json d = Json::parse(R"({"metadata":{"name":"d","namespace":"default"},
    "spec":{"selector":{"matchLabels":{"app":"a"}},
            "template":{"metadata":{"labels":{"app":"b"}},
                        "spec":{"containers":[{"name":"c","image":"i"}]}}}})");
  auto errs = validate(k, d);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "spec.template.metadata.labels");
  set_defaults(k, d);
  EXPECT_EQ(d["spec"]["replicas"], 1);
  EXPECT_EQ(d["spec"]["strategy"]["type"], "RollingUpdate");
  EXPECT_EQ(d["spec"]["template"]["spec"]["restartPolicy"], "Always");
}

TEST(Defaults, PodAndContainers) {
  Json p = pod(R"({"containers":[{"name":"a","image":"nginx"},{"name":"b","image":"nginx:1.25",
                   "ports":[{"containerPort":80}]}]})");
  set_defaults(pod_kind(), p);
  EXPECT_EQ(p["spec"]["restartPolicy"], "Always");
  EXPECT_EQ(p["spec"]["dnsPolicy"], "ClusterFirst");
  EXPECT_EQ(p["spec"]["terminationGracePeriodSeconds"], 30);
  EXPECT_EQ(p["spec"]["containers"][0]["imagePullPolicy"], "Always");
  EXPECT_EQ(p["spec"]["containers"][1]["imagePullPolicy"], "IfNotPresent");
  EXPECT_EQ(p["spec"]["containers"][1]["ports"][0]["protocol"], "TCP");
}

TEST(Meta, NamesTimesQuantities) {
  EXPECT_TRUE(check_dns_label("web-1").empty());
  EXPECT_FALSE(check_dns_label("-web").empty());
  EXPECT_FALSE(check_dns_label(std::string(64, 'a')).empty());
  EXPECT_TRUE(check_dns_subdomain("a.b-c.d").empty());
  EXPECT_FALSE(check_dns_subdomain("a..b").empty());
  EXPECT_TRUE(check_qualified_name("app.kubernetes.io/name").empty());
  EXPECT_EQ(new_uid().size(), 36u);
  EXPECT_NE(new_uid(), new_uid());
  auto t = parse_rfc3339("2024-01-02T03:04:05Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(rfc3339(*t), "2024-01-02T03:04:05Z");
  EXPECT_FALSE(parse_rfc3339("yesterday").has_value());
  EXPECT_EQ(human_duration(std::chrono::seconds(45)), "45s");
  EXPECT_EQ(human_duration(std::chrono::seconds(200)), "3m20s");
  EXPECT_EQ(human_duration(std::chrono::seconds(3600 * 5)), "5h");
  EXPECT_EQ(parse_quantity_milli("100m"), 100);
  EXPECT_EQ(parse_quantity_milli("2"), 2000);
  EXPECT_EQ(parse_quantity_milli("1Ki"), 1024000);
  EXPECT_EQ(parse_quantity_milli("1.5"), 1500);
  EXPECT_FALSE(parse_quantity_milli("lots").has_value());
  EXPECT_EQ(generate_name("web-").size(), 9u);
}

TEST(Table, PodColumnsAndStatus) {
  Json p =
      pod(R"({"containers":[{"name":"a","image":"x"},{"name":"b","image":"y"}],"nodeName":"n1"})");
  p["metadata"]["creationTimestamp"] = now_rfc3339();
  p["status"] = Json::parse(R"({"phase":"Running","podIP":"10.0.0.5","containerStatuses":[
      {"name":"a","ready":true,"restartCount":2},{"name":"b","ready":false,"restartCount":1,
       "state":{"waiting":{"reason":"CrashLoopBackOff"}}}]})");
  Json t = to_table(pod_kind(), {&p}, Json::object(), false);
  EXPECT_EQ(t["kind"], "Table");
  std::vector<std::string> names;
  for (const auto& c : t["columnDefinitions"]) names.push_back(c["name"]);
  EXPECT_EQ(names[0], "Name");
  EXPECT_EQ(names[4], "Age");
  const Json& cells = t["rows"][0]["cells"];
  EXPECT_EQ(cells[1], "1/2");
  EXPECT_EQ(cells[2], "CrashLoopBackOff");
  EXPECT_EQ(cells[3], 3);
  EXPECT_EQ(cells[5], "10.0.0.5");
  EXPECT_EQ(cells[6], "n1");
  EXPECT_EQ(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
  p["metadata"]["deletionTimestamp"] = now_rfc3339();
  EXPECT_EQ(pod_status_reason(p), "Terminating");
}

TEST(Yaml, ScalarsAndDocuments) {
  auto docs = yaml_documents(R"(
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {version: "1"}}
spec:
  containers:
  - name: a
    image: nginx
    ports: [{containerPort: 80}]
    tty: true
    x: null
---
---
kind: ConfigMap
data: {ratio: "1.5", n: 07x}
)");
  ASSERT_TRUE(docs.ok()) << docs.error().what();
  ASSERT_EQ(docs->size(), 2u);
  const Json& p = (*docs)[0];
  EXPECT_EQ(p["metadata"]["labels"]["version"], "1");
  EXPECT_EQ(p["spec"]["containers"][0]["ports"][0]["containerPort"], 80);
  EXPECT_EQ(p["spec"]["containers"][0]["tty"], true);
  EXPECT_TRUE(p["spec"]["containers"][0]["x"].is_null());
  EXPECT_EQ((*docs)[1]["data"]["n"], "07x");
  auto bad = yaml_to_json("a: [1, 2\nb: c");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().what().find("line"), std::string::npos);
  auto round = yaml_to_json(json_to_yaml(p));
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(*round, p);
}

}  // namespace
}  // namespace skiff::api
