// JSON → typed Pod, ConfigMap and Secret, with the field path in every error.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "common/unique_fd.hpp"
#include "kubelet/pod/pod.hpp"
#include "kubelet/pod/yaml.hpp"

namespace skiff::kubelet {
namespace {

// Reads the fields of one JSON object; each read records the key, so what is left over at the end
// is reported as unknown.
class Fields {
 public:
  Fields(const Json& j, std::string path, std::vector<std::string>* warnings)
      : j_(j), path_(std::move(path)), warnings_(warnings) {}

  std::string at(std::string_view key) const {
    return path_.empty() ? std::string(key) : cat(path_, '.', key);
  }
  const Json* get(std::string_view key) {
    seen_.insert(std::string(key));
    auto it = j_.find(std::string(key));
    if (it == j_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  Result<std::string> str(std::string_view key, std::string def = "") {
    const Json* v = get(key);
    if (!v) return def;
    if (!v->is_string()) return error(at(key), ": expected string, got ", json_type_name(*v));
    return v->get<std::string>();
  }
  Result<std::optional<int64_t>> integer(std::string_view key) {
    const Json* v = get(key);
    if (!v) return std::optional<int64_t>();
    if (!v->is_number_integer())
      return error(at(key), ": expected integer, got ", json_type_name(*v));
    return std::optional<int64_t>(v->get<int64_t>());
  }
  Result<std::optional<bool>> boolean(std::string_view key) {
    const Json* v = get(key);
    if (!v) return std::optional<bool>();
    if (!v->is_boolean()) return error(at(key), ": expected boolean, got ", json_type_name(*v));
    return std::optional<bool>(v->get<bool>());
  }
  Result<std::vector<std::string>> strings(std::string_view key) {
    std::vector<std::string> out;
    const Json* v = get(key);
    if (!v) return out;
    if (!v->is_array()) return error(at(key), ": expected array, got ", json_type_name(*v));
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string())
        return error(at(key), '[', i, "]: expected string, got ", json_type_name((*v)[i]));
      out.push_back((*v)[i].get<std::string>());
    }
    return out;
  }
  Result<std::map<std::string, std::string>> string_map(std::string_view key) {
    std::map<std::string, std::string> out;
    const Json* v = get(key);
    if (!v) return out;
    if (!v->is_object()) return error(at(key), ": expected object, got ", json_type_name(*v));
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (!it->is_string())
        return error(at(key), '.', it.key(), ": expected string, got ", json_type_name(*it));
      out[it.key()] = it->get<std::string>();
    }
    return out;
  }
  // An object field (nullptr when absent), type-checked.
  Result<const Json*> object(std::string_view key) {
    const Json* v = get(key);
    if (v && !v->is_object()) return error(at(key), ": expected object, got ", json_type_name(*v));
    return v;
  }
  Result<const Json*> array(std::string_view key) {
    const Json* v = get(key);
    if (v && !v->is_array()) return error(at(key), ": expected array, got ", json_type_name(*v));
    return v;
  }
  // Unknown fields are warnings, as kubectl's --validate=warn.
  void finish() const {
    if (!warnings_) return;
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!seen_.count(it.key())) warnings_->push_back(cat(at(it.key()), ": unknown field"));
  }
  // Fields the engine does not implement yet: accepted, named in a warning when set.
  void ignore(std::initializer_list<const char*> keys) {
    for (const char* k : keys) {
      seen_.insert(k);
      if (warnings_ && j_.contains(k) && !j_[k].is_null())
        warnings_->push_back(cat(at(k), ": not supported by skiff yet, ignored"));
    }
  }

 private:
  const Json& j_;
  std::string path_;
  std::vector<std::string>* warnings_;
  std::set<std::string> seen_;
};

Result<Fields> fields(const Json& j, const std::string& path, std::vector<std::string>* w) {
  if (!j.is_object())
    return error(path.empty() ? "document" : path, ": expected object, got ", json_type_name(j));
  return Fields(j, path, w);
}

Result<KeyRef> key_ref(const Json& j, const std::string& path, std::vector<std::string>* w) {
  auto f = TRY(fields(j, path, w));
  KeyRef r;
  r.name = TRY(f.str("name"));
  r.key = TRY(f.str("key"));
  r.optional = TRY(f.boolean("optional")).value_or(false);
  f.finish();
  return r;
}

