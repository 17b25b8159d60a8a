// The wireguard-go backend: one `wireguard-go -f IFNAME` process per device, started detached
// (its own session, reparented to init, so it outlives `skiff net up`), with a pid file and a log
// under the state dir; configured through /var/run/wireguard/IFNAME.sock. Deleting the TUN link
// makes wireguard-go exit, which is how the device is removed.

#include <fcntl.h>
#include <signal.h>
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
    auto nl = TRY(nl::Netlink::open());
    bool existed = TRY(nl.delete_link(o_.ifname));
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

  // The pid still names our wireguard-go (pids get reused).
  bool is_ours(pid_t pid) const {
    auto cmdline = read_file(cat("/proc/", pid, "/cmdline"));
    return cmdline && cmdline->find("wireguard-go") != std::string::npos &&
           cmdline->find(o_.ifname) != std::string::npos;
  }

  // Double fork: the middle child starts a session and forks wireguard-go, reports its pid and
  // exits, so the daemon is init's child and never our zombie.
  Result<pid_t> spawn() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) return errno_error("pipe2");
    UniqueFd rd(fds[0]), wr(fds[1]);
    UniqueFd log(open(log_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!log) return errno_error("open ", quote(log_path()));
    pid_t middle = fork();
    if (middle < 0) return errno_error("fork");
    if (middle == 0) {
      setsid();
      pid_t daemon = fork();
      if (daemon == 0) {
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(log.get(), 1);
        dup2(log.get(), 2);
        syscall(SYS_close_range, 3, ~0U, 0);
        // Foreground keeps the pid we report; the variable silences its kernel-module banner.
        setenv("WG_PROCESS_FOREGROUND", "1", 1);
        execlp(o_.wireguard_go.c_str(), o_.wireguard_go.c_str(), "-f", o_.ifname.c_str(), nullptr);
        dprintf(2, "exec %s: %s\n", o_.wireguard_go.c_str(), strerror(errno));
        _exit(127);
      }
      int32_t v = daemon;
      (void)!write(wr.get(), &v, sizeof v);
      _exit(daemon < 0 ? 1 : 0);
    }
    wr.reset();
    int status = 0;
    while (waitpid(middle, &status, 0) < 0 && errno == EINTR) {
    }
    int32_t pid = -1;
    if (read(rd.get(), &pid, sizeof pid) != sizeof pid || pid <= 0)
      return error("could not start ", quote(o_.wireguard_go));
    return static_cast<pid_t>(pid);
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
