#include "kubelet/shim/pod_record.hpp"

#include <dirent.h>

#include <algorithm>

#include "common/fs.hpp"

namespace skiff::kubelet {

Json PodRecord::to_json() const {
  return {{"uid", uid},
          {"name", name},
          {"namespace", namespace_},
          {"manifest", manifest_text},
          {"manifestName", manifest_name},
          {"node", node.to_json()}};
}

Result<PodRecord> PodRecord::from_json(const Json& j) {
  PodRecord r;
  try {
    r.uid = j.at("uid").get<std::string>();
    r.name = j.at("name").get<std::string>();
    r.namespace_ = j.at("namespace").get<std::string>();
    r.manifest_text = j.at("manifest").get<std::string>();
    r.manifest_name = j.value("manifestName", "pod.json");
    r.node = TRY(NodeConfig::from_json(j.at("node")));
  } catch (const Json::exception& e) {
    return error("pod record: ", e.what());
  }
  return r;
}

Result<Manifest> PodRecord::manifest() const {
  auto m = TRY(parse_manifest(manifest_text, manifest_name));
  m.pod.uid = uid;
  return m;
}

Result<PodRecord> load_pod_record(const std::string& pod_dir) {
  std::string path = pod_dir + "/pod.json";
  return TRY_CTX(PodRecord::from_json(TRY(read_json_file(path))), quote(path));
}

Result<void> save_pod_record(const std::string& pod_dir, const PodRecord& r) {
  return write_file_atomic(pod_dir + "/pod.json", r.to_json().dump(2) + "\n");
}

std::vector<PodRecord> list_pod_records(const std::string& state_root) {
  std::vector<PodRecord> out;
  DIR* d = opendir(state_root.c_str());
  if (!d) return out;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    auto r = load_pod_record(cat(state_root, '/', e->d_name));
    if (r) out.push_back(std::move(*r));
  }
  closedir(d);
  std::sort(out.begin(), out.end(), [](const PodRecord& a, const PodRecord& b) {
    return std::tie(a.namespace_, a.name) < std::tie(b.namespace_, b.name);
  });
  return out;
}

}  // namespace skiff::kubelet
