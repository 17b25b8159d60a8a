#include "kubelet/node/pod_sync.hpp"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>

#include "api/meta.hpp"
#include "common/base64.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/subprocess.hpp"
#include "kubelet/engine/volumes.hpp"
#include "kubelet/node/static_pods.hpp"
#include "kubelet/pod/pod.hpp"
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

std::string key_of(const std::string& ns, const std::string& name) { return ns + "/" + name; }
std::string key_of(const Json& pod) { return key_of(ns_of(pod), name_of(pod)); }

// What `skiff pod status` reads: the shim's live status, else its last checkpoint; `pid` is the
// shim's when it answered.
Json local_status(const PodRecord& r, pid_t* pid = nullptr) {
  if (pid) *pid = 0;
  auto answer = shim_request(r.node.shim_socket(r.uid), {{"op", "status"}}, 2000ms);
  if (answer) {
    if (pid) *pid = answer->value("pid", 0);
    return (*answer)["status"];
  }
  auto saved = read_json_file(r.node.pod_dir(r.uid) + "/status.json");
  if (!saved) return Json{{"phase", "Pending"}};
  Json s = (*saved)["status"];
  if (!saved->value("finished", false)) {
    s["phase"] = "Unknown";
    s["reason"] = "ShimGone";
  }
  return s;
}

// A file's identity and last change (an atomic rewrite is a new inode), or none.
std::optional<std::array<int64_t, 4>> file_sig(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0) return std::nullopt;
  return std::array<int64_t, 4>{
      static_cast<int64_t>(st.st_ino), static_cast<int64_t>(st.st_size),
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
      static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec};
}

// Settled: nothing is expected to change soon (Running with every container ready, or done).
bool settled(const Json& status) {
  std::string phase = status.value("phase", "");
  if (phase == "Succeeded" || phase == "Failed") return true;
  if (phase != "Running") return false;
  for (const auto& c : status.value("conditions", Json::array()))
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  return false;
}

