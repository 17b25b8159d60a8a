#include "kubelet/shim/shim.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include "common/defer.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/resident.hpp"
#include "kubelet/engine/fd_store.hpp"
#include "kubelet/engine/pod_engine.hpp"
#include "kubelet/shim/pod_record.hpp"
#include "runtime/linux/self_exe.hpp"
#include "runtime/linux/sync.hpp"

extern char** environ;

namespace skiff::kubelet {
namespace {

// The descriptors a received message carries (SCM_RIGHTS), owned.
std::vector<UniqueFd> received_fds(struct msghdr& msg) {
  std::vector<UniqueFd> fds;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); ++i) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        fds.emplace_back(fd);
      }
  return fds;
}

// Reads one line with a deadline (a client that sends nothing cannot hang the shim for long).
Result<std::string> read_line(int fd, int timeout_ms) {
  std::string line;
  char buf[4096];
  while (line.find('\n') == std::string::npos) {
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, timeout_ms);
    if (n == 0) return error("timed out reading a request");
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("poll");
    }
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno_error("read");
    }
    if (r == 0) break;
    line.append(buf, static_cast<size_t>(r));
    if (line.size() > (1 << 20)) return error("request too long");
  }
  return line.substr(0, line.find('\n'));
}

void report(int& fd, const std::string& text) {
  if (fd < 0) return;
  (void)write_all(fd, text + "\n");
  ::close(fd);
  fd = -1;
}

void checkpoint(const std::string& pod_dir, const PodEngine& e) {
  Json j = {{"status", e.status()},
            {"shimPid", e.finished() ? 0 : getpid()},
            {"finished", e.finished()},
            {"sandbox", e.sandbox().to_json()},
            {"engine", e.save_state()}};
  if (auto r = write_file_atomic(pod_dir + "/status.json", j.dump(2) + "\n", 0644, false); !r)
    log::warn("checkpoint: ", r.error().what());
}

// A kubectl attach session (shim.hpp): the tee pipes' write ends, the kubelet's connection.
struct AttachSession {
  std::string container, run_id;
  UniqueFd conn, out, err;
  bool stdin_once = false;  // it had the stdin of a stdinOnce container
};

// One message: `line` with `fds` as SCM_RIGHTS.
Result<void> send_with_fds(int sock, const std::string& line, const std::vector<int>& fds) {
  struct msghdr msg {};
  struct iovec iov = {const_cast<char*>(line.data()), line.size()};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("send the attach response");
  if (static_cast<size_t>(n) != line.size()) return error("short attach response");
  return ok();
}

// {"op":"attach"}: pipes for the output from now on, the input when asked; the session is kept.
std::optional<AttachSession> attach(UniqueFd client, PodEngine& engine, const Json& req) {
  std::string name = req.value("container", "");
  auto refuse = [&](const std::string& why) {
    (void)write_all(client.get(), Json{{"ok", false}, {"error", why}}.dump() + "\n");
    return std::nullopt;
  };
  const ContainerRun* r = engine.running_container(name);
  if (!r) return refuse(cat("container ", json_quote(name), " is not running"));
  AttachSession s;
  s.container = name;
  s.run_id = r->id;
  bool tty = r->spec->tty;
  Json names = Json::array();
  std::vector<UniqueFd> theirs;
  for (UniqueFd* mine : {&s.out, &s.err}) {
    if (mine == &s.err && tty) break;
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return refuse(errno_error("pipe").what());
    mine->reset(p[1]);
    theirs.emplace_back(p[0]);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);  // room for a burst while the client reads
    names.push_back(mine == &s.out ? "out" : "err");
  }
  if (req.value("stdin", false) && r->in) {
    theirs.emplace_back(fcntl(r->in.get(), F_DUPFD_CLOEXEC, 3));
    if (!theirs.back()) return refuse(errno_error("dup the container's stdin").what());
    names.push_back("in");
    s.stdin_once = r->spec->stdin_once;
  }
  std::vector<int> fds;
  for (const auto& fd : theirs) fds.push_back(fd.get());
  Json response = {{"ok", true}, {"tty", tty}, {"fds", names}};
  if (auto sent = send_with_fds(client.get(), response.dump() + "\n", fds); !sent) {
    log::warn("attach to ", quote(name), ": ", sent.error().what());
    return std::nullopt;
  }
  fcntl(client.get(), F_SETFL, O_NONBLOCK);
  s.conn = std::move(client);
  log::info("attach to ", quote(name), names.dump());
  return s;
}

