#pragma once
// The OpenAPI v2 document the master serves at /openapi/v2, generated from a compact table of
// definitions (Pod, Deployment, ReplicaSet, Service, ConfigMap, Secret, Node, Namespace and their
// specs, with the patch merge keys `kubectl apply` merges lists by) with Kubernetes' field
// descriptions, so `kubectl explain pods.spec.containers` or `deployment.spec` works. kubectl 1.20
// reads it as protobuf (gnostic's openapi.v2.Document); other clients as JSON. Kinds without a
// definition are not validated client-side by kubectl.

#include <string>

#include "common/json_util.hpp"

namespace skiff::api {

// The document as JSON (swagger 2.0, definitions with x-kubernetes-group-version-kind).
const Json& openapi_json();
// The same document as a serialized gnostic openapi.v2.Document.
const std::string& openapi_protobuf();

}  // namespace skiff::api
