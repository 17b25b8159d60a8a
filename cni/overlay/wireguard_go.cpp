// The wireguard-go backend: one `wireguard-go -f IFNAME` process per device, started detached
// (its own session, reparented to init, so it outlives `skiff net up`), with a pid file and a log
// under the state dir; configured through /var/run/wireguard/IFNAME.sock. Deleting the TUN link
// makes wireguard-go exit, which is how the device is removed.

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "cni/netlink/netlink.hpp"
#include "cni/overlay/backend.hpp"
#include "cni/overlay/uapi.hpp"
#include "common/fs.hpp"
#include "common/unique_fd.hpp"

namespace skiff::cni::overlay {

namespace {

using namespace std::chrono_literals;

class WireguardGoBackend : public Backend {
 public:
  explicit WireguardGoBackend(BackendOptions o) : o_(std::move(o)) {}

  std::string name() const override { return "wireguard-go"; }

  Result<bool> device_exists() override {
    auto r = uapi::request(socket_path(), "get=1\n\n");
    if (r) return true;
    if (r.error().code() == ENOENT || r.error().code() == ECONNREFUSED) return false;
    return std::move(r).error();
  }

  Result<bool> ensure_device() override {
    if (TRY(device_exists())) return false;
    // A stale socket from a killed process would make wireguard-go refuse to start.
    unlink(socket_path().c_str());
    TRY(mkdir_p(o_.state_dir, 0700));
    pid_t pid = TRY(spawn());
    TRY(write_file_atomic(pid_path(), cat(pid, "\n"), 0600, false));
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (TRY(device_exists())) return true;
      if (kill(pid, 0) < 0 && errno == ESRCH) break;
      std::this_thread::sleep_for(5ms);
    }
    kill(pid, SIGKILL);
    auto log = read_file(log_path());
    return error("wireguard-go for ", quote(o_.ifname), " did not come up (log ", quote(log_path()),
                 "): ", log ? std::string(trim(*log)) : "no log");
  }

  Result<DeviceState> get() override {
    auto answer = TRY_CTX(uapi::request(socket_path(), "get=1\n\n"), "device ", quote(o_.ifname));
    return TRY_CTX(uapi::parse_get(answer), "device ", quote(o_.ifname));
  }

  Result<void> set(const DeviceConfig& config) override {
    auto answer = TRY_CTX(uapi::request(socket_path(), uapi::format_set(config)), "device ",
                          quote(o_.ifname));
    TRY_CTX(uapi::check_set_answer(answer), "configure ", quote(o_.ifname));
    return ok();
  }

  Result<bool> remove_device() override {
    // The supervisor first, so it does not bring back what we remove.
    bool existed = false;
    if (auto text = read_file(supervisor_path()); text)
      if (auto sup = parse_int<pid_t>(trim(*text)); sup && *sup > 0 && is_supervisor(*sup)) {
        existed = true;
        kill(*sup, SIGTERM);
        auto deadline = std::chrono::steady_clock::now() + 2s;
        while (std::chrono::steady_clock::now() < deadline && is_supervisor(*sup))
          std::this_thread::sleep_for(2ms);
        if (is_supervisor(*sup)) kill(*sup, SIGKILL);
      }
    unlink(supervisor_path().c_str());
    auto nl = TRY(nl::Netlink::open());
    if (TRY(nl.delete_link(o_.ifname))) existed = true;
    std::optional<pid_t> pid;
    if (auto text = read_file(pid_path()); text)
      if (auto n = parse_int<pid_t>(trim(*text)); n && *n > 0) pid = *n;
    if (pid && is_ours(*pid)) {
      // Without its TUN device wireguard-go shuts down by itself; give it a moment (a zombie
      // has no cmdline, so is_ours turns false as soon as it has exited).
      auto deadline = std::chrono::steady_clock::now() + 2s;
      while (std::chrono::steady_clock::now() < deadline && is_ours(*pid))
        std::this_thread::sleep_for(5ms);
      if (is_ours(*pid)) {
        existed = true;
        kill(*pid, SIGKILL);
      }
    }
    unlink(pid_path().c_str());
    if (unlink(socket_path().c_str()) == 0) existed = true;
    return existed;
  }

 private:
  std::string socket_path() const { return cat(o_.socket_dir, "/", o_.ifname, ".sock"); }
  std::string pid_path() const { return cat(o_.state_dir, "/", o_.ifname, ".pid"); }
  std::string log_path() const { return cat(o_.state_dir, "/", o_.ifname, ".log"); }
  std::string supervisor_path() const {
    return cat(o_.state_dir, "/", o_.ifname, ".supervisor.pid");
  }

  // The supervisor names itself kSupervisorComm (whichever program forked it: skiff-net, the
  // kubelet), so a reused pid is not mistaken for it.
  static constexpr const char* kSupervisorComm = "skiff-wg-sup";
  static bool is_supervisor(pid_t pid) {
    auto stat = read_file(cat("/proc/", pid, "/stat"));
    if (!stat) return false;
    auto close_paren = stat->rfind(')');
    if (close_paren == std::string::npos || close_paren + 2 >= stat->size()) return false;
    if ((*stat)[close_paren + 2] == 'Z') return false;
    auto comm = read_file(cat("/proc/", pid, "/comm"));
    return comm && trim(*comm) == kSupervisorComm;
  }

