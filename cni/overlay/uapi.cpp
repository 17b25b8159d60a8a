#include "cni/overlay/uapi.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"

namespace skiff::cni::overlay::uapi {

std::string format_set(const DeviceConfig& c) {
  std::string out = "set=1\n";
  if (c.private_key) out += cat("private_key=", c.private_key->hex(), "\n");
  if (c.listen_port) out += cat("listen_port=", *c.listen_port, "\n");
  for (const auto& p : c.peers) {
    out += cat("public_key=", p.public_key.hex(), "\n");
    if (p.remove) {
      out += "remove=true\n";
      continue;
    }
    // An update must not create a peer that vanished meanwhile (kernel: WGPEER_F_UPDATE_ONLY).
    if (!p.create) out += "update_only=true\n";
    if (p.endpoint) out += cat("endpoint=", p.endpoint->str(), "\n");
    if (p.persistent_keepalive)
      out += cat("persistent_keepalive_interval=", *p.persistent_keepalive, "\n");
    if (p.replace_allowed_ips) {
      out += "replace_allowed_ips=true\n";
      for (const auto& ip : p.allowed_ips) out += cat("allowed_ip=", ip.str(), "\n");
    }
  }
  out += "\n";
  return out;
}

namespace {

Result<int> errno_of(std::string_view value) {
  auto n = parse_int<int>(value);
  if (!n) return error("uapi: bad errno ", quote(value));
  return *n;
}

}  // namespace

Result<DeviceState> parse_get(std::string_view answer) {
  DeviceState s;
  PeerStatus* peer = nullptr;
  std::optional<int> err;
  for (const auto& line : split(answer, '\n', true)) {
    size_t eq = line.find('=');
    if (eq == std::string::npos) return error("uapi: malformed line ", quote(line));
    std::string_view key(line.data(), eq), value(line.data() + eq + 1, line.size() - eq - 1);
    auto number = [&]() -> Result<uint64_t> {
      auto n = parse_int<uint64_t>(value);
      if (!n) return error("uapi: ", key, ": not a number: ", quote(value));
      return *n;
    };
    if (key == "errno") {
      err = TRY(errno_of(value));
    } else if (key == "public_key") {
      s.peers.emplace_back();
      peer = &s.peers.back();
      peer->public_key = TRY_CTX(Key::from_hex(value), "uapi public_key");
    } else if (!peer) {
      if (key == "private_key") s.private_key = TRY_CTX(Key::from_hex(value), "uapi private_key");
      if (key == "listen_port") s.listen_port = static_cast<uint16_t>(TRY(number()));
      // fwmark and others: not ours.
    } else if (key == "endpoint") {
      peer->endpoint = TRY_CTX(Endpoint::parse(value), "uapi");
    } else if (key == "allowed_ip") {
      auto net = IpNet::parse(value);
      if (!net) return error("uapi: bad allowed_ip ", quote(value));
      peer->allowed_ips.push_back(net->network());
    } else if (key == "persistent_keepalive_interval") {
      peer->persistent_keepalive = static_cast<uint16_t>(TRY(number()));
    } else if (key == "last_handshake_time_sec") {
      peer->last_handshake_sec = static_cast<int64_t>(TRY(number()));
    } else if (key == "last_handshake_time_nsec") {
      peer->last_handshake_nsec = static_cast<int64_t>(TRY(number()));
    } else if (key == "rx_bytes") {
      peer->rx_bytes = TRY(number());
    } else if (key == "tx_bytes") {
      peer->tx_bytes = TRY(number());
    }
  }
  if (!err) return error("uapi: answer without errno");
  if (*err != 0) return Error("uapi get failed", *err < 0 ? -*err : *err);
  for (auto& p : s.peers) std::sort(p.allowed_ips.begin(), p.allowed_ips.end());
  return s;
}

Result<void> check_set_answer(std::string_view answer) {
  for (const auto& line : split(answer, '\n', true)) {
    if (!line.starts_with("errno=")) continue;
    int err = TRY(errno_of(std::string_view(line).substr(6)));
    // wireguard-go answers with a negative errno (errno=-98 for EADDRINUSE).
    if (err != 0) return Error("uapi set rejected", err < 0 ? -err : err);
    return ok();
  }
  return error("uapi: answer without errno");
}

Result<std::string> request(const std::string& path, std::string_view text) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket(AF_UNIX)");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return error("socket path too long: ", quote(path));
  path.copy(addr.sun_path, path.size());
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return errno_error("connect ", quote(path));
  TRY_CTX(write_all(fd.get(), text), "write to ", quote(path));
  std::string answer;
  char buf[4096];
  while (answer.size() < 2 || answer.compare(answer.size() - 2, 2, "\n\n") != 0) {
    pollfd pfd{fd.get(), POLLIN, 0};
    int r = poll(&pfd, 1, 5000);
    if (r == 0) return Error(cat("no answer from ", quote(path), " within 5 s"), ETIMEDOUT);
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno_error("poll ", quote(path));
    }
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read ", quote(path));
    }
    if (n == 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  return answer;
}

}  // namespace skiff::cni::overlay::uapi
