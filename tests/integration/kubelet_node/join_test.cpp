// skiff-kubelet join and run against a real skiff-master: kubeadm's discovery and TLS bootstrap
// (wrong token, wrong pin, unknown token, unreachable master, a Ready node of the same name: a
// clear error and nothing written), then the Node registered Ready with its capacity and nodeInfo
// and its Lease renewed.

#include <sys/stat.h>

#include "api/meta.hpp"
#include "kubelet/node/credentials.hpp"
#include "kubelet/node/join.hpp"
#include "tests/integration/kubelet_node/cluster_fixture.hpp"

namespace skiff::test {
namespace {

using kubelet::node::join;
using kubelet::node::JoinOptions;

class JoinTest : public MasterFixture {
 protected:
  JoinOptions options(const Token& t, const std::string& node, const std::string& dir) {
    JoinOptions o;
    o.server = url_;
    o.token = t.token;
    o.ca_cert_hash = t.hash;
    o.node_name = node;
    o.data_dir = dir;
    o.timeout = std::chrono::seconds(20);
    return o;
  }
  // Nothing of a failed join is left: no credentials, no temporary directory.
  void expect_nothing_written(const std::string& dir) {
    EXPECT_FALSE(path_exists(dir + "/credentials"));
    auto listing = sh("ls -A " + dir + " 2>/dev/null");
    EXPECT_EQ(trim(listing.out), "") << listing.out;
  }
};

TEST_F(JoinTest, WrongPinWrongTokenUnknownTokenUnreachable) {
  Token t = create_token();
  ASSERT_FALSE(t.token.empty());
  std::string dir = dir_ / "node";

  auto o = options(t, "n1", dir);
  o.ca_cert_hash = "sha256:" + std::string(64, '0');
  auto r = join(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("does not match --ca-cert-hash"), std::string::npos)
      << r.error().what();
  expect_nothing_written(dir);

  o = options(t, "n1", dir);
  o.token = t.token.substr(0, 7) + std::string(16, 'x');
  r = join(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("wrong token"), std::string::npos) << r.error().what();
  expect_nothing_written(dir);

  o = options(t, "n1", dir);
  o.token = "zzzzzz." + t.token.substr(7);
  r = join(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("is not known to the master"), std::string::npos)
      << r.error().what();

  o = options(t, "n1", dir);
  o.server = "https://127.0.0.1:" + std::to_string(free_port());
  o.discovery_timeout = std::chrono::seconds(2);
  auto t0 = std::chrono::steady_clock::now();
  r = join(o);
  ASSERT_FALSE(r.ok());
  // Tried again for the discovery timeout (a master still starting), then a clear error.
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));
  EXPECT_NE(r.error().what().find("cannot reach the master"), std::string::npos)
      << r.error().what();
  EXPECT_NE(r.error().what().find("2 attempts in 2 s"), std::string::npos) << r.error().what();
  expect_nothing_written(dir);

  o = options(t, "n1", dir);
  o.token = "not-a-token";
  r = join(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("--token"), std::string::npos) << r.error().what();

