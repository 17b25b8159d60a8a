#include "master/scheduler/scheduler.hpp"

#include <atomic>
#include <thread>

#include "api/meta.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace skiff::master {

namespace {

int64_t quantity(const Json& v) {
  std::string text = v.is_string() ? v.get<std::string>() : v.dump();
  return api::parse_quantity_milli(text).value_or(0);
}

Resources container_requests(const Json& c) {
  Resources r;
  const Json* req = api::at_path(c, {"resources", "requests"});
  if (!req || !req->is_object()) req = api::at_path(c, {"resources", "limits"});
  if (req && req->is_object()) {
    if (req->contains("cpu")) r.cpu_milli = quantity((*req)["cpu"]);
    if (req->contains("memory")) r.memory_milli = quantity((*req)["memory"]);
  }
  return r;
}

bool tolerates(const Json& tolerations, const Json& taint) {
  if (!tolerations.is_array()) return false;
  std::string key = taint.value("key", ""), value = taint.value("value", "");
  std::string effect = taint.value("effect", "");
  for (const auto& t : tolerations) {
    std::string te = t.value("effect", "");
    if (!te.empty() && te != effect) continue;
    std::string op = t.value("operator", "Equal");
    std::string tk = t.value("key", "");
    if (tk.empty() && op == "Exists") return true;
    if (tk != key) continue;
    if (op == "Exists" || t.value("value", "") == value) return true;
  }
  return false;
}

bool match_expression(const Json& labels, const Json& e) {
  std::string key = e.value("key", ""), op = e.value("operator", "");
  bool has = labels.is_object() && labels.contains(key) && labels[key].is_string();
  std::string v = has ? labels[key].get<std::string>() : "";
  Json values = e.value("values", Json::array());
  bool in = has && std::find(values.begin(), values.end(), v) != values.end();
  if (op == "In") return in;
  if (op == "NotIn") return !in;
  if (op == "Exists") return has;
  if (op == "DoesNotExist") return !has;
  if ((op == "Gt" || op == "Lt") && has && values.size() == 1 && values[0].is_string()) {
    auto a = parse_int<int64_t>(v), b = parse_int<int64_t>(values[0].get<std::string>());
    if (!a || !b) return false;
    return op == "Gt" ? *a > *b : *a < *b;
  }
  return false;
}

std::vector<std::string> host_ports(const Json& pod) {
  std::vector<std::string> out;
  if (const Json* cs = api::at_path(pod, {"spec", "containers"}); cs && cs->is_array())
    for (const auto& c : *cs)
      for (const auto& p : c.value("ports", Json::array()))
        if (p.value("hostPort", 0) > 0)
          out.push_back(cat(p.value("protocol", "TCP"), "/", p.value("hostPort", 0)));
  return out;
}

std::string owner_uid(const Json& pod) {
  if (const Json* refs = api::at_path(pod, {"metadata", "ownerReferences"});
      refs && refs->is_array())
    for (const auto& r : *refs)
      if (r.value("controller", false)) return r.value("uid", "");
  return "";
}

NodeInfo parse_node(const Json& node, NodeInfo info) {
  info.name = api::str_at(node, {"metadata", "name"});
  const Json* labels = api::at_path(node, {"metadata", "labels"});
  info.labels = labels ? *labels : Json::object();
  const Json* taints = api::at_path(node, {"spec", "taints"});
  info.taints = taints && taints->is_array() ? *taints : Json::array();
  const Json* u = api::at_path(node, {"spec", "unschedulable"});
  info.unschedulable = u && u->is_boolean() && u->get<bool>();
  info.ready = false;
  if (const Json* conds = api::at_path(node, {"status", "conditions"}); conds && conds->is_array())
    for (const auto& c : *conds)
      if (c.value("type", "") == "Ready") info.ready = c.value("status", "") == "True";
  const Json* alloc = api::at_path(node, {"status", "allocatable"});
  if (!alloc || !alloc->is_object()) alloc = api::at_path(node, {"status", "capacity"});
  info.allocatable = Resources{};
  info.allocatable.pods = 110;
  if (alloc && alloc->is_object()) {
    if (alloc->contains("cpu")) info.allocatable.cpu_milli = quantity((*alloc)["cpu"]);
    if (alloc->contains("memory")) info.allocatable.memory_milli = quantity((*alloc)["memory"]);
    if (alloc->contains("pods")) info.allocatable.pods = quantity((*alloc)["pods"]) / 1000;
  }
  return info;
}

bool needs_scheduling(const Json& pod) {
  return api::str_at(pod, {"spec", "nodeName"}).empty() &&
         api::str_at(pod, {"spec", "schedulerName"}, "default-scheduler") == "default-scheduler" &&
         !api::at_path(pod, {"metadata", "deletionTimestamp"});
}

bool counts_on_node(const Json& pod) {
  std::string phase = api::str_at(pod, {"status", "phase"});
  return !api::str_at(pod, {"spec", "nodeName"}).empty() && phase != "Succeeded" &&
         phase != "Failed";
}

}  // namespace

