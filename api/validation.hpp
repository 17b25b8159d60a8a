#pragma once
// Defaulting and validation per kind, as kube-apiserver does them, with field paths that become
// metav1.Status causes. Pod rules live here so the kubelet and `skiff pod` apply the same ones.

#include "api/kinds.hpp"
#include "api/status.hpp"
#include "common/json_util.hpp"

namespace skiff::api {

// Fills the defaults kube-apiserver fills (Pod restartPolicy, dnsPolicy, container
// imagePullPolicy, terminationMessagePath, Service type/sessionAffinity, Deployment strategy, …).
void set_defaults(const KindInfo& kind, Json& object);
// Validates a whole object for create (metadata and spec).
FieldErrors validate(const KindInfo& kind, const Json& object);
// Validates an update: `validate` plus immutable fields (Pod spec, Service clusterIP, selectors).
FieldErrors validate_update(const KindInfo& kind, const Json& object, const Json& old);

void default_pod_spec(Json& spec);
FieldErrors validate_pod_spec(const Json& spec, const std::string& path);
// The metadata checks every kind shares: name, namespace, labels, annotations.
FieldErrors validate_metadata(const KindInfo& kind, const Json& object);

}  // namespace skiff::api
