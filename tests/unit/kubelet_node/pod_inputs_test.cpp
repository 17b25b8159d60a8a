// The kubelet's pod inputs as pure logic: configMap/secret volumes projected (keys, items, modes,
// optional) and written atomically (..data swap, stale names gone, unchanged payload untouched),
// envFrom, imagePullSecrets turned into an auth file (bad input named), and admission arithmetic
// (pods, cpu, memory, host ports) with the kubelet's reasons; static pod manifests.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base64.hpp"
#include "common/fs.hpp"
#include "kubelet/engine/pull_secrets.hpp"
#include "kubelet/engine/volumes.hpp"
#include "kubelet/node/admission.hpp"
#include "kubelet/node/static_pods.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::kubelet {
namespace {

KeyValueObject object(const std::string& name, std::map<std::string, std::string> data,
                      const std::string& type = "") {
  KeyValueObject o;
  o.kind = "ConfigMap";
  o.name = name;
  o.type = type;
  o.data = std::move(data);
  return o;
}

Volume volume(const std::string& kind, const std::string& source) {
  Volume v;
  v.name = "v";
  v.kind = kind;
  v.source = source;
  return v;
}

TEST(ProjectKeys, EveryKeyWithDefaultModeOrItemsWithTheirModes) {
  auto cm = object("app", {{"a.conf", "A"}, {"b.conf", "B"}});
  Volume v = volume("configMap", "app");
  v.default_mode = 0400;
  auto all = project_keys(v, &cm);
  ASSERT_TRUE(all.ok()) << all.error().what();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0], (KeyFile{"a.conf", "A", 0400}));
  EXPECT_EQ((*all)[1], (KeyFile{"b.conf", "B", 0400}));

  v.items = {{"b.conf", "sub/dir/b", 0640}, {"a.conf", "a", std::nullopt}};
  auto some = project_keys(v, &cm);
  ASSERT_TRUE(some.ok()) << some.error().what();
  ASSERT_EQ(some->size(), 2u);
  EXPECT_EQ((*some)[0], (KeyFile{"sub/dir/b", "B", 0640}));
  EXPECT_EQ((*some)[1], (KeyFile{"a", "A", 0400}));
}

TEST(ProjectKeys, MissingObjectOrKeyNamedUnlessOptional) {
  Volume v = volume("configMap", "gone");
  auto missing = project_keys(v, nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().what(), "configmap \"gone\" not found");
  v.optional = true;
  auto empty = project_keys(v, nullptr);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());

  auto s = object("creds", {{"user", "u"}});
  Volume sv = volume("secret", "creds");
  sv.items = {{"password", "pw", std::nullopt}};
  auto nokey = project_keys(sv, &s);
  ASSERT_FALSE(nokey.ok());
  EXPECT_EQ(nokey.error().what(), "secret \"creds\" references non-existent key \"password\"");
  sv.optional = true;
  auto skipped = project_keys(sv, &s);
  ASSERT_TRUE(skipped.ok());
  EXPECT_TRUE(skipped->empty());

  for (std::string bad : {"../x", "/etc/x", "a/../../x", ""}) {
    Volume bv = volume("configMap", "app");
    bv.items = {{"user", bad, std::nullopt}};
    auto r = project_keys(bv, &s);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().what().find("item path \"" + bad + "\""), std::string::npos)
        << r.error().what();
  }
  Volume clash = volume("configMap", "app");
  clash.items = {{"user", "a", std::nullopt}, {"user", "a/b", std::nullopt}};
  EXPECT_FALSE(project_keys(clash, &s).ok());
}