Result<SecurityContext> security_context(const Json* j, const std::string& path,
                                         std::vector<std::string>* w) {
  SecurityContext s;
  if (!j) return s;
  auto f = TRY(fields(*j, path, w));
  s.run_as_user = TRY(f.integer("runAsUser"));
  s.run_as_group = TRY(f.integer("runAsGroup"));
  s.run_as_non_root = TRY(f.boolean("runAsNonRoot"));
  s.privileged = TRY(f.boolean("privileged"));
  s.read_only_root_filesystem = TRY(f.boolean("readOnlyRootFilesystem"));
  s.allow_privilege_escalation = TRY(f.boolean("allowPrivilegeEscalation"));
  if (const Json* caps = TRY(f.object("capabilities"))) {
    auto c = TRY(fields(*caps, f.at("capabilities"), w));
    s.capabilities_add = TRY(c.strings("add"));
    s.capabilities_drop = TRY(c.strings("drop"));
    c.finish();
  }
  f.ignore({"seccompProfile", "seLinuxOptions", "appArmorProfile", "procMount", "fsGroup",
            "supplementalGroups", "sysctls", "windowsOptions", "fsGroupChangePolicy"});
  f.finish();
  return s;
}

// A port given as a number or as the name of a container port (IntOrString).
Result<void> int_or_name(Fields& f, std::string_view key, Handler& h) {
  const Json* v = f.get(key);
  if (!v) return ok();
  if (v->is_number_integer())
    h.port = static_cast<int>(std::clamp<int64_t>(v->get<int64_t>(), -1, 1 << 20));
  else if (v->is_string())
    h.port_name = v->get<std::string>();
  else
    return error(f.at(key), ": expected integer or string, got ", json_type_name(*v));
  return ok();
}

// The handler fields of a probe or a hook (exec, httpGet, tcpSocket, grpc, sleep), read from the
// object `f` itself; the caller reads the rest of its fields. More than one handler is a
// validation error ("may not specify more than 1 handler type"), so `kind` then says "multiple".
Result<Handler> handler(Fields& f, std::vector<std::string>* w) {
  Handler h;
  auto set_kind = [&](const char* k) { h.kind = h.kind.empty() ? k : "multiple"; };
  if (const Json* e = TRY(f.object("exec"))) {
    set_kind("exec");
    auto ef = TRY(fields(*e, f.at("exec"), w));
    h.command = TRY(ef.strings("command"));
    ef.finish();
  }
  if (const Json* g = TRY(f.object("httpGet"))) {
    set_kind("httpGet");
    auto gf = TRY(fields(*g, f.at("httpGet"), w));
    h.path = TRY(gf.str("path", "/"));
    TRY(int_or_name(gf, "port", h));
    h.host = TRY(gf.str("host"));
    h.scheme = TRY(gf.str("scheme", "HTTP"));
    if (const Json* hs = TRY(gf.array("httpHeaders"))) {
      for (size_t i = 0; i < hs->size(); ++i) {
        auto hf = TRY(fields((*hs)[i], cat(gf.at("httpHeaders"), '[', i, ']'), w));
        std::string name = TRY(hf.str("name"));
        std::string value = TRY(hf.str("value"));
        hf.finish();
        h.headers.emplace_back(std::move(name), std::move(value));
      }
    }
    gf.finish();
  }
  if (const Json* t = TRY(f.object("tcpSocket"))) {
    set_kind("tcpSocket");
    auto tf = TRY(fields(*t, f.at("tcpSocket"), w));
    TRY(int_or_name(tf, "port", h));
    h.host = TRY(tf.str("host"));
    tf.finish();
  }
  if (const Json* g = TRY(f.object("grpc"))) {
    set_kind("grpc");
    auto gf = TRY(fields(*g, f.at("grpc"), w));
    auto port = TRY(gf.integer("port"));
    h.port = port ? static_cast<int>(std::clamp<int64_t>(*port, -1, 1 << 20)) : 0;
    h.service = TRY(gf.str("service"));
    gf.finish();
  }
  if (const Json* s = TRY(f.object("sleep"))) {
    set_kind("sleep");
    auto sf = TRY(fields(*s, f.at("sleep"), w));
    h.sleep_seconds = TRY(sf.integer("seconds")).value_or(-1);
    sf.finish();
  }
  return h;
}