std::optional<AttachSession> serve(int client_fd, PodEngine& engine) {
  UniqueFd client(client_fd);
  int flags = fcntl(client.get(), F_GETFL);
  fcntl(client.get(), F_SETFL, flags & ~O_NONBLOCK);
  Json response;
  auto line = read_line(client.get(), 2000);
  if (!line) {
    response = {{"ok", false}, {"error", line.error().what()}};
  } else {
    auto req = parse_json(*line, "request");
    std::string op = req && req->is_object() ? req->value("op", "") : "";
    if (!req) {
      response = {{"ok", false}, {"error", req.error().what()}};
    } else if (op == "status") {
      response = {{"ok", true}, {"status", engine.status()}, {"pid", getpid()}};
    } else if (op == "stop") {
      int64_t grace = engine.manifest().pod.spec.termination_grace_period_seconds;
      if (req->contains("gracePeriodSeconds") && (*req)["gracePeriodSeconds"].is_number_integer())
        grace = (*req)["gracePeriodSeconds"].get<int64_t>();
      engine.stop(Duration(grace * 1000));
      response = {{"ok", true}};
    } else if (op == "attach") {
      return attach(std::move(client), engine, *req);
    } else {
      response = {{"ok", false}, {"error", cat("unknown op ", json_quote(op))}};
    }
  }
  (void)write_all(client.get(), response.dump() + "\n");
  return std::nullopt;
}

}  // namespace

