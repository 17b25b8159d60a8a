#include "runtime/container.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include "common/defer.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/container_internal.hpp"
#include "runtime/linux/console.hpp"
#include "runtime/linux/hooks.hpp"
#include "runtime/linux/init.hpp"
#include "runtime/linux/namespaces.hpp"
#include "runtime/linux/process_attrs.hpp"
#include "runtime/linux/rootfs.hpp"
#include "runtime/linux/seccomp.hpp"
#include "runtime/linux/sync.hpp"
#include "runtime/signal_forwarding.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace skiff::runtime {

using linux::SyncChannel;
using linux::SyncMsg;

const char* status_name(Status s) {
  switch (s) {
    case Status::kCreating:
      return "creating";
    case Status::kCreated:
      return "created";
    case Status::kRunning:
      return "running";
    case Status::kPaused:
      return "paused";
    case Status::kStopped:
      return "stopped";
  }
  return "unknown";
}

Json ContainerInfo::to_state_json() const {
  Json j = {{"ociVersion", oci::kRuntimeSpecVersion},
            {"id", id},
            {"status", status_name(status)},
            {"pid", status == Status::kStopped ? 0 : pid},
            {"bundle", bundle},
            {"rootfs", rootfs},
            {"created", created},
            {"owner", owner}};
  j["annotations"] = annotations;
  return j;
}

namespace internal {

Result<std::unique_ptr<cgroups::Manager>> cgroup_of(const SavedState& s) {
  return cgroups::load_manager(s.cgroup);
}

Result<Loaded> load(const GlobalOptions& g, const std::string& id) {
  Loaded l;
  l.saved = TRY(load_state(g.root, id));
  bool zombie = false;
  uint64_t start = l.saved.pid > 0 ? process_start_time(l.saved.pid, &zombie) : 0;
  if (start == 0 || start != l.saved.pid_start_time || zombie) {
    l.status = Status::kStopped;
  } else if (path_exists(exec_fifo_path(g.root, id))) {
    l.status = Status::kCreated;
  } else {
    l.status = Status::kRunning;
    if (!l.saved.cgroup.is_null()) {
      auto mgr = cgroup_of(l.saved);
      if (mgr) {
        auto frozen = (*mgr)->is_frozen();
        if (frozen && *frozen) l.status = Status::kPaused;
      }
    }
  }
  return l;
}

std::string hook_state(const SavedState& s, Status status) {
  Json j = {{"ociVersion", oci::kRuntimeSpecVersion},
            {"id", s.id},
            {"status", status_name(status)},
            {"pid", s.pid},
            {"bundle", s.bundle}};
  j["annotations"] = s.annotations;
  return j.dump();
}

Result<oci::Spec> load_bundle_spec(const std::string& bundle) { return oci::load_spec(bundle); }

}  // namespace internal

