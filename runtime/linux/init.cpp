#include "runtime/linux/init.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "common/json_util.hpp"
#include "runtime/cgroups/manager.hpp"
#include "runtime/linux/console.hpp"
#include "runtime/linux/hooks.hpp"
#include "runtime/linux/process.hpp"
#include "runtime/linux/process_attrs.hpp"

namespace skiff::runtime::linux {
namespace {

Result<void> join_namespaces(InitArgs& a) {
  for (auto [flag, fd] : a.join) {
    if (setns(fd, flag) < 0) return errno_error("join namespace (setns ", fd_path(fd), ")");
    ::close(fd);
  }
  if (a.unshare_flags && unshare(a.unshare_flags) < 0) return errno_error("unshare namespaces");
  return ok();
}

// Waits for `want` from the parent; a kCgroupJoined arriving first is noted on the way.
Result<std::string> expect(InitArgs& a, SyncMsg want) {
  while (true) {
    auto [type, payload] = TRY(a.sync->recv());
    if (type == SyncMsg::kCgroupJoined) {
      a.cgroup_joined = true;
      if (want == SyncMsg::kCgroupJoined) return payload;
      continue;
    }
    if (type != want)
      return error("sync channel: expected message ", static_cast<uint32_t>(want), ", got ",
                   static_cast<uint32_t>(type));
    return payload;
  }
}

Result<void> wait_cgroup(InitArgs& a) {
  if (!a.cgroup_joined) TRY(expect(a, SyncMsg::kCgroupJoined));
  return ok();
}

Result<void> become_root_in_userns(InitArgs& a) {
  if (!a.new_userns) return ok();
  // Maps were written by the parent; become uid/gid 0 of the new user namespace.
  if (setresgid(0, 0, 0) < 0) return errno_error("setresgid(0) in the user namespace");
  if (setresuid(0, 0, 0) < 0) return errno_error("setresuid(0) in the user namespace");
  return ok();
}

Result<void> set_hostname(const oci::Spec& spec) {
  if (!spec.hostname.empty() && sethostname(spec.hostname.data(), spec.hostname.size()) < 0)
    return errno_error("sethostname ", quote(spec.hostname));
  if (!spec.domainname.empty() && setdomainname(spec.domainname.data(), spec.domainname.size()) < 0)
    return errno_error("setdomainname ", quote(spec.domainname));
  return ok();
}

Result<void> join_session_keyring(const InitArgs& a) {
  if (a.no_new_keyring) return ok();
  // KEYCTL_JOIN_SESSION_KEYRING with a NULL name: a fresh anonymous keyring, so containers do not
  // share the host's session keys.
  if (syscall(SYS_keyctl, 1, nullptr) < 0 && errno != ENOSYS && errno != EPERM)
    return errno_error("create a session keyring");
  return ok();
}

Result<void> wait_for_start(InitArgs& a) {
  if (a.fifo_fd >= 0) {
    char c;
    ssize_t n;
    do {
      n = ::read(a.fifo_fd, &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) return errno_error("wait for start on the exec fifo");
    // Keep the fifo open: `start` waits for its last reader to go, which the O_CLOEXEC fd does
    // at execve — after the startContainer hooks.
    return ok();
  }
  TRY(expect(a, SyncMsg::kStart));
  return ok();
}

Result<void> init_steps(InitArgs& a, std::string* state_json) {
  const oci::Spec& spec = *a.spec;
  *state_json = TRY(expect(a, SyncMsg::kGo));
  if (a.cgroup_tasks) TRY(cgroups::join_v1_tasks(*a.cgroup_tasks));
  TRY(join_namespaces(a));
  TRY(become_root_in_userns(a));
  if (setsid() < 0) return errno_error("setsid");
  TRY(join_session_keyring(a));
  if (a.new_cgroupns) {
    // The cgroup namespace's root is the cgroup we are in when we unshare it.
    TRY(wait_cgroup(a));
    if (unshare(CLONE_NEWCGROUP) < 0) return errno_error("unshare the cgroup namespace");
  }
  TRY_CTX(prepare_rootfs(a.rootfs), "prepare the rootfs");
  if (a.run_create_runtime_hooks) {
    TRY(a.sync->send(SyncMsg::kRunHooks));
    TRY(expect(a, SyncMsg::kHooksDone));
  }
  // createContainer hooks: in the container's namespaces, before pivot_root.
  TRY(run_hooks("createContainer", spec.hooks.create_container, *state_json));
  TRY(set_hostname(spec));
  TRY_CTX(enter_rootfs(a.rootfs), "enter the rootfs");
  if (spec.linux && !spec.linux->sysctl.empty()) {
    auto proc = TRY(open_dir("/proc"));
    TRY(apply_sysctls(spec.linux->sysctl, proc.get()));
  }
  TRY_CTX(finalize_rootfs(a.rootfs), "finish the rootfs");
  if (a.console_fd >= 0) {
    TRY(setup_console(a.console_fd, spec.process->console_size));
    ::close(a.console_fd);
  }
  return ok();
}

}  // namespace

void container_init(InitArgs& a) {
  // Until `create` has seen us ready, our life is tied to it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::string state_json;
  auto fail = [&](const Error& e) {
    (void)a.sync->send(SyncMsg::kError, e.what());
    _exit(1);
  };
  if (auto r = init_steps(a, &state_json); !r) fail(r.error());
  UniqueFd listener;
  auto prepared =
      prepare_process(*a.spec->process, a.spec, a.seccomp, a.setgroups_allowed, &listener);
  if (!prepared) fail(prepared.error());
  if (listener) {
    // listenerPath is a host path: the parent, still on the host side, passes the fd on.
    if (auto r = a.sync->send(SyncMsg::kSeccompFd); !r) fail(r.error());
    if (auto r = a.sync->send_fd(listener.get()); !r) fail(r.error());
    listener.reset();
  }
  if (auto r = wait_cgroup(a); !r) fail(r.error());
  prctl(PR_SET_PDEATHSIG, 0);
  if (!a.sync->send(SyncMsg::kReady)) _exit(1);
  if (auto r = wait_for_start(a); !r) {
    // `create`'s parent is gone; nobody reads the sync channel for the start path of the fifo.
    (void)a.sync->send(SyncMsg::kError, r.error().what());
    _exit(1);
  }
  if (!a.spec->hooks.start_container.empty()) {
    // The state these hooks see is the container's at `start`: created, no longer creating.
    auto j = Json::parse(state_json, nullptr, false);
    if (j.is_object()) j["status"] = "created";
    state_json = j.dump();
  }
  if (auto r = run_hooks("startContainer", a.spec->hooks.start_container, state_json); !r) {
    (void)a.sync->send(SyncMsg::kError, r.error().what());
    (void)!::write(STDERR_FILENO, r.error().what().c_str(), r.error().what().size());
    _exit(1);
  }
  // The sync fd stays open until execve closes it (O_CLOEXEC): `run` sees EOF on success. After
  // `create` + `start` nobody listens, so the error also goes to the container's stderr.
  Error e = exec_process(*a.spec->process, *prepared, a.seccomp, a.preserve_fds);
  (void)a.sync->send(SyncMsg::kError, e.what());
  std::string msg = cat("skiff: ", e.what(), "\n");
  (void)!::write(STDERR_FILENO, msg.data(), msg.size());
  _exit(127);
}

}  // namespace skiff::runtime::linux