int run_shim(const ShimOptions& o) {
  int ready_fd = o.ready_fd;
  auto record = load_pod_record(o.pod_dir);
  if (!record) {
    report(ready_fd, "error: " + record.error().what());
    return 1;
  }
  log::Options lo;
  lo.level = log::Level::kInfo;
  lo.path = o.pod_dir + "/shim.log";
  lo.component = "skiff-shim";
  log::configure(lo);
  auto manifest = record->manifest();
  if (!manifest) {
    report(ready_fd, "error: " + manifest.error().what());
    return 1;
  }
  // Orphaned processes of the pod come to us, so every exit is seen and reaped.
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
    report(ready_fd, "error: " + errno_error("PR_SET_CHILD_SUBREAPER").what());
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  UniqueFd sfd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));

  SteadyClock clock;
  std::vector<AttachSession> sessions;
  PodEngine engine(record->node, std::move(*manifest), clock);
  bool dirty = true;
  engine.set_on_change([&] { dirty = true; });
  // Attach sessions get the output as it is logged; a client that falls 1 MiB behind (or left)
  // loses its session's output.
  engine.set_on_output([&](const ContainerRun& r, int stream, std::string_view data) {
    for (auto& s : sessions) {
      if (s.run_id != r.id) continue;
      UniqueFd& fd = stream == 1 ? s.out : s.err;
      if (!fd) continue;
      if (data.empty()) {
        fd.reset();
      } else if (::write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
        log::warn("attach to ", quote(s.container),
                  ": the client does not keep up, its output ends");
        s.out.reset();
        s.err.reset();
      }
    }
  });
  std::string sock_path = record->node.shim_socket(record->uid);
  std::string run_dir = record->node.shim_run_dir(record->uid);
  auto made = mkdir_p(run_dir, 0700);
  Result<UniqueFd> listener =
      made ? runtime::linux::listen_unix(sock_path, 16, 0600) : Result<UniqueFd>(made.error());
  if (!listener) {
    report(ready_fd, "error: shim socket: " + listener.error().what());
    (void)remove_tree(run_dir);
    return 1;
  }
  std::string store_path = run_dir + "/fds.sock";
  // Adopted containers: not our children, watched through pidfds.
  std::vector<std::pair<pid_t, UniqueFd>> adopted;
  auto fail = [&](const std::string& what) {
    log::error("pod ", quote(record->name), ": ", what);
    report(ready_fd, "error: " + what);
    listener->reset();
    if (!o.adopt) {
      fd_store::shutdown();
      (void)remove_tree(run_dir);
    }
    return 1;
  };
  if (o.adopt) {
    auto saved = read_json_file(o.pod_dir + "/status.json");
    if (!saved || !saved->contains("engine") || !saved->contains("sandbox"))
      return fail("no checkpoint to re-adopt the pod from in " + quote(o.pod_dir));
    if (auto c = fd_store::connect(store_path); !c)
      log::warn("re-adopt: ", c.error().what(), " (the containers' output since is lost)");
    auto pids = engine.adopt((*saved)["engine"], Sandbox::from_json((*saved)["sandbox"]));
    if (!pids) return fail("re-adopt: " + pids.error().what());
    for (pid_t pid : *pids) {
      UniqueFd fd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
      if (!fd)
        engine.on_adopted_exit(pid);  // gone since the check
      else
        adopted.emplace_back(pid, std::move(fd));
    }
    log::info("pod ", quote(record->name), " re-adopted: ", adopted.size(),
              " running container(s)");
  } else {
    // The pause serves the pod's fd store on this socket.
    auto store = fd_store::listen(store_path);
    if (!store)
      log::warn("fd store: ", store.error().what(), " (a shim crash will lose the pipes)");
    if (auto started = engine.start(store ? store->get() : -1); !started)
      return fail(started.error().what());
    if (store) {
      store->reset();
      if (auto c = fd_store::connect(store_path); !c)
        log::warn("fd store: ", c.error().what(), " (a shim crash will lose the pipes)");
    }
    log::info("pod ", quote(record->name), " sandbox ready (ip ", engine.sandbox().pod_ip, ")");
  }
  report(ready_fd, "ok");

  // Set-up code (sandbox, container creation) ran once, and a status request or a restart touches
  // code the idle loop does not: 2 s after start, and 2 s after the first event since the last
  // time, the code pages leave the resident set and what runs next comes back as it runs
  // (common/resident.hpp; ~50 us a time, so at most every 2 s even when probes keep it busy).
  using SteadyClock = std::chrono::steady_clock;
  auto next_trim = SteadyClock::now() + std::chrono::seconds(2);
  bool trim_pending = true;
  while (true) {
    engine.tick();
    // The final checkpoint (finished) is written once the shim has cleaned up, below.
    if (dirty && !engine.finished()) {
      checkpoint(o.pod_dir, engine);
      dirty = false;
    }
    if (engine.finished()) break;
    std::vector<struct pollfd> fds = {{sfd.get(), POLLIN, 0}, {listener->get(), POLLIN, 0}};
    for (const auto& p : engine.poll_fds()) fds.push_back(p);  // logs, probes, hooks
    size_t engine_end = fds.size();
    for (const auto& a : adopted) fds.push_back({a.second.get(), POLLIN, 0});
    size_t adopted_end = fds.size();
    for (const auto& s : sessions) fds.push_back({s.conn.get(), POLLIN, 0});
    int timeout = -1;
    if (auto next = engine.next_deadline()) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*next - clock.now()).count();
      timeout = static_cast<int>(std::clamp<int64_t>(ms, 0, 60'000));
    }
    if (trim_pending) {
      auto now = SteadyClock::now();
      if (now >= next_trim) {
        drop_resident_code();
        trim_pending = false;
      } else {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next_trim - now).count();
        int until = static_cast<int>(ms) + 1;
        timeout = timeout < 0 ? until : std::min(timeout, until);
      }
    }
    int n = poll(fds.data(), fds.size(), timeout);
    if (n > 0 && !trim_pending) {
      trim_pending = true;
      next_trim = SteadyClock::now() + std::chrono::seconds(2);
    }
    if (n < 0 && errno != EINTR) {
      log::error(errno_error("poll").what());
      break;
    }
    if (n <= 0) continue;
    // Output first: a container's last lines are read before its exit is handled.
    for (size_t i = 2; i < engine_end; ++i)
      if (fds[i].revents) engine.on_readable(fds[i].fd);
    // An adopted container ended: its pidfd is readable.
    for (size_t i = engine_end; i < adopted_end; ++i)
      if (fds[i].revents) {
        adopted[i - engine_end].second.reset();
        engine.on_adopted_exit(adopted[i - engine_end].first);
      }
    std::erase_if(adopted, [](const auto& a) { return !a.second; });
    // An attach session's client left (its connection closed): stdinOnce closes the stdin.
    for (size_t i = adopted_end; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      AttachSession& s = sessions[i - adopted_end];
      char buf[256];
      ssize_t r = ::read(s.conn.get(), buf, sizeof buf);
      if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EINTR))) continue;
      log::info("attach to ", quote(s.container), " ended");
      if (s.stdin_once) engine.close_stdin(s.container);
      s.conn.reset();
    }
    std::erase_if(sessions, [](const AttachSession& s) { return !s.conn; });
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (::read(sfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGCHLD) continue;
        log::info("signal ", si.ssi_signo, ": stopping the pod");
        engine.stop(Duration(engine.manifest().pod.spec.termination_grace_period_seconds * 1000));
      }
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) engine.on_child_exit(pid, status);
    }
    if (fds[1].revents & POLLIN) {
      int c;
      while ((c = accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC)) >= 0)
        if (auto s = serve(c, engine)) sessions.push_back(std::move(*s));
    }
  }
  listener->reset();
  ::unlink(sock_path.c_str());
  fd_store::shutdown();
  (void)remove_tree(run_dir);
  checkpoint(o.pod_dir, engine);
  // Reap what is left (the pause process after teardown).
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  log::info("pod ", quote(record->name), " ended: ", phase_name(engine.phase()));
  return 0;
}

