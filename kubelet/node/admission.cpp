#include "kubelet/node/admission.hpp"

#include <algorithm>

#include "kubelet/pod/pod.hpp"

namespace skiff::kubelet::node {
namespace {

int64_t quantity(const Json& v, int64_t scale) {
  if (v.is_number_integer()) return v.get<int64_t>() * scale;
  if (v.is_number()) return static_cast<int64_t>(v.get<double>() * static_cast<double>(scale));
  if (!v.is_string()) return 0;
  return parse_quantity(v.get<std::string>(), scale).value_or(0);
}

// A container's request of `name` (cpu in millicores, memory in bytes); the limit when no
// request is given (the API's defaulting).
int64_t request(const Json& c, const char* name, int64_t scale) {
  const Json& res = c.contains("resources") ? c["resources"] : Json::object();
  for (const char* kind : {"requests", "limits"})
    if (res.contains(kind) && res[kind].is_object() && res[kind].contains(name))
      return quantity(res[kind][name], scale);
  return 0;
}

}  // namespace

Allocatable Allocatable::from_json(const Json& a) {
  Allocatable out;
  if (!a.is_object()) return out;
  if (a.contains("cpu")) out.cpu_milli = quantity(a["cpu"], 1000);
  if (a.contains("memory")) out.memory = quantity(a["memory"], 1);
  if (a.contains("pods")) out.pods = quantity(a["pods"], 1);
  return out;
}

PodDemand PodDemand::of(const Json& pod) {
  PodDemand d;
  const Json& spec = pod.contains("spec") ? pod["spec"] : Json::object();
  int64_t cpu = 0, mem = 0, init_cpu = 0, init_mem = 0, sidecar_cpu = 0, sidecar_mem = 0;
  for (const auto& c : spec.value("containers", Json::array())) {
    cpu += request(c, "cpu", 1000);
    mem += request(c, "memory", 1);
  }
  // Init containers run one at a time before the others, next to the sidecars started before
  // them; sidecars run for the pod's whole life.
  for (const auto& c : spec.value("initContainers", Json::array())) {
    int64_t ccpu = request(c, "cpu", 1000), cmem = request(c, "memory", 1);
    if (c.value("restartPolicy", "") == "Always") {
      sidecar_cpu += ccpu;
      sidecar_mem += cmem;
    } else {
      init_cpu = std::max(init_cpu, sidecar_cpu + ccpu);
      init_mem = std::max(init_mem, sidecar_mem + cmem);
    }
  }
  d.cpu_milli = std::max(cpu + sidecar_cpu, init_cpu);
  d.memory = std::max(mem + sidecar_mem, init_mem);
  for (const char* list : {"initContainers", "containers"})
    for (const auto& c : spec.value(list, Json::array()))
      for (const auto& p : c.value("ports", Json::array())) {
        int port = p.value("hostPort", 0);
        if (port <= 0) continue;
        std::string ip = p.value("hostIP", "");
        if (ip == "0.0.0.0") ip.clear();
        d.host_ports.insert({ip, port, p.value("protocol", "TCP")});
      }
  return d;
}

Admission admit_pod(const Json& pod, const std::vector<Json>& admitted, const Allocatable& node) {
  auto insufficient = [](const char* resource, int64_t requested, int64_t used, int64_t capacity) {
    return Admission{false, cat("OutOf", resource),
                     cat("Node didn't have enough resource: ", resource, ", requested: ", requested,
                         ", used: ", used, ", capacity: ", capacity)};
  };
  auto used_pods = static_cast<int64_t>(admitted.size());
  if (used_pods + 1 > node.pods) return insufficient("pods", 1, used_pods, node.pods);
  PodDemand want = PodDemand::of(pod);
  int64_t used_cpu = 0, used_mem = 0;
  std::vector<PodDemand> others;
  for (const auto& p : admitted) {
    others.push_back(PodDemand::of(p));
    used_cpu += others.back().cpu_milli;
    used_mem += others.back().memory;
  }
  if (want.cpu_milli > 0 && want.cpu_milli > node.cpu_milli - used_cpu)
    return insufficient("cpu", want.cpu_milli, used_cpu, node.cpu_milli);
  if (want.memory > 0 && want.memory > node.memory - used_mem)
    return insufficient("memory", want.memory, used_mem, node.memory);
  // A host port conflicts with the same port and protocol on the same address, or on any address
  // when either side binds all of them.
  for (const auto& o : others)
    for (const auto& [ip, port, proto] : want.host_ports)
      for (const auto& [oip, oport, oproto] : o.host_ports)
        if (port == oport && proto == oproto && (ip.empty() || oip.empty() || ip == oip))
          return {false, "NodePorts", "Predicate NodePorts failed"};
  return {};
}

}  // namespace skiff::kubelet::node
