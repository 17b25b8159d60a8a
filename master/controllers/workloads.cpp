#include "master/controllers/workloads.hpp"

#include <cmath>

#include "api/meta.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace skiff::master {

namespace {

const api::KindInfo& kind(const char* g, const char* r) { return *api::find_resource(g, r); }

std::string controller_uid(const Json& o) {
  if (const Json* refs = api::at_path(o, {"metadata", "ownerReferences"}); refs && refs->is_array())
    for (const auto& r : *refs)
      if (r.value("controller", false)) return r.value("uid", "");
  return "";
}

bool deleting(const Json& o) {
  return api::at_path(o, {"metadata", "deletionTimestamp"}) != nullptr;
}

int64_t int_at(const Json& o, std::initializer_list<const char*> path, int64_t fallback = 0) {
  const Json* v = api::at_path(o, path);
  return v && v->is_number_integer() ? v->get<int64_t>() : fallback;
}

Json owner_ref(const Json& owner, const char* api_version, const char* kind_name) {
  return Json::array({{{"apiVersion", api_version},
                       {"kind", kind_name},
                       {"name", api::str_at(owner, {"metadata", "name"})},
                       {"uid", api::str_at(owner, {"metadata", "uid"})},
                       {"controller", true},
                       {"blockOwnerDeletion", true}}});
}

Json condition(const char* type, bool status, const char* reason, const std::string& message) {
  std::string now = api::now_rfc3339();
  return {{"type", type},          {"status", status ? "True" : "False"},
          {"reason", reason},      {"message", message},
          {"lastUpdateTime", now}, {"lastTransitionTime", now}};
}

}  // namespace

std::string pod_template_hash(const Json& tmpl) {
  uint32_t h = 2166136261u;
  for (unsigned char c : tmpl.dump()) {
    h ^= c;
    h *= 16777619u;
  }
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  do {
    out.push_back(kAlphabet[h % 27]);
    h /= 27;
  } while (h);
  return out;
}

int64_t resolve_int_or_percent(const Json& v, int64_t total, bool round_up) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (!s.empty() && s.back() == '%') {
      auto pct = parse_int<int64_t>(s.substr(0, s.size() - 1));
      if (!pct) return 0;
      double x = static_cast<double>(*pct) * static_cast<double>(total) / 100.0;
      return static_cast<int64_t>(round_up ? std::ceil(x) : std::floor(x));
    }
    return parse_int<int64_t>(s).value_or(0);
  }
  return 0;
}

bool pod_ready(const Json& pod) {
  if (const Json* cs = api::at_path(pod, {"status", "conditions"}); cs && cs->is_array())
    for (const auto& c : *cs)
      if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  return false;
}

Result<void> WorkloadControllers::start() {
  watcher_ = TRY(registry_.store().watch("/", 0));
  running_ = true;
  thread_ = std::thread([this] { run(); });
  return ok();
}

void WorkloadControllers::stop() {
  if (!running_.exchange(false)) return;
  if (watcher_) watcher_->close();
  if (thread_.joinable()) thread_.join();
}

void WorkloadControllers::index(const std::string& key, const Json* o, int64_t create_rev) {
  if (auto it = controller_of_.find(key); it != controller_of_.end()) {
    auto c = children_.find(it->second);
    if (c != children_.end()) {
      c->second.erase(key);
      if (c->second.empty()) children_.erase(c);
    }
    controller_of_.erase(it);
  }
  pods_.erase(key);
  if (!o) return;
  std::string owner = controller_uid(*o);
  if (owner.empty()) return;
  controller_of_[key] = owner;
  children_[owner].insert(key);
  if (key.rfind("/pods/", 0) == 0)
    pods_[key] = {api::str_at(*o, {"metadata", "name"}), deleting(*o),
                  !api::str_at(*o, {"spec", "nodeName"}).empty(), pod_ready(*o), create_rev};
}

void WorkloadControllers::observe(const WatchEvent& e) {
  bool is_pod = e.key.rfind("/pods/", 0) == 0;
  bool is_rs = e.key.rfind("/replicasets.apps/", 0) == 0;
  bool is_deploy = e.key.rfind("/deployments.apps/", 0) == 0;
  if (!is_pod && !is_rs && !is_deploy) return;
  const Json& o = *e.object.json;
  std::string uid = api::str_at(o, {"metadata", "uid"});
  std::string owner = controller_uid(o);
  index(e.key, e.type == EventType::kDeleted ? nullptr : &o, e.object.create_rev);
  if (is_rs || is_deploy) {
    if (e.type == EventType::kDeleted)
      uid_key_.erase(uid);
    else
      uid_key_[uid] = e.key;
    queue_.insert(e.key);
  }
  // A child changed: its controller re-syncs.
  if (!owner.empty())
    if (auto it = uid_key_.find(owner); it != uid_key_.end()) queue_.insert(it->second);
}

