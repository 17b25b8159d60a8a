#pragma once
// The cross-platform userspace API of WireGuard implementations (wireguard.com/xplatform): a unix
// socket /var/run/wireguard/<ifname>.sock speaking "get=1" / "set=1" with key=value lines, hex
// keys, and an "errno=N" answer.

#include <string>
#include <string_view>

#include "cni/overlay/backend.hpp"

namespace skiff::cni::overlay::uapi {

// The "set=1" request for `config` (blank-line terminated).
std::string format_set(const DeviceConfig& config);
// Parses a "get=1" answer (up to and including "errno=N"); errno != 0 is an error.
Result<DeviceState> parse_get(std::string_view answer);
// Checks a "set=1" answer: "errno=0".
Result<void> check_set_answer(std::string_view answer);

// Sends one request over the socket at `path` and returns the answer (read up to the blank
// line that ends it).
Result<std::string> request(const std::string& path, std::string_view text);

}  // namespace skiff::cni::overlay::uapi