std::string link_target(const std::string& path) {
  char buf[4096] = {};
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

TEST(WriteKeyFiles, AtomicLayoutSwapAndCleanup) {
  test::TempDir dir("skiff-keyfiles");
  std::string d = dir / "vol";
  auto first = write_key_files(d, {{"a", "1", 0644}, {"sub/b", "2", 0600}});
  ASSERT_TRUE(first.ok()) << first.error().what();
  EXPECT_TRUE(*first);
  std::string payload = link_target(d + "/..data");
  ASSERT_TRUE(payload.starts_with("..")) << payload;
  EXPECT_EQ(link_target(d + "/a"), "..data/a");
  EXPECT_EQ(link_target(d + "/sub"), "..data/sub");
  EXPECT_EQ(test::read_file(d + "/a"), "1");
  EXPECT_EQ(test::read_file(d + "/sub/b"), "2");
  struct stat st {};
  ASSERT_EQ(::stat((d + "/sub/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // The same payload: nothing written.
  auto same = write_key_files(d, {{"sub/b", "2", 0600}, {"a", "1", 0644}});
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(*same);
  EXPECT_EQ(link_target(d + "/..data"), payload);

  // A change: a new payload behind ..data, names gone are unlinked, the old payload removed.
  auto changed = write_key_files(d, {{"a", "one", 0644}, {"c", "3", 0644}});
  ASSERT_TRUE(changed.ok()) << changed.error().what();
  EXPECT_TRUE(*changed);
  EXPECT_NE(link_target(d + "/..data"), payload);
  EXPECT_EQ(test::read_file(d + "/a"), "one");
  EXPECT_EQ(test::read_file(d + "/c"), "3");
  EXPECT_FALSE(path_exists(d + "/sub"));
  EXPECT_FALSE(path_exists(d + "/" + payload));
  auto listing = test::sh("LC_ALL=C ls -A " + d);
  EXPECT_EQ(listing.out, link_target(d + "/..data") + "\n..data\na\nc\n") << listing.out;
}

TEST(PullSecrets, DockerConfigJsonAndDockercfgMerged) {
  Manifest m;
  m.pod.spec.image_pull_secrets = {"regcred", "legacy", "opaque", "absent"};
  std::string auth = base64_encode("alice:s3cret");
  m.secrets.push_back(
      object("regcred",
             {{".dockerconfigjson", R"({"auths":{"127.0.0.1:5000":{"auth":")" + auth + R"("}}})"}},
             kDockerConfigJsonType));
  m.secrets.push_back(
      object("legacy", {{".dockercfg", R"({"reg.example:443":{"username":"bob","password":"pw"},
                          "127.0.0.1:5000":{"username":"x","password":"y"}})"}},
             kDockerCfgType));
  m.secrets.push_back(object("opaque", {{"k", "v"}}, "Opaque"));
  auto r = pull_auth_config(m);
  ASSERT_TRUE(r.ok()) << r.error().what();
  Json want = {{"auths",
                {{"127.0.0.1:5000", {{"auth", auth}}},
                 {"reg.example:443", {{"username", "bob"}, {"password", "pw"}}}}}};
  EXPECT_EQ(*r, want);
}

TEST(PullSecrets, BadInputNamesTheSecretAndTheField) {
  auto attempt = [](const std::string& type, const std::string& key, const std::string& value) {
    Manifest m;
    m.pod.spec.image_pull_secrets = {"bad"};
    m.secrets.push_back(object("bad", {{key, value}}, type));
    auto r = pull_auth_config(m);
    return r.ok() ? std::string("ok") : r.error().what();
  };
  const std::string t = kDockerConfigJsonType;
  EXPECT_EQ(attempt(t, ".dockerconfigjson", "{nope"),
            "imagePullSecret \"bad\" (kubernetes.io/dockerconfigjson): .dockerconfigjson is not a "
            "JSON object");
  EXPECT_EQ(
      attempt(t, "other", "{}"),
      "imagePullSecret \"bad\" (kubernetes.io/dockerconfigjson): no key \".dockerconfigjson\"");
  EXPECT_EQ(attempt(t, ".dockerconfigjson", R"({"auths":[]})"),
            "imagePullSecret \"bad\" (kubernetes.io/dockerconfigjson): .dockerconfigjson: no "
            "\"auths\" object");
  EXPECT_NE(
      attempt(t, ".dockerconfigjson", R"({"auths":{"r":{"auth":"!!!"}}})")
          .find(
              "(kubernetes.io/dockerconfigjson): .dockerconfigjson.auths[\"r\"].auth: not base64"),
      std::string::npos);
  EXPECT_EQ(attempt(t, ".dockerconfigjson",
                    R"({"auths":{"r":{"auth":")" + base64_encode("nocolon") + R"("}}})"),
            "imagePullSecret \"bad\" (kubernetes.io/dockerconfigjson): "
            ".dockerconfigjson.auths[\"r\"].auth: want base64 of USERNAME:PASSWORD");
  EXPECT_EQ(attempt(kDockerCfgType, ".dockercfg", R"({"r":{"email":"x"}})"),
            "imagePullSecret \"bad\" (kubernetes.io/dockercfg): .dockercfg[\"r\"]: no \"auth\" "
            "and no \"username\"/\"password\"");
}

}  // namespace

namespace node {
namespace {

Json pod(const std::string& cpu, const std::string& mem, int host_port = 0) {
  Json c = {{"name", "c"}, {"image", "i"}};
  if (!cpu.empty()) c["resources"]["requests"]["cpu"] = cpu;
  if (!mem.empty()) c["resources"]["limits"]["memory"] = mem;  // a limit counts as the request
  if (host_port) c["ports"] = {{{"containerPort", 80}, {"hostPort", host_port}}};
  return {{"spec", {{"containers", {c}}}}};
}

TEST(Admission, RequestsSumMaxOfInitContainersAndSidecars) {
  Json p = pod("250m", "64Mi");
  p["spec"]["containers"].push_back({{"name", "d"}, {"resources", {{"requests", {{"cpu", "1"}}}}}});
  p["spec"]["initContainers"] = {
      {{"name", "big-init"}, {"resources", {{"requests", {{"cpu", "2"}, {"memory", "1Gi"}}}}}},
      {{"name", "sidecar"},
       {"restartPolicy", "Always"},
       {"resources", {{"requests", {{"cpu", "100m"}}}}}}};
  PodDemand d = PodDemand::of(p);
  EXPECT_EQ(d.cpu_milli, 2000);  // the init container alone outweighs 1350m
  EXPECT_EQ(d.memory, int64_t{1} << 30);
  p["spec"]["initContainers"][0]["resources"]["requests"]["cpu"] = "1";
  EXPECT_EQ(PodDemand::of(p).cpu_milli, 1350);  // 250m + 1 + the 100m sidecar
}

TEST(Admission, KubeletReasonsAndMessages) {
  Allocatable node = Allocatable::from_json({{"cpu", "1"}, {"memory", "1Gi"}, {"pods", "3"}});
  EXPECT_EQ(node.cpu_milli, 1000);
  EXPECT_EQ(node.memory, int64_t{1} << 30);
  EXPECT_EQ(node.pods, 3);
  std::vector<Json> running = {pod("500m", "512Mi", 8080)};

  EXPECT_TRUE(admit_pod(pod("500m", "512Mi"), running, node).admit);  // exactly full
  Admission cpu = admit_pod(pod("600m", ""), running, node);
  EXPECT_FALSE(cpu.admit);
  EXPECT_EQ(cpu.reason, "OutOfcpu");
  EXPECT_EQ(cpu.message,
            "Node didn't have enough resource: cpu, requested: 600, used: 500, capacity: 1000");
  Admission mem = admit_pod(pod("", "513Mi"), running, node);
  EXPECT_EQ(mem.reason, "OutOfmemory");
  EXPECT_EQ(mem.message,
            "Node didn't have enough resource: memory, requested: 537919488, used: "
            "536870912, capacity: 1073741824");
  Admission ports = admit_pod(pod("", "", 8080), running, node);
  EXPECT_EQ(ports.reason, "NodePorts");
  EXPECT_EQ(ports.message, "Predicate NodePorts failed");
  EXPECT_TRUE(admit_pod(pod("", "", 8081), running, node).admit);
  // A best-effort pod fits a full node; the pod count does not.
  running.push_back(pod("500m", "512Mi"));
  running.push_back(pod("", ""));
  Admission pods = admit_pod(pod("", ""), running, node);
  EXPECT_EQ(pods.reason, "OutOfpods");
  EXPECT_EQ(pods.message,
            "Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3");
}

TEST(StaticPods, NamedForTheNodeHashedAndMirrored) {
  Json manifest = {{"apiVersion", "v1"},
                   {"kind", "Pod"},
                   {"metadata", {{"name", "etcd"}}},
                   {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox:1.35"}}}}}}};
  auto sp = static_pod(manifest, "node1", "file");
  ASSERT_TRUE(sp.ok()) << sp.error().what();
  EXPECT_EQ((*sp)["metadata"]["name"], "etcd-node1");
  EXPECT_EQ((*sp)["metadata"]["namespace"], "default");
  EXPECT_EQ((*sp)["spec"]["nodeName"], "node1");
  std::string uid = (*sp)["metadata"]["uid"];
  EXPECT_EQ(uid.size(), 32u);
  EXPECT_EQ((*sp)["metadata"]["annotations"][kConfigHashAnnotation], uid);
  EXPECT_TRUE(is_static_pod(*sp));
  EXPECT_FALSE(is_mirror_pod(*sp));
  EXPECT_EQ((*static_pod(manifest, "node1", "file"))["metadata"]["uid"], uid) << "stable";
  EXPECT_NE((*static_pod(manifest, "node2", "file"))["metadata"]["uid"], uid);
  manifest["spec"]["containers"][0]["image"] = "busybox:1.36";
  EXPECT_NE((*static_pod(manifest, "node1", "file"))["metadata"]["uid"], uid) << "changed";

  Json m = mirror_pod(*sp, "node1", "NODE-UID");
  EXPECT_TRUE(is_mirror_pod(m));
  EXPECT_FALSE(is_static_pod(m));
  EXPECT_FALSE(m["metadata"].contains("uid"));
  EXPECT_EQ(m["metadata"]["annotations"][kConfigMirrorAnnotation], uid);
  EXPECT_EQ(m["metadata"]["ownerReferences"],
            Json::parse(R"([{"apiVersion":"v1","kind":"Node","name":"node1","uid":"NODE-UID",
                             "controller":true}])"));
}

TEST(StaticPods, ReadFromTheDirectoryBadFilesNamed) {
  test::TempDir dir("skiff-static");
  test::write_file(dir / "a.yaml",
                   "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: kube-system\n"
                   "spec:\n  containers:\n  - name: c\n    image: busybox:1.35\n");
  test::write_file(dir / "b.json",
                   R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"b"}})");
  test::write_file(dir / "c.yaml", "metadata: {name: c}\nspec: {}\n");
  test::write_file(dir / ".swap.yaml", "garbage: [");
  auto pods = read_static_pods(dir.path(), "n");
  ASSERT_EQ(pods.size(), 3u);
  ASSERT_TRUE(pods[0].pod.ok()) << pods[0].pod.error().what();
  EXPECT_EQ((*pods[0].pod)["metadata"]["name"], "a-n");
  EXPECT_EQ((*pods[0].pod)["metadata"]["namespace"], "kube-system");
  ASSERT_FALSE(pods[1].pod.ok());
  EXPECT_EQ(pods[1].pod.error().what(), "`" + dir / "b.json" + "`: kind: expected \"Pod\"");
  ASSERT_FALSE(pods[2].pod.ok());
  EXPECT_NE(pods[2].pod.error().what().find("c.yaml"), std::string::npos);
  EXPECT_TRUE(read_static_pods(dir / "missing", "n").empty());
}

// The reader the kubelet looks with every second: what read_static_pods gives, a rewritten file
// seen at once (a new uid), a new file picked up, a removed one gone.
TEST(StaticPods, ReaderSeesEveryChangeAsReadStaticPodsDoes) {
  test::TempDir dir("skiff-static");
  auto pod = [](const std::string& image) {
    return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n"
           "  - name: c\n    image: " +
           image + "\n";
  };
  auto uids = [](std::vector<StaticPodFile> files) {
    std::vector<std::string> out;
    for (auto& f : files)
      out.push_back(f.pod ? std::string((*f.pod)["metadata"]["uid"]) : f.pod.error().what());
    return out;
  };
  test::write_file(dir / "a.yaml", pod("busybox:1.35"));
  StaticPodReader reader;
  auto first = reader.read(dir.path(), "n");
  EXPECT_EQ(uids(first), uids(read_static_pods(dir.path(), "n")));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(uids(reader.read(dir.path(), "n")), uids(first)) << "unchanged: the same pod";
  EXPECT_NE(uids(reader.read(dir.path(), "m")), uids(first)) << "another node: parsed again";

  test::write_file(dir / "a.yaml", pod("busybox:1.36"));  // in place, the same size
  test::write_file(dir / "b.yaml", "kind: Service\n");
  auto second = reader.read(dir.path(), "n");
  EXPECT_EQ(uids(second), uids(read_static_pods(dir.path(), "n")));
  ASSERT_EQ(second.size(), 2u);
  EXPECT_NE(uids(second)[0], uids(first)[0]) << "the changed manifest is a new pod";
  EXPECT_FALSE(second[1].pod.ok());

  ASSERT_EQ(::unlink((dir / "a.yaml").c_str()), 0);
  auto third = reader.read(dir.path(), "n");
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].file, dir / "b.yaml");
}

}  // namespace
}  // namespace node
}  // namespace skiff::kubelet