  // A deleted token is no longer signed for.
  auto del = run({master_bin_, "token", "delete", "--data-dir", data_, t.token});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  for (int i = 0; i < 100; i++) {
    r = join(options(t, "n1", dir));
    if (!r.ok() && r.error().what().find("is not known") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("is not known to the master"), std::string::npos)
      << r.error().what();
  expect_nothing_written(dir);
}

// The command line refuses a --discovery-timeout outside 1-3600 s before trying anything.
TEST_F(JoinTest, DiscoveryTimeoutOutOfRangeIsRefused) {
  Token t = create_token();
  std::string dir = dir_ / "node";
  for (const char* bad : {"0", "3601", "soon"}) {
    auto r = run({kubelet_bin_, "join", "https://127.0.0.1:" + std::to_string(free_port()),
                  "--token", t.token, "--ca-cert-hash", t.hash, "--node-name", "n1", "--data-dir",
                  dir, "--discovery-timeout", bad});
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_NE(r.err.find("--discovery-timeout"), std::string::npos) << bad << ": " << r.err;
    EXPECT_EQ(r.err.find("cannot reach the master"), std::string::npos) << bad << ": " << r.err;
    expect_nothing_written(dir);
  }
}

TEST_F(JoinTest, JoinWritesPrivateCredentialsThatTheMasterAccepts) {
  Token t = create_token();
  std::string dir = dir_ / "node";
  auto r = join(options(t, "worker-a", dir));
  ASSERT_TRUE(r.ok()) << r.error().what();
  EXPECT_EQ(*r, "worker-a");
  for (const char* f : {"kubeconfig", "ca.crt", "kubelet-client.crt", "kubelet-client.key"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir + "/credentials/" + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  auto kc = kubelet::node::load_kubeconfig(kubelet::node::kubeconfig_path(dir));
  ASSERT_TRUE(kc.ok()) << kc.error().what();
  EXPECT_EQ(kc->server, url_);
  // The node identity works: it may read its own (absent) Node but not list secrets.
  kubelet::node::ClientConfig cc{
      kc->server, kc->ca_pem, false, kc->cert_pem, kc->key_pem, "", std::chrono::seconds(10)};
  auto node = kubelet::node::ApiClient::create(cc);
  ASSERT_TRUE(node.ok());
  auto got = (*node)->request("GET", "/api/v1/nodes/worker-a");
  ASSERT_TRUE(got.ok()) << got.error().what();
  EXPECT_EQ(got->status, 404);
  auto secrets = (*node)->request("GET", "/api/v1/secrets");
  ASSERT_TRUE(secrets.ok());
  EXPECT_EQ(secrets->status, 403);
  // The CSR the master approved is for this node.
  auto csrs = admin_->get_json("/apis/certificates.k8s.io/v1/certificatesigningrequests");
  ASSERT_TRUE(csrs.ok());
  ASSERT_EQ((*csrs)["items"].size(), 1u);
  EXPECT_EQ(api::str_at((*csrs)["items"][0], {"spec", "signerName"}),
            "kubernetes.io/kube-apiserver-client-kubelet");

  auto again = join(options(t, "worker-a", dir));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().what().find("has joined already"), std::string::npos);
}

TEST_F(JoinTest, RunRegistersAReadyNodeAndRenewsItsLease_NameTakenAfterwards) {
  Token t = create_token();
  std::string dir = dir_ / "node";
  ASSERT_TRUE(join(options(t, "worker-b", dir)).ok());
  std::string roots = dir_ / "roots";
  int kubelet_port = free_port();
  Process kubelet({kubelet_bin_, "run", "--data-dir", dir, "--state-root", roots + "/state",
                   "--run-root", roots + "/run", "--log-root", roots + "/log", "--lease-period-ms",
                   "200", "--port", std::to_string(kubelet_port)},
                  dir_ / "kubelet.log");
  Json node;
  for (int i = 0; i < 200; i++) {
    auto n = admin_->get_json("/api/v1/nodes/worker-b");
    if (n.ok()) {
      node = *n;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_TRUE(node.is_object()) << read_file(dir_ / "kubelet.log");
  bool ready = false;
  for (const auto& c : node["status"]["conditions"])
    if (c["type"] == "Ready") ready = c["status"] == "True";
  EXPECT_TRUE(ready) << node.dump();
  EXPECT_EQ(node["status"]["addresses"][0]["address"], "127.0.0.1");
  EXPECT_TRUE(
      api::str_at(node, {"status", "nodeInfo", "containerRuntimeVersion"}).starts_with("skiff://"));
  EXPECT_FALSE(api::str_at(node, {"status", "capacity", "memory"}).empty());
  std::string cidr;
  for (int i = 0; i < 100 && cidr.empty(); i++) {
    if (auto n = admin_->get_json("/api/v1/nodes/worker-b"); n.ok())
      cidr = api::str_at(*n, {"spec", "podCIDR"});
    if (cidr.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(cidr.empty()) << "the master gives the node a pod CIDR";

  std::string lease_path =
      "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/worker-b";
  std::string first;
  for (int i = 0; i < 100 && first.empty(); i++) {
    if (auto l = admin_->get_json(lease_path); l.ok())
      first = api::str_at(*l, {"spec", "renewTime"});
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(first.empty());
  std::string later = first;
  for (int i = 0; i < 40 && later == first; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (auto l = admin_->get_json(lease_path); l.ok())
      later = api::str_at(*l, {"spec", "renewTime"});
  }
  EXPECT_NE(later, first) << "the lease is renewed";

  // The kubelet API: a client certificate from the cluster CA is required.
  kubelet::node::ClientConfig kcc;
  kcc.server = "https://127.0.0.1:" + std::to_string(kubelet_port);
  kcc.insecure = true;  // its serving certificate is self-signed
  kcc.cert_pem = read_file(data_ + "/pki/admin.crt");
  kcc.key_pem = read_file(data_ + "/pki/admin.key");
  auto kapi = kubelet::node::ApiClient::create(kcc);
  ASSERT_TRUE(kapi.ok());
  auto health = (*kapi)->request("GET", "/healthz");
  ASSERT_TRUE(health.ok()) << health.error().what();
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok");
  auto pods = (*kapi)->get_json("/pods");
  ASSERT_TRUE(pods.ok()) << pods.error().what();
  EXPECT_EQ((*pods)["kind"], "PodList");
  EXPECT_TRUE((*pods)["items"].empty());
  kcc.cert_pem.clear();
  kcc.key_pem.clear();
  auto anonymous = kubelet::node::ApiClient::create(kcc);
  ASSERT_TRUE(anonymous.ok());
  EXPECT_FALSE((*anonymous)->request("GET", "/healthz").ok()) << "no client certificate: refused";

  // Another machine joining as worker-b while it is Ready is refused, and writes nothing.
  std::string other = dir_ / "other";
  auto r = join(options(create_token(), "worker-b", other));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("already Ready"), std::string::npos) << r.error().what();
  expect_nothing_written(other);

  int status = kubelet.stop(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << read_file(dir_ / "kubelet.log");
}

class NodeLifecycleTest : public JoinTest {
 protected:
  NodeLifecycleTest() { grace_ = "2s"; }
};

// A kubelet that stops renewing (SIGSTOP) goes NotReady on the master; once it runs again it
// puts Ready=True back, although its own view of the status never changed.
TEST_F(NodeLifecycleTest, ReadyAgainAfterTheMasterMarkedItUnknown) {
  std::string dir = dir_ / "node";
  ASSERT_TRUE(join(options(create_token(), "worker-c", dir)).ok());
  std::string roots = dir_ / "roots";
  Process kubelet({kubelet_bin_, "run", "--data-dir", dir, "--state-root", roots + "/state",
                   "--run-root", roots + "/run", "--log-root", roots + "/log", "--port", "0",
                   "--lease-period-ms", "300", "--status-period-ms", "300"},
                  dir_ / "kubelet.log");
  auto ready = [&]() -> std::string {
    auto n = admin_->get_json("/api/v1/nodes/worker-c");
    if (!n.ok()) return "";
    for (const auto& c : (*n)["status"]["conditions"])
      if (c["type"] == "Ready") return c["status"];
    return "";
  };
  auto wait_ready = [&](const std::string& want, int ms) {
    for (int i = 0; i < ms / 50 && ready() != want; i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return ready();
  };
  ASSERT_EQ(wait_ready("True", 5000), "True") << read_file(dir_ / "kubelet.log");
  ::kill(kubelet.pid(), SIGSTOP);
  EXPECT_EQ(wait_ready("Unknown", 10000), "Unknown");
  ::kill(kubelet.pid(), SIGCONT);
  EXPECT_EQ(wait_ready("True", 5000), "True");
}

}  // namespace
}  // namespace skiff::test
