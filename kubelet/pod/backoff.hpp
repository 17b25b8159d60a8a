#pragma once
// CrashLoopBackOff as the kubelet computes it: the first restart waits `initial` (10 s), each
// further one doubles it up to `max` (300 s); a container that ran `reset_after` (10 min) without
// exiting starts again from `initial`. Time comes from a Clock, so tests drive it with a fake one.

#include <chrono>
#include <cstdint>

namespace skiff::kubelet {

using Duration = std::chrono::milliseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// The monotonic clock.
class SteadyClock : public Clock {
 public:
  TimePoint now() const override;
};

// A clock that moves only when told to.
class FakeClock : public Clock {
 public:
  TimePoint now() const override { return now_; }
  void advance(Duration d) { now_ += d; }

 private:
  TimePoint now_{Duration(1'000'000)};
};

struct BackoffPolicy {
  Duration initial{10'000};
  Duration max{300'000};
  Duration reset_after{600'000};
};

// The back-off of one container.
class Backoff {
 public:
  Backoff(const Clock& clock, BackoffPolicy policy) : clock_(&clock), policy_(policy) {}

  // Records that the container started at `started` and exited now; returns when it may start
  // again.
  TimePoint on_exit(TimePoint started);
  // The delay the last on_exit chose.
  Duration current() const { return current_; }

 private:
  const Clock* clock_;
  BackoffPolicy policy_;
  Duration current_{0};
};

}  // namespace skiff::kubelet
