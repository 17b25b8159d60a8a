#pragma once
// IPAM leases on disk, in host-local's layout so either plugin can read the other's state:
// <dataDir>/<network>/<ip> holds "<containerID>\r\n<ifname>", last_reserved_ip.<set> remembers
// where the round-robin stopped, and the whole directory is flock(2)ed for each operation.

#include <optional>
#include <string>
#include <vector>

#include "cni/ip.hpp"
#include "cni/skeleton.hpp"
#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace skiff::cni::ipam {

struct Lease {
  IpAddr ip;
  std::string container_id;
  std::string ifname;
};

class LeaseStore {
 public:
  // Creates <data_dir>/<network> if needed and takes its lock (held until destruction).
  static Result<LeaseStore> open_locked(const std::string& data_dir, const std::string& network);

  const std::string& dir() const { return dir_; }
  // Creates the lease file; false when the IP is already leased.
  Result<bool> reserve(const IpAddr& ip, const std::string& container_id,
                       const std::string& ifname);
  Result<void> release(const IpAddr& ip);
  // Releases every lease of (container_id, ifname); returns what was released.
  Result<std::vector<IpAddr>> release_by_id(const std::string& container_id,
                                            const std::string& ifname);
  Result<std::vector<Lease>> leases() const;
  Result<std::vector<IpAddr>> find_by_id(const std::string& container_id,
                                         const std::string& ifname) const;
  Result<std::optional<IpAddr>> last_reserved(size_t range_set) const;
  Result<void> set_last_reserved(size_t range_set, const IpAddr& ip);

 private:
  LeaseStore(std::string dir, UniqueFd lock) : dir_(std::move(dir)), lock_(std::move(lock)) {}
  std::string dir_;
  UniqueFd lock_;
};

}  // namespace skiff::cni::ipam
