// skiff-shim: the per-pod supervisor (see kubelet/shim/shim.hpp). Started by `skiff pod run` or the
// kubelet, never by hand.

#include <cstring>
#include <iostream>
#include <string>

#include <unistd.h>

#include "kubelet/shim/shim.hpp"
#include "runtime/linux/self_exe.hpp"

int main(int argc, char** argv) {
  skiff::kubelet::ShimOptions o;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--pod-dir") == 0) {
      o.pod_dir = argv[i + 1];
    } else if (std::strcmp(argv[i], "--adopt") == 0) {
      o.adopt = std::strcmp(argv[i + 1], "1") == 0;
    } else if (std::strcmp(argv[i], "--ready-fd") == 0) {
      o.ready_fd = std::atoi(argv[i + 1]);
    } else {
      std::cerr << "skiff-shim: unknown argument " << argv[i] << "\n";
      return 2;
    }
  }
  if (o.pod_dir.empty()) {
    std::cerr << "usage: skiff-shim --pod-dir DIR [--ready-fd N] [--adopt 1]\n";
    return 2;
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
