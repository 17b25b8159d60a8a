// A new process joins the container's cgroups itself (see SelfJoin in manager.hpp).
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "common/fs.hpp"
#include "runtime/cgroups/manager.hpp"

namespace skiff::runtime::cgroups {

Result<void> join_v1_tasks(std::vector<UniqueFd>& tasks) {
  for (auto& fd : tasks) {
    // "0" is the writer itself; a single thread moving itself skips the global threadgroup lock.
    if (::write(fd.get(), "0", 1) < 0)
      return errno_error("join the container's cgroup (write 0 to ", quote(fd_path(fd.get())), ")");
    fd.reset();
  }
  tasks.clear();
  return ok();
}

pid_t clone_into_cgroup(unsigned long flags, int cgroup2, bool* placed) {
  *placed = false;
  if (cgroup2 >= 0) {
    struct clone_args args;
    std::memset(&args, 0, sizeof args);
    args.flags = flags | CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(cgroup2);
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0) {
      *placed = true;
      return static_cast<pid_t>(pid);
    }
    // Older kernels: no clone3 (ENOSYS) or no cgroup field (E2BIG); then the caller moves it.
    if (errno != ENOSYS && errno != E2BIG) return -1;
  }
  return static_cast<pid_t>(
      syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
}

}  // namespace skiff::runtime::cgroups