Result<std::optional<Probe>> probe(Fields& c, std::string_view key, std::vector<std::string>* w) {
  const Json* j = TRY(c.object(key));
  if (!j) return std::optional<Probe>();
  auto f = TRY(fields(*j, c.at(key), w));
  Probe p;
  p.handler = TRY(handler(f, w));
  if (p.handler.kind == "sleep")  // not a probe handler: validation names it
    p.handler.kind = "sleep-in-probe";
  auto num = [&](const char* k, int64_t& out) -> Result<void> {
    if (auto v = TRY(f.integer(k))) out = *v;
    return ok();
  };
  TRY(num("initialDelaySeconds", p.initial_delay_seconds));
  TRY(num("periodSeconds", p.period_seconds));
  TRY(num("timeoutSeconds", p.timeout_seconds));
  TRY(num("successThreshold", p.success_threshold));
  TRY(num("failureThreshold", p.failure_threshold));
  p.termination_grace_period_seconds = TRY(f.integer("terminationGracePeriodSeconds"));
  f.finish();
  return std::optional<Probe>(std::move(p));
}

Result<Lifecycle> lifecycle(Fields& c, std::vector<std::string>* w) {
  Lifecycle l;
  const Json* j = TRY(c.object("lifecycle"));
  if (!j) return l;
  auto f = TRY(fields(*j, c.at("lifecycle"), w));
  for (const char* k : {"postStart", "preStop"}) {
    const Json* hj = TRY(f.object(k));
    if (!hj) continue;
    auto hf = TRY(fields(*hj, f.at(k), w));
    Handler h = TRY(handler(hf, w));
    if (h.kind == "grpc" || h.kind == "tcpSocket") h.kind += "-in-hook";
    hf.finish();
    (std::string_view(k) == "postStart" ? l.post_start : l.pre_stop) = std::move(h);
  }
  f.ignore({"stopSignal"});
  f.finish();
  return l;
}

