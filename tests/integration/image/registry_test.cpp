// Pulls from REAL registries on loopback: Debian's docker-registry (distribution 2.8) over plain
// HTTP, and over TLS with htpasswd basic auth and a CA made here; a small stub (registry_stub.py)
// only for what a real registry cannot be made to do (corrupt, truncated and flaky blobs, the
// Bearer token flow, redirects to another origin, bad manifests). One server per fixture. Every
// failure must leave the store as it was: no blob, no staging area, no name.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <thread>

#include "common/fs.hpp"
#include "oci/image/images.hpp"
#include "oci/registry/pull.hpp"
#include "tests/support/runtime_fixture.hpp"
#include "tests/unit/image/image_test_util.hpp"

namespace skiff::registry {
namespace {

using skiff::test::CommandResult;
using skiff::test::TempDir;

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

// A server process: stdout and stderr to `log`, killed and reaped on destruction.
class Server {
 public:
  Server(const std::vector<std::string>& argv, const std::string& log) : log_(log) {
    std::vector<char*> args;  // built before fork: the child only calls async-signal-safe code
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Server() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::string log() const { return skiff::test::read_file(log_); }
  // Waits until `port` accepts connections (or the process died).
  bool wait_for(int port) const {
    for (int i = 0; i < 200; ++i) {
      if (port_open(port)) return true;
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

// docker-registry on 127.0.0.1:<free port>, configured by `extra` (tls, auth).
struct Registry {
  std::unique_ptr<Server> server;
  int port = 0;
  std::string host() const { return cat("127.0.0.1:", port); }

  static std::unique_ptr<Registry> start(const TempDir& dir, const std::string& extra_http,
                                         const std::string& extra) {
    auto r = std::make_unique<Registry>();
    r->port = free_port();
    std::string config = cat("version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n",
                             "    rootdirectory: ", dir / "data", "\nhttp:\n  addr: ", r->host(),
                             "\n", extra_http, extra);
    skiff::test::write_file(dir / "config.yml", config);
    r->server = std::make_unique<Server>(
        std::vector<std::string>{"docker-registry", "serve", dir / "config.yml"},
        dir / "registry.log");
    if (!r->server->wait_for(r->port)) {
      ADD_FAILURE() << "docker-registry did not start:\n" << r->server->log();
      return nullptr;
    }
    return r;
  }

  // Bytes of blob bodies the registry sent to skiff: its access log's GET …/blobs/ lines.
  int64_t blob_bytes_served() const {
    static const std::regex line(
        R"re("GET /v2/[^ ]+/blobs/sha256:[0-9a-f]+ HTTP/1.1" \d+ (\d+) "[^"]*" "skiff/)re");
    std::string log = server->log();
    int64_t total = 0;
    for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it)
      total += std::stoll((*it)[1]);
    return total;
  }
};

bool have_registry() { return ::access("/usr/bin/docker-registry", X_OK) == 0; }

#define SKIP_WITHOUT_REGISTRY()                                                           \
  do {                                                                                    \
    if (!have_registry())                                                                 \
      GTEST_SKIP() << "docker-registry is not installed (apt docker-registry)";           \
    if (!shared_) GTEST_SKIP() << "the registry fixture could not be set up (see above)"; \
  } while (0)

// What a store holds: blob names, staging areas and names; empty vectors for a fresh one.
struct StoreContents {
  std::vector<std::string> blobs, ingest, names;
};

StoreContents contents(const std::string& root) {
  StoreContents c;
  c.blobs = image::test::tree(root + "/blobs/sha256");
  c.ingest = image::test::tree(root + "/ingest");
  auto store = image::Store::open(root);
  if (store)
    if (auto refs = store->refs())
      for (const auto& r : *refs) c.names.push_back(r.name);
  return c;
}

void expect_untouched(const std::string& root) {
  auto c = contents(root);
  EXPECT_TRUE(c.blobs.empty()) << "blobs left: " << join(c.blobs, ", ");
  EXPECT_TRUE(c.ingest.empty()) << "staging left: " << join(c.ingest, ", ");
  EXPECT_TRUE(c.names.empty()) << "names left: " << join(c.names, ", ");
}

PullOptions fast_options() {
  PullOptions o;
  o.registry.backoff = std::chrono::milliseconds(5);
  o.registry.max_attempts = 3;
  return o;
}

// --- plain HTTP, anonymous ----------------------------------------------------------------------

struct PlainShared {
  TempDir dir{"skiff-registry-plain"};
  std::string layout;
  std::unique_ptr<Registry> registry;
};

class PlainRegistry : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_registry()) return;
    auto s = std::make_unique<PlainShared>();
    s->layout = image::test::busybox_layout(s->dir);
    s->registry = Registry::start(s->dir, "", "");
    if (!s->registry) return;
    std::string h = s->registry->host();
    // Three shapes of the same image: an OCI manifest, a Docker schema 2 manifest, and an OCI
    // index (two platforms, both this one's manifest) — pushed by skopeo, as a user would.
    for (auto args : std::vector<std::vector<std::string>>{
             {"oci:" + s->layout, "docker://" + h + "/busybox:latest"},
             {"--format", "v2s2", "oci:" + s->layout, "docker://" + h + "/busybox:v2s2"}}) {
      args.insert(args.begin(), {"skopeo", "copy", "--dest-tls-verify=false"});
      auto r = skiff::test::run(args);
      if (r.exit_code != 0) {
        ADD_FAILURE() << "skopeo copy: " << r.err;
        return;
      }
    }
    if (!make_index_layout(*s)) return;
    auto r = skiff::test::run({"skopeo", "copy", "--all", "--dest-tls-verify=false",
                               "oci:" + s->dir / "multi", "docker://" + h + "/multi:latest"});
    if (r.exit_code != 0) {
      ADD_FAILURE() << "skopeo copy --all: " << r.err;
      return;
    }
    shared_ = std::move(s);
  }
  static void TearDownTestSuite() { shared_.reset(); }

  // A layout whose image is an index: this platform and linux/s390x both point at busybox.
  static bool make_index_layout(PlainShared& s) {
    auto r = skiff::test::run({"cp", "-a", s.layout, s.dir / "multi"});
    if (r.exit_code != 0) return false;
    auto index = image::test::json::parse(skiff::test::read_file(s.layout + "/index.json"));
    auto m = index["manifests"][0];
    m.erase("annotations");
    image::Platform host = image::host_platform();
    auto entry = [&](const std::string& arch) {
      auto e = m;
      e["platform"] = {{"os", "linux"}, {"architecture", arch}};
      return e;
    };
    image::test::json nested = {{"schemaVersion", 2},
                                {"mediaType", "application/vnd.oci.image.index.v1+json"},
                                {"manifests", {entry(host.architecture), entry("s390x")}}};
    std::string text = nested.dump();
    std::string hex = image::test::sha256_hex(text);
    skiff::test::write_file(s.dir / "multi/blobs/sha256/" + hex, text);
    index["manifests"] = {{{"mediaType", "application/vnd.oci.image.index.v1+json"},
                           {"digest", "sha256:" + hex},
                           {"size", text.size()},
                           {"annotations", {{"org.opencontainers.image.ref.name", "latest"}}}}};
    skiff::test::write_file(s.dir / "multi/index.json", index.dump());
    return true;
  }

  std::string host() const { return shared_->registry->host(); }

  TempDir tmp_{"skiff-pull"};
  std::string root_ = tmp_ / "images";
  static std::unique_ptr<PlainShared> shared_;
};

std::unique_ptr<PlainShared> PlainRegistry::shared_;

TEST_F(PlainRegistry, PullBundleRun) {
  SKIFF_REQUIRE_ROOT();
  SKIP_WITHOUT_REGISTRY();
  skiff::test::Skiff skiff;
  std::vector<std::string> stores = {"--image-root", root_, "--snapshot-root", tmp_ / "snaps"};
  auto with = [&](std::string group, std::vector<std::string> rest) {
    rest.insert(rest.begin(), stores.begin(), stores.end());
    rest.insert(rest.begin(), group);
    return skiff(rest);
  };
  std::string name = host() + "/busybox";
  auto r = with("image", {"pull", "--insecure", name});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Pulled " + name + ":latest (id "), std::string::npos) << r.out;
  std::string bundle = tmp_ / "bundle";
  r = with("bundle", {"create", "--image", name, bundle, "--", "sh", "-c", "echo pulled $((6*7))"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string id = skiff::test::unique_id("pull");
  r = skiff({"run", "--bundle", bundle, id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "pulled 42\n");
  skiff({"delete", "--force", id});
  r = with("bundle", {"rm", bundle});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(PlainRegistry, SecondPullMovesNoLayerBytes) {
  SKIP_WITHOUT_REGISTRY();
  auto store = image::Store::open(root_);
  ASSERT_TRUE(store) << store.error().what();
  auto o = fast_options();
  o.registry.insecure = true;
  int64_t served_before = shared_->registry->blob_bytes_served();
  auto first = pull_image(*store, host() + "/busybox", o);
  ASSERT_TRUE(first) << first.error().what();
  EXPECT_EQ(first->blobs_fetched, 2);  // config and layer
  EXPECT_GT(first->blob_bytes, 1000);
  int64_t served_first = shared_->registry->blob_bytes_served() - served_before;
  EXPECT_EQ(served_first, first->blob_bytes);

  auto second = pull_image(*store, host() + "/busybox", o);
  ASSERT_TRUE(second) << second.error().what();
  EXPECT_EQ(second->blobs_fetched, 0);
  EXPECT_EQ(second->blobs_present, 2);
  EXPECT_EQ(second->blob_bytes, 0);
  // The registry's own account: not one more blob byte.
  EXPECT_EQ(shared_->registry->blob_bytes_served() - served_before, served_first);
  EXPECT_EQ(second->config, first->config);
  EXPECT_EQ(contents(root_).names, std::vector<std::string>{host() + "/busybox:latest"});
  EXPECT_TRUE(contents(root_).ingest.empty());

  // The same image by digest is the same content: nothing fetched either.
  auto by_digest = pull_image(*store, host() + "/busybox@" + first->target.digest.str(), o);
  ASSERT_TRUE(by_digest) << by_digest.error().what();
  EXPECT_EQ(by_digest->blob_bytes, 0);
}

TEST_F(PlainRegistry, DockerSchema2AndIndex) {
  SKIP_WITHOUT_REGISTRY();
  auto store = image::Store::open(root_);
  ASSERT_TRUE(store);
  auto o = fast_options();
  o.registry.insecure = true;
  auto v2s2 = pull_image(*store, host() + "/busybox:v2s2", o);
  ASSERT_TRUE(v2s2) << v2s2.error().what();
  EXPECT_EQ(v2s2->target.media_type, "application/vnd.docker.distribution.manifest.v2+json");

  auto multi = pull_image(*store, host() + "/multi", o);
  ASSERT_TRUE(multi) << multi.error().what();
  EXPECT_EQ(multi->target.media_type, "application/vnd.oci.image.index.v1+json");
  EXPECT_NE(multi->manifest, multi->target.digest);
  auto img = image::resolve_image(*store, host() + "/multi", image::host_platform());
  ASSERT_TRUE(img) << img.error().what();
  EXPECT_EQ(img->id(), multi->config);
}

TEST_F(PlainRegistry, NoMatchingPlatformLeavesNothing) {
  SKIP_WITHOUT_REGISTRY();
  auto store = image::Store::open(root_);
  ASSERT_TRUE(store);
  auto o = fast_options();
  o.registry.insecure = true;
  o.platform = *image::parse_platform("linux/riscv64");
  auto r = pull_image(*store, host() + "/multi", o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("pull `" + host() + "/multi:latest`"), std::string::npos)
      << r.error().what();
  EXPECT_NE(r.error().what().find("no manifest for linux/riscv64"), std::string::npos)
      << r.error().what();
  EXPECT_NE(r.error().what().find("s390x"), std::string::npos) << r.error().what();
  expect_untouched(root_);
}

TEST_F(PlainRegistry, UnknownImageIs404) {
  SKIP_WITHOUT_REGISTRY();
  skiff::test::Skiff skiff;
  auto r = skiff({"image", "--image-root", root_, "pull", "--insecure", host() + "/nothing:1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("pull `" + host() + "/nothing:1`"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HTTP 404"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("MANIFEST_UNKNOWN"), std::string::npos) << r.err;
  expect_untouched(root_);
}

TEST_F(PlainRegistry, HttpsToPlainRegistryIsRefused) {
  SKIP_WITHOUT_REGISTRY();
  skiff::test::Skiff skiff;
  auto r = skiff({"image", "--image-root", root_, "pull", host() + "/busybox"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--insecure"), std::string::npos) << r.err;
  expect_untouched(root_);
}

// --- TLS with a CA made here, htpasswd basic auth ------------------------------------------------

struct SecureShared {
  TempDir dir{"skiff-registry-tls"};
  std::unique_ptr<Registry> registry;
};

class SecureRegistry : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_registry()) return;
    if (::access("/usr/bin/htpasswd", X_OK) != 0 || ::access("/usr/bin/openssl", X_OK) != 0) {
      missing_ = "needs htpasswd (apache2-utils) and openssl";
      return;
    }
    auto s = std::make_unique<SecureShared>();
    std::string d = s->dir.path();
    auto r = skiff::test::run(
        {"sh", "-ec",
         "cd \"$1\"\n"
         "ec='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
         "openssl req -x509 $ec -keyout ca.key -out ca.crt -days 2 -subj /CN=skiff-test-ca\n"
         "openssl req $ec -keyout server.key -out server.csr -subj /CN=127.0.0.1\n"
         "printf 'subjectAltName=IP:127.0.0.1\\n' > ext\n"
         "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
         " -out server.crt -days 2 -extfile ext\n"
         "htpasswd -Bbn alice s3cret > htpasswd\n",
         "sh", d});
    if (r.exit_code != 0) {
      ADD_FAILURE() << "making the CA: " << r.err;
      return;
    }
    std::string tls =
        cat("  tls:\n    certificate: ", d, "/server.crt\n    key: ", d, "/server.key\n");
    std::string auth =
        cat("auth:\n  htpasswd:\n    realm: skiff-test\n    path: ", d, "/htpasswd\n");
    s->registry = Registry::start(s->dir, tls, auth);
    if (!s->registry) return;
    auto layout = image::test::busybox_layout(s->dir);
    r = skiff::test::run({"skopeo", "copy", "--dest-tls-verify=false", "--dest-creds",
                          "alice:s3cret", "oci:" + layout,
                          "docker://" + s->registry->host() + "/team/busybox:latest"});
    if (r.exit_code != 0) {
      ADD_FAILURE() << "skopeo copy: " << r.err;
      return;
    }
    shared_ = std::move(s);
  }
  static void TearDownTestSuite() { shared_.reset(); }

  void SetUp() override {
    if (!missing_.empty()) GTEST_SKIP() << missing_;
  }

  std::string image_name() const { return shared_->registry->host() + "/team/busybox"; }
  std::string ca() const { return shared_->dir / "ca.crt"; }
  PullOptions options(std::string creds) const {
    auto o = fast_options();
    o.registry.tls.ca_file = ca();
    if (!creds.empty()) o.registry.creds = *parse_creds(creds);
    return o;
  }

  TempDir tmp_{"skiff-pull-tls"};
  std::string root_ = tmp_ / "images";
  static std::unique_ptr<SecureShared> shared_;
  static std::string missing_;
};

std::unique_ptr<SecureShared> SecureRegistry::shared_;
std::string SecureRegistry::missing_;

TEST_F(SecureRegistry, RightCredentialsWithTheCa) {
  SKIP_WITHOUT_REGISTRY();
  auto store = image::Store::open(root_);
  ASSERT_TRUE(store);
  auto r = pull_image(*store, image_name(), options("alice:s3cret"));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->blobs_fetched, 2);
  EXPECT_EQ(contents(root_).names, std::vector<std::string>{image_name() + ":latest"});
}

TEST_F(SecureRegistry, CredentialsFromAnAuthFileThroughTheCli) {
  SKIP_WITHOUT_REGISTRY();
  std::string auth = tmp_ / "auth.json";
  skiff::test::write_file(auth, cat(R"({"auths": {")", shared_->registry->host(),
                                    R"(": {"auth": ")", base64_encode("alice:s3cret"), R"("}}})"));
  skiff::test::Skiff skiff;
  auto r = skiff({"image", "--image-root", root_, "pull", "--format", "json", "--authfile", auth,
                  "--ca-file", ca(), image_name()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = image::test::json::parse(r.out);
  EXPECT_EQ(j["name"], image_name() + ":latest");
  EXPECT_EQ(j["blobsFetched"], 2);
}

TEST_F(SecureRegistry, WrongOrNoCredentialsAre401) {
  SKIP_WITHOUT_REGISTRY();
  auto store = image::Store::open(root_);
  ASSERT_TRUE(store);
  auto r = pull_image(*store, image_name(), options("alice:wrong"));
  ASSERT_FALSE(r);
  std::string e = r.error().what();
  EXPECT_NE(e.find("pull `" + image_name() + ":latest`"), std::string::npos) << e;
  EXPECT_NE(e.find("HTTP 401"), std::string::npos) << e;
  EXPECT_NE(e.find("credentials for `alice` refused"), std::string::npos) << e;
  expect_untouched(root_);

  r = pull_image(*store, image_name(), options(""));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("wants credentials"), std::string::npos) << r.error().what();
  expect_untouched(root_);
}

TEST_F(SecureRegistry, UnknownCaIsRefusedUnlessVerificationIsOff) {
  SKIP_WITHOUT_REGISTRY();
  auto store = image::Store::open(root_);
  ASSERT_TRUE(store);
  auto o = options("alice:s3cret");
  o.registry.tls.ca_file.clear();  // the system's CAs: ours is not among them
  auto r = pull_image(*store, image_name(), o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("certificate verify failed"), std::string::npos)
      << r.error().what();
  expect_untouched(root_);

  o.registry.tls.verify = false;
  auto ok = pull_image(*store, image_name(), o);
  ASSERT_TRUE(ok) << ok.error().what();
}

// --- a misbehaving registry ---------------------------------------------------------------------

struct StubShared {
  TempDir dir{"skiff-registry-stub"};
  std::unique_ptr<Server> server;
  int port = 0;
};

class StubRegistry : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto s = std::make_unique<StubShared>();
    auto layout = image::test::busybox_layout(s->dir);
    std::string script = skiff::test::source_path("tests/integration/image/registry_stub.py");
    s->server = std::make_unique<Server>(
        std::vector<std::string>{
            "sh", "-c",
            cat("exec python3 '", script, "' '", layout, "' 2>'", s->dir / "stub.err", "'")},
        s->dir / "stub.port");
    for (int i = 0; i < 200 && s->port == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      s->port = parse_int<int>(trim(s->server->log())).value_or(0);
    }
    if (s->port == 0 || !s->server->wait_for(s->port)) {
      ADD_FAILURE() << "registry stub did not start: "
                    << skiff::test::read_file(s->dir / "stub.err");
      return;
    }
    shared_ = std::move(s);
  }
  static void TearDownTestSuite() { shared_.reset(); }
  void SetUp() override {
    if (!shared_) GTEST_SKIP() << "the stub registry could not be started";
  }

  std::string name(const std::string& mode) const {
    return cat("127.0.0.1:", shared_->port, '/', mode, "/busybox");
  }
  image::test::json stats() const {
    auto r = skiff::test::run({"python3", "-c",
                               "import sys,urllib.request;"
                               "print(urllib.request.urlopen(sys.argv[1]).read().decode())",
                               cat("http://127.0.0.1:", shared_->port, "/stats")});
    return image::test::json::parse(r.out);
  }
  // Pulls `mode`'s image into a fresh store and expects an error containing each of
  // `needles`, and nothing left in the store.
  void expect_failure(const std::string& mode, const std::vector<std::string>& needles) {
    std::string root = tmp_ / ("failed-" + mode);
    auto store = image::Store::open(root);
    ASSERT_TRUE(store);
    auto o = fast_options();
    o.registry.insecure = true;
    auto r = pull_image(*store, name(mode), o);
    ASSERT_FALSE(r) << mode;
    std::string e = r.error().what();
    EXPECT_NE(e.find("pull `" + name(mode) + ":latest`"), std::string::npos) << e;
    for (const auto& n : needles) EXPECT_NE(e.find(n), std::string::npos) << n << " in: " << e;
    expect_untouched(root);
  }
  int blob_gets(const std::string& mode, const std::string& digest) {
    auto j = stats()["blob_gets"];
    std::string key = mode + "/" + digest;
    return j.contains(key) ? j[key].get<int>() : 0;
  }
  std::string layer_digest() {
    auto idx = image::test::json::parse(skiff::test::read_file(shared_->dir / "layout/index.json"));
    std::string m = idx["manifests"][0]["digest"];
    auto manifest = image::test::json::parse(
        skiff::test::read_file(shared_->dir / "layout/blobs/sha256/" + m.substr(7)));
    return manifest["layers"][0]["digest"];
  }

  TempDir tmp_{"skiff-pull-stub"};
  std::string root_ = tmp_ / "images";
  static std::unique_ptr<StubShared> shared_;
};

std::unique_ptr<StubShared> StubRegistry::shared_;

TEST_F(StubRegistry, WrongDigestNamesTheBlob) {
  expect_failure("corrupt", {"blob " + layer_digest(), "digest mismatch"});
}

TEST_F(StubRegistry, TruncatedBlobIsRetriedThenFails) {
  expect_failure("truncated", {"blob " + layer_digest(), "truncated", "after 3 attempts"});
  EXPECT_EQ(blob_gets("truncated", layer_digest()), 3);
}

TEST_F(StubRegistry, InterruptedBlobIsResumedWithARange) {
  auto store = image::Store::open(root_);
  ASSERT_TRUE(store);
  auto o = fast_options();
  o.registry.insecure = true;
  auto r = pull_image(*store, name("resume"), o);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->resumed, 1);
  EXPECT_EQ(blob_gets("resume", layer_digest()), 2);
  // The second request asked for exactly what the first one did not bring.
  auto ranges = stats()["ranges"];
  ASSERT_EQ(ranges.size(), 1u);
  auto layer =
      std::filesystem::file_size(shared_->dir / "layout/blobs/sha256/" + layer_digest().substr(7));
  EXPECT_EQ(ranges[0], cat("bytes=", layer / 2, '-'));
  // And the result is the verified blob.
  auto img = image::resolve_image(*store, name("resume"), image::host_platform());
  ASSERT_TRUE(img) << img.error().what();
  EXPECT_TRUE(store->has_blob(*image::parse_digest(layer_digest())));
}

TEST_F(StubRegistry, ShortBlobIsRefusedBeforeItIsRead) {
  expect_failure("short", {"blob " + layer_digest(), "the registry sends", "the descriptor says"});
}

TEST_F(StubRegistry, MissingBlobIs404AndNotRetried) {
  expect_failure("missing", {"blob " + layer_digest(), "HTTP 404", "BLOB_UNKNOWN"});
  EXPECT_EQ(blob_gets("missing", layer_digest()), 1);
}

TEST_F(StubRegistry, ServerErrorsAreRetried) {
  auto store = image::Store::open(root_);
  ASSERT_TRUE(store);
  auto o = fast_options();
  o.registry.insecure = true;
  auto r = pull_image(*store, name("flaky"), o);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(blob_gets("flaky", layer_digest()), 2);  // a 500, then the blob
  expect_failure("down", {"manifest `latest`", "HTTP 503", "after 3 attempts"});
}

TEST_F(StubRegistry, BearerTokenAndRedirectToBlobStorage) {
  auto before = stats();
  auto store = image::Store::open(root_);
  ASSERT_TRUE(store);
  auto o = fast_options();
  o.registry.insecure = true;
  auto r = pull_image(*store, name("token"), o);
  ASSERT_TRUE(r) << r.error().what();
  auto after = stats();
  // One token for the repository, used for the manifest and both blobs.
  EXPECT_EQ(after["token"].get<int>() - before["token"].get<int>(), 1);
  EXPECT_EQ(after["scopes"].back(), "repository:token/busybox:pull");
  // Both blobs came from the other origin, and no credentials went there.
  EXPECT_EQ(after["storage_gets"].get<int>() - before["storage_gets"].get<int>(), 2);
  EXPECT_EQ(after["storage_with_auth"].get<int>(), 0);
  auto img = image::resolve_image(*store, name("token"), image::host_platform());
  EXPECT_TRUE(img) << img.error().what();
}

TEST_F(StubRegistry, BadManifests) {
  expect_failure("mediatype", {"unknown manifest media type", "application/vnd.example.thing"});
  expect_failure("malformed", {"manifest `latest`", "invalid JSON"});
}

}  // namespace
}  // namespace skiff::registry
