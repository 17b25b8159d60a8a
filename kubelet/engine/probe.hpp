#pragma once
// One probe of one container attempt, as Kubernetes' prober worker runs it: the first attempt
// initialDelaySeconds after the container started, then one every periodSeconds (never two at
// once), each bounded by timeoutSeconds; the result changes only after successThreshold
// consecutive successes or failureThreshold consecutive failures. A readiness probe starts
// "not ready"; a startup probe "not started"; a liveness probe "alive". The worker only keeps
// time and counts: the pod engine starts each attempt (a HandlerRun) and acts on the result.

#include <memory>
#include <optional>
#include <string>

#include "kubelet/engine/probe_action.hpp"
#include "kubelet/pod/backoff.hpp"
#include "kubelet/pod/pod.hpp"

namespace skiff::kubelet {

enum class ProbeKind { kStartup, kLiveness, kReadiness };
// "Startup", "Liveness", "Readiness" (as in Kubernetes' events: "Liveness probe failed: …").
const char* probe_kind_name(ProbeKind k);

class ProbeWorker {
 public:
  ProbeWorker(ProbeKind kind, const Probe& probe, TimePoint container_started);

  ProbeKind kind() const { return kind_; }
  const Probe& probe() const { return probe_; }
  // An attempt may start now (none in flight, its time has come).
  bool due(TimePoint now) const { return !run && now >= next_; }
  // When the next attempt is due, or the one in flight times out.
  TimePoint next_deadline() const;
  // An attempt starts now: the next one is due a period later.
  void attempt_started(TimePoint now) { next_ = now + period(); }
  // Counts an attempt's outcome; true when the result changed.
  bool record(bool success, const std::string& message);
  // The current result (readiness: ready; startup: started; liveness: alive).
  bool result() const { return result_; }
  // Liveness or startup failed failureThreshold times in a row: the container must be killed.
  bool failed() const { return kind_ != ProbeKind::kReadiness && !result_ && decided_; }
  const std::string& last_message() const { return message_; }
  Duration timeout() const { return Duration(probe_.timeout_seconds * 1000); }

  std::unique_ptr<HandlerRun> run;  // the attempt in flight

 private:
  Duration period() const { return Duration(probe_.period_seconds * 1000); }

  ProbeKind kind_;
  const Probe& probe_;
  TimePoint next_;
  bool result_;
  bool decided_ = false;  // the result came from attempts, not the initial value
  bool last_ = false;     // the last attempt's outcome
  int64_t streak_ = 0;    // consecutive attempts with that outcome
  std::string message_;
};

}  // namespace skiff::kubelet
