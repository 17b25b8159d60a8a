#include "cni/ip.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

#include "common/strings.hpp"

namespace skiff::cni {

namespace {

unsigned __int128 mask_of(int bits, int prefix) {
  if (prefix <= 0) return 0;
  unsigned __int128 all = bits == 128 ? ~static_cast<unsigned __int128>(0)
                                      : ((static_cast<unsigned __int128>(1) << bits) - 1);
  if (prefix >= bits) return all;
  return all & ~((static_cast<unsigned __int128>(1) << (bits - prefix)) - 1);
}

}  // namespace

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  std::string s(text);
  IpAddr ip;
  if (s.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, s.c_str(), ip.bytes_.data()) != 1) return std::nullopt;
    ip.family_ = AF_INET;
  } else {
    if (inet_pton(AF_INET6, s.c_str(), ip.bytes_.data()) != 1) return std::nullopt;
    ip.family_ = AF_INET6;
  }
  return ip;
}

IpAddr IpAddr::from_bytes(int family, const void* bytes) {
  IpAddr ip;
  ip.family_ = family;
  std::memcpy(ip.bytes_.data(), bytes, family == AF_INET ? 4 : 16);
  return ip;
}

IpAddr IpAddr::from_u128(int family, unsigned __int128 value) {
  IpAddr ip;
  ip.family_ = family;
  size_t n = family == AF_INET ? 4 : 16;
  for (size_t i = 0; i < n; ++i) {
    ip.bytes_[n - 1 - i] = static_cast<uint8_t>(value & 0xff);
    value >>= 8;
  }
  return ip;
}

bool IpAddr::is_v4() const { return family_ == AF_INET; }

unsigned __int128 IpAddr::to_u128() const {
  unsigned __int128 v = 0;
  for (size_t i = 0; i < size(); ++i) v = (v << 8) | bytes_[i];
  return v;
}

std::string IpAddr::str() const {
  if (!valid()) return "<none>";
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family_, bytes_.data(), buf, sizeof buf);
  return buf;
}

IpAddr IpAddr::next() const {
  return from_u128(family_, (to_u128() + 1) & mask_of(bits(), bits()));
}
IpAddr IpAddr::prev() const {
  return from_u128(family_, (to_u128() - 1) & mask_of(bits(), bits()));
}

std::optional<IpNet> IpNet::parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ip = IpAddr::parse(text.substr(0, slash));
  auto prefix = parse_int<int>(text.substr(slash + 1));
  if (!ip || !prefix || *prefix < 0 || *prefix > ip->bits()) return std::nullopt;
  return IpNet(*ip, *prefix);
}

IpNet IpNet::network() const {
  auto v = addr_.to_u128() & mask_of(addr_.bits(), prefix_);
  return IpNet(IpAddr::from_u128(addr_.family(), v), prefix_);
}

IpAddr IpNet::last() const {
  int bits = addr_.bits();
  auto host = mask_of(bits, bits) & ~mask_of(bits, prefix_);
  return IpAddr::from_u128(addr_.family(), network().addr().to_u128() | host);
}

bool IpNet::contains(const IpAddr& ip) const {
  if (ip.family() != family()) return false;
  auto m = mask_of(addr_.bits(), prefix_);
  return (ip.to_u128() & m) == (addr_.to_u128() & m);
}

bool IpNet::overlaps(const IpNet& other) const {
  if (other.family() != family()) return false;
  return contains(other.addr()) || other.contains(addr_);
}

std::string IpNet::str() const { return cat(addr_.str(), '/', prefix_); }

}  // namespace skiff::cni
