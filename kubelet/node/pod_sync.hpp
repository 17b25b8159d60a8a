#pragma once
// The pods the master assigns to this node, made real: each pod bound here gets one skiff-shim
// (started in this process by create_pod with the pod and the ConfigMaps and Secrets it uses, the
// code path `skiff pod run` takes; the shim is forked by a ShimZygote, itself posix_spawn'ed: the
// kubelet never forks) once admission lets it (admission.hpp; else it is Failed with OutOfcpu,
// NodePorts, ...), its status is PATCHed when the shim reports a change, a pod being deleted is
// stopped within its grace period and then deleted for good (uid precondition), and local pods
// the API no longer has (orphans) are stopped and removed. Local state is the pod records under the
// state root, so a restarted kubelet picks up the shims that kept running. A pod whose ConfigMap or
// Secret is missing waits (CreateContainerConfigError) and starts once it is there; the configMap
// and secret volumes of running pods are kept current (fetched every config_refresh, swapped in
// atomically through ..data).
//
// Pod workers, as the kubelet's: at most one worker acts on a pod's namespace/name at a time
// (skiff-pod addresses pods by name), and a pod does not start while a local pod of the same
// name but another uid (a static pod whose manifest changed, a pod deleted and created again)
// is still there: that one is removed first. Local pods the sources no longer have are removed
// only once both sources are known (the first list from the API; the static pod manifests read),
// a static pod whose manifest changed or went as soon as the manifests were read.
//
// Cost when idle (a PLEG that relists cheaply): the pod records are kept and read again only
// when their pod.json changes (a new inode: it is written atomically); a shim is asked for its
// status only when its checkpoint (status.json, which the shim rewrites whenever its status may
// have changed: a read and a compare) changed, its process is gone, or the last answer is older
// than the period (pods on their way up or down) or status_recheck (settled pods: Running and
// ready, or finished).

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/json_util.hpp"
#include "common/unique_fd.hpp"
#include "kubelet/engine/config.hpp"
#include "kubelet/node/admission.hpp"
#include "kubelet/node/api_client.hpp"
#include "kubelet/node/static_pods.hpp"
#include "kubelet/shim/pod_record.hpp"
#include "kubelet/shim/shim.hpp"

namespace skiff::kubelet::node {

struct PodSyncOptions {
  // The roots (skiff-pod is given them; new pods' records hold them) with the helper binaries
  // (pause, skiff-pull, CNI plugin directories) resolved as skiff-pod resolves them.
  NodeConfig node;
  std::string skiff_pod;  // the skiff-pod binary
  std::string shim;       // the skiff-shim binary: pods are started here, without skiff-pod
  std::string node_name, node_ip;
  std::chrono::milliseconds period{1000};
  // When set, no pod starts before it turns true (the overlay's pod network is not there yet).
  const std::atomic<bool>* network_ready = nullptr;
  // Admission (admission.hpp): the node's allocatable; unset, only host ports are checked.
  std::optional<Allocatable> allocatable;
  // How often the ConfigMaps and Secrets of running pods are fetched again and their volumes
  // rewritten (the kubelet: its sync period plus its cache's TTL, about a minute).
  std::chrono::milliseconds config_refresh{std::chrono::seconds(10)};
  // A pod waiting for a missing ConfigMap or Secret is tried again at least this often.
  std::chrono::milliseconds config_retry{std::chrono::seconds(3)};
  // Static pods (static_pods.hpp): the manifests in this directory, looked at this often.
  std::string static_pod_path;
  std::chrono::milliseconds static_check{std::chrono::seconds(1)};
  // A settled pod's shim is asked for its status at least this often even when its checkpoint
  // did not change (a safety net: the checkpoint is the change signal).
  std::chrono::milliseconds status_recheck{std::chrono::seconds(10)};
};

class PodSync {
 public:
  PodSync(ApiClient& api, PodSyncOptions o) : api_(api), o_(std::move(o)) {}
  ~PodSync();
  // The full set of pods bound here (after a list); enables orphan clean-up.
  void replace_all(std::vector<Json> pods);
  // One watch event: ADDED, MODIFIED or DELETED.
  void apply(const std::string& type, const Json& pod);
  // Syncs until `stop`, at every change and every period.
  void run(const std::atomic<bool>& stop);
  void wake();
  // The pods bound here as the API has them (the kubelet API's /pods).
  Json pod_list();
  // A container's current log, as `skiff pod logs` prints it.
  Result<std::string> logs(const std::string& ns, const std::string& pod,
                           const std::string& container, bool previous = false);
  // One pass (tests). Runs on one thread at a time (the records and status caches are its own).
  void sync_once();
  // Eviction (eviction.hpp): stops the pod within `grace_seconds` (0: at once, a hard eviction),
  // frees its local state and reports it Failed with reason Evicted and `message`; it is not
  // started here again.
  Result<void> evict(const std::string& uid, const std::string& message, int64_t grace_seconds = 0);

