#pragma once
// The kubelet's admission of a pod bound to this node, before anything of it runs (the
// kubelet's GeneralPredicates): the pod count, the sum of cpu and memory requests against the
// node's allocatable, and hostPorts against the pods already admitted. A pod that does not fit
// is set Failed with the kubelet's reason — OutOfpods, OutOfcpu, OutOfmemory ("Node didn't have
// enough resource: cpu, requested: 600, used: 500, capacity: 1000") or NodePorts ("Predicate
// NodePorts failed") — and never started. The first failing check is the one reported, in the
// kubelet's order: pods, cpu, memory, then ports.

#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/json_util.hpp"

namespace skiff::kubelet::node {

struct Allocatable {
  int64_t cpu_milli = 0;
  int64_t memory = 0;  // bytes
  int64_t pods = 110;
  // The Node's status.allocatable ({"cpu": "2", "memory": "4012Mi", "pods": "110"}); a field that
  // is missing or malformed keeps its default (0 for cpu/memory: no request fits).
  static Allocatable from_json(const Json& allocatable);
};

// What a pod asks for: the effective requests (max of the sum of its containers and sidecars and
// its largest init container; a request defaults to the limit) and its host ports.
struct PodDemand {
  int64_t cpu_milli = 0, memory = 0;
  std::set<std::tuple<std::string, int, std::string>>
      host_ports;  // hostIP ("" all), port, protocol
  static PodDemand of(const Json& pod);
};

struct Admission {
  bool admit = true;
  std::string reason, message;
};

// May `pod` run next to `admitted` (the pods already running here)?
Admission admit_pod(const Json& pod, const std::vector<Json>& admitted, const Allocatable& node);

}  // namespace skiff::kubelet::node
