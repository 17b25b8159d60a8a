#pragma once
// REST semantics over the store, as kube-apiserver's generic registry has them: create (uid,
// generateName, creationTimestamp, generation, defaulting, validation), update and patch with
// optimistic concurrency and status/scale subresources, graceful and finalizer-aware deletion
// with propagation policies, pod binding, ClusterIP allocation. Controllers use it too, so every
// write follows the same rules.

#include <optional>
#include <string>

#include "api/kinds.hpp"
#include "api/patch.hpp"
#include "api/status.hpp"
#include "master/registry/ip_allocator.hpp"
#include "master/server/http.hpp"
#include "master/store/store.hpp"

namespace skiff::master {

struct Outcome {
  int code = 200;
  Object object;  // a stored object (its cached bytes are the response)
  Json json;      // otherwise: a Status, a Scale, …
  std::optional<api::ApiError> error;
  bool ok() const { return !error.has_value(); }
  static Outcome fail(api::ApiError e) {
    Outcome o;
    o.code = e.code;
    o.error = std::move(e);
    return o;
  }
};

struct RegistryOptions {
  std::string service_cidr = "10.96.0.0/12";
};

class Registry {
 public:
  static Result<std::unique_ptr<Registry>> create(Store& store, const RegistryOptions& options);

  // Default namespaces, their `default` service accounts and the `kubernetes` service.
  Result<void> bootstrap();

  Outcome create(const api::KindInfo& kind, const std::string& ns, Json body, const Identity& who);
  Outcome get(const api::KindInfo& kind, const std::string& ns, const std::string& name,
              const std::string& subresource);
  Outcome update(const api::KindInfo& kind, const std::string& ns, const std::string& name,
                 const std::string& subresource, Json body);
  Outcome patch(const api::KindInfo& kind, const std::string& ns, const std::string& name,
                const std::string& subresource, api::PatchType type, const Json& patch);
  // `options` is a DeleteOptions object (gracePeriodSeconds, propagationPolicy, preconditions).
  Outcome remove(const api::KindInfo& kind, const std::string& ns, const std::string& name,
                 const Json& options);
  // pods/binding: sets spec.nodeName once.
  Outcome bind(const std::string& ns, const std::string& name, const Json& binding);

  Store& store() { return store_; }

 private:
  Registry(Store& store, IpAllocator ips) : store_(store), ips_(std::move(ips)) {}
  using Transform = std::function<Result<Json>(const Json& current, std::optional<api::ApiError>&)>;
  Outcome write_existing(const api::KindInfo& kind, const std::string& ns, const std::string& name,
                         const std::string& subresource, const Transform& make);
  Outcome scale_write(const api::KindInfo& kind, const std::string& ns, const std::string& name,
                      const Transform& make);
  void released(const api::KindInfo& kind, const Json& object);

  Store& store_;
  IpAllocator ips_;
};

// The autoscaling/v1 Scale view of a Deployment or ReplicaSet.
Json scale_of(const Json& object);
// Pod QoS class from its containers' requests and limits.
std::string qos_class(const Json& pod);

}  // namespace skiff::master
