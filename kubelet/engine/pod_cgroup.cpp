#include "kubelet/engine/pod_cgroup.hpp"

#include <algorithm>

#include "runtime/cgroups/manager.hpp"

namespace skiff::kubelet {
namespace {

using Field = std::optional<int64_t> Resources::*;

// Kubernetes' PodRequests/PodLimits for one field: max(sum of the main containers and the
// sidecars, the largest init container plus the sidecars started before it). nullopt when
// `all_declared` and some container lacks the field (a limit is then not set at all).
std::optional<int64_t> pod_total(const Pod& pod, Field f, bool all_declared, Field fallback) {
  auto value = [&](const Container& c) -> std::optional<int64_t> {
    auto v = c.resources.*f;
    if (!v && fallback) v = c.resources.*fallback;
    return v;
  };
  int64_t sidecars = 0, init_max = 0, main_sum = 0;
  for (const auto& c : pod.spec.init_containers) {
    auto v = value(c);
    if (!v && all_declared) return std::nullopt;
    if (c.restart_policy == "Always") {
      sidecars += v.value_or(0);
      init_max = std::max(init_max, sidecars);
    } else {
      init_max = std::max(init_max, sidecars + v.value_or(0));
    }
  }
  for (const auto& c : pod.spec.containers) {
    auto v = value(c);
    if (!v && all_declared) return std::nullopt;
    main_sum += v.value_or(0);
  }
  int64_t total = std::max(main_sum + sidecars, init_max);
  if (!all_declared && total == 0) {
    bool any = false;
    for (const auto* list : {&pod.spec.init_containers, &pod.spec.containers})
      for (const auto& c : *list) any = any || value(c).has_value();
    if (!any) return std::nullopt;
  }
  return total;
}

}  // namespace

std::string pod_qos_class(const Pod& pod) {
  bool any = false, guaranteed = true;
  for (const auto* list : {&pod.spec.init_containers, &pod.spec.containers})
    for (const auto& c : *list) {
      const Resources& r = c.resources;
      any = any || r.cpu_request || r.cpu_limit || r.memory_request || r.memory_limit;
      auto same = [](const std::optional<int64_t>& req, const std::optional<int64_t>& lim) {
        return lim && (!req || *req == *lim);
      };
      guaranteed =
          guaranteed && same(r.cpu_request, r.cpu_limit) && same(r.memory_request, r.memory_limit);
    }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

Resources pod_resources(const Pod& pod) {
  Resources r;
  // A request left out defaults to the limit (Kubernetes' defaulting).
  r.cpu_request = pod_total(pod, &Resources::cpu_request, false, &Resources::cpu_limit);
  r.memory_request = pod_total(pod, &Resources::memory_request, false, &Resources::memory_limit);
  r.cpu_limit = pod_total(pod, &Resources::cpu_limit, true, nullptr);
  r.memory_limit = pod_total(pod, &Resources::memory_limit, true, nullptr);
  return r;
}

oci::Resources pod_cgroup_resources(const Pod& pod, int64_t pids_limit) {
  Resources r = pod_resources(pod);
  oci::Resources out;
  oci::CpuResources cpu;
  // MilliCPUToShares: 1024 per CPU, at least 2 (what a BestEffort pod gets).
  cpu.shares = static_cast<uint64_t>(std::max<int64_t>(2, r.cpu_request.value_or(0) * 1024 / 1000));
  if (r.cpu_limit) {
    cpu.period = 100000;
    cpu.quota = std::max<int64_t>(1000, *r.cpu_limit * 100);  // MilliCPUToQuota, 1 ms minimum
  }
  out.cpu = cpu;
  if (r.memory_limit) {
    oci::MemoryResources mem;
    mem.limit = *r.memory_limit;
    out.memory = mem;
  }
  if (pids_limit > 0) out.pids = oci::PidsResources{pids_limit};
  return out;
}

std::string pod_cgroup_path(const NodeConfig& c, const Pod& pod) {
  std::string qos = pod_qos_class(pod);
  std::string parent = c.cgroup_parent;
  while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
  if (qos == "Burstable") parent += "/burstable";
  if (qos == "BestEffort") parent += "/besteffort";
  return cat(parent, "/pod", pod.uid);
}

Result<std::string> create_pod_cgroup(const NodeConfig& c, const Pod& pod) {
  std::string path = pod_cgroup_path(c, pod);
  runtime::cgroups::Options o;
  o.root = c.cgroup_root;
  o.cgroups_path = path;
  auto m = TRY_CTX(runtime::cgroups::make_manager(o), "pod cgroup ", quote(path));
  m->keep_parents();  // the QoS parents are shared by every pod of the node
  TRY_CTX(m->create(), "create the pod cgroup ", quote(path));
  if (auto applied = m->apply(pod_cgroup_resources(pod, c.pod_pids_limit)); !applied) {
    (void)m->destroy();
    return std::move(applied).error().wrap(cat("limits of the pod cgroup ", quote(path)));
  }
  return path;
}

Result<void> destroy_pod_cgroup(const NodeConfig& c, const std::string& path) {
  if (path.empty()) return ok();
  runtime::cgroups::Options o;
  o.root = c.cgroup_root;
  o.cgroups_path = path;
  auto m = TRY_CTX(runtime::cgroups::make_manager(o), "pod cgroup ", quote(path));
  TRY_CTX(m->destroy(), "remove the pod cgroup ", quote(path));
  return ok();
}

}  // namespace skiff::kubelet
