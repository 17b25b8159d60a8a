#pragma once
// One interface over the two ways to run a WireGuard device: the kernel's generic-netlink
// "wireguard" family, and a supervised wireguard-go process configured over its UAPI socket.
// The overlay (overlay.hpp) only ever talks to a Backend; links, MTU and routes stay in libnl.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cni/overlay/peer.hpp"

namespace skiff::cni::overlay {

// A configuration change: device fields that are set, and per-peer changes (never "replace
// peers": unchanged peers are not mentioned at all).
struct DeviceConfig {
  std::optional<Key> private_key;
  std::optional<uint16_t> listen_port;
  std::vector<PeerChange> peers;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // "kernel" or "wireguard-go".
  virtual std::string name() const = 0;
  virtual Result<bool> device_exists() = 0;
  // Creates the device when it is missing; true when it was created now.
  virtual Result<bool> ensure_device() = 0;
  // The device's current configuration and peers with their counters.
  virtual Result<DeviceState> get() = 0;
  virtual Result<void> set(const DeviceConfig& config) = 0;
  // Removes the device (and for wireguard-go its process and socket); false when none.
  virtual Result<bool> remove_device() = 0;
};

struct BackendOptions {
  std::string ifname;
  std::string kind = "auto";  // "auto" | "kernel" | "wireguard-go"
  std::string state_dir;      // wireguard-go: pid and log files
  std::string wireguard_go = "wireguard-go";
  std::string socket_dir = "/var/run/wireguard";  // wireguard-go's, fixed in its source
  // wireguard-go: run by its supervisor after it restarted a crashed process (the device is
  // new and empty: this puts the configuration back).
  std::function<void()> on_restart;
};

// True when the running kernel has the "wireguard" generic-netlink family.
bool kernel_wireguard_available();

// The backend `kind` names; "auto" picks the kernel when its family resolves, else wireguard-go.
Result<std::unique_ptr<Backend>> make_backend(const BackendOptions& options);
Result<std::unique_ptr<Backend>> make_kernel_backend(const BackendOptions& options);
Result<std::unique_ptr<Backend>> make_wireguard_go_backend(const BackendOptions& options);

}  // namespace skiff::cni::overlay
