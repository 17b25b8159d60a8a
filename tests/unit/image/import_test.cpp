// Importing OCI layouts (directory and tar) and docker-archives: the same image either way, names,
// platforms, and bad input that must leave the store exactly as it was.
#include "oci/image/import.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "common/fs.hpp"
#include "oci/image/images.hpp"
#include "tests/unit/image/image_test_util.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // GCC bug 96868

namespace skiff::image {
namespace {

using test::Entry;
using test::json;
using test::LayoutBuilder;

class Import : public ::testing::Test {
 protected:
  Store open_store(const std::string& name = "store") {
    auto s = Store::open(tmp_ / name);
    EXPECT_TRUE(s) << s.error().what();
    return std::move(*s);
  }

  // Imports; the error text or "".
  std::string import(Store& store, const std::string& path, const std::string& name = "",
                     std::optional<Platform> platform = std::nullopt) {
    ImportOptions o;
    o.name = name;
    if (platform) o.platform = *platform;
    auto r = import_archive(store, path, o);
    if (r) imported_ = *r;
    return r ? "" : r.error().what();
  }

  Image resolve(const Store& store, const std::string& name) {
    auto img = resolve_image(store, name, host_platform());
    EXPECT_TRUE(img) << img.error().what();
    return img ? *img : Image{};
  }

  // A small two-layer image in a fresh layout; returns the layout.
  LayoutBuilder small_layout(const std::string& dir, const std::string& compression = "gzip",
                             const std::string& content = "hi") {
    LayoutBuilder b(tmp_ / dir);
    json m = b.add_image({test::make_tar({{.name = "etc/hello", .data = content}}),
                          test::make_tar({{.name = "etc/.wh.hello"}, {.name = "new"}})},
                         compression);
    b.write_index({{m, "1.0"}});
    return b;
  }

