#include "kubelet/engine/probe.hpp"

namespace skiff::kubelet {

const char* probe_kind_name(ProbeKind k) {
  switch (k) {
    case ProbeKind::kStartup:
      return "Startup";
    case ProbeKind::kLiveness:
      return "Liveness";
    case ProbeKind::kReadiness:
      return "Readiness";
  }
  return "Unknown";
}

ProbeWorker::ProbeWorker(ProbeKind kind, const Probe& probe, TimePoint container_started)
    : kind_(kind),
      probe_(probe),
      next_(container_started + Duration(probe.initial_delay_seconds * 1000)),
      result_(kind == ProbeKind::kLiveness) {}

TimePoint ProbeWorker::next_deadline() const {
  if (run && run->deadline()) return *run->deadline();
  return next_;
}

bool ProbeWorker::record(bool success, const std::string& message) {
  message_ = message;
  if (success == last_ && streak_ > 0)
    ++streak_;
  else
    streak_ = 1;
  last_ = success;
  int64_t threshold = success ? probe_.success_threshold : probe_.failure_threshold;
  if (streak_ < threshold) return false;
  bool changed = result_ != success;
  result_ = success;
  decided_ = true;
  return changed;
}

}  // namespace skiff::kubelet
