// Re-adoption: what the shim checkpoints of the engine beyond the Kubernetes status (runtime ids,
// pids, restart counts), and how a new shim takes the running pod over from that checkpoint
// instead of starting it again. See PodEngine::adopt in pod_engine.hpp.

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "kubelet/engine/fd_store.hpp"
#include "kubelet/engine/pod_engine.hpp"
#include "runtime/container.hpp"

namespace skiff::kubelet {
namespace {

const char* state_name(ContainerRun::State s) {
  switch (s) {
    case ContainerRun::State::kWaiting:
      return "waiting";
    case ContainerRun::State::kRunning:
      return "running";
    case ContainerRun::State::kTerminated:
      return "terminated";
  }
  return "waiting";
}

ContainerRun::State state_of(const std::string& s) {
  if (s == "running") return ContainerRun::State::kRunning;
  if (s == "terminated") return ContainerRun::State::kTerminated;
  return ContainerRun::State::kWaiting;
}

}  // namespace

Json PodEngine::save_state() const {
  Json runs = Json::array();
  for (const auto* list : {&init_, &main_})
    for (const auto& r : *list)
      runs.push_back({{"name", r.spec->name},
                      {"init", r.init},
                      {"state", state_name(r.state)},
                      {"reason", r.reason},
                      {"message", r.message},
                      {"restartCount", r.restart_count},
                      {"startedOnce", r.started_once},
                      {"done", r.done},
                      {"id", r.id},
                      {"bundle", r.bundle},
                      {"pid", r.pid},
                      {"stopSignal", r.stop_signal},
                      {"startedAt", r.started_at},
                      {"finishedAt", r.finished_at},
                      {"exitCode", r.exit_code},
                      {"lastState", r.last_state},
                      {"logPath", r.log_path}});
  return {{"containers", runs},    {"nextInit", next_init_},    {"initFailed", init_failed_},
          {"stopping", stopping_}, {"completing", completing_}, {"startTime", start_time_}};
}

Result<std::vector<pid_t>> PodEngine::adopt(const Json& saved, const Sandbox& sandbox) {
  std::vector<pid_t> running;
  try {
    sandbox_ = sandbox;
    if (!sandbox_.pause_running())
      return error("the pod's pause process ", sandbox_.pause_pid, " is gone");
    sandbox_ready_ = true;
    next_init_ = saved.at("nextInit").get<size_t>();
    init_failed_ = saved.value("initFailed", false);
    stopping_ = saved.value("stopping", false);
    completing_ = saved.value("completing", false);
    start_time_ = saved.value("startTime", now_rfc3339());
    auto g = runtime::GlobalOptions{};
    g.root = config_.runtime_root();
    for (const auto& j : saved.at("containers")) {
      auto& list = j.at("init").get<bool>() ? init_ : main_;
      auto it = std::find_if(list.begin(), list.end(), [&](const ContainerRun& r) {
        return r.spec->name == j.at("name").get<std::string>();
      });
      if (it == list.end()) continue;
      ContainerRun& r = *it;
      r.state = state_of(j.value("state", "waiting"));
      r.reason = j.value("reason", "");
      r.message = j.value("message", "");
      r.restart_count = j.value("restartCount", 0);
      r.started_once = j.value("startedOnce", false);
      r.done = j.value("done", false);
      r.id = j.value("id", "");
      r.bundle = j.value("bundle", "");
      r.pid = j.value("pid", 0);
      r.stop_signal = j.value("stopSignal", 15);
      r.started_at = j.value("startedAt", "");
      r.finished_at = j.value("finishedAt", "");
      r.exit_code = j.value("exitCode", 0);
      r.last_state = j.value("lastState", Json::object());
      r.log_path = j.value("logPath", "");
      r.started_mono = clock_.now();
      if (r.state == ContainerRun::State::kWaiting && !r.done) r.next_start = clock_.now();
      if (r.state != ContainerRun::State::kRunning) continue;
      // Still the process we started? The runtime compares the recorded start time, so a
      // reused pid is not taken for the container.
      auto info = runtime::state(g, r.id);
      if (!info || info->status != runtime::Status::kRunning || info->pid != r.pid) {
        log::warn("pod ", quote(manifest_.pod.name), ": container ", quote(r.spec->name),
                  " ended while the pod had no shim");
        on_adopted_exit(r.pid);
        continue;
      }
      // Its output: the pipes the fd store kept; appended to the same log file.
      r.out = fd_store::get(r.id + "/out");
      r.err = fd_store::get(r.id + "/err");
      r.in = fd_store::get(r.id + "/in");
      if (r.spec->tty && r.out) r.in.reset(fcntl(r.out.get(), F_DUPFD_CLOEXEC, 3));
      for (UniqueFd* fd : {&r.out, &r.err})
        if (*fd) fcntl(fd->get(), F_SETFL, O_NONBLOCK);
      if (!r.log_path.empty())
        r.log.reset(::open(r.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
      r.out_writer = std::make_unique<CriStreamWriter>("stdout", r.log.get());
      r.err_writer = std::make_unique<CriStreamWriter>("stderr", r.log.get());
      r.out_writer->set_before_write([this, &r] { maybe_rotate(r); });
      r.err_writer->set_before_write([this, &r] { maybe_rotate(r); });
      // Probes start over, as they do when a kubelet restarts (postStart is not run again).
      begin_checks(r, clock_.now());
      running.push_back(r.pid);
      log::info("pod ", quote(manifest_.pod.name), ": re-adopted container ", quote(r.spec->name),
                " (pid ", r.pid, ")");
    }
  } catch (const Json::exception& e) {
    return error("engine checkpoint: ", e.what());
  }
  changed();
  return running;
}

void PodEngine::on_adopted_exit(pid_t pid) {
  for (auto* list : {&init_, &main_})
    for (auto& r : *list) {
      if (r.state != ContainerRun::State::kRunning || r.pid != pid) continue;
      // Not our child: its exit status went to whoever reaped it. As the kubelet does for a
      // container whose state is lost: exit code 137, reason ContainerStatusUnknown (OOMKilled
      // when its cgroup saw an OOM kill).
      finish_attempt(r, 137 << 8);
      const char* msg = "the container's exit status was lost when its shim was replaced";
      if (r.state == ContainerRun::State::kTerminated && r.reason != "OOMKilled") {
        r.reason = "ContainerStatusUnknown";
        r.message = msg;
      } else if (r.last_state.contains("terminated") &&
                 r.last_state["terminated"].value("reason", "") != "OOMKilled") {
        r.last_state["terminated"]["reason"] = "ContainerStatusUnknown";
        r.last_state["terminated"]["message"] = msg;
      }
      changed();
      return;
    }
}

}  // namespace skiff::kubelet
