#pragma once
// Network namespaces by path (CNI_NETNS, e.g. /run/netns/x or /proc/<pid>/ns/net). A plugin
// enters the pod's namespace with setns(2) on its only thread, works there, and comes back; a
// netlink socket opened inside stays bound to that namespace.

#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace skiff::cni {

// Opens a netns file and checks it is one (nsfs, CLONE_NEWNET); ENOENT keeps its errno so DEL can
// tell "already gone" from a real failure.
Result<UniqueFd> open_netns(const std::string& path);

// Moves the calling thread into a network namespace until destroyed (or restore() is called).
class NetnsSwitch {
 public:
  static Result<NetnsSwitch> enter(int netns_fd);
  NetnsSwitch(NetnsSwitch&&) = default;
  NetnsSwitch& operator=(NetnsSwitch&&) = default;
  ~NetnsSwitch();
  Result<void> restore();

 private:
  explicit NetnsSwitch(UniqueFd original) : original_(std::move(original)) {}
  UniqueFd original_;
};

// Runs `fn` inside the namespace and comes back, whatever it returns.
template <typename F>
auto in_netns(int netns_fd, F&& fn) -> decltype(fn()) {
  auto sw = NetnsSwitch::enter(netns_fd);
  if (!sw) return std::move(sw).error();
  auto r = fn();
  auto back = sw->restore();
  if (!back) return std::move(back).error();
  return r;
}

}  // namespace skiff::cni
