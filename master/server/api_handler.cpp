#include "master/server/api_handler.hpp"

#include "api/base64.hpp"
#include "api/meta.hpp"
#include "api/openapi.hpp"
#include "api/selector.hpp"
#include "api/table.hpp"
#include "api/yaml.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace skiff::master {

using api::ApiError;
using api::KindInfo;

struct ApiHandler::Route {
  const KindInfo* kind = nullptr;
  std::string group, version, resource, ns, name, subresource;
  bool unknown_resource = false;
};

namespace {

HttpResponse json_response(int code, const Json& body) {
  HttpResponse r;
  r.status = code;
  r.body = body.dump();
  return r;
}

HttpResponse error_response(const ApiError& e) { return json_response(e.code, e.to_status()); }

// kube's NodeRestriction for pods a node creates: only a mirror pod (kubernetes.io/config.mirror)
// bound to the node itself, owned by nothing but its Node, using no Secret, ConfigMap,
// PersistentVolumeClaim or ServiceAccount. "" when allowed, else why not.
std::string node_pod_create_problem(const std::string& user, const Json& pod) {
  std::string node = user.substr(std::string("system:node:").size());
  const Json* ann = api::at_path(pod, {"metadata", "annotations"});
  if (!ann || !ann->is_object() || !ann->contains("kubernetes.io/config.mirror"))
    return "pod does not have \"kubernetes.io/config.mirror\" annotation, node can only create "
           "mirror pods";
  if (api::str_at(pod, {"spec", "nodeName"}) != node)
    return cat("node ", json_quote(node), " can only create pods with spec.nodeName set to itself");
  if (const Json* owners = api::at_path(pod, {"metadata", "ownerReferences"}))
    for (const auto& o : *owners)
      if (o.value("kind", "") != "Node" || o.value("name", "") != node)
        return cat("node ", json_quote(node),
                   " can only create pods with an owner reference to itself");
  const Json* spec = api::at_path(pod, {"spec"});
  if (spec && !spec->value("serviceAccountName", "").empty())
    return "node can not create pods that reference a service account";
  if (spec)
    for (const auto& v : spec->value("volumes", Json::array()))
      for (const char* k : {"secret", "configMap", "persistentVolumeClaim", "projected"})
        if (v.contains(k)) return cat("node can not create pods that reference ", k, " volumes");
  if (spec)
    for (const char* list : {"containers", "initContainers", "ephemeralContainers"})
      for (const auto& c : spec->value(list, Json::array())) {
        if (!c.value("envFrom", Json::array()).empty())
          return "node can not create pods that use envFrom";
        for (const auto& e : c.value("env", Json::array())) {
          const Json* vf = api::at_path(e, {"valueFrom"});
          if (vf && (vf->contains("secretKeyRef") || vf->contains("configMapKeyRef")))
            return "node can not create pods that reference secrets or configmaps in env";
        }
      }
  return "";
}

HttpResponse text_response(int code, std::string body) {
  HttpResponse r;
  r.status = code;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

bool wants_table(const HttpRequest& req) {
  return req.header("accept").find("as=Table") != std::string::npos;
}

// Parses a request body as JSON or YAML; an error says why in kube's words.
std::optional<Json> decode_body(const HttpRequest& req, ApiError& err) {
  std::string ct = req.header("content-type");
  ct = std::string(trim(ct.substr(0, ct.find(';'))));
  if (req.body.empty()) {
    err = api::bad_request("the request body is empty");
    return std::nullopt;
  }
  if (ct == "application/yaml" || ct == "application/x-yaml" || ct == "text/yaml") {
    auto j = api::yaml_to_json(req.body);
    if (!j.ok()) {
      err = api::bad_request(cat("the body of the request is not valid YAML: ", j.error().what()));
      return std::nullopt;
    }
    return *j;
  }
  if (!ct.empty() && ct != "application/json" && ct != "*/*" &&
      !api::patch_type_from_content_type(ct)) {
    err = api::unsupported_media(ct);
    return std::nullopt;
  }
  auto j = parse_json(req.body, "the request body");
  if (!j.ok()) {
    err = api::bad_request(cat("couldn't decode the body: ", j.error().what()));
    return std::nullopt;
  }
  return *j;
}

std::string verb_of(const HttpRequest& req, bool named) {
  const std::string& m = req.method;
  if (m == "GET" || m == "HEAD") {
    std::string w = req.param("watch");
    if (w == "1" || w == "true") return "watch";
    return named ? "get" : "list";
  }
  if (m == "POST") return "create";
  if (m == "PUT") return "update";
  if (m == "PATCH") return "patch";
  if (m == "DELETE") return named ? "delete" : "deletecollection";
  return "";
}

Json resource_list(const std::string& group, const std::string& version) {
  Json resources = Json::array();
  for (const auto& k : api::kinds()) {
    if (k.group != group || k.version != version) continue;
    Json r = {{"name", k.resource},
              {"singularName", k.singular},
              {"namespaced", k.namespaced},
              {"kind", k.kind},
              {"verbs", api::standard_verbs()}};
    if (!k.short_names.empty()) r["shortNames"] = k.short_names;
    if (!k.categories.empty()) r["categories"] = k.categories;
    resources.push_back(r);
    for (const auto& sub : k.subresources) {
      Json s = {
          {"name", k.resource + "/" + sub}, {"singularName", ""}, {"namespaced", k.namespaced}};
      if (sub == "binding") {
        s["kind"] = "Binding";
        s["verbs"] = {"create"};
      } else if (sub == "scale") {
        s["group"] = "autoscaling";
        s["version"] = "v1";
        s["kind"] = "Scale";
        s["verbs"] = {"get", "patch", "update"};
      } else {
        s["kind"] = k.kind;
        s["verbs"] = {"get", "patch", "update"};
      }
      resources.push_back(s);
    }
  }
  return {{"kind", "APIResourceList"},
          {"apiVersion", "v1"},
          {"groupVersion", group.empty() ? version : group + "/" + version},
          {"resources", resources}};
}

Json api_group(const std::string& group) {
  std::string version;
  for (const auto& k : api::kinds())
    if (k.group == group) version = k.version;
  Json gv = {{"groupVersion", group + "/" + version}, {"version", version}};
  return {{"name", group}, {"versions", Json::array({gv})}, {"preferredVersion", gv}};
}

std::vector<std::string> groups() {
  std::vector<std::string> out;
  for (const auto& k : api::kinds())
    if (!k.group.empty() && std::find(out.begin(), out.end(), k.group) == out.end())
      out.push_back(k.group);
  return out;
}

std::string encode_continue(const std::string& key, int64_t rev) {
  return api::base64_encode(Json{{"v", "meta.k8s.io/v1"}, {"rv", rev}, {"start", key}}.dump());
}

std::optional<std::string> decode_continue(const std::string& token, const std::string& prefix) {
  auto raw = api::base64_decode(token);
  if (!raw) return std::nullopt;
  auto j = parse_json(*raw, "continue token");
  if (!j.ok() || !j->is_object() || !(*j)["start"].is_string()) return std::nullopt;
  std::string start = (*j)["start"];
  if (start.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  return start;
}

std::string include_object(const HttpRequest& req) {
  std::string v = req.param("includeObject");
  return v.empty() ? "Metadata" : v;
}

Json table_for(const KindInfo& k, const std::vector<const Json*>& objs, const Json& list_meta,
               const std::string& include) {
  Json t = api::to_table(k, objs, list_meta, include == "Object");
  if (include == "None")
    for (auto& row : t["rows"]) row.erase("object");
  return t;
}

}  // namespace

HttpResponse ApiHandler::handle(HttpRequest& req) {
  const std::string& p = req.path;
  if (p == "/healthz" || p == "/livez" || p.rfind("/healthz/", 0) == 0 ||
      p.rfind("/livez/", 0) == 0)
    return text_response(200, "ok");
  if (p == "/readyz" || p.rfind("/readyz/", 0) == 0)
    return ready_ ? text_response(200, "ok")
                  : text_response(500, "[-]bootstrap not finished\nreadyz check failed");
  if (p == "/version")
    return json_response(200, {{"major", "1"},
                               {"minor", "20"},
                               {"gitVersion", version_.git_version},
                               {"gitCommit", version_.git_commit},
                               {"gitTreeState", "clean"},
                               {"buildDate", "1970-01-01T00:00:00Z"},
                               {"goVersion", "n/a (C++)"},
                               {"compiler", "gcc"},
                               {"platform", "linux/amd64"}});

  auto who = authn_.authenticate(req);
  if (!who.ok() || (who->anonymous() && !anonymous_allowed(req.method, p)))
    return error_response(api::unauthorized());

  // /api/v1/..., /apis/<group>/<version>/...
  std::vector<std::string> seg = split(p, '/', true);
  bool core = !seg.empty() && seg[0] == "api";
  bool grouped = !seg.empty() && seg[0] == "apis";
  if (!core && !grouped) {
    Attributes a{"get", "", "", "", "", "", false, p, ""};
    if (!authorize(*who, a)) return error_response(api::forbidden_error(who->user, "get", p, ""));
    if (p == "/openapi/v2") {
      if (req.header("accept").find("protobuf") != std::string::npos) {
        HttpResponse r;
        r.content_type = "application/octet-stream";
        r.body = api::openapi_protobuf();
        return r;
      }
      return json_response(200, api::openapi_json());
    }
    return error_response(
        {404, "NotFound", "the server could not find the requested resource", nullptr});
  }
  Route route;
  size_t i;
  if (core) {
    if (seg.size() == 1) return discovery(p);
    route.version = seg[1];
    i = 2;
  } else {
    if (seg.size() <= 2) return discovery(p);
    route.group = seg[1];
    route.version = seg[2];
    i = 3;
  }
  if (i == seg.size()) return discovery(p);
  std::vector<std::string> rest(seg.begin() + static_cast<long>(i), seg.end());
  if (rest[0] == "namespaces" && rest.size() >= 3 && rest[2] != "status" && rest[2] != "finalize") {
    route.ns = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  route.resource = rest[0];
  if (rest.size() > 1) route.name = rest[1];
  if (rest.size() > 2) route.subresource = rest[2];
  if (rest.size() > 3)
    return error_response(
        {404, "NotFound", "the server could not find the requested resource", nullptr});
  route.kind = api::find_resource(route.group, route.resource);
  if (!route.kind || route.kind->version != route.version)
    return error_response(
        {404, "NotFound", "the server could not find the requested resource", nullptr});
  if (!route.kind->namespaced && !route.ns.empty())
    return error_response(
        {404, "NotFound", "the server could not find the requested resource", nullptr});
  if (route.kind->kind == "Namespace" && route.name.empty() == false && route.ns.empty()) {
    // /api/v1/namespaces/<name>[/status]
  }
  if (!route.subresource.empty()) {
    const auto& subs = route.kind->subresources;
    if (std::find(subs.begin(), subs.end(), route.subresource) == subs.end())
      return error_response(
          {404, "NotFound", "the server could not find the requested resource", nullptr});
  }
  Attributes a;
  a.verb = verb_of(req, !route.name.empty());
  a.group = route.group;
  a.resource = route.resource;
  a.subresource = route.subresource;
  a.ns = route.ns;
  a.name = route.name;
  a.resource_request = true;
  a.path = p;
  a.field_selector = req.param("fieldSelector");
  if (!authorize(*who, a, &registry_.store()))
    return error_response(api::forbidden_error(who->user, a.verb, route.kind->group_resource(),
                                               route.ns, route.name));
  // Several masters on one etcd: a read without resourceVersion (kube's "most recent") sees every
  // write committed before it, whichever master took it (a consistent read from the watch cache,
  // kube 1.31's way); so does an update or delete, which may carry a resourceVersion another
  // master wrote. Creates and patches need not wait: a stale compare makes the store retry.
  bool consistent =
      ((a.verb == "get" || a.verb == "list") && req.param("resourceVersion").empty()) ||
      a.verb == "update" || a.verb == "delete" || a.verb == "deletecollection";
  if (consistent && registry_.store().shared()) {
    if (auto synced = registry_.store().sync(); !synced.ok())
      return error_response(api::internal_error(synced.error().what()));
  }
  return resource(req, route, *who);
}

HttpResponse ApiHandler::discovery(const std::string& p) {
  if (p == "/api" || p == "/api/")
    return json_response(200, {{"kind", "APIVersions"},
                               {"versions", {"v1"}},
                               {"serverAddressByClientCIDRs",
                                {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", ""}}}}});
  if (p == "/apis" || p == "/apis/") {
    Json list = Json::array();
    for (const auto& g : groups()) list.push_back(api_group(g));
    return json_response(200, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", list}});
  }
  std::vector<std::string> seg = split(p, '/', true);
  if (seg.size() == 2 && seg[0] == "api" && seg[1] == "v1")
    return json_response(200, resource_list("", "v1"));
  if (seg.size() == 2 && seg[0] == "apis") {
    auto gs = groups();
    if (std::find(gs.begin(), gs.end(), seg[1]) != gs.end()) {
      Json g = api_group(seg[1]);
      g["kind"] = "APIGroup";
      g["apiVersion"] = "v1";
      return json_response(200, g);
    }
  }
  if (seg.size() == 3 && seg[0] == "apis") {
    Json list = resource_list(seg[1], seg[2]);
    if (!list["resources"].empty()) return json_response(200, list);
  }
  return error_response(
      {404, "NotFound", "the server could not find the requested resource", nullptr});
}

HttpResponse ApiHandler::resource(HttpRequest& req, const Route& route, const Identity& who) {
  const KindInfo& k = *route.kind;
  std::string ns = k.namespaced ? route.ns : "";
  if (k.namespaced && route.ns.empty() && (req.method != "GET"))
    return error_response(api::bad_request("a namespace is required for " + k.resource));
  auto respond = [&](const Outcome& o) -> HttpResponse {
    if (!o.ok()) return error_response(*o.error);
    HttpResponse r;
    r.status = o.code;
    if (o.object) {
      if (wants_table(req)) {
        std::vector<const Json*> one = {o.object.json.get()};
        r.body = table_for(k, one, {{"resourceVersion", std::to_string(o.object.mod_rev)}},
                           include_object(req))
                     .dump();
      } else {
        r.body = *o.object.bytes;
      }
    } else {
      r.body = o.json.dump();
    }
    return r;
  };
  if (route.subresource == "log" && k.resource == "pods" && req.method == "GET")
    return pod_log(req, route);
  if ((route.subresource == "exec" || route.subresource == "attach" ||
       route.subresource == "portforward") &&
      k.resource == "pods" && (req.method == "GET" || req.method == "POST"))
    return pod_connect(req, route);
  ApiError err;
  if (route.name.empty()) {
    if (req.method == "GET") {
      std::string w = req.param("watch");
      if (w == "1" || w == "true") return watch(req, route);
      return list(req, route);
    }
    if (req.method == "POST") {
      auto body = decode_body(req, err);
      if (!body) return error_response(err);
      // NodeRestriction: a node may register only itself.
      if (k.kind == "Node" && !who.in_group("system:masters") && who.in_group("system:nodes") &&
          who.user != "system:node:" + api::str_at(*body, {"metadata", "name"}))
        return error_response(api::forbidden_error(who.user, "create", "nodes", ""));
      // NodeRestriction: a node may create only mirror pods of its own static pods.
      if (k.kind == "Pod" && !who.in_group("system:masters") && who.in_group("system:nodes"))
        if (std::string why = node_pod_create_problem(who.user, *body); !why.empty()) {
          auto e = api::forbidden_error(who.user, "create", "pods", route.ns);
          e.message += ": " + why;
          return error_response(e);
        }
      return respond(registry_.create(k, route.ns, std::move(*body), who));
    }
    if (req.method == "DELETE") {
      auto lsel = api::LabelSelector::parse(req.param("labelSelector"));
      if (!lsel.ok()) return error_response(api::bad_request(lsel.error().what()));
      auto fsel = api::FieldSelector::parse(req.param("fieldSelector"));
      if (!fsel.ok()) return error_response(api::bad_request(fsel.error().what()));
      auto items =
          registry_.store().list(list_prefix(k.group_resource(), ns), "", 0, [&](const Json& o) {
            return lsel->matches(o["metadata"].value("labels", Json())) && fsel->matches(o);
          });
      Json opts =
          req.body.empty() ? Json::object() : parse_json(req.body, "body").value_or(Json::object());
      Json deleted = Json::array();
      for (const auto& o : items.items) {
        auto r = registry_.remove(k, api::str_at(*o.json, {"metadata", "namespace"}),
                                  api::str_at(*o.json, {"metadata", "name"}), opts);
        if (r.ok() && r.object) deleted.push_back(*r.object.json);
      }
      return json_response(
          200, {{"kind", k.list_kind()},
                {"apiVersion", k.api_version()},
                {"metadata", {{"resourceVersion", std::to_string(registry_.store().revision())}}},
                {"items", deleted}});
    }
    return error_response(
        api::method_not_allowed(cat(req.method, " is not supported on a collection")));
  }
  if (route.subresource == "binding") {
    if (req.method != "POST")
      return error_response(api::method_not_allowed("binding supports POST only"));
    auto body = decode_body(req, err);
    if (!body) return error_response(err);
    return respond(registry_.bind(route.ns, route.name, *body));
  }
  if (req.method == "GET") {
    std::string w = req.param("watch");
    if (w == "1" || w == "true") return watch(req, route);
    return respond(registry_.get(k, route.ns, route.name, route.subresource));
  }
  if (req.method == "PUT") {
    auto body = decode_body(req, err);
    if (!body) return error_response(err);
    return respond(registry_.update(k, route.ns, route.name, route.subresource, std::move(*body)));
  }
  if (req.method == "PATCH") {
    auto type = api::patch_type_from_content_type(req.header("content-type"));
    if (!type) return error_response(api::unsupported_media(req.header("content-type")));
    auto body = decode_body(req, err);
    if (!body) return error_response(err);
    return respond(registry_.patch(k, route.ns, route.name, route.subresource, *type, *body));
  }
  if (req.method == "DELETE") {
    Json opts = Json::object();
    if (!req.body.empty()) {
      auto body = decode_body(req, err);
      if (!body) return error_response(err);
      opts = *body;
    }
    if (auto g = req.param("gracePeriodSeconds"); !g.empty()) {
      auto v = parse_int<int64_t>(g);
      if (!v) return error_response(api::bad_request("gracePeriodSeconds must be an integer"));
      opts["gracePeriodSeconds"] = *v;
    }
    if (auto pp = req.param("propagationPolicy"); !pp.empty()) opts["propagationPolicy"] = pp;
    return respond(registry_.remove(k, route.ns, route.name, opts));
  }
  return error_response(api::method_not_allowed(cat(req.method, " is not supported")));
}

HttpResponse ApiHandler::list(HttpRequest& req, const Route& route) {
  const KindInfo& k = *route.kind;
  auto lsel = api::LabelSelector::parse(req.param("labelSelector"));
  if (!lsel.ok())
    return error_response(
        api::bad_request(cat("unable to parse requirement: ", lsel.error().what())));
  auto fsel = api::FieldSelector::parse(req.param("fieldSelector"));
  if (!fsel.ok()) return error_response(api::bad_request(fsel.error().what()));
  std::string prefix = list_prefix(k.group_resource(), k.namespaced ? route.ns : "");
  size_t limit = 0;
  if (auto l = req.param("limit"); !l.empty()) {
    auto v = parse_int<int64_t>(l);
    if (!v || *v < 0)
      return error_response(api::bad_request("limit must be a non-negative integer"));
    limit = static_cast<size_t>(*v);
  }
  std::string start;
  if (auto c = req.param("continue"); !c.empty()) {
    auto s = decode_continue(c, prefix);
    if (!s)
      return error_response(
          api::bad_request("continue key is not valid: the token was not made for this list"));
    start = *s;
  }
  auto filter = [&](const Json& o) {
    const Json* labels = api::at_path(o, {"metadata", "labels"});
    return lsel->matches(labels ? *labels : Json()) && fsel->matches(o);
  };
  bool filtering = !lsel->empty() || !fsel->empty();
  auto fn = filtering ? std::function<bool(const Json&)>(filter) : nullptr;
  const std::string* node =
      k.group_resource() == "pods" ? fsel->equals_value("spec.nodeName") : nullptr;
  auto result = node ? registry_.store().list_pods_on_node(prefix, *node, start, limit, fn, true)
                     : registry_.store().list(prefix, start, limit, fn, true);
  Json meta = {{"resourceVersion", std::to_string(result.revision)}};
  if (!result.next_key.empty())
    meta["continue"] = encode_continue(result.next_key, result.revision);
  HttpResponse r;
  if (wants_table(req)) {
    std::vector<const Json*> objs;
    for (const auto& o : result.items) objs.push_back(o.json.get());
    r.body = table_for(k, objs, meta, include_object(req)).dump();
    return r;
  }
  std::string body = cat(R"({"kind":")", k.list_kind(), R"(","apiVersion":")", k.api_version(),
                         R"(","metadata":)", meta.dump(), R"(,"items":[)");
  size_t total = body.size();
  for (const auto& o : result.items) total += o.bytes->size() + 1;
  body.reserve(total + 2);
  bool first = true;
  for (const auto& o : result.items) {
    if (!first) body.push_back(',');
    first = false;
    body.append(*o.bytes);
  }
  body.append("]}");
  r.body = std::move(body);
  return r;
}

HttpResponse ApiHandler::watch(HttpRequest& req, const Route& route) {
  const KindInfo& k = *route.kind;
  auto lsel = api::LabelSelector::parse(req.param("labelSelector"));
  if (!lsel.ok())
    return error_response(
        api::bad_request(cat("unable to parse requirement: ", lsel.error().what())));
  auto fsel = api::FieldSelector::parse(req.param("fieldSelector"));
  if (!fsel.ok()) return error_response(api::bad_request(fsel.error().what()));
  std::string prefix = list_prefix(k.group_resource(), k.namespaced ? route.ns : "");
  std::string only_name = route.name;
  if (!only_name.empty())
    prefix = object_key(k.group_resource(), k.namespaced ? route.ns : "", only_name);
  int64_t from = 0;
  if (auto rv = req.param("resourceVersion"); !rv.empty() && rv != "0") {
    auto v = parse_int<int64_t>(rv);
    if (!v || *v < 0)
      return error_response(api::bad_request(cat("invalid resource version ", json_quote(rv))));
    from = *v;
  }
  int64_t timeout = 1800;
  if (auto t = req.param("timeoutSeconds"); !t.empty())
    timeout = parse_int<int64_t>(t).value_or(1800);
  bool bookmarks = req.param("allowWatchBookmarks") == "true";
  bool table = wants_table(req);
  std::string include = include_object(req);
  auto w = registry_.store().watch(prefix, from, !lsel->empty() || !fsel->empty(), true);
  HttpResponse r;
  r.content_type = "application/json";
  if (!w.ok()) {
    ApiError gone = api::gone(w.error().message());
    std::string line = cat(R"({"type":"ERROR","object":)", gone.to_status().dump(), "}\n");
    r.stream = [line](ChunkWriter& out) { out.write(line); };
    return r;
  }
  auto watcher = *w;
  auto ls = std::make_shared<api::LabelSelector>(std::move(*lsel));
  auto fs = std::make_shared<api::FieldSelector>(std::move(*fsel));
  const KindInfo* kp = &k;
  r.stream = [=](ChunkWriter& out) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
    auto last_bookmark = std::chrono::steady_clock::now();
    int64_t last_rev = from;
    std::vector<WatchEvent> events;
    while (out.running() && std::chrono::steady_clock::now() < deadline) {
      events.clear();
      if (!watcher->next(events, std::chrono::milliseconds(500))) break;
      std::string batch;
      for (const auto& e : events) {
        last_rev = std::max(last_rev, e.rev);
        if (!only_name.empty() && e.key != prefix) continue;
        // Objects are parsed only to match selectors or make a Table (the bytes are sent).
        auto selected = [&](const Json& j) {
          const Json* labels = api::at_path(j, {"metadata", "labels"});
          return ls->matches(labels ? *labels : Json()) && fs->matches(j);
        };
        // As kube-apiserver's cacher: a modification that moves an object into the selection is
        // ADDED for this watch, one that moves it out is DELETED (with the new state).
        const char* type = event_type_name(e.type);
        bool filtering = !ls->empty() || !fs->empty();
        bool now = !filtering || selected(*e.object.json);
        if (filtering && e.type == EventType::kModified && e.prev) {
          bool before = selected(*e.prev.json);
          if (!now && !before) continue;
          if (now && !before) type = "ADDED";
          if (!now && before) type = "DELETED";
        } else if (!now) {
          continue;
        }
        batch += cat(R"({"type":")", type, R"(","object":)");
        if (table) {
          std::vector<const Json*> one = {e.object.json.get()};
          batch +=
              table_for(*kp, one, {{"resourceVersion", std::to_string(e.rev)}}, include).dump();
        } else {
          batch += *e.object.bytes;
        }
        batch += "}\n";
      }
      if (bookmarks &&
          std::chrono::steady_clock::now() - last_bookmark > std::chrono::seconds(10)) {
        last_bookmark = std::chrono::steady_clock::now();
        if (last_rev > 0)
          batch +=
              cat(R"({"type":"BOOKMARK","object":{"kind":")", kp->kind, R"(","apiVersion":")",
                  kp->api_version(), R"(","metadata":{"resourceVersion":")", last_rev, "\"}}}\n");
      }
      if (!batch.empty() && !out.write(batch)) break;
    }
    watcher->close();
  };
  return r;
}

namespace {

// The container a pods/log, exec or attach request names (or the pod's only one), or the error.
std::string pick_container(const Json& p, const std::string& pod, const std::string& asked,
                           ApiError& err) {
  std::vector<std::string> names;
  for (const char* list : {"initContainers", "containers"})
    if (const Json* cs = api::at_path(p, {"spec", list}); cs && cs->is_array())
      for (const auto& c : *cs) names.push_back(c.value("name", ""));
  if (asked.empty()) {
    const Json* cs = api::at_path(p, {"spec", "containers"});
    if (!cs || !cs->is_array() || cs->size() != 1) {
      err = api::bad_request(cat("a container name must be specified for pod ", pod,
                                 ", choose one of: [", join(names, " "), "]"));
      return "";
    }
    return (*cs)[0].value("name", "");
  }
  if (std::find(names.begin(), names.end(), asked) == names.end()) {
    err = api::bad_request(cat("container ", asked, " is not valid for pod ", pod));
    return "";
  }
  return asked;
}

// The kubelet of `node`: its InternalIP (else first address) and daemonEndpoints port.
bool kubelet_endpoint(const Store& store, const std::string& node, std::string& host,
                      uint16_t& port, ApiError& err) {
  Object n = store.get(object_key("nodes", "", node));
  if (!n) {
    err = api::not_found_error("nodes", node);
    return false;
  }
  if (const Json* as = api::at_path(*n.json, {"status", "addresses"}); as && as->is_array()) {
    for (const auto& a : *as)
      if (a.value("type", "") == "InternalIP") host = a.value("address", "");
    if (host.empty() && !as->empty()) host = (*as)[0].value("address", "");
  }
  if (host.empty()) {
    err = api::internal_error(cat("node ", node, " has no address"));
    return false;
  }
  port = 10250;
  if (const Json* pj =
          api::at_path(*n.json, {"status", "daemonEndpoints", "kubeletEndpoint", "Port"});
      pj && pj->is_number_integer() && pj->get<int64_t>() > 0 && pj->get<int64_t>() < 65536)
    port = static_cast<uint16_t>(pj->get<int64_t>());
  return true;
}

// Every value of `key` in a query string, in order (exec's repeated command=), decoded.
std::vector<std::string> query_values(const std::string& target, const std::string& key) {
  std::vector<std::string> out;
  auto q = target.find('?');
  if (q == std::string::npos) return out;
  for (const auto& kv : split(std::string_view(target).substr(q + 1), '&', true)) {
    auto eq = kv.find('=');
    if (percent_decode(std::string_view(kv).substr(0, eq), true) != key) continue;
    out.push_back(
        eq == std::string::npos ? "" : percent_decode(std::string_view(kv).substr(eq + 1), true));
  }
  return out;
}

// A query value as Go's url.Values encodes it.
std::string query_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      char hex[4];
      snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

}  // namespace

HttpResponse ApiHandler::pod_connect(HttpRequest& req, const Route& route) {
  Object pod = registry_.store().get(object_key("pods", route.ns, route.name));
  if (!pod) return error_response(api::not_found_error("pods", route.name));
  const Json& p = *pod.json;
  // kubectl 1.30+ tries WebSockets first and falls back to SPDY/3.1 on any answer but 101.
  std::string upgrade = req.header("upgrade");
  for (auto& c : upgrade) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (upgrade.find("websocket") != std::string::npos)
    return error_response(
        api::bad_request(cat("unable to upgrade: websocket streams are not supported for pods/",
                             route.subresource, ", use SPDY/3.1")));
  if (upgrade != "spdy/3.1")
    return error_response(api::bad_request(
        "unable to upgrade: missing upgrade headers in request (Upgrade: SPDY/3.1)"));
  std::string node = api::str_at(p, {"spec", "nodeName"});
  if (node.empty())
    return error_response(
        api::bad_request(cat("pod ", route.name, " does not have a host assigned")));
  ApiError err;
  std::string path;
  auto flag = [&](const char* in, const char* out, std::string& q) {
    std::string v = req.param(in);
    if (v == "true" || v == "1") q += cat(q.empty() ? "?" : "&", out, "=1");
  };
  if (route.subresource == "portforward") {
    path = cat("/portForward/", route.ns, "/", route.name);
    std::string q;
    for (const auto& port : query_values(req.target, "ports"))
      q += cat(q.empty() ? "?" : "&", "port=", query_escape(port));
    path += q;
  } else {
    std::string container = pick_container(p, route.name, req.param("container"), err);
    if (container.empty()) return error_response(err);
    std::string q;
    if (route.subresource == "exec") {
      auto command = query_values(req.target, "command");
      if (command.empty())
        return error_response(api::bad_request("you must specify at least 1 command"));
      for (const auto& c : command) q += cat(q.empty() ? "?" : "&", "command=", query_escape(c));
    }
    flag("stdin", "input", q);
    flag("stdout", "output", q);
    flag("stderr", "error", q);
    flag("tty", "tty", q);
    path = cat("/", route.subresource, "/", route.ns, "/", route.name, "/", container, q);
  }
  std::string host;
  uint16_t port = 0;
  if (!kubelet_endpoint(registry_.store(), node, host, port, err)) return error_response(err);
  return upgrade_to_kubelet(kubelet_client_, host, port, req.method, path, req.headers);
}

HttpResponse ApiHandler::pod_log(HttpRequest& req, const Route& route) {
  Object pod = registry_.store().get(object_key("pods", route.ns, route.name));
  if (!pod) return error_response(api::not_found_error("pods", route.name));
  const Json& p = *pod.json;
  std::string node = api::str_at(p, {"spec", "nodeName"});
  if (node.empty())
    return error_response(
        api::bad_request(cat("pod ", route.name, " does not have a host assigned")));
  ApiError err;
  std::string container = pick_container(p, route.name, req.param("container"), err);
  if (container.empty()) return error_response(err);
  std::string host;
  uint16_t port = 0;
  if (!kubelet_endpoint(registry_.store(), node, host, port, err)) return error_response(err);
  // Only the kubelet's own log options, each a number or a boolean (sinceTime: an RFC 3339
  // time, escaped again): nothing else passes through; the kubelet validates the values.
  std::string query;
  if (std::string t = req.param("sinceTime"); !t.empty())
    query = cat("?sinceTime=", query_escape(t));
  for (const char* opt :
       {"follow", "previous", "timestamps", "tailLines", "sinceSeconds", "limitBytes"}) {
    std::string v = req.param(opt);
    if (v.empty()) continue;
    bool plain = std::all_of(v.begin(), v.end(), [](char c) { return isalnum(c) || c == '-'; });
    if (!plain) return error_response(api::bad_request(cat("invalid ", opt, " ", json_quote(v))));
    // The numbers are checked here too, as kube-apiserver validates PodLogOptions: a Status.
    if (std::string_view o = opt; o == "tailLines" || o == "sinceSeconds" || o == "limitBytes") {
      auto n = parse_int<int64_t>(v);
      int64_t min = o == "tailLines" ? 0 : 1;
      if (!n || *n < min)
        return error_response(
            api::bad_request(cat("invalid ", opt, " ", json_quote(v), ": must be ",
                                 !n         ? "an integer"
                                 : min == 0 ? "greater than or equal to 0"
                                            : "greater than 0")));
    }
    query += cat(query.empty() ? "?" : "&", opt, "=", v);
  }
  return proxy_to_kubelet(kubelet_client_, host, port,
                          cat("/containerLogs/", route.ns, "/", route.name, "/", container, query));
}

}  // namespace skiff::master
