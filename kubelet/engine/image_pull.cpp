#include "kubelet/engine/image_pull.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "common/log.hpp"
#include "kubelet/engine/pod_engine.hpp"
#include "oci/image/images.hpp"
#include "oci/image/platform.hpp"
#include "oci/image/reference.hpp"

namespace skiff::kubelet {
namespace {

// How often a container whose image is being pulled is looked at again; the pull child's exit
// makes it due at once (PodEngine::on_child_exit), so this only bounds a missed wake-up.
constexpr Duration kPullPoll{200};
// How long ErrImagePull is shown before it becomes ImagePullBackOff (the kubelet's next sync).
constexpr Duration kErrShown{1000};
// The pull child's exit: the pull failed, the store's image is used.
constexpr int kUsedStored = 3;
// Always with the image stored: how long the registry may take to answer before the stored
// image is used (an offline host must not wait for DNS and connection timeouts on every pod).
constexpr std::chrono::milliseconds kAlwaysRefreshLimit{1500};

std::string pull_binary(const NodeConfig& c) {
  if (!c.pull_binary.empty()) return c.pull_binary;
  return find_helper_binary("skiff-pull", cat(SKIFF_BINARY_DIR, "/runtime/skiff-pull"));
}

std::string read_nonblocking(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

// IfNotPresent, a tag: the store's refs file is read here, without a child. A fork of the shim,
// its exit and a poll round cost ~2 ms of CPU and ~10 ms per pod start; reading refs.json needs
// none of the image code's libraries (a digest reference may need a stored index read and
// verified, with libcrypto: that stays in the pull child, as does every miss).
bool stored_here(const std::string& root, const std::string& image) {
  auto ref = image::parse_reference(image);
  if (!ref || ref->digest) return false;
  auto store = image::Store::open(root);
  return store && image::find_ref(*store, image, image::host_platform()).ok();
}

}  // namespace

bool registry_is_insecure(const std::string& reference, const std::vector<std::string>& insecure) {
  auto ref = image::parse_reference(reference);
  if (!ref) return false;
  const std::string& d = ref->domain;
  if (std::find(insecure.begin(), insecure.end(), d) != insecure.end()) return true;
  std::string host = d.substr(0, d.rfind(':') == std::string::npos ? d.size() : d.rfind(':'));
  return host == "localhost" || host.starts_with("127.");
}

ImagePuller::~ImagePuller() {
  cancel();
  for (auto& [image, s] : images_)
    if (s.err_fd >= 0) ::close(s.err_fd);
}

void ImagePuller::cancel() {
  for (auto& [image, s] : images_)
    if (s.pid > 0) ::kill(s.pid, SIGKILL);  // reaped by the owner's loop like any child
}

Result<void> ImagePuller::start_pull(const std::string& ref, ImageState& s, bool if_not_present) {
  std::string binary = pull_binary(config_);
  if (binary.empty()) return error("no skiff-pull binary (next to the shim or in the build tree)");
  // Everything the child needs is built before fork: it only execs (or exits).
  std::vector<std::string> argv = {binary, "--image-root", config_.image_root,
                                   "-q",   "--retries",    "1"};
  if (registry_is_insecure(ref, config_.insecure_registries)) argv.push_back("--insecure");
  if (!auth_file_.empty()) argv.insert(argv.end(), {"--authfile", auth_file_});
  argv.push_back(ref);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return errno_error("pipe");
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    ::close(p[0]);
    ::close(p[1]);
    errno = e;
    return errno_error("fork");
  }
  if (pid == 0) {
    // Not a pull that outlives its shim.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    if (if_not_present) {
      // IfNotPresent: the store is looked at here, so the shim never loads the image code's
      // libraries.
      auto store = image::Store::open(config_.image_root);
      if (store && image::find_ref(*store, ref, image::host_platform())) _exit(0);
    }
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
    }
    dup2(p[1], 2);
    // Always with the image already stored: the registry is asked for a newer one, for at most
    // kAlwaysRefreshLimit; past it (an unreachable or slow registry) the stored image is used.
    bool stored = false;
    if (!if_not_present) {
      auto store = image::Store::open(config_.image_root);
      stored = store && image::find_ref(*store, ref, image::host_platform()).ok();
    }
    pid_t puller = fork();
    if (puller == 0) {
      execv(args[0], args.data());
      std::string msg = errno_error("exec ", quote(args[0])).what();
      (void)!::write(2, msg.data(), msg.size());
      _exit(127);
    }
    int st = 0;
    auto limit = std::chrono::steady_clock::now() + kAlwaysRefreshLimit;
    while (puller > 0) {
      pid_t w = waitpid(puller, &st, stored ? WNOHANG : 0);
      if (w == puller || (w < 0 && errno != EINTR)) break;
      if (w == 0 && std::chrono::steady_clock::now() > limit) {
        ::kill(puller, SIGKILL);
        waitpid(puller, &st, 0);
        std::string msg = "the registry did not answer in time";
        (void)!::write(2, msg.data(), msg.size());
        break;
      }
      if (w == 0) usleep(10'000);
    }
    if (puller > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) _exit(0);
    // Always, and the registry failed: the stored image (podman's "--pull=newer").
    if (stored) _exit(kUsedStored);
    _exit(1);
  }
  ::close(p[1]);
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  s.pid = pid;
  s.err_fd = p[0];
  log::info("pulling image ", quote(ref), " (pid ", pid, ")");
  return ok();
}