Result<Container> container(const Json& j, const std::string& path, std::vector<std::string>* w) {
  auto f = TRY(fields(j, path, w));
  Container c;
  c.name = TRY(f.str("name"));
  c.image = TRY(f.str("image"));
  c.command = TRY(f.strings("command"));
  c.args = TRY(f.strings("args"));
  c.working_dir = TRY(f.str("workingDir"));
  c.image_pull_policy = TRY(f.str("imagePullPolicy"));
  c.restart_policy = TRY(f.str("restartPolicy"));
  if (const Json* env = TRY(f.array("env"))) {
    for (size_t i = 0; i < env->size(); ++i) {
      std::string p = cat(f.at("env"), '[', i, ']');
      auto e = TRY(fields((*env)[i], p, w));
      EnvVar v;
      v.name = TRY(e.str("name"));
      v.value = TRY(e.str("value"));
      if (const Json* from = TRY(e.object("valueFrom"))) {
        auto vf = TRY(fields(*from, e.at("valueFrom"), w));
        if (const Json* r = TRY(vf.object("configMapKeyRef")))
          v.config_map_key = TRY(key_ref(*r, vf.at("configMapKeyRef"), w));
        if (const Json* r = TRY(vf.object("secretKeyRef")))
          v.secret_key = TRY(key_ref(*r, vf.at("secretKeyRef"), w));
        if (const Json* r = TRY(vf.object("fieldRef"))) {
          auto fr = TRY(fields(*r, vf.at("fieldRef"), w));
          v.field_path = TRY(fr.str("fieldPath"));
          (void)fr.get("apiVersion");
          fr.finish();
        }
        vf.ignore({"resourceFieldRef"});
        vf.finish();
      }
      e.finish();
      c.env.push_back(std::move(v));
    }
  }
  if (const Json* from = TRY(f.array("envFrom"))) {
    for (size_t i = 0; i < from->size(); ++i) {
      auto e = TRY(fields((*from)[i], cat(f.at("envFrom"), '[', i, ']'), w));
      EnvFromSource s;
      s.prefix = TRY(e.str("prefix"));
      for (const char* kind : {"configMapRef", "secretRef"}) {
        const Json* r = TRY(e.object(kind));
        if (!r) continue;
        auto rf = TRY(fields(*r, e.at(kind), w));
        (kind[0] == 'c' ? s.config_map : s.secret) = TRY(rf.str("name"));
        s.optional = TRY(rf.boolean("optional")).value_or(false);
        rf.finish();
      }
      e.finish();
      c.env_from.push_back(std::move(s));
    }
  }
  if (const Json* ports = TRY(f.array("ports"))) {
    for (size_t i = 0; i < ports->size(); ++i) {
      auto pf = TRY(fields((*ports)[i], cat(f.at("ports"), '[', i, ']'), w));
      ContainerPort p;
      p.name = TRY(pf.str("name"));
      // Kept wide here, so validation can say "must be 1-65535" rather than overflow.
      auto cp = TRY(pf.integer("containerPort"));
      p.container_port = cp ? static_cast<int>(std::clamp<int64_t>(*cp, -1, 1 << 20)) : 0;
      auto hp = TRY(pf.integer("hostPort"));
      p.host_port = hp ? static_cast<int>(std::clamp<int64_t>(*hp, -1, 1 << 20)) : 0;
      p.protocol = TRY(pf.str("protocol", "TCP"));
      (void)pf.get("hostIP");
      pf.finish();
      c.ports.push_back(std::move(p));
    }
  }
  c.security_context =
      TRY(security_context(TRY(f.object("securityContext")), f.at("securityContext"), w));
  if (const Json* res = TRY(f.object("resources"))) {
    auto rf = TRY(fields(*res, f.at("resources"), w));
    for (const char* kind : {"requests", "limits"}) {
      const Json* list = TRY(rf.object(kind));
      if (!list) continue;
      bool limits = std::string_view(kind) == "limits";
      for (auto it = list->begin(); it != list->end(); ++it) {
        std::string path = cat(rf.at(kind), '.', it.key());
        if (it.key() != "cpu" && it.key() != "memory") {
          if (w) w->push_back(cat(path, ": not supported by skiff yet, ignored"));
          continue;
        }
        bool cpu = it.key() == "cpu";
        std::string text = it->is_string()   ? it->get<std::string>()
                           : it->is_number() ? it->dump()
                                             : "";
        auto q = parse_quantity(text, cpu ? 1000 : 1);
        if (!q || *q < 0)
          return error(path, ": invalid quantity ", it->dump(), " (e.g. \"250m\", \"64Mi\")");
        (cpu ? (limits ? c.resources.cpu_limit : c.resources.cpu_request)
             : (limits ? c.resources.memory_limit : c.resources.memory_request)) = *q;
      }
    }
    rf.ignore({"claims"});
    rf.finish();
  }
  if (const Json* mounts = TRY(f.array("volumeMounts"))) {
    for (size_t i = 0; i < mounts->size(); ++i) {
      auto mf = TRY(fields((*mounts)[i], cat(f.at("volumeMounts"), '[', i, ']'), w));
      VolumeMount vm;
      vm.name = TRY(mf.str("name"));
      vm.mount_path = TRY(mf.str("mountPath"));
      vm.read_only = TRY(mf.boolean("readOnly")).value_or(false);
      mf.ignore({"subPath", "subPathExpr", "mountPropagation", "recursiveReadOnly"});
      mf.finish();
      c.volume_mounts.push_back(std::move(vm));
    }
  }
  c.liveness_probe = TRY(probe(f, "livenessProbe", w));
  c.readiness_probe = TRY(probe(f, "readinessProbe", w));
  c.startup_probe = TRY(probe(f, "startupProbe", w));
  c.lifecycle = TRY(lifecycle(f, w));
  f.ignore({"volumeDevices", "resizePolicy"});
  c.stdin_open = TRY(f.boolean("stdin")).value_or(false);
  c.stdin_once = TRY(f.boolean("stdinOnce")).value_or(false);
  c.tty = TRY(f.boolean("tty")).value_or(false);
  // Accepted and meaningless here (default messages).
  for (const char* k : {"terminationMessagePath", "terminationMessagePolicy"}) (void)f.get(k);
  f.finish();
  return c;
}

Result<std::vector<Container>> containers(Fields& f, std::string_view key,
                                          std::vector<std::string>* w) {
  std::vector<Container> out;
  const Json* list = TRY(f.array(key));
  if (!list) return out;
  for (size_t i = 0; i < list->size(); ++i)
    out.push_back(TRY(container((*list)[i], cat(f.at(key), '[', i, ']'), w)));
  return out;
}

Result<std::string> base64_decode(std::string_view in, const std::string& path) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  size_t pad = 0;
  for (char ch : in) {
    if (ch == '=') {
      ++pad;
      continue;
    }
    if (ch == '\n' || ch == '\r' || ch == ' ') continue;
    size_t v = kAlphabet.find(ch);
    if (v == std::string::npos || pad) return error(path, ": invalid base64");
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  return out;
}

