#pragma once
// ClusterIP allocation from --service-cidr (IPv4): the first address goes to the `kubernetes`
// service, then the lowest free one. State is rebuilt from the stored Services at start.

#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "common/error.hpp"

namespace skiff::master {

class IpAllocator {
 public:
  // "10.96.0.0/12"; the error names the flag value.
  static Result<IpAllocator> parse(const std::string& cidr);
  IpAllocator(const IpAllocator& o) : base_(o.base_), size_(o.size_), used_(o.used_) {}
  // The next free address, or nullopt when the range is full.
  std::optional<std::string> allocate();
  // Claims a specific address; the error says why not (outside the range, already allocated).
  Result<void> claim(const std::string& ip);
  void release(const std::string& ip);
  // The first usable address (network + 1).
  std::string first() const;
  std::string cidr() const { return cidr_; }

 private:
  IpAllocator() = default;
  uint32_t base_ = 0;
  uint32_t size_ = 0;
  std::string cidr_;
  std::mutex mu_;
  std::set<uint32_t> used_;
  uint32_t next_ = 1;
};

}  // namespace skiff::master
