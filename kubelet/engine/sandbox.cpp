#include "kubelet/engine/sandbox.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "cni/conf_loader.hpp"
#include "cni/invoker.hpp"
#include "cni/netns.hpp"
#include "common/defer.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "kubelet/engine/pod_cgroup.hpp"
#include "runtime/cgroups/manager.hpp"
#include "runtime/container.hpp"
#include "runtime/state.hpp"

#ifndef SKIFF_BINARY_DIR
#define SKIFF_BINARY_DIR ""
#endif

namespace skiff::kubelet {
namespace {

std::vector<std::string> plugin_dirs(const NodeConfig& c) {
  if (!c.cni_bin_dirs.empty()) return c.cni_bin_dirs;
  // skiff-pod resolves them before the shim starts (the shim runs from a sealed copy of itself).
  return default_cni_plugin_dirs(self_exe_path(), SKIFF_BINARY_DIR);
}

cni::Invoker invoker(const NodeConfig& c) {
  cni::InvokerOptions o;
  o.plugin_dirs = plugin_dirs(c);
  o.cache_dir = c.cni_cache_dir;
  o.timeout = std::chrono::milliseconds(30'000);
  return cni::Invoker(o);
}

std::string pause_binary(const NodeConfig& c) {
  if (!c.pause_binary.empty()) return c.pause_binary;
  return find_helper_binary("skiff-pause", cat(SKIFF_BINARY_DIR, "/kubelet/skiff-pause"));
}

// Sets `lo` up in the namespace: CNI plugins configure eth0 only, and containers of one pod talk
// over localhost.
Result<void> loopback_up(const std::string& netns_path) {
  auto fd = TRY(cni::open_netns(netns_path));
  return cni::in_netns(fd.get(), [&]() -> Result<void> {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) return errno_error("socket");
    struct ifreq ifr {};
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (ioctl(s.get(), SIOCGIFFLAGS, &ifr) < 0) return errno_error("SIOCGIFFLAGS lo");
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (ioctl(s.get(), SIOCSIFFLAGS, &ifr) < 0) return errno_error("SIOCSIFFLAGS lo");
    return ok();
  });
}

// What the pause's child does between clone and exec: only system calls (it shares the shim's
// memory, as posix_spawn's child does), each failure written to `report` for the shim to read.
struct PauseChild {
  int pause = -1;             // the pause binary (O_PATH): exec'd through after the root is gone
  int report = -1;            // pipe to the shim; close-on-exec, so an exec that succeeds closes it
  int null = -1;              // /dev/null for stdio
  const int* join = nullptr;  // cgroup files the child writes "0" to (v1 `tasks`, v2 cgroup.procs)
  size_t join_count = 0;
  const char* root = nullptr;      // an existing directory: an empty read-only tmpfs goes on it
  const char* hostname = nullptr;  // nullptr: host network, the host's UTS namespace
  int fd_store = -1;               // the fd store's listening socket (fd 5 in the pause), or none
};

[[noreturn]] void child_fail(int fd, const char* what) {
  int err = errno;
  char buf[160];
  size_t n = 0;
  for (const char* p = what; *p && n < sizeof buf - 16; ++p) buf[n++] = *p;
  // errno as decimal: strerror is not safe here (the shim formats it).
  buf[n++] = ':';
  char digits[12];
  size_t d = 0;
  do digits[d++] = static_cast<char>('0' + err % 10);
  while ((err /= 10) && d < sizeof digits);
  while (d) buf[n++] = digits[--d];
  (void)!::write(fd, buf, n);
  _exit(127);
}

int pause_child(void* arg) {
  const auto* a = static_cast<const PauseChild*>(arg);
  for (size_t i = 0; i < a->join_count; ++i)
    if (::write(a->join[i], "0", 1) != 1) child_fail(a->report, "join the pause's cgroup");
  // The descriptors first, moved above the ones they land on: 0-2 /dev/null, 3 the report pipe,
  // 4 the binary, 5 the fd store's socket (kept across the exec); nothing else of the shim's.
  int null = fcntl(a->null, F_DUPFD_CLOEXEC, 64), report = fcntl(a->report, F_DUPFD_CLOEXEC, 64),
      pause = fcntl(a->pause, F_DUPFD_CLOEXEC, 64),
      store = a->fd_store >= 0 ? fcntl(a->fd_store, F_DUPFD_CLOEXEC, 64) : -1;
  if (null < 0 || report < 0 || pause < 0 || (a->fd_store >= 0 && store < 0))
    child_fail(a->report, "dup the pause's descriptors");
  if (dup3(report, 3, O_CLOEXEC) < 0) child_fail(report, "dup the report pipe");
  if (dup3(pause, 4, O_CLOEXEC) < 0) child_fail(3, "dup the pause binary");
  if (store >= 0 && dup2(store, 5) < 0) child_fail(3, "dup the fd store's socket");
  for (int fd = 0; fd < 3; ++fd)
    if (dup2(null, fd) < 0) child_fail(3, "stdio");
  if (syscall(SYS_close_range, store >= 0 ? 6U : 5U, ~0U, 0U) < 0) child_fail(3, "close_range");
  if (setsid() < 0) child_fail(3, "setsid");
  if (a->hostname && sethostname(a->hostname, strlen(a->hostname)) < 0)
    child_fail(3, "sethostname");
  // Its own root: an empty read-only tmpfs, the host's tree detached. Nothing of the host stays
  // reachable through /proc/1/root from a container sharing the pod's PID namespace, and the
  // namespace holds no host mount busy.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
    child_fail(3, "make the mounts private");
  if (mount("tmpfs", a->root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
            "size=4k,mode=555") < 0)
    child_fail(3, "mount the pause's root");
  if (chdir(a->root) < 0) child_fail(3, "chdir to the pause's root");
  if (syscall(SYS_pivot_root, ".", ".") < 0) child_fail(3, "pivot_root");
  if (umount2(".", MNT_DETACH) < 0) child_fail(3, "detach the host's root");
  if (chdir("/") < 0) child_fail(3, "chdir /");
  // No privilege left: groups, every capability (the bounding set too, so exec as uid 0 gains
  // none), no_new_privs.
  if (syscall(SYS_setgroups, 0, nullptr) < 0) child_fail(3, "setgroups");
  for (int cap = 0; cap < 64; ++cap)
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) break;  // past the kernel's last capability
      child_fail(3, "drop the bounding set");
    }
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capset, &hdr, data) < 0) child_fail(3, "capset");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) child_fail(3, "no_new_privs");
  char arg0[] = "/pause", arg1[] = "--fd-store", arg2[] = "5";
  char* argv[] = {arg0, store >= 0 ? arg1 : nullptr, arg2, nullptr};
  char* envp[] = {nullptr};
  syscall(SYS_execveat, 4, "", argv, envp, AT_EMPTY_PATH);
  child_fail(3, "exec the pause binary");
}