PullGate ImagePuller::gate(const Container& c) {
  const std::string& policy = c.image_pull_policy;
  if (policy == "Never") return {};  // the bundle says ErrImageNeverPull when it is missing
  TimePoint now = clock_.now();
  ImageState& s = images_[c.image];
  if (!s.backoff) s.backoff = std::make_unique<Backoff>(clock_, config_.backoff);
  if (s.present) return {};
  auto pulling = [&]() -> PullGate {
    return {PullGate::State::kPulling, "", cat("pulling image ", quote(c.image)), now + kPullPoll};
  };
  if (s.pid > 0) return pulling();
  if (policy != "Always" && !s.retry_at && auth_error_.empty() &&
      stored_here(config_.image_root, c.image)) {
    s.present = true;
    log::info("image ", quote(c.image), " is present");
    return {};
  }
  if (s.retry_at && !s.last_error.empty()) {
    if (!s.shown_err) {
      s.shown_err = true;
      return {PullGate::State::kFailed, "ErrImagePull", s.last_error,
              std::min(*s.retry_at, now + kErrShown)};
    }
    if (now < *s.retry_at)
      return {PullGate::State::kFailed, "ImagePullBackOff",
              cat("Back-off pulling image ", quote(c.image), ": ", s.last_error), *s.retry_at};
  }
  auto started = auth_error_.empty() ? start_pull(c.image, s, policy != "Always")
                                     : Result<void>(error(auth_error_));
  if (!started) {
    s.last_error = started.error().what();
    s.retry_at = s.backoff->on_exit(now);
    s.shown_err = true;
    return {PullGate::State::kFailed, "ErrImagePull", s.last_error,
            std::min(*s.retry_at, now + kErrShown)};
  }
  return pulling();
}

bool ImagePuller::on_child_exit(pid_t pid, int status) {
  for (auto& [image, s] : images_) {
    if (s.pid != pid) continue;
    std::string err = s.err_fd >= 0 ? read_nonblocking(s.err_fd) : "";
    if (s.err_fd >= 0) ::close(s.err_fd);
    s.err_fd = -1;
    s.pid = 0;
    bool stored = WIFEXITED(status) && WEXITSTATUS(status) == kUsedStored;
    if (stored)
      log::warn("pull ", quote(image), " failed; the image in the store is used: ", trim(err));
    if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || stored)) {
      s.present = true;
      s.last_error.clear();
      s.retry_at.reset();
      log::info("image ", quote(image), " is present");
    } else {
      std::string msg(trim(err));
      if (msg.starts_with("skiff-pull: ")) msg = msg.substr(12);
      if (msg.starts_with("error: ")) msg = msg.substr(7);
      if (msg.empty())
        msg = WIFSIGNALED(status) ? cat("the pull was killed by signal ", WTERMSIG(status))
                                  : cat("the pull failed (exit ", WEXITSTATUS(status), ")");
      s.last_error = cat("failed to pull image ", quote(image), ": ", msg);
      s.retry_at = s.backoff->on_exit(clock_.now());
      s.shown_err = false;
      log::warn(s.last_error);
    }
    return true;
  }
  return false;
}

bool image_pulled(ImagePuller& puller, ContainerRun& r, bool* shown) {
  PullGate g = puller.gate(*r.spec);
  r.pull_wait = false;
  if (g.state == PullGate::State::kReady) return true;
  std::string reason = g.reason;
  // While a pull is under way the last pull error stays shown, as the kubelet's does.
  if (g.state == PullGate::State::kPulling)
    reason = r.reason == "ErrImagePull" || r.reason == "ImagePullBackOff" ? r.reason
                                                                          : "ContainerCreating";
  std::string message =
      g.state == PullGate::State::kPulling && reason != "ContainerCreating" ? r.message : g.message;
  *shown = r.state != ContainerRun::State::kWaiting || r.reason != reason || r.message != message;
  r.state = ContainerRun::State::kWaiting;
  r.reason = reason;
  r.message = message;
  r.next_start = g.retry_at;
  r.pull_wait = g.state == PullGate::State::kPulling;
  return false;
}

}  // namespace skiff::kubelet
