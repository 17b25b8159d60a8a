#include "kubelet/node/pod_sync.hpp"

#include <algorithm>

#include "api/meta.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/subprocess.hpp"
#include "kubelet/shim/pod_record.hpp"
#include "kubelet/shim/shim.hpp"

namespace skiff::kubelet::node {

using namespace std::chrono_literals;

namespace {

std::string uid_of(const Json& pod) { return api::str_at(pod, {"metadata", "uid"}); }
std::string name_of(const Json& pod) { return api::str_at(pod, {"metadata", "name"}); }
std::string ns_of(const Json& pod) {
  std::string ns = api::str_at(pod, {"metadata", "namespace"});
  return ns.empty() ? "default" : ns;
}
bool deleting(const Json& pod) {
  return !api::str_at(pod, {"metadata", "deletionTimestamp"}).empty();
}

// The ConfigMaps and Secrets a pod refers to: volumes, env valueFrom, envFrom.
void references(const Json& spec, std::set<std::pair<std::string, bool>>& cms,
                std::set<std::pair<std::string, bool>>& secrets) {
  auto note = [](std::set<std::pair<std::string, bool>>& set, const Json& ref, const char* key) {
    std::string name = ref.value(key, "");
    if (!name.empty()) set.insert({name, ref.value("optional", false)});
  };
  for (const auto& v : spec.value("volumes", Json::array())) {
    if (v.contains("configMap")) note(cms, v["configMap"], "name");
    if (v.contains("secret")) note(secrets, v["secret"], "secretName");
  }
  for (const char* list : {"initContainers", "containers"})
    for (const auto& c : spec.value(list, Json::array())) {
      for (const auto& e : c.value("env", Json::array())) {
        const Json* vf = api::at_path(e, {"valueFrom"});
        if (!vf) continue;
        if (vf->contains("configMapKeyRef")) note(cms, (*vf)["configMapKeyRef"], "name");
        if (vf->contains("secretKeyRef")) note(secrets, (*vf)["secretKeyRef"], "name");
      }
      for (const auto& e : c.value("envFrom", Json::array())) {
        if (e.contains("configMapRef")) note(cms, e["configMapRef"], "name");
        if (e.contains("secretRef")) note(secrets, e["secretRef"], "name");
      }
    }
}

// What `skiff pod status` reads: the shim's live status, else its last checkpoint.
Json local_status(const PodRecord& r) {
  auto answer = shim_request(r.node.shim_socket(r.uid), {{"op", "status"}}, 2000ms);
  if (answer) return (*answer)["status"];
  auto saved = read_json_file(r.node.pod_dir(r.uid) + "/status.json");
  if (!saved) return Json{{"phase", "Pending"}};
  Json s = (*saved)["status"];
  if (!saved->value("finished", false)) {
    s["phase"] = "Unknown";
    s["reason"] = "ShimGone";
  }
  return s;
}

}  // namespace

PodSync::~PodSync() {
  for (auto& w : workers_)
    if (w.thread.joinable()) w.thread.join();
}

void PodSync::replace_all(std::vector<Json> pods) {
  std::lock_guard lock(mu_);
  desired_.clear();
  for (auto& p : pods) {
    std::string uid = uid_of(p);  // before the move: `=` evaluates its right side first
    desired_[uid] = std::move(p);
  }
  listed_ = true;
  dirty_ = true;
  cv_.notify_all();
}

void PodSync::apply(const std::string& type, const Json& pod) {
  std::lock_guard lock(mu_);
  std::string uid = uid_of(pod);
  if (uid.empty()) return;
  if (type == "DELETED") {
    desired_.erase(uid);
    deleted_.erase(uid);
    evicted_.erase(uid);
  } else if (type == "ADDED" || type == "MODIFIED") {
    if (!deleted_.count(uid)) desired_[uid] = pod;
  }
  dirty_ = true;
  cv_.notify_all();
}

void PodSync::wake() {
  std::lock_guard lock(mu_);
  dirty_ = true;
  cv_.notify_all();
}

void PodSync::run(const std::atomic<bool>& stop) {
  while (!stop) {
    {
      std::unique_lock lock(mu_);
      // Pods on their way up are watched closely (their status changes fast), settled ones at
      // the period.
      auto wait = settling_ ? std::min<std::chrono::milliseconds>(o_.period, 100ms) : o_.period;
      cv_.wait_for(lock, wait, [&] { return dirty_ || stop.load(); });
      dirty_ = false;
    }
    if (stop) break;
    sync_once();
  }
}

Json PodSync::pod_list() {
  std::lock_guard lock(mu_);
  Json items = Json::array();
  for (const auto& [uid, pod] : desired_) items.push_back(pod);
  return {
      {"kind", "PodList"}, {"apiVersion", "v1"}, {"metadata", Json::object()}, {"items", items}};
}

Result<std::string> PodSync::logs(const std::string& ns, const std::string& pod,
                                  const std::string& container, bool previous) {
  std::string out;
  std::vector<std::string> args = {"logs", pod, "-c", container};
  if (previous) args.push_back("-p");
  TRY(skiff_pod(ns, args, std::chrono::seconds(20), &out));
  return out;
}

Result<void> PodSync::skiff_pod(const std::string& ns, const std::vector<std::string>& args,
                                std::chrono::milliseconds timeout, std::string* output) {
  const NodeConfig& n = o_.node;
  SubprocessOptions so;
  so.path = o_.skiff_pod;
  so.argv = {"skiff-pod",    "--state-root",    n.state_root,    "--run-root",
             n.run_root,     "--log-root",      n.log_root,      "--image-root",
             n.image_root,   "--snapshot-root", n.snapshot_root, "--cni-conf-dir",
             n.cni_conf_dir, "--cni-cache-dir", n.cni_cache_dir, "--cni-data-dir",
             n.cni_data_dir};
  for (const auto& d : n.cni_bin_dirs) so.argv.insert(so.argv.end(), {"--cni-bin-dir", d});
  if (!n.pause_binary.empty()) so.argv.insert(so.argv.end(), {"--pause-binary", n.pause_binary});
  for (const auto& r : n.insecure_registries)
    so.argv.insert(so.argv.end(), {"--insecure-registry", r});
  so.argv.insert(so.argv.end(), {"--cgroup-parent", n.cgroup_parent});
  so.argv.insert(so.argv.end(), {"-n", ns});  // a global flag: before the verb
  so.argv.insert(so.argv.end(), args.begin(), args.end());
  so.timeout = timeout;
  auto r = TRY(run_subprocess(so));
  if (output) *output = r.output;
  if (!r.exited_ok())
    return error("skiff-pod ", join(args, " "), ": ", r.describe(), ": ",
                 std::string(trim(r.output)));
  return ok();
}

Result<std::string> PodSync::manifest_for(const Json& pod) {
  Json p = pod;
  p.erase("status");
  p["metadata"].erase("managedFields");
  std::string ns = ns_of(pod);
  std::set<std::pair<std::string, bool>> cms, secrets;
  references(pod.value("spec", Json::object()), cms, secrets);
  std::string text = "---\n" + p.dump() + "\n";
  auto fetch = [&](const char* resource, const std::pair<std::string, bool>& ref) -> Result<void> {
    auto r =
        TRY(api_.request("GET", cat("/api/v1/namespaces/", ns, "/", resource, "/", ref.first)));
    if (r.status == 404 && ref.second) return ok();
    if (r.status != 200)
      return error(resource == std::string("secrets") ? "secret " : "configmap ", quote(ref.first),
                   ": HTTP ", r.status, ": ", r.message());
    Json obj = TRY(parse_json(r.body, ref.first));
    obj["metadata"].erase("managedFields");
    text += "---\n" + obj.dump() + "\n";
    return ok();
  };
  for (const auto& c : cms) TRY(fetch("configmaps", c));
  for (const auto& s : secrets) TRY(fetch("secrets", s));
  return text;
}

Result<void> PodSync::start_pod(const Json& pod) {
  std::string uid = uid_of(pod), name = name_of(pod), ns = ns_of(pod);
  // A local pod of the same name but another uid (deleted and created again) goes first.
  for (const auto& r : list_pod_records(o_.node.state_root))
    if (r.name == name && r.namespace_ == ns && r.uid != uid)
      TRY(skiff_pod(ns, {"rm", "-f", name}));
  std::string text = TRY_CTX(manifest_for(pod), "pod ", ns, "/", name);
  TRY(mkdir_p(o_.manifest_dir, 0700));
  std::string file = cat(o_.manifest_dir, "/", uid, ".yaml");
  TRY(write_file_atomic(file, text, 0600, false));
  auto started = skiff_pod(ns, {"run", "--detach", file});
  (void)::unlink(file.c_str());
  return started;
}

void PodSync::patch_status(const Json& pod, const Json& status) {
  std::string path = cat("/api/v1/namespaces/", ns_of(pod), "/pods/", name_of(pod), "/status");
  Json body = {{"metadata", {{"uid", uid_of(pod)}}}, {"status", status}};
  auto r = api_.request("PATCH", path, body.dump(), "application/merge-patch+json");
  if (!r)
    log::warn("patch ", path, ": ", r.error().what());
  else if (r->status != 200 && r->status != 404)
    log::warn("patch ", path, ": HTTP ", r->status, ": ", r->message());
}

void PodSync::report_status(const std::string& uid, const Json& pod, Json status) {
  // A merge patch keeps fields it does not name: clear an earlier failure's explanation.
  for (const char* k : {"reason", "message"})
    if (!status.contains(k)) status[k] = nullptr;
  status["hostIP"] = o_.node_ip;
  if (!o_.node_ip.empty()) status["hostIPs"] = Json::array({{{"ip", o_.node_ip}}});
  {
    std::lock_guard lock(mu_);
    auto it = reported_.find(uid);
    if (it != reported_.end() && it->second == status) return;
  }
  patch_status(pod, status);
  std::lock_guard lock(mu_);
  reported_[uid] = status;
}

void PodSync::begin_worker(const std::string& uid, std::function<void()> fn) {
  busy_.insert(uid);  // mu_ held by the caller
  auto done = std::make_shared<std::atomic<bool>>(false);
  workers_.push_back({std::thread([this, uid, fn = std::move(fn), done] {
                        fn();
                        std::lock_guard lock(mu_);
                        busy_.erase(uid);
                        dirty_ = true;
                        cv_.notify_all();
                        *done = true;
                      }),
                      done});
}

void PodSync::start_and_record(const Json& pod) {
  std::string uid = uid_of(pod);
  auto started = start_pod(pod);
  if (started) {
    log::info("pod ", ns_of(pod), "/", name_of(pod), " started");
    std::lock_guard lock(mu_);
    attempts_.erase(uid);
    return;
  }
  std::string msg = started.error().what();
  log::warn("start pod ", ns_of(pod), "/", name_of(pod), ": ", msg);
  bool config =
      msg.find("configmap ") != std::string::npos || msg.find("secret ") != std::string::npos;
  {
    std::lock_guard lock(mu_);
    auto& a = attempts_[uid];
    int failures = ++a.failures;
    a.next =
        std::chrono::steady_clock::now() +
        std::min<std::chrono::milliseconds>(
            std::chrono::seconds(int64_t{1} << std::min(failures, 6)), std::chrono::seconds(60));
  }
  Json status = {{"phase", "Pending"},
                 {"reason", config ? "CreateContainerConfigError" : "CreatePodSandboxError"},
                 {"message", msg}};
  report_status(uid, pod, status);
}

Result<void> PodSync::evict(const std::string& uid, const std::string& message) {
  Json pod;
  {
    std::lock_guard lock(mu_);
    auto it = desired_.find(uid);
    if (it == desired_.end()) return error("pod ", uid, ": not bound here");
    if (busy_.count(uid)) return error("pod ", uid, ": busy");
    pod = it->second;
    busy_.insert(uid);
    evicted_.insert(uid);
  }
  std::string ns = ns_of(pod), name = name_of(pod);
  auto stopped = skiff_pod(ns, {"stop", "-t", "0", name}, std::chrono::seconds(60));
  Json status = {{"phase", "Failed"}};
  for (const auto& r : list_pod_records(o_.node.state_root))
    if (r.uid == uid) status = local_status(r);  // the containers' terminated states
  status["phase"] = "Failed";
  status["reason"] = "Evicted";
  status["message"] = message;
  auto removed = skiff_pod(ns, {"rm", "-f", name});  // frees its volumes and logs
  report_status(uid, pod, status);
  std::lock_guard lock(mu_);
  busy_.erase(uid);
  dirty_ = true;
  cv_.notify_all();
  if (!stopped) return stopped;
  return removed;
}

void PodSync::sync_once() {
  auto records = list_pod_records(o_.node.state_root);
  std::map<std::string, PodRecord> local;
  for (auto& r : records) local.emplace(r.uid, std::move(r));

  std::vector<Json> to_start;
  std::vector<std::pair<Json, PodRecord>> to_report;
  {
    std::lock_guard lock(mu_);
    // Finished workers are joined.
    for (auto& w : workers_)
      if (*w.done && w.thread.joinable()) w.thread.join();
    std::erase_if(workers_, [](const Worker& w) { return !w.thread.joinable(); });

    auto now = std::chrono::steady_clock::now();
    for (const auto& [uid, pod] : desired_) {
      if (busy_.count(uid) || deleted_.count(uid)) continue;
      if (evicted_.count(uid) && !deleting(pod)) continue;
      auto it = local.find(uid);
      if (deleting(pod)) {
        int64_t grace = pod["metadata"].value("deletionGracePeriodSeconds", int64_t{30});
        bool have = it != local.end();
        Json p = pod;
        begin_worker(uid, [this, p, have, grace] {
          std::string ns = ns_of(p), name = name_of(p), uid = uid_of(p);
          if (have) {
            auto stopped = skiff_pod(ns, {"stop", "-t", std::to_string(grace), name},
                                     std::chrono::seconds(grace + 60));
            if (!stopped) log::warn("stop pod ", ns, "/", name, ": ", stopped.error().what());
            auto removed = skiff_pod(ns, {"rm", "-f", name});
            if (!removed) {
              log::warn("remove pod ", ns, "/", name, ": ", removed.error().what());
              return;  // tried again on the next pass
            }
          }
          Json opts = {{"apiVersion", "v1"},
                       {"kind", "DeleteOptions"},
                       {"gracePeriodSeconds", 0},
                       {"preconditions", {{"uid", uid}}}};
          auto r =
              api_.request("DELETE", cat("/api/v1/namespaces/", ns, "/pods/", name), opts.dump());
          if (!r) {
            log::warn("delete pod ", ns, "/", name, ": ", r.error().what());
            return;
          }
          bool gone = r->status == 200 || r->status == 404 || r->status == 409;
          if (r->status == 403) {
            // The node authorizer answers 403 for a pod that no longer exists; only a get
            // tells the two apart.
            auto now = api_.request("GET", cat("/api/v1/namespaces/", ns, "/pods/", name));
            gone = now && now->status == 404;
          }
          if (!gone) {
            log::warn("delete pod ", ns, "/", name, ": HTTP ", r->status, ": ", r->message());
            return;
          }
          std::lock_guard lock(mu_);
          deleted_.insert(uid);
          desired_.erase(uid);
          reported_.erase(uid);
          attempts_.erase(uid);
        });
        continue;
      }
      if (it == local.end()) {
        if (o_.network_ready && !*o_.network_ready) continue;
        auto a = attempts_.find(uid);
        if (a == attempts_.end() || a->second.next <= now) to_start.push_back(pod);
      } else {
        to_report.emplace_back(pod, it->second);
      }
    }
    // Orphans: local pods the API does not have (known only once a list has succeeded).
    if (listed_)
      for (const auto& [uid, r] : local) {
        if (desired_.count(uid) || busy_.count(uid)) continue;
        std::string ns = r.namespace_, name = r.name;
        begin_worker(uid, [this, ns, name] {
          log::info("pod ", ns, "/", name, " is not in the API any more: stopping it");
          auto removed = skiff_pod(ns, {"rm", "-f", name});
          if (!removed) log::warn("remove orphan ", ns, "/", name, ": ", removed.error().what());
        });
        reported_.erase(uid);
      }
  }

  // Starts run in workers, a few at a time (each waits for its sandbox), so statuses and
  // deletions go on meanwhile.
  {
    std::lock_guard lock(mu_);
    for (const auto& pod : to_start) {
      if (starting_ >= kMaxParallelStarts) break;
      starting_++;
      begin_worker(uid_of(pod), [this, pod] {
        start_and_record(pod);
        std::lock_guard lock(mu_);
        starting_--;
      });
    }
  }
  bool settling = !to_start.empty();
  for (const auto& [pod, record] : to_report) {
    Json status = local_status(record);
    std::string phase = status.value("phase", "");
    bool ready = false;
    for (const auto& c : status.value("conditions", Json::array()))
      if (c.value("type", "") == "Ready") ready = c.value("status", "") == "True";
    if (phase == "Pending" || (phase == "Running" && !ready)) settling = true;
    report_status(uid_of(pod), pod, std::move(status));
  }
  settling_ = settling;
}

}  // namespace skiff::kubelet::node
