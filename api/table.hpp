#pragma once
// meta.k8s.io/v1 Table responses: the columns `kubectl get` prints for each kind (pods: NAME READY
// STATUS RESTARTS AGE, and IP NODE NOMINATED NODE READINESS GATES with -o wide).

#include <chrono>
#include <vector>

#include "api/kinds.hpp"
#include "common/json_util.hpp"

namespace skiff::api {

// Column definitions for a kind (priority 1 columns are the -o wide ones).
Json table_columns(const KindInfo& kind);
// One row: cells plus the object as PartialObjectMetadata (or the full object).
Json table_row(const KindInfo& kind, const Json& object, std::chrono::system_clock::time_point now,
               bool include_full_object);
// A whole Table for a list; `list_meta` is the list's metadata (resourceVersion, continue).
Json to_table(const KindInfo& kind, const std::vector<const Json*>& objects, const Json& list_meta,
              bool include_full_object);
// The STATUS column of a pod, as kubectl prints it (Pending, Running, Terminating,
// CrashLoopBackOff…).
std::string pod_status_reason(const Json& pod);

}  // namespace skiff::api
