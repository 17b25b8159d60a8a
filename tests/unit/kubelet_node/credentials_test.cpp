// The join's cryptography against the master's own: the bootstrap signer's detached JWS verifies
// with the token (and nothing else), the CA pin is the master's, the node's CSR names the node as
// the master's CSR checks read it; kubeconfig and KubeletConfiguration parsing.

#include <gtest/gtest.h>

#include "api/base64.hpp"
#include "common/fs.hpp"
#include "kubelet/node/credentials.hpp"
#include "kubelet/node/kubelet.hpp"
#include "kubelet/node/node_info.hpp"
#include "master/controllers/bootstrap_signer.hpp"
#include "master/pki/pki.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::kubelet::node {
namespace {

TEST(Jws, MasterSignatureVerifiesWithTheTokenOnly) {
  std::string payload = master::cluster_info_kubeconfig("CA PEM", "https://10.0.0.1:6443");
  std::string jws = master::detached_jws(payload, "abcdef", "0123456789abcdef");
  EXPECT_NE(jws.find(".."), std::string::npos) << "the payload is detached";
  EXPECT_TRUE(verify_detached_jws(jws, payload, "abcdef", "0123456789abcdef"));
  EXPECT_FALSE(verify_detached_jws(jws, payload, "abcdef", "0123456789abcdeg"));
  EXPECT_FALSE(verify_detached_jws(jws, payload + " ", "abcdef", "0123456789abcdef"));
  EXPECT_FALSE(verify_detached_jws(jws, payload, "abcdeg", "0123456789abcdef"));
  EXPECT_FALSE(verify_detached_jws("garbage", payload, "abcdef", "0123456789abcdef"));
}

TEST(Jws, KnownVector) {
  // HS256 over base64url('{"alg":"HS256","kid":"abcdef"}') "." base64url("hello"), computed
  // independently with Python's hmac module.
  EXPECT_EQ(
      master::detached_jws("hello", "abcdef", "0123456789abcdef"),
      "eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9..MxsnbCjBaYzcbNIFa06F-wuF9LX26rhMlrL4zA1511s");
}

class PkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pki = master::ensure_pki(dir_ / "pki", {"127.0.0.1"});
    ASSERT_TRUE(pki.ok()) << pki.error().what();
    pki_ = *pki;
  }
  test::TempDir dir_{"kubelet-node-pki"};
  master::PkiFiles pki_;
};

TEST_F(PkiTest, CaPinMatchesTheMasters) {
  std::string ca = *read_file(pki_.ca_cert);
  auto mine = public_key_hash(ca);
  auto theirs = master::ca_public_key_hash(ca);
  ASSERT_TRUE(mine.ok() && theirs.ok());
  EXPECT_EQ(*mine, *theirs);
  EXPECT_FALSE(public_key_hash("not a certificate").ok());
}

TEST_F(PkiTest, NodeCsrNamesTheNodeAndSignsIntoAClientCertificate) {
  auto kr = make_node_key_and_csr("worker-1");
  ASSERT_TRUE(kr.ok()) << kr.error().what();
  EXPECT_NE(kr->key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  auto subject = master::csr_subject(kr->csr_pem);
  ASSERT_TRUE(subject.ok()) << subject.error().what();
  EXPECT_EQ(subject->first, "system:node:worker-1");
  EXPECT_EQ(subject->second, std::vector<std::string>{"system:nodes"});
  auto cert = master::sign_csr(pki_, kr->csr_pem, 365);
  ASSERT_TRUE(cert.ok()) << cert.error().what();
  auto not_after = certificate_not_after(*cert);
  ASSERT_TRUE(not_after.ok());
  EXPECT_GT(*not_after, time(nullptr) + 300 * 86400);
}

TEST(Kubeconfig, RoundTripAndClusterInfo) {
  Kubeconfig k{"https://10.1.2.3:6443", "CA", "CERT", "KEY"};
  auto back = parse_kubeconfig(render_kubeconfig(k, "system:node:a"));
  ASSERT_TRUE(back.ok()) << back.error().what();
  EXPECT_EQ(back->server, k.server);
  EXPECT_EQ(back->ca_pem, "CA");
  EXPECT_EQ(back->cert_pem, "CERT");
  EXPECT_EQ(back->key_pem, "KEY");
  auto info = parse_kubeconfig(master::cluster_info_kubeconfig("PEM", "https://m:1"));
  ASSERT_TRUE(info.ok()) << info.error().what();
  EXPECT_EQ(info->ca_pem, "PEM");
  EXPECT_EQ(info->server, "https://m:1");
  EXPECT_TRUE(info->cert_pem.empty());
  auto bad = parse_kubeconfig("apiVersion: v1\nclusters: []\n", "/x/kc");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().what().find("no cluster"), std::string::npos) << bad.error().what();
}

TEST(KubeletConfig, FieldsAndErrors) {
  test::TempDir dir("kubelet-config");
  std::string f = dir / "config.yaml";
  KubeletOptions o;
  ASSERT_TRUE(write_file(f,
                         "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                         "maxPods: 20\nsystemReserved: {cpu: 500m, memory: 256Mi}\n"
                         "nodeStatusUpdateFrequency: 1m30s\n")
                  .ok());
  auto r = load_kubelet_config(f, o);
  ASSERT_TRUE(r.ok()) << r.error().what();
  EXPECT_EQ(o.max_pods, 20);
  EXPECT_EQ(o.reserved_cpu_milli, 500);
  EXPECT_EQ(o.reserved_memory, 256 << 20);
  EXPECT_EQ(o.status_check, std::chrono::seconds(90));
  ASSERT_TRUE(write_file(f, "maxPods: -1\n").ok());
  r = load_kubelet_config(f, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("maxPods"), std::string::npos);
  ASSERT_TRUE(write_file(f, "evictionHardd: {}\n").ok());
  r = load_kubelet_config(f, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("evictionHardd: unknown"), std::string::npos);
  ASSERT_TRUE(write_file(f, "nodeStatusUpdateFrequency: soon\n").ok());
  EXPECT_FALSE(load_kubelet_config(f, o).ok());
}

TEST(NodeInfo, StatusHasCapacityAndChangesOnlyWithFacts) {
  NodeFacts f;
  f.name = "n";
  f.ip = "10.0.0.5";
  f.storage_dir = "/";
  f.reserved_cpu_milli = 250;
  Json s = node_status(f, "2026-01-01T00:00:00Z");
  for (const char* k : {"cpu", "memory", "pods", "ephemeral-storage"}) {
    EXPECT_TRUE(s["capacity"].contains(k)) << k;
    EXPECT_TRUE(s["allocatable"].contains(k)) << k;
  }
  EXPECT_EQ(s["capacity"]["pods"], "110");
  EXPECT_TRUE(s["allocatable"]["cpu"].get<std::string>().ends_with("m"));
  EXPECT_EQ(s["addresses"][0]["address"], "10.0.0.5");
  EXPECT_TRUE(s["nodeInfo"]["containerRuntimeVersion"].get<std::string>().starts_with("skiff://"));
  Json later = node_status(f, "2026-01-01T00:05:00Z");
  EXPECT_NE(s, later);
  EXPECT_EQ(status_fingerprint(s), status_fingerprint(later));
  EXPECT_EQ(source_address_for("127.0.0.1"), "127.0.0.1");
}

}  // namespace
}  // namespace skiff::kubelet::node
