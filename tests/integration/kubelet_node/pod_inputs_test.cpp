// The kubelet's pod inputs against a real skiff-master and real pods (host network, so no CNI):
// configMap and secret volumes (items, modes, a secret on tmpfs, read-only) and env from them,
// updated in the running pod when the ConfigMap changes; a pod whose ConfigMap is missing waits
// with CreateContainerConfigError and starts once it is created; imagePullSecrets against a real
// docker-registry with htpasswd; admission refusing a pod that does not fit (OutOfcpu, NodePorts).

#include <sys/stat.h>

#include <algorithm>
#include <functional>

#include "api/meta.hpp"
#include "common/base64.hpp"
#include "kubelet/node/credentials.hpp"
#include "kubelet/node/join.hpp"
#include "oci/image/images.hpp"
#include "oci/image/import.hpp"
#include "tests/integration/kubelet_node/cluster_fixture.hpp"

namespace skiff::test {
namespace {

using namespace std::chrono_literals;

class PodInputsTest : public MasterFixture {
 protected:
  static void SetUpTestSuite() {
    if (!is_root()) return;
    shared_ = new TempDir("skiff-podinputs");
    std::string layout = *shared_ / "bb-oci";
    auto made = sh(cat(source_path("scripts/fixtures/make-busybox-bundle.sh"), ' ', *shared_ / "bb",
                       " --rootfs-only --oci-layout ", layout));
    if (made.exit_code != 0) setup_error_ = "make-busybox-bundle.sh: " + made.err;
  }
  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
  }

  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    if (!setup_error_.empty()) GTEST_SKIP() << "no busybox image: " << setup_error_;
    MasterFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    roots_ = dir_ / "roots";
    auto store = image::Store::open(roots_ + "/images");
    ASSERT_TRUE(store.ok()) << store.error().what();
    image::ImportOptions io;
    io.name = "busybox:1.35";
    auto imported = image::import_archive(*store, *shared_ / "bb-oci", io);
    ASSERT_TRUE(imported.ok()) << imported.error().what();
    kubelet::node::JoinOptions jo;
    Token t = create_token();
    jo.server = url_;
    jo.token = t.token;
    jo.ca_cert_hash = t.hash;
    jo.node_name = node_;
    jo.data_dir = dir_ / "node";
    jo.timeout = 20s;
    auto joined = kubelet::node::join(jo);
    ASSERT_TRUE(joined.ok()) << joined.error().what();
    std::vector<std::string> argv = {
        kubelet_bin_,          "run", "--data-dir",          dir_ / "node",     "--port", "0",
        "--config-refresh-ms", "500", "--pod-manifest-path", roots_ + "/static"};
    for (const auto& [flag, sub] :
         std::vector<std::pair<std::string, std::string>>{{"--state-root", "/state"},
                                                          {"--run-root", "/run"},
                                                          {"--log-root", "/log"},
                                                          {"--image-root", "/images"},
                                                          {"--snapshot-root", "/snapshots"}})
      argv.insert(argv.end(), {flag, roots_ + sub});
    argv.insert(argv.end(), {"--cni-conf-dir", roots_ + "/net.d"});
    kubelet_ = std::make_unique<Process>(argv, dir_ / "kubelet.log");
    ASSERT_TRUE(wait_for([&] { return admin_->get_json("/api/v1/nodes/" + node_).ok(); }, 10s))
        << kubelet_log();
  }

  void TearDown() override {
    if (!kubelet_) return;
    kubelet_->kill_now();
    // A skiff-pod the kubelet had started finishes on its own (it was started by this test).
    if (!wait_for([&] { return helpers().empty(); }, 20s)) {
      ADD_FAILURE() << "skiff-pod left running: " << helpers();
      (void)sh("kill -9 " + helpers());
    }
    // Whatever pods are left go, with their shims, mounts and cgroups.
    auto pods = pod_cmd({"ls", "-o", "json"});
    auto list = Json::parse(pods.out, nullptr, false);
    if (list.is_array())
      for (const auto& p : list)
        pod_cmd({"-n", p.value("namespace", "default"), "rm", "-f", p.value("name", "")});
    auto left = sh("grep -c " + roots_ + " /proc/self/mounts");
    EXPECT_EQ(trim(left.out), "0") << "mounts left under " << roots_;
    EXPECT_EQ(local_pods(), "") << "pods left";
  }