Result<Json> shim_request(const std::string& socket_path, const Json& request,
                          std::chrono::milliseconds timeout) {
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    return error("socket path too long: ", quote(socket_path));
  strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  if (::connect(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0)
    return errno_error("connect to the shim at ", quote(socket_path));
  TRY(write_all(fd.get(), request.dump() + "\n"));
  auto line = TRY_CTX(read_line(fd.get(), static_cast<int>(timeout.count())), "shim response");
  auto j = TRY(parse_json(line, "shim response"));
  if (!j.is_object() || !j.value("ok", false))
    return error("shim: ", j.is_object() ? j.value("error", line) : line);
  return j;
}

Result<ShimAttach> shim_attach(const std::string& socket_path, const std::string& container,
                               bool stdin) {
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    return error("socket path too long: ", quote(socket_path));
  strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  ShimAttach a;
  a.conn.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!a.conn) return errno_error("socket");
  if (::connect(a.conn.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0)
    return errno_error("connect to the shim at ", quote(socket_path));
  Json req = {{"op", "attach"}, {"container", container}, {"stdin", stdin}};
  TRY(write_all(a.conn.get(), req.dump() + "\n"));
  struct pollfd p = {a.conn.get(), POLLIN, 0};
  if (poll(&p, 1, 5000) <= 0) return error("the shim did not answer the attach request");
  // The response line and its fds come in one message (send_with_fds).
  char buf[4096];
  struct iovec iov = {buf, sizeof buf};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(a.conn.get(), &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("read the shim's attach response");
  std::vector<UniqueFd> fds = received_fds(msg);
  std::string line(buf, static_cast<size_t>(n));
  auto j = TRY(parse_json(line.substr(0, line.find('\n')), "shim attach response"));
  if (!j.is_object() || !j.value("ok", false))
    return error(j.is_object() ? j.value("error", line) : line);
  a.tty = j.value("tty", false);
  const Json& names = j.contains("fds") ? j["fds"] : Json::array();
  if (!names.is_array() || names.size() != fds.size())
    return error("the shim's attach response names ", names.dump(), " but carries ", fds.size(),
                 " fds");
  for (size_t i = 0; i < fds.size(); ++i) {
    std::string what = names[i].is_string() ? names[i].get<std::string>() : "";
    (what == "out" ? a.out : what == "err" ? a.err : a.in) = std::move(fds[i]);
  }
  return a;
}

namespace {

// posix_spawn of the shim binary with `args` (after argv[0]) in a new session, `fd3` as its
// fd 3; the caller reaps it. Through `sealed` when there is one (fd 4 in the child, exec'd through
// /proc/self/fd/4; the shim closes it), else the path (the shim then seals itself).
//
// posix_spawn (a vfork-like clone), not fork: the caller may be a multi-threaded daemon (the
// kubelet) whose fork copies page tables and malloc arenas and leaves it copy-on-write faults —
// measured ~10 ms of the kubelet's CPU per pod in the 30-pod burst. Nothing of the caller's
// survives into the child but fd 3: stdio on /dev/null, every other descriptor closed (a
// daemon's sockets without O_CLOEXEC would otherwise live on in every pod's shim), no signal
// mask, every signal at its default (ignored ones survive execve), a new session, "/" as
// working directory.
Result<pid_t> spawn_shim_process(const std::string& shim_binary, std::vector<const char*> args,
                                 int fd3, int sealed) {
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) return errno_error("open /dev/null");
  constexpr int kFd3 = 3, kSealedFd = 4;
  std::vector<const char*> argv = {"skiff-shim"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  Defer free_spawn([&] {
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  });
  // The dup2 actions run in order: no source may be one of their targets (0..4).
  int null_fd = null.get();
  UniqueFd moved[3];
  int* sources[] = {&null_fd, &fd3, &sealed};
  for (int i = 0; i < 3; ++i)
    if (*sources[i] >= 0 && *sources[i] <= kSealedFd) {
      moved[i] = UniqueFd(fcntl(*sources[i], F_DUPFD_CLOEXEC, kSealedFd + 1));
      if (!moved[i]) return errno_error("fcntl F_DUPFD");
      *sources[i] = moved[i].get();
    }
  for (int fd = 0; fd < 3; ++fd) posix_spawn_file_actions_adddup2(&fa, null_fd, fd);
  posix_spawn_file_actions_adddup2(&fa, fd3, kFd3);
  if (sealed >= 0) posix_spawn_file_actions_adddup2(&fa, sealed, kSealedFd);
  posix_spawn_file_actions_addclosefrom_np(&fa, sealed >= 0 ? kSealedFd + 1 : kSealedFd);
  posix_spawn_file_actions_addchdir_np(&fa, "/");
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::string path = sealed >= 0 ? "/proc/self/fd/4" : shim_binary;
  pid_t pid = -1;
  if (int e =
          posix_spawn(&pid, path.c_str(), &fa, &attr, const_cast<char**>(argv.data()), environ)) {
    errno = e;
    return errno_error("exec ", quote(shim_binary));
  }
  return pid;
}

// Reads the shim's ready pipe to its end (every write end closed): "ok", or its error.
Result<void> await_ready(const UniqueFd& rd, const std::string& pod_dir) {
  std::string answer;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(rd.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) answer.append(buf, static_cast<size_t>(n));
  std::string_view a = trim(answer);
  if (a == "ok") return ok();
  if (a.starts_with("error: ")) return Error(std::string(a.substr(7)));
  return error("the shim exited without reporting (see ", quote(pod_dir + "/shim.log"), ")");
}

void reap(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

Result<void> spawn_shim(const std::string& shim_binary, const std::string& pod_dir, bool adopt) {
  // The shim runs from a read-only view of its binary (CVE-2019-5736). Made here, the shim starts
  // sealed and need not re-exec itself to get one: one exec and dynamic link less per pod (~5 ms
  // of CPU here). Without one, the shim seals itself.
  auto sealed = runtime::linux::seal_binary_best(shim_binary);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  // The shim forks once more (--detach) so that it is not the caller's child; that first process
  // exits at once and is reaped here.
  pid_t pid = TRY(spawn_shim_process(shim_binary,
                                     {"--pod-dir", pod_dir.c_str(), "--ready-fd", "3", "--adopt",
                                      adopt ? "1" : "0", "--detach", "1"},
                                     wr.get(), sealed ? sealed->get() : -1));
  wr.reset();
  reap(pid);
  return await_ready(rd, pod_dir);
}

ShimZygote::~ShimZygote() {
  std::lock_guard lock(mu_);
  stop_locked();
}

void ShimZygote::stop_locked() {
  if (pid_ <= 0) return;
  sock_.reset();  // the zygote reads EOF and exits
  reap(pid_);
  pid_ = -1;
}

namespace {

// What tells a replaced binary from the one a zygote runs: device, inode, size, mtime.
std::array<int64_t, 4> file_identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0) return {};
  return {static_cast<int64_t>(st.st_dev), static_cast<int64_t>(st.st_ino),
          static_cast<int64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

}  // namespace

Result<void> ShimZygote::start_locked() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return errno_error("socketpair");
  UniqueFd ours(sv[0]), theirs(sv[1]);
  started_from_ = file_identity(binary_);
  auto sealed = runtime::linux::seal_binary_best(binary_);
  std::vector<const char*> args = {"--zygote", "3"};
  args.resize(args.size() + kTitleRoom, "");  // room for each shim's command line
  pid_ =
      TRY(spawn_shim_process(binary_, std::move(args), theirs.get(), sealed ? sealed->get() : -1));
  sock_ = std::move(ours);
  return ok();
}

Result<void> ShimZygote::spawn(const std::string& pod_dir, bool adopt) {
  if (pod_dir.size() + 1 > kMaxRequest)
    return error("pod directory path too long: ", quote(pod_dir));
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  std::string req = (adopt ? "1" : "0") + pod_dir;
  bool sent = false;
  {
    std::lock_guard lock(mu_);
    // A zygote that died (killed, say) or runs a replaced binary is started again; one that
    // cannot be started or dies at once leaves the pod to spawn_shim, whose error, if any, names
    // the cause.
    if (pid_ > 0 && file_identity(binary_) != started_from_) {
      log::info("skiff-shim ", quote(binary_), " changed on disk: starting a new shim zygote");
      stop_locked();
    }
    for (int attempt = 0; attempt < 2 && !sent; ++attempt) {
      if (pid_ <= 0) {
        if (auto started = start_locked(); !started) {
          log::warn("start the shim zygote: ", started.error().what());
          break;
        }
      }
      if (auto r = runtime::linux::send_fd_over(sock_.get(), wr.get(), req); r) {
        sent = true;
      } else {
        log::warn(r.error().wrap(cat("the shim zygote (pid ", pid_, ")")).what());
        stop_locked();
      }
    }
  }
  if (!sent) return spawn_shim(binary_, pod_dir, adopt);
  wr.reset();  // the zygote and the shim hold the write end now
  return await_ready(rd, pod_dir);
}

namespace {

// The forked shim's command line as spawn_shim's reads in ps and pgrep -f, written over the
// zygote's own argument strings (setproctitle's way; PR_SET_MM would need CAP_SYS_RESOURCE, which
// containerised nodes and this CI lack): the zygote is started with kTitleRoom empty arguments
// after its own, room for "skiff-shim --pod-dir DIR …" (a longer one is cut short). The rest of
// the area is zeroed.
void set_cmdline(std::span<char> area, const std::vector<std::string_view>& args) {
  size_t len = 0;
  for (auto a : args) {
    size_t n = std::min(a.size(), area.size() - len - 1);
    memcpy(area.data() + len, a.data(), n);
    len += n;
    area[len++] = '\0';
    if (len + 1 >= area.size()) break;
  }
  std::fill(area.begin() + static_cast<ptrdiff_t>(len), area.end(), '\0');
}

void report(int ready_fd, std::string_view what) {
  std::string msg = cat("error: ", what, "\n");
  (void)!::write(ready_fd, msg.data(), msg.size());
}

}  // namespace

int serve_zygote(int sock, ShimOptions& o, std::span<char> title) {
  prctl(PR_SET_NAME, "skiff-zygote");
  // The shims are its children (one fork a pod, not spawn_shim's two): the kernel reaps them.
  ::signal(SIGCHLD, SIG_IGN);
  for (;;) {
    char buf[ShimZygote::kMaxRequest];
    struct iovec iov = {buf, sizeof buf};
    alignas(struct cmsghdr) char ctl[CMSG_SPACE(4 * sizeof(int))];
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl;
    msg.msg_controllen = sizeof ctl;
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 1;
    if (n == 0) return 0;  // the kubelet is gone
    std::vector<UniqueFd> fds = received_fds(msg);
    if (fds.empty()) continue;  // nowhere to answer
    if (fds.size() != 1 || n < 2 || (buf[0] != '0' && buf[0] != '1') ||
        (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
      report(fds[0].get(), "malformed request to the shim zygote");
      continue;
    }
    pid_t pid = fork();
    if (pid < 0) {
      report(fds[0].get(), cat("fork the shim: ", strerror(errno)));
      continue;
    }
    if (pid > 0) continue;  // `fds` closes our copy of the ready pipe
    // The shim: in a session of its own, SIGCHLD at its default again (its containers' exits
    // must reach it), its ready pipe on fd 3 (the zygote's socket was there), nothing else but
    // stdio.
    ::signal(SIGCHLD, SIG_DFL);
    (void)setsid();
    int ready = fds[0].release();
    if (ready == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(ready, 3) < 0) {
      report(ready, cat("set up the ready pipe: ", strerror(errno)));
      _exit(1);
    }
    syscall(SYS_close_range, 4, ~0U, 0);  // the socket too, if it was not fd 3
    o.pod_dir.assign(buf + 1, static_cast<size_t>(n - 1));
    o.adopt = buf[0] == '1';
    o.ready_fd = 3;
    set_cmdline(title, {"skiff-shim", "--pod-dir", o.pod_dir, "--ready-fd", "3", "--adopt",
                        o.adopt ? "1" : "0"});
    return 0;
  }
}

Result<PodRecord> create_pod(const NodeConfig& node, const Manifest& m, const std::string& text,
                             const std::string& source,
                             const std::function<Result<void>(const std::string&)>& spawn) {
  PodRecord rec;
  rec.uid = m.pod.uid;
  rec.name = m.pod.name;
  rec.namespace_ = m.pod.namespace_;
  rec.manifest_text = text;
  rec.manifest_name = source;
  rec.node = node;
  std::string dir = node.pod_dir(rec.uid);
  TRY(mkdir_p(node.state_root, 0700));
  if (::mkdir(dir.c_str(), 0700) < 0) return errno_error("create ", quote(dir));
  auto cleanup = [&] {
    (void)remove_tree(dir);
    (void)remove_tree(node.log_dir(rec.namespace_, rec.name, rec.uid));
  };
  if (auto saved = save_pod_record(dir, rec); !saved) {
    cleanup();
    return std::move(saved).error();
  }
  if (auto spawned = spawn(dir); !spawned) {
    cleanup();
    return spawned.error().wrap(cat("pod ", quote(rec.name)));
  }
  return rec;
}

Result<PodRecord> create_pod(const NodeConfig& node, const Manifest& m, const std::string& text,
                             const std::string& source, const std::string& shim_binary) {
  return create_pod(node, m, text, source,
                    [&](const std::string& dir) { return spawn_shim(shim_binary, dir); });
}

}  // namespace skiff::kubelet
