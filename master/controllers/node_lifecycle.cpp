#include "master/controllers/node_lifecycle.hpp"

#include <arpa/inet.h>

#include "api/meta.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace skiff::master {

namespace {

const char* kUnreachable = "node.kubernetes.io/unreachable";

std::string v4(uint32_t v) {
  in_addr a;
  a.s_addr = htonl(v);
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

bool has_unreachable_taint(const Json& node) {
  if (const Json* t = api::at_path(node, {"spec", "taints"}); t && t->is_array())
    for (const auto& x : *t)
      if (x.value("key", "") == kUnreachable) return true;
  return false;
}

}  // namespace

Result<PodCidrAllocator> PodCidrAllocator::parse(const std::string& cidr, int node_prefix) {
  auto slash = cidr.find('/');
  in_addr a;
  auto bits = slash == std::string::npos ? std::nullopt : parse_int<int>(cidr.substr(slash + 1));
  if (slash == std::string::npos || inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &a) != 1 ||
      !bits || *bits < 8 || *bits > node_prefix)
    return error("--cluster-cidr ", quote(cidr),
                 ": expected an IPv4 a.b.c.d/N with N <= ", node_prefix);
  PodCidrAllocator p;
  p.prefix_ = node_prefix;
  uint32_t size = 1u << (32 - *bits);
  p.base_ = ntohl(a.s_addr) & ~(size - 1);
  p.count_ = 1u << (node_prefix - *bits);
  return p;
}

void PodCidrAllocator::claim(const std::string& cidr) {
  auto slash = cidr.find('/');
  in_addr a;
  if (slash == std::string::npos || inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &a) != 1)
    return;
  uint32_t v = ntohl(a.s_addr);
  if (v < base_) return;
  uint32_t index = (v - base_) >> (32 - prefix_);
  if (index < count_) used_.insert(index);
}

std::optional<std::string> PodCidrAllocator::allocate() {
  for (uint32_t i = 0; i < count_; i++)
    if (used_.insert(i).second) return cat(v4(base_ + (i << (32 - prefix_))), "/", prefix_);
  return std::nullopt;
}

Result<std::unique_ptr<NodeLifecycle>> NodeLifecycle::create(Registry& registry,
                                                             NodeLifecycleOptions options) {
  auto cidrs = TRY(PodCidrAllocator::parse(options.cluster_cidr, options.node_cidr_prefix));
  for (const auto& n : registry.store().list(list_prefix("nodes", "")).items)
    if (auto c = api::str_at(*n.json, {"spec", "podCIDR"}); !c.empty()) cidrs.claim(c);
  return std::unique_ptr<NodeLifecycle>(new NodeLifecycle(registry, options, std::move(cidrs)));
}

void NodeLifecycle::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, options_.period, [&] { return stopping_; })) {
      lock.unlock();
      reconcile(std::chrono::system_clock::now());
      lock.lock();
    }
  });
}

void NodeLifecycle::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void NodeLifecycle::reconcile(std::chrono::system_clock::time_point now) {
  const api::KindInfo& nodes = *api::find_resource("", "nodes");
  std::map<std::string, std::chrono::system_clock::time_point> unreachable_since;
  for (const auto& n : registry_.store().list(list_prefix("nodes", "")).items) {
    const Json& node = *n.json;
    std::string name = api::str_at(node, {"metadata", "name"});
    if (api::str_at(node, {"spec", "podCIDR"}).empty()) {
      if (auto cidr = cidrs_.allocate())
        (void)registry_.patch(nodes, "", name, "", api::PatchType::kMerge,
                              Json{{"spec", {{"podCIDR", *cidr}, {"podCIDRs", {*cidr}}}}});
      else
        log::warn("node ", quote(name), ": no pod CIDR left in ", options_.cluster_cidr);
    }
    // Last sign of life: the Lease's renewTime, else the Ready condition's heartbeat, else when
    // this controller first saw the node.
    std::optional<std::chrono::system_clock::time_point> seen;
    if (Object lease = registry_.store().get(
            object_key("leases.coordination.k8s.io", "kube-node-lease", name)))
      seen = api::parse_rfc3339(api::str_at(*lease.json, {"spec", "renewTime"}));
    if (!seen)
      if (const Json* cs = api::at_path(node, {"status", "conditions"}); cs && cs->is_array())
        for (const auto& c : *cs)
          if (c.value("type", "") == "Ready")
            seen = api::parse_rfc3339(c.value("lastHeartbeatTime", ""));
    if (!seen) {
      auto [it, inserted] = first_seen_.emplace(name, now);
      seen = it->second;
    }
    bool stale = now - *seen > options_.grace;
    bool tainted = has_unreachable_taint(node);
    if (stale && !tainted) mark_unreachable(node);
    if (!stale && tainted) mark_reachable(node);
    if (stale) unreachable_since[name] = *seen + options_.grace;
  }
  if (!unreachable_since.empty()) evict(unreachable_since, now);
}

