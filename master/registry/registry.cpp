#include "master/registry/registry.hpp"

#include "api/meta.hpp"
#include "api/selector.hpp"
#include "api/validation.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace skiff::master {

using api::ApiError;
using api::KindInfo;

namespace {

const KindInfo& kind_of(const char* group, const char* resource) {
  return *api::find_resource(group, resource);
}

bool has_status_subresource(const KindInfo& k) {
  for (const auto& s : k.subresources)
    if (s == "status") return true;
  return false;
}

Json& meta_of(Json& obj) {
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = Json::object();
  return obj["metadata"];
}

Json finalizers_of(const Json& obj) {
  const Json* f = api::at_path(obj, {"metadata", "finalizers"});
  return f && f->is_array() ? *f : Json::array();
}

std::string store_error_message(const Error& e) { return e.message(); }

Outcome from_store_error(const KindInfo& k, const std::string& name, const Error& e) {
  switch (e.code()) {
    case kNotFound:
      return Outcome::fail(api::not_found_error(k.group_resource(), name));
    case kExists:
      return Outcome::fail(api::already_exists(k.group_resource(), name));
    case kConflict:
      return Outcome::fail(api::conflict(k.group_resource(), name, store_error_message(e)));
    default:
      return Outcome::fail(api::internal_error(e.what()));
  }
}

Outcome stored(Object o, int code = 200) {
  Outcome out;
  out.code = code;
  out.object = std::move(o);
  return out;
}

void set_condition(Json& pod, const std::string& type, const std::string& status) {
  Json& st = pod["status"];
  if (!st.is_object()) st = Json::object();
  if (!st.contains("conditions") || !st["conditions"].is_array()) st["conditions"] = Json::array();
  for (auto& c : st["conditions"])
    if (c.value("type", "") == type) {
      if (c.value("status", "") != status) c["lastTransitionTime"] = api::now_rfc3339();
      c["status"] = status;
      return;
    }
  st["conditions"].push_back({{"type", type},
                              {"status", status},
                              {"lastProbeTime", nullptr},
                              {"lastTransitionTime", api::now_rfc3339()}});
}

}  // namespace

