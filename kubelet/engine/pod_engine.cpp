#include "kubelet/engine/pod_engine.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "kubelet/engine/container_bundle.hpp"
#include "kubelet/engine/fd_store.hpp"
#include "kubelet/engine/image_pull.hpp"
#include "kubelet/engine/launch.hpp"
#include "kubelet/engine/pod_cgroup.hpp"
#include "kubelet/engine/pull_secrets.hpp"
#include "kubelet/engine/volumes.hpp"
#include "oci/image/bundle_spec.hpp"
#include "runtime/container.hpp"

namespace skiff::kubelet {
namespace {

runtime::GlobalOptions runtime_options(const NodeConfig& c) {
  runtime::GlobalOptions g;
  g.root = c.runtime_root();
  return g;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

std::string seconds_text(Duration d) {
  auto s = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (s % 1000 == 0) return cat(s / 1000, 's');
  return cat(s, "ms");
}

}  // namespace

std::string now_rfc3339() {
  time_t t = time(nullptr);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const char* phase_name(PodPhase p) {
  switch (p) {
    case PodPhase::kPending:
      return "Pending";
    case PodPhase::kRunning:
      return "Running";
    case PodPhase::kSucceeded:
      return "Succeeded";
    case PodPhase::kFailed:
      return "Failed";
  }
  return "Unknown";
}

PodEngine::PodEngine(NodeConfig config, Manifest manifest, const Clock& clock)
    : config_(std::move(config)), manifest_(std::move(manifest)), clock_(clock) {
  const Pod& p = manifest_.pod;
  pod_dir_ = config_.pod_dir(p.uid);
  log_dir_ = config_.log_dir(p.namespace_, p.name, p.uid);
  puller_ = std::make_unique<ImagePuller>(config_, clock_);
  // A re-adopted pod keeps the credentials its first shim wrote.
  if (std::string auth = pod_dir_ + "/pull-auth.json"; path_exists(auth))
    puller_->set_auth(auth, "");
  for (const auto& c : p.spec.init_containers) {
    ContainerRun r;
    r.spec = &c;
    r.init = true;
    r.sidecar = c.restart_policy == "Always";
    r.reason = init_.empty() ? "ContainerCreating" : "PodInitializing";
    r.backoff = std::make_unique<Backoff>(clock_, config_.backoff);
    init_.push_back(std::move(r));
  }
  for (const auto& c : p.spec.containers) {
    ContainerRun r;
    r.spec = &c;
    r.reason = init_.empty() ? "ContainerCreating" : "PodInitializing";
    r.backoff = std::make_unique<Backoff>(clock_, config_.backoff);
    main_.push_back(std::move(r));
  }
}

PodEngine::~PodEngine() = default;

Result<void> PodEngine::start(int fd_store) {
  start_time_ = now_rfc3339();
  TRY(mkdir_p(pod_dir_));
  sandbox_ = TRY(create_sandbox(config_, manifest_.pod, fd_store));
  Result<void> r = write_pod_etc(manifest_.pod, sandbox_, pod_dir_);
  if (r) r = prepare_volumes(manifest_, pod_dir_);
  if (r && !manifest_.pod.spec.image_pull_secrets.empty()) {
    // imagePullSecrets: the pulls' auth file, private to root.
    std::string file = pod_dir_ + "/pull-auth.json";
    if (auto auth = pull_auth_config(manifest_); !auth)
      puller_->set_auth("", auth.error().what());
    else if (!(*auth)["auths"].empty() && (r = write_file_atomic(file, auth->dump(), 0600)))
      puller_->set_auth(file, "");
  }
  if (!r) {
    (void)destroy_sandbox(config_, manifest_.pod, sandbox_);
    return std::move(r).error();
  }
  sandbox_ready_ = true;
  changed();
  return ok();
}

void PodEngine::start_container(ContainerRun& r) {
  const Container& c = *r.spec;
  const Pod& p = manifest_.pod;
  if (bool shown = false; !image_pulled(*puller_, r, &shown)) {
    if (shown) changed();
    return;
  }
  r.next_start.reset();
  r.reason = "ContainerCreating";
  r.message.clear();
  r.id = cat("pod-", p.uid, '-', c.name, '-', r.restart_count);
  r.bundle = cat(config_.container_bundles(p.uid), '/', c.name, '-', r.restart_count);
  (void)remove_container_bundle(config_, r.bundle);
  auto g = runtime_options(config_);
  (void)runtime::remove(g, r.id, true);  // a leftover of a crashed shim

  std::string log_path = cat(log_dir_, '/', c.name, '/', r.restart_count, ".log");
  r.log_path = log_path;
  if (auto made = mkdir_p(cat(log_dir_, '/', c.name)); !made)
    log::warn("log directory: ", made.error().what());
  r.log.reset(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!r.log) log::warn(errno_error("open log ", quote(log_path)).what());
  r.out_writer = std::make_unique<CriStreamWriter>("stdout", r.log.get());
  r.err_writer = std::make_unique<CriStreamWriter>("stderr", r.log.get());
  r.out_writer->set_before_write([this, &r] { maybe_rotate(r); });
  r.err_writer->set_before_write([this, &r] { maybe_rotate(r); });

  auto fail_to_start = [&](const std::string& reason, const std::string& message, bool ran) {
    log::warn("pod ", quote(p.name), " container ", quote(c.name), ": ", message);
    if (ran) {
      // Like containerd: an attempt that could not exec is a terminated container with exit
      // 128 and reason StartError; the restart policy decides what comes next.
      if (r.log) (void)r.err_writer->feed(message + "\n");
      r.started_at = now_rfc3339();
      r.started_mono = clock_.now();
      r.state = ContainerRun::State::kRunning;
      finish_attempt(r, -1);
      if (r.state == ContainerRun::State::kTerminated)
        r.message = message;
      else if (r.last_state.contains("terminated"))
        r.last_state["terminated"]["message"] = message;
      (void)reason;
      return;
    }
    close_logs(r);
    r.state = ContainerRun::State::kWaiting;
    r.reason = reason;
    r.message = message;
    r.next_start = r.backoff->on_exit(clock_.now());
  };

  CreateFailure failure;
  r.stop_signal = SIGTERM;
  if (auto made = make_container_bundle_in_child(config_, manifest_, c, sandbox_, pod_dir_,
                                                 r.bundle, &failure, &r.stop_signal);
      !made) {
    if (failure.reason.empty()) failure.reason = "CreateContainerError";
    fail_to_start(failure.reason, made.error().what(), false);
    changed();
    return;
  }

  // tty: the container's stdio is a pty (process.terminal) whose master comes to us; its output
  // is the container's stdout and kubectl attach writes its input there.
  if (c.tty) {
    UniqueFd master;
    Stdio stdio;
    stdio.console_socket = cat(config_.shim_run_dir(p.uid), "/console.sock");
    stdio.console = &master;
    (void)mkdir_p(config_.shim_run_dir(p.uid), 0700);
    auto pid = launch_container(g, r.id, r.bundle, stdio);
    if (!pid) {
      (void)remove_container_bundle(config_, r.bundle);
      fail_to_start("StartError", pid.error().what(), true);
      changed();
      return;
    }
    fcntl(master.get(), F_SETFL, O_NONBLOCK);
    r.in.reset(fcntl(master.get(), F_DUPFD_CLOEXEC, 3));
    r.out = std::move(master);
    fd_store::put(r.id + "/out", r.out.get());
    return started(r, *pid);
  }
  int in[2] = {-1, -1}, out[2], err[2];
  if (c.stdin_open && pipe2(in, O_CLOEXEC) < 0) {
    fail_to_start("CreateContainerError", errno_error("pipe").what(), false);
    return;
  }
  UniqueFd in_r(in[0]);
  r.in.reset(in[1]);
  if (pipe2(out, O_CLOEXEC) < 0) {
    fail_to_start("CreateContainerError", errno_error("pipe").what(), false);
    return;
  }
  if (pipe2(err, O_CLOEXEC) < 0) {
    ::close(out[0]);
    ::close(out[1]);
    fail_to_start("CreateContainerError", errno_error("pipe").what(), false);
    return;
  }
  r.out.reset(out[0]);
  r.err.reset(err[0]);
  UniqueFd out_w(out[1]), err_w(err[1]);
  fcntl(r.out.get(), F_SETFL, O_NONBLOCK);
  fcntl(r.err.get(), F_SETFL, O_NONBLOCK);
  fd_store::put(r.id + "/out", r.out.get());  // the pipes outlive a crashed shim
  fd_store::put(r.id + "/err", r.err.get());
  if (r.in) fd_store::put(r.id + "/in", r.in.get());
  Stdio stdio;
  stdio.in = in_r.get();
  stdio.out = out_w.get();
  stdio.err = err_w.get();
  auto pid = launch_container(g, r.id, r.bundle, stdio);
  in_r.reset();
  out_w.reset();
  err_w.reset();
  if (!pid) {
    r.in.reset();
    (void)remove_container_bundle(config_, r.bundle);
    fail_to_start("StartError", pid.error().what(), true);
    changed();
    return;
  }
  started(r, *pid);
}

void PodEngine::started(ContainerRun& r, pid_t pid) {
  const Pod& p = manifest_.pod;
  const Container& c = *r.spec;
  r.pid = pid;
  r.state = ContainerRun::State::kRunning;
  r.reason.clear();
  r.started_once = true;
  r.started_at = now_rfc3339();
  r.started_mono = clock_.now();
  log::info("pod ", quote(p.name), ": container ", quote(c.name), " started (pid ", r.pid, ")");
  // postStart runs right after the start; the container counts as started when it is done.
  if (c.lifecycle.post_start)
    r.hook = HandlerRun::start(*c.lifecycle.post_start, target(r), r.started_mono, std::nullopt);
  else
    begin_checks(r, r.started_mono);
  changed();
}

HandlerTarget PodEngine::target(const ContainerRun& r) const {
  HandlerTarget t;
  t.runtime = runtime_options(config_);
  t.container_id = r.id;
  t.container = r.spec;
  if (!sandbox_.host_network && sandbox_.pause_pid > 0) t.netns = sandbox_.ns_path("net");
  t.pod_ip = sandbox_.pod_ip;
  t.scratch_dir = pod_dir_ + "/probes";
  return t;
}

void PodEngine::begin_checks(ContainerRun& r, TimePoint now) {
  r.post_start_done = true;
  r.hook.reset();
  const Container& c = *r.spec;
  if (c.startup_probe) {
    r.probes.push_back(
        std::make_unique<ProbeWorker>(ProbeKind::kStartup, *c.startup_probe, r.started_mono));
  } else {
    r.started = true;
    if (c.liveness_probe)
      r.probes.push_back(
          std::make_unique<ProbeWorker>(ProbeKind::kLiveness, *c.liveness_probe, r.started_mono));
    if (c.readiness_probe)
      r.probes.push_back(
          std::make_unique<ProbeWorker>(ProbeKind::kReadiness, *c.readiness_probe, r.started_mono));
    else
      r.ready = true;
  }
  (void)now;
  changed();
}

void PodEngine::clear_checks(ContainerRun& r) {
  r.hook.reset();
  r.probes.clear();
  r.post_start_done = r.started = r.ready = false;
  r.kill_at.reset();
  r.signal_sent = r.sigkill_sent = false;
}

void PodEngine::advance_checks(ContainerRun& r, TimePoint now) {
  if (r.kill_at) return;  // being killed: only preStop runs (advance_kill)
  const Pod& p = manifest_.pod;
  if (!r.post_start_done) {
    if (!r.hook) return;
    r.hook->tick(now);
    if (!r.hook->done()) return;
    if (r.hook->succeeded()) {
      begin_checks(r, now);
    } else {
      std::string msg = cat("FailedPostStartHook: ", r.hook->message());
      log::warn("pod ", quote(p.name), " container ", quote(r.spec->name), ": ", msg);
      r.hook.reset();
      begin_kill(r, Duration(p.spec.termination_grace_period_seconds * 1000), msg);
      return;
    }
  }
  for (size_t i = 0; i < r.probes.size(); ++i) {
    ProbeWorker& w = *r.probes[i];
    if (w.run) {
      w.run->tick(now);
      if (!w.run->done()) continue;
      bool success = w.run->succeeded();
      std::string msg = w.run->message();
      w.run.reset();
      bool changed_result = w.record(success, msg);
      // Each failure at debug level; at info only when it changes something (a probe that keeps
      // failing every second must not fill the shim's log).
      if (!success && (changed_result || w.failed()))
        log::info("pod ", quote(p.name), " container ", quote(r.spec->name), ": ",
                  probe_kind_name(w.kind()), " probe failed: ", msg);
      else if (!success)
        log::debug("pod ", quote(p.name), " container ", quote(r.spec->name), ": ",
                   probe_kind_name(w.kind()), " probe failed: ", msg);
      if (w.failed()) {
        std::string why = cat("Container ", r.spec->name, " failed ",
                              w.kind() == ProbeKind::kStartup ? "startup" : "liveness",
                              " probe, will be restarted: ", msg);
        log::warn("pod ", quote(p.name), ": ", why);
        int64_t grace = w.probe().termination_grace_period_seconds.value_or(
            p.spec.termination_grace_period_seconds);
        begin_kill(r, Duration(grace * 1000), why);
        return;
      }
      if (!changed_result) continue;
      if (w.kind() == ProbeKind::kStartup && w.result()) {
        // Started: liveness and readiness take over.
        r.probes.clear();
        const Container& c = *r.spec;
        r.started = true;
        if (c.liveness_probe)
          r.probes.push_back(std::make_unique<ProbeWorker>(ProbeKind::kLiveness, *c.liveness_probe,
                                                           r.started_mono));
        if (c.readiness_probe)
          r.probes.push_back(std::make_unique<ProbeWorker>(ProbeKind::kReadiness,
                                                           *c.readiness_probe, r.started_mono));
        else
          r.ready = true;
        changed();
        i = static_cast<size_t>(-1);  // the new workers may be due at once
        continue;
      }
      if (w.kind() == ProbeKind::kReadiness) {
        r.ready = w.result();
        changed();
      }
      continue;
    }
    if (w.due(now)) {
      w.attempt_started(now);
      w.run = HandlerRun::start(w.probe().handler, target(r), now, w.timeout());
      --i;  // it may be done already (a refused connection)
    }
  }
}

void PodEngine::begin_kill(ContainerRun& r, Duration grace, std::string message) {
  if (r.state != ContainerRun::State::kRunning || r.kill_at) return;
  TimePoint now = clock_.now();
  r.probes.clear();
  r.hook.reset();
  r.ready = false;
  r.kill_at = now + grace;
  if (r.kill_message.empty()) r.kill_message = std::move(message);
  // preStop first; its time counts against the grace period.
  if (r.spec->lifecycle.pre_stop && grace > Duration(0))
    r.hook = HandlerRun::start(*r.spec->lifecycle.pre_stop, target(r), now, std::nullopt);
  advance_kill(r, now);
  changed();
}

void PodEngine::advance_kill(ContainerRun& r, TimePoint now) {
  if (!r.kill_at || r.state != ContainerRun::State::kRunning) return;
  auto g = runtime_options(config_);
  if (r.hook) {
    r.hook->tick(now);
    if (r.hook->done()) {
      if (!r.hook->succeeded())
        log::warn("pod ", quote(manifest_.pod.name), " container ", quote(r.spec->name),
                  ": FailedPreStopHook: ", r.hook->message());
      r.hook.reset();
    }
  }
  if (!r.hook && !r.signal_sent) {
    r.signal_sent = true;
    if (auto k = runtime::kill(g, r.id, r.stop_signal, false); !k)
      log::debug("stop ", quote(r.id), ": ", k.error().what());
  }
  if (now >= *r.kill_at && !r.sigkill_sent) {
    r.sigkill_sent = true;
    r.hook.reset();
    (void)runtime::kill(g, r.id, SIGKILL, true);
  }
}

template <class F>
void PodEngine::for_each_run(F f) const {
  for (const auto* list : {&init_, &main_})
    for (const auto& r : *list) {
      if (r.hook) f(*r.hook);
      for (const auto& w : r.probes)
        if (w->run) f(*w->run);
    }
}

void PodEngine::output(ContainerRun& r, const UniqueFd& fd, std::string_view data) {
  CriStreamWriter* w = &fd == &r.out ? r.out_writer.get() : r.err_writer.get();
  if (w && r.log) (void)(data.empty() ? w->flush() : w->feed(data));
  if (on_output_) on_output_(r, &fd == &r.out ? 1 : 2, data);
}

const ContainerRun* PodEngine::running_container(const std::string& name) const {
  for (const auto* list : {&init_, &main_})
    for (const auto& r : *list)
      if (r.spec->name == name && r.state == ContainerRun::State::kRunning) return &r;
  return nullptr;
}

void PodEngine::close_stdin(const std::string& name) {
  for (auto* list : {&init_, &main_})
    for (auto& r : *list)
      if (r.spec->name == name && r.in && !r.spec->tty) {
        fd_store::drop(r.id + "/in");
        r.in.reset();
      }
}

void PodEngine::drain(ContainerRun& r) {
  char buf[65536];
  for (UniqueFd* fd : {&r.out, &r.err}) {
    while (*fd) {
      ssize_t n = ::read(fd->get(), buf, sizeof buf);
      if (n > 0) {
        output(r, *fd, std::string_view(buf, static_cast<size_t>(n)));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || errno != EAGAIN) {  // EOF, or EIO from a pty whose slave closed
        output(r, *fd, {});
        fd->reset();
      }
      break;
    }
  }
}

void PodEngine::maybe_rotate(ContainerRun& r) {
  struct stat st {};
  if (!r.log || config_.log_max_bytes <= 0 || fstat(r.log.get(), &st) < 0 ||
      st.st_size < config_.log_max_bytes)
    return;
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm {};
  gmtime_r(&ts.tv_sec, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  std::string rotated = cat(r.log_path, '.', stamp, '.', ts.tv_nsec / 1000);
  if (::rename(r.log_path.c_str(), rotated.c_str()) < 0) {
    log::warn(errno_error("rotate ", quote(r.log_path)).what());
    return;
  }
  r.log.reset(::open(r.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!r.log) log::warn(errno_error("open log ", quote(r.log_path)).what());
  r.out_writer->set_fd(r.log.get());
  r.err_writer->set_fd(r.log.get());
  // Keep the newest rotated files (their names sort by time).
  std::string dir = r.log_path.substr(0, r.log_path.rfind('/'));
  std::string prefix = r.log_path.substr(dir.size() + 1) + ".";
  std::vector<std::string> old;
  if (DIR* d = opendir(dir.c_str())) {
    while (struct dirent* e = readdir(d))
      if (std::string_view(e->d_name).starts_with(prefix)) old.push_back(e->d_name);
    closedir(d);
  }
  std::sort(old.begin(), old.end());
  size_t keep = config_.log_max_files > 1 ? static_cast<size_t>(config_.log_max_files - 1) : 0;
  for (size_t i = 0; i + keep < old.size(); ++i) ::unlink(cat(dir, '/', old[i]).c_str());
}

void PodEngine::close_logs(ContainerRun& r) {
  if (!r.id.empty()) {
    fd_store::drop(r.id + "/out");
    fd_store::drop(r.id + "/err");
    fd_store::drop(r.id + "/in");
  }
  drain(r);
  for (UniqueFd* fd : {&r.out, &r.err})
    if (*fd) output(r, *fd, {});
  r.out.reset();
  r.err.reset();
  r.in.reset();
  r.log.reset();
}

void PodEngine::finish_attempt(ContainerRun& r, int status) {
  auto g = runtime_options(config_);
  int code = status < 0 ? 128 : exit_code_of(status);
  bool oom = false;
  if (status >= 0) {
    auto count = runtime::oom_kill_count(g, r.id);
    oom = count && *count > 0;
  }
  // Whatever the init left behind in its cgroup goes with it; the pipes then reach EOF.
  if (auto removed = runtime::remove(g, r.id, true); !removed)
    log::warn("remove container ", quote(r.id), ": ", removed.error().what());
  close_logs(r);
  if (auto removed = remove_container_bundle(config_, r.bundle); !removed)
    log::warn("remove bundle ", quote(r.bundle), ": ", removed.error().what());

  r.state = ContainerRun::State::kTerminated;
  r.pid = 0;
  r.exit_code = code;
  r.finished_at = now_rfc3339();
  r.reason = status < 0 ? "StartError" : oom ? "OOMKilled" : code == 0 ? "Completed" : "Error";
  r.message = std::move(r.kill_message);
  r.kill_message.clear();
  clear_checks(r);

  const std::string& policy = manifest_.pod.spec.restart_policy;
  bool restart;
  if (stopping_ || completing_) {
    restart = false;
  } else if (r.sidecar) {
    restart = true;  // a native sidecar is always restarted while the pod runs
  } else if (r.init) {
    restart = code != 0 && policy != "Never";
    if (code != 0 && policy == "Never") init_failed_ = true;
  } else {
    restart = policy == "Always" || (policy == "OnFailure" && code != 0);
  }
  if (!restart) {
    r.done = true;
    if (r.init && !r.sidecar && code == 0 && next_init_ < init_.size() && &r == &init_[next_init_])
      ++next_init_;
    changed();
    return;
  }
  Json term = {{"exitCode", code},
               {"reason", r.reason},
               {"startedAt", r.started_at},
               {"finishedAt", r.finished_at},
               {"containerID", "skiff://" + r.id}};
  if (!r.message.empty()) term["message"] = r.message;
  r.last_state = {{"terminated", term}};
  ++r.restart_count;
  r.next_start = r.backoff->on_exit(r.started_mono);
  r.state = ContainerRun::State::kWaiting;
  r.reason = "CrashLoopBackOff";
  r.message = cat("back-off ", seconds_text(r.backoff->current()),
                  " restarting failed container=", r.spec->name, " pod=", manifest_.pod.name, '_',
                  manifest_.pod.namespace_, '(', manifest_.pod.uid, ')');
  changed();
}

bool PodEngine::on_child_exit(pid_t pid, int status) {
  bool ours = false;
  for_each_run([&](HandlerRun& run) { ours = ours || run.on_child_exit(pid, status); });
  if (ours) return true;
  if (puller_->on_child_exit(pid, status)) {
    // A pull ended: the containers waiting for one are looked at on the next tick, not at the
    // gate's re-check time.
    for (auto* list : {&init_, &main_})
      for (auto& r : *list)
        if (r.pull_wait && r.state == ContainerRun::State::kWaiting) {
          r.pull_wait = false;
          r.next_start.reset();
        }
    return true;
  }
  for (auto* list : {&init_, &main_})
    for (auto& r : *list)
      if (r.state == ContainerRun::State::kRunning && r.pid == pid) {
        finish_attempt(r, status);
        return true;
      }
  if (pid == sandbox_.pause_pid && sandbox_ready_ && !stopping_) {
    log::warn("pod ", quote(manifest_.pod.name), ": the pause process exited; stopping the pod");
    stop(Duration(0));
    return true;
  }
  return false;
}

void PodEngine::on_readable(int fd) {
  bool ours = false;
  for_each_run([&](HandlerRun& run) {
    if (!ours && run.fd() == fd) {
      ours = true;
      run.on_ready();
    }
  });
  if (ours) return;
  char buf[65536];
  for (auto* list : {&init_, &main_})
    for (auto& r : *list) {
      UniqueFd* which = r.out.get() == fd ? &r.out : r.err.get() == fd ? &r.err : nullptr;
      if (!which) continue;
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        output(r, *which, std::string_view(buf, static_cast<size_t>(n)));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {  // EIO: a pty's slave closed
        output(r, *which, {});
        which->reset();
      }
      return;
    }
}

std::vector<int> PodEngine::pipe_fds() const {
  std::vector<int> fds;
  for (const auto* list : {&init_, &main_})
    for (const auto& r : *list) {
      if (r.out) fds.push_back(r.out.get());
      if (r.err) fds.push_back(r.err.get());
    }
  return fds;
}

std::vector<struct pollfd> PodEngine::poll_fds() const {
  std::vector<struct pollfd> fds;
  for (int fd : pipe_fds()) fds.push_back({fd, POLLIN, 0});
  for_each_run([&](const HandlerRun& run) {
    if (run.fd() >= 0 && !run.done()) fds.push_back({run.fd(), run.events(), 0});
  });
  return fds;
}

std::optional<TimePoint> PodEngine::next_deadline() const {
  std::optional<TimePoint> next;
  auto consider = [&](std::optional<TimePoint> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  for (const auto* list : {&init_, &main_})
    for (const auto& r : *list) {
      if (r.state != ContainerRun::State::kRunning) continue;
      if (!r.sigkill_sent) consider(r.kill_at);
      if (r.hook) consider(r.hook->done() ? clock_.now() : r.hook->deadline());
      for (const auto& w : r.probes)
        consider(w->run && w->run->done() ? clock_.now() : w->next_deadline());
    }
  if (stopping_ || completing_) return next;
  for (const auto* list : {&init_, &main_})
    for (const auto& r : *list)
      if (!r.done && r.state == ContainerRun::State::kWaiting) consider(r.next_start);
  return next;
}

void PodEngine::stop(Duration grace) {
  if (finished_) return;
  stopping_ = true;
  puller_->cancel();
  TimePoint now = clock_.now();
  if (!stop_deadline_ || now + grace < *stop_deadline_) stop_deadline_ = now + grace;
  for (auto* list : {&init_, &main_})
    for (auto& r : *list) {
      if (r.state == ContainerRun::State::kRunning) {
        // A kill already under way keeps its own deadline unless this one is sooner.
        if (r.kill_at && *stop_deadline_ < *r.kill_at) r.kill_at = *stop_deadline_;
        if (!r.sidecar) begin_kill(r, *stop_deadline_ - now, "");
      } else {
        r.done = true;
        r.next_start.reset();
      }
    }
  stop_sidecars(now);
  changed();
}

void PodEngine::stop_sidecars(TimePoint now) {
  for (const auto* list : {&init_, &main_})
    for (const auto& r : *list)
      if (r.state == ContainerRun::State::kRunning && !r.sidecar) return;
  for (auto it = init_.rbegin(); it != init_.rend(); ++it)
    if (it->state == ContainerRun::State::kRunning) {
      if (!it->kill_at) begin_kill(*it, std::max(Duration(0), *stop_deadline_ - now), "");
      return;
    }
}

bool PodEngine::all_main_done() const {
  for (const auto& r : main_)
    if (!r.done) return false;
  return true;
}

void PodEngine::teardown() {
  for (auto* list : {&init_, &main_})
    for (auto& r : *list) close_logs(r);
  if (sandbox_ready_) {
    if (auto r = destroy_sandbox(config_, manifest_.pod, sandbox_); !r)
      log::warn("pod ", quote(manifest_.pod.name), ": tear down the sandbox: ", r.error().what());
  }
  (void)remove_tree(config_.container_bundles(manifest_.pod.uid));
  (void)remove_tree(pod_dir_ + "/containers");  // where older shims made the bundles
  (void)remove_tree(pod_dir_ + "/etc");
  (void)remove_tree(pod_dir_ + "/probes");
  if (auto r = cleanup_volumes(pod_dir_); !r) log::warn("volumes: ", r.error().what());
  sandbox_ready_ = false;
  finished_ = true;
  changed();
}

void PodEngine::tick() {
  // Until nothing changes: a step can make the next one due at once (an init container that
  // could not start and will not be retried fails the pod).
  for (int i = 0; i < 64; ++i) {
    dirty_ = false;
    tick_once();
    if (!dirty_) break;
  }
}

void PodEngine::tick_once() {
  if (finished_ || !sandbox_ready_) return;
  TimePoint now = clock_.now();
  auto running = [&] {
    for (const auto* list : {&init_, &main_})
      for (const auto& r : *list)
        if (r.state == ContainerRun::State::kRunning) return true;
    return false;
  };
  if (stopping_) {
    if (!running()) {
      teardown();
      return;
    }
    // Native sidecars stop after the other containers, the last one first, within what is left
    // of the grace period (Kubernetes 1.29+ on pod deletion).
    stop_sidecars(now);
    for (auto* list : {&init_, &main_})
      for (auto& r : *list) advance_kill(r, now);
    return;
  }
  if (init_failed_ || (next_init_ >= init_.size() && all_main_done())) {
    // The pod is complete: native sidecars stop after the main containers, the last one first,
    // each with the grace period; then the sandbox goes.
    completing_ = true;
    for (auto& r : init_)
      if (r.state == ContainerRun::State::kRunning) {
        advance_checks(r, now);
        advance_kill(r, now);
      }
    for (auto* list : {&init_, &main_})
      for (auto& r : *list)
        if (r.state != ContainerRun::State::kRunning) {
          r.done = true;
          r.next_start.reset();
        }
    ContainerRun* last = nullptr;
    for (auto it = init_.rbegin(); it != init_.rend() && !last; ++it)
      if (it->state == ContainerRun::State::kRunning) last = &*it;
    if (!last) {
      teardown();
      return;
    }
    if (!last->kill_at)
      begin_kill(*last, Duration(manifest_.pod.spec.termination_grace_period_seconds * 1000), "");
    else
      advance_kill(*last, now);
    return;
  }
  for (auto* list : {&init_, &main_})
    for (auto& r : *list) {
      if (r.state != ContainerRun::State::kRunning) continue;
      advance_checks(r, now);
      advance_kill(r, now);
    }
  while (next_init_ < init_.size()) {
    ContainerRun& r = init_[next_init_];
    if (r.sidecar) {
      // The next init container waits until the sidecar has started: postStart done and its
      // startup probe passed.
      if (r.state == ContainerRun::State::kRunning) {
        if (!r.started) return;
        ++next_init_;
        continue;
      }
      if (r.next_start && now < *r.next_start) return;
      start_container(r);
      return;
    }
    if (r.done) {
      ++next_init_;
      continue;
    }
    if (r.state == ContainerRun::State::kRunning) return;
    if (r.next_start && now < *r.next_start) return;
    start_container(r);
    return;
  }
  for (auto* list : {&init_, &main_})
    for (auto& r : *list) {
      if (r.done || r.state == ContainerRun::State::kRunning) continue;
      // Init containers here are the sidecars already passed: restarts only.
      if (r.init &&
          !(r.sidecar && r.started_once && static_cast<size_t>(&r - init_.data()) < next_init_))
        continue;
      if (r.next_start && now < *r.next_start) continue;
      start_container(r);
    }
}

PodPhase PodEngine::phase() const {
  if (init_failed_) return PodPhase::kFailed;
  if (all_main_done()) {
    bool all_ok = true;
    for (const auto& r : main_) all_ok = all_ok && r.exit_code == 0 && r.started_once;
    return all_ok ? PodPhase::kSucceeded : PodPhase::kFailed;
  }
  for (const auto& r : main_)
    if (r.started_once) return PodPhase::kRunning;
  return PodPhase::kPending;
}

Json PodEngine::container_status(const ContainerRun& r) const {
  Json s = {
      {"name", r.spec->name},
      {"image", r.spec->image},
      {"imageID", ""},
      {"restartCount", r.restart_count},
      {"started", r.state == ContainerRun::State::kRunning && r.started},
      {"ready", r.state == ContainerRun::State::kRunning && r.ready && (!r.init || r.sidecar)},
      {"lastState", r.last_state}};
  if (!r.id.empty() && r.state != ContainerRun::State::kWaiting)
    s["containerID"] = "skiff://" + r.id;
  switch (r.state) {
    case ContainerRun::State::kRunning:
      s["state"] = {{"running", {{"startedAt", r.started_at}}}};
      break;
    case ContainerRun::State::kWaiting: {
      Json w = {{"reason", r.reason}};
      if (!r.message.empty()) w["message"] = r.message;
      s["state"] = {{"waiting", w}};
      break;
    }
    case ContainerRun::State::kTerminated: {
      Json t = {{"exitCode", r.exit_code},
                {"reason", r.reason},
                {"startedAt", r.started_at},
                {"finishedAt", r.finished_at},
                {"containerID", "skiff://" + r.id}};
      if (!r.message.empty()) t["message"] = r.message;
      s["state"] = {{"terminated", t}};
      break;
    }
  }
  return s;
}

Json PodEngine::status() const {
  auto cond = [](const char* type, bool status) {
    return Json{{"type", type}, {"status", status ? "True" : "False"}};
  };
  bool initialized = next_init_ >= init_.size();
  // Ready: every main container and every native sidecar running and ready.
  bool ready = !main_.empty() && !finished_ && initialized;
  for (const auto* list : {&init_, &main_})
    for (const auto& r : *list)
      if (!r.init || r.sidecar)
        ready = ready && r.state == ContainerRun::State::kRunning && r.ready;
  Json s = {
      {"phase", phase_name(phase())},
      {"conditions", Json::array({cond("PodReadyToStartContainers", sandbox_ready_),
                                  cond("Initialized", initialized), cond("ContainersReady", ready),
                                  cond("Ready", ready), cond("PodScheduled", true)})},
      {"hostIP", "127.0.0.1"},
      {"qosClass", pod_qos_class(manifest_.pod)},
      {"startTime", start_time_}};
  if (!sandbox_.pod_ip.empty()) {
    s["podIP"] = sandbox_.pod_ip;
    s["podIPs"] = Json::array({{{"ip", sandbox_.pod_ip}}});
  }
  if (!init_.empty()) {
    Json list = Json::array();
    for (const auto& r : init_) list.push_back(container_status(r));
    s["initContainerStatuses"] = list;
  }
  Json list = Json::array();
  for (const auto& r : main_) list.push_back(container_status(r));
  s["containerStatuses"] = list;
  return s;
}

}  // namespace skiff::kubelet