  std::string kubelet_log() const { return read_file(dir_ / "kubelet.log"); }
  // The kubelet's skiff-pod processes on this test's roots still running (pids).
  std::string helpers() const {
    return std::string(
        trim(sh("pgrep -f -- '^skiff-pod --state-root " + roots_ + "/' | tr '\\n' ' '").out));
  }

  static bool wait_for(const std::function<bool()>& ok, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (ok()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return ok();
  }

  CommandResult pod_cmd(std::vector<std::string> args) const {
    std::vector<std::string> argv = {binary("kubelet/skiff-pod"),
                                     "--state-root",
                                     roots_ + "/state",
                                     "--run-root",
                                     roots_ + "/run",
                                     "--log-root",
                                     roots_ + "/log",
                                     "--image-root",
                                     roots_ + "/images",
                                     "--snapshot-root",
                                     roots_ + "/snapshots"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }
  // The pods skiff-pod has under the roots, names sorted, space-separated.
  std::string local_pods() const {
    auto list = Json::parse(pod_cmd({"ls", "-o", "json"}).out, nullptr, false);
    std::vector<std::string> names;
    if (list.is_array())
      for (const auto& p : list) names.push_back(p.value("name", ""));
    std::sort(names.begin(), names.end());
    return join(names, " ");
  }
  // `sh -c script` in the pod's container "c".
  std::string exec(const std::string& pod, const std::string& script) const {
    auto r = pod_cmd({"exec", pod, "-c", "c", "--", "sh", "-c", script});
    return r.out + r.err;
  }

  void create(const std::string& resource, Json obj) {
    auto r = admin_->request("POST", "/api/v1/namespaces/default/" + resource, obj.dump());
    ASSERT_TRUE(r.ok()) << r.error().what();
    ASSERT_EQ(r->status, 201) << r->body;
  }
  Json pod_spec(const std::string& name, Json containers_extra = Json::object()) const {
    Json c = {{"name", "c"}, {"image", "busybox:1.35"}, {"command", {"sleep", "3600"}}};
    c.update(containers_extra);
    return {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", {{"name", name}}},
            {"spec",
             {{"nodeName", node_},
              {"hostNetwork", true},
              {"terminationGracePeriodSeconds", 0},
              {"containers", {c}}}}};
  }
  Json status(const std::string& name) const {
    auto p = admin_->get_json("/api/v1/namespaces/default/pods/" + name);
    return p.ok() ? (*p)["status"] : Json::object();
  }
  bool running(const std::string& name) const {
    return status(name).value("phase", "") == "Running" &&
           exec(name, "echo up").find("up") != std::string::npos;
  }

  static TempDir* shared_;
  static std::string setup_error_;
  std::string node_ = "podinputs-node";
  std::string roots_;
  std::unique_ptr<Process> kubelet_;
};

TempDir* PodInputsTest::shared_ = nullptr;
std::string PodInputsTest::setup_error_;

TEST_F(PodInputsTest, ConfigMapAndSecretVolumesAndEnv_ConfigMapChangeShowsUpInThePod) {
  create("configmaps", {{"metadata", {{"name", "app-config"}}},
                        {"data", {{"greeting", "hello"}, {"color", "blue"}}}});
  create("secrets", {{"metadata", {{"name", "app-secret"}}},
                     {"type", "Opaque"},
                     {"data", {{"password", base64_encode("s3cret")}}}});
  Json p = pod_spec(
      "cm-pod",
      {{"env",
        {{{"name", "GREETING"},
          {"valueFrom", {{"configMapKeyRef", {{"name", "app-config"}, {"key", "greeting"}}}}}}}},
       {"envFrom", {{{"prefix", "S_"}, {"secretRef", {{"name", "app-secret"}}}}}},
       {"volumeMounts",
        {{{"name", "conf"}, {"mountPath", "/etc/app"}},
         {{"name", "creds"}, {"mountPath", "/etc/creds"}}}}});
  p["spec"]["volumes"] = Json::parse(R"([
      {"name": "conf", "configMap": {"name": "app-config",
        "items": [{"key": "greeting", "path": "sub/greeting", "mode": 384}]}},
      {"name": "creds", "secret": {"secretName": "app-secret", "defaultMode": 256}}])");
  create("pods", p);
  ASSERT_TRUE(wait_for([&] { return running("cm-pod"); }, 20s)) << status("cm-pod").dump() << "\n"
                                                                << kubelet_log();

  EXPECT_EQ(exec("cm-pod", "cat /etc/app/sub/greeting"), "hello");
  EXPECT_EQ(exec("cm-pod", "ls /etc/app"), "sub\n") << "only the item, not every key";
  EXPECT_EQ(exec("cm-pod", "stat -L -c %a /etc/app/sub/greeting /etc/creds/password"),
            "600\n400\n");
  EXPECT_EQ(exec("cm-pod", "cat /etc/creds/password"), "s3cret");
  EXPECT_EQ(exec("cm-pod", "echo $GREETING $S_password"), "hello s3cret\n");
  EXPECT_NE(exec("cm-pod", "touch /etc/app/x 2>&1").find("Read-only file system"),
            std::string::npos);
  auto uid =
      api::str_at(*admin_->get_json("/api/v1/namespaces/default/pods/cm-pod"), {"metadata", "uid"});
  std::string secret_dir = roots_ + "/state/" + uid + "/volumes/creds";
  EXPECT_EQ(trim(sh("findmnt -n -o FSTYPE " + secret_dir).out), "tmpfs")
      << "a secret volume never reaches the disk";

  // The ConfigMap changes: the running pod's file follows (..data swapped), env does not.
  auto t0 = std::chrono::steady_clock::now();
  auto r = admin_->request("PATCH", "/api/v1/namespaces/default/configmaps/app-config",
                           R"({"data":{"greeting":"bonjour"}})", "application/merge-patch+json");
  ASSERT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.error().what());
  EXPECT_TRUE(
      wait_for([&] { return exec("cm-pod", "cat /etc/app/sub/greeting") == "bonjour"; }, 5s))
      << kubelet_log();
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::cout << "ConfigMap change visible in the pod after " << ms.count() << " ms\n";
  EXPECT_EQ(exec("cm-pod", "echo $GREETING"), "hello\n");
  EXPECT_EQ(exec("cm-pod", "stat -L -c %a /etc/app/sub/greeting"), "600\n");
}

