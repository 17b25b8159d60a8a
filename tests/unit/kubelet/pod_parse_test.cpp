// Pod manifests: YAML and JSON, multi-document files, defaults, validation with field paths.

#include <gtest/gtest.h>

#include "kubelet/pod/pod.hpp"
#include "kubelet/pod/yaml.hpp"

namespace skiff::kubelet {
namespace {

constexpr const char* kPod = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  restartPolicy: OnFailure
  initContainers:
  - name: setup
    image: busybox
    command: ["sh", "-c", "echo ready"]
  containers:
  - name: app
    image: busybox:1.36
    args: ["httpd", "-f"]
    workingDir: /srv
    ports:
    - containerPort: 8080
      name: http
    env:
    - name: MODE
      value: "1"
    - name: GREETING
      valueFrom:
        configMapKeyRef: {name: cfg, key: greeting}
    - name: TOKEN
      valueFrom:
        secretKeyRef: {name: creds, key: token}
    - name: POD
      valueFrom:
        fieldRef: {fieldPath: metadata.name}
    securityContext:
      runAsUser: 1000
      capabilities: {drop: ["ALL"], add: ["NET_BIND_SERVICE"]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {greeting: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
data: {token: czNjcjN0}
)";

TEST(PodParse, YamlWithConfigMapAndSecret) {
  auto m = parse_manifest(kPod, "pod.yaml");
  ASSERT_TRUE(m.ok()) << m.error().what();
  const Pod& p = m->pod;
  EXPECT_EQ(p.name, "web");
  EXPECT_EQ(p.namespace_, "default");
  EXPECT_EQ(p.uid.size(), 36u);  // generated
  EXPECT_EQ(p.labels.at("app"), "web");
  EXPECT_EQ(p.spec.restart_policy, "OnFailure");
  ASSERT_EQ(p.spec.init_containers.size(), 1u);
  EXPECT_EQ(p.spec.init_containers[0].command,
            (std::vector<std::string>{"sh", "-c", "echo ready"}));
  // Defaults: no tag means :latest, which means Always; a tag means IfNotPresent.
  EXPECT_EQ(p.spec.init_containers[0].image_pull_policy, "Always");
  const Container& c = p.spec.containers[0];
  EXPECT_EQ(c.image_pull_policy, "IfNotPresent");
  EXPECT_EQ(c.args, (std::vector<std::string>{"httpd", "-f"}));
  EXPECT_EQ(c.working_dir, "/srv");
  ASSERT_EQ(c.ports.size(), 1u);
  EXPECT_EQ(c.ports[0].container_port, 8080);
  EXPECT_EQ(c.ports[0].protocol, "TCP");
  EXPECT_EQ(c.env[0].value, "1");  // quoted: a string
  EXPECT_EQ(*c.security_context.run_as_user, 1000);
  ASSERT_EQ(m->config_maps.size(), 1u);
  ASSERT_EQ(m->secrets.size(), 1u);
  EXPECT_EQ(m->secrets[0].data.at("token"), "s3cr3t");  // base64-decoded
  EXPECT_EQ(*resolve_env(*m, c.env[1]).value(), "hello");
  EXPECT_EQ(*resolve_env(*m, c.env[2]).value(), "s3cr3t");
  EXPECT_EQ(*resolve_env(*m, c.env[3]).value(), "web");
  EXPECT_TRUE(m->warnings.empty()) << m->warnings[0];
}

TEST(PodParse, JsonToo) {
  auto m = parse_manifest(
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"j","uid":"abc-123"},
          "spec":{"containers":[{"name":"c","image":"busybox"}]}})",
      "pod.json");
  ASSERT_TRUE(m.ok()) << m.error().what();
  EXPECT_EQ(m->pod.uid, "abc-123");
  EXPECT_EQ(m->pod.spec.restart_policy, "Always");
}

