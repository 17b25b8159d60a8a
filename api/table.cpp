#include "api/table.hpp"

#include "api/meta.hpp"
#include "common/strings.hpp"

namespace skiff::api {

namespace {

Json col(const char* name, const char* type, const char* desc, int priority = 0,
         const char* format = "") {
  Json c = {{"name", name},
            {"type", type},
            {"format", format},
            {"description", desc},
            {"priority", priority}};
  return c;
}

std::string age(const Json& obj, std::chrono::system_clock::time_point now) {
  auto t = parse_rfc3339(str_at(obj, {"metadata", "creationTimestamp"}));
  if (!t) return "<unknown>";
  return human_duration(std::chrono::duration_cast<std::chrono::seconds>(now - *t));
}

int64_t int_at(const Json& obj, std::initializer_list<const char*> path) {
  const Json* v = at_path(obj, path);
  return v && v->is_number_integer() ? v->get<int64_t>() : 0;
}

size_t size_at(const Json& obj, const char* field) {
  auto it = obj.find(field);
  return it != obj.end() && (it->is_object() || it->is_array()) ? it->size() : 0;
}

std::string or_none(std::string s) { return s.empty() ? "<none>" : s; }

std::string node_status(const Json& node) {
  std::string status = "Unknown";
  if (const Json* conds = at_path(node, {"status", "conditions"}); conds && conds->is_array())
    for (const auto& c : *conds)
      if (c.value("type", "") == "Ready")
        status = c.value("status", "") == "True" ? "Ready" : "NotReady";
  if (const Json* u = at_path(node, {"spec", "unschedulable"});
      u && u->is_boolean() && u->get<bool>())
    status += ",SchedulingDisabled";
  return status;
}

std::string node_roles(const Json& node) {
  std::vector<std::string> roles;
  if (const Json* labels = at_path(node, {"metadata", "labels"}); labels && labels->is_object())
    for (const auto& [k, v] : labels->items()) {
      static const std::string kPrefix = "node-role.kubernetes.io/";
      if (k.rfind(kPrefix, 0) == 0) roles.push_back(k.substr(kPrefix.size()));
    }
  return roles.empty() ? "<none>" : join(roles, ",");
}

std::string service_ports(const Json& svc) {
  std::vector<std::string> out;
  if (const Json* ports = at_path(svc, {"spec", "ports"}); ports && ports->is_array())
    for (const auto& p : *ports) {
      std::string s = cat(p.value("port", 0));
      if (p.contains("nodePort")) s += cat(":", p.value("nodePort", 0));
      out.push_back(s + "/" + p.value("protocol", "TCP"));
    }
  return out.empty() ? "<none>" : join(out, ",");
}

std::string endpoints_list(const Json& ep) {
  std::vector<std::string> out;
  if (const Json* subsets = at_path(ep, {"subsets"}); subsets && subsets->is_array())
    for (const auto& s : *subsets)
      for (const auto& a : s.value("addresses", Json::array()))
        for (const auto& p : s.value("ports", Json::array({Json::object()})))
          out.push_back(a.value("ip", "") +
                        (p.contains("port") ? cat(":", p.value("port", 0)) : ""));
  if (out.size() > 3) {
    size_t more = out.size() - 3;
    out.resize(3);
    return join(out, ",") + cat(" + ", more, " more...");
  }
  return out.empty() ? "<none>" : join(out, ",");
}

}  // namespace

std::string pod_status_reason(const Json& pod) {
  std::string reason = str_at(pod, {"status", "phase"}, "Pending");
  if (auto r = str_at(pod, {"status", "reason"}); !r.empty()) reason = r;
  if (const Json* cs = at_path(pod, {"status", "containerStatuses"}); cs && cs->is_array()) {
    for (const auto& c : *cs) {
      if (auto w = str_at(c, {"state", "waiting", "reason"}); !w.empty())
        reason = w;
      else if (auto t = str_at(c, {"state", "terminated", "reason"}); !t.empty())
        reason = t;
    }
  }
  if (at_path(pod, {"metadata", "deletionTimestamp"})) {
    reason = str_at(pod, {"status", "reason"}) == "NodeLost" ? "Unknown" : "Terminating";
  }
  return reason;
}

Json table_columns(const KindInfo& kind) {
  const char* kName = "Name must be unique within a namespace.";
  const char* kAge =
      "CreationTimestamp is a timestamp representing the server time when this "
      "object was created.";
  Json c = Json::array({col("Name", "string", kName, 0, "name")});
  const std::string& k = kind.kind;
  if (k == "Pod") {
    c.push_back(
        col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."));
    c.push_back(col("Status", "string", "The aggregate status of the containers in this pod."));
    c.push_back(col("Restarts", "integer",
                    "The number of times the containers in this pod have been restarted."));
    c.push_back(col("Age", "string", kAge));
    c.push_back(col("IP", "string", "IP address allocated to the pod.", 1));
    c.push_back(col("Node", "string", "Name of the node this pod is scheduled to.", 1));
    c.push_back(col("Nominated Node", "string", "Name of the node this pod is nominated to.", 1));
    c.push_back(col("Readiness Gates", "string", "Pod readiness gates.", 1));
  } else if (k == "Namespace") {
    c.push_back(col("Status", "string", "The status of the namespace"));
    c.push_back(col("Age", "string", kAge));
  } else if (k == "Node") {
    c.push_back(col("Status", "string", "The status of the node"));
    c.push_back(col("Roles", "string", "The roles of the node"));
    c.push_back(col("Age", "string", kAge));
    c.push_back(col("Version", "string", "Kubelet Version reported by the node."));
    c.push_back(col("Internal-IP", "string", "List of internal IPs for the node.", 1));
    c.push_back(col("External-IP", "string", "List of external IPs for the node.", 1));
    c.push_back(col("OS-Image", "string", "OS image reported by the node.", 1));
    c.push_back(col("Kernel-Version", "string", "Kernel version reported by the node.", 1));
    c.push_back(col("Container-Runtime", "string", "Container runtime reported by the node.", 1));
  } else if (k == "Deployment") {
    c.push_back(col("Ready", "string", "Number of the pod with ready state"));
    c.push_back(col("Up-to-date", "string",
                    "Total number of non-terminated pods targeted by this deployment that have the "
                    "desired template spec."));
    c.push_back(col("Available", "string",
                    "Total number of available pods (ready for at least minReadySeconds) targeted "
                    "by this deployment."));
    c.push_back(col("Age", "string", kAge));
    c.push_back(col("Containers", "string", "Names of each container in the template.", 1));
    c.push_back(col("Images", "string", "Images referenced by each container in the template.", 1));
    c.push_back(col("Selector", "string", "Label selector for pods.", 1));
  } else if (k == "ReplicaSet") {
    c.push_back(col("Desired", "integer", "Number of desired pods."));
    c.push_back(col("Current", "integer", "Number of actual replicas."));
    c.push_back(col("Ready", "integer", "Number of ready replicas."));
    c.push_back(col("Age", "string", kAge));
    c.push_back(col("Containers", "string", "Names of each container in the template.", 1));
    c.push_back(col("Images", "string", "Images referenced by each container in the template.", 1));
    c.push_back(col("Selector", "string", "Label selector for pods.", 1));
  } else if (k == "Service") {
    c.push_back(col("Type", "string", "The type of the service."));
    c.push_back(col("Cluster-IP", "string", "The cluster IP of the service."));
    c.push_back(col("External-IP", "string", "The external IP of the service."));
    c.push_back(col("Port(s)", "string", "The ports of the service."));
    c.push_back(col("Age", "string", kAge));
    c.push_back(col("Selector", "string", "The selector of the service.", 1));
  } else if (k == "ConfigMap") {
    c.push_back(col("Data", "string", "Number of data entries."));
    c.push_back(col("Age", "string", kAge));
  } else if (k == "Secret") {
    c.push_back(col("Type", "string", "The type of the secret."));
    c.push_back(col("Data", "string", "Number of data entries."));
    c.push_back(col("Age", "string", kAge));
  } else if (k == "ServiceAccount") {
    c.push_back(col("Secrets", "string", "Number of secrets."));
    c.push_back(col("Age", "string", kAge));
  } else if (k == "Endpoints") {
    c.push_back(col("Endpoints", "string", "Endpoints of the service."));
    c.push_back(col("Age", "string", kAge));
  } else if (k == "Lease") {
    c.push_back(col("Holder", "string", "The holder of the lease."));
    c.push_back(col("Age", "string", kAge));
  } else if (k == "Event") {
    c[0] = col("Last Seen", "string", "Time of the last occurrence.");
    c.push_back(col("Type", "string", "Type of this event."));
    c.push_back(col("Reason", "string", "Reason of this event."));
    c.push_back(col("Object", "string", "The object this event is about."));
    c.push_back(col("Message", "string", "Message of this event."));
  } else if (k == "CertificateSigningRequest") {
    c.push_back(col("Age", "string", kAge));
    c.push_back(col("SignerName", "string", "The signer of the request."));
    c.push_back(col("Requestor", "string", "The user who made the request."));
    c.push_back(col("Condition", "string", "The approval state of the request."));
  } else {
    c.push_back(col("Age", "string", kAge));
  }
  return c;
}

Json table_row(const KindInfo& kind, const Json& o, std::chrono::system_clock::time_point now,
               bool include_full_object) {
  std::string name = str_at(o, {"metadata", "name"});
  Json cells = Json::array({name});
  const std::string& k = kind.kind;
  if (k == "Pod") {
    int total = 0, ready = 0;
    int64_t restarts = 0;
    if (const Json* spec = at_path(o, {"spec", "containers"}); spec && spec->is_array())
      total = static_cast<int>(spec->size());
    if (const Json* cs = at_path(o, {"status", "containerStatuses"}); cs && cs->is_array())
      for (const auto& c : *cs) {
        if (c.value("ready", false)) ready++;
        restarts += c.value("restartCount", 0);
      }
    cells.push_back(cat(ready, "/", total));
    cells.push_back(pod_status_reason(o));
    cells.push_back(restarts);
    cells.push_back(age(o, now));
    cells.push_back(or_none(str_at(o, {"status", "podIP"})));
    cells.push_back(or_none(str_at(o, {"spec", "nodeName"})));
    cells.push_back(or_none(str_at(o, {"status", "nominatedNodeName"})));
    cells.push_back("<none>");
  } else if (k == "Namespace") {
    cells.push_back(str_at(o, {"status", "phase"}, "Active"));
    cells.push_back(age(o, now));
  } else if (k == "Node") {
    std::string internal, external;
    if (const Json* a = at_path(o, {"status", "addresses"}); a && a->is_array())
      for (const auto& x : *a) {
        if (x.value("type", "") == "InternalIP" && internal.empty())
          internal = x.value("address", "");
        if (x.value("type", "") == "ExternalIP" && external.empty())
          external = x.value("address", "");
      }
    cells.push_back(node_status(o));
    cells.push_back(node_roles(o));
    cells.push_back(age(o, now));
    cells.push_back(str_at(o, {"status", "nodeInfo", "kubeletVersion"}));
    cells.push_back(or_none(internal));
    cells.push_back(or_none(external));
    cells.push_back(or_none(str_at(o, {"status", "nodeInfo", "osImage"})));
    cells.push_back(or_none(str_at(o, {"status", "nodeInfo", "kernelVersion"})));
    cells.push_back(or_none(str_at(o, {"status", "nodeInfo", "containerRuntimeVersion"})));
  } else if (k == "Deployment" || k == "ReplicaSet") {
    int64_t desired = int_at(o, {"spec", "replicas"});
    std::vector<std::string> names, images;
    if (const Json* cs = at_path(o, {"spec", "template", "spec", "containers"});
        cs && cs->is_array())
      for (const auto& c : *cs) {
        names.push_back(c.value("name", ""));
        images.push_back(c.value("image", ""));
      }
    std::vector<std::string> sel;
    if (const Json* ml = at_path(o, {"spec", "selector", "matchLabels"}); ml && ml->is_object())
      for (const auto& [kk, v] : ml->items()) sel.push_back(kk + "=" + v.get<std::string>());
    if (k == "Deployment") {
      cells.push_back(cat(int_at(o, {"status", "readyReplicas"}), "/", desired));
      cells.push_back(int_at(o, {"status", "updatedReplicas"}));
      cells.push_back(int_at(o, {"status", "availableReplicas"}));
    } else {
      cells.push_back(desired);
      cells.push_back(int_at(o, {"status", "replicas"}));
      cells.push_back(int_at(o, {"status", "readyReplicas"}));
    }
    cells.push_back(age(o, now));
    cells.push_back(join(names, ","));
    cells.push_back(join(images, ","));
    cells.push_back(or_none(join(sel, ",")));
  } else if (k == "Service") {
    std::vector<std::string> sel;
    if (const Json* s = at_path(o, {"spec", "selector"}); s && s->is_object())
      for (const auto& [kk, v] : s->items()) sel.push_back(kk + "=" + v.get<std::string>());
    cells.push_back(str_at(o, {"spec", "type"}, "ClusterIP"));
    cells.push_back(or_none(str_at(o, {"spec", "clusterIP"})));
    cells.push_back("<none>");
    cells.push_back(service_ports(o));
    cells.push_back(age(o, now));
    cells.push_back(or_none(join(sel, ",")));
  } else if (k == "ConfigMap") {
    cells.push_back(size_at(o, "data") + size_at(o, "binaryData"));
    cells.push_back(age(o, now));
  } else if (k == "Secret") {
    cells.push_back(o.value("type", "Opaque"));
    cells.push_back(size_at(o, "data"));
    cells.push_back(age(o, now));
  } else if (k == "ServiceAccount") {
    cells.push_back(size_at(o, "secrets"));
    cells.push_back(age(o, now));
  } else if (k == "Endpoints") {
    cells.push_back(endpoints_list(o));
    cells.push_back(age(o, now));
  } else if (k == "Lease") {
    cells.push_back(str_at(o, {"spec", "holderIdentity"}));
    cells.push_back(age(o, now));
  } else if (k == "Event") {
    std::string last = str_at(o, {"lastTimestamp"});
    if (last.empty()) last = str_at(o, {"eventTime"});
    auto t = parse_rfc3339(last);
    cells[0] = t ? human_duration(std::chrono::duration_cast<std::chrono::seconds>(now - *t))
                 : "<unknown>";
    cells.push_back(o.value("type", ""));
    cells.push_back(o.value("reason", ""));
    std::string kind_name = str_at(o, {"involvedObject", "kind"});
    for (auto& ch : kind_name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    cells.push_back(kind_name + "/" + str_at(o, {"involvedObject", "name"}));
    cells.push_back(o.value("message", ""));
  } else if (k == "CertificateSigningRequest") {
    std::string cond = "Pending";
    if (const Json* cs = at_path(o, {"status", "conditions"}); cs && cs->is_array())
      for (const auto& c : *cs) cond = c.value("type", cond);
    if (at_path(o, {"status", "certificate"})) cond += ",Issued";
    cells.push_back(age(o, now));
    cells.push_back(str_at(o, {"spec", "signerName"}));
    cells.push_back(str_at(o, {"spec", "username"}));
    cells.push_back(cond);
  } else {
    cells.push_back(age(o, now));
  }
  Json object;
  if (include_full_object) {
    object = o;
  } else {
    object = {{"kind", "PartialObjectMetadata"},
              {"apiVersion", "meta.k8s.io/v1"},
              {"metadata", o.value("metadata", Json::object())}};
  }
  return {{"cells", std::move(cells)}, {"object", std::move(object)}};
}

Json to_table(const KindInfo& kind, const std::vector<const Json*>& objects, const Json& list_meta,
              bool include_full_object) {
  auto now = std::chrono::system_clock::now();
  Json rows = Json::array();
  for (const Json* o : objects) rows.push_back(table_row(kind, *o, now, include_full_object));
  return {{"kind", "Table"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", list_meta},
          {"columnDefinitions", table_columns(kind)},
          {"rows", std::move(rows)}};
}

}  // namespace skiff::api
