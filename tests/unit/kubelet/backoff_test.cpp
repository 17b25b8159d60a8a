// CrashLoopBackOff with a fake clock: 10 s doubling to 300 s, reset after 10 minutes of running.

#include <gtest/gtest.h>

#include "kubelet/pod/backoff.hpp"

namespace skiff::kubelet {
namespace {

using std::chrono::seconds;

TEST(Backoff, DoublesFromTenSecondsToFiveMinutes) {
  FakeClock clock;
  Backoff b(clock, BackoffPolicy{});
  std::vector<int64_t> delays;
  for (int i = 0; i < 8; ++i) {
    TimePoint started = clock.now();
    clock.advance(seconds(1));  // crashed after one second
    TimePoint next = b.on_exit(started);
    delays.push_back(std::chrono::duration_cast<seconds>(next - clock.now()).count());
    clock.advance(next - clock.now());
  }
  EXPECT_EQ(delays, (std::vector<int64_t>{10, 20, 40, 80, 160, 300, 300, 300}));
}

TEST(Backoff, ResetsAfterTenMinutesOfRunning) {
  FakeClock clock;
  Backoff b(clock, BackoffPolicy{});
  for (int i = 0; i < 4; ++i) (void)b.on_exit(clock.now());
  EXPECT_EQ(b.current(), seconds(80));
  TimePoint started = clock.now();
  clock.advance(std::chrono::minutes(10));
  (void)b.on_exit(started);
  EXPECT_EQ(b.current(), seconds(10));
  // Just under ten minutes does not reset.
  started = clock.now();
  clock.advance(std::chrono::minutes(10) - seconds(1));
  (void)b.on_exit(started);
  EXPECT_EQ(b.current(), seconds(20));
}

TEST(Backoff, PolicyIsConfigurable) {
  FakeClock clock;
  Backoff b(clock, BackoffPolicy{Duration(100), Duration(250), Duration(1000)});
  (void)b.on_exit(clock.now());
  EXPECT_EQ(b.current(), Duration(100));
  (void)b.on_exit(clock.now());
  EXPECT_EQ(b.current(), Duration(200));
  (void)b.on_exit(clock.now());
  EXPECT_EQ(b.current(), Duration(250));
}

}  // namespace
}  // namespace skiff::kubelet
