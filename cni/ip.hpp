#pragma once
// IPv4/IPv6 addresses and prefixes as values: parsing, printing, arithmetic and containment — what
// IPAM ranges and route checks need, without sockaddr juggling.

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace skiff::cni {

class IpAddr {
 public:
  IpAddr() = default;
  // "10.0.0.1" or "fd00::1"; nullopt when neither.
  static std::optional<IpAddr> parse(std::string_view text);
  // From raw network-order bytes (4 or 16 of them).
  static IpAddr from_bytes(int family, const void* bytes);
  // The address `value` positions into the family's space (as an unsigned integer).
  static IpAddr from_u128(int family, unsigned __int128 value);

  int family() const { return family_; }  // AF_INET, AF_INET6, 0 when empty
  bool is_v4() const;
  bool valid() const { return family_ != 0; }
  int bits() const { return is_v4() ? 32 : 128; }
  const uint8_t* bytes() const { return bytes_.data(); }
  size_t size() const { return is_v4() ? 4 : 16; }
  unsigned __int128 to_u128() const;
  std::string str() const;

  // The next and previous address (wrapping within the family).
  IpAddr next() const;
  IpAddr prev() const;

  auto operator<=>(const IpAddr&) const = default;

 private:
  int family_ = 0;
  std::array<uint8_t, 16> bytes_{};
};

class IpNet {
 public:
  IpNet() = default;
  IpNet(IpAddr addr, int prefix) : addr_(addr), prefix_(prefix) {}
  // "10.0.0.5/24" (host bits kept: an interface address) ; nullopt when malformed.
  static std::optional<IpNet> parse(std::string_view text);

  const IpAddr& addr() const { return addr_; }
  int prefix() const { return prefix_; }
  int family() const { return addr_.family(); }
  // Host bits cleared: 10.0.0.5/24 -> 10.0.0.0/24.
  IpNet network() const;
  IpAddr first() const { return network().addr(); }
  // Broadcast for IPv4, the last address for IPv6.
  IpAddr last() const;
  bool contains(const IpAddr& ip) const;
  bool overlaps(const IpNet& other) const;
  std::string str() const;

  auto operator<=>(const IpNet&) const = default;

 private:
  IpAddr addr_;
  int prefix_ = 0;
};

}  // namespace skiff::cni
