// Client certificate rotation against a real master signing 20-second certificates
// (--cluster-signing-duration): the kubelet renews its certificate at 70-90 % of its life with a
// CSR for itself that the master approves, writes the new credentials 0600, and keeps renewing
// its Lease past the first certificate's expiry, which the master by then refuses.

#include <sys/stat.h>

#include "api/meta.hpp"
#include "kubelet/node/credentials.hpp"
#include "kubelet/node/join.hpp"
#include "tests/integration/kubelet_node/cluster_fixture.hpp"

namespace skiff::test {
namespace {

class RotationTest : public MasterFixture {
 protected:
  void SetUp() override {
    master_args_ = {"--cluster-signing-duration", "20s"};
    MasterFixture::SetUp();
  }
};

TEST_F(RotationTest, RenewedBeforeExpiryAndTheNodeKeepsWorking) {
  Token t = create_token();
  std::string dir = dir_ / "node";
  kubelet::node::JoinOptions jo;
  jo.server = url_;
  jo.token = t.token;
  jo.ca_cert_hash = t.hash;
  jo.node_name = "rotor";
  jo.data_dir = dir;
  jo.timeout = std::chrono::seconds(20);
  ASSERT_TRUE(kubelet::node::join(jo).ok());
  std::string kubeconfig = kubelet::node::kubeconfig_path(dir);
  auto first = kubelet::node::load_kubeconfig(kubeconfig);
  ASSERT_TRUE(first.ok()) << first.error().what();
  auto first_expiry = kubelet::node::certificate_not_after(first->cert_pem);
  auto first_start = kubelet::node::certificate_not_before(first->cert_pem);
  ASSERT_TRUE(first_expiry.ok() && first_start.ok());
  EXPECT_LE(*first_expiry - *first_start, 23) << "20 s, backdated by a tenth";

  std::string roots = dir_ / "roots";
  Process kubelet(
      {kubelet_bin_, "run", "--data-dir", dir, "--state-root", roots + "/state", "--run-root",
       roots + "/run", "--log-root", roots + "/log", "--port", "0", "--lease-period-ms", "500"},
      dir_ / "kubelet.log");

  // Renewed at 70-90 % of the life: 13-18 s after it was signed.
  std::string renewed_pem;
  for (int i = 0; i < 300 && renewed_pem.empty(); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto now = kubelet::node::load_kubeconfig(kubeconfig);
    if (now.ok() && now->cert_pem != first->cert_pem) renewed_pem = now->cert_pem;
  }
  ASSERT_FALSE(renewed_pem.empty()) << read_file(dir_ / "kubelet.log");
  auto renewed_at = std::chrono::system_clock::now();
  int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(renewed_at.time_since_epoch()).count();
  EXPECT_GE(now_s, *first_start + (*first_expiry - *first_start) * 7 / 10 - 1)
      << "not before 70 % of the life";
  EXPECT_LT(now_s, *first_expiry) << "before it expired";
  auto renewed_expiry = kubelet::node::certificate_not_after(renewed_pem);
  ASSERT_TRUE(renewed_expiry.ok());
  EXPECT_GT(*renewed_expiry, *first_expiry);
  for (const char* f : {"kubeconfig", "kubelet-client.crt", "kubelet-client.key"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir + "/credentials/" + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  EXPECT_EQ(trim(read_file(dir + "/credentials/kubelet-client.crt")), trim(renewed_pem));

  // The master approved a request from the node for itself.
  auto csrs = admin_->get_json("/apis/certificates.k8s.io/v1/certificatesigningrequests");
  ASSERT_TRUE(csrs.ok());
  bool self = false;
  for (const auto& c : (*csrs)["items"])
    if (api::str_at(c, {"spec", "username"}) == "system:node:rotor" &&
        !api::str_at(c, {"status", "certificate"}).empty())
      self = true;
  EXPECT_TRUE(self) << csrs->dump(1);

  // Past the first certificate's expiry: the master refuses it, the kubelet goes on.
  auto wait_until = std::chrono::system_clock::time_point(std::chrono::seconds(*first_expiry + 2));
  std::this_thread::sleep_until(wait_until);
  kubelet::node::ClientConfig old_cc{
      url_, first->ca_pem, false, first->cert_pem, first->key_pem, "", std::chrono::seconds(5)};
  auto old_client = kubelet::node::ApiClient::create(old_cc);
  ASSERT_TRUE(old_client.ok());
  auto refused = (*old_client)->request("GET", "/api/v1/nodes/rotor");
  EXPECT_TRUE(!refused.ok() || refused->status == 401)
      << "the expired certificate still works: " << (refused.ok() ? refused->body : "");
  std::string lease_path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/rotor";
  auto renew_time = [&] {
    auto l = admin_->get_json(lease_path);
    return l.ok() ? api::str_at(*l, {"spec", "renewTime"}) : std::string();
  };
  std::string before = renew_time(), after = before;
  for (int i = 0; i < 40 && after == before; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = renew_time();
  }
  EXPECT_NE(after, before) << "the Lease is renewed with the new certificate\n"
                           << read_file(dir_ / "kubelet.log");
  auto current = kubelet::node::load_kubeconfig(kubeconfig);
  ASSERT_TRUE(current.ok());
  kubelet::node::ClientConfig new_cc{
      url_, current->ca_pem,        false, current->cert_pem, current->key_pem,
      "",   std::chrono::seconds(5)};
  auto new_client = kubelet::node::ApiClient::create(new_cc);
  ASSERT_TRUE(new_client.ok());
  auto node = (*new_client)->request("GET", "/api/v1/nodes/rotor");
  ASSERT_TRUE(node.ok()) << node.error().what();
  EXPECT_EQ(node->status, 200) << node->body;
  EXPECT_EQ(kubelet.stop(SIGTERM), 0) << read_file(dir_ / "kubelet.log");
}

}  // namespace
}  // namespace skiff::test
