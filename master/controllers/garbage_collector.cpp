#include "master/controllers/garbage_collector.hpp"

#include "api/meta.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace skiff::master {

const api::KindInfo* parse_key(const std::string& key, std::string& ns, std::string& name) {
  auto parts = split(key, '/', true);
  if (parts.size() < 2) return nullptr;
  for (const auto& k : api::kinds()) {
    if (k.group_resource() != parts[0]) continue;
    if (k.namespaced && parts.size() == 3) {
      ns = parts[1];
      name = parts[2];
      return &k;
    }
    if (!k.namespaced && parts.size() == 2) {
      ns.clear();
      name = parts[1];
      return &k;
    }
  }
  return nullptr;
}

Result<void> GarbageCollector::start() {
  watcher_ = TRY(registry_.store().watch("/", 0));
  running_ = true;
  thread_ = std::thread([this] { run(); });
  return ok();
}

void GarbageCollector::stop() {
  if (!running_.exchange(false)) return;
  if (watcher_) watcher_->close();
  if (thread_.joinable()) thread_.join();
}

void GarbageCollector::run() {
  std::vector<WatchEvent> events;
  while (running_) {
    events.clear();
    if (!watcher_->next(events, std::chrono::milliseconds(500))) {
      if (!running_) return;
      // Dropped for being slow: start over from the current state.
      auto w = registry_.store().watch("/", 0);
      if (!w.ok()) return;
      dependents_.clear();
      owners_.clear();
      uid_keys_.clear();
      watcher_ = *w;
      continue;
    }
    for (const auto& e : events) observe(e);
  }
}

void GarbageCollector::observe(const WatchEvent& e) {
  const Json& o = *e.object.json;
  std::string uid = api::str_at(o, {"metadata", "uid"});
  // Re-index this key's owners.
  if (auto it = owners_.find(e.key); it != owners_.end()) {
    for (const auto& owner : it->second) {
      auto d = dependents_.find(owner);
      if (d != dependents_.end()) {
        d->second.erase(e.key);
        if (d->second.empty()) dependents_.erase(d);
      }
    }
    owners_.erase(it);
  }
  std::vector<std::string> owners;
  if (const Json* refs = api::at_path(o, {"metadata", "ownerReferences"}); refs && refs->is_array())
    for (const auto& r : *refs)
      if (r.contains("uid") && r["uid"].is_string()) owners.push_back(r["uid"]);
  std::string ns, name;
  const api::KindInfo* kind = parse_key(e.key, ns, name);
  if (e.type == EventType::kDeleted) {
    uid_keys_.erase(uid);
    // Background cascade: dependents of a deleted owner go too.
    if (auto d = dependents_.find(uid); d != dependents_.end()) {
      std::set<std::string> keys = d->second;
      for (const auto& k : keys) delete_key(k, "Background");
    }
    // An owner waiting in foreground deletion may now be free to go.
    for (const auto& owner : owners)
      if (auto k = uid_keys_.find(owner); k != uid_keys_.end()) process_owner(k->second);
    if (!ns.empty() && terminating_namespaces_.count(ns)) process_namespace(ns);
    if (kind && kind->kind == "Namespace") terminating_namespaces_.erase(name);
    return;
  }
  uid_keys_[uid] = e.key;
  if (!owners.empty()) {
    owners_[e.key] = owners;
    for (const auto& owner : owners) dependents_[owner].insert(e.key);
  }
  if (api::at_path(o, {"metadata", "deletionTimestamp"})) {
    if (kind && kind->kind == "Namespace") {
      terminating_namespaces_.insert(name);
      process_namespace(name);
    } else {
      process_owner(e.key);
    }
  }
}

void GarbageCollector::process_owner(const std::string& key) {
  Object cur = registry_.store().get(key);
  if (!cur) return;
  const Json& o = *cur.json;
  if (!api::at_path(o, {"metadata", "deletionTimestamp"})) return;
  std::string uid = api::str_at(o, {"metadata", "uid"});
  const Json* f = api::at_path(o, {"metadata", "finalizers"});
  if (!f || !f->is_array()) return;
  auto has = [&](const char* name) { return std::find(f->begin(), f->end(), name) != f->end(); };
  std::set<std::string> deps;
  if (auto d = dependents_.find(uid); d != dependents_.end()) deps = d->second;
  if (has("orphan")) {
    for (const auto& dep : deps) {
      std::string ns, name;
      const api::KindInfo* k = parse_key(dep, ns, name);
      if (!k) continue;
      Json patch = {{"metadata", {{"ownerReferences", {{{"$patch", "delete"}, {"uid", uid}}}}}}};
      (void)registry_.patch(*k, ns, name, "", api::PatchType::kStrategic, patch);
    }
    remove_finalizer(key, "orphan");
    return;
  }
  if (has("foregroundDeletion")) {
    if (deps.empty()) {
      remove_finalizer(key, "foregroundDeletion");
      return;
    }
    for (const auto& dep : deps) {
      Object d = registry_.store().get(dep);
      if (d && !api::at_path(*d.json, {"metadata", "deletionTimestamp"}))
        delete_key(dep, "Foreground");
    }
  }
}

void GarbageCollector::process_namespace(const std::string& ns) {
  size_t remaining = 0;
  for (const auto& k : api::kinds()) {
    if (!k.namespaced) continue;
    auto items = registry_.store().list(list_prefix(k.group_resource(), ns));
    remaining += items.items.size();
    for (const auto& o : items.items)
      if (!api::at_path(*o.json, {"metadata", "deletionTimestamp"}))
        (void)registry_.remove(k, ns, api::str_at(*o.json, {"metadata", "name"}),
                               Json{{"propagationPolicy", "Background"}});
  }
  if (remaining > 0) return;
  // Empty: the namespace's own finalizer ("kubernetes") is done.
  std::string key = object_key("namespaces", "", ns);
  auto r =
      registry_.store().mutate(key, [](const Object* cur, int64_t) -> Result<std::optional<Json>> {
        if (!cur) return Error("gone", kNotFound);
        const Json* f = api::at_path(*cur->json, {"metadata", "finalizers"});
        if (f && f->is_array() && !f->empty()) {
          Json next = *cur->json;
          next["spec"]["finalizers"] = Json::array();
          return std::optional<Json>(next);
        }
        return std::optional<Json>();
      });
  if (!r.ok() && r.error().code() != kNotFound)
    log::warn("namespace ", quote(ns), ": finalize: ", r.error().what());
}

void GarbageCollector::delete_key(const std::string& key, const char* policy) {
  std::string ns, name;
  const api::KindInfo* k = parse_key(key, ns, name);
  if (!k) return;
  auto r = registry_.remove(*k, ns, name, Json{{"propagationPolicy", policy}});
  if (!r.ok() && r.error->code != 404)
    log::warn("garbage collector: delete ", quote(key), ": ", r.error->message);
}

void GarbageCollector::remove_finalizer(const std::string& key, const char* finalizer) {
  std::string ns, name;
  const api::KindInfo* k = parse_key(key, ns, name);
  if (!k) return;
  Json patch = {{"metadata", {{"$deleteFromPrimitiveList/finalizers", {finalizer}}}}};
  auto r = registry_.patch(*k, ns, name, "", api::PatchType::kStrategic, patch);
  if (!r.ok() && r.error->code != 404)
    log::warn("garbage collector: finalize ", quote(key), ": ", r.error->message);
}

}  // namespace skiff::master
