// The image-spec model: digests, chain IDs, references, platforms, and manifests/indexes/configs
// parsed with errors that name the JSON path.
#include <gtest/gtest.h>

#include "oci/image/digest.hpp"
#include "oci/image/image_spec.hpp"
#include "oci/image/media_types.hpp"
#include "oci/image/platform.hpp"
#include "oci/image/reference.hpp"

namespace skiff::image {
namespace {

const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');

TEST(Digest, ParsesSha256Only) {
  auto d = parse_digest(kA);
  ASSERT_TRUE(d) << d.error().what();
  EXPECT_EQ(d->algorithm, "sha256");
  EXPECT_EQ(d->str(), kA);
  EXPECT_EQ(d->short_hex(), "aaaaaaaaaaaa");
  for (std::string bad : std::vector<std::string>{
           "sha256:abc", "sha256:" + std::string(64, 'A'), std::string(64, 'a'),
           "sha512:" + std::string(128, 'a'), "sha256:" + std::string(63, 'a') + "g"}) {
    auto r = parse_digest(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().what().find(bad.substr(0, 10)), std::string::npos) << r.error().what();
  }
}

TEST(Digest, Sha256KnownVectorsAndStreaming) {
  EXPECT_EQ(sha256_of("")->hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_of("abc")->hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto h = Sha256::create();
  ASSERT_TRUE(h);
  h->update("a");
  h->update("bc");
  EXPECT_EQ(h->finish(), *sha256_of("abc"));
  EXPECT_EQ(h->finish(), *sha256_of(""));  // starts over after finish
}

// The portable SHA-256 that sha256_of uses for data in memory: FIPS 180-4's vectors, and the same
// digest as libcrypto's (Sha256) at every length across the one- and two-block padding edges and
// for larger inputs.
// OpenSSL's low-level SHA-256 (linked from libcrypto.a) against FIPS 180-4's examples and against
// libcrypto.so's EVP for every length 0..300 and at the size limit.
TEST(Digest, InMemorySha256MatchesLibcrypto) {
  EXPECT_EQ(sha256_in_memory("abc").hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_in_memory("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").hex,
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_in_memory(std::string(1000000, 'a')).hex,
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  auto h = Sha256::create();
  ASSERT_TRUE(h) << h.error().what();
  std::string data;
  uint32_t x = 12345;
  for (size_t n = 0; n <= 300; ++n) {
    h->update(data);
    ASSERT_EQ(sha256_in_memory(data), h->finish()) << n << " bytes";
    x = x * 1103515245 + 12345;
    data.push_back(static_cast<char>(x >> 16));
  }
  data.resize(kSha256InMemoryMax + 1, 'x');
  h->update(data);
  EXPECT_EQ(*sha256_of(data), h->finish());  // beyond the limit: libcrypto
  data.resize(kSha256InMemoryMax);
  h->update(data);
  EXPECT_EQ(*sha256_of(data), h->finish());
}

TEST(Digest, ChainIdsFollowTheImageSpec) {
  auto ids = chain_ids({*parse_digest(kA), *parse_digest(kB), *parse_digest(kC)});
  ASSERT_TRUE(ids);
  ASSERT_EQ(ids->size(), 3u);
  EXPECT_EQ((*ids)[0].str(), kA);  // ChainID(L0) = DiffID(L0)
  EXPECT_EQ((*ids)[1].str(),
            "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c");
  EXPECT_EQ((*ids)[2].str(),
            "sha256:c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588");
}

TEST(Reference, NormalizesLikeDocker) {
  const std::pair<const char*, const char*> cases[] = {
      {"busybox", "docker.io/library/busybox:latest"},
      {"busybox:1.36", "docker.io/library/busybox:1.36"},
      {"library/busybox", "docker.io/library/busybox:latest"},
      {"docker.io/busybox", "docker.io/library/busybox:latest"},
      {"index.docker.io/busybox", "docker.io/library/busybox:latest"},
      {"me/app:v1", "docker.io/me/app:v1"},
      {"quay.io/coreos/etcd:v3.5", "quay.io/coreos/etcd:v3.5"},
      {"localhost/app", "localhost/app:latest"},
      {"localhost:5000/a/b/c:t_1.0-x", "localhost:5000/a/b/c:t_1.0-x"},
      {"registry.local:443/x__y.z-w", "registry.local:443/x__y.z-w:latest"},
  };
  for (auto [in, want] : cases) {
    auto r = parse_reference(in);
    ASSERT_TRUE(r) << in << ": " << r.error().what();
    EXPECT_EQ(r->str(), want) << in;
  }
  auto d = parse_reference("busybox@" + kA);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->str(), "docker.io/library/busybox@" + kA);
  EXPECT_TRUE(d->tag.empty());
  auto both = parse_reference("quay.io/x:1@" + kA);
  ASSERT_TRUE(both);
  EXPECT_EQ(both->str(), "quay.io/x:1@" + kA);
  EXPECT_EQ(both->repository(), "quay.io/x");
}

TEST(Reference, RefusesBadNames) {
  for (std::string bad : std::vector<std::string>{
           "", "Busybox", "busybox:", "busybox:-x", "a//b", "a/-b", "bu$y", "busybox@sha256:1",
           ":tag", "a:" + std::string(129, 't'), "a/b_/c", "quay.io/A/b"}) {
    auto r = parse_reference(bad);
    EXPECT_FALSE(r) << bad << " -> " << (r ? r->str() : "");
    if (!r) {
      EXPECT_NE(r.error().what().find("invalid image reference"), std::string::npos);
    }
  }
}

TEST(Platform, ParsesAndNormalizes) {
  EXPECT_EQ(parse_platform("linux/amd64")->str(), "linux/amd64");
  EXPECT_EQ(parse_platform("linux/x86_64")->str(), "linux/amd64");
  EXPECT_EQ(parse_platform("arm64")->str(), "linux/arm64");
  EXPECT_EQ(parse_platform("linux/aarch64/v8")->str(), "linux/arm64");
  EXPECT_EQ(parse_platform("linux/arm/7")->str(), "linux/arm/v7");
  EXPECT_EQ(parse_platform("linux/armhf")->str(), "linux/arm/v7");
  EXPECT_FALSE(parse_platform("linux//v7"));
  EXPECT_FALSE(parse_platform("a/b/c/d"));
  Platform host = host_platform();
  EXPECT_EQ(host.os, "linux");
  EXPECT_FALSE(host.architecture.empty());
}

TEST(Platform, VariantsAreOrdered) {
  Platform v7{"linux", "arm", "v7", "", {}};
  EXPECT_EQ(platform_rank(v7, {"linux", "arm", "v7", "", {}}), 0);
  EXPECT_EQ(platform_rank(v7, {"linux", "arm", "v6", "", {}}), 1);
  EXPECT_EQ(platform_rank(v7, {"linux", "arm", "v5", "", {}}), 2);
  EXPECT_EQ(platform_rank(v7, {"linux", "arm", "v8", "", {}}), std::nullopt);
  EXPECT_EQ(platform_rank(v7, {"linux", "arm", "", "", {}}), 0);  // arm means v7
  EXPECT_EQ(platform_rank(v7, {"linux", "arm64", "", "", {}}), std::nullopt);
  EXPECT_EQ(platform_rank(v7, {"windows", "arm", "v7", "", {}}), std::nullopt);
  Platform amd64{"linux", "amd64", "", "", {}};
  EXPECT_EQ(platform_rank(amd64, {"linux", "amd64", "v1", "", {}}), 0);
  EXPECT_EQ(platform_rank(amd64, {"linux", "amd64", "v3", "", {}}), std::nullopt);
  EXPECT_EQ(platform_rank({"linux", "amd64", "v3", "", {}}, {"linux", "amd64", "v2", "", {}}), 1);
  EXPECT_EQ(platform_rank({"linux", "arm64", "v8", "", {}}, {"linux", "arm64", "", "", {}}), 0);
}

Descriptor manifest_for(const std::string& arch, const std::string& variant, char fill) {
  Descriptor d;
  d.media_type = std::string(media::kOciManifest);
  d.digest = *parse_digest("sha256:" + std::string(64, fill));
  d.size = 100;
  d.platform = Platform{"linux", arch, variant, "", {}};
  return d;
}

TEST(Platform, SelectsTheBestManifestOrSaysWhatThereIs) {
  Index index;
  index.manifests = {manifest_for("amd64", "", 'a'), manifest_for("arm", "v6", 'b'),
                     manifest_for("arm", "v7", 'c'), manifest_for("arm64", "v8", 'd')};
  EXPECT_EQ(select_manifest(index, {"linux", "arm", "v7", "", {}})->digest.hex[0], 'c');
  EXPECT_EQ(select_manifest(index, {"linux", "arm", "v6", "", {}})->digest.hex[0], 'b');
  EXPECT_EQ(select_manifest(index, {"linux", "arm64", "", "", {}})->digest.hex[0], 'd');
  EXPECT_EQ(select_manifest(index, {"linux", "amd64", "", "", {}})->digest.hex[0], 'a');
  index.manifests.erase(index.manifests.begin() + 2);  // no arm/v7: v6 is next best
  EXPECT_EQ(select_manifest(index, {"linux", "arm", "v7", "", {}})->digest.hex[0], 'b');
  auto none = select_manifest(index, {"linux", "s390x", "", "", {}});
  ASSERT_FALSE(none);
  EXPECT_EQ(
      none.error().what(),
      "no manifest for linux/s390x (the index has linux/amd64, linux/arm/v6, linux/arm64/v8)");
}

Json good_manifest() {
  return {{"schemaVersion", 2},
          {"mediaType", media::kOciManifest},
          {"config", {{"mediaType", media::kOciConfig}, {"digest", kA}, {"size", 10}}},
          {"layers",
           {{{"mediaType", media::kOciLayerGzip}, {"digest", kB}, {"size", 20}},
            {{"mediaType", media::kDockerLayerGzip}, {"digest", kC}, {"size", 30}}}}};
}

std::string manifest_error(const std::function<void(Json&)>& edit) {
  Json j = good_manifest();
  edit(j);
  auto m = parse_manifest(j);
  return m ? "" : m.error().what();
}

TEST(ImageSpec, ParsesAManifest) {
  auto m = parse_manifest(good_manifest());
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->config.digest.str(), kA);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[1].size, 30);
  EXPECT_EQ(to_json(*m), good_manifest());
}

TEST(ImageSpec, ManifestErrorsNameTheJsonPath) {
  EXPECT_EQ(manifest_error([](Json& j) { j["layers"][1]["digest"] = 5; }),
            "layers[1].digest: expected string, got integer");
  EXPECT_EQ(manifest_error([](Json& j) { j["layers"][0]["digest"] = "sha256:zz"; }),
            "layers[0].digest: invalid digest `sha256:zz`: want 64 lowercase hex digits after "
            "`sha256:`");
  EXPECT_EQ(manifest_error([](Json& j) { j["layers"][1]["mediaType"] = "text/plain"; }),
            "layers[1].mediaType: unknown layer media type `text/plain`");
  EXPECT_EQ(manifest_error([](Json& j) { j["config"]["size"] = -1; }),
            "config.size: must not be negative");
  EXPECT_EQ(manifest_error([](Json& j) { j.erase("layers"); }), "layers: required");
  EXPECT_EQ(manifest_error([](Json& j) { j["schemaVersion"] = 1; }),
            "schemaVersion: want 2, got 1");
  EXPECT_EQ(manifest_error([](Json& j) { j["config"]["mediaType"] = "application/x-artifact"; }),
            "config.mediaType: `application/x-artifact` is not a container image config (an OCI "
            "artifact?)");
  EXPECT_EQ(manifest_error([](Json& j) {
              j["layers"][0]["annotations"] = {{"a", 1}};
            }),
            "layers[0].annotations.a: expected string, got integer");
  EXPECT_EQ(manifest_error([](Json& j) { j = Json::array(); }), "expected object, got array");
}

TEST(ImageSpec, IndexesAndPlatforms) {
  Json j = {{"schemaVersion", 2},
            {"mediaType", media::kDockerManifestList},
            {"manifests",
             {{{"mediaType", media::kDockerManifest},
               {"digest", kA},
               {"size", 1},
               {"platform", {{"os", "linux"}, {"architecture", "arm"}, {"variant", "v7"}}}}}}};
  auto i = parse_index(j);
  ASSERT_TRUE(i) << i.error().what();
  EXPECT_EQ(i->manifests[0].platform->str(), "linux/arm/v7");
  j["manifests"][0]["platform"].erase("os");
  EXPECT_EQ(parse_index(j).error().what(), "manifests[0].platform.os: required");
  j["manifests"] = 3;
  EXPECT_EQ(parse_index(j).error().what(), "manifests: expected array, got integer");
}

TEST(ImageSpec, DocumentKind) {
  EXPECT_EQ(*document_kind(Json::object(), media::kOciIndex), DocumentKind::kIndex);
  EXPECT_EQ(*document_kind(good_manifest(), ""), DocumentKind::kManifest);
  EXPECT_EQ(*document_kind({{"manifests", Json::array()}}, ""), DocumentKind::kIndex);
  EXPECT_EQ(document_kind(Json::object(), "application/x-foo").error().what(),
            "unknown manifest media type `application/x-foo`");
  EXPECT_NE(document_kind({{"fsLayers", Json::array()}}, "").error().what().find("schema 1"),
            std::string::npos);
  EXPECT_FALSE(document_kind(Json::object(), ""));
}

TEST(ImageSpec, Config) {
  Json j = {{"architecture", "amd64"},
            {"os", "linux"},
            {"config",
             {{"User", "1000:1000"},
              {"Env", {"A=1"}},
              {"Entrypoint", {"/bin/app"}},
              {"Cmd", nullptr},
              {"WorkingDir", "/srv"},
              {"Labels", {{"k", "v"}}},
              {"ExposedPorts", {{"80/tcp", Json::object()}}},
              {"StopSignal", "SIGQUIT"}}},
            {"rootfs", {{"type", "layers"}, {"diff_ids", {kA, kB}}}},
            {"history", {Json::object(), Json::object()}}};
  auto c = parse_config(j);
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->config.user, "1000:1000");
  EXPECT_EQ(c->config.entrypoint, std::vector<std::string>{"/bin/app"});
  EXPECT_TRUE(c->config.cmd.empty());
  EXPECT_EQ(c->config.exposed_ports, std::vector<std::string>{"80/tcp"});
  EXPECT_EQ(c->config.stop_signal, "SIGQUIT");
  EXPECT_EQ(c->diff_ids.size(), 2u);
  EXPECT_EQ(c->history_entries, 2u);
  j["rootfs"]["diff_ids"][1] = "md5:x";
  EXPECT_EQ(parse_config(j).error().what(),
            "rootfs.diff_ids[1]: unsupported digest algorithm `md5` in `md5:x` (only sha256)");
  j["config"]["Env"] = {1};
  EXPECT_EQ(parse_config(j).error().what(), "config.Env[0]: expected string, got integer");
}

}  // namespace
}  // namespace skiff::image
