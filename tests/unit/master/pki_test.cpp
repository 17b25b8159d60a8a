#include "master/pki/pki.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/fs.hpp"
#include "master/server/http.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::master {
namespace {

TEST(Pki, FirstStartMakesPrivateKeysAndKeepsTheCa) {
  test::TempDir dir("skiff-pki");
  auto pki = ensure_pki(dir / "pki", {"127.0.0.1", "10.1.2.3", "master.example"});
  ASSERT_TRUE(pki.ok()) << pki.error().what();
  for (const auto& key : {pki->ca_key, pki->serving_key, pki->admin_key}) {
    struct stat st;
    ASSERT_EQ(stat(key.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << key;
  }
  auto ca = read_file(pki->ca_cert);
  ASSERT_TRUE(ca.ok());
  auto hash = ca_public_key_hash(*ca);
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->size(), 7u + 64u);
  EXPECT_EQ(hash->rfind("sha256:", 0), 0u);
  auto again = ensure_pki(dir / "pki", {"127.0.0.1"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*read_file(again->ca_cert), *ca);  // the CA survives restarts
  auto checked = test::run({"openssl", "verify", "-CAfile", pki->ca_cert, pki->serving_cert});
  if (checked.exit_code == 127) GTEST_SKIP() << "openssl CLI not installed";
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  auto text = test::run({"openssl", "x509", "-in", pki->serving_cert, "-noout", "-text"});
  EXPECT_NE(text.out.find("IP Address:10.1.2.3"), std::string::npos);
  EXPECT_NE(text.out.find("DNS:master.example"), std::string::npos);
  auto admin = test::run({"openssl", "x509", "-in", pki->admin_cert, "-noout", "-subject"});
  EXPECT_NE(admin.out.find("O = system:masters"), std::string::npos) << admin.out;
  EXPECT_NE(admin.out.find("CN = admin"), std::string::npos);
}

TEST(Pki, SignsCertificateRequests) {
  test::TempDir dir("skiff-pki");
  auto pki = ensure_pki(dir / "pki", {});
  ASSERT_TRUE(pki.ok());
  auto gen = test::sh(
      "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
      "-subj '/O=system:nodes/CN=system:node:n1' -keyout " +
      dir / "n1.key" + " 2>/dev/null");
  if (gen.exit_code == 127) GTEST_SKIP() << "openssl CLI not installed";
  ASSERT_EQ(gen.exit_code, 0);
  auto cert = sign_csr(*pki, gen.out, 365);
  ASSERT_TRUE(cert.ok()) << cert.error().what();
  test::write_file(dir / "n1.crt", *cert);
  auto subject = test::run({"openssl", "x509", "-in", dir / "n1.crt", "-noout", "-subject"});
  EXPECT_NE(subject.out.find("CN = system:node:n1"), std::string::npos) << subject.out;
  EXPECT_FALSE(sign_csr(*pki, "not a request", 1).ok());
}

TEST(Http, QueryAndPercentDecoding) {
  auto q = parse_query("labelSelector=app%20in%20(a%2Cb)&watch=1&x=a+b&flag");
  EXPECT_EQ(q["labelSelector"], "app in (a,b)");
  EXPECT_EQ(q["watch"], "1");
  EXPECT_EQ(q["x"], "a b");
  EXPECT_TRUE(q.count("flag"));
  EXPECT_EQ(percent_decode("a%2Fb%zz", false), "a/b%zz");
}

}  // namespace
}  // namespace skiff::master
