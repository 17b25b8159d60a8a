#include "cni/netns.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>

#include <cstdlib>

#include "common/log.hpp"

namespace skiff::cni {

Result<UniqueFd> open_netns(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open netns ", quote(path));
  struct statfs st {};
  if (fstatfs(fd.get(), &st) < 0) return errno_error("statfs ", quote(path));
  if (st.f_type != NSFS_MAGIC) return Error(cat(quote(path), " is not a namespace file"), EINVAL);
  int type = ioctl(fd.get(), NS_GET_NSTYPE);
  if (type >= 0 && type != CLONE_NEWNET)
    return Error(cat(quote(path), " is not a network namespace"), EINVAL);
  return fd;
}

Result<NetnsSwitch> NetnsSwitch::enter(int netns_fd) {
  UniqueFd original(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!original) return errno_error("open the current netns");
  if (setns(netns_fd, CLONE_NEWNET) < 0) return errno_error("setns into the pod netns");
  return NetnsSwitch(std::move(original));
}

Result<void> NetnsSwitch::restore() {
  if (!original_) return ok();
  if (setns(original_.get(), CLONE_NEWNET) < 0) return errno_error("setns back to the host netns");
  original_.reset();
  return ok();
}

NetnsSwitch::~NetnsSwitch() {
  if (!original_) return;
  if (auto r = restore(); !r) {
    // Going on in the wrong namespace would configure the host as if it were the pod.
    log::error("cannot return to the original network namespace: ", r.error().what());
    std::abort();
  }
}

}  // namespace skiff::cni
