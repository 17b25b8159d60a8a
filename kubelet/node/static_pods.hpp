#pragma once
// Static pods: the manifests in the kubelet's staticPodPath (--pod-manifest-path), run by the
// kubelet itself whatever the master says. As the kubelet: files whose name starts with '.' are
// skipped; a pod is named NAME-NODE, in namespace "default" unless it says otherwise, bound to
// the node; its uid is a hash of the manifest, the node and the source (so a changed manifest
// is a new pod: the old one stops, the new one starts); annotations kubernetes.io/config.hash,
// config.source=file. Each has a mirror pod in the API (annotation kubernetes.io/config.mirror =
// the hash, ownerReferences to the Node) that shows its status; the mirror goes when the
// manifest does.

#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"

namespace skiff::kubelet::node {

inline constexpr const char* kConfigHashAnnotation = "kubernetes.io/config.hash";
inline constexpr const char* kConfigMirrorAnnotation = "kubernetes.io/config.mirror";
inline constexpr const char* kConfigSourceAnnotation = "kubernetes.io/config.source";

struct StaticPodFile {
  std::string file;
  Result<Json> pod = error("unread");  // the pod as run (static_pod), or why the file is refused
};

// Every manifest in `dir` (YAML or JSON, one Pod each) as the pod the kubelet runs. A missing
// directory gives none.
std::vector<StaticPodFile> read_static_pods(const std::string& dir, const std::string& node);

// read_static_pods for a caller that looks every second: a file is parsed again only when its
// text changed (reading a manifest costs little, parsing its YAML is what a pass would spend), so
// an unchanged directory costs a readdir and a read per file.
class StaticPodReader {
 public:
  std::vector<StaticPodFile> read(const std::string& dir, const std::string& node);

 private:
  struct Entry {
    std::string text, node;
    StaticPodFile file;
  };
  std::map<std::string, Entry> cache_;  // path -> its last parse
};

// The manifest's pod made a static pod of `node` (name, namespace, uid, nodeName, annotations);
// an error names what is wrong (not a Pod, no name, ...).
Result<Json> static_pod(const Json& manifest, const std::string& node, const std::string& source);

// The mirror pod of a static pod, for the API: the config.mirror annotation, owned by the Node.
Json mirror_pod(const Json& static_pod, const std::string& node, const std::string& node_uid);

bool is_mirror_pod(const Json& pod);
bool is_static_pod(const Json& pod);

}  // namespace skiff::kubelet::node
