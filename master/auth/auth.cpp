#include "master/auth/auth.hpp"

#include "api/base64.hpp"
#include "api/meta.hpp"
#include "common/fs.hpp"
#include "common/strings.hpp"
#include "master/store/store.hpp"

namespace skiff::master {

Result<void> Authenticator::load_token_file(const std::string& token_file) {
  if (!path_exists(token_file)) return ok();
  auto text = TRY(read_file(token_file));
  int line_no = 0;
  for (const auto& raw : split(text, '\n')) {
    line_no++;
    std::string_view line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    // token,user,uid[,"g1,g2"]
    std::vector<std::string> fields;
    std::string cur;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        fields.push_back(cur);
        cur.clear();
      } else {
        cur.push_back(c);
      }
    }
    fields.push_back(cur);
    if (fields.size() < 3 || fields[0].empty() || fields[1].empty())
      return error("token file ", quote(token_file), " line ", line_no,
                   ": expected token,user,uid[,\"groups\"]");
    Identity id;
    id.user = fields[1];
    if (fields.size() > 3) id.groups = split(fields[3], ',', true);
    add_token(fields[0], std::move(id));
  }
  return ok();
}

void Authenticator::add_token(const std::string& token, Identity id) {
  std::lock_guard lock(mu_);
  tokens_[token] = std::move(id);
}

Result<Identity> Authenticator::authenticate(const HttpRequest& req) const {
  if (!req.cert_identity.anonymous()) {
    Identity id = req.cert_identity;
    id.groups.push_back("system:authenticated");
    return id;
  }
  std::string auth = req.header("authorization");
  if (auth.empty()) return Identity{};
  if (auth.rfind("Bearer ", 0) != 0) return error("unsupported authorization scheme");
  std::string token(trim(std::string_view(auth).substr(7)));
  if (store_ && token.size() == 23 && token[6] == '.') {
    std::string id = token.substr(0, 6), secret = token.substr(7);
    Object s = store_->get(object_key("secrets", "kube-system", "bootstrap-token-" + id));
    if (!s) return error("invalid bearer token");
    auto field = [&](const char* k) {
      auto v = api::base64_decode(api::str_at(*s.json, {"data", k}));
      return v ? *v : std::string();
    };
    if (api::str_at(*s.json, {"type"}) != "bootstrap.kubernetes.io/token" ||
        field("token-secret") != secret || field("usage-bootstrap-authentication") != "true")
      return error("invalid bearer token");
    if (auto exp = api::parse_rfc3339(field("expiration"));
        exp && *exp < std::chrono::system_clock::now())
      return error("bootstrap token expired");
    Identity id_out;
    id_out.user = "system:bootstrap:" + id;
    id_out.groups = {"system:bootstrappers"};
    for (const auto& g : split(field("auth-extra-groups"), ',', true)) id_out.groups.push_back(g);
    id_out.groups.push_back("system:authenticated");
    return id_out;
  }
  std::lock_guard lock(mu_);
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return error("invalid bearer token");
  Identity id = it->second;
  id.groups.push_back("system:authenticated");
  return id;
}

