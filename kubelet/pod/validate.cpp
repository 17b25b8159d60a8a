// Pod validation with field paths (the API server's ValidatePod, the part skiff runs).

#include <algorithm>
#include <set>

#include "api/kinds.hpp"
#include "api/validation.hpp"
#include "kubelet/pod/pod.hpp"

namespace skiff::kubelet {
namespace {

// Character checks instead of std::regex: compiling the patterns cost each shim (one per pod)
// ~0.6 ms of CPU on its start, every time it parsed the pod record.
bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool digit(char c) { return c >= '0' && c <= '9'; }

// [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63.
bool dns1123_label(std::string_view s) {
  if (s.empty() || s.size() > 63 || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return lower_alnum(c) || c == '-'; });
}

bool dns1123_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (const auto& part : split(s, '.'))
    if (!dns1123_label(part)) return false;
  return true;
}

// [-._a-zA-Z][-._a-zA-Z0-9]*
bool env_name(std::string_view s) {
  auto ok = [](char c) { return alpha(c) || c == '-' || c == '.' || c == '_'; };
  return !s.empty() && ok(s.front()) &&
         std::all_of(s.begin(), s.end(), [&](char c) { return ok(c) || digit(c); });
}

// An HTTP header name: RFC 7230's token, [-!#$%&'*+.^_`|~0-9A-Za-z]+
bool http_token(std::string_view s) {
  static constexpr std::string_view kSpecial = "-!#$%&'*+.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return alpha(c) || digit(c) || kSpecial.find(c) != std::string_view::npos;
  });
}

// [-0-9a-zA-Z]{1,64}
bool uid_text(std::string_view s) {
  return !s.empty() && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return alpha(c) || digit(c) || c == '-'; });
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

// A port of a probe or hook: a number 1-65535 or the name of one of the container's ports.
void validate_port(const Container& c, const Handler& h, const std::string& path,
                   std::vector<std::string>& out) {
  if (!h.port_name.empty()) {
    bool found = std::any_of(c.ports.begin(), c.ports.end(),
                             [&](const ContainerPort& p) { return p.name == h.port_name; });
    if (!found) out.push_back(cat(path, ": no container port named ", json_quote(h.port_name)));
  } else if (h.port < 1 || h.port > 65535) {
    out.push_back(cat(path, ": must be 1-65535"));
  }
}

void validate_handler(const Container& c, const Handler& h, const std::string& path,
                      std::vector<std::string>& out) {
  if (h.kind.empty()) {
    out.push_back(cat(path, ": must specify a handler type (exec, httpGet, tcpSocket, ",
                      path.find("Probe") != std::string::npos ? "grpc" : "sleep", ')'));
  } else if (h.kind == "multiple") {
    out.push_back(cat(path, ": may not specify more than 1 handler type"));
  } else if (h.kind == "sleep-in-probe") {
    out.push_back(cat(path, ".sleep: not a probe handler (exec, httpGet, tcpSocket or grpc)"));
  } else if (h.kind.ends_with("-in-hook")) {
    out.push_back(cat(path, '.', h.kind.substr(0, h.kind.size() - 8),
                      ": not a lifecycle handler (exec, httpGet or sleep)"));
  } else if (h.kind == "exec") {
    if (h.command.empty()) out.push_back(cat(path, ".exec.command: required"));
  } else if (h.kind == "httpGet") {
    validate_port(c, h, path + ".httpGet.port", out);
    if (h.scheme != "HTTP" && h.scheme != "HTTPS")
      out.push_back(cat(path, ".httpGet.scheme: unsupported value ", json_quote(h.scheme),
                        ": must be HTTP or HTTPS"));
    if (!h.path.starts_with("/")) out.push_back(cat(path, ".httpGet.path: must start with '/'"));
    for (size_t i = 0; i < h.headers.size(); ++i) {
      const auto& [name, value] = h.headers[i];
      if (!http_token(name))
        out.push_back(cat(path, ".httpGet.httpHeaders[", i, "].name: ", json_quote(name),
                          " is not a valid HTTP header name"));
      if (value.find_first_of("\r\n") != std::string::npos)
        out.push_back(
            cat(path, ".httpGet.httpHeaders[", i, "].value: may not contain a line break"));
    }
  } else if (h.kind == "tcpSocket") {
    validate_port(c, h, path + ".tcpSocket.port", out);
  } else if (h.kind == "grpc") {
    if (h.port < 1 || h.port > 65535) out.push_back(cat(path, ".grpc.port: must be 1-65535"));
  } else if (h.kind == "sleep") {
    if (h.sleep_seconds < 0) out.push_back(cat(path, ".sleep.seconds: must be >= 0"));
  }
}

