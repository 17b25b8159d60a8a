#pragma once
// What a pod's state directory holds for its shim and the CLI:
//   <pod dir>/pod.json     {"uid","name","namespace","manifest": the file's text, "node":
//   NodeConfig} <pod dir>/status.json  the last status checkpoint {"status": …, "shimPid": N,
//   "finished": b} <pod dir>/shim.log     the shim's own log

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"
#include "kubelet/engine/config.hpp"
#include "kubelet/pod/pod.hpp"

namespace skiff::kubelet {

struct PodRecord {
  std::string uid, name, namespace_;
  std::string manifest_text;
  std::string manifest_name;  // the file it came from, for messages
  NodeConfig node;

  Json to_json() const;
  static Result<PodRecord> from_json(const Json& j);
  // The manifest parsed again, with this record's uid.
  Result<Manifest> manifest() const;
};

Result<PodRecord> load_pod_record(const std::string& pod_dir);
Result<void> save_pod_record(const std::string& pod_dir, const PodRecord& r);

// Every pod under the state root (records that cannot be read are skipped).
std::vector<PodRecord> list_pod_records(const std::string& state_root);

}  // namespace skiff::kubelet