TEST_F(PodInputsTest, MissingConfigMapWaitsWithCreateContainerConfigErrorThenStarts) {
  Json p = pod_spec("late-pod", {{"envFrom", {{{"configMapRef", {{"name", "late"}}}}}}});
  create("pods", p);
  auto waiting = [&] {
    Json s = status("late-pod");
    if (s.value("reason", "") != "CreateContainerConfigError") return false;
    for (const auto& c : s.value("containerStatuses", Json::array()))
      return api::str_at(c, {"state", "waiting", "message"}) == "configmap \"late\" not found";
    return false;
  };
  ASSERT_TRUE(wait_for(waiting, 10s)) << status("late-pod").dump() << "\n" << kubelet_log();
  EXPECT_EQ(status("late-pod").value("phase", ""), "Pending");
  EXPECT_EQ(local_pods(), "") << "nothing runs meanwhile";

  auto t0 = std::chrono::steady_clock::now();
  create("configmaps", {{"metadata", {{"name", "late"}}}, {"data", {{"ANSWER", "42"}}}});
  ASSERT_TRUE(wait_for([&] { return running("late-pod"); }, 15s))
      << status("late-pod").dump() << "\n"
      << kubelet_log();
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::cout << "started " << ms.count() << " ms after its ConfigMap appeared\n";
  EXPECT_EQ(exec("late-pod", "echo $ANSWER"), "42\n");
  EXPECT_TRUE(status("late-pod")["reason"].is_null()) << status("late-pod").dump();
}