// What the kubelet writes (and every shim reads at its start): "---" and one JSON object per
// line, read by nlohmann instead of yaml-cpp; the same manifest as through YAML.
TEST(PodParse, AStreamOfJsonObjectsReadsLikeItsYaml) {
  auto docs = yaml_documents(kPod, "pod.yaml");
  ASSERT_TRUE(docs.ok()) << docs.error().what();
  ASSERT_EQ(docs->size(), 3u);
  std::string stream;
  for (const auto& d : *docs) stream += "---\n" + d.dump() + "\n";
  auto y = parse_manifest(kPod, "pod.yaml");
  auto j = parse_manifest(stream, "pod.json");
  ASSERT_TRUE(y.ok()) << y.error().what();
  ASSERT_TRUE(j.ok()) << j.error().what();
  EXPECT_EQ(j->pod.name, y->pod.name);
  EXPECT_EQ(j->pod.labels, y->pod.labels);
  EXPECT_EQ(j->pod.spec.restart_policy, y->pod.spec.restart_policy);
  ASSERT_EQ(j->pod.spec.containers.size(), 1u);
  const Container& jc = j->pod.spec.containers[0];
  const Container& yc = y->pod.spec.containers[0];
  EXPECT_EQ(jc.args, yc.args);
  EXPECT_EQ(jc.image_pull_policy, yc.image_pull_policy);
  EXPECT_EQ(jc.ports[0].container_port, 8080);
  EXPECT_EQ(jc.env[0].value, "1");  // a string in both
  EXPECT_EQ(*jc.security_context.run_as_user, 1000);
  ASSERT_EQ(j->config_maps.size(), 1u);
  ASSERT_EQ(j->secrets.size(), 1u);
  EXPECT_EQ(j->secrets[0].data.at("token"), "s3cr3t");
  EXPECT_EQ(*resolve_env(*j, jc.env[2]).value(), "s3cr3t");
  EXPECT_TRUE(j->warnings.empty()) << j->warnings[0];

  // A flow mapping that is YAML but not JSON still goes to yaml-cpp.
  auto flow = parse_manifest(
      "---\n{kind: Pod, apiVersion: v1, metadata: {name: f}, spec: {containers: [{name: c, "
      "image: busybox}]}}\n",
      "flow.yaml");
  ASSERT_TRUE(flow.ok()) << flow.error().what();
  EXPECT_EQ(flow->pod.name, "f");
  // And a broken one is reported by it, with where.
  auto broken = parse_manifest("---\n{\"kind\": \"Pod\",\n", "broken.json");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().what().find("broken.json"), std::string::npos) << broken.error().what();
}

TEST(PodParse, UnknownFieldsAreWarnings) {
  auto m = parse_manifest(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n  - name: c\n"
      "    image: busybox\n    colour: blue\n  livenessProbe: {}\n",
      "w.yaml");
  ASSERT_TRUE(m.ok()) << m.error().what();
  ASSERT_EQ(m->warnings.size(), 2u);
  EXPECT_EQ(m->warnings[0], "spec.containers[0].colour: unknown field");
  EXPECT_EQ(m->warnings[1], "spec.livenessProbe: unknown field");
}

Result<Manifest> parse_containers(const std::string& containers) {
  return parse_manifest(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" + containers,
      "p.yaml");
}

TEST(PodValidate, PortOutOfRangeNamesTheField) {
  auto m = parse_containers(
      "  - {name: a, image: busybox}\n  - name: b\n    image: busybox\n    ports:\n"
      "    - containerPort: 70000\n");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().what().find("spec.containers[1].ports[0].containerPort: must be 1-65535"),
            std::string::npos)
      << m.error().what();
}

TEST(PodValidate, DuplicateNamesAcrossInitAndMain) {
  auto m = parse_manifest(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers:\n"
      "  - {name: a, image: busybox}\n  containers:\n  - {name: a, image: busybox}\n",
      "p.yaml");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().what().find(
                "spec.containers[0].name: duplicate name \"a\" (also spec.initContainers[0])"),
            std::string::npos)
      << m.error().what();
}

TEST(PodValidate, MissingImageAndEverythingElseAtOnce) {
  auto m = parse_manifest(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec:\n  restartPolicy: Sometimes\n"
      "  containers:\n  - name: c\n",
      "p.yaml");
  ASSERT_FALSE(m.ok());
  std::string e = m.error().what();
  EXPECT_NE(e.find("spec.containers[0].image: required"), std::string::npos) << e;
  EXPECT_NE(e.find("metadata.name: \"Bad_Name\" must be a DNS-1123 subdomain"), std::string::npos);
  EXPECT_NE(e.find("spec.restartPolicy: unsupported value \"Sometimes\""), std::string::npos);
}

