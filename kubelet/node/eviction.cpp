#include "kubelet/node/eviction.hpp"

#include <algorithm>
#include <cmath>

#include "api/meta.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "kubelet/pod/pod.hpp"

namespace skiff::kubelet::node {

namespace {

const char* const kSignals[] = {"memory.available",  "nodefs.available",   "nodefs.inodesFree",
                                "imagefs.available", "imagefs.inodesFree", "pid.available"};

Result<Threshold> parse_threshold(const char* field, const std::string& signal, const Json& v) {
  if (std::find(std::begin(kSignals), std::end(kSignals), signal) == std::end(kSignals))
    return error(field, ".", signal, ": unknown eviction signal (expected one of ",
                 "memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, ",
                 "imagefs.inodesFree, pid.available)");
  if (!v.is_string()) return error(field, ".", signal, ": expected a string, got ", v.dump());
  std::string s = v.get<std::string>();
  Threshold t;
  t.signal = signal;
  t.text = s;
  if (s.ends_with("%")) {
    char* end = nullptr;
    std::string num = s.substr(0, s.size() - 1);
    double p = std::strtod(num.c_str(), &end);
    if (num.empty() || *end != '\0' || !(p >= 0) || p > 100)
      return error(field, ".", signal, ": invalid percentage ", quote(s));
    t.percent = p;
    return t;
  }
  auto q = parse_quantity(s);
  if (!q || *q < 0) return error(field, ".", signal, ": invalid quantity ", quote(s));
  t.quantity = *q;
  return t;
}

int64_t sum_requests(const Json& pod, const char* resource) {
  int64_t total = 0;
  for (const auto& c : api::at_path(pod, {"spec", "containers"})
                           ? *api::at_path(pod, {"spec", "containers"})
                           : Json::array()) {
    const Json* q = api::at_path(c, {"resources", "requests", resource});
    if (!q) q = api::at_path(c, {"resources", "limits", resource});  // a request defaults to it
    if (q && q->is_string()) total += parse_quantity(q->get<std::string>()).value_or(0);
    if (q && q->is_number_integer()) total += q->get<int64_t>();
  }
  return total;
}

}  // namespace

std::vector<Threshold> default_eviction_hard() {
  return {{"memory.available", 100 << 20, 0, "100Mi"},
          {"nodefs.available", 0, 10, "10%"},
          {"nodefs.inodesFree", 0, 5, "5%"},
          {"imagefs.available", 0, 15, "15%"}};
}

Result<std::vector<Threshold>> parse_eviction_thresholds(const char* field, const Json& map) {
  if (!map.is_object()) return error(field, ": expected a map of signal: threshold");
  std::vector<Threshold> out;
  for (const auto& [signal, v] : map.items()) out.push_back(TRY(parse_threshold(field, signal, v)));
  return out;
}

Result<std::vector<Threshold>> parse_eviction_hard(const Json& map) {
  return parse_eviction_thresholds("evictionHard", map);
}

std::map<std::string, Observation> observe_signals(const NodeUsage& u) {
  auto i64 = [](uint64_t v) { return static_cast<int64_t>(v); };
  std::map<std::string, Observation> m;
  m["memory.available"] = {i64(u.memory_available), i64(u.memory_total)};
  m["nodefs.available"] = {i64(u.nodefs.available), i64(u.nodefs.capacity)};
  m["nodefs.inodesFree"] = {i64(u.nodefs.inodes_free), i64(u.nodefs.inodes)};
  m["imagefs.available"] = {i64(u.imagefs.available), i64(u.imagefs.capacity)};
  m["imagefs.inodesFree"] = {i64(u.imagefs.inodes_free), i64(u.imagefs.inodes)};
  if (u.max_pid > 0)
    m["pid.available"] = {i64(u.max_pid) - std::min(i64(u.max_pid), i64(u.processes)),
                          i64(u.max_pid)};
  return m;
}

bool threshold_crossed(const Threshold& t, const Observation& o) {
  if (o.capacity <= 0) return false;  // not observed (a filesystem that has no inodes, …)
  double limit = t.percent > 0 ? double(o.capacity) * t.percent / 100.0 : double(t.quantity);
  return double(o.available) < limit;
}

std::string starved_resource(const std::string& signal) {
  if (signal == "memory.available") return "memory";
  if (signal == "pid.available") return "pids";
  return "ephemeral-storage";
}

void rank_for_eviction(std::vector<EvictionCandidate>& pods) {
  std::stable_sort(pods.begin(), pods.end(),
                   [](const EvictionCandidate& a, const EvictionCandidate& b) {
                     bool ea = a.usage > a.request, eb = b.usage > b.request;
                     if (ea != eb) return ea;
                     if (a.priority != b.priority) return a.priority < b.priority;
                     return a.usage - a.request > b.usage - b.request;
                   });
}

std::string format_quantity(int64_t v) {
  for (auto [unit, scale] : {std::pair{"Gi", int64_t{1} << 30}, std::pair{"Mi", int64_t{1} << 20},
                             std::pair{"Ki", int64_t{1} << 10}})
    if (v != 0 && v % scale == 0) return cat(v / scale, unit);
  return std::to_string(v);
}

std::string eviction_message(const std::string& resource, const Threshold& t, const Observation& o,
                             const EvictionCandidate& c) {
  // The kubelet's nodeLowMessageFmt, thresholdMetMessageFmt and containerMessageFmt.
  std::string threshold =
      t.percent > 0 ? format_quantity(int64_t(std::ceil(double(o.capacity) * t.percent / 100)))
                    : format_quantity(t.quantity);
  std::string m =
      cat("The node was low on resource: ", resource, ". Threshold quantity: ", threshold,
          ", available: ", format_quantity(o.available), ". ");
  if (!c.top_container.empty())
    m += cat("Container ", c.top_container, " was using ", format_quantity(c.top_container_usage),
             ", request is ", format_quantity(c.top_container_request),
             ", has larger consumption of ", resource, ". ");
  return m;
}

std::optional<std::string> EvictionManager::synchronize(const std::vector<Json>& pods,
                                                        const Evict& evict) {
  NodeUsage u = stats_.collect();
  auto obs = observe_signals(u);
  auto now = std::chrono::steady_clock::now();
  const Threshold* met = nullptr;
  bool soft = false;
  for (const auto& t : o_.hard) {
    auto it = obs.find(t.signal);
    if (it == obs.end() || !threshold_crossed(t, it->second)) continue;
    std::lock_guard lock(mu_);
    last_seen_[t.signal] = now;
    if (!met) met = &t;
  }
  // Soft thresholds: the pressure condition as soon as one is crossed (as the kubelet), an
  // eviction only once it has stayed crossed for its evictionSoftGracePeriod.
  for (const auto& t : o_.soft) {
    auto it = obs.find(t.signal);
    std::lock_guard lock(mu_);
    if (it == obs.end() || !threshold_crossed(t, it->second)) {
      soft_since_.erase(t.signal);
      continue;
    }
    last_seen_[t.signal] = now;
    auto since = soft_since_.emplace(t.signal, now).first->second;
    auto grace =
        o_.soft_grace.count(t.signal) ? o_.soft_grace.at(t.signal) : std::chrono::milliseconds(0);
    if (!met && now - since >= grace) {
      met = &t;
      soft = true;
    }
  }
  {
    std::lock_guard lock(mu_);
    auto recent = [&](std::initializer_list<const char*> signals) {
      for (const char* s : signals)
        if (auto it = last_seen_.find(s);
            it != last_seen_.end() && now - it->second <= o_.transition_period)
          return true;
      return false;
    };
    NodePressure p;
    p.memory = recent({"memory.available"});
    p.disk = recent(
        {"nodefs.available", "nodefs.inodesFree", "imagefs.available", "imagefs.inodesFree"});
    p.pid = recent({"pid.available"});
    if (!(p == pressure_))
      log::info("node pressure: memory ", p.memory, ", disk ", p.disk, ", pid ", p.pid);
    pressure_ = p;
  }
  if (!met) return std::nullopt;

  std::string resource = starved_resource(met->signal);
  std::map<std::string, const PodUsage*> usage;
  for (const auto& p : u.pods) usage[p.uid] = &p;
  std::vector<EvictionCandidate> cands;
  for (const auto& pod : pods) {
    std::string uid = api::str_at(pod, {"metadata", "uid"});
    std::string phase = api::str_at(pod, {"status", "phase"});
    if (phase == "Failed" || phase == "Succeeded") continue;
    if (!api::str_at(pod, {"metadata", "deletionTimestamp"}).empty()) continue;
    auto it = usage.find(uid);
    if (it == usage.end() || !it->second->running) continue;
    const PodUsage& pu = *it->second;
    EvictionCandidate c;
    c.uid = uid;
    c.name = pu.name;
    c.namespace_ = pu.namespace_;
    c.qos_class = pu.qos_class;
    if (const Json* pr = api::at_path(pod, {"spec", "priority"}); pr && pr->is_number_integer())
      c.priority = pr->get<int32_t>();
    if (const Json* g = api::at_path(pod, {"spec", "terminationGracePeriodSeconds"});
        g && g->is_number_integer())
      c.grace_seconds = std::max<int64_t>(0, g->get<int64_t>());
    if (resource == "memory") {
      c.usage = int64_t(pu.usage.working_set.value_or(0));
      c.request = sum_requests(pod, "memory");
      for (const auto& ctr : pu.containers)
        if (int64_t w = int64_t(ctr.usage.working_set.value_or(0)); w >= c.top_container_usage) {
          c.top_container = ctr.name;
          c.top_container_usage = w;
        }
      for (const auto& spec_c : api::at_path(pod, {"spec", "containers"})
                                    ? *api::at_path(pod, {"spec", "containers"})
                                    : Json::array())
        if (spec_c.value("name", "") == c.top_container) {
          Json one = {{"spec", {{"containers", Json::array({spec_c})}}}};
          c.top_container_request = sum_requests(one, "memory");
        }
    } else if (resource == "pids") {
      c.usage = int64_t(pu.usage.processes.value_or(0));
    } else {
      c.usage = int64_t(pu.ephemeral_bytes);
      c.request = sum_requests(pod, "ephemeral-storage");
    }
    cands.push_back(std::move(c));
  }
  if (cands.empty()) {
    log::warn("eviction: ", met->signal, " below ", met->text, " and no pod to evict");
    return std::nullopt;
  }
  rank_for_eviction(cands);
  const EvictionCandidate& victim = cands.front();
  std::string message = eviction_message(resource, *met, obs[met->signal], victim);
  // Hard: no grace. Soft: the pod's own, capped at evictionMaxPodGracePeriod (0 by default, as
  // the kubelet's: a soft eviction is then as quick as a hard one).
  int64_t grace = 0;
  if (soft) grace = std::min(victim.grace_seconds, o_.max_pod_grace_seconds);
  log::warn("eviction: ", met->signal, " below ", met->text, soft ? " (soft)" : "",
            ": evicting pod ", victim.namespace_, "/", victim.name, " (", victim.qos_class, ", ",
            resource, " ", format_quantity(victim.usage), ", grace ", grace, " s)");
  if (auto r = evict(victim.uid, message, grace); !r) {
    log::warn("evict pod ", victim.namespace_, "/", victim.name, ": ", r.error().what());
    return std::nullopt;
  }
  stats_.count_eviction(met->signal);
  return victim.uid;
}

NodePressure EvictionManager::pressure() const {
  std::lock_guard lock(mu_);
  return pressure_;
}

Json pressure_taints(const Json& taints, const NodePressure& p) {
  static const std::pair<const char*, bool NodePressure::*> kOurs[] = {
      {"node.kubernetes.io/memory-pressure", &NodePressure::memory},
      {"node.kubernetes.io/disk-pressure", &NodePressure::disk},
      {"node.kubernetes.io/pid-pressure", &NodePressure::pid}};
  Json out = Json::array();
  if (taints.is_array())
    for (const auto& t : taints) {
      bool ours = false;
      for (const auto& [key, field] : kOurs) ours = ours || t.value("key", "") == key;
      if (!ours) out.push_back(t);
    }
  for (const auto& [key, field] : kOurs)
    if (p.*field) out.push_back({{"key", key}, {"effect", "NoSchedule"}});
  return out;
}

}  // namespace skiff::kubelet::node
