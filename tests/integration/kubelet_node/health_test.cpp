// The kubelet's node health against a real master, kubelet and pods (busybox fixture image, a
// private bridge on 10.228.0.0/24): /stats/summary and /metrics/resource report a pod that burns
// CPU and one that holds 32 MiB (a /dev/shm file); a node whose state root is a small tmpfs crosses
// its nodefs.available threshold when a pod fills an emptyDir: DiskPressure and its taint, the pod
// that used the most evicted (Failed, reason Evicted, the kubelet's message), the others kept,
// and the condition cleared after the transition period (with evictionSoft: only after its grace
// period, the pod stopped with SIGTERM); an image store on a small tmpfs over
// imageGCHighThresholdPercent loses its least recently used unused images until it is below
// imageGCLowThresholdPercent, never the one a pod uses nor one younger than imageMinimumGCAge.

#include <sys/mount.h>
#include <sys/statvfs.h>

#include "api/meta.hpp"
#include "kubelet/node/join.hpp"
#include "tests/integration/kubelet_node/cluster_fixture.hpp"
#include "tests/support/pod_env.hpp"

namespace skiff::test {
namespace {

constexpr char kBridge[] = "skhealth0";
constexpr char kSubnet[] = "10.228.0.0/24";

class HealthTest : public MasterFixture {
 protected:
  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    MasterFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (sh("command -v busybox >/dev/null").exit_code != 0) GTEST_SKIP() << "busybox missing";
    if (!images_tmpfs_.empty()) {
      ASSERT_TRUE(mkdir_p(roots_.images).ok());
      ASSERT_EQ(
          ::mount("tmpfs", roots_.images.c_str(), "tmpfs", 0, ("size=" + images_tmpfs_).c_str()),
          0);
      images_mounted_ = true;
    }
    std::string failed = import_busybox(dir_.path(), roots_.images);
    ASSERT_EQ(failed, "");
    write_bridge_conflist(roots_.cni_conf, "health", kBridge, kSubnet, dir_ / "ipam", true);
  }

  void TearDown() override {
    kubelet_.reset();
    if (!is_root()) return;
    remove_all_pods([&](const std::vector<std::string>& args) { return skiff_pod(args); });
    if (tmpfs_) (void)::umount2(roots_.state.c_str(), MNT_DETACH);
    if (images_mounted_) (void)::umount2(roots_.images.c_str(), MNT_DETACH);
    (void)sh(cat("ip link del ", kBridge, " 2>/dev/null"));
  }

  CommandResult skiff_pod(const std::vector<std::string>& args) {
    return run(roots_.skiff_pod(args));
  }

  // Joins as `node` and runs the kubelet with `config` (a KubeletConfiguration).
  void start_kubelet(const std::string& node, const Json& config) {
    Token t = create_token();
    kubelet::node::JoinOptions jo;
    jo.server = url_;
    jo.token = t.token;
    jo.ca_cert_hash = t.hash;
    jo.node_name = node;
    jo.data_dir = dir_ / "kubelet";
    jo.timeout = std::chrono::seconds(20);
    auto joined = kubelet::node::join(jo);
    ASSERT_TRUE(joined.ok()) << joined.error().what();
    write_file(dir_ / "kubelet.yaml", config.dump());
    kubelet_port_ = free_port();
    node_ = node;
    std::vector<std::string> argv = {kubelet_bin_,
                                     "run",
                                     "--data-dir",
                                     dir_ / "kubelet",
                                     "--config",
                                     dir_ / "kubelet.yaml",
                                     "--cni-data-dir",
                                     dir_ / "cni-data",
                                     "--status-period-ms",
                                     "300",
                                     "--port",
                                     std::to_string(kubelet_port_)};
    for (const auto& a : roots_.flags()) argv.push_back(a);
    kubelet_ = std::make_unique<Process>(argv, dir_ / "kubelet.log");
    kubelet::node::ClientConfig kcc;
    kcc.server = "https://127.0.0.1:" + std::to_string(kubelet_port_);
    kcc.insecure = true;  // its serving certificate is self-signed
    kcc.cert_pem = read_file(data_ + "/pki/admin.crt");
    kcc.key_pem = read_file(data_ + "/pki/admin.key");
    auto kapi = kubelet::node::ApiClient::create(kcc);
    ASSERT_TRUE(kapi.ok());
    kapi_ = std::move(*kapi);
    ASSERT_TRUE(wait([&] { return admin_->get_json("/api/v1/nodes/" + node).ok(); }, 10))
        << read_file(dir_ / "kubelet.log");
  }