// Starts the pause: PID 1 of a new PID namespace, with new mount and IPC namespaces, and new
// network and UTS ones unless the pod uses the host's network. A clone that shares the shim's
// memory until the exec (CLONE_VM | CLONE_VFORK, as posix_spawn): no copy of the shim's pages,
// none of the faults a fork's copy-on-write costs it afterwards, and no runtime container (state,
// bundle, config.json) for a process that only holds namespaces.
Result<pid_t> spawn_pause(const std::string& binary, const std::string& root,
                          const std::string& hostname, bool host_network,
                          const std::vector<int>& join, int fd_store) {
  UniqueFd pause(::open(binary.c_str(), O_PATH | O_CLOEXEC));
  if (!pause) return errno_error("open the pause binary ", quote(binary));
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) return errno_error("open /dev/null");
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd report_r(pipe_fds[0]), report_w(pipe_fds[1]);
  PauseChild a;
  a.pause = pause.get();
  a.report = report_w.get();
  a.null = null.get();
  a.join = join.data();
  a.join_count = join.size();
  a.root = root.c_str();
  a.hostname = host_network ? nullptr : hostname.c_str();
  a.fd_store = fd_store;
  int flags = CLONE_VM | CLONE_VFORK | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | SIGCHLD;
  if (!host_network) flags |= CLONE_NEWNET | CLONE_NEWUTS;
  // Every signal blocked across the clone: no handler of the shim's may run on the child's
  // stack before the exec resets them (the pause unblocks what it handles).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  alignas(16) char stack[16 * 1024];
  pid_t pid = clone(pause_child, stack + sizeof stack, flags, &a);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    errno = clone_errno;
    return errno_error("clone the pause");
  }
  report_w.reset();
  // The child has exec'd or exited by now (CLONE_VFORK): the pipe holds its error, if any.
  char buf[256];
  ssize_t n;
  while ((n = ::read(report_r.get(), buf, sizeof buf - 1)) < 0 && errno == EINTR) {
  }
  if (n <= 0) return pid;
  buf[n] = 0;
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  std::string_view text(buf, static_cast<size_t>(n));
  size_t colon = text.rfind(':');
  int err = parse_int<int>(text.substr(colon + 1)).value_or(0);
  const char* hint = "";
  if (err == ENOENT && text.starts_with("exec"))  // its interpreter: not in the empty root
    hint = " (the pause binary must be static: it runs in an empty root)";
  return error("start the pause: ", text.substr(0, colon), ": ", strerror(err), hint);
}

