// The registry client's parsers: URLs and redirects, WWW-Authenticate challenges, base64,
// --creds and auth files (containers' auth.json, docker's config.json keys).
#include <gtest/gtest.h>

#include "oci/registry/auth.hpp"
#include "oci/registry/client.hpp"
#include "oci/registry/http_client.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::registry {
namespace {

TEST(RegistryUrl, ParseAndResolve) {
  auto u = parse_url("https://registry-1.docker.io/v2/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "registry-1.docker.io");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->authority(), "registry-1.docker.io");
  u = parse_url("http://127.0.0.1:5000/token?service=x");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->authority(), "127.0.0.1:5000");
  EXPECT_EQ(u->target, "/token?service=x");
  u = parse_url("http://[::1]:8080");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->authority(), "[::1]:8080");
  for (const char* bad : {"ftp://x/", "localhost:5000/v2", "http://user@host/", "http://h:99999/"})
    EXPECT_FALSE(parse_url(bad)) << bad;
  EXPECT_NE(parse_url("ftp://x/").error().what().find("`ftp://x/`"), std::string::npos);

  Url base = *parse_url("https://r.example:5000/v2/a/blobs/sha256:1");
  EXPECT_EQ(resolve_url(base, "/storage/x?sig=1")->str(), "https://r.example:5000/storage/x?sig=1");
  EXPECT_EQ(resolve_url(base, "https://cdn.example/b")->str(), "https://cdn.example/b");
  EXPECT_EQ(resolve_url(base, "//cdn.example/c")->str(), "https://cdn.example/c");
  EXPECT_EQ(resolve_url(base, "other")->str(), "https://r.example:5000/v2/a/blobs/other");
  EXPECT_EQ(url_encode("repository:library/busybox:pull"), "repository%3Alibrary%2Fbusybox%3Apull");
}

TEST(RegistryAuth, Challenges) {
  auto c = parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].params["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(c[0].params["service"], "registry.docker.io");
  EXPECT_EQ(c[0].params["scope"], "repository:library/busybox:pull");
  c = parse_www_authenticate(
      R"(Basic realm="Registry Realm", Bearer realm="x",error=invalid_token)");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].params["realm"], "Registry Realm");
  EXPECT_EQ(c[1].params["error"], "invalid_token");
  EXPECT_TRUE(parse_www_authenticate("").empty());
  EXPECT_TRUE(parse_www_authenticate(R"(Bearer realm="unterminated)").empty());
}

TEST(RegistryAuth, Base64AndCreds) {
  for (std::string s : {"", "a", "ab", "abc", "alice:s3cret", "user:pa:ss"}) {
    auto d = base64_decode(base64_encode(s));
    ASSERT_TRUE(d) << s;
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(base64_encode("alice:s3cret"), "YWxpY2U6czNjcmV0");
  EXPECT_FALSE(base64_decode("a*b="));
  auto c = parse_creds("user:pa:ss");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "user");
  EXPECT_EQ(c->password, "pa:ss");
  EXPECT_FALSE(parse_creds("nopassword"));
  EXPECT_FALSE(parse_creds(":x"));
}

TEST(RegistryAuth, AuthFile) {
  skiff::test::TempDir tmp;
  std::string f = tmp / "auth.json";
  skiff::test::write_file(
      f, cat(R"({"auths": {)", R"("localhost:5000": {"auth": ")", base64_encode("any:1"), R"("},)",
             R"("localhost:5000/team": {"auth": ")", base64_encode("team:2"), R"("},)",
             R"("https://index.docker.io/v1/": {"auth": ")", base64_encode("hub:3"), R"("}}})"));
  auto c = credentials_from_file(f, "localhost:5000", "team/app");
  ASSERT_TRUE(c && *c);
  EXPECT_EQ((*c)->username, "team");  // the longest matching key
  c = credentials_from_file(f, "localhost:5000", "teamx/app");
  ASSERT_TRUE(c && *c);
  EXPECT_EQ((*c)->username, "any");
  c = credentials_from_file(f, "docker.io", "library/busybox");
  ASSERT_TRUE(c && *c);
  EXPECT_EQ((*c)->password, "3");
  c = credentials_from_file(f, "quay.io", "x/y");
  ASSERT_TRUE(c);
  EXPECT_FALSE(*c);

  skiff::test::write_file(f, R"({"auths": {"quay.io": {"auth": "!!"}}})");
  c = credentials_from_file(f, "quay.io", "x/y");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().what().find("auths[\"quay.io\"].auth"), std::string::npos)
      << c.error().what();
  EXPECT_NE(c.error().what().find(f), std::string::npos);
  EXPECT_FALSE(find_credentials(tmp / "missing.json", "quay.io", "x"));
}

TEST(RegistryAuth, DockerHubHost) {
  EXPECT_EQ(registry_host("docker.io"), "registry-1.docker.io");
  EXPECT_EQ(registry_host("localhost:5000"), "localhost:5000");
}

}  // namespace
}  // namespace skiff::registry