Resources pod_requests(const Json& pod) {
  Resources r;
  r.pods = 1;
  if (const Json* cs = api::at_path(pod, {"spec", "containers"}); cs && cs->is_array())
    for (const auto& c : *cs) {
      Resources x = container_requests(c);
      r.cpu_milli += x.cpu_milli;
      r.memory_milli += x.memory_milli;
    }
  if (const Json* cs = api::at_path(pod, {"spec", "initContainers"}); cs && cs->is_array())
    for (const auto& c : *cs) {
      Resources x = container_requests(c);
      r.cpu_milli = std::max(r.cpu_milli, x.cpu_milli);
      r.memory_milli = std::max(r.memory_milli, x.memory_milli);
    }
  return r;
}

PodInfo pod_info(const Json& pod) {
  PodInfo p;
  p.requests = pod_requests(pod);
  const Json* tol = api::at_path(pod, {"spec", "tolerations"});
  p.tolerations = tol && tol->is_array() ? tol : nullptr;
  const Json* sel = api::at_path(pod, {"spec", "nodeSelector"});
  p.node_selector = sel && sel->is_object() && !sel->empty() ? sel : nullptr;
  const Json* terms =
      api::at_path(pod, {"spec", "affinity", "nodeAffinity",
                         "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"});
  p.affinity_terms = terms && terms->is_array() && !terms->empty() ? terms : nullptr;
  p.tolerates_not_ready =
      p.tolerations && tolerates(*p.tolerations, {{"key", "node.kubernetes.io/not-ready"},
                                                  {"effect", "NoSchedule"}});
  p.host_ports = host_ports(pod);
  p.owner = owner_uid(pod);
  return p;
}

std::string filter_node(const PodInfo& pod, const NodeInfo& n) {
  if (n.unschedulable) return "node(s) were unschedulable";
  if (!n.ready && !pod.tolerates_not_ready)
    return "node(s) had taint {node.kubernetes.io/not-ready: }, that the pod didn't tolerate";
  for (const auto& t : n.taints) {
    std::string effect = t.value("effect", "");
    if (effect != "NoSchedule" && effect != "NoExecute") continue;
    if (!pod.tolerations || !tolerates(*pod.tolerations, t))
      return cat("node(s) had taint {", t.value("key", ""), ": ", t.value("value", ""),
                 "}, that the pod didn't tolerate");
  }
  if (pod.node_selector)
    for (const auto& [k, v] : pod.node_selector->items()) {
      auto l = n.labels.find(k);
      if (l == n.labels.end() || *l != v) return "node(s) didn't match node selector";
    }
  if (pod.affinity_terms) {
    bool any = false;
    for (const auto& term : *pod.affinity_terms) {  // terms are ORed, expressions ANDed
      bool all = true;
      if (auto e = term.find("matchExpressions"); e != term.end() && e->is_array())
        for (const auto& x : *e)
          if (!match_expression(n.labels, x)) all = false;
      if (all) any = true;
    }
    if (!any) return "node(s) didn't match node selector";
  }
  const Resources& req = pod.requests;
  if (n.used.pods + 1 > n.allocatable.pods) return "Too many pods";
  if (req.cpu_milli > 0 && n.used.cpu_milli + req.cpu_milli > n.allocatable.cpu_milli)
    return "Insufficient cpu";
  if (req.memory_milli > 0 && n.used.memory_milli + req.memory_milli > n.allocatable.memory_milli)
    return "Insufficient memory";
  for (const auto& p : pod.host_ports)
    if (n.host_ports.count(p)) return "node(s) didn't have free ports for the requested pod ports";
  return "";
}