 private:
  struct Attempt {
    std::chrono::steady_clock::time_point next;
    int failures = 0;
  };
  Result<void> start_pod(const Json& pod);
  void start_and_record(const Json& pod);  // in a worker
  Result<std::string> manifest_for(const Json& pod);
  void report_status(const std::string& uid, const Json& pod, Json status);
  // False when it could not be sent yet (a static pod without its mirror pod).
  bool patch_status(const Json& pod, const Json& status);
  // Reads the static pod manifests, and makes the API's mirror pods match them.
  void sync_static_pods();
  // A worker for `uid`, holding the pod's namespace/name `key` until it ends.
  void begin_worker(const std::string& uid, const std::string& key, std::function<void()> fn);
  // True when the pod `ns`/`name` under skiff-pod (which finds pods by name) is `uid`'s: a worker
  // never stops or removes another pod of the same name.
  bool local_name_is(const std::string& uid, const std::string& ns, const std::string& name);
  struct CachedRecord {
    std::array<int64_t, 4> sig{};  // pod.json: inode, size, mtime ns, ctime ns
    PodRecord record;
    bool is_static = false;  // its manifest is a static pod's (the file source)
  };
  // The pod records under the state root (uid -> record), pod.json parsed again only when it
  // changed.
  const std::map<std::string, CachedRecord>& local_records();
  struct Observed {
    std::optional<std::string> checkpoint;  // status.json's text when last read
    Json status;
    pid_t shim_pid = 0;  // the live shim's (0: the status came from a dead shim's checkpoint)
    std::chrono::steady_clock::time_point asked, changed;
  };
  // The pod's status: a new checkpoint's (the shim writes one at every change), the shim's answer
  // at the first look and every period (or when the shim died), else the last one.
  Json observe(const PodRecord& r, std::chrono::steady_clock::time_point now);
  // The configMap and secret volumes of `pods` (running here) rewritten where their object
  // changed.
  void refresh_volumes(const std::vector<Json>& pods);
  Result<void> skiff_pod(const std::string& ns, const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout = std::chrono::seconds(120),
                         std::string* output = nullptr);

  ApiClient& api_;
  PodSyncOptions o_;
  ShimZygote zygote_{o_.shim};  // forks the pods' shims (started at the first pod)
  std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = true;
  bool listed_ = false;
  std::atomic<bool> settling_{false};        // a pod is starting: sync every 100 ms
  std::map<std::string, Json> desired_;      // uid -> pod, from the API
  std::map<std::string, Json> reported_;     // uid -> last status PATCHed
  std::map<std::string, Attempt> attempts_;  // uid -> start back-off
  static constexpr int kMaxParallelStarts = 4;
  int starting_ = 0;                         // start workers running
  std::map<std::string, std::string> busy_;  // uid -> its namespace/name, while a worker acts
  std::set<std::string> deleted_;            // uids finally deleted (awaiting the watch)
  std::set<std::string> evicted_;            // uids evicted: never started again
  std::set<std::string> admitted_;           // uids admitted (started, or found running)
  std::set<std::string> rejected_;           // uids admission refused (Failed, never started)
  std::chrono::steady_clock::time_point next_refresh_{};
  std::map<std::string, Json> static_;             // uid (the manifest's hash) -> static pod
  std::map<std::string, std::string> mirror_uid_;  // static pod uid -> its mirror pod's uid
  std::map<std::string, std::chrono::steady_clock::time_point> mirror_posted_;
  std::set<std::string> static_errors_;  // bad manifests, logged once each
  std::string node_uid_;
  std::chrono::steady_clock::time_point next_static_scan_{};
  bool static_read_ = false;  // the manifests were read once (the file source is known)
  StaticPodReader static_reader_;
  std::map<std::string, CachedRecord> records_;  // sync thread only
  // inotify on the pods' directories: a shim's new status.json (checkpoint) wakes a pass at once
  // instead of at the next 100 ms poll. uid -> watch descriptor, sync thread only.
  UniqueFd checkpoints_;
  std::map<std::string, int> watches_;
  std::map<std::string, Observed> observed_;  // uid -> status, sync thread only
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Worker> workers_;
};

}  // namespace skiff::kubelet::node