  test::TempDir tmp_{"skiff-import"};
  std::vector<ImportedImage> imported_;
};

// A docker-archive like `docker save` writes it, made by hand from an image's parts.
std::string docker_archive(const std::string& config, const std::vector<std::string>& layers,
                           const json& repo_tags) {
  std::vector<Entry> entries;
  std::string config_name = test::sha256_hex(config) + ".json";
  entries.push_back({.name = config_name, .data = config});
  json layer_names = json::array();
  for (size_t i = 0; i < layers.size(); ++i) {
    std::string dir = "layer" + std::to_string(i);
    entries.push_back({.name = dir + "/layer.tar", .data = layers[i]});
    // docker's indirection: the manifest names a symlink.
    entries.push_back({.name = "l" + std::to_string(i) + ".tar",
                       .type = "symlink",
                       .target = dir + "/layer.tar"});
    layer_names.push_back("l" + std::to_string(i) + ".tar");
  }
  json manifest =
      json::array({{{"Config", config_name}, {"RepoTags", repo_tags}, {"Layers", layer_names}}});
  entries.push_back({.name = "manifest.json", .data = manifest.dump()});
  return test::make_tar(entries);
}

TEST_F(Import, LayoutDirLayoutTarAndDockerArchiveGiveTheSameImage) {
  std::string layout = test::busybox_layout(tmp_);
  Store a = open_store("a"), b = open_store("b"), c = open_store("c");
  ASSERT_EQ(import(a, layout, "busybox"), "");
  ASSERT_EQ(imported_.size(), 1u);
  EXPECT_EQ(imported_[0].name, "docker.io/library/busybox:latest");  // the layout's tag

  // The layout as a tar (oci-archive), compressed for good measure.
  auto r = skiff::test::sh("tar -C '" + layout + "' -czf '" + tmp_ / "layout.tar.gz" + "' .");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(import(b, tmp_ / "layout.tar.gz", "busybox"), "");

  // A docker-archive of the same image: skopeo's when there is one, else made here.
  std::string archive = tmp_ / "docker.tar";
  if (skiff::test::sh("command -v skopeo >/dev/null").exit_code == 0) {
    r = skiff::test::run({"skopeo", "copy", "oci:" + layout + ":latest",
                          "docker-archive:" + archive + ":busybox:latest"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  } else {
    Image img = resolve(a, "busybox");
    auto blob = [&](const Digest& d) { return skiff::test::read_file(a.blob_path(d)); };
    auto g = skiff::test::run({"gzip", "-dc", a.blob_path(img.manifest.layers[0].digest)});
    skiff::test::write_file(archive, docker_archive(blob(img.id()), {g.out}, {"busybox:latest"}));
  }
  ASSERT_EQ(import(c, archive), "");  // named by its RepoTags
  EXPECT_EQ(imported_[0].name, "docker.io/library/busybox:latest");

  Image ia = resolve(a, "busybox"), ib = resolve(b, "busybox"), ic = resolve(c, "busybox");
  EXPECT_EQ(ia.target.digest, ib.target.digest);  // the very same blobs
  EXPECT_EQ(ia.id(), ic.id());                    // the same config: image id
  EXPECT_EQ(ia.config.diff_ids, ic.config.diff_ids);
  EXPECT_EQ(ia.chain_ids, ic.chain_ids);  // so the same snapshots
  EXPECT_EQ(ic.manifest.layers[0].media_type, "application/vnd.oci.image.layer.v1.tar");
  EXPECT_EQ(ic.manifest.layers[0].digest, ic.config.diff_ids[0]);

  // Importing again changes nothing; the staging areas are gone.
  auto before = test::tree(tmp_ / "a");
  ASSERT_EQ(import(a, layout, "busybox"), "");
  EXPECT_EQ(test::tree(tmp_ / "a"), before);
  EXPECT_TRUE(test::tree(tmp_ / "a/ingest").empty());
}

TEST_F(Import, ZstdAndPlainLayersToo) {
  for (std::string how : {"", "zstd"}) {
    if (how == "zstd" && !test::have_zstd()) continue;
    SCOPED_TRACE(how);
    Store s = open_store("s" + how);
    small_layout("layout" + how, how);
    ASSERT_EQ(import(s, tmp_ / ("layout" + how), "app"), "");
    EXPECT_EQ(resolve(s, "app:1.0").manifest.layers.size(), 2u);
  }
}

TEST_F(Import, NamesFromTheUserOrTheArchive) {
  LayoutBuilder b(tmp_ / "multi");
  json one = b.add_image({test::make_tar({{.name = "one"}})});
  json two = b.add_image({test::make_tar({{.name = "two"}})});
  json full = b.add_image({test::make_tar({{.name = "three"}})});
  b.write_index({{one, "1.0"}, {two, "2.0"}, {full, "quay.io/x/y:3"}});
  Store s = open_store();

  std::string err = import(s, b.dir());
  EXPECT_NE(err.find("only tagged `1.0` in the archive: give a name"), std::string::npos) << err;
  ASSERT_EQ(import(s, b.dir(), "app"), "");
  std::vector<std::string> names;
  auto refs = s.refs();
  ASSERT_TRUE(refs);
  for (const auto& r : *refs) names.push_back(r.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"docker.io/library/app:1.0", "docker.io/library/app:2.0",
                                      "docker.io/library/app:3"}));
  Store t = open_store("t");
  ASSERT_EQ(import(t, b.dir(), "other:2.0"), "");  // only the image the layout tags 2.0
  ASSERT_EQ(t.refs()->size(), 1u);
  EXPECT_EQ(resolve(t, "other:2.0").target.digest.str(), two["digest"]);
  EXPECT_NE(import(t, b.dir(), "other:9").find("none or several are tagged `9`"),
            std::string::npos);
  EXPECT_NE(import(t, b.dir(), "x@sha256:" + std::string(64, 'a')).find("give NAME or NAME:TAG"),
            std::string::npos);
}

TEST_F(Import, AnIndexImportsOnlyThisPlatform) {
  LayoutBuilder b(tmp_ / "index");
  std::string other = test::host_arch() == "arm64" ? "amd64" : "arm64";
  json mine = b.add_image({test::make_tar({{.name = "mine"}})});
  json theirs =
      b.add_image({test::make_tar({{.name = "theirs"}})}, "gzip", {{"architecture", other}});
  mine["platform"] = {{"os", "linux"}, {"architecture", test::host_arch()}};
  theirs["platform"] = {{"os", "linux"}, {"architecture", other}};
  json index = b.add_index({theirs, mine});
  b.write_index({{index, "multi"}});
  Store s = open_store();
  ASSERT_EQ(import(s, b.dir(), "app"), "");
  EXPECT_EQ(imported_[0].target.digest.str(), index["digest"]);
  EXPECT_EQ(imported_[0].manifest.str(), mine["digest"]);
  Image img = resolve(s, "app:multi");
  EXPECT_EQ(img.manifest_descriptor.digest.str(), mine["digest"]);
  EXPECT_FALSE(s.has_blob(*parse_digest(theirs["digest"].get<std::string>())));
  auto r = resolve_image(s, "app:multi", *parse_platform(other));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("the store has no manifest for linux/" + other),
            std::string::npos)
      << r.error().what();
  // Found by name@digest (of the index or of the manifest in it) and by id prefix.
  EXPECT_TRUE(resolve_image(s, "app@" + index["digest"].get<std::string>(), host_platform()));
  EXPECT_TRUE(resolve_image(s, "app@" + mine["digest"].get<std::string>(), host_platform()));
  EXPECT_EQ(resolve(s, img.id().short_hex()).target.digest, img.target.digest);
  EXPECT_NE(resolve_image(s, "nothere", host_platform())
                .error()
                .what()
                .find("image `nothere` not found (looked for `docker.io/library/nothere:latest`)"),
            std::string::npos);
}

// --- bad input: a clear error, and the store exactly as before ----------------------------------

struct Bad {
  const char* name;
  // Breaks the layout at `dir` (a small two-layer image tagged 1.0) or returns another path.
  std::function<std::string(LayoutBuilder& b, const std::string& tmp)> make;
  std::vector<std::string> errors;  // each must appear in the message
};

class BadInput : public Import, public ::testing::WithParamInterface<Bad> {};

// The manifest (and config, layers) of the small layout.
json manifest_of(LayoutBuilder& b) {
  auto index = json::parse(skiff::test::read_file(b.dir() + "/index.json"));
  return json::parse(skiff::test::read_file(b.blob_path(index["manifests"][0]["digest"])));
}

// Replaces the layout's image by `m` (re-stored, re-indexed).
void replace_manifest(LayoutBuilder& b, const json& m) {
  b.write_index({{b.add_blob(m.dump(), "application/vnd.oci.image.manifest.v1+json"), "1.0"}});
}

TEST_P(BadInput, ClearErrorAndNothingLeftInTheStore) {
  LayoutBuilder b = small_layout("layout");
  std::string path = GetParam().make(b, tmp_.path());
  Store s = open_store();
  // A store with another image already in it must keep exactly that.
  ASSERT_EQ(import(s, small_layout("good", "gzip", "other content").dir(), "good"), "");
  auto before = test::tree(tmp_ / "store");
  auto refs_before = skiff::test::read_file(tmp_ / "store/refs.json");
  std::string err = import(s, path.empty() ? b.dir() : path, "app");
  ASSERT_FALSE(err.empty());
  EXPECT_NE(err.find("import `"), std::string::npos) << err;
  for (const auto& e : GetParam().errors) EXPECT_NE(err.find(e), std::string::npos) << err;
  EXPECT_EQ(test::tree(tmp_ / "store"), before);
  EXPECT_EQ(skiff::test::read_file(tmp_ / "store/refs.json"), refs_before);
}

const Bad kBad[] = {
    {"WrongDigest",
     [](LayoutBuilder& b, auto&) {
       json m = manifest_of(b);
       std::string layer = m["layers"][0]["digest"];
       std::string content = skiff::test::read_file(b.blob_path(layer));
       content[content.size() - 5] ^= 1;
       skiff::test::write_file(b.blob_path(layer), content);
       return std::string();
     },
     {"image `docker.io/library/app:1.0`", "blob sha256:", "digest mismatch: content is sha256:"}},
    {"TruncatedBlob",
     [](LayoutBuilder& b, auto&) {
       json m = manifest_of(b);
       std::string layer = m["layers"][0]["digest"];
       std::string content = skiff::test::read_file(b.blob_path(layer));
       skiff::test::write_file(b.blob_path(layer), content.substr(0, 10));
       return std::string();
     },
     {"blob " + std::string("sha256:"), "size mismatch: read 10 bytes", "(truncated?)"}},
    {"MissingBlob",
     [](LayoutBuilder& b, auto&) {
       std::filesystem::remove(b.blob_path(manifest_of(b)["config"]["digest"]));
       return std::string();
     },
     {"image `docker.io/library/app:1.0`: blob sha256:", " is missing"}},
    {"UnknownLayerMediaType",
     [](LayoutBuilder& b, auto&) {
       json m = manifest_of(b);
       m["layers"][1]["mediaType"] = "application/vnd.example.weird";
       replace_manifest(b, m);
       return std::string();
     },
     {"manifest sha256:",
      "layers[1].mediaType: unknown layer media type "
      "`application/vnd.example.weird`"}},
    {"UnknownManifestMediaType",
     [](LayoutBuilder& b, auto&) {
       json d = b.add_blob(manifest_of(b).dump(), "application/vnd.example.manifest");
       b.write_index({{d, "1.0"}});
       return std::string();
     },
     {"unknown manifest media type `application/vnd.example.manifest`"}},
    {"MalformedManifestJson",
     [](LayoutBuilder& b, auto&) {
       b.write_index(
           {{b.add_blob("{\"schemaVersion\": 2,", "application/vnd.oci.image.manifest.v1+json"),
             "1.0"}});
       return std::string();
     },
     {"image `docker.io/library/app:1.0`", "invalid JSON in blob sha256:"}},
    {"ManifestWithoutConfig",
     [](LayoutBuilder& b, auto&) {
       json m = manifest_of(b);
       m.erase("config");
       replace_manifest(b, m);
       return std::string();
     },
     {"manifest sha256:", "config: required"}},
    {"DiffIdsDoNotMatchLayers",
     [](LayoutBuilder& b, auto&) {
       json m = manifest_of(b);
       m["layers"].erase(1);
       replace_manifest(b, m);
       return std::string();
     },
     {"lists 2 diff_ids but manifest sha256:", "has 1 layers"}},
    {"NoMatchingPlatformInIndex",
     [](LayoutBuilder& b, auto&) {
       auto index = json::parse(skiff::test::read_file(b.dir() + "/index.json"));
       json d = index["manifests"][0];
       d["platform"] = {{"os", "linux"}, {"architecture", "s390x"}};
       d.erase("annotations");
       b.write_index({{b.add_index(json::array({d})), "1.0"}});
       return std::string();
     },
     {"index sha256:",
      "no manifest for linux/" + host_platform().architecture + " (the index has linux/s390x)"}},
    {"ConfigForAnotherPlatform",
     [](LayoutBuilder& b, auto&) {
       json m = b.add_image({test::make_tar({{.name = "x"}})}, "gzip", {{"architecture", "s390x"}});
       b.write_index({{m, "1.0"}});
       return std::string();
     },
     {"image is for linux/s390x, not linux/"}},
    {"CorruptBlobInOciArchive",
     [](LayoutBuilder& b, const std::string& tmp) {
       json m = manifest_of(b);
       std::string layer = m["layers"][0]["digest"];
       std::string content = skiff::test::read_file(b.blob_path(layer));
       content[20] ^= 1;
       skiff::test::write_file(b.blob_path(layer), content);
       skiff::test::sh("tar -C '" + b.dir() + "' -cf '" + tmp + "/bad.tar' .");
       return tmp + "/bad.tar";
     },
     {"blob `blobs/sha256/", "is corrupt: its content has digest sha256:"}},
    {"DockerArchiveLayerNotItsDiffId",
     [](LayoutBuilder& b, const std::string& tmp) {
       std::string layer = test::make_tar({{.name = "a"}});
       json config = {
           {"architecture", test::host_arch()},
           {"os", "linux"},
           {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:" + std::string(64, '1')}}}}};
       skiff::test::write_file(tmp + "/d.tar", docker_archive(config.dump(), {layer}, {"x:1"}));
       return tmp + "/d.tar";
     },
     {"layer `l0.tar` has digest sha256:", "but the config's diff_ids[0] is sha256:1111"}},
    {"NotAnArchive",
     [](LayoutBuilder& b, const std::string& tmp) {
       skiff::test::write_file(tmp + "/junk", std::string(3000, 'j'));
       return tmp + "/junk";
     },
     {"import `", "junk`"}},
    {"TarWithoutImages",
     [](LayoutBuilder& b, const std::string& tmp) {
       skiff::test::write_file(tmp + "/empty.tar", test::make_tar({{.name = "README"}}));
       return tmp + "/empty.tar";
     },
     {"neither an OCI image layout nor a docker-archive"}},
};

INSTANTIATE_TEST_SUITE_P(Cases, BadInput, ::testing::ValuesIn(kBad),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace skiff::image