  void create_pod(const std::string& name, const Json& container, const Json& extra_spec = {}) {
    Json pod = {{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata", {{"name", name}, {"namespace", "default"}}},
                {"spec",
                 {{"nodeName", node_},
                  {"terminationGracePeriodSeconds", 1},
                  {"containers", Json::array({container})}}}};
    if (extra_spec.is_object())
      for (const auto& [k, v] : extra_spec.items()) pod["spec"][k] = v;
    auto r = admin_->request("POST", "/api/v1/namespaces/default/pods", pod.dump());
    ASSERT_TRUE(r.ok()) << r.error().what();
    ASSERT_EQ(r->status, 201) << r->body;
  }
  Json pod(const std::string& name) {
    auto p = admin_->get_json("/api/v1/namespaces/default/pods/" + name);
    return p.ok() ? *p : Json();
  }
  std::string phase(const std::string& name) { return api::str_at(pod(name), {"status", "phase"}); }
  std::string condition(const std::string& type) {
    auto n = admin_->get_json("/api/v1/nodes/" + node_);
    if (!n.ok()) return "";
    for (const auto& c : (*n)["status"]["conditions"])
      if (c["type"] == type) return c["status"];
    return "";
  }
  bool tainted(const std::string& key) {
    auto n = admin_->get_json("/api/v1/nodes/" + node_);
    if (!n.ok()) return false;
    for (const auto& t : (*n)["spec"].value("taints", Json::array()))
      if (t.value("key", "") == key) return true;
    return false;
  }
  template <class F>
  bool wait(F f, int seconds) {
    for (int i = 0; i < seconds * 10; i++) {
      if (f()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return f();
  }
  std::string kget(const std::string& path) {
    auto r = kapi_->request("GET", path);
    return r.ok() && r->status == 200 ? r->body : "";
  }

  static Json busybox(const std::string& name, const std::string& script) {
    return {{"name", name},
            {"image", "busybox:1.35"},
            {"imagePullPolicy", "IfNotPresent"},
            {"command", Json::array({"sh", "-c", script})}};
  }

  PodRoots roots_ = PodRoots::under(dir_.path());
  bool tmpfs_ = false;        // the state root is a tmpfs the test mounted
  std::string images_tmpfs_;  // a size: the image root is a tmpfs that big
  bool images_mounted_ = false;
  std::string node_;
  int kubelet_port_ = 0;
  std::unique_ptr<Process> kubelet_;
  std::unique_ptr<kubelet::node::ApiClient> kapi_;
};

TEST_F(HealthTest, SummaryAndResourceMetricsMatchABurnerAndAHog) {
  start_kubelet("health-stats",
                {{"evictionHard", {{"memory.available", "1Mi"}}}, {"housekeepingInterval", "1s"}});
  create_pod("burner", busybox("spin", "while :; do :; done"));
  // 32 MiB in a file on the container's own /dev/shm tmpfs, then idle: shmem is charged to the
  // writer's memory cgroup and sits on the anon LRU, so it stays in the working set for as long
  // as the file does. (Not a shell variable: busybox sh execs the last command of `sh -c` in
  // place of itself, so an x=$(...) in its heap was gone as soon as sleep started, and the test
  // saw the 32 MiB only when a scrape fell within the second the $(...) took.)
  create_pod("hog", busybox("hold",
                            "head -c 33554432 /dev/zero > /dev/shm/hog && echo held; "
                            "sleep 3600"));
  ASSERT_TRUE(wait([&] { return phase("burner") == "Running" && phase("hog") == "Running"; }, 60))
      << pod("burner").dump() << pod("hog").dump() << read_file(dir_ / "kubelet.log");

  // The hog holds its memory once it has said so; the burner's rate needs two samples.
  Json burner, hog, summary;
  bool settled = wait(
      [&] {
        summary = Json::parse(kget("/stats/summary"), nullptr, false);
        if (!summary.is_object()) return false;
        burner = hog = Json();
        for (const auto& p : summary["pods"]) {
          if (p["podRef"]["name"] == "burner") burner = p;
          if (p["podRef"]["name"] == "hog") hog = p;
        }
        return burner.is_object() && hog.is_object() && burner["cpu"].contains("usageNanoCores") &&
               hog["memory"].value("workingSetBytes", 0) >= (32 << 20);
      },
      90);
  ASSERT_TRUE(settled) << summary.dump(1) << skiff_pod({"logs", "hog"}).out
                       << read_file(dir_ / "kubelet.log");
  // A busy loop on a 2-core host shared with the rest of the suite: well over a tenth of a core.
  EXPECT_GT(burner["cpu"]["usageNanoCores"].get<uint64_t>(), 100'000'000u) << burner.dump(1);
  EXPECT_GT(burner["cpu"]["usageCoreNanoSeconds"].get<uint64_t>(), 0u);
  ASSERT_EQ(burner["containers"].size(), 1u) << "the pause is not a container";
  EXPECT_EQ(burner["containers"][0]["name"], "spin");
  EXPECT_GT(burner["containers"][0]["cpu"]["usageCoreNanoSeconds"].get<uint64_t>(), 0u);
  EXPECT_EQ(hog["containers"][0]["name"], "hold");
  EXPECT_GE(hog["containers"][0]["memory"]["workingSetBytes"].get<uint64_t>(), 32u << 20)
      << "the file is charged to the container that wrote it: " << hog.dump(1);
  EXPECT_LT(hog["memory"]["workingSetBytes"].get<uint64_t>(), 200u << 20) << hog.dump(1);
  EXPECT_LT(burner["memory"]["workingSetBytes"].get<uint64_t>(), 16u << 20) << burner.dump(1);
  // The pod netns' interface (the pause's /proc/PID/net/dev), not the host's.
  EXPECT_EQ(hog["network"]["name"], "eth0") << hog.dump(1);
  EXPECT_FALSE(api::str_at(hog, {"startTime"}).empty());
  const Json& node = summary["node"];
  EXPECT_EQ(node["nodeName"], "health-stats");
  EXPECT_GT(node["memory"]["availableBytes"].get<uint64_t>(), 0u);
  EXPECT_GT(node["fs"]["capacityBytes"].get<uint64_t>(), 0u);
  EXPECT_GT(node["runtime"]["imageFs"]["capacityBytes"].get<uint64_t>(), 0u);
  EXPECT_GT(node["rlimit"]["curproc"].get<uint64_t>(), 0u);

  std::string resource = kget("/metrics/resource");
  EXPECT_NE(resource.find("container_memory_working_set_bytes{container=\"hold\","
                          "namespace=\"default\",pod=\"hog\"} "),
            std::string::npos)
      << resource;
  EXPECT_NE(resource.find("container_cpu_usage_seconds_total{container=\"spin\","
                          "namespace=\"default\",pod=\"burner\"} "),
            std::string::npos);
  EXPECT_NE(resource.find("\nnode_memory_working_set_bytes "), std::string::npos);
  std::string metrics = kget("/metrics");
  EXPECT_NE(metrics.find("kubelet_node_name{node=\"health-stats\"} 1\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("kubelet_running_pods 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("kubelet_running_containers{container_state=\"running\"} 2\n"),
            std::string::npos);
  EXPECT_NE(metrics.find("\nprocess_resident_memory_bytes "), std::string::npos);
  EXPECT_EQ(condition("MemoryPressure"), "False");
}

TEST_F(HealthTest, DiskPressureEvictsThePodUsingTheMost) {
  // The node's state root (pods' emptyDirs, nodefs) is a 24 MiB tmpfs with a 50% threshold.
  ASSERT_TRUE(mkdir_p(roots_.state).ok());
  ASSERT_EQ(::mount("tmpfs", roots_.state.c_str(), "tmpfs", 0, "size=24m,mode=0700"), 0);
  tmpfs_ = true;
  start_kubelet("health-evict", {{"evictionHard", {{"nodefs.available", "50%"}}},
                                 {"evictionPressureTransitionPeriod", "3s"},
                                 {"housekeepingInterval", "1s"}});
  Json scratch = {{"volumes", Json::array({{{"name", "scratch"}, {"emptyDir", Json::object()}}})}};
  Json writer = busybox("fill", "sleep 2; head -c 14680064 /dev/zero > /scratch/f; sleep 3600");
  writer["volumeMounts"] = Json::array({{{"name", "scratch"}, {"mountPath", "/scratch"}}});
  Json guaranteed = busybox("g", "sleep 3600");
  guaranteed["resources"] = {{"limits", {{"cpu", "100m"}, {"memory", "32Mi"}}}};
  Json burstable = busybox("b", "sleep 3600");
  burstable["resources"] = {{"requests", {{"memory", "16Mi"}}}};
  create_pod("guaranteed", guaranteed);
  create_pod("burstable", burstable);
  create_pod("writer", writer, scratch);

  ASSERT_TRUE(wait([&] { return condition("DiskPressure") == "True"; }, 60))
      << pod("writer").dump() << read_file(dir_ / "kubelet.log");
  EXPECT_TRUE(wait([&] { return tainted("node.kubernetes.io/disk-pressure"); }, 5));
  ASSERT_TRUE(wait([&] { return phase("writer") == "Failed"; }, 20))
      << pod("writer").dump() << read_file(dir_ / "kubelet.log");
  Json w = pod("writer");
  EXPECT_EQ(api::str_at(w, {"status", "reason"}), "Evicted");
  EXPECT_TRUE(api::str_at(w, {"status", "message"})
                  .starts_with("The node was low on resource: ephemeral-storage. Threshold "
                               "quantity: 12Mi, available: "))
      << w.dump();
  // Its space came back (the emptyDir went with its local state); nobody else was evicted.
  EXPECT_TRUE(wait([&] { return condition("DiskPressure") == "False"; }, 15))
      << read_file(dir_ / "kubelet.log");
  EXPECT_TRUE(wait([&] { return !tainted("node.kubernetes.io/disk-pressure"); }, 5));
  EXPECT_EQ(phase("guaranteed"), "Running");
  EXPECT_EQ(phase("burstable"), "Running");
  EXPECT_EQ(phase("writer"), "Failed") << "an evicted pod is not started again";
  EXPECT_NE(kget("/metrics").find("kubelet_evictions{eviction_signal=\"nodefs.available\"} 1\n"),
            std::string::npos)
      << kget("/metrics");
}

// evictionSoft on the same disk: DiskPressure as soon as the threshold is crossed, the eviction
// only after its grace period, and the pod stopped with SIGTERM within its own grace period
// (capped at evictionMaxPodGracePeriod): the writer traps TERM and exits 0, where a hard
// eviction's kill would leave 137.
TEST_F(HealthTest, SoftDiskThresholdEvictsAfterItsGracePeriodWithSigterm) {
  ASSERT_TRUE(mkdir_p(roots_.state).ok());
  ASSERT_EQ(::mount("tmpfs", roots_.state.c_str(), "tmpfs", 0, "size=24m,mode=0700"), 0);
  tmpfs_ = true;
  start_kubelet("health-soft", {{"evictionHard", {{"memory.available", "1Mi"}}},
                                {"evictionSoft", {{"nodefs.available", "50%"}}},
                                {"evictionSoftGracePeriod", {{"nodefs.available", "4s"}}},
                                {"evictionMaxPodGracePeriod", 10},
                                {"evictionPressureTransitionPeriod", "3s"},
                                {"housekeepingInterval", "1s"}});
  Json scratch = {{"volumes", Json::array({{{"name", "scratch"}, {"emptyDir", Json::object()}}})},
                  {"terminationGracePeriodSeconds", 30}};
  Json writer = busybox("fill",
                        "trap 'exit 0' TERM; sleep 2; head -c 14680064 /dev/zero > /scratch/f; "
                        "sleep 3600 & wait");
  writer["volumeMounts"] = Json::array({{{"name", "scratch"}, {"mountPath", "/scratch"}}});
  create_pod("writer", writer, scratch);
  ASSERT_TRUE(wait([&] { return condition("DiskPressure") == "True"; }, 60))
      << pod("writer").dump() << read_file(dir_ / "kubelet.log");
  auto pressure = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait([&] { return phase("writer") == "Failed"; }, 30))
      << pod("writer").dump() << read_file(dir_ / "kubelet.log");
  auto waited = std::chrono::steady_clock::now() - pressure;
  EXPECT_GE(waited, std::chrono::milliseconds(2500)) << "evicted before its 4 s grace period";
  Json w = pod("writer");
  EXPECT_EQ(api::str_at(w, {"status", "reason"}), "Evicted") << w.dump();
  EXPECT_TRUE(api::str_at(w, {"status", "message"})
                  .starts_with("The node was low on resource: ephemeral-storage."))
      << w.dump();
  const Json* statuses = api::at_path(w, {"status", "containerStatuses"});
  ASSERT_TRUE(statuses && statuses->is_array() && !statuses->empty()) << w.dump();
  const Json* code = api::at_path((*statuses)[0], {"state", "terminated", "exitCode"});
  ASSERT_TRUE(code) << w.dump();
  EXPECT_EQ(*code, 0) << "stopped with SIGTERM and its grace period, not killed: " << w.dump();
  EXPECT_TRUE(wait([&] { return condition("DiskPressure") == "False"; }, 15))
      << read_file(dir_ / "kubelet.log");
}

class ImageGcTest : public HealthTest {
 protected:
  ImageGcTest() { images_tmpfs_ = "40m"; }
  // An OCI layout with one uncompressed layer of `mib` MiB of random bytes (a distinct image).
  void make_image(const std::string& dir, int mib) {
    auto r =
        sh(cat("set -e; d=", dir, "; mkdir -p $d/blobs/sha256 $d/rootfs; ", "head -c ", mib << 20,
               " /dev/urandom > $d/rootfs/data; ", "tar -C $d/rootfs -cf $d/layer.tar data; ",
               "put() { h=$(sha256sum $1 | cut -d' ' -f1); s=$(stat -c %s $1); ",
               "mv $1 $d/blobs/sha256/$h; echo \"sha256:$h\" $s; }; ",
               "set -- $(put $d/layer.tar); L=$1 LS=$2; ",
               "printf '{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},",
               "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}' $L > $d/c; ",
               "set -- $(put $d/c); C=$1 CS=$2; ", "printf '{\"schemaVersion\":2,\"mediaType\":",
               "\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":",
               "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%s},",
               "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",",
               "\"digest\":\"%s\",\"size\":%s}]}' $C $CS $L $LS > $d/m; ", "set -- $(put $d/m); ",
               "printf '{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":",
               "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",",
               "\"size\":%s}]}' $1 $2 > $d/index.json; ",
               "echo '{\"imageLayoutVersion\":\"1.0.0\"}' > $d/oci-layout; rm -rf $d/rootfs"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void import(const std::string& layout, const std::string& name) {
    auto r = run(
        {binary("runtime/skiff"), "image", "import", "--image-root", roots_.images, layout, name});
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  }
  std::string images() {
    return run({binary("runtime/skiff"), "image", "ls", "--image-root", roots_.images}).out;
  }
  double used_percent() {
    struct statvfs v {};
    if (statvfs(roots_.images.c_str(), &v) != 0) return -1;
    return 100.0 * double(v.f_blocks - v.f_bavail) / double(v.f_blocks);
  }
};

TEST_F(ImageGcTest, LeastRecentlyUsedUnusedImagesGoUntilBelowTheLowThreshold) {
  ASSERT_LT(used_percent(), 10) << "the busybox image alone";
  for (const char* n : {"a", "b", "c"}) make_image(dir_ / cat("img-", n), 6);
  // 40 MiB: busybox ~1 + 3 x 6 crosses 45% only with the third; 25% needs two of them gone.
  start_kubelet("health-gc", {{"evictionHard", {{"memory.available", "1Mi"}}},
                              {"imageGCHighThresholdPercent", 45},
                              {"imageGCLowThresholdPercent", 25},
                              {"imageMinimumGCAge", "10s"},
                              {"housekeepingInterval", "1s"}});
  create_pod("user", busybox("idle", "sleep 3600"));
  ASSERT_TRUE(wait([&] { return phase("user") == "Running"; }, 60))
      << pod("user").dump() << read_file(dir_ / "kubelet.log");
  auto a_stored = std::chrono::steady_clock::now();
  import(dir_ / "img-a", "gc/a:1");
  import(dir_ / "img-b", "gc/b:1");
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // two passes: below 45%
  EXPECT_NE(images().find("gc/b"), std::string::npos) << images();
  EXPECT_NE(images().find("gc/a"), std::string::npos) << "35% used: nothing collected";
  import(dir_ / "img-c", "gc/c:1");
  // Over 45% now, but every unused image is younger than imageMinimumGCAge: two passes, nothing
  // goes (checked only while the oldest is surely under 10 s old).
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  if (std::chrono::steady_clock::now() - a_stored < std::chrono::seconds(9)) {
    EXPECT_NE(images().find("gc/a"), std::string::npos) << "younger than 10 s: " << images();
    EXPECT_GT(used_percent(), 45);
  } else {
    std::cout << "imports slower than expected: the minimum-age check was not made\n";
  }
  ASSERT_TRUE(wait([&] { return images().find("gc/b") == std::string::npos; }, 25))
      << images() << read_file(dir_ / "kubelet.log");
  std::string left = images();
  EXPECT_EQ(left.find("gc/a"), std::string::npos) << "the oldest went first: " << left;
  EXPECT_NE(left.find("gc/c"), std::string::npos) << "below 25% once a and b were gone";
  EXPECT_NE(left.find("busybox"), std::string::npos) << "in use by a pod: " << left;
  EXPECT_LT(used_percent(), 25);
  EXPECT_EQ(phase("user"), "Running");
}

}  // namespace
}  // namespace skiff::test