namespace {

struct Bundle {
  std::string dir;     // absolute
  std::string rootfs;  // absolute
  oci::Spec spec;
};

Result<Bundle> open_bundle(const std::string& path) {
  char buf[PATH_MAX];
  if (!realpath(path.c_str(), buf)) return errno_error("bundle ", quote(path));
  Bundle b;
  b.dir = buf;
  b.spec = TRY(oci::load_spec(b.dir));
  if (!b.spec.process) return error("process: required to create a container");
  if (!b.spec.linux) return error("linux: required on Linux");
  std::string root = b.spec.root->path;
  if (root.empty() || root[0] != '/') root = path_join(b.dir, root);
  if (!realpath(root.c_str(), buf)) return errno_error("root.path ", quote(root));
  b.rootfs = buf;
  struct stat st;
  if (::stat(b.rootfs.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
    return error("root.path ", quote(b.rootfs), " is not a directory");
  return b;
}

std::string owner_name() {
  struct passwd* pw = getpwuid(geteuid());
  return pw ? pw->pw_name : std::to_string(geteuid());
}

std::string id_map_text(const std::vector<oci::IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps) out += cat(m.container_id, " ", m.host_id, " ", m.size, "\n");
  return out;
}

// Namespace plan from linux.namespaces: clone flags, fds to join, what to unshare later.
struct NamespacePlan {
  int clone_flags = 0;
  int unshare_flags = 0;
  std::vector<std::pair<int, UniqueFd>> join;  // setns in the child, user first
  UniqueFd pid_ns, time_ns;                    // setns in the parent (apply to children)
  bool new_user = false, new_net = false, new_cgroup = false, new_time = false;
};

Result<NamespacePlan> plan_namespaces(const oci::Linux& lx) {
  NamespacePlan p;
  bool has_mount = false, user_joined = false;
  for (size_t i = 0; i < lx.namespaces.size(); ++i) {
    const auto& ns = lx.namespaces[i];
    auto kind = TRY_CTX(linux::namespace_kind(ns.type), "linux.namespaces[", i, "]");
    if (kind.clone_flag == CLONE_NEWNS) {
      if (!ns.path.empty())
        return error("linux.namespaces[", i, "]: joining a mount namespace is not supported");
      has_mount = true;
    }
    if (ns.path.empty()) {
      if (kind.clone_flag == CLONE_NEWCGROUP)
        p.new_cgroup = true;
      else if (kind.clone_flag == CLONE_NEWTIME)
        p.new_time = true;
      else
        p.clone_flags |= kind.clone_flag;
      if (kind.clone_flag == CLONE_NEWUSER) p.new_user = true;
      if (kind.clone_flag == CLONE_NEWNET) p.new_net = true;
      continue;
    }
    UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return errno_error("linux.namespaces[", i, "].path ", quote(ns.path));
    if (kind.clone_flag == CLONE_NEWPID)
      p.pid_ns = std::move(fd);
    else if (kind.clone_flag == CLONE_NEWTIME)
      p.time_ns = std::move(fd);
    else {
      if (kind.clone_flag == CLONE_NEWUSER) user_joined = true;
      p.join.emplace_back(kind.clone_flag, std::move(fd));
    }
  }
  if (!has_mount) return error("linux.namespaces: a new mount namespace is required");
  // User namespace first: it grants the right to join the others.
  std::stable_sort(p.join.begin(), p.join.end(), [](const auto& a, const auto& b) {
    return (a.first == CLONE_NEWUSER) > (b.first == CLONE_NEWUSER);
  });
  if (user_joined) {
    // New namespaces must belong to the joined user namespace: create them after joining it.
    if (p.clone_flags & CLONE_NEWPID)
      return error(
          "linux.namespaces: a new pid namespace with a joined user namespace is not "
          "supported");
    p.unshare_flags = p.clone_flags;
    p.clone_flags = 0;
  }
  return p;
}

Result<void> setup_time_namespace(const oci::Linux& lx, NamespacePlan& plan) {
  if (plan.time_ns && setns(plan.time_ns.get(), CLONE_NEWTIME) < 0)
    return errno_error("join the time namespace");
  if (!plan.new_time) return ok();
  if (unshare(CLONE_NEWTIME) < 0) return errno_error("unshare the time namespace");
  std::string offsets;
  for (const auto& [clock, off] : lx.time_offsets)
    offsets += cat(clock, " ", off.secs, " ", off.nanosecs, "\n");
  if (!offsets.empty())
    TRY_CTX(write_file("/proc/self/timens_offsets", offsets), "linux.timeOffsets");
  return ok();
}

// The device cgroup rules a container really gets: the spec's rules, then (as runc and crun do)
// access to the default devices, ptys and every device in linux.devices, so a config that
// starts with "deny all" still has a working /dev.
oci::Resources effective_resources(const oci::Linux& lx) {
  oci::Resources r = lx.resources.value_or(oci::Resources{});
  auto allow = [&](const char* type, std::optional<int64_t> major, std::optional<int64_t> minor,
                   const char* access) {
    oci::DeviceCgroupRule rule;
    rule.allow = true;
    rule.type = type;
    rule.major = major;
    rule.minor = minor;
    rule.access = access;
    r.devices.push_back(rule);
  };
  if (r.devices.empty()) return r;              // no device rules: nothing is restricted
  allow("c", std::nullopt, std::nullopt, "m");  // mknod of any char/block device (not access)
  allow("b", std::nullopt, std::nullopt, "m");
  for (const auto& d : linux::default_devices()) allow("c", d.major, d.minor, "rwm");
  allow("c", 5, 1, "rwm");               // /dev/console
  allow("c", 5, 2, "rwm");               // /dev/ptmx
  allow("c", 136, std::nullopt, "rwm");  // /dev/pts/*
  allow("c", 10, 200, "rwm");            // /dev/net/tun
  for (const auto& d : lx.devices) allow(d.type == "b" ? "b" : "c", d.major, d.minor, "rwm");
  return r;
}

void reset_signals_in_child(bool default_dispositions) {
  sigset_t none;
  sigemptyset(&none);
  // The mask; dispositions the caller chose (SIG_IGN) pass on to the container as with runc,
  // unless it asks for the defaults (skiff installs no handlers: ignored ones are all there is).
  if (default_dispositions)
    for (int sig = 1; sig < NSIG; ++sig)
      if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// What create leaves running: the init's pid and the channel to it.
struct Created {
  pid_t pid = 0;
  SyncChannel sync;
  SavedState state;
  oci::Spec spec;
};

enum class StartGate { kFifo, kSync };

// After kGo the init runs on while the parent moves it into its cgroup. When that (or telling
// the init) fails because the init has failed already, the init's own error, queued on the
// channel, says why — not "No such process" or "Broken pipe".
Error init_error_or(SyncChannel& sync, const std::string& id, Error fallback) {
  struct pollfd p = {sync.fd(), POLLIN, 0};
  if (poll(&p, 1, 0) == 1) {
    auto msg = sync.recv();
    if (!msg) return std::move(msg.error().wrap(cat("create container ", quote(id))));
  }
  return fallback;
}

// Everything `create` does; `run` uses it with the sync gate instead of the exec fifo, and may
// pass its own console socket (a pty proxied in the foreground).
Result<Created> create_container(const GlobalOptions& g, const CreateOptions& o, Bundle bundle,
                                 StartGate gate, int console_override) {
  TRY(validate_id(o.id));
  const oci::Spec& spec = bundle.spec;
  const oci::Linux& lx = *spec.linux;
  // Relative bind sources are relative to the bundle, as for runc.
  if (chdir(bundle.dir.c_str()) < 0) return errno_error("chdir to the bundle ", quote(bundle.dir));

  TRY(mkdir_p(g.root, 0700));
  std::string dir = container_dir(g.root, o.id);
  if (::mkdir(dir.c_str(), 0700) < 0) {
    if (errno == EEXIST) return error("container with id exists: ", o.id);
    return errno_error("create state directory ", quote(dir));
  }
  Defer remove_dir([&] { (void)remove_tree(dir); });

  cgroups::Options cg_opts;
  cg_opts.cgroups_path = lx.cgroups_path;
  cg_opts.container_id = o.id;
  cg_opts.systemd = g.systemd_cgroup;
  auto cgroup = TRY(cgroups::make_manager(cg_opts));
  if (log::enabled(log::Level::kDebug))
    log::debug("cgroup mode: ", cgroups::mode_name(cgroup->mode()), ", the container's cgroup ",
               quote(cgroup->to_json().value("relative", "")));
  TRY_CTX(cgroup->create(), "create the container's cgroup");
  Defer destroy_cgroup([&] { (void)cgroup->destroy(); });
  if (lx.resources) TRY(cgroup->apply(effective_resources(lx)));
  auto cgroup_join = TRY(cgroup->open_self_join());

  std::optional<linux::SeccompProgram> seccomp;
  if (lx.seccomp) seccomp = TRY(linux::compile_seccomp(*lx.seccomp));
  TRY(linux::check_sysctls_allowed(lx));

  auto plan = TRY(plan_namespaces(lx));
  if (plan.pid_ns && setns(plan.pid_ns.get(), CLONE_NEWPID) < 0)
    return errno_error("join the pid namespace");
  TRY(setup_time_namespace(lx, plan));

  UniqueFd fifo;
  if (gate == StartGate::kFifo) {
    std::string fifo_path = exec_fifo_path(g.root, o.id);
    // 0622 as runc: whoever may `start` the container can write it (mkfifo applies the umask).
    if (mkfifo(fifo_path.c_str(), 0622) < 0 || chmod(fifo_path.c_str(), 0622) < 0)
      return errno_error("mkfifo ", quote(fifo_path));
    // O_RDWR: the init holds both ends, so its read blocks until `start` writes.
    fifo.reset(::open(fifo_path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fifo) return errno_error("open ", quote(fifo_path));
  }

  UniqueFd console;
  int console_fd = console_override;
  if (spec.process->terminal && console_fd < 0) {
    if (o.console_socket.empty())
      return error("process.terminal is set but no --console-socket was given");
    console = TRY(linux::connect_console_socket(o.console_socket));
    console_fd = console.get();
  }

  auto [parent_sync, child_sync] = TRY(SyncChannel::make_pair());
  auto cgroup_mounts = cgroup->mount_points();

  linux::InitArgs args;
  args.spec = &spec;
  args.rootfs.spec = &spec;
  args.rootfs.rootfs = bundle.rootfs;
  args.rootfs.new_userns = plan.new_user;
  args.rootfs.new_netns = plan.new_net;
  args.rootfs.new_cgroupns = plan.new_cgroup;
  args.rootfs.no_pivot = o.no_pivot;
  args.rootfs.cgroup_mounts = cgroup_mounts;
  args.sync = &child_sync;
  args.fifo_fd = fifo.get();
  args.console_fd = spec.process->terminal ? console_fd : -1;
  args.preserve_fds = o.preserve_fds;
  for (auto& [flag, fd] : plan.join) args.join.emplace_back(flag, fd.get());
  args.unshare_flags = plan.unshare_flags;
  args.new_userns = plan.new_user;
  args.new_cgroupns = plan.new_cgroup;
  args.run_create_runtime_hooks =
      !spec.hooks.prestart.empty() || !spec.hooks.create_runtime.empty();
  args.no_new_keyring = o.no_new_keyring;
  args.seccomp = seccomp ? &*seccomp : nullptr;

  // A fork-like clone: the child gets a copy of this process and builds the container. It joins
  // the cgroup itself (cgroups::SelfJoin): no RCU grace period on the way.
  bool placed = false;
  pid_t pid = cgroups::clone_into_cgroup(static_cast<unsigned long>(plan.clone_flags),
                                         cgroup_join.cgroup2.get(), &placed);
  if (pid < 0) return errno_error("clone the container's init");
  // Without clone3's CLONE_INTO_CGROUP the parent moves the child (the slow way).
  bool parent_moves = cgroup_join.cgroup2 && !placed;
  if (pid == 0) {
    reset_signals_in_child(o.default_signals);
    parent_sync.close();
    cgroup_join.cgroup2.reset();
    args.cgroup_tasks = &cgroup_join.tasks;
    args.cgroup_joined = !parent_moves;
    linux::container_init(args);
  }
  child_sync.close();
  plan.join.clear();
  cgroup_join = {};
  Defer kill_child([&] {
    ::kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  });

  if (plan.new_user) {
    std::string proc = cat("/proc/", pid);
    TRY_CTX(write_file(proc + "/uid_map", id_map_text(lx.uid_mappings)), "linux.uidMappings");
    TRY_CTX(write_file(proc + "/gid_map", id_map_text(lx.gid_mappings)), "linux.gidMappings");
  }

  SavedState st;
  st.id = o.id;
  st.pid = pid;
  st.bundle = bundle.dir;
  st.rootfs = bundle.rootfs;
  st.created = now_rfc3339();
  st.owner = owner_name();
  st.annotations = spec.annotations;
  st.cgroup = cgroup->to_json();
  st.systemd_cgroup = g.systemd_cgroup;
  std::string hooks_state = internal::hook_state(st, Status::kCreating);
  TRY(parent_sync.send(SyncMsg::kGo, hooks_state));
  if (parent_moves) {
    // The first migration through cgroup.procs waits for an RCU grace period (milliseconds); the
    // child builds its rootfs meanwhile and only waits for this before it needs the cgroup.
    if (auto moved = cgroup->add_process(pid); !moved)
      return init_error_or(parent_sync, o.id, moved.error().wrap("move the init into its cgroup"));
    if (auto sent = parent_sync.send(SyncMsg::kCgroupJoined); !sent)
      return init_error_or(parent_sync, o.id, sent.error());
  }

  while (true) {
    auto [type, payload] = TRY_CTX(parent_sync.recv(), "create container ", quote(o.id));
    if (type == SyncMsg::kReady) break;
    if (type == SyncMsg::kSeccompFd) {
      auto fd = TRY(parent_sync.recv_fd());
      const auto& sc = *lx.seccomp;
      TRY_CTX(linux::send_seccomp_listener(sc.listener_path, fd.get(),
                                           internal::hook_state(st, Status::kCreating),
                                           sc.listener_metadata),
              "linux.seccomp.listenerPath");
      continue;
    }
    if (type == SyncMsg::kRunHooks) {
      TRY(linux::run_hooks("prestart", spec.hooks.prestart, hooks_state));
      TRY(linux::run_hooks("createRuntime", spec.hooks.create_runtime, hooks_state));
      TRY(parent_sync.send(SyncMsg::kHooksDone));
      continue;
    }
    return error("create container ", quote(o.id), ": unexpected message from its init");
  }

  st.pid_start_time = process_start_time(pid);
  TRY(save_state(g.root, st));
  if (!o.pid_file.empty())
    TRY_CTX(write_file_atomic(o.pid_file, std::to_string(pid), 0644, false), "write --pid-file");

  kill_child.cancel();
  destroy_cgroup.cancel();
  remove_dir.cancel();
  Created c;
  c.pid = pid;
  c.sync = std::move(parent_sync);
  c.state = std::move(st);
  c.spec = std::move(bundle.spec);
  return c;
}

void run_poststart(const oci::Spec& spec, const SavedState& st) {
  if (auto r = linux::run_hooks("poststart", spec.hooks.poststart,
                                internal::hook_state(st, Status::kRunning));
      !r)
    log::warn(r.error().what());
}

// Waits for the process to exit without being its parent (pidfd readable = exited).
void wait_gone(pid_t pid, uint64_t start_time) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return;
  UniqueFd guard(pidfd);
  if (process_start_time(pid) != start_time) return;
  struct pollfd p = {pidfd, POLLIN, 0};
  for (int i = 0; i < 100 && poll(&p, 1, 100) == 0; ++i) {
  }
}

// Kills every process of the container and waits for the init to be gone.
Result<void> kill_all_and_wait(const SavedState& st, Status status) {
  auto mgr = internal::cgroup_of(st);
  if (mgr) {
    auto pids = (*mgr)->pids();
    if (pids)
      for (pid_t p : *pids) ::kill(p, SIGKILL);
    if (status == Status::kPaused) (void)(*mgr)->thaw();
  }
  if (process_start_time(st.pid) == st.pid_start_time) ::kill(st.pid, SIGKILL);
  wait_gone(st.pid, st.pid_start_time);
  return ok();
}

// Runs poststop hooks (from `known` when the caller has the spec, else from the bundle), removes
// the cgroup and the state dir.
Result<void> destroy(const GlobalOptions& g, const SavedState& st,
                     const oci::Spec* known = nullptr) {
  Result<oci::Spec> loaded =
      known ? Result<oci::Spec>(oci::Spec{}) : internal::load_bundle_spec(st.bundle);
  const oci::Spec* spec = known ? known : (loaded ? &*loaded : nullptr);
  if (spec) {
    if (auto r = linux::run_hooks("poststop", spec->hooks.poststop,
                                  internal::hook_state(st, Status::kStopped));
        !r)
      log::warn(r.error().what());
  } else {
    log::warn("poststop hooks skipped: ", loaded.error().what());
  }
  if (!st.cgroup.is_null()) {
    auto mgr = TRY(internal::cgroup_of(st));
    TRY_CTX(mgr->destroy(), "remove the cgroup of ", quote(st.id));
  }
  return remove_tree(container_dir(g.root, st.id));
}

}  // namespace

Result<void> create(const GlobalOptions& g, const CreateOptions& o) {
  TRY(create_container(g, o, TRY(open_bundle(o.bundle)), StartGate::kFifo, -1));
  return ok();
}

Result<void> start(const GlobalOptions& g, const std::string& id) {
  auto lock = TRY(lock_container(g.root, id));
  auto l = TRY(internal::load(g, id));
  if (l.status == Status::kStopped) return error("cannot start a container that has stopped");
  if (l.status != Status::kCreated) return error("cannot start an already running container");
  auto spec = TRY(internal::load_bundle_spec(l.saved.bundle));
  std::string fifo_path = exec_fifo_path(g.root, id);
  UniqueFd fifo(::open(fifo_path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) {
    if (errno == ENXIO) return error("container not running");
    return errno_error("open ", quote(fifo_path));
  }
  if (::write(fifo.get(), "0", 1) != 1) return errno_error("write ", quote(fifo_path));
  ::unlink(fifo_path.c_str());
  // The init is the fifo's only reader and holds it O_CLOEXEC: the write end reports POLLERR
  // once it has exec'd (or died). Poststart hooks must run after the process has started.
  struct pollfd p = {fifo.get(), 0, 0};
  while (poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
  fifo.reset();
  bool zombie = false;
  if (process_start_time(l.saved.pid, &zombie) != l.saved.pid_start_time || zombie)
    return error("container ", quote(id), " failed to start (its init exited; see its stderr)");
  run_poststart(spec, l.saved);
  return ok();
}

Result<int> run(const GlobalOptions& g, const RunOptions& o) {
  // Foreground with a terminal and no console socket: we hold the pty master and proxy it.
  UniqueFd console_parent, console_child;
  bool own_pty = false;
  auto bundle = TRY(open_bundle(o.bundle));
  if (bundle.spec.process->terminal && o.console_socket.empty()) {
    if (o.detach) return error("cannot allocate a terminal with --detach and no --console-socket");
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
      return errno_error("socketpair");
    console_parent.reset(sv[0]);
    console_child.reset(sv[1]);
    own_pty = true;
  }
  SignalForwarder signals(!o.detach);

  auto c = TRY(create_container(g, o, std::move(bundle), StartGate::kSync,
                                own_pty ? console_child.get() : -1));
  console_child.reset();
  // A container that fails to start (startContainer hook, exec) is removed again, as runc does.
  Defer remove_unstarted([&] {
    ::kill(c.pid, SIGKILL);
    waitpid(c.pid, nullptr, 0);
    if (auto r = destroy(g, c.state, &c.spec); !r) log::warn(r.error().what());
  });
  UniqueFd master;
  if (own_pty) master = TRY(linux::recv_fd_over(console_parent.get()));
  TRY(c.sync.send(SyncMsg::kStart));
  // Started means exec'd: wait for the init's sync fd to close on execve (or for its error).
  TRY_CTX(c.sync.wait_closed(), "start container ", quote(o.id));
  remove_unstarted.cancel();
  run_poststart(c.spec, c.state);
  if (o.detach) return 0;

  // Proxy until the pty closes; signals stay blocked and are delivered after it.
  if (own_pty) linux::proxy_pty(master.get());
  Result<int> code = signals.wait(c.pid);
  // Also when the wait itself failed: a foreground container never outlives its `run`.
  if (!o.keep) {
    auto lock = lock_container(g.root, o.id);
    (void)kill_all_and_wait(c.state, Status::kStopped);
    if (auto r = destroy(g, c.state, &c.spec); !r) log::warn(r.error().what());
  }
  return code;
}

Result<void> kill(const GlobalOptions& g, const std::string& id, int signal, bool all) {
  auto l = TRY(internal::load(g, id));
  if (l.status == Status::kStopped) return error("container not running");
  if (all) {
    auto mgr = TRY(internal::cgroup_of(l.saved));
    auto pids = TRY(mgr->pids());
    for (pid_t p : pids) ::kill(p, signal);
    if (l.status == Status::kPaused && signal == SIGKILL) (void)mgr->thaw();
    return ok();
  }
  // A pidfd pins the process we checked: no signal to a recycled pid.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, l.saved.pid, 0));
  if (pidfd < 0) return error("container not running");
  UniqueFd guard(pidfd);
  if (process_start_time(l.saved.pid) != l.saved.pid_start_time)
    return error("container not running");
  if (syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0) < 0)
    return errno_error("kill container ", quote(id), " with signal ", signal);
  return ok();
}

Result<void> remove(const GlobalOptions& g, const std::string& id, bool force) {
  TRY(validate_id(id));
  // runc: deleting with --force what is already gone succeeds (containerd retries deletes).
  if (force && !path_exists(container_dir(g.root, id))) return ok();
  auto lock = TRY(lock_container(g.root, id));
  auto l = TRY(internal::load(g, id));
  if (l.status == Status::kRunning || l.status == Status::kPaused) {
    if (!force)
      return error("cannot delete container ", id, " that is not stopped: ", status_name(l.status));
  }
  if (l.status != Status::kStopped) TRY(kill_all_and_wait(l.saved, l.status));
  return destroy(g, l.saved);
}

Result<ContainerInfo> state(const GlobalOptions& g, const std::string& id) {
  auto l = TRY(internal::load(g, id));
  ContainerInfo i;
  i.id = l.saved.id;
  i.pid = l.saved.pid;
  i.status = l.status;
  i.bundle = l.saved.bundle;
  i.rootfs = l.saved.rootfs;
  i.created = l.saved.created;
  i.owner = l.saved.owner;
  i.annotations = l.saved.annotations;
  return i;
}

Result<std::vector<ContainerInfo>> list(const GlobalOptions& g) {
  std::vector<ContainerInfo> out;
  DIR* d = opendir(g.root.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return errno_error("open ", quote(g.root));
  }
  std::vector<std::string> ids;
  while (struct dirent* e = readdir(d))
    if (e->d_name[0] != '.' && e->d_type == DT_DIR) ids.emplace_back(e->d_name);
  closedir(d);
  std::sort(ids.begin(), ids.end());
  for (const auto& id : ids) {
    auto i = state(g, id);
    if (i)
      out.push_back(std::move(*i));
    else
      log::warn("skipping ", quote(id), ": ", i.error().what());
  }
  return out;
}

Result<std::vector<pid_t>> ps(const GlobalOptions& g, const std::string& id) {
  auto l = TRY(internal::load(g, id));
  auto mgr = TRY(internal::cgroup_of(l.saved));
  return mgr->pids();
}

Result<void> pause(const GlobalOptions& g, const std::string& id) {
  auto lock = TRY(lock_container(g.root, id));
  auto l = TRY(internal::load(g, id));
  if (l.status != Status::kRunning && l.status != Status::kCreated)
    return error("container not running");
  auto mgr = TRY(internal::cgroup_of(l.saved));
  return mgr->freeze();
}

Result<void> resume(const GlobalOptions& g, const std::string& id) {
  auto lock = TRY(lock_container(g.root, id));
  auto l = TRY(internal::load(g, id));
  if (l.status != Status::kPaused) return error("container not paused");
  auto mgr = TRY(internal::cgroup_of(l.saved));
  return mgr->thaw();
}

Result<void> update(const GlobalOptions& g, const std::string& id, const oci::Resources& r) {
  auto lock = TRY(lock_container(g.root, id));
  auto l = TRY(internal::load(g, id));
  if (l.status == Status::kStopped) return error("container not running");
  auto mgr = TRY(internal::cgroup_of(l.saved));
  return mgr->apply(r);
}

Result<cgroups::Stats> stats(const GlobalOptions& g, const std::string& id) {
  auto l = TRY(internal::load(g, id));
  if (l.status == Status::kStopped) return error("container not running");
  auto mgr = TRY(internal::cgroup_of(l.saved));
  return mgr->stats();
}

Result<uint64_t> oom_kill_count(const GlobalOptions& g, const std::string& id) {
  auto l = TRY(internal::load(g, id));
  auto mgr = TRY(internal::cgroup_of(l.saved));
  return mgr->oom_kill_count();
}

Result<int> parse_signal(std::string_view text) {
  if (auto n = parse_int<int>(text)) {
    if (*n <= 0 || *n >= NSIG) return error("invalid signal ", quote(text));
    return *n;
  }
  std::string name(text);
  for (auto& c : name) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  if (name.starts_with("SIG")) name = name.substr(3);
  for (int s = 1; s < NSIG; ++s) {
    const char* abbrev = sigabbrev_np(s);
    if (abbrev && name == abbrev) return s;
  }
  if (name.starts_with("RTMIN") || name.starts_with("RTMAX")) {
    int base = name.starts_with("RTMIN") ? SIGRTMIN : SIGRTMAX;
    std::string rest = name.substr(5);
    int off = rest.empty() ? 0 : parse_int<int>(rest).value_or(INT_MIN);
    if (off != INT_MIN && base + off >= SIGRTMIN && base + off <= SIGRTMAX) return base + off;
  }
  return error("unknown signal ", quote(text));
}

}  // namespace skiff::runtime