// The name checks (DNS-1123 labels and subdomains, env names, header tokens, the uid) at their
// edges: each bad one named, none of the good ones.
TEST(PodValidate, NameRulesAtTheirEdges) {
  std::string l63(63, 'a'), l64(64, 'a');
  Json pod = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", "web.a-1.b"}, {"uid", "Ab-09-z"}}},
      {"spec",
       {{"containers",
         Json::array(
             {{{"name", "a"},
               {"image", "busybox"},
               {"env", Json::array({{{"name", "_X.y-1"}, {"value", "1"}},
                                    {{"name", "1X"}, {"value", "1"}},
                                    {{"name", "A=B"}, {"value", "1"}}})},
               {"readinessProbe",
                {{"httpGet",
                  {{"port", 80},
                   {"path", "/"},
                   {"httpHeaders", Json::array({{{"name", "X-Ok!#$%&'*+.^_`|~"}, {"value", "v"}},
                                                {{"name", "X Bad"}, {"value", "v"}},
                                                {{"name", ""}, {"value", "v"}}})}}}}}},
              {{"name", "a-1"}, {"image", "busybox"}},
              {{"name", l63}, {"image", "busybox"}},
              {{"name", "-a"}, {"image", "busybox"}},
              {{"name", "a-"}, {"image", "busybox"}},
              {{"name", "A"}, {"image", "busybox"}},
              {{"name", l64}, {"image", "busybox"}}})}}}};
  auto m = parse_manifest(pod.dump(), "p.json");
  ASSERT_FALSE(m.ok());
  std::string e = m.error().what();
  for (int i : {3, 4, 5, 6})
    EXPECT_NE(e.find(cat("spec.containers[", i, "].name: ")), std::string::npos) << i << e;
  for (int i : {0, 1, 2})
    EXPECT_EQ(e.find(cat("spec.containers[", i, "].name: ")), std::string::npos) << i << e;
  EXPECT_EQ(e.find("\"_X.y-1\" is not a valid"), std::string::npos) << e;
  EXPECT_NE(e.find("\"1X\" is not a valid environment variable name"), std::string::npos) << e;
  EXPECT_NE(e.find("\"A=B\" is not a valid environment variable name"), std::string::npos) << e;
  EXPECT_EQ(e.find("httpHeaders[0]"), std::string::npos) << e;
  EXPECT_NE(e.find("httpHeaders[1].name: \"X Bad\" is not a valid HTTP header name"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("httpHeaders[2].name"), std::string::npos) << e;
  EXPECT_EQ(e.find("metadata."), std::string::npos) << e;

  pod["spec"]["containers"] = Json::array({{{"name", "a"}, {"image", "busybox"}}});
  EXPECT_TRUE(parse_manifest(pod.dump(), "p.json").ok());
  for (const std::string& bad : {std::string("a_b"), std::string(65, 'a')}) {
    pod["metadata"]["uid"] = bad;
    auto r = parse_manifest(pod.dump(), "p.json");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().what().find("metadata.uid: "), std::string::npos) << r.error().what();
  }
  pod["metadata"]["uid"] = std::string(64, 'a');
  pod["metadata"]["name"] = "web..a";
  auto r = parse_manifest(pod.dump(), "p.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what().find("metadata.uid"), std::string::npos) << r.error().what();
  EXPECT_NE(r.error().what().find("metadata.name: \"web..a\" must be a DNS-1123 subdomain"),
            std::string::npos)
      << r.error().what();
}

TEST(PodValidate, ConflictingHostPortsAndDuplicatePorts) {
  auto m = parse_containers(
      "  - name: a\n    image: busybox\n    ports:\n    - {containerPort: 80, hostPort: 8080}\n"
      "    - {containerPort: 80}\n  - name: b\n    image: busybox\n    ports:\n"
      "    - {containerPort: 81, hostPort: 8080}\n");
  ASSERT_FALSE(m.ok());
  std::string e = m.error().what();
  EXPECT_NE(e.find("spec.containers[0].ports[1].containerPort: duplicate 80/TCP"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("spec.containers[1].ports[0].hostPort: 8080/TCP is already used"),
            std::string::npos)
      << e;
}

TEST(PodValidate, MissingConfigMapKey) {
  auto m = parse_containers(
      "  - name: a\n    image: busybox\n    env:\n    - name: X\n      valueFrom:\n"
      "        configMapKeyRef: {name: nope, key: k}\n");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(
      m.error().what().find(
          "spec.containers[0].env[0].valueFrom.configMapKeyRef: ConfigMap \"nope\" not found"),
      std::string::npos)
      << m.error().what();
}

TEST(PodValidate, TypeErrorsNameThePath) {
  auto m = parse_containers(
      "  - name: a\n    image: busybox\n    ports:\n    - containerPort: \"80\"\n");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().what().find(
                "spec.containers[0].ports[0].containerPort: expected integer, got string"),
            std::string::npos)
      << m.error().what();
}

TEST(PodParse, InvalidYamlSaysWhere) {
  auto m = parse_manifest("apiVersion: v1\nkind: Pod\nmetadata: {name: x\n", "bad.yaml");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().what().find("bad.yaml: invalid YAML at line"), std::string::npos)
      << m.error().what();
}

TEST(PodParse, NoPodOrTwoPods) {
  EXPECT_FALSE(parse_manifest("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", "f").ok());
  std::string one =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n"
      "  - {name: c, image: busybox}\n";
  auto two = parse_manifest(one + "---\n" + one, "f");
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().what().find("more than one Pod"), std::string::npos);
}