namespace {

bool is_read(const std::string& verb) { return verb == "get" || verb == "list" || verb == "watch"; }

// True when a pod bound to `node` in `ns` references `kind` ("secret", "configmap",
// "serviceaccount") named `name`.
bool referenced_by_node_pod(const Store& store, const std::string& node, const std::string& ns,
                            const std::string& kind, const std::string& name) {
  auto pods = store.list(list_prefix("pods", ns), "", 1, [&](const Json& p) {
    if (api::str_at(p, {"spec", "nodeName"}) != node) return false;
    const Json& spec = p["spec"];
    if (kind == "serviceaccount") return spec.value("serviceAccountName", "") == name;
    auto refers = [&](const Json& j) -> bool {
      if (kind == "secret")
        return api::str_at(j, {"secret", "secretName"}) == name ||
               api::str_at(j, {"secretRef", "name"}) == name ||
               api::str_at(j, {"secretKeyRef", "name"}) == name;
      return api::str_at(j, {"configMap", "name"}) == name ||
             api::str_at(j, {"configMapRef", "name"}) == name ||
             api::str_at(j, {"configMapKeyRef", "name"}) == name;
    };
    for (const auto& v : spec.value("volumes", Json::array()))
      if (refers(v)) return true;
    if (kind == "secret")
      for (const auto& s : spec.value("imagePullSecrets", Json::array()))
        if (s.value("name", "") == name) return true;
    for (const char* list : {"containers", "initContainers"})
      for (const auto& c : spec.value(list, Json::array())) {
        for (const auto& e : c.value("envFrom", Json::array()))
          if (refers(e)) return true;
        for (const auto& e : c.value("env", Json::array()))
          if (e.contains("valueFrom") && refers(e["valueFrom"])) return true;
      }
    return false;
  });
  return !pods.items.empty();
}

bool node_authorize(const std::string& node, const Attributes& a, const Store* store) {
  const std::string& r = a.resource;
  const std::string& v = a.verb;
  if (r == "nodes") {
    if (is_read(v)) return true;
    if (v == "create") return true;  // the name is checked by the handler (NodeRestriction)
    return a.name == node && (v == "update" || v == "patch");
  }
  if (r == "leases" && a.group == "coordination.k8s.io") {
    if (a.ns != "kube-node-lease") return false;
    if (v == "create") return true;
    return a.name == node && (v == "get" || v == "update" || v == "patch");
  }
  if (r == "events") return v == "create" || v == "update" || v == "patch";
  if (r == "services" || r == "endpoints") return is_read(v);
  if (r == "certificatesigningrequests")
    return v == "create" || v == "get" || v == "list" || v == "watch";
  if (!store) return false;
  if (r == "pods") {
    if (v == "list" || v == "watch")
      return a.field_selector.find("spec.nodeName=" + node) != std::string::npos;
    // Mirror pods of its static pods: the handler admits only those (NodeRestriction).
    if (v == "create" && a.subresource.empty()) return true;
    if (a.name.empty()) return false;
    Object pod = store->get(object_key("pods", a.ns, a.name));
    if (!pod) return v == "get";  // a 404 reveals nothing
    if (api::str_at(*pod.json, {"spec", "nodeName"}) != node) return false;
    if (a.subresource == "status") return v == "get" || v == "update" || v == "patch";
    // As kube's node authorizer: a node never execs, attaches or forwards into a pod.
    if (a.subresource == "exec" || a.subresource == "attach" || a.subresource == "portforward")
      return false;
    return v == "get" || v == "delete";
  }
  if (r == "secrets" || r == "configmaps" || r == "serviceaccounts") {
    std::string name = a.name;
    if (name.empty() && (v == "list" || v == "watch")) {
      const std::string key = "metadata.name=";
      auto pos = a.field_selector.find(key);
      if (pos == std::string::npos) return false;
      name = a.field_selector.substr(pos + key.size());
      name = name.substr(0, name.find(','));
    } else if (v != "get") {
      return false;
    }
    std::string kind = r == "secrets"      ? "secret"
                       : r == "configmaps" ? "configmap"
                                           : "serviceaccount";
    return referenced_by_node_pod(*store, node, a.ns, kind, name);
  }
  return false;
}

}  // namespace

bool anonymous_allowed(const std::string& method, const std::string& path) {
  return method == "GET" && path == "/api/v1/namespaces/kube-public/configmaps/cluster-info";
}

bool authorize(const Identity& id, const Attributes& attrs, const Store* store) {
  if (id.in_group("system:masters")) return true;
  if (attrs.resource_request && attrs.verb == "get" && attrs.resource == "configmaps" &&
      attrs.ns == "kube-public" && attrs.name == "cluster-info" && attrs.subresource.empty())
    return true;  // everyone, anonymous included (kubeadm's cluster-info role)
  if (!attrs.resource_request) {
    // Discovery and health are public to authenticated users, as with kube's
    // system:discovery and system:public-info-viewer roles.
    return true;
  }
  // Bootstrappers may ask for a client certificate and watch their request (kubeadm's
  // system:node-bootstrapper role).
  if (id.in_group("system:bootstrappers"))
    return attrs.resource == "certificatesigningrequests" && attrs.subresource.empty() &&
           (attrs.verb == "create" || attrs.verb == "get" || attrs.verb == "list" ||
            attrs.verb == "watch");
  static const std::string kNodePrefix = "system:node:";
  if (id.in_group("system:nodes") && id.user.rfind(kNodePrefix, 0) == 0)
    return node_authorize(id.user.substr(kNodePrefix.size()), attrs, store);
  return false;
}

}  // namespace skiff::master