TEST_F(PodInputsTest, AdmissionRefusesWhatDoesNotFit_OutOfcpuAndNodePorts) {
  Json big = pod_spec("too-big", {{"resources", {{"requests", {{"cpu", "1000"}}}}}});
  create("pods", big);
  int port = free_port();
  Json web = pod_spec("web", {{"ports", {{{"containerPort", port}, {"hostPort", port}}}}});
  create("pods", web);
  ASSERT_TRUE(wait_for([&] { return status("too-big").value("phase", "") == "Failed"; }, 10s))
      << status("too-big").dump() << "\n"
      << kubelet_log();
  Json s = status("too-big");
  EXPECT_EQ(s.value("reason", ""), "OutOfcpu");
  EXPECT_TRUE(
      s.value("message", "")
          .starts_with(
              "Node didn't have enough resource: cpu, requested: 1000000, used: 0, capacity: "))
      << s.dump();
  ASSERT_TRUE(wait_for([&] { return running("web"); }, 20s)) << status("web").dump();
  Json clash = pod_spec("web2", {{"ports", {{{"containerPort", port}, {"hostPort", port}}}}});
  create("pods", clash);
  ASSERT_TRUE(wait_for([&] { return status("web2").value("phase", "") == "Failed"; }, 10s))
      << status("web2").dump();
  EXPECT_EQ(status("web2").value("reason", ""), "NodePorts");
  EXPECT_EQ(status("web2").value("message", ""), "Predicate NodePorts failed");
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(local_pods(), "web") << "the refused pods never ran";
  EXPECT_EQ(status("too-big").value("phase", ""), "Failed") << "and stay Failed";
}