// "PID START\n" of the pod's pause, in the shim's run directory (sandbox_of_pause_file).
std::string pause_file(const NodeConfig& c, const std::string& uid) {
  return c.shim_run_dir(uid) + "/pause";
}

// The pause's own cgroup beneath the pod's (cgroupsPath POD/pause, as the runtime container had).
runtime::cgroups::Options pause_cgroup(const NodeConfig& c, const std::string& pod_cgroup) {
  runtime::cgroups::Options o;
  o.root = c.cgroup_root;
  o.cgroups_path = pod_cgroup + "/pause";
  return o;
}

// Kills the pause unless its pid now names another process.
void kill_pause(const Sandbox& s) {
  if (s.pause_running()) ::kill(s.pause_pid, SIGKILL);
}

}  // namespace

bool Sandbox::pause_running() const {
  if (pause_pid <= 0) return false;
  if (pause_start) return runtime::process_start_time(pause_pid) == pause_start;
  return path_exists(cat("/proc/", pause_pid));
}

Json Sandbox::to_json() const {
  Json j = {{"pausePid", pause_pid}, {"pauseStart", pause_start}, {"network", network},
            {"podIP", pod_ip},       {"hostname", hostname},      {"hostNetwork", host_network},
            {"cgroup", cgroup},      {"qosClass", qos_class}};
  if (!pause_id.empty()) j["pauseId"] = pause_id, j["bundle"] = bundle;
  return j;
}

Sandbox Sandbox::from_json(const Json& j) {
  Sandbox s;
  s.pause_id = j.value("pauseId", "");
  s.pause_pid = j.value("pausePid", 0);
  s.pause_start = j.value("pauseStart", uint64_t{0});
  s.bundle = j.value("bundle", "");
  s.network = j.value("network", "");
  s.pod_ip = j.value("podIP", "");
  s.hostname = j.value("hostname", "");
  s.host_network = j.value("hostNetwork", false);
  s.cgroup = j.value("cgroup", "");
  s.qos_class = j.value("qosClass", "");
  return s;
}

std::optional<Sandbox> sandbox_of_pause_file(const NodeConfig& c, const Pod& pod) {
  auto text = read_file(pause_file(c, pod.uid));
  if (!text) return std::nullopt;
  Sandbox s;
  auto f = split(trim(*text), ' ', true);
  if (f.size() == 2) {
    s.pause_pid = parse_int<pid_t>(f[0]).value_or(0);
    s.pause_start = parse_int<uint64_t>(f[1]).value_or(0);
  }
  s.cgroup = pod_cgroup_path(c, pod);
  if (!pod.spec.host_network) s.network = "(unknown)";
  return s;
}

Result<Json> load_or_write_network(const NodeConfig& c) {
  TRY(mkdir_p(c.cni_conf_dir));
  auto configs = TRY(cni::load_conf_dir(c.cni_conf_dir));
  for (const auto& lc : configs)
    if (lc.list.ok()) return TRY(read_json_file(lc.path));
  if (!configs.empty())
    return error("no valid network configuration in ", quote(c.cni_conf_dir), ": ",
                 quote(configs[0].path), ": ", configs[0].list.error().what());
  Json list = default_conflist(c);
  TRY(write_file_atomic(cat(c.cni_conf_dir, "/10-skiff.conflist"), list.dump(2) + "\n"));
  return list;
}

