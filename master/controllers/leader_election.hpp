#pragma once
// Leader election through a coordination.k8s.io Lease (kube-controller-manager's scheme): the
// holder renews spec.renewTime every retry period with an optimistic-concurrency update; another
// candidate takes the Lease over once it has seen no renewal for leaseDurationSeconds (measured on
// its own clock, so clock skew between masters does not matter). With several masters on one
// etcd, only the leader runs the scheduler and the controllers; the others serve the API.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "master/registry/registry.hpp"

namespace skiff::master {

struct LeaderElectionOptions {
  // This candidate (default: hostname_randomhex). Kept in the data directory, so a restarted
  // master reclaims its own Lease at once instead of waiting for it to expire.
  std::string identity;
  std::string ns = "kube-system";
  std::string name = "skiff-master";
  std::chrono::milliseconds lease_duration{std::chrono::seconds(15)};
  std::chrono::milliseconds renew_deadline{std::chrono::seconds(10)};
  std::chrono::milliseconds retry_period{std::chrono::seconds(2)};
};

class LeaderElector {
 public:
  using Callback = std::function<void()>;
  // `started` runs (on the elector's thread) when this candidate becomes the leader, `stopped`
  // when it loses the Lease or stop() is called while leading.
  LeaderElector(Registry& registry, LeaderElectionOptions options, Callback started,
                Callback stopped);
  ~LeaderElector() { stop(); }
  void start();
  // Stops campaigning; a leader releases the Lease (empty holder) so another takes over at once.
  void stop();
  bool leading() const { return leading_; }
  const std::string& identity() const { return o_.identity; }

 private:
  void run();
  // One acquire-or-renew attempt; true when we hold the Lease afterwards.
  bool try_acquire_or_renew();
  void release();

  Registry& registry_;
  LeaderElectionOptions o_;
  Callback started_, stopped_;
  std::atomic<bool> leading_{false};
  std::string observed_;  // holder + renewTime last seen
  std::chrono::steady_clock::time_point observed_at_{};
  std::chrono::steady_clock::time_point last_renew_{};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// The candidate identity stored in `path`, made (hostname_randomhex) and saved on first use.
std::string persistent_identity(const std::string& path);

// "2026-11-23T18:00:00.123456Z": a metav1.MicroTime.
std::string micro_time_now();

}  // namespace skiff::master