void WorkloadControllers::run() {
  std::vector<WatchEvent> events;
  while (running_) {
    events.clear();
    if (!watcher_->next(events, std::chrono::milliseconds(queue_.empty() ? 500 : 0))) {
      if (!running_) return;
      auto w = registry_.store().watch("/", 0);
      if (!w.ok()) return;
      children_.clear();
      pods_.clear();
      controller_of_.clear();
      uid_key_.clear();
      watcher_ = *w;
      continue;
    }
    for (const auto& e : events) observe(e);
    std::set<std::string> batch;
    batch.swap(queue_);
    for (const auto& key : batch) {
      if (!running_) return;
      if (key.rfind("/replicasets.apps/", 0) == 0)
        sync_replicaset(key);
      else
        sync_deployment(key);
    }
  }
}

std::vector<Object> WorkloadControllers::owned(const std::string& uid, const std::string& prefix) {
  std::vector<Object> out;
  auto it = children_.find(uid);
  if (it == children_.end()) return out;
  for (const auto& key : it->second) {
    if (key.rfind(prefix, 0) != 0) continue;
    if (Object o = registry_.store().get(key)) out.push_back(std::move(o));
  }
  return out;
}

std::vector<WorkloadControllers::PodSummary> WorkloadControllers::owned_pods(
    const std::string& uid) const {
  std::vector<PodSummary> out;
  auto it = children_.find(uid);
  if (it == children_.end()) return out;
  for (const auto& key : it->second)
    if (auto p = pods_.find(key); p != pods_.end()) out.push_back(p->second);
  return out;
}

void WorkloadControllers::sync_replicaset(const std::string& key) {
  Object rs = registry_.store().get(key);
  if (!rs || deleting(*rs.json)) return;
  const Json& r = *rs.json;
  std::string ns = api::str_at(r, {"metadata", "namespace"});
  std::string name = api::str_at(r, {"metadata", "name"});
  std::string uid = api::str_at(r, {"metadata", "uid"});
  int64_t want = int_at(r, {"spec", "replicas"}, 1);
  std::vector<PodSummary> pods;
  for (auto& p : owned_pods(uid))
    if (!p.deleting) pods.push_back(std::move(p));
  const auto& pods_kind = kind("", "pods");
  Identity system{"system:serviceaccount:kube-system:replicaset-controller", {"system:masters"}};
  int64_t have = static_cast<int64_t>(pods.size());
  for (int64_t i = have; i < want; i++) {
    Json tmpl = r["spec"].value("template", Json::object());
    Json pod = {{"metadata", tmpl.value("metadata", Json::object())},
                {"spec", tmpl.value("spec", Json::object())}};
    pod["metadata"].erase("name");
    pod["metadata"]["generateName"] = name + "-";
    pod["metadata"]["namespace"] = ns;
    pod["metadata"]["ownerReferences"] = owner_ref(r, "apps/v1", "ReplicaSet");
    auto c = registry_.create(pods_kind, ns, pod, system);
    if (!c.ok()) {
      log::warn("replicaset ", ns, "/", name, ": create pod: ", c.error->message);
      break;
    }
    std::string pod_key = object_key("pods", ns, api::str_at(*c.object.json, {"metadata", "name"}));
    index(pod_key, c.object.json.get(), c.object.create_rev);
    if (auto p = pods_.find(pod_key); p != pods_.end()) pods.push_back(p->second);
  }
  if (have > want) {
    // Remove unscheduled, then not ready, then the newest pods first.
    std::sort(pods.begin(), pods.end(), [](const PodSummary& a, const PodSummary& b) {
      return std::make_tuple(a.scheduled, a.ready, -a.create_rev) <
             std::make_tuple(b.scheduled, b.ready, -b.create_rev);
    });
    for (int64_t i = 0; i < have - want; i++) {
      const std::string& pname = pods[static_cast<size_t>(i)].name;
      (void)registry_.remove(pods_kind, ns, pname, Json::object());
      // Deleting from now on, before the watch says so: the next sync does not pick it again.
      if (auto p = pods_.find(object_key("pods", ns, pname)); p != pods_.end())
        p->second.deleting = true;
    }
    pods.resize(static_cast<size_t>(want));
  }
  int64_t ready = 0;
  for (const auto& p : pods)
    if (p.ready) ready++;
  Json status = {{"replicas", static_cast<int64_t>(pods.size())},
                 {"fullyLabeledReplicas", static_cast<int64_t>(pods.size())},
                 {"readyReplicas", ready},
                 {"availableReplicas", ready},
                 {"observedGeneration", int_at(r, {"metadata", "generation"}, 1)}};
  if (r.value("status", Json::object()) != status)
    (void)registry_.patch(kind("apps", "replicasets"), ns, name, "status", api::PatchType::kMerge,
                          Json{{"status", status}});
}