TEST(PodParse, Quantities) {
  EXPECT_EQ(parse_quantity("64Mi"), 64 << 20);
  EXPECT_EQ(parse_quantity("1G"), 1000000000);
  EXPECT_EQ(parse_quantity("250m", 1000), 250);
  EXPECT_EQ(parse_quantity("2", 1000), 2000);
  EXPECT_EQ(parse_quantity("0.5", 1000), 500);
  EXPECT_EQ(parse_quantity("1e3"), 1000);
  EXPECT_EQ(parse_quantity("1.5Ki"), 1536);
  EXPECT_EQ(parse_quantity("0.1m", 1000), 1);  // rounded up
  EXPECT_FALSE(parse_quantity("lots"));
  EXPECT_FALSE(parse_quantity("12Qi"));
  EXPECT_FALSE(parse_quantity(""));
}

TEST(PodParse, Resources) {
  auto m = parse_containers(
      "  - name: a\n    image: busybox\n    resources:\n      limits: {cpu: 500m, memory: 64Mi}\n"
      "      requests: {cpu: '0.25', memory: 32Mi}\n");
  ASSERT_TRUE(m.ok()) << m.error().what();
  const Resources& r = m->pod.spec.containers[0].resources;
  EXPECT_EQ(r.cpu_limit, 500);
  EXPECT_EQ(r.cpu_request, 250);
  EXPECT_EQ(r.memory_limit, 64 << 20);
  EXPECT_EQ(r.memory_request, 32 << 20);
  auto bad = parse_containers(
      "  - name: a\n    image: busybox\n    resources: {limits: {memory: lots}}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().what().find("spec.containers[0].resources.limits.memory: invalid quantity"),
            std::string::npos)
      << bad.error().what();
}

TEST(PodValidate, Volumes) {
  auto ok = parse_manifest(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n"
      "  - {name: a, emptyDir: {medium: Memory, sizeLimit: 1Mi}}\n"
      "  - {name: b, hostPath: {path: /tmp, type: Directory}}\n  containers:\n"
      "  - name: c\n    image: busybox\n    volumeMounts: [{name: a, mountPath: /a}]\n",
      "p.yaml");
  ASSERT_TRUE(ok.ok()) << ok.error().what();
  ASSERT_EQ(ok->pod.spec.volumes.size(), 2u);
  EXPECT_EQ(ok->pod.spec.volumes[0].kind, "emptyDir");
  EXPECT_EQ(ok->pod.spec.volumes[0].size_limit, 1 << 20);
  EXPECT_EQ(ok->pod.spec.volumes[1].type, "Directory");
  EXPECT_EQ(ok->pod.spec.containers[0].volume_mounts[0].mount_path, "/a");

  auto bad = parse_manifest(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n"
      "  - {name: a, emptyDir: {}}\n  - {name: a, hostPath: {path: rel, type: Weird}}\n"
      "  - {name: c, configMap: {name: missing}}\n  containers:\n"
      "  - name: c\n    image: busybox\n    volumeMounts: [{name: z, mountPath: rel}]\n",
      "p.yaml");
  ASSERT_FALSE(bad.ok());
  std::string e = bad.error().what();
  for (const char* want :
       {"spec.volumes[1].name: duplicate name \"a\"",
        "spec.volumes[1].hostPath.path: must be an absolute path",
        "spec.volumes[1].hostPath.type: unsupported value \"Weird\"",
        "spec.volumes[2].configMap: ConfigMap \"missing\" not found in the file",
        "spec.containers[0].volumeMounts[0].name: not found: no volume \"z\"",
        "spec.containers[0].volumeMounts[0].mountPath: must be an absolute path"})
    EXPECT_NE(e.find(want), std::string::npos) << want << "\n" << e;
}

TEST(Yaml, ScalarsFollowTheCoreSchema) {
  auto docs = yaml_documents("a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: yes\ng: -3\n", "t");
  ASSERT_TRUE(docs.ok()) << docs.error().what();
  const Json& j = (*docs)[0];
  EXPECT_TRUE(j["a"].is_number_integer());
  EXPECT_TRUE(j["b"].is_string());
  EXPECT_TRUE(j["c"].is_boolean());
  EXPECT_TRUE(j["d"].is_null());
  EXPECT_TRUE(j["e"].is_number_float());
  EXPECT_EQ(j["f"], "yes");  // YAML 1.2: not a boolean
  EXPECT_EQ(j["g"], -3);
}

TEST(Yaml, RoundTripThroughToYaml) {
  Json j = {{"name", "x"}, {"port", 80}, {"quoted", "80"}, {"list", {1, "true"}}, {"empty", ""}};
  auto back = yaml_documents(to_yaml(j), "t");
  ASSERT_TRUE(back.ok()) << back.error().what();
  EXPECT_EQ((*back)[0], j);
}

}  // namespace
}  // namespace skiff::kubelet
