#pragma once
// The node's part of the cluster overlay (Kilo-style full mesh, issue 9): once the master has
// given the Node a spec.podCIDR, bring up WireGuard for it through skiff-net (exec'd), publish the
// public key and endpoint as Node annotations, write the pods' CNI network for that CIDR, then
// follow the Nodes and hand skiff-net the peer set (every other node with a key, an endpoint and
// a pod CIDR) whenever it changes; skiff-net changes only what differs.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "common/json_util.hpp"
#include "kubelet/node/api_client.hpp"

namespace skiff::kubelet::node {

inline constexpr const char* kWgKeyAnnotation = "skiff.dev/wireguard-public-key";
inline constexpr const char* kWgEndpointAnnotation = "skiff.dev/wireguard-endpoint";

struct OverlayOptions {
  std::string skiff_net;  // the skiff-net binary
  std::string state_dir;  // its key and state
  std::string ifname = "skiffwg0";
  int listen_port = 51820;
  std::string node_name, node_ip;
  std::string cni_conf_dir;
  std::string cni_data_dir;  // the node's IPAM leases (the conflist's ipam.dataDir)
  // All pods' addresses: skiff-net masquerades the pod CIDR's traffic to anywhere else, one
  // nftables rule for the node (flanneld --ip-masq); pod-to-pod traffic keeps its addresses.
  std::string cluster_cidr = "10.244.0.0/16";
};

// The peer set for `self` from a NodeList: {"peers":[{publicKey, endpoint, podCIDR}]}, sorted.
Json overlay_peers(const Json& node_list, const std::string& self);
// The Nodes the overlay follows, by name: a list's items, then the watch's events.
class NodeSet {
 public:
  void reset(Json list);                                  // a NodeList
  void apply(const std::string& type, const Json& node);  // ADDED, MODIFIED, DELETED
  Json list() const;                                      // {"items": [...]}, for overlay_peers
 private:
  std::map<std::string, Json> by_name_;
};

// The pods' CNI network on this node: skiff-bridge on `pod_cidr`, MTU `mtu`, leases in the node's
// cni_data_dir, no ipMasq (skiff-net's node-wide rule masquerades instead).
Json overlay_conflist(const OverlayOptions& o, const std::string& pod_cidr, int mtu);

// Waits up to the given time; false once the kubelet is stopping (a condition wait, so an idle
// overlay thread wakes once per list, not in polling steps).
using Sleeper = std::function<bool(std::chrono::milliseconds)>;

// Runs until `sleep` says stop (or `stop` turns true: it ends the Node watch); `ready` turns true
// once the device and the CNI network exist. The mesh follows a list and then a watch of the
// Nodes: a node added, changed or deleted is applied when the event arrives.
void run_overlay(ApiClient& api, const OverlayOptions& o, const Sleeper& sleep,
                 std::atomic<bool>& ready, const std::atomic<bool>* stop);

}  // namespace skiff::kubelet::node
