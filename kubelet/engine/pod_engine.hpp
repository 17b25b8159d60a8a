#pragma once
// The pod engine: one pod's lifecycle as Kubernetes defines it, driven by events from its owner
// (the shim's loop): the sandbox first, init containers one at a time to completion, then the main
// containers together; restarts by restartPolicy with CrashLoopBackOff; logs in CRI format from
// the containers' stdout/stderr pipes; stop = the stop signal, the grace period, SIGKILL, then the
// sandbox torn down. It is single-threaded and never blocks waiting for a container: the owner
// calls on_child_exit() for every reaped child, on_readable() for every log pipe that poll()
// reports, and tick() when next_deadline() passes. The containers are children of the calling
// process (the runtime clones them from it).

#include <poll.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"
#include "common/unique_fd.hpp"
#include "kubelet/engine/config.hpp"
#include "kubelet/engine/probe.hpp"
#include "kubelet/engine/probe_action.hpp"
#include "kubelet/engine/sandbox.hpp"
#include "kubelet/logs/cri_log.hpp"
#include "kubelet/pod/backoff.hpp"
#include "kubelet/pod/pod.hpp"

namespace skiff::kubelet {

class ImagePuller;

// One container of the pod across its restarts.
struct ContainerRun {
  const Container* spec = nullptr;
  bool init = false;
  bool sidecar = false;  // an init container with restartPolicy Always

  enum class State { kWaiting, kRunning, kTerminated };
  State state = State::kWaiting;
  std::string reason = "ContainerCreating", message;
  int restart_count = 0;
  bool started_once = false;
  bool done = false;                    // terminated and will not run again
  std::optional<TimePoint> next_start;  // back-off: not before
  // Waiting for its image's pull child: next_start is only the gate's re-check time, and the
  // child's exit makes the container due at once (was: up to 200 ms idle per pod start).
  bool pull_wait = false;
  std::unique_ptr<Backoff> backoff;

  // The current (or last) attempt.
  std::string id;      // the runtime's container id
  std::string bundle;  // its bundle dir
  pid_t pid = 0;
  int stop_signal = 15;  // the image's StopSignal, else SIGTERM
  TimePoint started_mono{};
  std::string started_at, finished_at;
  int exit_code = 0;
  Json last_state = Json::object();

  UniqueFd out, err, log;
  // stdin: true: the write end of the container's stdin pipe; tty: true: the pty master (a dup
  // of `out`, which reads it). kubectl attach writes the container's input there.
  UniqueFd in;
  std::string log_path;
  std::unique_ptr<CriStreamWriter> out_writer, err_writer;

  // Probes and hooks of the current attempt. `started`: postStart done and the startup probe
  // passed (the next init container and the main containers wait for a sidecar's); `ready`: the
  // readiness probe's result (started, without one).
  bool post_start_done = false;
  bool started = false;
  bool ready = false;
  std::unique_ptr<HandlerRun> hook;  // postStart while starting, preStop while being killed
  std::vector<std::unique_ptr<ProbeWorker>> probes;
  // Being killed: the stop signal after preStop, SIGKILL at kill_at (the end of the grace period).
  std::optional<TimePoint> kill_at;
  bool signal_sent = false, sigkill_sent = false;
  std::string kill_message;  // why the kubelet killed it (a failed probe or hook)
};

enum class PodPhase { kPending, kRunning, kSucceeded, kFailed };
const char* phase_name(PodPhase p);

class PodEngine {
 public:
  PodEngine(NodeConfig config, Manifest manifest, const Clock& clock);
  ~PodEngine();
  PodEngine(const PodEngine&) = delete;
  PodEngine& operator=(const PodEngine&) = delete;

  // Creates the sandbox; on failure nothing of it is left. `fd_store`: a listening socket the
  // pause serves as the pod's fd store (kubelet/engine/fd_store.hpp), -1 for none.
  Result<void> start(int fd_store = -1);
  // Starts what is due (the next init container, main containers, restarts after back-off) and
  // escalates a stop whose grace period has passed.
  void tick();
  // A child of this process was reaped: `status` is waitpid's. Returns false when it was not one
  // of the pod's containers.
  bool on_child_exit(pid_t pid, int status);
  // A log pipe is readable (or at EOF).
  void on_readable(int fd);
  // Begins stopping: SIGTERM to every running container; SIGKILL after `grace`.
  void stop(Duration grace);

