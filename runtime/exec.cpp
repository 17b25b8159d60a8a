// `exec`: a new process in a running container — its namespaces, its cgroup, its seccomp profile.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/defer.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/container.hpp"
#include "runtime/container_internal.hpp"
#include "runtime/linux/console.hpp"
#include "runtime/linux/namespaces.hpp"
#include "runtime/linux/process.hpp"
#include "runtime/linux/sync.hpp"
#include "runtime/signal_forwarding.hpp"

namespace skiff::runtime {

using linux::SyncChannel;
using linux::SyncMsg;

namespace {

bool same_namespace(int fd, std::string_view proc_name) {
  struct stat a, b;
  std::string self = cat("/proc/self/ns/", proc_name);
  return fstat(fd, &a) == 0 && ::stat(self.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
         a.st_dev == b.st_dev;
}

// The init's namespaces that differ from ours, in join order (user first, mount last).
Result<std::vector<std::pair<int, UniqueFd>>> open_namespaces(pid_t pid) {
  std::vector<std::pair<int, UniqueFd>> out;
  for (const auto& k : linux::namespace_kinds()) {
    std::string path = cat("/proc/", pid, "/ns/", k.proc_name);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT) continue;  // kernel without this namespace type
      return errno_error("open ", quote(path));
    }
    if (!same_namespace(fd.get(), k.proc_name)) out.emplace_back(k.clone_flag, std::move(fd));
  }
  return out;
}

[[noreturn]] void exec_child(const ExecOptions& o, const oci::Spec& spec,
                             const linux::SeccompProgram* seccomp, SyncChannel& sync,
                             int console_fd) {
  auto fail = [&](const Error& e) {
    (void)sync.send(SyncMsg::kError, e.what());
    _exit(1);
  };
  if (console_fd >= 0) {
    if (auto r = linux::setup_console(console_fd, o.process.console_size); !r) fail(r.error());
    ::close(console_fd);
  } else if (setsid() < 0) {
    // Not fatal: already a session leader.
  }
  UniqueFd listener;
  auto prepared = linux::prepare_process(o.process, &spec, seccomp, true, &listener);
  if (!prepared) fail(prepared.error());
  if (listener) {
    if (auto r = sync.send(SyncMsg::kSeccompFd); !r) fail(r.error());
    if (auto r = sync.send_fd(listener.get()); !r) fail(r.error());
    listener.reset();
  }
  if (!sync.send(SyncMsg::kReady)) _exit(1);
  // The sync fd stays open until execve closes it (O_CLOEXEC): the caller sees EOF on success.
  Error e = linux::exec_process(o.process, *prepared, seccomp, o.preserve_fds);
  (void)sync.send(SyncMsg::kError, e.what());
  _exit(127);
}

}  // namespace

Result<oci::Process> exec_base_process(const GlobalOptions& g, const std::string& id) {
  auto l = TRY(internal::load(g, id));
  auto spec = TRY(internal::load_bundle_spec(l.saved.bundle));
  if (!spec.process) return error("container ", quote(id), " has no process in its config");
  oci::Process p = *spec.process;
  p.terminal = false;
  p.console_size.reset();
  return p;
}

