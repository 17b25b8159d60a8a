#include "master/registry/ip_allocator.hpp"

#include <arpa/inet.h>

#include "common/strings.hpp"

namespace skiff::master {

static std::optional<uint32_t> parse_v4(const std::string& s) {
  in_addr a;
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

static std::string format_v4(uint32_t v) {
  in_addr a;
  a.s_addr = htonl(v);
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

Result<IpAllocator> IpAllocator::parse(const std::string& cidr) {
  auto slash = cidr.find('/');
  auto base = parse_v4(cidr.substr(0, slash));
  auto bits = slash == std::string::npos ? std::nullopt : parse_int<int>(cidr.substr(slash + 1));
  if (!base || !bits || *bits < 8 || *bits > 30)
    return error("invalid service CIDR ", quote(cidr),
                 ": expected an IPv4 a.b.c.d/N with 8 <= N <= 30");
  IpAllocator a;
  a.size_ = 1u << (32 - *bits);
  a.base_ = *base & ~(a.size_ - 1);
  a.cidr_ = cidr;
  return a;
}

std::string IpAllocator::first() const { return format_v4(base_ + 1); }

std::optional<std::string> IpAllocator::allocate() {
  std::lock_guard lock(mu_);
  for (uint32_t tries = 0; tries < size_ - 2; tries++) {
    uint32_t off = next_;
    next_ = next_ + 1 >= size_ - 1 ? 1 : next_ + 1;
    if (used_.insert(base_ + off).second) return format_v4(base_ + off);
  }
  return std::nullopt;
}

Result<void> IpAllocator::claim(const std::string& ip) {
  auto v = parse_v4(ip);
  if (!v) return error("must be a valid IP address");
  if (*v <= base_ || *v >= base_ + size_ - 1)
    return error("provided IP is not in the valid range. The range of valid IPs is ", cidr_);
  std::lock_guard lock(mu_);
  if (!used_.insert(*v).second) return error("provided IP is already allocated");
  return ok();
}

void IpAllocator::release(const std::string& ip) {
  auto v = parse_v4(ip);
  if (!v) return;
  std::lock_guard lock(mu_);
  used_.erase(*v);
}

}  // namespace skiff::master