// Static pods: a manifest in --pod-manifest-path runs without the API and gets a mirror pod
// (config.mirror, owned by the Node) showing its status; a changed manifest restarts it (new
// uid, new mirror); a removed one stops it and deletes the mirror. The node may create nothing
// but mirror pods of its own.
TEST_F(PodInputsTest, StaticPodRunsWithAMirrorPod_ChangedRestarts_RemovedStopsAndDeletesIt) {
  std::string dir = roots_ + "/static";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  Json manifest = pod_spec("static-web");
  manifest["spec"].erase("nodeName");
  write_file(dir + "/web.yaml", manifest.dump());
  write_file(dir + "/.hidden.yaml", "not: a pod");  // dot files are skipped, as the kubelet
  std::string name = "static-web-" + node_;
  auto mirror = [&]() -> Json {
    auto p = admin_->get_json("/api/v1/namespaces/default/pods/" + name);
    return p.ok() ? *p : Json();
  };
  auto local_uid = [&]() -> std::string {
    auto list = Json::parse(pod_cmd({"ls", "-o", "json"}).out, nullptr, false);
    if (list.is_array())
      for (const auto& p : list)
        if (p.value("name", "") == name) return p.value("uid", "");
    return "";
  };
  ASSERT_TRUE(wait_for([&] { return mirror().is_object() && running(name); }, 20s))
      << mirror().dump() << "\n"
      << kubelet_log();
  ASSERT_TRUE(wait_for([&] { return mirror()["status"].value("phase", "") == "Running"; }, 10s))
      << mirror().dump();
  Json m = mirror();
  std::string hash = api::str_at(m, {"metadata", "annotations", "kubernetes.io/config.mirror"});
  EXPECT_EQ(hash.size(), 32u) << m.dump();
  EXPECT_EQ(local_uid(), hash) << "the static pod runs under the manifest's hash";
  EXPECT_NE(api::str_at(m, {"metadata", "uid"}), hash);
  EXPECT_EQ(m["metadata"]["ownerReferences"][0]["kind"], "Node");
  EXPECT_EQ(m["metadata"]["ownerReferences"][0]["name"], node_);
  EXPECT_EQ(api::str_at(m, {"spec", "nodeName"}), node_);

  // The node's own credentials create nothing but mirror pods.
  auto kc = kubelet::node::load_kubeconfig(dir_ / "node/credentials/kubeconfig");
  ASSERT_TRUE(kc.ok()) << kc.error().what();
  kubelet::node::ClientConfig cc;
  cc.server = kc->server;
  cc.ca_pem = kc->ca_pem;
  cc.cert_pem = kc->cert_pem;
  cc.key_pem = kc->key_pem;
  auto as_node = kubelet::node::ApiClient::create(cc);
  ASSERT_TRUE(as_node.ok());
  Json plain = pod_spec("sneaky");
  auto refused = (*as_node)->request("POST", "/api/v1/namespaces/default/pods", plain.dump());
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 403) << refused->body;
  EXPECT_NE(refused->body.find("can only create mirror pods"), std::string::npos) << refused->body;
  plain["metadata"]["annotations"]["kubernetes.io/config.mirror"] = "x";
  plain["spec"]["nodeName"] = "some-other-node";
  refused = (*as_node)->request("POST", "/api/v1/namespaces/default/pods", plain.dump());
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 403) << refused->body;

  // Changed: a new pod (new uid) and a new mirror.
  manifest["spec"]["containers"][0]["env"] = {{{"name", "V"}, {"value", "2"}}};
  write_file(dir + "/web.yaml", manifest.dump());
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_for(
      [&] {
        std::string u = local_uid();
        return !u.empty() && u != hash && running(name) && exec(name, "echo $V") == "2\n";
      },
      20s))
      << kubelet_log();
  ASSERT_TRUE(wait_for(
      [&] {
        Json now = mirror();
        return now.is_object() && api::str_at(now, {"metadata", "annotations",
                                                    "kubernetes.io/config.mirror"}) == local_uid();
      },
      10s))
      << mirror().dump();
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::cout << "changed static manifest: new pod and mirror after " << ms.count() << " ms\n";
  // One pod worker per name: the old pod (by its uid) was removed before the new one started,
  // and no skiff-pod of the kubelet failed or lingered (two `rm -f` of one pod: the second
  // waited 30 s for a checkpoint the first had removed, and the new pod's start with it).
  std::string log = kubelet_log();
  auto removed_old = log.find(cat("(uid ", hash, ") has no source any more: removing it"));
  ASSERT_NE(removed_old, std::string::npos) << log;
  EXPECT_NE(log.find("pod default/" + name + " started", removed_old), std::string::npos) << log;
  EXPECT_EQ(log.find("warning"), std::string::npos) << log;

  // Removed: the pod stops, the mirror goes.
  ASSERT_EQ(::unlink((dir + "/web.yaml").c_str()), 0);
  EXPECT_TRUE(wait_for([&] { return local_uid().empty(); }, 20s)) << kubelet_log();
  EXPECT_TRUE(wait_for([&] { return !mirror().is_object(); }, 10s)) << mirror().dump();
  EXPECT_TRUE(wait_for([&] { return helpers().empty(); }, 20s))
      << "the kubelet's skiff-pod rm is done: " << helpers() << "\n"
      << sh("ps -o pid,etimes,args -p \"$(echo " + helpers() + " | tr ' ' ,)\"").out << "\n"
      << kubelet_log();
}