// The pod a record runs is a static pod (its manifest's first document: the pod as the kubelet
// staged it, with config.source "file" and config.hash its uid).
bool record_is_static(const PodRecord& r) {
  std::string_view text = r.manifest_text;
  if (text.starts_with("---\n")) text.remove_prefix(4);
  auto pod = Json::parse(text.substr(0, text.find('\n')), nullptr, false);
  return pod.is_object() && is_static_pod(pod) &&
         api::str_at(pod, {"metadata", "annotations", kConfigHashAnnotation}) == r.uid;
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
  checkpoints_.reset(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!checkpoints_) log::warn(errno_error("inotify_init1").what(), ": pod statuses polled only");
  std::thread watcher;
  if (checkpoints_)
    watcher = std::thread([this, &stop] {
      alignas(struct inotify_event) char buf[4096];
      while (!stop) {
        struct pollfd p = {checkpoints_.get(), POLLIN, 0};
        if (::poll(&p, 1, 500) <= 0) continue;
        ssize_t n = ::read(checkpoints_.get(), buf, sizeof buf);
        bool changed = false;
        for (ssize_t at = 0; n > 0 && at + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
          auto* ev = reinterpret_cast<const struct inotify_event*>(buf + at);
          changed |= ev->len > 0 && std::strcmp(ev->name, "status.json") == 0;
          at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        }
        if (changed) wake();
      }
    });
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
  if (watcher.joinable()) watcher.join();
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
  // imagePullSecrets: a missing one is pulled without (the kubelet's warning), so optional.
  for (const auto& s : pod["spec"].value("imagePullSecrets", Json::array()))
    if (std::string name = s.is_object() ? s.value("name", "") : "";
        !name.empty() && !secrets.count({name, false}))
      secrets.insert({name, true});
  std::string text = "---\n" + p.dump() + "\n";
  auto fetch = [&](const char* resource, const std::pair<std::string, bool>& ref) -> Result<void> {
    auto r =
        TRY(api_.request("GET", cat("/api/v1/namespaces/", ns, "/", resource, "/", ref.first)));
    if (r.status == 404 && ref.second) return ok();
    const char* kind = resource == std::string("secrets") ? "secret " : "configmap ";
    if (r.status == 404) return error(kind, json_quote(ref.first), " not found");
    if (r.status != 200)
      return error(kind, quote(ref.first), ": HTTP ", r.status, ": ", r.message());
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
  // In this process, not through `skiff-pod run` (what it does, minus an exec and dynamic link
  // of a large binary per pod, ~20 ms of CPU here): the record written, the shim forked by the
  // zygote (it inherits nothing of ours but its ready pipe), back once the sandbox is up.
  std::string source = cat("pod ", ns, "/", name, " from the API");
  auto m = TRY(parse_manifest(text, source));
  TRY(create_pod(o_.node, m, text, source,
                 [&](const std::string& dir) { return zygote_.spawn(dir); }));
  return ok();
}

bool PodSync::patch_status(const Json& pod, const Json& status) {
  std::string uid = uid_of(pod);
  if (is_static_pod(pod)) {
    // A static pod's status goes to its mirror pod (once there is one).
    std::lock_guard lock(mu_);
    auto m = mirror_uid_.find(uid);
    if (m == mirror_uid_.end()) return false;
    uid = m->second;
  }
  std::string path = cat("/api/v1/namespaces/", ns_of(pod), "/pods/", name_of(pod), "/status");
  Json body = {{"metadata", {{"uid", uid}}}, {"status", status}};
  auto r = api_.request("PATCH", path, body.dump(), "application/merge-patch+json");
  if (!r)
    log::warn("patch ", path, ": ", r.error().what());
  else if (r->status != 200 && r->status != 404)
    log::warn("patch ", path, ": HTTP ", r->status, ": ", r->message());
  return true;
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
  if (!patch_status(pod, status)) return;
  std::lock_guard lock(mu_);
  reported_[uid] = status;
}

void PodSync::begin_worker(const std::string& uid, const std::string& key,
                           std::function<void()> fn) {
  busy_[uid] = key;  // mu_ held by the caller
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
  std::string lower = msg;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  bool config =
      lower.find("configmap ") != std::string::npos || lower.find("secret ") != std::string::npos;
  if (auto at = msg.find(": configmap "); config && at != std::string::npos)
    msg = msg.substr(at + 2);
  if (auto at = msg.find(": secret "); config && at != std::string::npos) msg = msg.substr(at + 2);
  {
    std::lock_guard lock(mu_);
    auto& a = attempts_[uid];
    int failures = ++a.failures;
    // A missing ConfigMap or Secret is looked for again soon (the kubelet retries every sync):
    // the pod starts within seconds of its creation.
    auto cap = config ? o_.config_retry : std::chrono::milliseconds(std::chrono::seconds(60));
    a.next = std::chrono::steady_clock::now() +
             std::min<std::chrono::milliseconds>(
                 std::chrono::seconds(int64_t{1} << std::min(failures, 6)), cap);
  }
  std::string reason = config ? "CreateContainerConfigError" : "CreatePodSandboxError";
  Json status = {{"phase", "Pending"}, {"reason", reason}, {"message", msg}};
  if (config) {
    // As the kubelet: every container waits with the reason and the message.
    Json list = Json::array();
    for (const auto& c : pod["spec"].value("containers", Json::array()))
      list.push_back({{"name", c.value("name", "")},
                      {"image", c.value("image", "")},
                      {"imageID", ""},
                      {"ready", false},
                      {"started", false},
                      {"restartCount", 0},
                      {"state", {{"waiting", {{"reason", reason}, {"message", msg}}}}}});
    status["containerStatuses"] = list;
  }
  report_status(uid, pod, status);
}

Result<void> PodSync::evict(const std::string& uid, const std::string& message,
                            int64_t grace_seconds) {
  Json pod;
  {
    std::lock_guard lock(mu_);
    auto it = desired_.find(uid);
    if (it == desired_.end()) return error("pod ", uid, ": not bound here");
    if (busy_.count(uid)) return error("pod ", uid, ": busy");
    pod = it->second;
    for (const auto& [other, key] : busy_)
      if (key == key_of(pod)) return error("pod ", uid, ": busy (", key, ")");
    busy_[uid] = key_of(pod);
    evicted_.insert(uid);
  }
  std::string ns = ns_of(pod), name = name_of(pod);
  auto stopped = skiff_pod(ns, {"stop", "-t", std::to_string(grace_seconds), name},
                           std::chrono::seconds(60 + grace_seconds));
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

void PodSync::sync_static_pods() {
  auto now = std::chrono::steady_clock::now();
  if (now < next_static_scan_) return;
  next_static_scan_ = now + o_.static_check;
  std::map<std::string, Json> found;
  for (auto& f : static_reader_.read(o_.static_pod_path, o_.node_name)) {
    if (!f.pod) {
      std::string why = f.pod.error().what();
      if (static_errors_.insert(why).second) log::warn("static pod: ", why);
      continue;
    }
    std::string uid = uid_of(*f.pod);
    found[uid] = std::move(*f.pod);
  }
  std::vector<Json> statics, mirrors;
  bool listed;
  {
    std::lock_guard lock(mu_);
    for (const auto& [uid, pod] : found)
      if (!static_.count(uid))
        log::info("static pod ", ns_of(pod), "/", name_of(pod), " from ", o_.static_pod_path);
    if (static_ != found) dirty_ = true;
    static_ = std::move(found);
    static_read_ = true;
    for (const auto& [uid, pod] : static_) statics.push_back(pod);
    for (const auto& [uid, pod] : desired_)
      if (is_mirror_pod(pod) && !deleting(pod) && !deleted_.count(uid)) mirrors.push_back(pod);
    listed = listed_;
  }
  if (!listed) return;  // the API's mirror pods are not known yet
  auto remove_mirror = [&](const Json& m) {
    Json opts = {{"apiVersion", "v1"},
                 {"kind", "DeleteOptions"},
                 {"gracePeriodSeconds", 0},
                 {"preconditions", {{"uid", uid_of(m)}}}};
    auto r = api_.request("DELETE", cat("/api/v1/namespaces/", ns_of(m), "/pods/", name_of(m)),
                          opts.dump());
    if (!r || (r->status != 200 && r->status != 404 && r->status != 409))
      log::warn("delete mirror pod ", ns_of(m), "/", name_of(m), ": ",
                r ? cat("HTTP ", r->status, ": ", r->message()) : r.error().what());
    std::lock_guard lock(mu_);
    deleted_.insert(uid_of(m));
    desired_.erase(uid_of(m));
  };
  std::map<std::string, std::string> mirror_uids;
  for (const auto& m : mirrors) {
    std::string hash = api::str_at(m, {"metadata", "annotations", kConfigMirrorAnnotation});
    bool current = std::any_of(statics.begin(), statics.end(), [&](const Json& sp) {
      return uid_of(sp) == hash && name_of(sp) == name_of(m) && ns_of(sp) == ns_of(m);
    });
    if (current) {
      mirror_uids[hash] = uid_of(m);
    } else {
      // Its manifest was removed or changed: the mirror goes (the new one is made next).
      log::info("mirror pod ", ns_of(m), "/", name_of(m),
                " has no static pod (any more): deleting it");
      remove_mirror(m);
    }
  }
  for (const auto& sp : statics) {
    std::string uid = uid_of(sp);
    if (mirror_uids.count(uid)) continue;
    bool taken = std::any_of(mirrors.begin(), mirrors.end(), [&](const Json& m) {
      return name_of(m) == name_of(sp) && ns_of(m) == ns_of(sp);
    });
    if (taken) continue;  // the old mirror is being deleted
    if (auto p = mirror_posted_.find(uid);
        p != mirror_posted_.end() && now - p->second < std::chrono::seconds(5))
      continue;  // created: the watch brings it
    if (node_uid_.empty())
      if (auto n = api_.get_json("/api/v1/nodes/" + o_.node_name))
        node_uid_ = api::str_at(*n, {"metadata", "uid"});
    Json mirror = mirror_pod(sp, o_.node_name, node_uid_);
    auto r = api_.request("POST", cat("/api/v1/namespaces/", ns_of(sp), "/pods"), mirror.dump());
    if (!r || (r->status != 201 && r->status != 409)) {
      log::warn("create mirror pod ", ns_of(sp), "/", name_of(sp), ": ",
                r ? cat("HTTP ", r->status, ": ", r->message()) : r.error().what());
      continue;
    }
    mirror_posted_[uid] = now;
    if (r->status == 201)
      if (auto made = parse_json(r->body, "mirror pod")) {
        std::string muid = uid_of(*made);
        mirror_uids[uid] = muid;
        std::lock_guard lock(mu_);
        desired_[muid] = *made;  // before the watch: the next pass must not post it again
      }
  }
  std::lock_guard lock(mu_);
  for (auto& [uid, muid] : mirror_uids)
    if (mirror_uid_[uid] != muid) {
      mirror_uid_[uid] = muid;
      reported_.erase(uid);  // the new mirror gets the status
    }
}

bool PodSync::local_name_is(const std::string& uid, const std::string& ns,
                            const std::string& name) {
  for (const auto& r : list_pod_records(o_.node.state_root))
    if (r.name == name && r.namespace_ == ns) return r.uid == uid;
  return false;
}

const std::map<std::string, PodSync::CachedRecord>& PodSync::local_records() {
  std::map<std::string, CachedRecord> next;
  if (DIR* d = opendir(o_.node.state_root.c_str())) {
    while (struct dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string dir = cat(o_.node.state_root, '/', e->d_name);
      auto sig = file_sig(dir + "/pod.json");
      if (!sig) continue;  // being made or removed
      // A pod's directory is named by its uid.
      if (auto known = records_.find(e->d_name);
          known != records_.end() && known->second.sig == *sig) {
        next.insert(*known);
        continue;
      }
      auto r = load_pod_record(dir);
      if (!r) continue;  // as list_pod_records: a record that cannot be read is skipped
      std::string uid = r->uid;
      bool is_static = record_is_static(*r);
      next[uid] = CachedRecord{*sig, std::move(*r), is_static};
    }
    closedir(d);
  }
  records_ = std::move(next);
  if (checkpoints_) {
    for (auto it = watches_.begin(); it != watches_.end();)
      if (!records_.count(it->first)) {
        (void)inotify_rm_watch(checkpoints_.get(), it->second);  // EINVAL once the dir is gone
        it = watches_.erase(it);
      } else {
        ++it;
      }
    for (const auto& [uid, c] : records_)
      if (!watches_.count(uid)) {
        int wd = inotify_add_watch(checkpoints_.get(), cat(o_.node.state_root, '/', uid).c_str(),
                                   IN_MOVED_TO | IN_ONLYDIR);  // status.json is renamed in
        if (wd >= 0) watches_[uid] = wd;
      }
  }
  return records_;
}

Json PodSync::observe(const PodRecord& r, std::chrono::steady_clock::time_point now) {
  std::optional<std::string> checkpoint;
  if (auto text = read_file(r.node.pod_dir(r.uid) + "/status.json")) checkpoint = std::move(*text);
  auto it = observed_.find(r.uid);
  bool ask = it == observed_.end() || it->second.checkpoint != checkpoint;
  if (!ask) {
    const Observed& o = it->second;
    auto age = now - o.asked;
    ask = age >= (settled(o.status) ? o_.status_recheck : o_.period) ||
          (o.shim_pid > 0 && ::kill(o.shim_pid, 0) < 0 && errno == ESRCH);
  }
  if (!ask) return it->second.status;
  Observed o;
  // A checkpoint new since the last look holds the status the shim has just written: no need
  // to wake it for the same (3 checkpoints a pod start). The first look, the periodic one and a
  // shim gone ask the shim (local_status: a dead shim's unfinished pod is Unknown).
  bool taken = false;
  if (it != observed_.end() && checkpoint && it->second.checkpoint != checkpoint)
    if (auto j = parse_json(*checkpoint, "status.json");
        j && j->is_object() && (*j)["status"].is_object() && !j->value("finished", false)) {
      o.shim_pid = j->value("shimPid", 0);
      if (o.shim_pid > 0 && (::kill(o.shim_pid, 0) == 0 || errno == EPERM)) {
        o.status = (*j)["status"];
        taken = true;
      }
    }
  o.checkpoint = std::move(checkpoint);  // read before asking: a later one is seen next pass
  if (!taken) o.status = local_status(r, &o.shim_pid);
  o.asked = now;
  o.changed = it == observed_.end() || it->second.status != o.status ? now : it->second.changed;
  observed_[r.uid] = o;
  return o.status;
}

void PodSync::sync_once() {
  if (!o_.static_pod_path.empty()) sync_static_pods();
  // The workers running now: one that ends while the records are read is still treated as
  // running in this pass (its record may be read from before or after its change).
  std::map<std::string, std::string> busy_before;
  {
    std::lock_guard lock(mu_);
    for (auto& w : workers_)
      if (*w.done && w.thread.joinable()) w.thread.join();
    std::erase_if(workers_, [](const Worker& w) { return !w.thread.joinable(); });
    busy_before = busy_;
  }
  const auto& local = local_records();
  std::map<std::string, std::set<std::string>> local_by_name;  // namespace/name -> uids
  for (const auto& [uid, c] : local)
    local_by_name[key_of(c.record.namespace_, c.record.name)].insert(uid);

  std::vector<Json> to_start;
  std::vector<std::pair<Json, const PodRecord*>> to_report;
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    auto busy = [&](const std::string& uid) {
      return busy_.count(uid) > 0 || busy_before.count(uid) > 0;
    };
    // Another worker holds the name (skiff-pod finds pods by name: one at a time).
    auto name_taken = [&](const std::string& key, const std::string& uid) {
      for (const auto* m : {&busy_, &busy_before})
        for (const auto& [u, k] : *m)
          if (k == key && u != uid) return true;
      return false;
    };
    for (const auto& [uid, pod] : desired_) {
      if (busy(uid) || deleted_.count(uid)) continue;
      // A mirror pod is the API's view of a static pod, which runs under its own uid; only its
      // deletion is acted on (it is created again by sync_static_pods).
      if (is_mirror_pod(pod) && !deleting(pod)) continue;
      if (evicted_.count(uid) && !deleting(pod)) continue;
      auto it = local.find(uid);
      if (deleting(pod)) {
        if (name_taken(key_of(pod), uid)) continue;  // after the worker on its name
        int64_t grace = pod["metadata"].value("deletionGracePeriodSeconds", int64_t{30});
        bool have = it != local.end();
        Json p = pod;
        begin_worker(uid, key_of(pod), [this, p, have, grace] {
          std::string ns = ns_of(p), name = name_of(p), uid = uid_of(p);
          if (have && local_name_is(uid, ns, name)) {
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
        // A terminal pod is never started again (nor one admission refused).
        std::string phase = api::str_at(pod, {"status", "phase"});
        if (phase == "Failed" || phase == "Succeeded" || rejected_.count(uid)) continue;
        auto a = attempts_.find(uid);
        if (a == attempts_.end() || a->second.next <= now) to_start.push_back(pod);
      } else {
        admitted_.insert(uid);
        to_report.emplace_back(pod, &it->second.record);
      }
    }
    // Static pods: the manifests' pods, whatever the API says.
    for (const auto& [uid, pod] : static_) {
      if (busy(uid)) continue;
      auto it = local.find(uid);
      if (it != local.end()) {
        to_report.emplace_back(pod, &it->second.record);
        continue;
      }
      bool host_network = pod["spec"].value("hostNetwork", false);
      if (o_.network_ready && !*o_.network_ready && !host_network) continue;
      auto a = attempts_.find(uid);
      if (a == attempts_.end() || a->second.next <= now) to_start.push_back(pod);
    }
    // Orphans: local pods no source has. Only once the sources are known, as the kubelet's
    // housekeeping (which waits for all sources to be ready): the API's pods after its first
    // list, the static pods once the manifests were read. A static pod whose manifest changed
    // or went is removed once they are read, with or without the API (its successor waits for
    // it: control-plane static pods start before there is an API).
    bool statics_known = o_.static_pod_path.empty() || static_read_;
    for (const auto& [uid, c] : local) {
      if (desired_.count(uid) || static_.count(uid) || busy(uid)) continue;
      if (!statics_known || !(listed_ || c.is_static)) continue;
      std::string ns = c.record.namespace_, name = c.record.name;
      if (name_taken(key_of(ns, name), uid)) continue;
      begin_worker(uid, key_of(ns, name), [this, uid, ns, name] {
        if (!local_name_is(uid, ns, name)) return;  // gone meanwhile
        log::info("pod ", ns, "/", name, " (uid ", uid, ") has no source any more: removing it");
        auto removed = skiff_pod(ns, {"rm", "-f", name});
        if (!removed) log::warn("remove orphan ", ns, "/", name, ": ", removed.error().what());
      });
      reported_.erase(uid);
    }
    // A pod starts only when its name is free: no worker on it, no local pod of that name under
    // another uid (removed first, above or by its deletion).
    std::erase_if(to_start, [&](const Json& pod) {
      std::string uid = uid_of(pod), key = key_of(pod);
      if (name_taken(key, uid)) return true;
      auto l = local_by_name.find(key);
      return l != local_by_name.end() &&
             std::any_of(l->second.begin(), l->second.end(),
                         [&](const std::string& u) { return u != uid; });
    });
  }

  // Starts run in workers, a few at a time (each waits for its sandbox), so statuses and
  // deletions go on meanwhile.
  std::vector<std::pair<Json, Admission>> refused;
  {
    std::lock_guard lock(mu_);
    for (const auto& pod : to_start) {
      if (starting_ >= kMaxParallelStarts) break;
      std::string uid = uid_of(pod);
      if (!admitted_.count(uid) && !is_static_pod(pod)) {
        // The pods admitted before, still bound here (or static) and not finished.
        std::erase_if(admitted_, [&](const std::string& u) {
          return !desired_.count(u) && !static_.count(u);
        });
        std::vector<Json> active;
        for (const auto& u : admitted_) {
          auto r = reported_.find(u);
          std::string phase = r == reported_.end() ? "" : r->second.value("phase", "");
          if (phase == "Succeeded" || phase == "Failed") continue;
          auto d = desired_.find(u);
          active.push_back(d != desired_.end() ? d->second : static_[u]);
        }
        Admission a = admit_pod(
            pod, active, o_.allocatable.value_or(Allocatable{INT64_MAX, INT64_MAX, INT64_MAX}));
        if (!a.admit) {
          rejected_.insert(uid);
          refused.emplace_back(pod, std::move(a));
          continue;
        }
        admitted_.insert(uid);
      }
      starting_++;
      begin_worker(uid, key_of(pod), [this, pod] {
        start_and_record(pod);
        std::lock_guard lock(mu_);
        starting_--;
      });
    }
  }
  for (const auto& [pod, a] : refused) {
    log::warn("pod ", ns_of(pod), "/", name_of(pod), " not admitted: ", a.reason, ": ", a.message);
    report_status(uid_of(pod), pod,
                  {{"phase", "Failed"}, {"reason", a.reason}, {"message", a.message}});
  }
  // Statuses. Pods on their way up (or changing) keep the passes at 100 ms; a pod that stays
  // unready without changing (a failing readiness probe) does not.
  bool settling = !to_start.empty();
  std::erase_if(observed_, [&](const auto& kv) { return !local.count(kv.first); });
  for (const auto& [pod, record] : to_report) {
    Json status = observe(*record, now);
    std::string phase = status.value("phase", "");
    if (phase == "Pending" || (!settled(status) && now - observed_[record->uid].changed < 10s))
      settling = true;
    report_status(uid_of(pod), pod, std::move(status));
  }
  settling_ = settling;
  if (now >= next_refresh_) {
    next_refresh_ = now + o_.config_refresh;
    std::vector<Json> running;
    for (const auto& [pod, record] : to_report) running.push_back(pod);
    refresh_volumes(running);
  }
}

void PodSync::refresh_volumes(const std::vector<Json>& pods) {
  // One GET per object and pass, however many pods use it.
  std::map<std::string, Result<std::optional<KeyValueObject>>> cache;
  auto fetch = [&](const std::string& kind, const std::string& ns,
                   const std::string& name) -> const Result<std::optional<KeyValueObject>>& {
    std::string resource = kind == "secret" ? "secrets" : "configmaps";
    std::string key = cat(resource, '/', ns, '/', name);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
    auto got = [&]() -> Result<std::optional<KeyValueObject>> {
      auto r = TRY(api_.request("GET", cat("/api/v1/namespaces/", ns, "/", resource, "/", name)));
      if (r.status == 404) return std::optional<KeyValueObject>();
      if (r.status != 200)
        return error(kind, ' ', quote(name), ": HTTP ", r.status, ": ", r.message());
      Json j = TRY(parse_json(r.body, name));
      KeyValueObject o;
      o.kind = kind;
      o.name = name;
      o.namespace_ = ns;
      for (const char* field : {"data", "stringData"}) {
        if (!j.contains(field) || !j[field].is_object()) continue;
        for (const auto& [k, v] : j[field].items()) {
          if (!v.is_string()) continue;
          if (kind == "secret" && std::string_view(field) == "data")
            o.data[k] =
                TRY_CTX(base64_decode(v.get<std::string>()), kind, ' ', quote(name), " data.", k);
          else
            o.data[k] = v.get<std::string>();
        }
      }
      return std::optional<KeyValueObject>(std::move(o));
    }();
    return cache.emplace(key, std::move(got)).first->second;
  };
  for (const auto& pod : pods) {
    bool any = false;
    for (const auto& v : pod["spec"].value("volumes", Json::array()))
      any = any || v.contains("configMap") || v.contains("secret");
    if (!any) continue;
    Json bare = pod;
    bare.erase("status");
    auto parsed = pod_from_json(bare);
    if (!parsed) continue;
    std::string ns = ns_of(pod);
    for (const Volume& v : parsed->spec.volumes) {
      if (v.kind != "configMap" && v.kind != "secret") continue;
      const auto& obj = fetch(v.kind, ns, v.source);
      if (!obj) {
        log::warn("pod ", ns, "/", name_of(pod), ": ", obj.error().what());
        continue;  // the volume keeps what it has
      }
      auto changed = refresh_key_volume(v, obj->has_value() ? &obj->value() : nullptr,
                                        o_.node.pod_dir(uid_of(pod)));
      if (!changed)
        log::warn("pod ", ns, "/", name_of(pod), ": ", changed.error().what());
      else if (*changed)
        log::info("pod ", ns, "/", name_of(pod), ": volume ", quote(v.name), " updated from ",
                  v.kind, ' ', quote(v.source));
    }
  }
}

}  // namespace skiff::kubelet::node
