#include "kubelet/pod/backoff.hpp"

#include <algorithm>

namespace skiff::kubelet {

TimePoint SteadyClock::now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}

TimePoint Backoff::on_exit(TimePoint started) {
  TimePoint now = clock_->now();
  if (current_.count() == 0 || now - started >= policy_.reset_after)
    current_ = policy_.initial;
  else
    current_ = std::min(current_ * 2, policy_.max);
  return now + current_;
}

}  // namespace skiff::kubelet