int64_t score_node(const PodInfo& pod, const NodeInfo& n) {
  const Resources& req = pod.requests;
  auto free_fraction = [](int64_t used, int64_t want, int64_t cap) -> int64_t {
    if (cap <= 0) return 0;
    return std::max<int64_t>(0, (cap - used - want) * 100 / cap);
  };
  int64_t least =
      (free_fraction(n.used.cpu_milli, req.cpu_milli, n.allocatable.cpu_milli) +
       free_fraction(n.used.memory_milli, req.memory_milli, n.allocatable.memory_milli)) /
      2;
  if (n.allocatable.cpu_milli <= 0 && n.allocatable.memory_milli <= 0)
    least = free_fraction(n.used.pods, 1, n.allocatable.pods);
  int64_t spread = 100;
  if (!pod.owner.empty())
    if (auto it = n.owner_pods.find(pod.owner); it != n.owner_pods.end())
      spread = std::max<int64_t>(0, 100 - it->second * 10);
  return (least + spread) / 2;
}

std::string filter_node(const Json& pod, const Resources& req, const NodeInfo& n) {
  PodInfo p = pod_info(pod);
  p.requests = req;
  return filter_node(p, n);
}

int64_t score_node(const Json& pod, const Resources& req, const NodeInfo& n) {
  PodInfo p = pod_info(pod);
  p.requests = req;
  return score_node(p, n);
}

size_t nodes_to_find(size_t nodes, int percentage) {
  constexpr size_t kMinFeasible = 100;
  constexpr int kMinPercentage = 5;
  if (nodes < kMinFeasible || percentage >= 100) return nodes;
  int pct = percentage;
  if (pct <= 0) pct = std::max<int>(kMinPercentage, 50 - static_cast<int>(nodes / 125));
  return std::max(kMinFeasible, nodes * static_cast<size_t>(pct) / 100);
}

Pick pick_node(const PodInfo& pod, const std::vector<NodeInfo*>& nodes, size_t start, size_t want,
               uint64_t seed) {
  Pick out;
  size_t feasible = 0, ties = 0;
  int64_t best_score = -1;
  auto next_random = [&seed] {  // splitmix64
    uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  const size_t n = nodes.size();
  for (size_t i = 0; i < n && feasible < want; i++) {
    NodeInfo& node = *nodes[(start + i) % n];
    out.examined++;
    std::string why = filter_node(pod, node);
    if (!why.empty()) {
      out.reasons[why]++;
      continue;
    }
    feasible++;
    int64_t s = score_node(pod, node);
    if (s > best_score) {
      best_score = s;
      out.node = &node;
      ties = 1;
    } else if (s == best_score && next_random() % ++ties == 0) {
      out.node = &node;  // as kube's selectHost: one of the best, each as likely
    }
  }
  return out;
}

std::string unschedulable_message(size_t nodes, const std::map<std::string, int>& reasons) {
  std::vector<std::string> parts;
  for (const auto& [reason, count] : reasons) parts.push_back(cat(count, " ", reason));
  return cat("0/", nodes, " nodes are available: ", join(parts, ", "), ".");
}

Result<void> Scheduler::start() {
  watcher_ = TRY(registry_.store().watch("/", 0));
  running_ = true;
  binders_stop_ = false;
  for (size_t i = 0; i < kBinders; i++) binders_.emplace_back([this] { binder(); });
  thread_ = std::thread([this] { run(); });
  return ok();
}

void Scheduler::stop() {
  if (!running_.exchange(false)) return;
  if (watcher_) watcher_->close();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(bind_mu_);
    binders_stop_ = true;
    bind_queue_.clear();
  }
  bind_cv_.notify_all();
  for (auto& t : binders_) t.join();
  binders_.clear();
}

Scheduler::Placement Scheduler::placement_of(const Json& pod, const std::string& node) {
  Placement p;
  p.node = node;
  p.requests = pod_requests(pod);
  p.host_ports = host_ports(pod);
  p.owner = owner_uid(pod);
  return p;
}

