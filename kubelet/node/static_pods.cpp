#include "kubelet/node/static_pods.hpp"

#include <dirent.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <algorithm>

#include "api/meta.hpp"
#include "common/fs.hpp"
#include "kubelet/pod/yaml.hpp"

namespace skiff::kubelet::node {
namespace {

std::string hex_digest(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 16 && i < len; ++i) {  // 32 hex digits, as the kubelet's md5
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

}  // namespace

Result<Json> static_pod(const Json& manifest, const std::string& node, const std::string& source) {
  if (!manifest.is_object() || manifest.value("kind", "") != "Pod")
    return error("kind: expected \"Pod\"");
  if (manifest.value("apiVersion", "") != "v1") return error("apiVersion: expected \"v1\"");
  Json p = manifest;
  std::string name = api::str_at(p, {"metadata", "name"});
  if (name.empty()) return error("metadata.name: required");
  if (!p.contains("spec") || !p["spec"].is_object()) return error("spec: required");
  p.erase("status");
  Json& meta = p["metadata"];
  if (api::str_at(p, {"metadata", "namespace"}).empty()) meta["namespace"] = "default";
  meta["name"] = cat(name, '-', node);
  p["spec"]["nodeName"] = node;
  std::string hash = hex_digest(cat(manifest.dump(), '\n', node, '\n', source));
  meta["uid"] = hash;
  if (!meta.contains("annotations") || !meta["annotations"].is_object())
    meta["annotations"] = Json::object();
  meta["annotations"][kConfigHashAnnotation] = hash;
  meta["annotations"][kConfigSourceAnnotation] = "file";
  return p;
}

namespace {

// The regular files in `dir` not starting with '.', sorted.
std::vector<std::string> manifest_files(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (struct dirent* e = readdir(d))
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  std::vector<std::string> out;
  for (const auto& n : names) {
    std::string path = cat(dir, '/', n);
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0 || !S_ISREG(st.st_mode)) continue;
    out.push_back(path);
  }
  return out;
}

StaticPodFile parse_manifest_text(const std::string& path, Result<std::string>& text,
                                  const std::string& node) {
  StaticPodFile f{path};
  f.pod = [&]() -> Result<Json> {
    if (!text) return text.error();
    auto docs = TRY(yaml_documents(*text, path));  // JSON is YAML too
    if (docs.size() != 1)
      return error(quote(path), ": want one Pod, found ", docs.size(), " documents");
    return TRY_CTX(static_pod(docs[0], node, "file"), quote(path));
  }();
  return f;
}

}  // namespace

std::vector<StaticPodFile> read_static_pods(const std::string& dir, const std::string& node) {
  std::vector<StaticPodFile> out;
  for (const auto& path : manifest_files(dir)) {
    auto text = read_file(path);
    out.push_back(parse_manifest_text(path, text, node));
  }
  return out;
}

std::vector<StaticPodFile> StaticPodReader::read(const std::string& dir, const std::string& node) {
  std::vector<StaticPodFile> out;
  std::map<std::string, Entry> next;
  for (const auto& path : manifest_files(dir)) {
    auto text = read_file(path);
    auto it = cache_.find(path);
    if (text && it != cache_.end() && it->second.text == *text && it->second.node == node) {
      next[path] = std::move(it->second);
    } else {
      std::string t = text ? *text : std::string();
      next[path] = Entry{std::move(t), node, parse_manifest_text(path, text, node)};
    }
    out.push_back(next[path].file);
  }
  cache_ = std::move(next);
  return out;
}

Json mirror_pod(const Json& sp, const std::string& node, const std::string& node_uid) {
  Json m = sp;
  Json& meta = m["metadata"];
  meta.erase("uid");
  meta.erase("resourceVersion");
  meta["annotations"][kConfigMirrorAnnotation] = api::str_at(sp, {"metadata", "uid"});
  meta["ownerReferences"] = Json::array({{{"apiVersion", "v1"},
                                          {"kind", "Node"},
                                          {"name", node},
                                          {"uid", node_uid},
                                          {"controller", true}}});
  return m;
}

bool is_mirror_pod(const Json& pod) {
  const Json* a = api::at_path(pod, {"metadata", "annotations"});
  return a && a->is_object() && a->contains(kConfigMirrorAnnotation);
}

bool is_static_pod(const Json& pod) {
  const Json* a = api::at_path(pod, {"metadata", "annotations"});
  return a && a->is_object() && a->value(kConfigSourceAnnotation, "") == "file" &&
         !is_mirror_pod(pod);
}

}  // namespace skiff::kubelet::node