void validate_probe(const Container& c, const std::optional<Probe>& p, const std::string& path,
                    bool readiness, std::vector<std::string>& out) {
  if (!p) return;
  validate_handler(c, p->handler, path, out);
  auto at_least = [&](const char* field, int64_t v, int64_t min) {
    if (v < min) out.push_back(cat(path, '.', field, ": must be >= ", min));
  };
  at_least("initialDelaySeconds", p->initial_delay_seconds, 0);
  at_least("periodSeconds", p->period_seconds, 1);
  at_least("timeoutSeconds", p->timeout_seconds, 1);
  at_least("successThreshold", p->success_threshold, 1);
  at_least("failureThreshold", p->failure_threshold, 1);
  if (!readiness && p->success_threshold != 1)
    out.push_back(cat(path, ".successThreshold: must be 1"));
  if (p->termination_grace_period_seconds) {
    if (readiness)
      out.push_back(
          cat(path, ".terminationGracePeriodSeconds: must not be set for readinessProbes"));
    else if (*p->termination_grace_period_seconds < 1)
      out.push_back(cat(path, ".terminationGracePeriodSeconds: must be >= 1"));
  }
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
  for (size_t i = 0; i < c.env_from.size(); ++i) {
    const EnvFromSource& e = c.env_from[i];
    std::string ep = cat(path, ".envFrom[", i, ']');
    bool cm = !e.config_map.empty(), sec = !e.secret.empty();
    if (cm == sec)
      out.push_back(
          cat(ep, ": exactly one of configMapRef and secretRef (with a name) is required"));
    else if (!e.optional && !find(cm ? m.config_maps : m.secrets, cm ? e.config_map : e.secret))
      out.push_back(cat(ep, cm ? ".configMapRef: ConfigMap " : ".secretRef: Secret ",
                        json_quote(cm ? e.config_map : e.secret), " not found in the file"));
    if (!e.prefix.empty() && !env_name(e.prefix))
      out.push_back(
          cat(ep, ".prefix: ", json_quote(e.prefix), " is not a valid environment variable name"));
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

  // Probes and hooks: a plain init container runs to completion and has none of them.
  bool plain_init = init && c.restart_policy != "Always";
  for (auto [field, probe] : {std::pair{"livenessProbe", &c.liveness_probe},
                              std::pair{"readinessProbe", &c.readiness_probe},
                              std::pair{"startupProbe", &c.startup_probe}}) {
    std::string pp = cat(path, '.', field);
    if (plain_init && *probe)
      out.push_back(cat(pp, ": may not be set for init containers without restartPolicy=Always"));
    else
      validate_probe(c, *probe, pp, probe == &c.readiness_probe, out);
  }
  if (plain_init && (c.lifecycle.post_start || c.lifecycle.pre_stop))
    out.push_back(
        cat(path, ".lifecycle: may not be set for init containers without restartPolicy=Always"));
  if (c.lifecycle.post_start)
    validate_handler(c, *c.lifecycle.post_start, path + ".lifecycle.postStart", out);
  if (c.lifecycle.pre_stop)
    validate_handler(c, *c.lifecycle.pre_stop, path + ".lifecycle.preStop", out);
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
  if (!uid_text(p.uid))
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
    if (v.kind == "configMap" || v.kind == "secret") {
      const KeyValueObject* o = find(v.kind == "secret" ? m.secrets : m.config_maps, v.source);
      const char* kind = v.kind == "secret" ? "Secret " : "ConfigMap ";
      if (!v.optional && !o)
        out.push_back(
            cat(vp, '.', v.kind, ": ", kind, json_quote(v.source), " not found in the file"));
      std::set<std::string> paths;
      for (size_t k = 0; k < v.items.size(); ++k) {
        const KeyToPath& it = v.items[k];
        std::string ip = cat(vp, '.', v.kind, ".items[", k, ']');
        if (it.key.empty()) out.push_back(cat(ip, ".key: required"));
        if (auto why = key_path_problem(it.path); !why.empty())
          out.push_back(cat(ip, ".path: ", json_quote(it.path), ' ', why));
        else if (!paths.insert(it.path).second)
          out.push_back(cat(ip, ".path: duplicate ", json_quote(it.path)));
        if (o && !v.optional && !it.key.empty() && !o->data.count(it.key))
          out.push_back(
              cat(ip, ".key: ", kind, json_quote(v.source), " has no key ", json_quote(it.key)));
      }
    }
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

std::string key_path_problem(std::string_view path) {
  if (path.empty()) return "must not be empty";
  if (path.starts_with("/")) return "must be a relative path";
  if (path.starts_with("..")) return "must not start with '..'";
  for (const auto& part : split(path, '/'))
    if (part == "..") return "must not contain '..'";
  return "";
}

Result<std::vector<std::pair<std::string, std::string>>> resolve_env_from(const Manifest& m,
                                                                          const EnvFromSource& e) {
  std::vector<std::pair<std::string, std::string>> out;
  bool cm = !e.config_map.empty();
  const std::string& name = cm ? e.config_map : e.secret;
  const KeyValueObject* o = find(cm ? m.config_maps : m.secrets, name);
  if (!o) {
    if (e.optional) return out;
    return error(cm ? "configmap " : "secret ", json_quote(name), " not found");
  }
  for (const auto& [k, v] : o->data)
    if (env_name(e.prefix + k)) out.emplace_back(e.prefix + k, v);  // others: skipped, as kubelet
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
