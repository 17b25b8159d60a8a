#pragma once
// The typed v1 Pod the pod engine runs (the subset skiff implements), with the ConfigMaps and
// Secrets a manifest file may carry next to it. Parsed from JSON (YAML is converted first), so
// every error names the field path: `spec.containers[1].ports[0].containerPort: must be 1-65535`.
// To be consolidated into api/ once it exposes Pod defaulting and validation.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"

namespace skiff::kubelet {

struct KeyRef {
  std::string name;  // the ConfigMap or Secret
  std::string key;
  bool optional = false;
};

// envFrom: every key of a ConfigMap or a Secret as a variable (PREFIX + key).
struct EnvFromSource {
  std::string prefix;
  std::string config_map, secret;  // exactly one
  bool optional = false;
};

struct EnvVar {
  std::string name;
  std::string value;
  std::optional<KeyRef> config_map_key;
  std::optional<KeyRef> secret_key;
  std::string field_path;  // fieldRef.fieldPath: metadata.name, metadata.namespace, ...
};

struct ContainerPort {
  std::string name;
  int container_port = 0;
  int host_port = 0;
  std::string protocol = "TCP";
};

struct SecurityContext {
  std::optional<int64_t> run_as_user, run_as_group;
  std::optional<bool> run_as_non_root, privileged, read_only_root_filesystem,
      allow_privilege_escalation;
  std::vector<std::string> capabilities_add, capabilities_drop;
};

// requests/limits as the engine uses them: CPU in millicores, memory in bytes.
struct Resources {
  std::optional<int64_t> cpu_request, cpu_limit, memory_request, memory_limit;
};

// A Kubernetes quantity ("64Mi", "1.5G", "250m", "2", "1e3") in base units, times `scale` (1000
// for CPU millicores), rounded up; nullopt when malformed.
std::optional<int64_t> parse_quantity(std::string_view text, int64_t scale = 1);

struct VolumeMount {
  std::string name;
  std::string mount_path;
  bool read_only = false;
};

// configMap/secret items: the key `key` as the file `path` (relative), with `mode` or defaultMode.
struct KeyToPath {
  std::string key, path;
  std::optional<int> mode;
};

// emptyDir (disk, or medium Memory: a tmpfs of sizeLimit), hostPath, configMap, secret.
struct Volume {
  std::string name;
  std::string kind;  // "emptyDir" | "hostPath" | "configMap" | "secret"
  std::string medium;
  std::optional<int64_t> size_limit;
  std::string path, type;  // hostPath
  std::string source;      // configMap name / secret secretName
  bool optional = false;
  std::vector<KeyToPath> items;  // empty: every key as a file of its name
  int default_mode = 0644;       // defaultMode
};

// What a probe or a lifecycle hook does: exactly one of exec, httpGet, tcpSocket, grpc (probes)
// or sleep (hooks). `kind` names it ("exec", "httpGet", "tcpSocket", "grpc", "sleep").
struct Handler {
  std::string kind;
  std::vector<std::string> command;  // exec
  int port = 0;                      // httpGet, tcpSocket, grpc: a number, or
  std::string port_name;             //   the name of one of the container's ports
  std::string host;                  // httpGet, tcpSocket: default the pod IP
  std::string path = "/";            // httpGet
  std::string scheme = "HTTP";       // httpGet: HTTP | HTTPS
  std::vector<std::pair<std::string, std::string>> headers;  // httpGet.httpHeaders
  std::string service;                                       // grpc
  int64_t sleep_seconds = 0;                                 // sleep
};

// A probe with Kubernetes' defaults.
struct Probe {
  Handler handler;
  int64_t initial_delay_seconds = 0;
  int64_t period_seconds = 10;
  int64_t timeout_seconds = 1;
  int64_t success_threshold = 1;  // must be 1 for liveness and startup probes
  int64_t failure_threshold = 3;
  std::optional<int64_t> termination_grace_period_seconds;  // liveness/startup kill
};

struct Lifecycle {
  std::optional<Handler> post_start, pre_stop;
};

struct Container {
  std::string name;
  std::string image;
  std::vector<std::string> command;  // replaces the image's Entrypoint
  std::vector<std::string> args;     // replaces the image's Cmd
  std::string working_dir;
  std::vector<EnvFromSource> env_from;  // before env: env overrides
  std::vector<EnvVar> env;
  std::vector<ContainerPort> ports;
  std::string image_pull_policy;  // Always | IfNotPresent | Never (defaulted)
  std::string restart_policy;     // init containers only: "Always" makes a native sidecar
  SecurityContext security_context;
  Resources resources;
  std::vector<VolumeMount> volume_mounts;
  std::optional<Probe> liveness_probe, readiness_probe, startup_probe;
  Lifecycle lifecycle;
  // stdin: the shim keeps the container's stdin open for kubectl attach (stdinOnce: closed when
  // the first attach session ends); tty: the container runs on a pty whose master the shim keeps.
  bool stdin_open = false, stdin_once = false, tty = false;
};

struct PodSpec {
  std::vector<Container> init_containers;
  std::vector<Container> containers;
  std::string restart_policy = "Always";
  bool host_network = false;
  bool share_process_namespace = false;
  int64_t termination_grace_period_seconds = 30;
  std::string hostname;
  SecurityContext security_context;  // pod level: runAsUser/Group/NonRoot are inherited
  std::vector<Volume> volumes;
  std::vector<std::string> image_pull_secrets;  // Secret names (dockerconfigjson / dockercfg)
};

struct Pod {
  std::string name;
  std::string namespace_ = "default";
  std::string uid;  // generated when the manifest has none
  std::map<std::string, std::string> labels, annotations;
  PodSpec spec;
  Json raw;  // the document as given
};

// A ConfigMap or a Secret: data as plain strings (a Secret's base64 `data` is decoded).
struct KeyValueObject {
  std::string kind;
  std::string name;
  std::string namespace_ = "default";
  std::string type;  // a Secret's type (kubernetes.io/dockerconfigjson, Opaque, ...)
  std::map<std::string, std::string> data;
};

struct Manifest {
  Pod pod;
  std::vector<KeyValueObject> config_maps, secrets;
  std::vector<std::string> warnings;  // unknown fields and kinds, ignored
};

// Reads one Pod object from JSON; errors name the field path, unknown fields become warnings.
Result<Pod> pod_from_json(const Json& j, std::vector<std::string>* warnings = nullptr);
// Reads a file's text: JSON, or YAML with one or more documents (`---`): exactly one Pod, any
// number of ConfigMaps and Secrets. Then defaults and validates (validate_manifest).
Result<Manifest> parse_manifest(std::string_view text, std::string_view what);
// Every problem at once, one per line, each with its field path; empty when valid.
std::vector<std::string> validate_manifest(const Manifest& m);

// Value of an env var as the container will see it (valueFrom resolved against the manifest's
// objects); an error names the missing ConfigMap/Secret or key.
Result<std::optional<std::string>> resolve_env(const Manifest& m, const EnvVar& e);

// The variables an envFrom source gives (prefix + key; keys that are no valid name are skipped, as
// the kubelet does); an error names a missing non-optional ConfigMap/Secret.
Result<std::vector<std::pair<std::string, std::string>>> resolve_env_from(const Manifest& m,
                                                                          const EnvFromSource& e);

// Why a configMap/secret items[].path is not acceptable ("" when it is): relative, no '..'.
std::string key_path_problem(std::string_view path);

// A random RFC 4122 version 4 UUID (what the API server gives metadata.uid).
std::string new_uid();

}  // namespace skiff::kubelet
