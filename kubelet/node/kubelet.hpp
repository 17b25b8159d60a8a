#pragma once
// `skiff-kubelet run`: the node agent. Registers the Node (or takes over its own), renews its
// Lease in kube-node-lease, posts the node status when it changes (and at least every
// status_period), and runs the pods bound to this node (PodSync) from a list + watch of
// pods with fieldSelector spec.nodeName=NODE, until SIGTERM/SIGINT.

#include <chrono>
#include <map>
#include <string>

#include "common/error.hpp"
#include "kubelet/engine/config.hpp"
#include "kubelet/node/eviction.hpp"

namespace skiff::kubelet::node {

struct KubeletOptions {
  std::string data_dir = "/var/lib/skiff-kubelet";
  std::string kubeconfig;   // default <data dir>/credentials/kubeconfig
  std::string config_file;  // a KubeletConfiguration subset (YAML or JSON)
  std::string node_name;    // default: the certificate's (credentials/node-name)
  std::string node_ip;      // default: the address this host reaches the master from
  NodeConfig node;          // pod state, run, log, image roots; CNI
  std::string skiff_pod;    // default: next to this binary, else the build tree
  int max_pods = 110;
  int port = 10250;  // the kubelet API; 0: off
  int64_t reserved_cpu_milli = 0, reserved_memory = 0;
  // The overlay (overlay.hpp): WireGuard through skiff-net for the Node's spec.podCIDR.
  bool overlay = false;
  std::string skiff_net;  // default: next to this binary, else the build tree
  std::string wireguard_ifname = "skiffwg0";
  int wireguard_port = 51820;
  std::string cluster_cidr = "10.244.0.0/16";
  std::chrono::milliseconds lease_period{std::chrono::seconds(10)};
  std::chrono::milliseconds status_check{std::chrono::seconds(10)};
  std::chrono::milliseconds status_period{std::chrono::minutes(5)};
  // Node health (issue 9): statistics sampled and eviction thresholds checked every
  // housekeeping period; the pressure conditions held for the transition period.
  std::vector<Threshold> eviction_hard = default_eviction_hard();
  std::chrono::milliseconds eviction_transition{std::chrono::minutes(5)};
  std::vector<Threshold> eviction_soft;                                  // evictionSoft
  std::map<std::string, std::chrono::milliseconds> eviction_soft_grace;  // evictionSoftGracePeriod
  int64_t eviction_max_pod_grace = 0;  // evictionMaxPodGracePeriod
  std::chrono::milliseconds housekeeping{std::chrono::seconds(10)};
  int image_gc_high = 85, image_gc_low = 80;  // percent of the image filesystem
  std::chrono::milliseconds image_gc_min_age{std::chrono::minutes(2)};  // imageMinimumGCAge
  // The client certificate join wrote is renewed at 70-90 % of its life (cert_rotation.hpp).
  bool rotate_certificates = true;
  // ConfigMap and Secret volumes of running pods fetched again this often.
  std::chrono::milliseconds config_refresh{std::chrono::seconds(10)};
  std::string static_pod_path;  // staticPodPath / --pod-manifest-path: static pods
};

// Applies a KubeletConfiguration file (maxPods, systemReserved cpu/memory,
// nodeLeaseDurationSeconds' renew interval, nodeStatusReportFrequency, nodeStatusUpdateFrequency,
// evictionHard, evictionSoft, evictionSoftGracePeriod, evictionMaxPodGracePeriod,
// evictionPressureTransitionPeriod, imageGCHighThresholdPercent,
// imageGCLowThresholdPercent, imageMinimumGCAge, rotateCertificates; skiff's housekeepingInterval);
// an unknown field or bad value is an error naming it.
Result<void> load_kubelet_config(const std::string& path, KubeletOptions& o);

// Runs until a termination signal.
Result<void> run_kubelet(KubeletOptions o);

}  // namespace skiff::kubelet::node