Result<KeyValueObject> key_value_object(const Json& j, const std::string& kind, size_t index,
                                        std::vector<std::string>* w) {
  std::string path = cat(kind, '[', index, ']');
  auto f = TRY(fields(j, "", w));
  (void)f.get("apiVersion");
  (void)f.get("kind");
  KeyValueObject o;
  o.kind = kind;
  const Json* meta = TRY(f.object("metadata"));
  if (!meta) return error(path, ": metadata.name is required");
  auto m = TRY(fields(*meta, "metadata", nullptr));
  o.name = TRY_CTX(m.str("name"), path);
  o.namespace_ = TRY_CTX(m.str("namespace", "default"), path);
  if (o.name.empty()) return error(path, ": metadata.name is required");
  std::string what = cat(kind, ' ', quote(o.name));
  auto data = TRY_CTX(f.string_map("data"), what);
  if (kind == "Secret") {
    for (auto& [k, v] : data) o.data[k] = TRY_CTX(base64_decode(v, cat("data.", k)), what);
    for (auto& [k, v] : TRY_CTX(f.string_map("stringData"), what)) o.data[k] = v;
    o.type = TRY_CTX(f.str("type"), what);
  } else {
    o.data = std::move(data);
    (void)f.get("binaryData");
  }
  (void)f.get("immutable");
  return o;
}

}  // namespace

