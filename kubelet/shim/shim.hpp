#pragma once
// skiff-shim: one per pod, the parent and subreaper (PR_SET_CHILD_SUBREAPER) of the pod's
// processes. It runs the pod engine in a poll loop (signalfd for SIGCHLD/SIGTERM, the containers'
// log pipes, the API socket, the engine's deadlines), checkpoints the status to
// <pod dir>/status.json on every change, and serves a JSON API on
// <run root>/pods/<uid>/shim.sock: one request line, one response line per connection:
//   {"op":"status"}                          -> {"ok":true,"status":{…}}
//   {"op":"stop","gracePeriodSeconds":N}      -> {"ok":true}   (N defaults to the pod's)
//   {"op":"attach","container":C,"stdin":B}   -> {"ok":true,"tty":T,"fds":["out","err","in"]}
// attach (kubectl attach, as containerd's shim holds a container's fifos and console): the
// response comes in one message with SCM_RIGHTS fds: the read ends of pipes the shim copies the
// container's stdout and stderr to from now on (EOF when the run ends; with a tty only "out"),
// and, when asked and the container has stdin: true, its input — the stdin pipe's write end or
// the pty master (write and resize only: the shim reads it). The connection stays open for the
// session; when it closes, a container with stdinOnce has its stdin closed.
// When the pod has ended and its sandbox is gone, the shim writes the final status and exits.
//
// Re-adoption: the checkpoint also holds the engine's state (runtime ids, pids, restart counts),
// and the container pipes' read ends are kept by the pod's fd store, so a shim started with
// --adopt after a crash takes over the running containers instead of starting them again. Their
// exit status cannot be had (the new shim is not their parent; whoever reaped them got it): an
// adopted container that ends is reported as the kubelet reports lost state — exit code 137,
// reason ContainerStatusUnknown (OOMKilled if its cgroup saw one).

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>

#include <sys/types.h>

#include "common/error.hpp"
#include "common/json_util.hpp"
#include "common/unique_fd.hpp"
#include "kubelet/shim/pod_record.hpp"

namespace skiff::kubelet {

struct ShimOptions {
  std::string pod_dir;
  int ready_fd = -1;  // "ok\n" once the sandbox is up, or "error: …\n"; then closed
  // Take over a pod whose shim died: from the checkpoint, with the running containers (same
  // pids) and their pipes from the pod's fd store (kubelet/engine/fd_store.hpp).
  bool adopt = false;
};

// Runs the pod to its end; returns the shim's exit status.
int run_shim(const ShimOptions& o);

// Sends one request to a shim and returns its response (an error when the shim is gone or
// answers {"ok":false,"error":…}).
Result<Json> shim_request(const std::string& socket_path, const Json& request,
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// An attach session from the shim (see above): `conn` ends it when closed.
struct ShimAttach {
  bool tty = false;
  UniqueFd conn, out, err, in;  // err: none with a tty; in: none without stdin
};
Result<ShimAttach> shim_attach(const std::string& socket_path, const std::string& container,
                               bool stdin);

// Starts a shim for the pod in `pod_dir`, detached from the caller (posix_spawn into a new
// session, stdio on /dev/null; the shim forks once more so it is not the caller's child), and
// waits until it reports the sandbox ready or fails (its message returned). Only fd 3 (the ready
// pipe) is inherited; signal mask and dispositions are reset.
Result<void> spawn_shim(const std::string& shim_binary, const std::string& pod_dir,
                        bool adopt = false);

// spawn_shim's work for a daemon that starts many pods (the kubelet): one skiff-shim started
// once (`--zygote`, sealed as spawn_shim seals the shim) forks each pod's shim on request, so a
// pod start costs a fork of that small, idle, single-threaded process instead of the shim's
// exec, dynamic link and C++ start-up and a sealed view of the binary made per pod. The shims are
// the same as spawn_shim's — each in a session of its own, only its ready pipe inherited, named
// `skiff-shim --pod-dir DIR …` in ps — but the zygote's children (one fork, where spawn_shim's
// shim forks again to leave its spawner; the zygote ignores SIGCHLD, so the kernel reaps them,
// and they pass to init or the nearest subreaper when it ends). The zygote ends when this object
// does (it reads EOF on its socket); one that died, or whose binary was replaced on disk (an
// upgrade: new pods get the new shim, as with spawn_shim), is started again at the next request.
// Thread-safe: requests are sent one at a time, the waits for readiness overlap.
class ShimZygote {
 public:
  explicit ShimZygote(std::string shim_binary) : binary_(std::move(shim_binary)) {}
  ShimZygote(const ShimZygote&) = delete;
  ShimZygote& operator=(const ShimZygote&) = delete;
  ~ShimZygote();
  // spawn_shim(binary, pod_dir, adopt), through the zygote.
  Result<void> spawn(const std::string& pod_dir, bool adopt = false);
  pid_t pid() const { return pid_; }  // the zygote's (-1 before the first spawn)

  static constexpr size_t kMaxRequest = 8192;  // "0|1" + the pod directory
  static constexpr size_t kTitleRoom = 512;    // empty arguments: room for a shim's cmdline

 private:
  Result<void> start_locked();
  void stop_locked();
  std::string binary_;
  std::mutex mu_;
  UniqueFd sock_;
  pid_t pid_ = -1;
  std::array<int64_t, 4> started_from_{};  // binary_'s device, inode, size, mtime (ns)
};

// The zygote's side (skiff-shim --zygote FD ""…): serves requests on `sock` until EOF. Returns in
// each forked shim, with `o` filled (pod_dir, adopt, ready_fd 3) for it to run as `--detach`
// does, its command line written over `title` (the zygote's argument strings); in the zygote,
// only at the end (-1 in `o.ready_fd`: exit with the returned status).
int serve_zygote(int sock, ShimOptions& o, std::span<char> title);

// A new pod on the node's roots: its state directory and record (pod.json) from the manifest
// (`text`, named `source` in messages), then its shim (spawn_shim); returns once the sandbox is up.
// A failure removes the directory and the pod's logs. `skiff-pod run` and the kubelet (in-process:
// no skiff-pod exec per pod) both start pods here.
Result<PodRecord> create_pod(const NodeConfig& node, const Manifest& m, const std::string& text,
                             const std::string& source, const std::string& shim_binary);
// The same, with the shim started by `spawn` (a ShimZygote's).
Result<PodRecord> create_pod(const NodeConfig& node, const Manifest& m, const std::string& text,
                             const std::string& source,
                             const std::function<Result<void>(const std::string&)>& spawn);

}  // namespace skiff::kubelet