  // The pid still names our wireguard-go (pids get reused).
  bool is_ours(pid_t pid) const {
    auto cmdline = read_file(cat("/proc/", pid, "/cmdline"));
    return cmdline && cmdline->find("wireguard-go") != std::string::npos &&
           cmdline->find(o_.ifname) != std::string::npos;
  }

  // Double fork: the middle child starts a session, forks the supervisor and exits, so the
  // supervisor is init's child (never our zombie). The supervisor runs `wireguard-go -f`, reports
  // the first pid, and restarts it whenever it exits (backing off on a crash loop), calling
  // on_restart once the new device answers, until down() stops it with SIGTERM.
  Result<pid_t> spawn() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) return errno_error("pipe2");
    UniqueFd rd(fds[0]), wr(fds[1]);
    UniqueFd log(open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (!log) return errno_error("open ", quote(log_path()));
    pid_t middle = fork();
    if (middle < 0) return errno_error("fork");
    if (middle == 0) {
      setsid();
      pid_t sup = fork();
      if (sup == 0) {
        // Only the log and the report pipe survive: an inherited lock fd (up() holds the
        // overlay's flock) would stay locked as long as the supervisor lives.
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(log.get(), 1);
        dup2(log.get(), 2);
        dup2(wr.get(), 3);
        syscall(SYS_close_range, 4, ~0U, 0);
        _exit(supervise(3));
      }
      _exit(sup < 0 ? 1 : 0);
    }
    wr.reset();
    log.reset();
    int status = 0;
    while (waitpid(middle, &status, 0) < 0 && errno == EINTR) {
    }
    int32_t pids[2] = {-1, -1};
    if (read(rd.get(), pids, sizeof pids) != sizeof pids || pids[0] <= 0 || pids[1] <= 0)
      return error("could not start ", quote(o_.wireguard_go), " (log ", quote(log_path()), ")");
    TRY(write_file_atomic(supervisor_path(), cat(pids[0], "\n"), 0600, false));
    return static_cast<pid_t>(pids[1]);
  }

  static inline volatile sig_atomic_t stop_ = 0;

  // The supervisor's loop (its own process; stdout/stderr are the log).
  int supervise(int report_fd) {
    prctl(PR_SET_NAME, kSupervisorComm);
    struct sigaction sa {};
    sa.sa_handler = [](int) { stop_ = 1; };
    sigaction(SIGTERM, &sa, nullptr);  // no SA_RESTART: waitpid returns EINTR
    sigaction(SIGINT, &sa, nullptr);
    auto backoff = 100ms;
    for (bool first = true; !stop_; first = false) {
      pid_t daemon = fork();
      if (daemon < 0) return 1;
      if (daemon == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        close(report_fd);
        // Foreground keeps the pid we watch; the variable silences its kernel-module banner.
        setenv("WG_PROCESS_FOREGROUND", "1", 1);
        execlp(o_.wireguard_go.c_str(), o_.wireguard_go.c_str(), "-f", o_.ifname.c_str(), nullptr);
        dprintf(2, "exec %s: %s\n", o_.wireguard_go.c_str(), strerror(errno));
        _exit(127);
      }
      (void)write_file_atomic(pid_path(), cat(daemon, "\n"), 0600, false);
      if (first) {
        int32_t pids[2] = {getpid(), daemon};
        (void)!write(report_fd, pids, sizeof pids);
        close(report_fd);
      } else if (o_.on_restart) {
        // Once the new device answers, put its configuration back.
        for (int i = 0; i < 1000 && !stop_; ++i) {
          if (auto up = device_exists(); up && *up) break;
          std::this_thread::sleep_for(5ms);
        }
        if (!stop_) o_.on_restart();
      }
      auto started = std::chrono::steady_clock::now();
      int status = 0;
      while (waitpid(daemon, &status, 0) < 0 && errno == EINTR && !stop_) {
      }
      if (stop_) break;
      // Still the device's supervisor? (down, or another `up`, may have replaced us.)
      auto current = read_file(supervisor_path());
      if (!current || parse_int<pid_t>(trim(*current)) != getpid()) break;
      dprintf(2, "skiff-net: wireguard-go for %s exited (status %d); restarting\n",
              o_.ifname.c_str(), status);
      if (std::chrono::steady_clock::now() - started > 10s) backoff = 100ms;
      std::this_thread::sleep_for(backoff);
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
    }
    return 0;
  }

  BackendOptions o_;
};

}  // namespace

Result<std::unique_ptr<Backend>> make_wireguard_go_backend(const BackendOptions& options) {
  if (options.ifname.empty() || options.ifname.size() > 15 ||
      options.ifname.find('/') != std::string::npos)
    return Error(cat("interface name ", quote(options.ifname), ": want 1..15 characters, no '/'"),
                 EINVAL);
  return std::unique_ptr<Backend>(new WireguardGoBackend(options));
}

Result<std::unique_ptr<Backend>> make_backend(const BackendOptions& options) {
  if (options.kind == "kernel") return make_kernel_backend(options);
  if (options.kind == "wireguard-go") return make_wireguard_go_backend(options);
  if (options.kind != "auto")
    return Error(cat("backend ", quote(options.kind), ": want auto, kernel or wireguard-go"),
                 EINVAL);
  if (kernel_wireguard_available()) return make_kernel_backend(options);
  return make_wireguard_go_backend(options);
}

}  // namespace skiff::cni::overlay
