// skiff-shim: the per-pod supervisor (see kubelet/shim/shim.hpp). Started by `skiff pod run` or the
// kubelet, never by hand.

#include <cstring>
#include <iostream>
#include <string>

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "kubelet/shim/shim.hpp"
#include "runtime/linux/self_exe.hpp"

int main(int argc, char** argv) {
  skiff::kubelet::ShimOptions o;
  bool detach = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--pod-dir") == 0) {
      o.pod_dir = argv[i + 1];
    } else if (std::strcmp(argv[i], "--adopt") == 0) {
      o.adopt = std::strcmp(argv[i + 1], "1") == 0;
    } else if (std::strcmp(argv[i], "--ready-fd") == 0) {
      o.ready_fd = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--detach") == 0) {
      detach = std::strcmp(argv[i + 1], "1") == 0;
    } else {
      std::cerr << "skiff-shim: unknown argument " << argv[i] << "\n";
      return 2;
    }
  }
  if (o.pod_dir.empty()) {
    std::cerr << "usage: skiff-shim --pod-dir DIR [--ready-fd N] [--adopt 1] [--detach 1]\n";
    return 2;
  }
  // Exec'd through /proc/self/fd/N by spawn_shim, the kernel named it "N": ps and pgrep want
  // its name.
  prctl(PR_SET_NAME, "skiff-shim");
  // Nothing inherited stays open but stdio and the ready pipe (spawn_shim's descriptor of the
  // sealed binary among them: exec'd through, no longer needed).
  syscall(SYS_close_range, std::max(o.ready_fd, 2) + 1, ~0U, 0);
  // --detach: not the spawner's child (spawn_shim reaps this first process, which ends here).
  if (detach) {
    pid_t child = fork();
    if (child < 0) {
      std::string msg = "error: fork the shim: " + std::string(std::strerror(errno)) + "\n";
      if (o.ready_fd >= 0) (void)!write(o.ready_fd, msg.data(), msg.size());
      return 1;
    }
    if (child > 0) _exit(0);
  }
  // The shim clones the pod's containers from itself: like `skiff create/run/exec`, it runs from
  // a read-only view of its binary, so nothing in a container can overwrite it through
  // /proc/<pid>/exe (CVE-2019-5736).
  if (auto sealed = skiff::runtime::linux::reexec_sealed(argv); !sealed) {
    std::string msg = "error: " + sealed.error().what() + "\n";
    if (o.ready_fd >= 0) (void)!write(o.ready_fd, msg.data(), msg.size());
    return 1;
  }
  return skiff::kubelet::run_shim(o);
}