Result<Sandbox> create_sandbox(const NodeConfig& c, const Pod& pod, int fd_store) {
  Sandbox s;
  s.host_network = pod.spec.host_network;
  s.hostname = pod.spec.hostname.empty() ? pod.name.substr(0, 63) : pod.spec.hostname;
  if (s.host_network) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    s.hostname = host;
  }
  std::string pause = pause_binary(c);
  if (pause.empty())
    return error("skiff-pause not found (next to this binary or in the build tree)");

  s.qos_class = pod_qos_class(pod);
  s.cgroup = TRY(create_pod_cgroup(c, pod));
  Defer remove_cgroup([&] { (void)destroy_pod_cgroup(c, s.cgroup); });
  auto cg =
      TRY_CTX(runtime::cgroups::make_manager(pause_cgroup(c, s.cgroup)), "the pause's cgroup");
  cg->keep_parents();
  TRY_CTX(cg->create(), "create the pause's cgroup");
  Defer remove_pause_cgroup([&] { (void)cg->destroy(); });
  auto join = TRY_CTX(cg->open_self_join(), "the pause's cgroup");
  std::vector<int> join_fds;
  for (const auto& fd : join.tasks) join_fds.push_back(fd.get());
  UniqueFd procs;  // pure v2 (a hybrid host's cgroup2 mount has no controller the pause needs)
  if (join.cgroup2 && cg->mode() == runtime::cgroups::Mode::kV2) {
    procs.reset(::openat(join.cgroup2.get(), "cgroup.procs", O_WRONLY | O_CLOEXEC));
    if (!procs) return errno_error("open the pause's cgroup.procs");
    join_fds.push_back(procs.get());
  }
  // The pause's root goes on the pod's run directory, in the pause's own mount namespace only.
  std::string root = c.shim_run_dir(pod.uid);
  TRY(mkdir_p(root));
  s.pause_pid = TRY(spawn_pause(pause, root, s.hostname, s.host_network, join_fds, fd_store));
  s.pause_start = runtime::process_start_time(s.pause_pid);
  Defer remove_pause([&] {
    kill_pause(s);
    waitpid(s.pause_pid, nullptr, 0);
    (void)::unlink(pause_file(c, pod.uid).c_str());
  });
  // For the clean-up after a shim that dies before its first checkpoint names the pause.
  TRY(write_file(pause_file(c, pod.uid), cat(s.pause_pid, ' ', s.pause_start, '\n'),
                 O_WRONLY | O_CREAT | O_TRUNC, 0600));

  if (!s.host_network) {
    TRY_CTX(loopback_up(s.ns_path("net")), "bring up the pod's loopback");
    Json list_json = TRY(load_or_write_network(c));
    auto list = cni::NetworkConfigList::parse(list_json.dump());
    if (!list) return error("pod network: ", list.error().what());
    cni::RuntimeConf rt;
    rt.container_id = pod.uid;
    rt.netns = s.ns_path("net");
    rt.args = {{"K8S_POD_NAMESPACE", pod.namespace_},
               {"K8S_POD_NAME", pod.name},
               {"K8S_POD_UID", pod.uid},
               {"K8S_POD_INFRA_CONTAINER_ID", cat("pod-", pod.uid, "-pause")}};
    auto inv = invoker(c);
    auto added = inv.add(*list, rt);
    if (!added) {
      (void)inv.del(*list, rt);  // the spec asks a runtime to clean up a failed ADD with DEL
      return error("CNI ADD on network ", quote(list->name), ": ", added.error().what());
    }
    s.network = list->name;
    for (const auto& ip : added->ips) {
      s.pod_ip = ip.address.addr().str();
      break;
    }
  }
  remove_pause.cancel();
  remove_pause_cgroup.cancel();
  remove_cgroup.cancel();
  return s;
}

Result<void> destroy_sandbox(const NodeConfig& c, const Pod& pod, const Sandbox& s) {
  std::optional<Error> first;
  auto note = [&](Result<void> r, const char* what) {
    if (!r) {
      log::warn(what, ": ", r.error().what());
      if (!first) first = std::move(r.error().wrap(what));
    }
  };
  if (!s.network.empty()) {
    auto list_json = load_or_write_network(c);
    if (!list_json) {
      note(std::move(list_json).error(), "load the pod network");
    } else {
      auto list = cni::NetworkConfigList::parse(list_json->dump());
      if (list) {
        cni::RuntimeConf rt;
        rt.container_id = pod.uid;
        if (s.pause_pid > 0 && path_exists(s.ns_path("net"))) rt.netns = s.ns_path("net");
        auto del = invoker(c).del(*list, rt);
        if (!del) note(error(del.error().what()), "CNI DEL");
      }
    }
  }
  if (!s.pause_id.empty()) {
    // A sandbox made before the pause was spawned directly: a runtime container with a bundle.
    runtime::GlobalOptions g;
    g.root = c.runtime_root();
    note(runtime::remove(g, s.pause_id, true), "remove the pause container");
    if (!s.bundle.empty()) note(remove_tree(s.bundle), "remove the sandbox bundle");
  } else {
    kill_pause(s);
    if (!s.cgroup.empty()) {
      auto cg = runtime::cgroups::make_manager(pause_cgroup(c, s.cgroup));
      if (!cg) {
        note(std::move(cg).error(), "the pause's cgroup");
      } else {
        (*cg)->keep_parents();
        note((*cg)->destroy(), "remove the pause's cgroup");
      }
    }
    (void)::unlink(pause_file(c, pod.uid).c_str());
  }
  note(destroy_pod_cgroup(c, s.cgroup), "remove the pod cgroup");
  if (first) return std::move(*first);
  return ok();
}

}  // namespace skiff::kubelet