  // The log pipes to poll.
  std::vector<int> pipe_fds() const;
  // Everything to poll: the log pipes (POLLIN) and the probes' and hooks' sockets and pipes (each
  // with its events); on_readable() takes any of them.
  std::vector<struct pollfd> poll_fds() const;
  // When tick() must run next (back-off, grace period); nullopt: only on events.
  std::optional<TimePoint> next_deadline() const;
  // The pod ended (all containers done or stopped) and its sandbox is gone.
  bool finished() const { return finished_; }
  PodPhase phase() const;
  // status in Kubernetes' shape: phase, conditions, podIP(s), (init)containerStatuses.
  Json status() const;
  const Manifest& manifest() const { return manifest_; }
  const Sandbox& sandbox() const { return sandbox_; }
  const std::string& pod_dir() const { return pod_dir_; }
  // Re-adoption (kubelet/engine/adopt.cpp): what the shim checkpoints besides status(); taking a
  // running pod over from that checkpoint instead of start() (the sandbox as saved; running
  // containers checked against the runtime's state, their pipes back from the fd store). Returns
  // the adopted pids: not children of this process, so the caller watches them (pidfd) and
  // reports their exits with on_adopted_exit().
  Json save_state() const;
  Result<std::vector<pid_t>> adopt(const Json& saved, const Sandbox& sandbox);
  void on_adopted_exit(pid_t pid);
  // Called whenever status() may have changed (the shim checkpoints it).
  void set_on_change(std::function<void()> f) { on_change_ = std::move(f); }
  // kubectl attach (the shim's attach sessions): every chunk read from a container's stdout (1)
  // or stderr (2) as it is logged; empty `data` when that stream of the run ended.
  using OutputFn = std::function<void(const ContainerRun&, int stream, std::string_view data)>;
  void set_on_output(OutputFn f) { on_output_ = std::move(f); }
  // The container `name` when it is running now, else nullptr.
  const ContainerRun* running_container(const std::string& name) const;
  // stdinOnce: the first attach session ended, the container's stdin pipe is closed (EOF). A
  // tty's is kept (as containerd does).
  void close_stdin(const std::string& name);

 private:
  void start_container(ContainerRun& r);
  void started(ContainerRun& r, pid_t pid);
  // Output of `r` read from `fd` (its out or err): to the log and the attach sessions; an empty
  // `data` ends the stream.
  void output(ContainerRun& r, const UniqueFd& fd, std::string_view data);
  void finish_attempt(ContainerRun& r, int status);
  void drain(ContainerRun& r);
  void close_logs(ContainerRun& r);
  HandlerTarget target(const ContainerRun& r) const;
  // After postStart: the startup probe, or liveness and readiness when there is none.
  void begin_checks(ContainerRun& r, TimePoint now);
  // Runs due probe attempts and hooks of a running container and acts on their results.
  void advance_checks(ContainerRun& r, TimePoint now);
  // Kills one container the Kubernetes way: preStop, the stop signal, SIGKILL after `grace`.
  void begin_kill(ContainerRun& r, Duration grace, std::string message);
  void advance_kill(ContainerRun& r, TimePoint now);
  void clear_checks(ContainerRun& r);
  // Stopping the pod: once only native sidecars run, the last of them is killed.
  void stop_sidecars(TimePoint now);
  template <class F>
  void for_each_run(F f) const;
  void maybe_rotate(ContainerRun& r);
  void teardown();
  void tick_once();
  void changed() {
    dirty_ = true;
    if (on_change_) on_change_();
  }
  bool all_main_done() const;
  Json container_status(const ContainerRun& r) const;

  NodeConfig config_;
  Manifest manifest_;
  const Clock& clock_;
  std::string pod_dir_, log_dir_;
  Sandbox sandbox_;
  bool sandbox_ready_ = false;
  std::vector<ContainerRun> init_, main_;
  size_t next_init_ = 0;
  bool init_failed_ = false;
  bool stopping_ = false;
  std::optional<TimePoint> stop_deadline_;  // the end of the pod's grace period when stopping
  bool completing_ = false;  // the main containers are done; sidecars are being stopped
  bool finished_ = false;
  bool dirty_ = false;
  std::string start_time_;
  std::function<void()> on_change_;
  OutputFn on_output_;
  std::unique_ptr<ImagePuller> puller_;  // imagePullPolicy (kubelet/engine/image_pull)
};

// RFC 3339 UTC with seconds ("2026-11-23T15:10:49Z"), as Kubernetes' metav1.Time.
std::string now_rfc3339();

}  // namespace skiff::kubelet
