#include "master/controllers/leader_election.hpp"

#include <unistd.h>

#include <random>

#include "api/kinds.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace skiff::master {

std::string micro_time_now() {
  auto now = std::chrono::system_clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  time_t secs = us / 1000000;
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[80];
  snprintf(out, sizeof(out), "%s.%06lldZ", buf, static_cast<long long>(us % 1000000));
  return out;
}

static std::string default_identity() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  std::random_device rd;
  char suffix[17];
  snprintf(suffix, sizeof(suffix), "%08x%08x", rd(), rd());
  return cat(host, "_", suffix);
}

std::string persistent_identity(const std::string& path) {
  if (auto saved = read_file(path); saved.ok() && !trim(*saved).empty())
    return std::string(trim(*saved));
  std::string id = default_identity();
  (void)write_file_atomic(path, id + "\n", 0644, false);
  return id;
}

LeaderElector::LeaderElector(Registry& registry, LeaderElectionOptions options, Callback started,
                             Callback stopped)
    : registry_(registry),
      o_(std::move(options)),
      started_(std::move(started)),
      stopped_(std::move(stopped)) {
  if (o_.identity.empty()) o_.identity = default_identity();
}

void LeaderElector::start() {
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void LeaderElector::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LeaderElector::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    bool held = try_acquire_or_renew();
    auto now = std::chrono::steady_clock::now();
    if (held) {
      last_renew_ = now;
      if (!leading_) {
        leading_ = true;
        log::info("leader election: ", o_.identity, " is now the leader (", o_.ns, "/", o_.name,
                  ")");
        fprintf(stderr, "skiff-master: became the leader as %s\n", o_.identity.c_str());
        if (started_) started_();
      }
    } else if (leading_ && now - last_renew_ > o_.renew_deadline) {
      leading_ = false;
      fprintf(stderr, "skiff-master: lost the leader lease\n");
      if (stopped_) stopped_();
    }
    lock.lock();
    cv_.wait_for(lock, o_.retry_period, [&] { return stopping_; });
  }
  lock.unlock();
  if (leading_) {
    leading_ = false;
    if (stopped_) stopped_();
    release();
  }
}

bool LeaderElector::try_acquire_or_renew() {
  const api::KindInfo* leases = api::find_resource("coordination.k8s.io", "leases");
  if (!leases) return false;
  std::string now = micro_time_now();
  int64_t secs = std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(o_.lease_duration).count());
  Object cur = registry_.store().get(object_key(leases->group_resource(), o_.ns, o_.name));
  Identity system{"system:kube-controller-manager", {"system:masters"}};
  if (!cur) {
    Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", o_.name}, {"namespace", o_.ns}}},
                  {"spec",
                   {{"holderIdentity", o_.identity},
                    {"leaseDurationSeconds", secs},
                    {"acquireTime", now},
                    {"renewTime", now},
                    {"leaseTransitions", 0}}}};
    auto r = registry_.create(*leases, o_.ns, lease, system);
    if (!r.ok()) return false;
    observed_ = cat(o_.identity, "@", now);
    observed_at_ = std::chrono::steady_clock::now();
    return true;
  }
  const Json& old = *cur.json;
  const Json spec = old.value("spec", Json::object());
  std::string holder = spec.value("holderIdentity", "");
  std::string renewed = spec.value("renewTime", "");
  std::string seen = cat(holder, "@", renewed);
  auto local_now = std::chrono::steady_clock::now();
  if (seen != observed_) {
    observed_ = seen;
    observed_at_ = local_now;
  }
  std::chrono::milliseconds duration = o_.lease_duration;
  if (spec.contains("leaseDurationSeconds") && spec["leaseDurationSeconds"].is_number_integer())
    duration = std::chrono::seconds(spec["leaseDurationSeconds"].get<int64_t>());
  bool mine = holder == o_.identity;
  if (!mine && !holder.empty() && local_now - observed_at_ < duration) return false;
  Json next = old;
  Json& s = next["spec"];
  s["holderIdentity"] = o_.identity;
  s["leaseDurationSeconds"] = secs;
  s["renewTime"] = now;
  if (!mine) {
    s["acquireTime"] = now;
    s["leaseTransitions"] = spec.value("leaseTransitions", 0) + 1;
  }
  auto r = registry_.update(*leases, o_.ns, o_.name, "", next);  // carries resourceVersion
  if (!r.ok()) return false;
  observed_ = cat(o_.identity, "@", now);
  observed_at_ = std::chrono::steady_clock::now();
  return true;
}

void LeaderElector::release() {
  const api::KindInfo* leases = api::find_resource("coordination.k8s.io", "leases");
  if (!leases) return;
  Object cur = registry_.store().get(object_key(leases->group_resource(), o_.ns, o_.name));
  if (!cur || (*cur.json)["spec"].value("holderIdentity", "") != o_.identity) return;
  Json next = *cur.json;
  next["spec"]["holderIdentity"] = "";
  next["spec"]["renewTime"] = micro_time_now();
  (void)registry_.update(*leases, o_.ns, o_.name, "", next);
}

}  // namespace skiff::master
