// Pod validation with field paths (the API server's ValidatePod, the part skiff runs).

#include <algorithm>
#include <regex>
#include <set>

#include "api/kinds.hpp"
#include "api/validation.hpp"
#include "kubelet/pod/pod.hpp"

namespace skiff::kubelet {
namespace {

bool dns1123_label(std::string_view s) {
  static const std::regex kLabel("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return !s.empty() && s.size() <= 63 && std::regex_match(s.begin(), s.end(), kLabel);
}

bool dns1123_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (const auto& part : split(s, '.'))
    if (!dns1123_label(part)) return false;
  return true;
}

bool env_name(std::string_view s) {
  static const std::regex kEnv("[-._a-zA-Z][-._a-zA-Z0-9]*");
  return !s.empty() && std::regex_match(s.begin(), s.end(), kEnv);
}

const KeyValueObject* find(const std::vector<KeyValueObject>& list, const std::string& name) {
  for (const auto& o : list)
    if (o.name == name) return &o;
  return nullptr;
}

void validate_security(const SecurityContext& s, const std::string& path,
                       std::vector<std::string>& out) {
  if (s.run_as_user && *s.run_as_user < 0)
    out.push_back(cat(path, ".runAsUser: must be between 0 and 2147483647"));
  if (s.run_as_group && *s.run_as_group < 0)
    out.push_back(cat(path, ".runAsGroup: must be between 0 and 2147483647"));
  if (s.allow_privilege_escalation && !*s.allow_privilege_escalation && s.privileged &&
      *s.privileged)
    out.push_back(
        cat(path, ": cannot set allowPrivilegeEscalation to false and privileged to true"));
}

void validate_container(const Manifest& m, const Container& c, const std::string& path, bool init,
                        std::vector<std::string>& out,
                        std::set<std::pair<int, std::string>>& host_ports) {
  if (c.name.empty())
    out.push_back(cat(path, ".name: required"));
  else if (!dns1123_label(c.name))
    out.push_back(cat(path, ".name: ", json_quote(c.name),
                      " must be a DNS-1123 label (lower case alphanumerics and '-', at most 63)"));
  if (c.image.empty()) out.push_back(cat(path, ".image: required"));
  static const std::set<std::string> kPull = {"Always", "IfNotPresent", "Never"};
  if (!kPull.count(c.image_pull_policy))
    out.push_back(cat(path, ".imagePullPolicy: unsupported value ", json_quote(c.image_pull_policy),
                      ": must be Always, IfNotPresent or Never"));
  if (!c.restart_policy.empty()) {
    if (!init)
      out.push_back(cat(path, ".restartPolicy: may only be set on init containers"));
    else if (c.restart_policy != "Always")
      out.push_back(cat(path, ".restartPolicy: unsupported value ", json_quote(c.restart_policy),
                        ": must be Always"));
  }
  std::set<std::pair<int, std::string>> ports;
  std::set<std::string> port_names;
  for (size_t i = 0; i < c.ports.size(); ++i) {
    const auto& p = c.ports[i];
    std::string pp = cat(path, ".ports[", i, ']');
    if (p.container_port < 1 || p.container_port > 65535)
      out.push_back(cat(pp, ".containerPort: must be 1-65535"));
    if (p.host_port < 0 || p.host_port > 65535)
      out.push_back(cat(pp, ".hostPort: must be 1-65535"));
    if (p.protocol != "TCP" && p.protocol != "UDP" && p.protocol != "SCTP")
      out.push_back(cat(pp, ".protocol: unsupported value ", json_quote(p.protocol),
                        ": must be TCP, UDP or SCTP"));
    if (!ports.insert({p.container_port, p.protocol}).second)
      out.push_back(cat(pp, ".containerPort: duplicate ", p.container_port, '/', p.protocol));
    if (!p.name.empty() && !port_names.insert(p.name).second)
      out.push_back(cat(pp, ".name: duplicate ", json_quote(p.name)));
    if (p.host_port > 0 && !host_ports.insert({p.host_port, p.protocol}).second)
      out.push_back(cat(pp, ".hostPort: ", p.host_port, '/', p.protocol,
                        " is already used by another container of the pod"));
  }
  for (size_t i = 0; i < c.env.size(); ++i) {
    const auto& e = c.env[i];
    std::string ep = cat(path, ".env[", i, ']');
    if (!env_name(e.name))
      out.push_back(
          cat(ep, ".name: ", json_quote(e.name), " is not a valid environment variable name"));
    int sources = (e.config_map_key ? 1 : 0) + (e.secret_key ? 1 : 0) + (!e.field_path.empty());
    if (sources > 1)
      out.push_back(cat(ep, ".valueFrom: may not have more than one field specified"));
    if (sources && !e.value.empty())
      out.push_back(cat(ep, ".valueFrom: may not be specified when `value` is not empty"));
    auto check_ref = [&](const std::optional<KeyRef>& r, const std::vector<KeyValueObject>& list,
                         const char* field, const char* kind) {
      if (!r) return;
      std::string rp = cat(ep, ".valueFrom.", field);
      if (r->name.empty()) out.push_back(cat(rp, ".name: required"));
      if (r->key.empty()) out.push_back(cat(rp, ".key: required"));
      const KeyValueObject* o = find(list, r->name);
      if (!r->optional && !r->name.empty() && !o)
        out.push_back(cat(rp, ": ", kind, ' ', json_quote(r->name), " not found in the file"));
      else if (o && !r->optional && !r->key.empty() && !o->data.count(r->key))
        out.push_back(
            cat(rp, ": ", kind, ' ', json_quote(r->name), " has no key ", json_quote(r->key)));
    };
    check_ref(e.config_map_key, m.config_maps, "configMapKeyRef", "ConfigMap");
    check_ref(e.secret_key, m.secrets, "secretKeyRef", "Secret");
    static const std::set<std::string> kFields = {
        "metadata.name",           "metadata.namespace", "metadata.uid",  "spec.nodeName",
        "spec.serviceAccountName", "status.podIP",       "status.hostIP", "status.podIPs"};
    if (!e.field_path.empty() && !kFields.count(e.field_path))
      out.push_back(
          cat(ep, ".valueFrom.fieldRef.fieldPath: unsupported value ", json_quote(e.field_path)));
  }
  validate_security(c.security_context, path + ".securityContext", out);
}

}  // namespace

std::vector<std::string> validate_manifest(const Manifest& m) {
  std::vector<std::string> out;
  const Pod& p = m.pod;
  if (p.name.empty())
    out.push_back("metadata.name: required");
  else if (!dns1123_subdomain(p.name))
    out.push_back(cat("metadata.name: ", json_quote(p.name),
                      " must be a DNS-1123 subdomain (lower case alphanumerics, '-' and '.')"));
  if (!dns1123_label(p.namespace_))
    out.push_back(
        cat("metadata.namespace: ", json_quote(p.namespace_), " must be a DNS-1123 label"));
  static const std::regex kUid("[-0-9a-zA-Z]{1,64}");
  if (!std::regex_match(p.uid, kUid))
    out.push_back(cat("metadata.uid: ", json_quote(p.uid),
                      " must be 1-64 letters, digits and '-' (it names directories)"));
  const PodSpec& s = p.spec;
  if (s.containers.empty()) out.push_back("spec.containers: must have at least one container");
  if (s.restart_policy != "Always" && s.restart_policy != "OnFailure" &&
      s.restart_policy != "Never")
    out.push_back(cat("spec.restartPolicy: unsupported value ", json_quote(s.restart_policy),
                      ": must be Always, OnFailure or Never"));
  if (s.termination_grace_period_seconds < 0)
    out.push_back("spec.terminationGracePeriodSeconds: must be greater than or equal to 0");
  if (!s.hostname.empty() && !dns1123_label(s.hostname))
    out.push_back(cat("spec.hostname: ", json_quote(s.hostname), " must be a DNS-1123 label"));
  validate_security(s.security_context, "spec.securityContext", out);

  std::set<std::string> volumes;
  for (size_t i = 0; i < s.volumes.size(); ++i) {
    const Volume& v = s.volumes[i];
    std::string vp = cat("spec.volumes[", i, ']');
    if (!dns1123_label(v.name))
      out.push_back(cat(vp, ".name: ", json_quote(v.name), " must be a DNS-1123 label"));
    else if (!volumes.insert(v.name).second)
      out.push_back(cat(vp, ".name: duplicate name ", json_quote(v.name)));
    if (v.kind == "hostPath" && !v.path.starts_with("/"))
      out.push_back(cat(vp, ".hostPath.path: must be an absolute path"));
    static const std::set<std::string> kTypes = {
        "",       "DirectoryOrCreate", "Directory",  "FileOrCreate", "File",
        "Socket", "CharDevice",        "BlockDevice"};
    if (v.kind == "hostPath" && !kTypes.count(v.type))
      out.push_back(cat(vp, ".hostPath.type: unsupported value ", json_quote(v.type)));
    if (v.kind == "emptyDir" && !v.medium.empty() && v.medium != "Memory")
      out.push_back(cat(vp, ".emptyDir.medium: unsupported value ", json_quote(v.medium)));
    if ((v.kind == "configMap" || v.kind == "secret") && !v.optional &&
        !find(v.kind == "secret" ? m.secrets : m.config_maps, v.source))
      out.push_back(cat(vp, '.', v.kind, ": ", v.kind == "secret" ? "Secret " : "ConfigMap ",
                        json_quote(v.source), " not found in the file"));
  }
  auto check_mounts = [&](const std::vector<Container>& list, const char* field) {
    for (size_t i = 0; i < list.size(); ++i)
      for (size_t j = 0; j < list[i].volume_mounts.size(); ++j) {
        const VolumeMount& vm = list[i].volume_mounts[j];
        std::string mp = cat("spec.", field, '[', i, "].volumeMounts[", j, ']');
        if (!volumes.count(vm.name))
          out.push_back(cat(mp, ".name: not found: no volume ", json_quote(vm.name)));
        if (!vm.mount_path.starts_with("/"))
          out.push_back(cat(mp, ".mountPath: must be an absolute path"));
      }
  };
  check_mounts(s.init_containers, "initContainers");
  check_mounts(s.containers, "containers");

  std::map<std::string, std::string> names;  // name -> path of its first use
  std::set<std::pair<int, std::string>> host_ports;
  auto check = [&](const std::vector<Container>& list, const char* field, bool init) {
    for (size_t i = 0; i < list.size(); ++i) {
      std::string path = cat("spec.", field, '[', i, ']');
      validate_container(m, list[i], path, init, out, host_ports);
      if (list[i].name.empty()) continue;
      auto [it, fresh] = names.emplace(list[i].name, path);
      if (!fresh)
        out.push_back(cat(path, ".name: duplicate name ", json_quote(list[i].name), " (also ",
                          it->second, ')'));
    }
  };
  check(s.init_containers, "initContainers", true);
  check(s.containers, "containers", false);

  // The API's own Pod rules (api/, shared with the master): what they find that the checks above
  // did not is added, so a manifest `skiff pod run` accepts is one the master accepts too.
  if (const api::KindInfo* kind = api::find_kind("v1", "Pod"); kind && p.raw.is_object()) {
    Json pod = p.raw;
    pod["metadata"]["namespace"] = p.namespace_;
    api::set_defaults(*kind, pod);
    for (const auto& e : api::validate(*kind, pod)) {
      bool known = std::any_of(out.begin(), out.end(), [&](const std::string& mine) {
        return mine.starts_with(e.field + ":") || mine.starts_with(e.field + ".") ||
               mine.starts_with(e.field + "[");
      });
      if (!known) out.push_back(cat(e.field, ": ", e.detail));
    }
  }
  return out;
}

Result<std::optional<std::string>> resolve_env(const Manifest& m, const EnvVar& e) {
  auto from = [&](const std::optional<KeyRef>& r, const std::vector<KeyValueObject>& list,
                  const char* kind) -> Result<std::optional<std::string>> {
    const KeyValueObject* o = find(list, r->name);
    if (o && o->data.count(r->key)) return std::optional<std::string>(o->data.at(r->key));
    if (r->optional) return std::optional<std::string>();
    if (!o) return error(kind, ' ', quote(r->name), " not found");
    return error("couldn't find key ", quote(r->key), " in ", kind, ' ', quote(r->name));
  };
  if (e.config_map_key) return from(e.config_map_key, m.config_maps, "configmap");
  if (e.secret_key) return from(e.secret_key, m.secrets, "secret");
  if (e.field_path == "metadata.name") return std::optional<std::string>(m.pod.name);
  if (e.field_path == "metadata.namespace") return std::optional<std::string>(m.pod.namespace_);
  if (e.field_path == "metadata.uid") return std::optional<std::string>(m.pod.uid);
  if (!e.field_path.empty()) return std::optional<std::string>();  // filled by the engine
  return std::optional<std::string>(e.value);
}

}  // namespace skiff::kubelet