Result<Pod> pod_from_json(const Json& j, std::vector<std::string>* w) {
  auto f = TRY(fields(j, "", w));
  Pod p;
  p.raw = j;
  std::string api = TRY(f.str("apiVersion"));
  std::string kind = TRY(f.str("kind"));
  if (kind != "Pod") return error("kind: expected \"Pod\", got ", json_quote(kind));
  if (api != "v1") return error("apiVersion: expected \"v1\", got ", json_quote(api));
  const Json* meta = TRY(f.object("metadata"));
  if (!meta) return error("metadata: required");
  auto m = TRY(fields(*meta, "metadata", w));
  p.name = TRY(m.str("name"));
  p.namespace_ = TRY(m.str("namespace", "default"));
  p.uid = TRY(m.str("uid"));
  p.labels = TRY(m.string_map("labels"));
  p.annotations = TRY(m.string_map("annotations"));
  for (const char* k : {"generateName", "resourceVersion", "creationTimestamp", "generation",
                        "ownerReferences", "finalizers", "managedFields", "selfLink",
                        "deletionTimestamp", "deletionGracePeriodSeconds"})
    (void)m.get(k);
  m.finish();

  const Json* spec = TRY(f.object("spec"));
  if (!spec) return error("spec: required");
  auto s = TRY(fields(*spec, "spec", w));
  p.spec.init_containers = TRY(containers(s, "initContainers", w));
  p.spec.containers = TRY(containers(s, "containers", w));
  p.spec.restart_policy = TRY(s.str("restartPolicy", "Always"));
  p.spec.host_network = TRY(s.boolean("hostNetwork")).value_or(false);
  p.spec.share_process_namespace = TRY(s.boolean("shareProcessNamespace")).value_or(false);
  if (auto g = TRY(s.integer("terminationGracePeriodSeconds")))
    p.spec.termination_grace_period_seconds = *g;
  p.spec.hostname = TRY(s.str("hostname"));
  p.spec.security_context =
      TRY(security_context(TRY(s.object("securityContext")), s.at("securityContext"), w));
  if (const Json* vols = TRY(s.array("volumes"))) {
    for (size_t i = 0; i < vols->size(); ++i) {
      std::string vp = cat(s.at("volumes"), '[', i, ']');
      auto vf = TRY(fields((*vols)[i], vp, w));
      Volume v;
      v.name = TRY(vf.str("name"));
      if (const Json* e = TRY(vf.object("emptyDir"))) {
        auto ef = TRY(fields(*e, vf.at("emptyDir"), w));
        v.kind = "emptyDir";
        v.medium = TRY(ef.str("medium"));
        if (const Json* sl = ef.get("sizeLimit")) {
          auto q = parse_quantity(sl->is_string() ? sl->get<std::string>() : sl->dump());
          if (!q) return error(ef.at("sizeLimit"), ": invalid quantity ", sl->dump());
          v.size_limit = *q;
        }
        ef.finish();
      }
      if (const Json* h = TRY(vf.object("hostPath"))) {
        auto hf = TRY(fields(*h, vf.at("hostPath"), w));
        v.kind = "hostPath";
        v.path = TRY(hf.str("path"));
        v.type = TRY(hf.str("type"));
        hf.finish();
      }
      for (const char* kind : {"configMap", "secret"}) {
        if (const Json* c = TRY(vf.object(kind))) {
          auto cf = TRY(fields(*c, vf.at(kind), w));
          v.kind = kind;
          v.source = TRY(cf.str(std::string_view(kind) == "secret" ? "secretName" : "name"));
          v.optional = TRY(cf.boolean("optional")).value_or(false);
          if (auto mode = TRY(cf.integer("defaultMode"))) {
            if (*mode < 0 || *mode > 0777)
              return error(cf.at("defaultMode"), ": must be 0-0777 (decimal 0-511), got ", *mode);
            v.default_mode = static_cast<int>(*mode);
          }
          if (const Json* items = TRY(cf.array("items"))) {
            for (size_t k = 0; k < items->size(); ++k) {
              std::string ip = cat(cf.at("items"), '[', k, ']');
              auto itf = TRY(fields((*items)[k], ip, w));
              KeyToPath kp;
              kp.key = TRY(itf.str("key"));
              kp.path = TRY(itf.str("path"));
              if (auto mode = TRY(itf.integer("mode"))) {
                if (*mode < 0 || *mode > 0777)
                  return error(itf.at("mode"), ": must be 0-0777 (decimal 0-511), got ", *mode);
                kp.mode = static_cast<int>(*mode);
              }
              itf.finish();
              v.items.push_back(std::move(kp));
            }
          }
          cf.finish();
        }
      }
      if (v.kind.empty()) {
        vf.finish();
        if (w) w->push_back(cat(vp, ": volume type not supported by skiff yet, ignored"));
        v.kind = "unsupported";
      } else {
        vf.finish();
      }
      p.spec.volumes.push_back(std::move(v));
    }
  }
  s.ignore({"hostPID", "hostIPC", "affinity", "tolerations", "dnsConfig", "readinessGates",
            "runtimeClassName", "overhead", "topologySpreadConstraints", "ephemeralContainers",
            "hostAliases", "subdomain", "activeDeadlineSeconds"});
  if (const Json* ips = TRY(s.array("imagePullSecrets"))) {
    for (size_t i = 0; i < ips->size(); ++i) {
      auto rf = TRY(fields((*ips)[i], cat(s.at("imagePullSecrets"), '[', i, ']'), w));
      std::string name = TRY(rf.str("name"));
      rf.finish();
      if (!name.empty()) p.spec.image_pull_secrets.push_back(name);
    }
  }
  for (const char* k :
       {"nodeName", "nodeSelector", "schedulerName", "priority", "priorityClassName",
        "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "dnsPolicy",
        "enableServiceLinks", "preemptionPolicy", "setHostnameAsFQDN"})
    (void)s.get(k);
  s.finish();
  (void)f.get("status");
  f.finish();

  // Defaults (the API server's SetDefaults_Pod and SetDefaults_Container).
  for (auto* list : {&p.spec.init_containers, &p.spec.containers})
    for (auto& c : *list) {
      if (c.image_pull_policy.empty()) {
        bool latest = c.image.find('@') == std::string::npos &&
                      (c.image.rfind(':') == std::string::npos ||
                       c.image.rfind(':') < c.image.rfind('/') + 1 || c.image.ends_with(":latest"));
        c.image_pull_policy = latest ? "Always" : "IfNotPresent";
      }
    }
  if (p.uid.empty()) p.uid = new_uid();
  return p;
}

namespace {

// The documents of a stream whose every document is a JSON object ("---" lines between them: what
// the kubelet writes, objects from the API); nullopt when any is not (YAML: yaml-cpp reads it).
std::optional<std::vector<std::string_view>> json_objects(std::string_view text) {
  std::vector<std::string_view> docs;
  size_t start = 0;
  auto take = [&](size_t end) {
    std::string_view d = trim(text.substr(start, end - start));
    if (d.empty()) return true;
    docs.push_back(d);
    return d.front() == '{';
  };
  for (size_t at = 0; at < text.size();) {
    size_t eol = text.find('\n', at);
    if (eol == std::string_view::npos) eol = text.size();
    if (trim(text.substr(at, eol - at)) == "---") {
      if (!take(at)) return std::nullopt;
      start = eol;
    }
    at = eol + 1;
  }
  if (!take(text.size())) return std::nullopt;
  return docs;
}

}  // namespace

