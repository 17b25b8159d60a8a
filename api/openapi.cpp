#include "api/openapi.hpp"

#include <deque>
#include <string>
#include <vector>

namespace skiff::api {

namespace {

// Field types: "string", "integer", "boolean", "object" (any JSON: not checked by kubectl),
// "map" (string to string), "[]string", "[]object", "Name" (a definition), "[]Name" (a list of
// them). A list's merge key matters to `kubectl apply`: without it a list the server defaulted
// into (ports get a protocol) would be replaced on every apply.
struct Field {
  const char* name;
  const char* type;
  const char* description;
  const char* merge_key = "";  // lists merged by this key in strategic merge patches
};

struct Definition {
  const char* name;  // short name; the document uses io.k8s.api.<group or core>.v1.<name>
  const char* kind;  // non-empty for a top-level kind (x-kubernetes-group-version-kind)
  const char* description;
  std::vector<Field> fields;
  std::vector<const char*> required;
  const char* group = "";  // "" (core) or "apps"
};

// The fields every top-level kind has.
std::vector<Field> top(const char* kind, const char* api_version, std::vector<Field> rest) {
  static std::deque<std::string> texts;  // descriptions live as long as the table
  texts.push_back(std::string("The versioned schema of this representation of an object: ") +
                  api_version + ".");
  const char* av = texts.back().c_str();
  texts.push_back(std::string("The REST resource this object represents: ") + kind + ".");
  const char* k = texts.back().c_str();
  std::vector<Field> out = {
      {"apiVersion", "string", av},
      {"kind", "string", k},
      {"metadata", "object",
       "Standard object metadata: name, namespace, labels, annotations, ownerReferences, "
       "finalizers, uid, resourceVersion, creationTimestamp."}};
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

// A kind listed here is validated by kubectl against its fields, so every field the API accepts
// is listed (nested types not described further are "object").
const std::vector<Definition>& table() {
  static const std::vector<Definition> defs = {
      {"Pod",
       "Pod",
       "Pod is a collection of containers that can run on a host. A client creates it, the "
       "scheduler binds it to a node, and that node's kubelet runs it.",
       {{"apiVersion", "string", "The versioned schema of this representation of an object: v1."},
        {"kind", "string", "The REST resource this object represents: Pod."},
        {"metadata", "object",
         "Standard object metadata: name, namespace, labels, annotations, ownerReferences, "
         "finalizers, uid, resourceVersion, creationTimestamp."},
        {"spec", "PodSpec", "Specification of the desired behavior of the pod."},
        {"status", "object",
         "Most recently observed status of the pod, written by the kubelet: phase, conditions, "
         "podIP, hostIP, containerStatuses. Read-only for clients."}},
       {}},
      {"PodSpec",
       "",
       "PodSpec is a description of a pod.",
       {{"activeDeadlineSeconds", "integer",
         "Seconds the pod may be active on its node (counted from its start) before the kubelet "
         "fails it."},
        {"affinity", "object", "The pod's scheduling constraints (node affinity)."},
        {"automountServiceAccountToken", "boolean",
         "Whether a service account token is mounted into the pod."},
        {"containers", "[]Container",
         "List of containers belonging to the pod. Containers cannot currently be added or "
         "removed. There must be at least one container in a Pod. Cannot be updated.",
         "name"},
        {"dnsConfig", "object", "DNS parameters of the pod, merged with those of dnsPolicy."},
        {"dnsPolicy", "string",
         "How the pod's DNS is set: ClusterFirst (default), ClusterFirstWithHostNet, Default or "
         "None."},
        {"enableServiceLinks", "boolean",
         "Whether information about services is injected into the environment (docker links)."},
        {"ephemeralContainers", "[]object", "Ephemeral containers run in this pod for debugging.",
         "name"},
        {"hostAliases", "[]object", "Extra entries for the pod's /etc/hosts.", "ip"},
        {"hostIPC", "boolean", "Use the host's IPC namespace. Default false."},
        {"hostNetwork", "boolean",
         "Use the host's network namespace: the pod gets the node's network and ports. Default "
         "false."},
        {"hostPID", "boolean", "Use the host's pid namespace. Default false."},
        {"hostname", "string", "The pod's hostname; the pod's name when unset."},
        {"imagePullSecrets", "[]object",
         "References to secrets in the same namespace holding registry credentials for pulling "
         "the images.",
         "name"},
        {"initContainers", "[]Container",
         "Containers run one after the other, each to completion, before the app containers "
         "start. A failing one is restarted according to restartPolicy.",
         "name"},
        {"nodeName", "string",
         "The node the pod is bound to. Set by the scheduler through the binding subresource; a "
         "pod created with it set skips scheduling."},
        {"nodeSelector", "map", "Labels a node must have for the pod to be scheduled onto it."},
        {"overhead", "object", "Resources the pod's sandbox uses beyond its containers."},
        {"preemptionPolicy", "string", "Whether this pod may preempt lower-priority pods."},
        {"priority", "integer", "The pod's priority (from its priority class)."},
        {"priorityClassName", "string", "The name of the pod's priority class."},
        {"readinessGates", "[]object",
         "Extra conditions that must be true for the pod to be ready."},
        {"restartPolicy", "string",
         "Restart policy for all containers within the pod: Always (default), OnFailure or "
         "Never."},
        {"runtimeClassName", "string", "The RuntimeClass to run this pod with."},
        {"schedulerName", "string", "The scheduler that places this pod: default-scheduler."},
        {"securityContext", "object",
         "Pod-level security attributes and common container settings (runAsUser, fsGroup, "
         "sysctls, seccompProfile, ...)."},
        {"serviceAccount", "string", "Deprecated alias of serviceAccountName."},
        {"serviceAccountName", "string", "The service account the pod runs as."},
        {"setHostnameAsFQDN", "boolean", "Set the pod's hostname to its fully qualified name."},
        {"shareProcessNamespace", "boolean",
         "Share one process namespace between all containers of the pod. Default false."},
        {"subdomain", "string", "The pod's subdomain: its FQDN is hostname.subdomain.ns.svc."},
        {"terminationGracePeriodSeconds", "integer",
         "Seconds between SIGTERM and SIGKILL when the pod is deleted. Default 30."},
        {"tolerations", "[]object", "Taints of nodes this pod tolerates."},
        {"topologySpreadConstraints", "[]object", "How the pod's replicas spread across topology."},
        {"volumes", "[]object",
         "Volumes the pod's containers can mount: emptyDir, hostPath, configMap, secret, ...",
         "name"}},
       {"containers"}},
      {"Container",
       "",
       "A single application container that you want to run within a pod.",
       {{"args", "[]string",
         "Arguments to the entrypoint; the image's CMD when not provided. $(VAR) references are "
         "expanded from the container's environment."},
        {"command", "[]string",
         "Entrypoint array, not run in a shell; the image's ENTRYPOINT when not provided."},
        {"env", "[]object", "Environment variables set in the container.", "name"},
        {"envFrom", "[]object", "Sources (configmaps, secrets) of environment variables."},
        {"image", "string", "Container image name (e.g. docker.io/library/busybox:1.36)."},
        {"imagePullPolicy", "string",
         "Always, Never or IfNotPresent. Defaults to Always for the :latest tag, IfNotPresent "
         "otherwise. Cannot be updated."},
        {"lifecycle", "object", "Actions run after the container starts and before it stops."},
        {"livenessProbe", "object",
         "Periodic probe of container liveness: the container is restarted when it fails."},
        {"name", "string",
         "Name of the container, a DNS label unique within the pod. Cannot be updated."},
        {"ports", "[]object", "Ports the container exposes (informational).", "containerPort"},
        {"readinessProbe", "object",
         "Periodic probe of container readiness: the pod is not ready while it fails."},
        {"resources", "object",
         "Compute resources the container requests and is limited to (cpu, memory)."},
        {"restartPolicy", "string",
         "For an init container, Always makes it a sidecar that keeps running next to the app "
         "containers."},
        {"securityContext", "object",
         "Security options of the container: capabilities, privileged, runAsUser, "
         "readOnlyRootFilesystem, ..."},
        {"startupProbe", "object",
         "Probe that must succeed before the other probes start; the container is restarted when "
         "it fails."},
        {"stdin", "boolean", "Allocate a buffer for stdin in the container runtime."},
        {"stdinOnce", "boolean", "Close stdin after the first attach session."},
        {"terminationMessagePath", "string",
         "File the container's termination message is read from. Default /dev/termination-log."},
        {"terminationMessagePolicy", "string", "File (default) or FallbackToLogsOnError."},
        {"tty", "boolean", "Allocate a TTY for the container (needs stdin)."},
        {"volumeDevices", "[]object", "Block devices of the pod's volumes used by the container.",
         "devicePath"},
        {"volumeMounts", "[]object", "Pod volumes mounted into the container's filesystem.",
         "mountPath"},
        {"workingDir", "string", "The container's working directory; the image's when unset."}},
       {"name"}},
      {"PodTemplateSpec",
       "",
       "PodTemplateSpec describes the data a pod should have when created from a template.",
       {{"metadata", "object",
         "Standard object metadata of the pods made from the template: labels, annotations."},
        {"spec", "PodSpec", "Specification of the desired behavior of the pod."}},
       {}},
      {"Deployment",
       "Deployment",
       "Deployment enables declarative updates for Pods and ReplicaSets.",
       top("Deployment", "apps/v1",
           {{"spec", "DeploymentSpec", "Specification of the desired behavior of the Deployment."},
            {"status", "object",
             "Most recently observed status of the Deployment: replicas, readyReplicas, "
             "availableReplicas, updatedReplicas, conditions. Read-only for clients."}}),
       {},
       "apps"},
      {"DeploymentSpec",
       "",
       "DeploymentSpec is the specification of the desired behavior of the Deployment.",
       {{"minReadySeconds", "integer",
         "Minimum number of seconds for which a newly created pod should be ready without any of "
         "its container crashing, for it to be considered available. Defaults to 0."},
        {"paused", "boolean", "Indicates that the deployment is paused."},
        {"progressDeadlineSeconds", "integer",
         "The maximum time in seconds for a deployment to make progress before it is considered "
         "to be failed. Defaults to 600s."},
        {"replicas", "integer", "Number of desired pods. Defaults to 1."},
        {"revisionHistoryLimit", "integer",
         "The number of old ReplicaSets to retain to allow rollback. Defaults to 10."},
        {"selector", "object",
         "Label selector for pods (matchLabels, matchExpressions). Existing ReplicaSets whose "
         "pods are selected by this will be the ones affected by this deployment. It must match "
         "the pod template's labels."},
        {"strategy", "object",
         "The deployment strategy used to replace existing pods with new ones: type Recreate or "
         "RollingUpdate (rollingUpdate.maxSurge, rollingUpdate.maxUnavailable)."},
        {"template", "PodTemplateSpec", "Template describes the pods that will be created."}},
       {"selector", "template"},
       "apps"},
      {"ReplicaSet",
       "ReplicaSet",
       "ReplicaSet ensures that a specified number of pod replicas are running at any given "
       "time.",
       top("ReplicaSet", "apps/v1",
           {{"spec", "ReplicaSetSpec",
             "Spec defines the specification of the desired behavior of "
             "the ReplicaSet."},
            {"status", "object",
             "The most recently observed status of the ReplicaSet: replicas, readyReplicas, "
             "availableReplicas. Read-only for clients."}}),
       {},
       "apps"},
      {"ReplicaSetSpec",
       "",
       "ReplicaSetSpec is the specification of a ReplicaSet.",
       {{"minReadySeconds", "integer",
         "Minimum number of seconds for which a newly created pod should be ready without any of "
         "its container crashing, for it to be considered available. Defaults to 0."},
        {"replicas", "integer", "The number of desired replicas. Defaults to 1."},
        {"selector", "object",
         "A label query over pods that should match the replica count. It must match the pod "
         "template's labels."},
        {"template", "PodTemplateSpec",
         "The object that describes the pod that will be created if insufficient replicas are "
         "detected."}},
       {"selector"},
       "apps"},
      {"Service",
       "Service",
       "Service is a named abstraction of software service (for example, mysql) consisting of "
       "local port (for example 3306) that the proxy listens on, and the selector that "
       "determines which pods will answer requests sent through the proxy.",
       top("Service", "v1",
           {{"spec", "ServiceSpec", "Spec defines the behavior of a service."},
            {"status", "object", "Most recently observed status of the service (load balancer)."}}),
       {}},
      {"ServiceSpec",
       "",
       "ServiceSpec describes the attributes that a user creates on a service.",
       {{"allocateLoadBalancerNodePorts", "boolean",
         "Whether NodePorts are allocated for a LoadBalancer service."},
        {"clusterIP", "string",
         "The IP address of the service, usually assigned randomly from the service CIDR; None "
         "for a headless service."},
        {"clusterIPs", "[]string", "The IP addresses of the service (clusterIP first)."},
        {"externalIPs", "[]string", "IP addresses for which nodes also accept traffic."},
        {"externalName", "string", "The external reference of an ExternalName service."},
        {"externalTrafficPolicy", "string", "Local or Cluster: how external traffic is routed."},
        {"healthCheckNodePort", "integer", "The health check node port of the service."},
        {"ipFamilies", "[]string", "IP families (IPv4, IPv6) of the service."},
        {"ipFamilyPolicy", "string", "SingleStack, PreferDualStack or RequireDualStack."},
        {"loadBalancerIP", "string", "The load balancer's IP, when the provider supports it."},
        {"loadBalancerSourceRanges", "[]string", "Client IP ranges the load balancer admits."},
        {"ports", "[]ServicePort", "The list of ports that are exposed by this service.", "port"},
        {"publishNotReadyAddresses", "boolean",
         "Whether endpoints include addresses of pods that are not ready."},
        {"selector", "map",
         "Route service traffic to pods with label keys and values matching this selector."},
        {"sessionAffinity", "string", "ClientIP or None (default)."},
        {"sessionAffinityConfig", "object", "Configuration of session affinity."},
        {"topologyKeys", "[]string", "Topology keys for routing, in order of preference."},
        {"type", "string", "ClusterIP (default), NodePort, LoadBalancer or ExternalName."}},
       {}},
      {"ServicePort",
       "",
       "ServicePort contains information on service's port.",
       {{"appProtocol", "string", "The application protocol of this port."},
        {"name", "string", "The name of this port within the service (a DNS label)."},
        {"nodePort", "integer", "The port on each node for NodePort and LoadBalancer services."},
        {"port", "integer", "The port that will be exposed by this service."},
        {"protocol", "string", "TCP (default), UDP or SCTP."},
        {"targetPort", "object",
         "Number or name of the port to access on the pods targeted by the service (an "
         "IntOrString); the port's value when unset."}},
       {"port"}},
      {"ConfigMap",
       "ConfigMap",
       "ConfigMap holds configuration data for pods to consume.",
       top("ConfigMap", "v1",
           {{"binaryData", "map", "Binary data, base64-encoded, by key."},
            {"data", "map", "Configuration data by key."},
            {"immutable", "boolean", "When true, the data cannot be updated."}}),
       {}},
      {"Secret",
       "Secret",
       "Secret holds secret data of a certain type. The total bytes of the values in the Data "
       "field must be less than MaxSecretSize bytes.",
       top("Secret", "v1",
           {{"data", "map", "Secret data by key, base64-encoded."},
            {"immutable", "boolean", "When true, the data cannot be updated."},
            {"stringData", "map",
             "Write-only convenience: values given as strings, merged into data on write."},
            {"type", "string", "Used to facilitate programmatic handling of secret data."}}),
       {}},
      {"Node",
       "Node",
       "Node is a worker node in Kubernetes. Each node has a unique name; its kubelet registers "
       "it and reports its status.",
       top("Node", "v1",
           {{"spec", "NodeSpec", "Spec defines the behavior of a node."},
            {"status", "object",
             "Most recently observed status of the node, written by its kubelet: conditions, "
             "addresses, capacity, allocatable, nodeInfo."}}),
       {}},
      {"NodeSpec",
       "",
       "NodeSpec describes the attributes that a node is created with.",
       {{"configSource", "object", "The source to get node configuration from (deprecated)."},
        {"externalID", "string", "Deprecated."},
        {"podCIDR", "string", "The pod IP range assigned to the node."},
        {"podCIDRs", "[]string", "The pod IP ranges assigned to the node (podCIDR first)."},
        {"providerID", "string", "The node's ID in the cloud provider."},
        {"taints", "[]object", "The node's taints: pods that do not tolerate them stay off."},
        {"unschedulable", "boolean",
         "Unschedulable controls node schedulability of new pods (kubectl cordon)."}},
       {}},
      {"Namespace",
       "Namespace",
       "Namespace provides a scope for Names.",
       top("Namespace", "v1",
           {{"spec", "NamespaceSpec", "Spec defines the behavior of the Namespace."},
            {"status", "object", "Status describes the current status of a Namespace (phase)."}}),
       {}},
      {"NamespaceSpec",
       "",
       "NamespaceSpec describes the attributes on a Namespace.",
       {{"finalizers", "[]string",
         "Finalizers is an opaque list of values that must be empty to permanently remove the "
         "object from storage."}},
       {}},
  };
  return defs;
}

std::string full_name(const Definition& d) {
  return std::string("io.k8s.api.") + (*d.group ? d.group : "core") + ".v1." + d.name;
}

std::string full_name(const std::string& short_name) {
  for (const auto& d : table())
    if (short_name == d.name) return full_name(d);
  return "io.k8s.api.core.v1." + short_name;
}

Json field_schema(const Field& f) {
  std::string t = f.type;
  Json s = {{"description", f.description}};
  auto ref = [](const std::string& name) {
    return Json{{"$ref", "#/definitions/" + full_name(name)}};
  };
  if (t == "string" || t == "boolean") {
    s["type"] = t;
  } else if (t == "integer") {
    s["type"] = "integer";
    s["format"] = "int64";
  } else if (t == "map") {
    s["type"] = "object";
    s["additionalProperties"] = {{"type", "string"}};
  } else if (t == "[]string") {
    s["type"] = "array";
    s["items"] = {{"type", "string"}};
  } else if (t == "[]object") {
    s["type"] = "array";
    s["items"] = Json::object();
  } else if (t.rfind("[]", 0) == 0) {
    s["type"] = "array";
    s["items"] = ref(t.substr(2));
  } else if (t != "object") {
    s.update(ref(t));
  }
  if (*f.merge_key) {
    s["x-kubernetes-patch-merge-key"] = f.merge_key;
    s["x-kubernetes-patch-strategy"] = "merge";
  }
  return s;
}

// Protocol buffers: a length-delimited field (strings, messages) and a varint one.
void varint(std::string& out, uint64_t n) {
  do {
    uint8_t b = n & 0x7f;
    n >>= 7;
    out.push_back(static_cast<char>(b | (n ? 0x80 : 0)));
  } while (n);
}

std::string pb(int num, const std::string& bytes) {
  std::string out;
  varint(out, (static_cast<uint64_t>(num) << 3) | 2);
  varint(out, bytes.size());
  return out + bytes;
}

// gnostic openapi.v2.Schema fields: _ref 1, description 4, required 19,
// additional_properties 21 (AdditionalPropertiesItem.schema 1), type 22 (TypeItem.value 1),
// items 23 (ItemsItem.schema 1), properties 25 (Properties.additional_properties 1 = NamedSchema
// {name 1, value 2}), vendor_extension 31 (NamedAny {name 1, value 2 = Any {yaml 2}}).
std::string schema_pb(const Json& s) {
  std::string out;
  if (s.contains("$ref")) out += pb(1, s["$ref"].get<std::string>());
  if (s.contains("format")) out += pb(2, s["format"].get<std::string>());
  if (s.contains("description")) out += pb(4, s["description"].get<std::string>());
  if (s.contains("required"))
    for (const auto& r : s["required"]) out += pb(19, r.get<std::string>());
  if (s.contains("additionalProperties"))
    out += pb(21, pb(1, schema_pb(s["additionalProperties"])));
  if (s.contains("type")) out += pb(22, pb(1, s["type"].get<std::string>()));
  if (s.contains("items")) out += pb(23, pb(1, schema_pb(s["items"])));
  if (s.contains("properties")) {
    std::string props;
    for (const auto& [name, sub] : s["properties"].items())
      props += pb(1, pb(1, name) + pb(2, schema_pb(sub)));
    out += pb(25, props);
  }
  if (s.contains("x-kubernetes-group-version-kind")) {
    std::string yaml;
    for (const auto& g : s["x-kubernetes-group-version-kind"])
      yaml += "- group: \"" + g["group"].get<std::string>() +
              "\"\n  kind: " + g["kind"].get<std::string>() +
              "\n  version: " + g["version"].get<std::string>() + "\n";
    out += pb(31, pb(1, "x-kubernetes-group-version-kind") + pb(2, pb(2, yaml)));
  }
  for (const char* ext : {"x-kubernetes-patch-merge-key", "x-kubernetes-patch-strategy"})
    if (s.contains(ext)) out += pb(31, pb(1, ext) + pb(2, pb(2, s[ext].get<std::string>() + "\n")));
  return out;
}

}  // namespace

const Json& openapi_json() {
  static const Json doc = [] {
    Json defs = Json::object();
    for (const auto& d : table()) {
      Json props = Json::object();
      for (const auto& f : d.fields) props[f.name] = field_schema(f);
      Json s = {{"description", d.description}, {"type", "object"}, {"properties", props}};
      if (!d.required.empty()) s["required"] = d.required;
      if (*d.kind)
        s["x-kubernetes-group-version-kind"] =
            Json::array({{{"group", d.group}, {"kind", d.kind}, {"version", "v1"}}});
      defs[full_name(d)] = s;
    }
    return Json{{"swagger", "2.0"},
                {"info", {{"title", "Kubernetes"}, {"version", "v1.20.0"}}},
                {"paths", Json::object()},
                {"definitions", defs}};
  }();
  return doc;
}

const std::string& openapi_protobuf() {
  static const std::string doc = [] {
    const Json& j = openapi_json();
    std::string defs;
    for (const auto& [name, s] : j["definitions"].items())
      defs += pb(1, pb(1, name) + pb(2, schema_pb(s)));
    // Document: swagger 1, info 2 {title 1, version 2}, definitions 9.
    return pb(1, "2.0") + pb(2, pb(1, "Kubernetes") + pb(2, "v1.20.0")) + pb(9, defs);
  }();
  return doc;
}

}  // namespace skiff::api