void Scheduler::account(const Placement& pl, int sign) {
  auto it = nodes_.find(pl.node);
  if (it == nodes_.end()) return;
  NodeInfo& n = it->second;
  const Resources& r = pl.requests;
  n.used.cpu_milli += sign * r.cpu_milli;
  n.used.memory_milli += sign * r.memory_milli;
  n.used.pods += sign;
  for (const auto& p : pl.host_ports) {
    if (sign > 0)
      n.host_ports.insert(p);
    else if (auto h = n.host_ports.find(p); h != n.host_ports.end())
      n.host_ports.erase(h);
  }
  if (!pl.owner.empty()) {
    int& count = n.owner_pods[pl.owner];
    count += sign;
    if (count <= 0) n.owner_pods.erase(pl.owner);
  }
}

void Scheduler::observe(const WatchEvent& e) {
  bool is_pod = e.key.rfind("/pods/", 0) == 0, is_node = e.key.rfind("/nodes/", 0) == 0;
  if (!is_pod && !is_node) return;
  const Json& o = *e.object.json;
  if (is_node) {
    std::string name = api::str_at(o, {"metadata", "name"});
    if (e.type == EventType::kDeleted) {
      nodes_.erase(name);
      order_dirty_ = true;
      return;
    }
    NodeInfo prev;
    if (auto it = nodes_.find(name); it != nodes_.end()) prev = std::move(it->second);
    bool was_added = prev.name.empty();
    nodes_[name] = parse_node(o, std::move(prev));
    if (was_added) {
      order_dirty_ = true;
      // Pods bound before this node was seen count against it now.
      for (const auto& [key, pl] : bound_)
        if (pl.node == name) account(pl, +1);
    }
    // Something changed on the nodes: pods that fit nowhere get another try.
    pending_.insert(unschedulable_.begin(), unschedulable_.end());
    unschedulable_.clear();
    return;
  }
  if (auto it = bound_.find(e.key); it != bound_.end()) {
    account(it->second, -1);
    bound_.erase(it);
  }
  if (e.type == EventType::kDeleted) {
    pending_.erase(e.key);
    unschedulable_.erase(e.key);
    return;
  }
  if (counts_on_node(o)) {
    auto& pl = bound_[e.key] = placement_of(o, api::str_at(o, {"spec", "nodeName"}));
    account(pl, +1);
    pending_.erase(e.key);
    unschedulable_.erase(e.key);
  } else if (needs_scheduling(o)) {
    if (!unschedulable_.count(e.key)) pending_.insert(e.key);
  } else {
    pending_.erase(e.key);
    unschedulable_.erase(e.key);
  }
}

void Scheduler::run() {
  std::vector<WatchEvent> events;
  auto last_retry = std::chrono::steady_clock::now();
  while (running_) {
    events.clear();
    if (!watcher_->next(events, std::chrono::milliseconds(pending_.empty() ? 500 : 0))) {
      if (!running_) return;
      auto w = registry_.store().watch("/", 0);
      if (!w.ok()) return;
      nodes_.clear();
      order_dirty_ = true;
      bound_.clear();
      pending_.clear();
      unschedulable_.clear();
      watcher_ = *w;
      continue;
    }
    for (const auto& e : events) observe(e);
    settle_failed();
    if (std::chrono::steady_clock::now() - last_retry > std::chrono::seconds(30)) {
      last_retry = std::chrono::steady_clock::now();
      pending_.insert(unschedulable_.begin(), unschedulable_.end());
      unschedulable_.clear();
    }
    // Schedule what is pending, then go back to the events (they carry our own bindings).
    std::vector<std::string> batch(pending_.begin(), pending_.end());
    pending_.clear();
    std::vector<Decision> decisions;
    for (const auto& key : batch) {
      if (!running_) return;
      if (auto d = schedule(key)) decisions.push_back(std::move(*d));
    }
    bind_all(decisions);
  }
}

