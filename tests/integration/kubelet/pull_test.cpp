// imagePullPolicy through real pulls: Debian's docker-registry on 127.0.0.1 (a free port) with the
// busybox fixture pushed by skopeo, and pods run by the real skiff-pod / skiff-shim / skiff-pull
// against an EMPTY image store. A pod whose image the registry lacks shows ErrImagePull, then
// ImagePullBackOff, while its other container keeps running; Never with no image is
// ErrImageNeverPull; nothing is left behind.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

#include "common/fs.hpp"
#include "oci/image/images.hpp"
#include "oci/image/import.hpp"
#include "oci/image/platform.hpp"
#include "tests/support/pod_env.hpp"
#include "tests/support/runtime_fixture.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kBridge = "skpull0";
constexpr const char* kSubnet = "10.232.0.0/24";

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// docker-registry serving `dir`/data on 127.0.0.1:port; killed and reaped on destruction.
struct Registry {
  pid_t pid = -1;
  int port = 0;
  std::string log;
  ~Registry() {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  std::string host() const { return cat("127.0.0.1:", port); }
  bool start(const TempDir& dir) {
    port = free_port();
    log = dir / "registry.log";
    write_file(dir / "config.yml",
               cat("version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n",
                   "    rootdirectory: ", dir / "data", "\nhttp:\n  addr: ", host(), "\n"));
    std::string config = dir / "config.yml";
    pid = ::fork();
    if (pid == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execlp("docker-registry", "docker-registry", "serve", config.c_str(),
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (port_open(port)) return true;
      if (::waitpid(pid, nullptr, WNOHANG) == pid) {
        pid = -1;
        return false;
      }
      std::this_thread::sleep_for(25ms);
    }
    return false;
  }
};

class PullTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!is_root()) return;
    if (::access("/usr/bin/docker-registry", X_OK) != 0) {
      setup_error_ = "docker-registry is not installed (apt docker-registry)";
      return;
    }
    if (sh("command -v skopeo >/dev/null").exit_code != 0) {
      setup_error_ = "skopeo is not installed";
      return;
    }
    shared_ = new TempDir("skiff-pullsuite");
    std::string layout = *shared_ / "bb-oci";
    setup_error_ = make_busybox_layout(shared_->path());
    if (!setup_error_.empty()) return;
    registry_ = new Registry();
    if (!registry_->start(*shared_)) {
      setup_error_ = "docker-registry did not start: " + read_file(registry_->log);
      return;
    }
    auto pushed = run({"skopeo", "copy", "--dest-tls-verify=false", "oci:" + layout,
                       "docker://" + registry_->host() + "/busybox:1.0"});
    if (pushed.exit_code != 0) setup_error_ = "skopeo copy: " + pushed.err;
  }
  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
    delete shared_;
    shared_ = nullptr;
    (void)sh(cat("ip link del ", kBridge, " 2>/dev/null"));
  }

  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    if (!setup_error_.empty()) GTEST_SKIP() << setup_error_;
    write_bridge_conflist(roots_.cni_conf, "pulltest", kBridge, kSubnet, dir_ / "ipam", false);
    before_ = HostSnapshot::take();
  }
  void TearDown() override {
    if (!is_root() || !setup_error_.empty()) return;
    remove_all_pods([&](const std::vector<std::string>& args) { return pod(args); });
  }

  CommandResult pod(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {"--backoff-initial-ms", "300"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(roots_.skiff_pod(argv));
  }
  std::string write_pod(const std::string& name, const std::string& yaml) const {
    std::string path = dir_ / (name + ".yaml");
    write_file(path, yaml);
    return path;
  }
  json container(const std::string& pod_name, const std::string& name) const {
    auto r = pod({"status", pod_name, "-o", "json"});
    auto j = json::parse(r.out, nullptr, false);
    if (j.is_discarded()) return json();
    for (const auto& c : j["status"]["containerStatuses"])
      if (c["name"] == name) return c;
    return json();
  }
  // Polls until `pred` holds for the container's status (or ~10 s pass); returns the last one.
  json wait_for(const std::string& pod_name, const std::string& name,
                const std::function<bool(const json&)>& pred) const {
    json c;
    for (int i = 0; i < 200; ++i) {
      c = container(pod_name, name);
      if (pred(c)) break;
      std::this_thread::sleep_for(50ms);
    }
    return c;
  }
  bool image_in_store(const std::string& ref) const {
    auto store = image::Store::open(roots_.images);
    return store && image::find_ref(*store, ref, image::host_platform()).ok();
  }
  void expect_nothing_left() const {
    EXPECT_EQ(dir_entries(roots_.run + "/runtime"), 0u);
    EXPECT_EQ(dir_entries(roots_.run + "/pods"), 0u);
    EXPECT_EQ(sh("pgrep -f '[s]kiff-shim --pod-dir " + dir_.path() + "'").out, "");
    EXPECT_EQ(sh("pgrep -f '[s]kiff-pull --image-root " + dir_.path() + "'").out, "");
    EXPECT_EQ(dir_entries(roots_.images + "/ingest"), 0u) << "a pull's staging area is left";
    std::string ours;
    for (const auto& line : split(diff(before_, HostSnapshot::take()), '\n', true))
      if (line.find(dir_.path()) != std::string::npos || line.find("/pod-") != std::string::npos)
        ours += line + "\n";
    EXPECT_EQ(ours, "");
  }

  TempDir dir_{"skiff-pull"};
  PodRoots roots_ = PodRoots::under(dir_.path());
  HostSnapshot before_;
  static TempDir* shared_;
  static Registry* registry_;
  static std::string setup_error_;
};

