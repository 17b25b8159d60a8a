// skiff-shim: the per-pod supervisor (see kubelet/shim/shim.hpp). Started by `skiff pod run` or the
// kubelet, never by hand.

#include <cstring>
#include <iostream>
#include <string>

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <span>

#include "kubelet/shim/shim.hpp"
#include "runtime/linux/self_exe.hpp"

int main(int argc, char** argv) {
  skiff::kubelet::ShimOptions o;
  bool detach = false;
  int zygote = -1;
  // --zygote FD, then empty arguments (room for the shims' command lines): a ShimZygote's.
  if (argc >= 3 && std::strcmp(argv[1], "--zygote") == 0) {
    char* end = nullptr;
    long fd = std::strtol(argv[2], &end, 10);
    bool padding = std::all_of(argv + 3, argv + argc, [](const char* a) { return *a == '\0'; });
    if (*argv[2] == '\0' || *end != '\0' || fd < 3 || fd > 1 << 20 || !padding) {
      std::cerr << "usage: skiff-shim --zygote FD [\"\"…] (FD >= 3, then only empty arguments)\n";
      return 2;
    }
    zygote = static_cast<int>(fd);
  }
  for (int i = 1; zygote < 0 && i + 1 < argc; i += 2) {
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
  if (zygote >= 0) {
    // A ShimZygote's (shim.hpp): sealed first, so every shim it forks runs from the same
    // read-only view; then it serves until its kubelet goes, and returns in each forked shim
    // (the zygote's child, in its own session: no --detach fork).
    if (auto sealed = skiff::runtime::linux::reexec_sealed(argv); !sealed) {
      std::cerr << "skiff-shim: " << sealed.error().what() << "\n";
      return 1;
    }
    syscall(SYS_close_range, zygote + 1, ~0U, 0);  // the sealed view it was exec'd through
    // Its argument strings lie end to end: the area each forked shim writes its command line to.
    char* title_end = argv[argc - 1] + std::strlen(argv[argc - 1]) + 1;
    std::span<char> title(argv[0], static_cast<size_t>(title_end - argv[0]));
    int status = skiff::kubelet::serve_zygote(zygote, o, title);
    if (o.ready_fd < 0) return status;
    // A forked shim: sealed as its zygote is, only stdio and its ready pipe open.
    prctl(PR_SET_NAME, "skiff-shim");
    return skiff::kubelet::run_shim(o);
  }
  if (o.pod_dir.empty()) {
    std::cerr << "usage: skiff-shim --pod-dir DIR [--ready-fd N] [--adopt 1] [--detach 1]\n"
                 "       skiff-shim --zygote FD [\"\"…]\n";
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
