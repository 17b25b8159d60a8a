#pragma once
// The node's WireGuard overlay: its long-term key, one WireGuard device, one peer per other node
// with AllowedIPs = that node's pod CIDR and a route to it through the device. `up` is
// idempotent and recovers after a restart (same key, saved peers re-applied); `apply` changes
// only what differs from the device's current state. Calls are serialised by a lock file.
// Given the cluster CIDR, `up` also masquerades the node's pods' traffic that leaves the cluster
// (flanneld --ip-masq): one nftables rule for the whole pod CIDR, so the pods' bridge plugin
// runs without ipMasq (an nft transaction per pod ADD and DEL); `down` removes it.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cni/overlay/backend.hpp"

namespace skiff::cni::overlay {

constexpr const char* kDefaultStateDir = "/var/lib/skiff/wireguard";
constexpr const char* kDefaultIfname = "skiff-wg";
constexpr uint16_t kDefaultListenPort = 51820;
// IPv6 outer header (40) + UDP (8) + WireGuard (32): what the tunnel costs each packet.
constexpr unsigned kOverhead = 80;

struct OverlayOptions {
  std::string ifname = kDefaultIfname;
  std::string state_dir = kDefaultStateDir;
  std::string backend = "auto";  // auto | kernel | wireguard-go
  std::string wireguard_go = "wireguard-go";
  std::optional<IpNet> pod_cidr;         // this node's: peers may not overlap it
  std::optional<IpNet> cluster_cidr;     // all pods': traffic from the pod CIDR leaving it is
                                         // masqueraded (none when unset)
  std::optional<uint16_t> listen_port;   // default kDefaultListenPort
  std::optional<unsigned> mtu;           // the device's; else underlay MTU - 80
  std::optional<unsigned> underlay_mtu;  // else the MTU of the default route's device (or 1500)
};

// The node-wide masquerade's nftables table (cni/bridge/ipmasq's machinery, its own network
// name so no bridge network's GC ever sees the rule) and the tag of its rule.
std::string masquerade_network(const std::string& ifname);
inline constexpr const char* kMasqueradeOwner = "skiff-net";

struct UpReport {
  Key public_key;
  std::string backend;
  unsigned mtu = 0;
  bool created = false;       // the device was (re)created now
  size_t peers_restored = 0;  // saved peers re-applied to a recreated device
  bool masquerade = false;    // the pod CIDR's masquerade rule is in place
};

struct ApplyReport {
  size_t added = 0, updated = 0, removed = 0, unchanged = 0;
  size_t routes_added = 0, routes_removed = 0;
};

struct Status {
  std::string ifname;
  std::string backend;
  Key public_key;
  unsigned mtu = 0;
  std::optional<IpNet> pod_cidr;
  DeviceState device;
  std::vector<IpNet> routes;  // main-table routes through the device
};
Json to_json(const Status& s);

class Overlay {
 public:
  // Reads nothing yet; picks the backend (see make_backend). Options given as unset (pod CIDR,
  // listen port, MTU) are taken from the saved state of a previous `up` where there is one.
  static Result<Overlay> open(OverlayOptions options);

  // Key (created once, 0600), device, private key, listen port, MTU, link up, the pod CIDR's
  // network address (/32) on the device; re-applies the saved peers when `restore_peers` or
  // when the device had to be recreated (a crashed wireguard-go, a reboot).
  Result<UpReport> up(bool restore_peers = false);
  // Makes the device's peers exactly `desired` (validated first: nothing is applied on error),
  // with a route per allowed IP through the device, and saves them.
  Result<ApplyReport> apply(const std::vector<Peer>& desired);
  Result<Status> status();
  // Removes the masquerade rule, the device (its routes go with it) and the saved peers; the key
  // stays.
  Result<bool> down();
  // The node's public key (creating the key if needed).
  Result<Key> public_key();

  const OverlayOptions& options() const { return o_; }

 private:
  Overlay(OverlayOptions o, std::unique_ptr<Backend> b)
      : o_(std::move(o)), backend_(std::move(b)) {}
  Result<unsigned> wanted_mtu();
  // Key, listen port, MTU, link up, address: the device's own settings (not its peers).
  Result<void> configure_device(unsigned mtu);
  Result<void> save(const std::vector<Peer>& peers);
  Result<std::vector<Peer>> saved_peers();
  std::string state_file() const;

  OverlayOptions o_;
  std::unique_ptr<Backend> backend_;
};

}  // namespace skiff::cni::overlay