Result<Object> WorkloadControllers::scale_replicaset(const Object& rs, int64_t replicas) {
  const Json& r = *rs.json;
  if (int_at(r, {"spec", "replicas"}, 1) == replicas) return rs;
  auto o = registry_.patch(kind("apps", "replicasets"), api::str_at(r, {"metadata", "namespace"}),
                           api::str_at(r, {"metadata", "name"}), "", api::PatchType::kMerge,
                           Json{{"spec", {{"replicas", replicas}}}});
  if (!o.ok()) return error(o.error->message);
  return o.object;
}

void WorkloadControllers::sync_deployment(const std::string& key) {
  Object dep = registry_.store().get(key);
  if (!dep || deleting(*dep.json)) return;
  const Json& d = *dep.json;
  std::string ns = api::str_at(d, {"metadata", "namespace"});
  std::string name = api::str_at(d, {"metadata", "name"});
  std::string uid = api::str_at(d, {"metadata", "uid"});
  int64_t desired = int_at(d, {"spec", "replicas"}, 1);
  Json tmpl = d["spec"].value("template", Json::object());
  std::string hash = pod_template_hash(tmpl);
  std::vector<Object> sets = owned(uid, "/replicasets.apps/");
  Object current;
  int64_t max_revision = 0;
  std::vector<Object> old;
  for (auto& s : sets) {
    std::string rev =
        api::str_at(*s.json, {"metadata", "annotations", "deployment.kubernetes.io/revision"});
    max_revision = std::max(max_revision, parse_int<int64_t>(rev).value_or(0));
    if (api::str_at(*s.json, {"metadata", "labels", "pod-template-hash"}) == hash)
      current = s;
    else
      old.push_back(s);
  }
  std::string strategy = api::str_at(d, {"spec", "strategy", "type"}, "RollingUpdate");
  int64_t old_total = 0, old_pods = 0;
  for (const auto& s : old) {
    old_total += int_at(*s.json, {"spec", "replicas"});
    old_pods += int_at(*s.json, {"status", "replicas"});
  }
  int64_t surge = 0, unavailable = 0;
  if (strategy == "RollingUpdate") {
    Json ru = d["spec"]["strategy"].value("rollingUpdate", Json::object());
    surge = resolve_int_or_percent(ru.value("maxSurge", Json("25%")), desired, true);
    unavailable = resolve_int_or_percent(ru.value("maxUnavailable", Json("25%")), desired, false);
    if (surge == 0 && unavailable == 0) unavailable = 1;
  }
  if (!current) {
    Json rs_tmpl = tmpl;
    rs_tmpl["metadata"]["labels"]["pod-template-hash"] = hash;
    Json selector = d["spec"].value("selector", Json::object());
    selector["matchLabels"]["pod-template-hash"] = hash;
    int64_t initial = old.empty() ? desired : 0;
    if (strategy == "RollingUpdate" && !old.empty())
      initial = std::clamp<int64_t>(desired + surge - old_total, 0, desired);
    Json labels = rs_tmpl["metadata"].value("labels", Json::object());
    Json rs = {{"metadata",
                {{"name", name + "-" + hash},
                 {"namespace", ns},
                 {"labels", labels},
                 {"annotations",
                  {{"deployment.kubernetes.io/revision", std::to_string(max_revision + 1)},
                   {"deployment.kubernetes.io/desired-replicas", std::to_string(desired)}}},
                 {"ownerReferences", owner_ref(d, "apps/v1", "Deployment")}}},
               {"spec", {{"replicas", initial}, {"selector", selector}, {"template", rs_tmpl}}}};
    Identity system{"system:serviceaccount:kube-system:deployment-controller", {"system:masters"}};
    auto c = registry_.create(kind("apps", "replicasets"), ns, rs, system);
    if (!c.ok() && c.error->code != 409) {
      log::warn("deployment ", ns, "/", name, ": create replicaset: ", c.error->message);
      return;
    }
    if (c.ok()) {
      current = c.object;
      index(object_key("replicasets.apps", ns, name + "-" + hash), c.object.json.get());
      uid_key_[api::str_at(*c.object.json, {"metadata", "uid"})] =
          object_key("replicasets.apps", ns, name + "-" + hash);
      max_revision++;
    } else {
      current = registry_.store().get(object_key("replicasets.apps", ns, name + "-" + hash));
      if (!current) return;
    }
  }
  int64_t new_replicas = int_at(*current.json, {"spec", "replicas"});
  if (strategy == "Recreate") {
    for (const auto& s : old) (void)scale_replicaset(s, 0);
    if (old_pods == 0 && new_replicas != desired) (void)scale_replicaset(current, desired);
  } else {
    // Scale up the new set within maxSurge, then old sets down within maxUnavailable.
    int64_t total = old_total + new_replicas;
    if (new_replicas < desired) {
      int64_t room = desired + surge - total;
      if (room > 0) {
        new_replicas = std::min(desired, new_replicas + room);
        (void)scale_replicaset(current, new_replicas);
      }
    } else if (new_replicas > desired) {
      new_replicas = desired;
      (void)scale_replicaset(current, desired);
    }
    int64_t available = int_at(*current.json, {"status", "availableReplicas"});
    for (const auto& s : old) available += int_at(*s.json, {"status", "availableReplicas"});
    int64_t removable = available - (desired - unavailable);
    std::sort(old.begin(), old.end(),
              [](const Object& a, const Object& b) { return a.create_rev < b.create_rev; });
    for (const auto& s : old) {
      int64_t replicas = int_at(*s.json, {"spec", "replicas"});
      int64_t unready = replicas - int_at(*s.json, {"status", "availableReplicas"});
      int64_t cut =
          std::min(replicas, std::max<int64_t>(0, removable) + std::max<int64_t>(0, unready));
      if (cut <= 0) continue;
      (void)scale_replicaset(s, replicas - cut);
      removable -= std::max<int64_t>(0, cut - std::max<int64_t>(0, unready));
    }
  }
  // Status, as `kubectl rollout status` reads it.
  Object fresh = registry_.store().get(
      current ? object_key("replicasets.apps", ns, api::str_at(*current.json, {"metadata", "name"}))
              : "");
  const Json& cur = fresh ? *fresh.json : *current.json;
  int64_t updated = int_at(cur, {"status", "replicas"});
  int64_t replicas = updated, ready = int_at(cur, {"status", "readyReplicas"});
  int64_t avail = int_at(cur, {"status", "availableReplicas"});
  for (const auto& s : old) {
    Object o = registry_.store().get(
        object_key("replicasets.apps", ns, api::str_at(*s.json, {"metadata", "name"})));
    if (!o) continue;
    replicas += int_at(*o.json, {"status", "replicas"});
    ready += int_at(*o.json, {"status", "readyReplicas"});
    avail += int_at(*o.json, {"status", "availableReplicas"});
  }
  bool complete = updated == desired && replicas == desired && avail == desired;
  Json status = {{"observedGeneration", int_at(d, {"metadata", "generation"}, 1)},
                 {"replicas", replicas},
                 {"updatedReplicas", updated},
                 {"readyReplicas", ready},
                 {"availableReplicas", avail},
                 {"unavailableReplicas", std::max<int64_t>(0, replicas - avail)}};
  std::string rs_name = api::str_at(cur, {"metadata", "name"});
  Json conds = Json::array(
      {condition("Available", avail >= desired - unavailable,
                 avail >= desired - unavailable ? "MinimumReplicasAvailable"
                                                : "MinimumReplicasUnavailable",
                 avail >= desired - unavailable ? "Deployment has minimum availability."
                                                : "Deployment does not have minimum availability."),
       condition("Progressing", true, complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
                 complete ? cat("ReplicaSet \"", rs_name, "\" has successfully progressed.")
                          : cat("ReplicaSet \"", rs_name, "\" is progressing."))});
  // Keep transition times stable when nothing changed.
  Json old_status = d.value("status", Json::object());
  Json old_conds = old_status.value("conditions", Json::array());
  bool same = old_conds.size() == conds.size();
  for (size_t i = 0; same && i < conds.size(); i++)
    same = old_conds[i].value("status", "") == conds[i]["status"] &&
           old_conds[i].value("reason", "") == conds[i]["reason"];
  status["conditions"] = same ? old_conds : conds;
  Json compare = old_status;
  if (compare != status)
    (void)registry_.patch(kind("apps", "deployments"), ns, name, "status", api::PatchType::kMerge,
                          Json{{"status", status}});
  std::string revision =
      api::str_at(cur, {"metadata", "annotations", "deployment.kubernetes.io/revision"});
  if (!revision.empty() &&
      api::str_at(d, {"metadata", "annotations", "deployment.kubernetes.io/revision"}) != revision)
    (void)registry_.patch(
        kind("apps", "deployments"), ns, name, "", api::PatchType::kMerge,
        Json{{"metadata", {{"annotations", {{"deployment.kubernetes.io/revision", revision}}}}}});
}

}  // namespace skiff::master