std::string qos_class(const Json& pod) {
  bool any = false, guaranteed = true;
  const Json* cs = api::at_path(pod, {"spec", "containers"});
  if (!cs || !cs->is_array()) return "BestEffort";
  for (const auto& c : *cs) {
    const Json* req = api::at_path(c, {"resources", "requests"});
    const Json* lim = api::at_path(c, {"resources", "limits"});
    if ((req && req->is_object() && !req->empty()) || (lim && lim->is_object() && !lim->empty()))
      any = true;
    for (const char* r : {"cpu", "memory"}) {
      if (!lim || !lim->is_object() || !lim->contains(r)) {
        guaranteed = false;
        continue;
      }
      if (req && req->is_object() && req->contains(r) && (*req)[r] != (*lim)[r]) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

Json scale_of(const Json& o) {
  Json s = {{"kind", "Scale"},
            {"apiVersion", "autoscaling/v1"},
            {"metadata",
             {{"name", api::str_at(o, {"metadata", "name"})},
              {"namespace", api::str_at(o, {"metadata", "namespace"})},
              {"uid", api::str_at(o, {"metadata", "uid"})},
              {"resourceVersion", api::str_at(o, {"metadata", "resourceVersion"})},
              {"creationTimestamp", api::str_at(o, {"metadata", "creationTimestamp"})}}},
            {"spec", {{"replicas", o["spec"].value("replicas", 0)}}},
            {"status", {{"replicas", o.value("status", Json::object()).value("replicas", 0)}}}};
  std::vector<std::string> sel;
  if (const Json* ml = api::at_path(o, {"spec", "selector", "matchLabels"}); ml && ml->is_object())
    for (const auto& [k, v] : ml->items()) sel.push_back(k + "=" + v.get<std::string>());
  s["status"]["selector"] = join(sel, ",");
  return s;
}

Result<std::unique_ptr<Registry>> Registry::create(Store& store, const RegistryOptions& options) {
  auto ips = TRY_CTX(IpAllocator::parse(options.service_cidr), "--service-cidr");
  std::unique_ptr<Registry> r(new Registry(store, std::move(ips)));
  for (const auto& svc : store.list(list_prefix("services", "")).items) {
    std::string ip = api::str_at(*svc.json, {"spec", "clusterIP"});
    if (!ip.empty() && ip != "None") (void)r->ips_.claim(ip);
  }
  return r;
}

Result<void> Registry::bootstrap() {
  Identity system{"system:apiserver", {"system:masters"}};
  const KindInfo& ns_kind = kind_of("", "namespaces");
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    if (store_.get(object_key("namespaces", "", ns))) continue;
    auto o = create(ns_kind, "", Json{{"metadata", {{"name", ns}}}}, system);
    if (!o.ok() && o.error->code != 409)
      return error("create namespace ", quote(ns), ": ", o.error->message);
  }
  // Namespaces created before a restart keep their default service account.
  for (const auto& ns : store_.list(list_prefix("namespaces", "")).items) {
    std::string name = api::str_at(*ns.json, {"metadata", "name"});
    if (!store_.get(object_key("serviceaccounts", name, "default")))
      (void)create(kind_of("", "serviceaccounts"), name, Json{{"metadata", {{"name", "default"}}}},
                   system);
  }
  if (!store_.get(object_key("services", "default", "kubernetes"))) {
    Json svc = {{"metadata",
                 {{"name", "kubernetes"},
                  {"labels", {{"component", "apiserver"}, {"provider", "kubernetes"}}}}},
                {"spec",
                 {{"clusterIP", ips_.first()},
                  {"ports", {{{"name", "https"}, {"port", 443}, {"targetPort", 6443}}}}}}};
    auto o = create(kind_of("", "services"), "default", svc, system);
    if (!o.ok() && o.error->code != 409)
      return error("create the kubernetes service: ", o.error->message);
  }
  return ok();
}

Outcome Registry::create(const KindInfo& k, const std::string& ns, Json body, const Identity& who) {
  if (!body.is_object()) return Outcome::fail(api::bad_request("the body must be a JSON object"));
  std::string api_version = body.value("apiVersion", "");
  std::string kind = body.value("kind", "");
  if (!api_version.empty() && api_version != k.api_version())
    return Outcome::fail(
        api::bad_request(cat("the API version in the data (", api_version,
                             ") does not match the expected API version (", k.api_version(), ")")));
  if (!kind.empty() && kind != k.kind)
    return Outcome::fail(api::bad_request(
        cat("the kind in the data (", kind, ") does not match the expected kind (", k.kind, ")")));
  body["apiVersion"] = k.api_version();
  body["kind"] = k.kind;
  Json& meta = meta_of(body);
  if (k.namespaced) {
    std::string body_ns = meta.value("namespace", "");
    if (body_ns.empty())
      meta["namespace"] = ns;
    else if (body_ns != ns)
      return Outcome::fail(api::bad_request(
          "the namespace of the provided object does not match the namespace sent on the request"));
    Object nso = store_.get(object_key("namespaces", "", ns));
    if (!nso) return Outcome::fail(api::not_found_error("namespaces", ns));
    if (api::at_path(*nso.json, {"metadata", "deletionTimestamp"}))
      return Outcome::fail({403, "Forbidden",
                            cat(k.resource, " ", json_quote(meta.value("name", "")),
                                " is forbidden: unable to create new content in namespace ", ns,
                                " because it is being terminated"),
                            nullptr});
  } else {
    meta.erase("namespace");
  }
  std::string generate = meta.value("generateName", "");
  bool generated = meta.value("name", "").empty() && !generate.empty();
  if (generated) meta["name"] = api::generate_name(generate);
  for (const char* f : {"resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds",
                        "managedFields", "selfLink"})
    meta.erase(f);
  meta["uid"] = api::new_uid();
  meta["creationTimestamp"] = api::now_rfc3339();
  if (k.kind != "Event" && k.kind != "Namespace" && k.kind != "ConfigMap" && k.kind != "Secret")
    meta["generation"] = 1;

  if (k.kind == "Pod") {
    Json& spec = body["spec"];
    if (spec.is_object()) {
      if (!spec.contains("serviceAccountName")) spec["serviceAccountName"] = "default";
      spec["serviceAccount"] = spec["serviceAccountName"];
      // ServiceAccount admission: a pod without imagePullSecrets gets its service account's (a
      // registry credential set once on the account serves every pod that runs as it). Mirror
      // pods, the kubelet's copies of its static pods, are left as they are (as kube does).
      const Json* mirror = api::at_path(meta, {"annotations", "kubernetes.io/config.mirror"});
      const Json* own = spec.contains("imagePullSecrets") ? &spec["imagePullSecrets"] : nullptr;
      if (!mirror && (!own || (own->is_array() && own->empty())) &&
          spec["serviceAccountName"].is_string()) {
        Object sa = store_.get(
            object_key("serviceaccounts", ns, spec["serviceAccountName"].get<std::string>()));
        if (sa)
          if (const Json* pulls = api::at_path(*sa.json, {"imagePullSecrets"});
              pulls && pulls->is_array() && !pulls->empty())
            spec["imagePullSecrets"] = *pulls;
      }
      if (!spec.contains("priority")) spec["priority"] = 0;
      if (!spec.contains("tolerations")) {
        // DefaultTolerationSeconds admission: evicted 300 s after the node goes away.
        spec["tolerations"] = Json::array();
        for (const char* t : {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"})
          spec["tolerations"].push_back({{"key", t},
                                         {"operator", "Exists"},
                                         {"effect", "NoExecute"},
                                         {"tolerationSeconds", 300}});
      }
    }
    body["status"] = {{"phase", "Pending"}, {"qosClass", qos_class(body)}};
  } else if (k.kind == "Deployment" || k.kind == "ReplicaSet" || k.kind == "Service") {
    body["status"] = k.kind == "Service" ? Json{{"loadBalancer", Json::object()}} : Json::object();
  } else if (k.kind == "CertificateSigningRequest") {
    if (body["spec"].is_object()) {
      body["spec"]["username"] = who.user;
      body["spec"]["groups"] = who.groups;
    }
    body["status"] = Json::object();
  }
  api::set_defaults(k, body);
  auto errs = api::validate(k, body);
  std::string name = meta.value("name", "");
  if (!errs.empty()) return Outcome::fail(api::invalid_error(k.group, k.kind, name, errs));

  std::string allocated;
  if (k.kind == "Service") {
    Json& spec = body["spec"];
    std::string type = spec.value("type", "ClusterIP");
    std::string ip = spec.value("clusterIP", "");
    if (type != "ExternalName" && ip != "None") {
      if (ip.empty()) {
        auto a = ips_.allocate();
        if (!a)
          return Outcome::fail(api::internal_error(
              cat("failed to allocate a serviceIP: range is full (", ips_.cidr(), ")")));
        allocated = *a;
      } else {
        if (auto c = ips_.claim(ip); !c.ok())
          return Outcome::fail(api::invalid_error(
              "", "Service", name, {api::invalid("spec.clusterIP", ip, c.error().message())}));
        allocated = ip;
      }
      spec["clusterIP"] = allocated;
      spec["clusterIPs"] = Json::array({allocated});
    }
  }

  for (int attempt = 0;; attempt++) {
    std::string key = object_key(k.group_resource(), k.namespaced ? ns : "", name);
    auto r = store_.create(key, body);
    if (r.ok()) {
      if (k.kind == "Namespace")
        (void)create(kind_of("", "serviceaccounts"), name,
                     Json{{"metadata", {{"name", "default"}}}}, who);
      return stored(std::move(*r), 201);
    }
    if (r.error().code() == kExists && generated && attempt < 8) {
      name = api::generate_name(generate);
      body["metadata"]["name"] = name;
      continue;
    }
    if (!allocated.empty()) ips_.release(allocated);
    return from_store_error(k, name, r.error());
  }
}

Outcome Registry::get(const KindInfo& k, const std::string& ns, const std::string& name,
                      const std::string& sub) {
  Object o = store_.get(object_key(k.group_resource(), k.namespaced ? ns : "", name));
  if (!o) return Outcome::fail(api::not_found_error(k.group_resource(), name));
  if (sub == "scale") {
    Outcome out;
    out.json = scale_of(*o.json);
    return out;
  }
  return stored(std::move(o));
}

Outcome Registry::write_existing(const KindInfo& k, const std::string& ns, const std::string& name,
                                 const std::string& sub, const Transform& make) {
  std::optional<ApiError> aerr;
  std::string gr = k.group_resource();
  std::string key = object_key(gr, k.namespaced ? ns : "", name);
  bool deleted = false;
  auto r = store_.mutate(key, [&](const Object* cur, int64_t) -> Result<std::optional<Json>> {
    auto fail = [&](ApiError e) -> Result<std::optional<Json>> {
      aerr = std::move(e);
      return error("rejected");
    };
    if (!cur) return fail(api::not_found_error(gr, name));
    const Json& old = *cur->json;
    auto made = make(old, aerr);
    if (!made.ok()) return aerr ? fail(*aerr) : fail(api::bad_request(made.error().what()));
    Json desired = std::move(*made);
    if (!desired.is_object()) return fail(api::bad_request("the object must be a JSON object"));
    std::string rv = api::str_at(desired, {"metadata", "resourceVersion"});
    if (!rv.empty() && rv != std::to_string(cur->mod_rev))
      return fail(api::conflict(gr, name,
                                "the object has been modified; please apply your changes to the "
                                "latest version and try again"));
    std::string body_name = api::str_at(desired, {"metadata", "name"});
    if (!body_name.empty() && body_name != name)
      return fail(api::bad_request(cat("the name of the object (", body_name,
                                       ") does not match the name on the URL (", name, ")")));
    std::string body_ns = api::str_at(desired, {"metadata", "namespace"});
    if (k.namespaced && !body_ns.empty() && body_ns != ns)
      return fail(
          api::bad_request("the namespace of the provided object does not match the "
                           "namespace sent on the request"));
    Json next;
    if (sub == "approval") {
      // certificatesigningrequests/approval: only the Approved/Denied conditions change.
      next = old;
      Json conds = Json::array();
      for (const auto& c : api::at_path(desired, {"status", "conditions"})
                               ? desired["status"]["conditions"]
                               : Json::array())
        if (c.value("type", "") == "Approved" || c.value("type", "") == "Denied")
          conds.push_back(c);
      if (!next.contains("status") || !next["status"].is_object()) next["status"] = Json::object();
      next["status"]["conditions"] = conds;
    } else if (sub == "status") {
      next = old;
      if (desired.contains("status")) next["status"] = desired["status"];
      // Status writers (the kubelet) may also set labels/annotations in kube; keep metadata.
    } else {
      next = std::move(desired);
      next["apiVersion"] = k.api_version();
      next["kind"] = k.kind;
      Json& m = meta_of(next);
      const Json& om = old["metadata"];
      for (const char* f : {"uid", "creationTimestamp", "deletionTimestamp",
                            "deletionGracePeriodSeconds", "generation", "name", "namespace"}) {
        if (om.contains(f))
          m[f] = om[f];
        else
          m.erase(f);
      }
      m.erase("managedFields");
      if (has_status_subresource(k)) {
        if (old.contains("status"))
          next["status"] = old["status"];
        else
          next.erase("status");
      }
      if (k.kind == "Service" && next.contains("spec") && next["spec"].is_object() &&
          next["spec"].value("clusterIP", "").empty() && old.contains("spec")) {
        next["spec"]["clusterIP"] = old["spec"].value("clusterIP", "");
        if (old["spec"].contains("clusterIPs"))
          next["spec"]["clusterIPs"] = old["spec"]["clusterIPs"];
      }
      api::set_defaults(k, next);
      auto errs = api::validate_update(k, next, old);
      if (!errs.empty()) return fail(api::invalid_error(k.group, k.kind, name, errs));
      if (om.contains("generation") && next.value("spec", Json()) != old.value("spec", Json()))
        m["generation"] = om["generation"].get<int64_t>() + 1;
    }
    // An object being deleted goes away once its last finalizer is removed (pods: once the
    // grace period is done, i.e. the node deleted it with grace 0).
    bool deleting = api::at_path(next, {"metadata", "deletionTimestamp"}) != nullptr;
    if (deleting && finalizers_of(next).empty() && !finalizers_of(old).empty()) {
      const Json* g = api::at_path(next, {"metadata", "deletionGracePeriodSeconds"});
      if (k.kind != "Pod" || !g || g->get<int64_t>() == 0) {
        deleted = true;
        return std::optional<Json>();
      }
    }
    return std::optional<Json>(std::move(next));
  });
  if (aerr) return Outcome::fail(*aerr);
  if (!r.ok()) return from_store_error(k, name, r.error());
  if (deleted) released(k, *r->json);
  return stored(std::move(*r));
}

Outcome Registry::update(const KindInfo& k, const std::string& ns, const std::string& name,
                         const std::string& sub, Json body) {
  if (sub == "scale")
    return scale_write(k, ns, name,
                       [&](const Json&, std::optional<ApiError>&) -> Result<Json> { return body; });
  std::string api_version = body.is_object() ? body.value("apiVersion", "") : "";
  if (!api_version.empty() && api_version != k.api_version())
    return Outcome::fail(
        api::bad_request(cat("the API version in the data (", api_version,
                             ") does not match the expected API version (", k.api_version(), ")")));
  return write_existing(
      k, ns, name, sub,
      [&](const Json&, std::optional<ApiError>&) -> Result<Json> { return body; });
}

Outcome Registry::patch(const KindInfo& k, const std::string& ns, const std::string& name,
                        const std::string& sub, api::PatchType type, const Json& patch) {
  auto apply = [&](const Json& current, std::optional<ApiError>& aerr) -> Result<Json> {
    auto out = api::apply_patch(type, current, patch);
    if (!out.ok()) {
      aerr = api::ApiError{type == api::PatchType::kJson ? 422 : 400,
                           type == api::PatchType::kJson ? "Invalid" : "BadRequest",
                           out.error().what(), nullptr};
      return std::move(out).error();
    }
    // A patch that does not name a resourceVersion is unconditional (kube's semantics).
    Json patched = std::move(*out);
    if (api::str_at(patched, {"metadata", "resourceVersion"}) ==
        api::str_at(current, {"metadata", "resourceVersion"}))
      patched["metadata"].erase("resourceVersion");
    return patched;
  };
  if (sub == "scale")
    return scale_write(k, ns, name, [&](const Json& cur, std::optional<ApiError>& aerr) {
      return apply(scale_of(cur), aerr);
    });
  return write_existing(k, ns, name, sub, apply);
}

Outcome Registry::scale_write(const KindInfo& k, const std::string& ns, const std::string& name,
                              const Transform& make) {
  Outcome o = write_existing(
      k, ns, name, "", [&](const Json& cur, std::optional<ApiError>& aerr) -> Result<Json> {
        Json scale = TRY(make(cur, aerr));
        const Json* replicas = api::at_path(scale, {"spec", "replicas"});
        if (!replicas || !replicas->is_number_integer() || replicas->get<int64_t>() < 0) {
          aerr = api::invalid_error("autoscaling", "Scale", name,
                                    {api::invalid("spec.replicas", replicas ? *replicas : Json(),
                                                  "must be greater than or equal to 0")});
          return error("invalid scale");
        }
        Json next = cur;
        std::string rv = api::str_at(scale, {"metadata", "resourceVersion"});
        if (rv.empty())
          next["metadata"].erase("resourceVersion");
        else
          next["metadata"]["resourceVersion"] = rv;
        next["spec"]["replicas"] = *replicas;
        return next;
      });
  if (o.ok()) {
    o.json = scale_of(*o.object.json);
    o.object = Object{};
  }
  return o;
}

Outcome Registry::remove(const KindInfo& k, const std::string& ns, const std::string& name,
                         const Json& options) {
  std::optional<ApiError> aerr;
  std::string gr = k.group_resource();
  std::string key = object_key(gr, k.namespaced ? ns : "", name);
  std::string policy = options.is_object() ? options.value("propagationPolicy", "") : "";
  if (policy.empty() && options.is_object() && options.value("orphanDependents", false))
    policy = "Orphan";
  if (!policy.empty() && policy != "Orphan" && policy != "Background" && policy != "Foreground")
    return Outcome::fail(api::invalid_error(
        "", "DeleteOptions", "",
        {api::not_supported("propagationPolicy", policy, {"Foreground", "Background", "Orphan"})}));
  std::optional<int64_t> grace;
  if (options.is_object() && options.contains("gracePeriodSeconds") &&
      options["gracePeriodSeconds"].is_number_integer())
    grace = options["gracePeriodSeconds"].get<int64_t>();
  bool deleted = false;
  auto r = store_.mutate(key, [&](const Object* cur, int64_t) -> Result<std::optional<Json>> {
    auto fail = [&](ApiError e) -> Result<std::optional<Json>> {
      aerr = std::move(e);
      return error("rejected");
    };
    if (!cur) return fail(api::not_found_error(gr, name));
    const Json& old = *cur->json;
    if (const Json* pre = api::at_path(options, {"preconditions"}); pre && pre->is_object()) {
      std::string uid = pre->value("uid", ""), rv = pre->value("resourceVersion", "");
      std::string ouid = api::str_at(old, {"metadata", "uid"});
      if (!uid.empty() && uid != ouid)
        return fail(api::conflict(gr, name,
                                  cat("Precondition failed: UID in precondition: ", uid,
                                      ", UID in object meta: ", ouid)));
      if (!rv.empty() && rv != std::to_string(cur->mod_rev))
        return fail(api::conflict(gr, name,
                                  cat("Precondition failed: ResourceVersion in precondition: ", rv,
                                      ", ResourceVersion in object meta: ", cur->mod_rev)));
    }
    Json next = old;
    Json& m = next["metadata"];
    Json finalizers = finalizers_of(old);
    auto add_finalizer = [&](const char* f) {
      if (std::find(finalizers.begin(), finalizers.end(), f) == finalizers.end())
        finalizers.push_back(f);
    };
    if (policy == "Foreground") add_finalizer("foregroundDeletion");
    if (policy == "Orphan") add_finalizer("orphan");
    bool already = m.contains("deletionTimestamp");
    if (k.kind == "Namespace") {
      if (!already) m["deletionTimestamp"] = api::now_rfc3339();
      m["deletionGracePeriodSeconds"] = 0;
      next["status"]["phase"] = "Terminating";
      if (!finalizers.empty()) m["finalizers"] = finalizers;
      return std::optional<Json>(std::move(next));
    }
    if (k.kind == "Pod") {
      int64_t g = grace.value_or(old["spec"].value("terminationGracePeriodSeconds", 30));
      std::string phase = api::str_at(old, {"status", "phase"});
      bool bound = !api::str_at(old, {"spec", "nodeName"}).empty();
      if (bound && g > 0 && phase != "Succeeded" && phase != "Failed") {
        int64_t current = m.value("deletionGracePeriodSeconds", g + 1);
        if (!already || g < current) {
          m["deletionTimestamp"] =
              api::rfc3339(std::chrono::system_clock::now() + std::chrono::seconds(g));
          m["deletionGracePeriodSeconds"] = g;
        }
        if (!finalizers.empty()) m["finalizers"] = finalizers;
        return std::optional<Json>(std::move(next));
      }
      if (!finalizers.empty()) m["deletionGracePeriodSeconds"] = 0;
    }
    if (!finalizers.empty()) {
      if (!already) m["deletionTimestamp"] = api::now_rfc3339();
      if (!m.contains("deletionGracePeriodSeconds")) m["deletionGracePeriodSeconds"] = 0;
      m["finalizers"] = finalizers;
      return std::optional<Json>(std::move(next));
    }
    deleted = true;
    return std::optional<Json>();
  });
  if (aerr) return Outcome::fail(*aerr);
  if (!r.ok()) return from_store_error(k, name, r.error());
  if (deleted) released(k, *r->json);
  return stored(std::move(*r), deleted ? 200 : 202);
}

void Registry::released(const KindInfo& k, const Json& object) {
  if (k.kind == "Service") {
    std::string ip = api::str_at(object, {"spec", "clusterIP"});
    if (!ip.empty() && ip != "None") ips_.release(ip);
  }
}

Outcome Registry::bind(const std::string& ns, const std::string& name, const Json& binding) {
  std::string node = api::str_at(binding, {"target", "name"});
  const KindInfo& pods = kind_of("", "pods");
  if (node.empty())
    return Outcome::fail(api::invalid_error("", "Binding", name, {api::required("target.name")}));
  std::optional<ApiError> aerr;
  auto r = store_.mutate(
      object_key("pods", ns, name), [&](const Object* cur, int64_t) -> Result<std::optional<Json>> {
        if (!cur) {
          aerr = api::not_found_error("pods", name);
          return error("not found");
        }
        Json next = *cur->json;
        std::string bound = api::str_at(next, {"spec", "nodeName"});
        if (!bound.empty()) {
          aerr = api::conflict(
              "pods", name, cat("pod ", name, " is already assigned to node ", json_quote(bound)));
          return error("bound");
        }
        if (api::at_path(next, {"metadata", "deletionTimestamp"})) {
          aerr = api::conflict("pods", name, "pod is being deleted");
          return error("deleting");
        }
        next["spec"]["nodeName"] = node;
        set_condition(next, "PodScheduled", "True");
        return std::optional<Json>(std::move(next));
      });
  if (aerr) return Outcome::fail(*aerr);
  if (!r.ok()) return from_store_error(pods, name, r.error());
  Outcome o;
  o.code = 201;
  o.json = {{"kind", "Status"},
            {"apiVersion", "v1"},
            {"metadata", Json::object()},
            {"status", "Success"},
            {"code", 201}};
  return o;
}

}  // namespace skiff::master