Result<Manifest> parse_manifest(std::string_view text, std::string_view what) {
  std::vector<Json> docs;
  // JSON is YAML too, but nlohmann reads it ~50x faster than yaml-cpp (a shim reads its pod
  // record at every start).
  // A flow mapping that is not JSON ({a: 1}) goes to yaml-cpp too, which says what is wrong.
  if (auto objects = json_objects(text)) {
    for (std::string_view d : *objects) {
      auto j = parse_json(d, what);
      if (!j) {
        docs.clear();
        break;
      }
      docs.push_back(std::move(*j));
    }
  }
  if (docs.empty()) docs = TRY(yaml_documents(text, what));
  if (docs.empty()) return error(what, ": no documents");
  Manifest m;
  bool have_pod = false;
  size_t cms = 0, secrets = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    const Json& d = docs[i];
    std::string kind = d.is_object() && d.contains("kind") && d["kind"].is_string()
                           ? d["kind"].get<std::string>()
                           : "";
    if (kind == "Pod") {
      if (have_pod) return error(what, ": more than one Pod (document ", i + 1, ")");
      m.pod = TRY_CTX(pod_from_json(d, &m.warnings), what);
      have_pod = true;
    } else if (kind == "ConfigMap") {
      m.config_maps.push_back(TRY_CTX(key_value_object(d, "ConfigMap", cms++, &m.warnings), what));
    } else if (kind == "Secret") {
      m.secrets.push_back(TRY_CTX(key_value_object(d, "Secret", secrets++, &m.warnings), what));
    } else if (kind.empty()) {
      return error(what, " (document ", i + 1, "): kind: required");
    } else {
      m.warnings.push_back(cat("document ", i + 1, ": kind ", json_quote(kind), " ignored"));
    }
  }
  if (!have_pod) return error(what, ": no Pod in the file");
  auto problems = validate_manifest(m);
  if (!problems.empty())
    return error(what, ": invalid Pod ", quote(m.pod.name), ":\n  ", join(problems, "\n  "));
  return m;
}

std::optional<int64_t> parse_quantity(std::string_view text, int64_t scale) {
  static const std::pair<const char*, long double> kSuffixes[] = {{"Ki", 1024.0L},
                                                                  {"Mi", 1048576.0L},
                                                                  {"Gi", 1073741824.0L},
                                                                  {"Ti", 1099511627776.0L},
                                                                  {"Pi", 1125899906842624.0L},
                                                                  {"Ei", 1152921504606846976.0L},
                                                                  {"k", 1e3L},
                                                                  {"M", 1e6L},
                                                                  {"G", 1e9L},
                                                                  {"T", 1e12L},
                                                                  {"P", 1e15L},
                                                                  {"E", 1e18L},
                                                                  {"m", 1e-3L},
                                                                  {"", 1.0L}};
  std::string t(trim(text));
  if (t.empty()) return std::nullopt;
  for (const auto& [suffix, factor] : kSuffixes) {
    std::string_view sv(suffix);
    if (!std::string_view(t).ends_with(sv)) continue;
    std::string number = t.substr(0, t.size() - sv.size());
    if (number.empty()) return std::nullopt;
    size_t used = 0;
    long double v;
    try {
      v = std::stold(number, &used);
    } catch (...) {
      return std::nullopt;
    }
    if (used != number.size()) return std::nullopt;
    long double scaled = v * factor * static_cast<long double>(scale);
    if (scaled > 9.2e18L || scaled < -9.2e18L) return std::nullopt;
    auto whole = static_cast<int64_t>(scaled);
    if (static_cast<long double>(whole) < scaled) ++whole;  // round up, as the API does
    return whole;
  }
  return std::nullopt;
}

std::string new_uid() {
  unsigned char b[16];
  UniqueFd fd(::open("/dev/urandom", O_RDONLY | O_CLOEXEC));
  if (!fd || ::read(fd.get(), b, sizeof b) != static_cast<ssize_t>(sizeof b)) {
    for (auto& x : b) x = static_cast<unsigned char>(rand());
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
           b[14], b[15]);
  return out;
}

}  // namespace skiff::kubelet