Result<int> exec(const GlobalOptions& g, const ExecOptions& o) {
  auto l = TRY(internal::load(g, o.id));
  if (l.status == Status::kStopped) return error("cannot exec in a stopped container");
  if (l.status == Status::kPaused) return error("cannot exec in a paused container");
  TRY(oci::validate_process(o.process));
  auto spec = TRY(internal::load_bundle_spec(l.saved.bundle));
  std::optional<linux::SeccompProgram> seccomp;
  if (spec.linux && spec.linux->seccomp)
    seccomp = TRY(linux::compile_seccomp(*spec.linux->seccomp));
  auto namespaces = TRY(open_namespaces(l.saved.pid));
  // The fds pin the namespaces; make sure they are still the init's we checked.
  if (process_start_time(l.saved.pid) != l.saved.pid_start_time)
    return error("cannot exec in a stopped container");
  auto cgroup = TRY(internal::cgroup_of(l.saved));

  UniqueFd console, console_parent;
  bool own_pty = false;
  if (o.process.terminal) {
    if (!o.console_socket.empty()) {
      console = TRY(linux::connect_console_socket(o.console_socket));
    } else if (o.detach) {
      return error("cannot allocate a terminal with --detach and no --console-socket");
    } else {
      int sv[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return errno_error("socketpair");
      console_parent.reset(sv[0]);
      console.reset(sv[1]);
      own_pty = true;
    }
  }

  SignalForwarder signals(!o.detach);

  auto [parent_sync, child_sync] = TRY(SyncChannel::make_pair());
  // The helper joins the cgroup itself (cgroups::SelfJoin): no RCU grace period on the way.
  auto cgroup_join = TRY(cgroup->open_self_join());
  bool placed = false;
  pid_t helper = cgroups::clone_into_cgroup(0, cgroup_join.cgroup2.get(), &placed);
  if (helper < 0) return errno_error("fork");
  bool parent_moves = cgroup_join.cgroup2 && !placed;
  if (helper == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    parent_sync.close();
    console_parent.reset();
    auto fail = [&](const Error& e) {
      (void)child_sync.send(SyncMsg::kError, e.what());
      _exit(1);
    };
    if (auto r = child_sync.expect(SyncMsg::kGo); !r) _exit(1);
    if (auto r = cgroups::join_v1_tasks(cgroup_join.tasks); !r) fail(r.error());
    cgroup_join = {};
    for (auto& [flag, fd] : namespaces)
      if (setns(fd.get(), flag) < 0) fail(errno_error("join the container's namespace (setns)"));
    namespaces.clear();
    // CLONE_PARENT: the process is skiff exec's child, so we can wait for it; the pid namespace
    // joined above applies to it.
    pid_t pid = static_cast<pid_t>(
        syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
    if (pid < 0) {
      // ENOMEM from clone into a pid namespace whose init has exited: the container is stopping.
      if (errno == ENOMEM) fail(error("cannot exec: the container is stopping"));
      fail(errno_error("clone the exec process"));
    }
    if (pid == 0) exec_child(o, spec, seccomp ? &*seccomp : nullptr, child_sync, console.get());
    (void)child_sync.send(SyncMsg::kPid, std::to_string(pid));
    _exit(0);
  }
  child_sync.close();
  namespaces.clear();
  Defer reap_helper([&] { waitpid(helper, nullptr, 0); });
  Defer kill_helper([&] { ::kill(helper, SIGKILL); });
  cgroup_join = {};
  if (parent_moves) TRY_CTX(cgroup->add_process(helper), "join the container's cgroup");
  TRY(parent_sync.send(SyncMsg::kGo));
  console.reset();
  // The helper reports the pid and the process reports ready, in either order.
  pid_t pid = -1;
  bool ready = false;
  Defer kill_process([&] {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  });
  UniqueFd master;
  while (pid <= 0 || !ready) {
    auto [type, payload] = TRY_CTX(parent_sync.recv(), "exec in ", quote(o.id));
    if (type == SyncMsg::kPid) {
      pid = parse_int<pid_t>(payload).value_or(-1);
      kill_helper.cancel();
    } else if (type == SyncMsg::kReady) {
      ready = true;
    } else if (type == SyncMsg::kSeccompFd) {
      auto fd = TRY(parent_sync.recv_fd());
      const auto& sc = *spec.linux->seccomp;
      Json st = {{"ociVersion", oci::kRuntimeSpecVersion},
                 {"id", o.id},
                 {"status", "running"},
                 {"pid", pid},
                 {"bundle", l.saved.bundle}};
      TRY_CTX(
          linux::send_seccomp_listener(sc.listener_path, fd.get(), st.dump(), sc.listener_metadata),
          "linux.seccomp.listenerPath");
    }
  }
  if (own_pty) master = TRY(linux::recv_fd_over(console_parent.get()));
  // Started means exec'd: the process's sync fd closes on execve (or it reports why not).
  TRY_CTX(parent_sync.wait_closed(), "exec in ", quote(o.id));
  if (!o.pid_file.empty())
    TRY_CTX(write_file_atomic(o.pid_file, std::to_string(pid), 0644, false), "write --pid-file");
  kill_process.cancel();
  if (o.detach) return 0;

  if (own_pty) linux::proxy_pty(master.get());
  return signals.wait(pid);
}

}  // namespace skiff::runtime