TempDir* PullTest::shared_ = nullptr;
Registry* PullTest::registry_ = nullptr;
std::string PullTest::setup_error_;

// IfNotPresent with an empty store pulls; the container runs from the pulled image.
TEST_F(PullTest, IfNotPresentPullsIntoAnEmptyStore) {
  std::string image = registry_->host() + "/busybox:1.0";
  ASSERT_FALSE(image_in_store(image));
  auto file = write_pod("pulled", cat(R"Y(apiVersion: v1
kind: Pod
metadata: {name: pulled}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: )Y",
                                      image, R"Y(
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'echo from-pulled-image']
)Y"));
  auto r = pod({"run", "--wait", "--timeout", "60", file});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(image_in_store(image));
  auto logs = pod({"logs", "pulled"});
  EXPECT_NE(logs.out.find("from-pulled-image"), std::string::npos) << logs.out << logs.err;
  ASSERT_EQ(pod({"rm", "pulled"}).exit_code, 0);
  expect_nothing_left();
}

// A tag the registry lacks: ErrImagePull, then ImagePullBackOff with the registry's answer, and
// the pod's other container (whose image pulls fine, policy Always) runs meanwhile.
TEST_F(PullTest, MissingImageIsErrImagePullThenBackOffWhileOthersRun) {
  std::string good = registry_->host() + "/busybox:1.0";
  std::string missing = registry_->host() + "/busybox:no-such-tag";
  auto file = write_pod("missing", cat(R"Y(apiVersion: v1
kind: Pod
metadata: {name: missing}
spec:
  containers:
  - name: ok
    image: )Y",
                                       good, R"Y(
    imagePullPolicy: Always
    command: [sleep, '600']
  - name: bad
    image: )Y",
                                       missing, R"Y(
    command: [sleep, '600']
)Y"));
  auto r = pod({"run", "--detach", file});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json ok = wait_for("missing", "ok", [](const json& c) { return c["state"].contains("running"); });
  EXPECT_TRUE(ok["state"].contains("running")) << ok;
  json bad = wait_for("missing", "bad", [](const json& c) {
    return c["state"]["waiting"]["reason"] == "ErrImagePull";
  });
  EXPECT_EQ(bad["state"]["waiting"]["reason"], "ErrImagePull") << bad;
  EXPECT_NE(bad["state"]["waiting"].value("message", "").find("no-such-tag"), std::string::npos)
      << bad;
  bad = wait_for("missing", "bad", [](const json& c) {
    return c["state"]["waiting"]["reason"] == "ImagePullBackOff";
  });
  EXPECT_EQ(bad["state"]["waiting"]["reason"], "ImagePullBackOff") << bad;
  EXPECT_NE(bad["state"]["waiting"].value("message", "").find("Back-off pulling image"),
            std::string::npos)
      << bad;
  // The shim is alive and answers; the good container still runs.
  EXPECT_TRUE(container("missing", "ok")["state"].contains("running"));
  EXPECT_FALSE(image_in_store(missing));
  ASSERT_EQ(pod({"rm", "-f", "missing"}).exit_code, 0);
  expect_nothing_left();
}

// Always with the image in the store and a registry that does not answer (nothing listens on
// 127.0.0.1:1): the stored image is used, as podman's --pull=newer, and the pod starts at once.
TEST_F(PullTest, AlwaysFallsBackToTheStoredImageWhenTheRegistryIsDown) {
  std::string image = "127.0.0.1:1/busybox:1.0";
  auto store = image::Store::open(roots_.images);
  ASSERT_TRUE(store.ok()) << store.error().what();
  image::ImportOptions o;
  o.name = image;
  auto imported = image::import_archive(*store, *shared_ / "bb-oci", o);
  ASSERT_TRUE(imported.ok()) << imported.error().what();
  auto file = write_pod("stored", cat(R"Y(apiVersion: v1
kind: Pod
metadata: {name: stored}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: )Y",
                                      image, R"Y(
    imagePullPolicy: Always
    command: [sh, -c, 'echo from-the-store']
)Y"));
  auto t0 = std::chrono::steady_clock::now();
  auto r = pod({"run", "--wait", "--timeout", "30", file});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_NE(pod({"logs", "stored"}).out.find("from-the-store"), std::string::npos);
  ASSERT_EQ(pod({"rm", "stored"}).exit_code, 0);
  expect_nothing_left();
}

// Never with the image absent: ErrImageNeverPull, and no pull is tried.
TEST_F(PullTest, NeverWithoutTheImageIsErrImageNeverPull) {
  std::string image = registry_->host() + "/busybox:1.0";
  auto file = write_pod("never", cat(R"Y(apiVersion: v1
kind: Pod
metadata: {name: never}
spec:
  containers:
  - name: main
    image: )Y",
                                     image, R"Y(
    imagePullPolicy: Never
    command: [sleep, '600']
)Y"));
  ASSERT_EQ(pod({"run", "--detach", file}).exit_code, 0);
  json c = wait_for("never", "main", [](const json& c) {
    return c["state"]["waiting"]["reason"] == "ErrImageNeverPull";
  });
  EXPECT_EQ(c["state"]["waiting"]["reason"], "ErrImageNeverPull") << c;
  EXPECT_FALSE(image_in_store(image));
  ASSERT_EQ(pod({"rm", "-f", "never"}).exit_code, 0);
  expect_nothing_left();
}

}  // namespace
}  // namespace skiff::test
