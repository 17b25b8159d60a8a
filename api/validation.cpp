#include "api/validation.hpp"

#include <set>

#include "api/meta.hpp"
#include "api/selector.hpp"
#include "common/strings.hpp"

namespace skiff::api {

namespace {

std::string idx(const std::string& path, size_t i) { return cat(path, "[", i, "]"); }

void default_if_missing(Json& obj, const char* key, Json value) {
  if (!obj.contains(key) || obj[key].is_null()) obj[key] = std::move(value);
}

void default_container(Json& c) {
  if (!c.is_object()) return;
  std::string image = c.value("image", "");
  bool latest = image.find(':', image.rfind('/') == std::string::npos ? 0 : image.rfind('/')) ==
                    std::string::npos ||
                (image.size() > 7 && image.substr(image.size() - 7) == ":latest");
  if (image.find('@') != std::string::npos) latest = false;
  default_if_missing(c, "imagePullPolicy", latest ? "Always" : "IfNotPresent");
  default_if_missing(c, "terminationMessagePath", "/dev/termination-log");
  default_if_missing(c, "terminationMessagePolicy", "File");
  default_if_missing(c, "resources", Json::object());
  if (c.contains("ports") && c["ports"].is_array())
    for (auto& p : c["ports"])
      if (p.is_object()) default_if_missing(p, "protocol", "TCP");
}

void check_resources(const Json& c, const std::string& path, FieldErrors& errs) {
  const Json* res = at_path(c, {"resources"});
  if (!res || !res->is_object()) return;
  for (const char* part : {"limits", "requests"}) {
    auto it = res->find(part);
    if (it == res->end() || !it->is_object()) continue;
    for (const auto& [name, q] : it->items()) {
      std::string field = cat(path, ".resources.", part, "[", name, "]");
      std::string text = q.is_string() ? q.get<std::string>() : q.dump();
      auto v = parse_quantity_milli(text);
      if (!v)
        errs.push_back(invalid(field, q,
                               "quantities must match the regular expression "
                               "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
      else if (*v < 0)
        errs.push_back(invalid(field, q, "must be greater than or equal to 0"));
    }
  }
}

void check_containers(const Json& list, const std::string& path, bool required_nonempty,
                      const std::set<std::string>& volumes, std::set<std::string>& names,
                      FieldErrors& errs) {
  if (list.is_null() || (list.is_array() && list.empty())) {
    if (required_nonempty) errs.push_back(required(path));
    return;
  }
  if (!list.is_array()) {
    errs.push_back(invalid(path, list, "expected a list of containers"));
    return;
  }
  for (size_t i = 0; i < list.size(); i++) {
    const Json& c = list[i];
    std::string p = idx(path, i);
    if (!c.is_object()) {
      errs.push_back(invalid(p, c, "expected an object"));
      continue;
    }
    std::string name = c.value("name", "");
    if (name.empty()) {
      errs.push_back(required(p + ".name"));
    } else if (auto why = check_dns_label(name); !why.empty()) {
      errs.push_back(invalid(p + ".name", name, why));
    } else if (!names.insert(name).second) {
      errs.push_back(duplicate(p + ".name", name));
    }
    if (!c.contains("image") || !c["image"].is_string() ||
        trim(c["image"].get<std::string>()).empty())
      errs.push_back(required(p + ".image"));
    if (c.contains("ports") && c["ports"].is_array()) {
      for (size_t j = 0; j < c["ports"].size(); j++) {
        const Json& port = c["ports"][j];
        std::string pp = idx(p + ".ports", j);
        if (!port.contains("containerPort")) {
          errs.push_back(required(pp + ".containerPort"));
        } else if (!port["containerPort"].is_number_integer() ||
                   port["containerPort"].get<int64_t>() < 1 ||
                   port["containerPort"].get<int64_t>() > 65535) {
          errs.push_back(invalid(pp + ".containerPort", port["containerPort"],
                                 "must be between 1 and 65535, inclusive"));
        }
        std::string proto = port.value("protocol", "TCP");
        if (proto != "TCP" && proto != "UDP" && proto != "SCTP")
          errs.push_back(not_supported(pp + ".protocol", proto, {"SCTP", "TCP", "UDP"}));
      }
    }
    if (c.contains("volumeMounts") && c["volumeMounts"].is_array()) {
      for (size_t j = 0; j < c["volumeMounts"].size(); j++) {
        const Json& m = c["volumeMounts"][j];
        std::string mp = idx(p + ".volumeMounts", j);
        std::string vname = m.value("name", "");
        if (vname.empty())
          errs.push_back(required(mp + ".name"));
        else if (!volumes.count(vname))
          errs.push_back(not_found(mp + ".name", vname));
        if (m.value("mountPath", "").empty()) errs.push_back(required(mp + ".mountPath"));
      }
    }
    std::string policy = c.value("imagePullPolicy", "IfNotPresent");
    if (policy != "Always" && policy != "IfNotPresent" && policy != "Never")
      errs.push_back(
          not_supported(p + ".imagePullPolicy", policy, {"Always", "IfNotPresent", "Never"}));
    check_resources(c, p, errs);
  }
}

void check_labels(const Json& meta, const char* field, FieldErrors& errs) {
  auto it = meta.find(field);
  if (it == meta.end() || it->is_null()) return;
  std::string path = cat("metadata.", field);
  if (!it->is_object()) {
    errs.push_back(invalid(path, *it, "expected a map of strings"));
    return;
  }
  for (const auto& [k, v] : it->items()) {
    if (auto why = check_qualified_name(k); !why.empty()) errs.push_back(invalid(path, k, why));
    if (!v.is_string()) {
      errs.push_back(invalid(cat(path, "[", k, "]"), v, "expected a string"));
    } else if (std::string_view(field) == "labels") {
      if (auto why = check_label_value(v.get<std::string>()); !why.empty())
        errs.push_back(invalid(path, v, why));
    }
  }
}

FieldErrors validate_pod(const Json& obj) {
  FieldErrors errs;
  const Json* spec = at_path(obj, {"spec"});
  if (!spec || !spec->is_object()) {
    errs.push_back(required("spec"));
    return errs;
  }
  return validate_pod_spec(*spec, "spec");
}

void check_replicas(const Json& spec, FieldErrors& errs) {
  if (spec.contains("replicas") &&
      (!spec["replicas"].is_number_integer() || spec["replicas"].get<int64_t>() < 0))
    errs.push_back(
        invalid("spec.replicas", spec["replicas"], "must be greater than or equal to 0"));
}

void check_workload(const Json& obj, FieldErrors& errs) {
  const Json* spec = at_path(obj, {"spec"});
  if (!spec || !spec->is_object()) {
    errs.push_back(required("spec"));
    return;
  }
  check_replicas(*spec, errs);
  const Json* selector = at_path(*spec, {"selector"});
  if (!selector || selector->is_null() || selector->empty()) {
    errs.push_back(required("spec.selector"));
  } else {
    auto sel = LabelSelector::from_json(*selector);
    if (!sel.ok()) {
      errs.push_back(invalid("spec.selector", *selector, sel.error().what()));
    } else {
      const Json* labels = at_path(*spec, {"template", "metadata", "labels"});
      if (sel->empty())
        errs.push_back(
            invalid("spec.selector", *selector, "empty selector is invalid for deployment"));
      else if (!sel->matches(labels ? *labels : Json()))
        errs.push_back(invalid("spec.template.metadata.labels", labels ? *labels : Json(),
                               "`selector` does not match template `labels`"));
    }
  }
  const Json* tspec = at_path(*spec, {"template", "spec"});
  if (!tspec || !tspec->is_object()) {
    errs.push_back(required("spec.template.spec"));
    return;
  }
  auto more = validate_pod_spec(*tspec, "spec.template.spec");
  errs.insert(errs.end(), more.begin(), more.end());
  std::string rp = tspec->value("restartPolicy", "Always");
  if (rp != "Always")
    errs.push_back(not_supported("spec.template.spec.restartPolicy", rp, {"Always"}));
}

void check_service(const Json& obj, FieldErrors& errs) {
  const Json* spec = at_path(obj, {"spec"});
  if (!spec || !spec->is_object()) {
    errs.push_back(required("spec"));
    return;
  }
  std::string type = spec->value("type", "ClusterIP");
  if (type != "ClusterIP" && type != "NodePort" && type != "LoadBalancer" && type != "ExternalName")
    errs.push_back(not_supported("spec.type", type,
                                 {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"}));
  const Json* ports = at_path(*spec, {"ports"});
  bool headless = spec->value("clusterIP", "") == "None";
  if ((!ports || !ports->is_array() || ports->empty()) && type != "ExternalName" && !headless) {
    errs.push_back(required("spec.ports"));
    return;
  }
  if (!ports || !ports->is_array()) return;
  std::set<std::string> names;
  for (size_t i = 0; i < ports->size(); i++) {
    const Json& p = (*ports)[i];
    std::string pp = idx("spec.ports", i);
    if (!p.contains("port") || !p["port"].is_number_integer() || p["port"].get<int64_t>() < 1 ||
        p["port"].get<int64_t>() > 65535)
      errs.push_back(invalid(pp + ".port", p.value("port", Json(0)),
                             "must be between 1 and 65535, inclusive"));
    if (ports->size() > 1 && p.value("name", "").empty()) errs.push_back(required(pp + ".name"));
    if (!p.value("name", "").empty() && !names.insert(p.value("name", "")).second)
      errs.push_back(duplicate(pp + ".name", p["name"]));
  }
}

void check_node(const Json& obj, FieldErrors& errs) {
  const Json* taints = at_path(obj, {"spec", "taints"});
  if (!taints || !taints->is_array()) return;
  for (size_t i = 0; i < taints->size(); i++) {
    const Json& t = (*taints)[i];
    std::string p = idx("spec.taints", i);
    if (t.value("key", "").empty()) errs.push_back(required(p + ".key"));
    std::string effect = t.value("effect", "");
    if (effect != "NoSchedule" && effect != "PreferNoSchedule" && effect != "NoExecute")
      errs.push_back(
          not_supported(p + ".effect", effect, {"NoSchedule", "PreferNoSchedule", "NoExecute"}));
  }
}

void check_string_map(const Json& obj, const char* field, FieldErrors& errs) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return;
  if (!it->is_object()) {
    errs.push_back(invalid(field, *it, "expected a map of strings"));
    return;
  }
  for (const auto& [k, v] : it->items()) {
    bool key_ok = !k.empty() && k.size() <= 253;
    for (char c : k)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
        key_ok = false;
    if (!key_ok)
      errs.push_back(invalid(cat(field, "[", k, "]"), k,
                             "a valid config key must consist of alphanumeric characters, '-', "
                             "'_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex "
                             "used for validation is '[-._a-zA-Z0-9]+')"));
    if (!v.is_string()) errs.push_back(invalid(cat(field, "[", k, "]"), v, "expected a string"));
  }
}

}  // namespace

void default_pod_spec(Json& spec) {
  if (!spec.is_object()) return;
  default_if_missing(spec, "restartPolicy", "Always");
  default_if_missing(spec, "dnsPolicy", "ClusterFirst");
  default_if_missing(spec, "schedulerName", "default-scheduler");
  default_if_missing(spec, "terminationGracePeriodSeconds", 30);
  default_if_missing(spec, "securityContext", Json::object());
  default_if_missing(spec, "enableServiceLinks", true);
  for (const char* list : {"containers", "initContainers"})
    if (spec.contains(list) && spec[list].is_array())
      for (auto& c : spec[list]) default_container(c);
}

FieldErrors validate_pod_spec(const Json& spec, const std::string& path) {
  FieldErrors errs;
  std::set<std::string> volumes;
  if (spec.contains("volumes") && spec["volumes"].is_array()) {
    for (size_t i = 0; i < spec["volumes"].size(); i++) {
      const Json& v = spec["volumes"][i];
      std::string name = v.value("name", "");
      std::string p = idx(path + ".volumes", i);
      if (name.empty())
        errs.push_back(required(p + ".name"));
      else if (auto why = check_dns_label(name); !why.empty())
        errs.push_back(invalid(p + ".name", name, why));
      else if (!volumes.insert(name).second)
        errs.push_back(duplicate(p + ".name", name));
    }
  }
  std::set<std::string> names;
  check_containers(spec.value("containers", Json()), path + ".containers", true, volumes, names,
                   errs);
  check_containers(spec.value("initContainers", Json()), path + ".initContainers", false, volumes,
                   names, errs);
  std::string rp = spec.value("restartPolicy", "Always");
  if (rp != "Always" && rp != "OnFailure" && rp != "Never")
    errs.push_back(not_supported(path + ".restartPolicy", rp, {"Always", "OnFailure", "Never"}));
  std::string dns = spec.value("dnsPolicy", "ClusterFirst");
  if (dns != "ClusterFirst" && dns != "ClusterFirstWithHostNet" && dns != "Default" &&
      dns != "None")
    errs.push_back(not_supported(path + ".dnsPolicy", dns,
                                 {"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"}));
  if (spec.contains("terminationGracePeriodSeconds") &&
      (!spec["terminationGracePeriodSeconds"].is_number_integer() ||
       spec["terminationGracePeriodSeconds"].get<int64_t>() < 0))
    errs.push_back(invalid(path + ".terminationGracePeriodSeconds",
                           spec["terminationGracePeriodSeconds"],
                           "must be greater than or equal to 0"));
  if (spec.contains("nodeSelector")) {
    const Json& ns = spec["nodeSelector"];
    if (!ns.is_null() && !ns.is_object())
      errs.push_back(invalid(path + ".nodeSelector", ns, "expected a map of strings"));
  }
  return errs;
}

void set_defaults(const KindInfo& kind, Json& obj) {
  if (!obj.is_object()) return;
  if (kind.kind == "Pod") {
    if (obj.contains("spec")) default_pod_spec(obj["spec"]);
  } else if (kind.kind == "Deployment" || kind.kind == "ReplicaSet") {
    if (!obj.contains("spec") || !obj["spec"].is_object()) return;
    Json& spec = obj["spec"];
    default_if_missing(spec, "replicas", 1);
    if (spec.contains("template") && spec["template"].is_object() &&
        spec["template"].contains("spec"))
      default_pod_spec(spec["template"]["spec"]);
    if (kind.kind == "Deployment") {
      default_if_missing(spec, "revisionHistoryLimit", 10);
      default_if_missing(spec, "progressDeadlineSeconds", 600);
      default_if_missing(spec, "strategy", Json::object());
      Json& strategy = spec["strategy"];
      default_if_missing(strategy, "type", "RollingUpdate");
      if (strategy["type"] == "RollingUpdate")
        default_if_missing(strategy, "rollingUpdate",
                           Json{{"maxSurge", "25%"}, {"maxUnavailable", "25%"}});
    }
  } else if (kind.kind == "Service") {
    if (!obj.contains("spec") || !obj["spec"].is_object()) return;
    Json& spec = obj["spec"];
    default_if_missing(spec, "type", "ClusterIP");
    default_if_missing(spec, "sessionAffinity", "None");
    if (spec.contains("ports") && spec["ports"].is_array())
      for (auto& p : spec["ports"]) {
        if (!p.is_object()) continue;
        default_if_missing(p, "protocol", "TCP");
        if (p.contains("port")) default_if_missing(p, "targetPort", p["port"]);
      }
  } else if (kind.kind == "Secret") {
    default_if_missing(obj, "type", "Opaque");
  } else if (kind.kind == "Namespace") {
    default_if_missing(obj, "spec", Json{{"finalizers", {"kubernetes"}}});
    default_if_missing(obj, "status", Json{{"phase", "Active"}});
  }
}

FieldErrors validate_metadata(const KindInfo& kind, const Json& obj) {
  FieldErrors errs;
  const Json* meta = at_path(obj, {"metadata"});
  if (!meta || !meta->is_object()) {
    errs.push_back(required("metadata"));
    return errs;
  }
  std::string name = meta->value("name", "");
  if (name.empty()) {
    errs.push_back(required("metadata.name", "name or generateName is required"));
  } else {
    bool label_names = kind.kind == "Namespace" || kind.kind == "Service";
    std::string why = label_names ? check_dns_label(name) : check_dns_subdomain(name);
    if (kind.kind == "Event" || kind.kind == "Node") why = check_dns_subdomain(name);
    if (!why.empty()) errs.push_back(invalid("metadata.name", name, why));
  }
  if (kind.namespaced) {
    std::string ns = meta->value("namespace", "");
    if (ns.empty())
      errs.push_back(required("metadata.namespace"));
    else if (auto why = check_dns_label(ns); !why.empty())
      errs.push_back(invalid("metadata.namespace", ns, why));
  }
  check_labels(*meta, "labels", errs);
  check_labels(*meta, "annotations", errs);
  return errs;
}

FieldErrors validate(const KindInfo& kind, const Json& obj) {
  FieldErrors errs = validate_metadata(kind, obj);
  if (kind.kind == "Pod") {
    auto more = validate_pod(obj);
    errs.insert(errs.end(), more.begin(), more.end());
  } else if (kind.kind == "Deployment" || kind.kind == "ReplicaSet") {
    check_workload(obj, errs);
  } else if (kind.kind == "Service") {
    check_service(obj, errs);
  } else if (kind.kind == "Node") {
    check_node(obj, errs);
  } else if (kind.kind == "ConfigMap") {
    check_string_map(obj, "data", errs);
    check_string_map(obj, "binaryData", errs);
  } else if (kind.kind == "Secret") {
    check_string_map(obj, "data", errs);
    check_string_map(obj, "stringData", errs);
  } else if (kind.kind == "Event") {
    if (str_at(obj, {"involvedObject", "name"}).empty() &&
        str_at(obj, {"involvedObject", "kind"}).empty())
      errs.push_back(required("involvedObject"));
  } else if (kind.kind == "CertificateSigningRequest") {
    if (str_at(obj, {"spec", "request"}).empty()) errs.push_back(required("spec.request"));
    if (str_at(obj, {"spec", "signerName"}).empty()) errs.push_back(required("spec.signerName"));
  } else if (kind.kind == "Lease") {
    const Json* d = at_path(obj, {"spec", "leaseDurationSeconds"});
    if (d && (!d->is_number_integer() || d->get<int64_t>() <= 0))
      errs.push_back(invalid("spec.leaseDurationSeconds", *d, "must be greater than 0"));
  }
  return errs;
}

FieldErrors validate_update(const KindInfo& kind, const Json& obj, const Json& old) {
  FieldErrors errs = validate(kind, obj);
  if (kind.kind == "Pod") {
    // Only images, activeDeadlineSeconds and added tolerations may change on a running pod.
    Json a = obj.value("spec", Json::object()), b = old.value("spec", Json::object());
    for (Json* s : {&a, &b}) {
      for (const char* list : {"containers", "initContainers"})
        if (s->contains(list) && (*s)[list].is_array())
          for (auto& c : (*s)[list]) c.erase("image");
      s->erase("activeDeadlineSeconds");
      s->erase("tolerations");
    }
    if (a != b)
      errs.push_back(forbidden("spec",
                               "pod updates may not change fields other than "
                               "`spec.containers[*].image`, `spec.initContainers[*].image`, "
                               "`spec.activeDeadlineSeconds` or `spec.tolerations` (only "
                               "additions to existing tolerations)"));
  } else if (kind.kind == "Deployment" || kind.kind == "ReplicaSet") {
    const Json* a = at_path(obj, {"spec", "selector"});
    const Json* b = at_path(old, {"spec", "selector"});
    if (a && b && *a != *b) errs.push_back(invalid("spec.selector", *a, "field is immutable"));
  } else if (kind.kind == "Service") {
    std::string a = str_at(obj, {"spec", "clusterIP"}), b = str_at(old, {"spec", "clusterIP"});
    if (!b.empty() && a != b) errs.push_back(invalid("spec.clusterIP", a, "field is immutable"));
  }
  return errs;
}

}  // namespace skiff::api