std::optional<Scheduler::Decision> Scheduler::schedule(const std::string& key) {
  Object cur = registry_.store().get(key);
  if (!cur || !needs_scheduling(*cur.json)) return std::nullopt;
  const Json& pod = *cur.json;
  if (order_dirty_) {
    order_.clear();
    for (auto& [name, n] : nodes_) order_.push_back(&n);
    order_dirty_ = false;
    next_start_ = order_.empty() ? 0 : next_start_ % order_.size();
  }
  PodInfo info = pod_info(pod);
  Pick pick = pick_node(info, order_, next_start_, nodes_to_find(order_.size()), ++decisions_);
  if (!order_.empty()) next_start_ = (next_start_ + pick.examined) % order_.size();
  std::string ns = api::str_at(pod, {"metadata", "namespace"});
  std::string name = api::str_at(pod, {"metadata", "name"});
  if (!pick.node) {
    unschedulable_.insert(key);
    mark_unschedulable(pod, nodes_.empty() ? "no nodes available to schedule pods"
                                           : unschedulable_message(nodes_.size(), pick.reasons));
    return std::nullopt;
  }
  // Count it at once so the next pod of this batch sees the node's new usage; the MODIFIED
  // event of the binding replaces this entry.
  Placement pl{pick.node->name, info.requests, std::move(info.host_ports), std::move(info.owner),
               true};
  account(bound_[key] = std::move(pl), +1);
  return Decision{key, ns, name, pick.node->name};
}

void Scheduler::bind_all(std::vector<Decision>& decisions) {
  if (decisions.empty()) return;
  {
    std::lock_guard lock(bind_mu_);
    for (auto& d : decisions) bind_queue_.push_back(std::move(d));
  }
  bind_cv_.notify_all();
}

void Scheduler::binder() {
  for (;;) {
    Decision d;
    {
      std::unique_lock lock(bind_mu_);
      bind_cv_.wait(lock, [&] { return binders_stop_ || !bind_queue_.empty(); });
      if (binders_stop_) return;
      d = std::move(bind_queue_.front());
      bind_queue_.pop_front();
    }
    auto r = registry_.bind(d.ns, d.name, Json{{"target", {{"kind", "Node"}, {"name", d.node}}}});
    if (!r.ok()) {
      log::debug("scheduler: bind ", d.ns, "/", d.name, ": ", r.error->message);
      std::lock_guard lock(bind_mu_);
      failed_.push_back(d.key);
    }
  }
}

void Scheduler::settle_failed() {
  std::vector<std::string> failed;
  {
    std::lock_guard lock(bind_mu_);
    failed.swap(failed_);
  }
  for (const auto& key : failed) {
    auto it = bound_.find(key);
    if (it == bound_.end() || !it->second.tentative) continue;  // an event has the truth
    account(it->second, -1);
    bound_.erase(it);
  }
}

void Scheduler::mark_unschedulable(const Json& pod, const std::string& message) {
  std::string ns = api::str_at(pod, {"metadata", "namespace"});
  std::string name = api::str_at(pod, {"metadata", "name"});
  const api::KindInfo& pods = *api::find_resource("", "pods");
  Json conditions = Json::array();
  if (const Json* cs = api::at_path(pod, {"status", "conditions"}); cs && cs->is_array())
    for (const auto& c : *cs)
      if (c.value("type", "") != "PodScheduled") conditions.push_back(c);
  conditions.push_back({{"type", "PodScheduled"},
                        {"status", "False"},
                        {"reason", "Unschedulable"},
                        {"message", message},
                        {"lastProbeTime", nullptr},
                        {"lastTransitionTime", api::now_rfc3339()}});
  (void)registry_.patch(pods, ns, name, "status", api::PatchType::kMerge,
                        Json{{"status", {{"conditions", conditions}}}});
  std::string now = api::now_rfc3339();
  Json event = {{"metadata", {{"name", api::generate_name(name + ".")}, {"namespace", ns}}},
                {"involvedObject",
                 {{"kind", "Pod"},
                  {"namespace", ns},
                  {"name", name},
                  {"uid", api::str_at(pod, {"metadata", "uid"})},
                  {"apiVersion", "v1"},
                  {"resourceVersion", api::str_at(pod, {"metadata", "resourceVersion"})}}},
                {"reason", "FailedScheduling"},
                {"message", message},
                {"source", {{"component", "default-scheduler"}}},
                {"firstTimestamp", now},
                {"lastTimestamp", now},
                {"count", 1},
                {"type", "Warning"},
                {"reportingComponent", "default-scheduler"}};
  Identity system{"system:kube-scheduler", {"system:masters"}};
  (void)registry_.create(*api::find_resource("", "events"), ns, event, system);
}

}  // namespace skiff::master
