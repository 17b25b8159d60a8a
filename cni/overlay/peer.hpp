#pragma once
// The overlay's model: a peer is another node (public key, UDP endpoint, pod CIDR → AllowedIPs,
// persistent keepalive); a device state is what a backend reports. Both backends translate to
// and from these, so the diff and the validation are backend-free and unit-tested.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cni/ip.hpp"
#include "cni/overlay/key.hpp"
#include "common/error.hpp"
#include "common/json_util.hpp"

namespace skiff::cni::overlay {

// "host:port" or "[v6]:port" with a literal address (no DNS: the underlay is addressed by IP).
struct Endpoint {
  IpAddr addr;
  uint16_t port = 0;
  static Result<Endpoint> parse(std::string_view text);
  std::string str() const;
  auto operator<=>(const Endpoint&) const = default;
};

struct Peer {
  Key public_key;
  std::optional<Endpoint> endpoint;
  std::vector<IpNet> allowed_ips;     // network form (host bits cleared), sorted
  uint16_t persistent_keepalive = 0;  // seconds; 0 = off
};

// A peer as the device reports it, with its live counters.
struct PeerStatus : Peer {
  int64_t last_handshake_sec = 0;  // 0 = never
  int64_t last_handshake_nsec = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
};

struct DeviceState {
  std::optional<Key> private_key;
  uint16_t listen_port = 0;
  std::vector<PeerStatus> peers;
};

// Parses a peer set: {"peers":[{"publicKey":B64,"endpoint":"10.0.0.2:51820",
// "podCIDR":"10.244.2.0/24" | "allowedIPs":[...],"persistentKeepalive":25}]} (or a bare array).
// Checked as a whole: field paths in messages, duplicate keys, overlapping CIDRs, our own key.
Result<std::vector<Peer>> parse_peers(const Json& doc, const std::optional<Key>& own_public_key);
// Validation alone (also for peer sets built in code).
Result<void> validate_peers(const std::vector<Peer>& peers,
                            const std::optional<Key>& own_public_key);

Json to_json(const Peer& p);
Json to_json(const DeviceState& s, const std::optional<Key>& public_key);

// One peer's change: what the backends send. Unset fields are left as they are on the device.
struct PeerChange {
  Key public_key;
  bool remove = false;
  bool create = false;  // a new peer (else an update of an existing one)
  std::optional<Endpoint> endpoint;
  std::optional<uint16_t> persistent_keepalive;
  bool replace_allowed_ips = false;
  std::vector<IpNet> allowed_ips;  // with replace_allowed_ips (or for a new peer)
};

// What to change so the device's peers become `desired`: new peers added, gone peers removed,
// changed peers updated in just the fields that differ (allowed IPs replaced only when they
// differ). Unchanged peers get no change at all, so their sessions are never disturbed.
std::vector<PeerChange> plan_peer_changes(const std::vector<PeerStatus>& current,
                                          const std::vector<Peer>& desired);

}  // namespace skiff::cni::overlay