void NodeLifecycle::mark_unreachable(const Json& node) {
  std::string name = api::str_at(node, {"metadata", "name"});
  const api::KindInfo& nodes = *api::find_resource("", "nodes");
  std::string now = api::now_rfc3339();
  Json taints = Json::array();
  if (const Json* t = api::at_path(node, {"spec", "taints"}); t && t->is_array()) taints = *t;
  for (const char* effect : {"NoSchedule", "NoExecute"})
    taints.push_back({{"key", kUnreachable}, {"effect", effect}, {"timeAdded", now}});
  (void)registry_.patch(nodes, "", name, "", api::PatchType::kMerge,
                        Json{{"spec", {{"taints", taints}}}});
  Json conditions = Json::array();
  if (const Json* cs = api::at_path(node, {"status", "conditions"}); cs && cs->is_array())
    conditions = *cs;
  bool found = false;
  for (auto& c : conditions)
    if (c.value("type", "") == "Ready") {
      found = true;
      c["status"] = "Unknown";
      c["reason"] = "NodeStatusUnknown";
      c["message"] = "Kubelet stopped posting node status.";
      c["lastTransitionTime"] = now;
    }
  if (!found)
    conditions.push_back({{"type", "Ready"},
                          {"status", "Unknown"},
                          {"reason", "NodeStatusNeverUpdated"},
                          {"message", "Kubelet never posted node status."},
                          {"lastTransitionTime", now}});
  (void)registry_.patch(nodes, "", name, "status", api::PatchType::kMerge,
                        Json{{"status", {{"conditions", conditions}}}});
  log::warn("node ", quote(name), ": lease not renewed, marked unreachable");
}

void NodeLifecycle::mark_reachable(const Json& node) {
  std::string name = api::str_at(node, {"metadata", "name"});
  Json taints = Json::array();
  for (const auto& t : node["spec"].value("taints", Json::array()))
    if (t.value("key", "") != kUnreachable) taints.push_back(t);
  (void)registry_.patch(*api::find_resource("", "nodes"), "", name, "", api::PatchType::kMerge,
                        Json{{"spec", {{"taints", taints}}}});
}

void NodeLifecycle::evict(
    const std::map<std::string, std::chrono::system_clock::time_point>& unreachable_since,
    std::chrono::system_clock::time_point now) {
  const api::KindInfo& pods = *api::find_resource("", "pods");
  // One pass over the pods for every unreachable node.
  auto bound = registry_.store().list(list_prefix("pods", ""), "", 0, [&](const Json& p) {
    return unreachable_since.count(api::str_at(p, {"spec", "nodeName"})) &&
           !api::at_path(p, {"metadata", "deletionTimestamp"});
  });
  for (const auto& p : bound.items) {
    auto since = unreachable_since.at(api::str_at(*p.json, {"spec", "nodeName"}));
    // The pod's toleration of the unreachable NoExecute taint decides how long it stays.
    std::optional<int64_t> tolerate_s;
    bool tolerates_forever = false;
    for (const auto& t :
         p.json->value("spec", Json::object()).value("tolerations", Json::array())) {
      std::string key = t.value("key", "");
      std::string effect = t.value("effect", "");
      if ((key == kUnreachable || (key.empty() && t.value("operator", "") == "Exists")) &&
          (effect.empty() || effect == "NoExecute")) {
        if (t.contains("tolerationSeconds"))
          tolerate_s = t["tolerationSeconds"].get<int64_t>();
        else
          tolerates_forever = true;
      }
    }
    if (tolerates_forever) continue;
    if (now < since + std::chrono::seconds(tolerate_s.value_or(0))) continue;
    (void)registry_.remove(pods, api::str_at(*p.json, {"metadata", "namespace"}),
                           api::str_at(*p.json, {"metadata", "name"}), Json::object());
  }
}

}  // namespace skiff::master
