#pragma once
// Image pulls for the pod engine. imagePullPolicy as the kubelet reads it: IfNotPresent pulls only
// when the store lacks the image; Never needs it in the store (ErrImageNeverPull); Always pulls
// when the pod starts — with two deviations, both podman's ("--pull=newer"): the pull is done once
// per pod (per shim), not again on every restart, and when the registry cannot be reached but the
// store has the image (or the registry does not answer within 1.5 s), the stored image is used
// (a warning in the shim's log), so a host without a registry still runs `image: busybox`. A failed
// pull shows ErrImagePull, then ImagePullBackOff while it waits — the CrashLoopBackOff policy (10 s
// doubling to 300 s), per image.
//
// The pull runs in a child process (a fork of the shim that runs `skiff-pull`), never in the
// shim: the shim's loop is single-threaded and serves the pod's other containers, its API and its
// logs meanwhile, and its memory (paid once per pod) never maps libssl, Boost or the pull's
// threads. The shim reaps the child like any other and hands its exit to on_child_exit(); the
// engine asks again at the time the gate gives it.

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "kubelet/engine/config.hpp"
#include "kubelet/pod/backoff.hpp"
#include "kubelet/pod/pod.hpp"

namespace skiff::kubelet {

struct PullGate {
  enum class State { kReady, kPulling, kFailed };
  State state = State::kReady;
  std::string reason;    // kFailed: ErrImagePull | ImagePullBackOff
  std::string message;   // kPulling / kFailed
  TimePoint retry_at{};  // kPulling, kFailed: ask again then
};

class ImagePuller {
 public:
  ImagePuller(const NodeConfig& config, const Clock& clock) : config_(config), clock_(clock) {}
  ~ImagePuller();
  ImagePuller(const ImagePuller&) = delete;
  ImagePuller& operator=(const ImagePuller&) = delete;

  // May a container of `c` be created now? Containers that wait on one image share its pull.
  PullGate gate(const Container& c);
  // A reaped child: true when it was one of the pulls.
  bool on_child_exit(pid_t pid, int status);
  // Stops the pulls under way (the pod is stopping).
  void cancel();
  // The pod's registry credentials (pull_secrets.hpp): every pull gets --authfile `file`; a
  // non-empty `error` (the imagePullSecrets were malformed) fails every pull with it.
  void set_auth(std::string file, std::string error) {
    auth_file_ = std::move(file);
    auth_error_ = std::move(error);
  }

 private:
  struct ImageState {
    pid_t pid = 0;         // a pull under way
    int err_fd = -1;       // its stderr
    bool present = false;  // pulled (or found) once: enough for IfNotPresent
    std::string last_error;
    std::optional<TimePoint> retry_at;  // back-off after a failure
    bool shown_err = false;             // ErrImagePull was shown for the last failure
    std::unique_ptr<Backoff> backoff;
  };
  Result<void> start_pull(const std::string& image, ImageState& s, bool if_not_present);

  const NodeConfig& config_;
  const Clock& clock_;
  std::map<std::string, ImageState> images_;
  std::string auth_file_, auth_error_;
};

struct ContainerRun;

// The engine's gate before it creates a container: true when the image is there; else `r` waits
// (reason ErrImagePull or ImagePullBackOff with the error, or ContainerCreating while pulling)
// with next_start set to when to ask again, and `*shown` says whether its status changed.
bool image_pulled(ImagePuller& puller, ContainerRun& r, bool* shown);

// The registry a reference names is reached over plain HTTP: it is in `insecure` (host[:port]),
// or on loopback (localhost, 127.0.0.0/8), as Docker and containerd allow by default.
bool registry_is_insecure(const std::string& image, const std::vector<std::string>& insecure);

}  // namespace skiff::kubelet
