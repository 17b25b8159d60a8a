#pragma once
// Builders for the image tests (header-only, shared by the unit and integration lanes): tars from
// a list of entries (make_tar.py, which also writes the malicious ones real tar tools refuse),
// compressed with gzip or zstd, and OCI image layouts holding images made of them.

#include <sys/utsname.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "oci/image/digest.hpp"
#include "oci/image/platform.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::image::test {

using nlohmann::json;
using skiff::test::TempDir;

struct Entry {
  std::string name;
  std::string type = "file";  // file dir symlink hardlink chr blk fifo
  std::string data;
  std::string target;
  int mode = -1;  // default: 0644 files, 0755 dirs
  int uid = 0, gid = 0;
  int64_t mtime = 1000000000;
  int major = 0, minor = 0;
  std::map<std::string, std::string> xattrs;
};

inline std::string sha256_hex(const std::string& data) {
  auto d = sha256_of(data);
  return d ? d->hex : std::string();
}

inline std::string digest_of(const std::string& data) { return "sha256:" + sha256_hex(data); }

// An uncompressed tar of `entries`; `format`: pax, gnu or ustar.
inline std::string make_tar(const std::vector<Entry>& entries, const std::string& format = "pax") {
  json list = json::array();
  for (const auto& e : entries) {
    json j = {{"name", e.name},   {"type", e.type},    {"data", e.data},   {"target", e.target},
              {"uid", e.uid},     {"gid", e.gid},      {"mtime", e.mtime}, {"major", e.major},
              {"minor", e.minor}, {"xattrs", e.xattrs}};
    if (e.mode >= 0) j["mode"] = e.mode;
    list.push_back(j);
  }
  auto r = skiff::test::run(
      {"python3", skiff::test::source_path("tests/unit/image/make_tar.py"), format}, list.dump());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// `data` through `gzip -n` or `zstd` ("" leaves it as is).
inline std::string compress(const std::string& data, const std::string& how) {
  if (how.empty()) return data;
  TempDir tmp("skiff-compress");
  skiff::test::write_file(tmp / "in", data);
  std::string cmd = how == "gzip" ? "gzip -n -c" : "zstd -q -c";
  auto r = skiff::test::sh(cmd + " '" + tmp / "in" + "' > '" + tmp / "out" + "'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return skiff::test::read_file(tmp / "out");
}

inline bool have_zstd() { return skiff::test::sh("command -v zstd >/dev/null").exit_code == 0; }

inline std::string host_arch() { return host_platform().architecture; }

inline std::string layer_media_type(const std::string& compression) {
  if (compression == "gzip") return "application/vnd.oci.image.layer.v1.tar+gzip";
  if (compression == "zstd") return "application/vnd.oci.image.layer.v1.tar+zstd";
  return "application/vnd.oci.image.layer.v1.tar";
}

// An OCI image layout being written: blobs, then images, then index.json.
class LayoutBuilder {
 public:
  explicit LayoutBuilder(std::string dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_ + "/blobs/sha256");
    skiff::test::write_file(dir_ + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  }
  const std::string& dir() const { return dir_; }
  std::string blob_path(const std::string& digest) const {
    return dir_ + "/blobs/sha256/" + digest.substr(7);
  }

  // Stores `content`; returns its descriptor.
  json add_blob(const std::string& content, const std::string& media_type) {
    std::string digest = digest_of(content);
    skiff::test::write_file(blob_path(digest), content);
    return {{"mediaType", media_type}, {"digest", digest}, {"size", content.size()}};
  }

  // An image of `layers` (uncompressed tars, compressed here with `compression`); `config` is
  // merged into the default config (host platform, Cmd ["sh"]). Returns the manifest descriptor.
  json add_image(const std::vector<std::string>& layers, const std::string& compression = "gzip",
                 const json& config = json::object()) {
    json diff_ids = json::array(), descriptors = json::array();
    for (const auto& tar : layers) {
      diff_ids.push_back(digest_of(tar));
      descriptors.push_back(add_blob(compress(tar, compression), layer_media_type(compression)));
    }
    return add_manifest(descriptors, diff_ids, config);
  }

  // An image whose manifest lists `layer_descriptors` (already added) with `diff_ids`.
  json add_manifest(const json& layer_descriptors, const json& diff_ids,
                    const json& config = json::object()) {
    json c = {{"architecture", host_arch()},
              {"os", "linux"},
              {"config", {{"Cmd", {"sh"}}}},
              {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
    c.merge_patch(config);
    json m = {{"schemaVersion", 2},
              {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
              {"config", add_blob(c.dump(), "application/vnd.oci.image.config.v1+json")},
              {"layers", layer_descriptors}};
    return add_blob(m.dump(), "application/vnd.oci.image.manifest.v1+json");
  }

  // An image index over `manifests` (descriptors, each given a "platform").
  json add_index(const json& manifests) {
    json i = {{"schemaVersion", 2},
              {"mediaType", "application/vnd.oci.image.index.v1+json"},
              {"manifests", manifests}};
    return add_blob(i.dump(), "application/vnd.oci.image.index.v1+json");
  }

  // Writes index.json listing `entries` (descriptors), each tagged `ref` when given.
  void write_index(const std::vector<std::pair<json, std::string>>& entries) {
    json manifests = json::array();
    for (auto [d, ref] : entries) {
      if (!ref.empty()) d["annotations"] = {{"org.opencontainers.image.ref.name", ref}};
      manifests.push_back(d);
    }
    skiff::test::write_file(dir_ + "/index.json",
                            json{{"schemaVersion", 2}, {"manifests", manifests}}.dump());
  }

  // The first image of another layout (the busybox fixture): its blobs copied here. Returns
  // {layer descriptors, diff_ids}.
  std::pair<json, json> copy_base(const std::string& layout) {
    auto index = json::parse(skiff::test::read_file(layout + "/index.json"));
    auto read_blob = [&](const std::string& digest) {
      return skiff::test::read_file(layout + "/blobs/sha256/" + digest.substr(7));
    };
    std::string m = read_blob(index["manifests"][0]["digest"]);
    json manifest = json::parse(m);
    json config = json::parse(read_blob(manifest["config"]["digest"]));
    for (const auto& l : manifest["layers"])
      add_blob(read_blob(l["digest"]), l["mediaType"].get<std::string>());
    return {manifest["layers"], config["rootfs"]["diff_ids"]};
  }

 private:
  std::string dir_;
};

// The busybox fixture as an OCI layout (scripts/fixtures/make-busybox-bundle.sh --oci-layout).
inline std::string busybox_layout(const TempDir& tmp) {
  auto r = skiff::test::run({skiff::test::source_path("scripts/fixtures/make-busybox-bundle.sh"),
                             tmp / "bundle", "--rootfs-only", "--oci-layout", tmp / "layout"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return tmp / "layout";
}

// Every path under `dir` (relative, sorted): to prove nothing appeared or stayed.
inline std::vector<std::string> tree(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    out.push_back(std::filesystem::relative(it->path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace skiff::image::test