// imagePullSecrets against a real docker-registry with htpasswd (plain HTTP on loopback, which
// the kubelet pulls from without TLS as Docker does): without the secret the pull gets the
// registry's 401 (ErrImagePull, then ImagePullBackOff); with it, or with it on the pod's
// ServiceAccount, the pod runs.
TEST_F(PodInputsTest, ImagePullSecretsAgainstARegistryWithHtpasswd) {
  for (const char* tool : {"/usr/bin/docker-registry", "/usr/bin/htpasswd", "/usr/bin/skopeo"})
    if (::access(tool, X_OK) != 0)
      GTEST_SKIP() << tool << " is not installed (docker-registry, apache2-utils, skopeo)";
  std::string reg = dir_ / "registry";
  ASSERT_EQ(
      sh("mkdir -p " + reg + " && htpasswd -Bbn alice s3cret > " + reg + "/htpasswd").exit_code, 0);
  int port = free_port();
  std::string host = cat("127.0.0.1:", port);
  write_file(reg + "/config.yml",
             cat("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ",
                 reg, "/data\nhttp:\n  addr: ", host, "\nauth:\n  htpasswd:\n    realm: skiff\n",
                 "    path: ", reg, "/htpasswd\n"));
  Process registry({"/usr/bin/docker-registry", "serve", reg + "/config.yml"}, reg + "/log");
  auto listening = [&] {
    return run({"bash", "-c", cat("exec 3<>/dev/tcp/127.0.0.1/", port)}).exit_code == 0;
  };
  ASSERT_TRUE(wait_for(listening, 10s)) << read_file(reg + "/log");
  auto copied =
      run({"/usr/bin/skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", "alice:s3cret",
           "oci:" + (*shared_ / "bb-oci"), "docker://" + host + "/team/app:1.0"});
  ASSERT_EQ(copied.exit_code, 0) << copied.err;
  std::string image = host + "/team/app:1.0";

  create("pods", pod_spec("no-creds", {{"image", image}}));
  auto waiting = [&](const std::string& pod) {
    for (const auto& c : status(pod).value("containerStatuses", Json::array()))
      return api::str_at(c, {"state", "waiting", "reason"}) + ": " +
             api::str_at(c, {"state", "waiting", "message"});
    return std::string();
  };
  auto refused = [&] {
    std::string w = waiting("no-creds");
    return (w.starts_with("ErrImagePull") || w.starts_with("ImagePullBackOff")) &&
           w.find("401") != std::string::npos;
  };
  ASSERT_TRUE(wait_for(refused, 20s)) << waiting("no-creds") << "\n" << kubelet_log();
  std::cout << "without the secret: " << waiting("no-creds") << "\n";

  Json config = {{"auths", {{host, {{"auth", base64_encode("alice:s3cret")}}}}}};
  create("secrets", {{"metadata", {{"name", "regcred"}}},
                     {"type", "kubernetes.io/dockerconfigjson"},
                     {"data", {{".dockerconfigjson", base64_encode(config.dump())}}}});
  Json with = pod_spec("with-creds", {{"image", image}});
  with["spec"]["imagePullSecrets"] = {{{"name", "regcred"}}};
  create("pods", with);
  ASSERT_TRUE(wait_for([&] { return running("with-creds"); }, 30s))
      << status("with-creds").dump() << "\n"
      << kubelet_log();
  EXPECT_TRUE(refused()) << "the pod without the secret is still refused";

  // The secret on a ServiceAccount instead: a pod running as it, with no imagePullSecrets of
  // its own, gets the account's at create (the master's ServiceAccount admission) and pulls.
  create("serviceaccounts",
         {{"metadata", {{"name", "puller"}}}, {"imagePullSecrets", {{{"name", "regcred"}}}}});
  Json as_sa = pod_spec("sa-creds", {{"image", image}});
  as_sa["spec"]["serviceAccountName"] = "puller";
  create("pods", as_sa);
  ASSERT_TRUE(wait_for([&] { return running("sa-creds"); }, 30s))
      << status("sa-creds").dump() << "\n"
      << kubelet_log();
}

}  // namespace
}  // namespace skiff::test
