#pragma once
// The store every API request goes through: current objects and recent events in memory (the
// kube-apiserver cacher: lists and watches never touch the backend), writes through a single
// committer thread that groups concurrent writes into one backend transaction (group commit), and
// watches from any revision still in the event window (410 Gone below it).
// With a shared backend (etcd, several masters) the backend assigns revisions: each write is a
// conditional write against the mod revision this store last saw (a compare failure means another
// master wrote first: the mutation runs again on the fresh object), and the in-memory state is
// changed only by the backend's change feed, in revision order, for every master's writes alike.
// Such a write runs in its caller's thread, so every concurrent caller has one in flight (etcd
// batches concurrent txns into one raft round and fsync); only writes to one key wait for each
// other.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/json_util.hpp"
#include "master/store/backend.hpp"

namespace skiff::master {

// The parsed form of a stored object, made from its serialized bytes on first use and kept by
// this copy only: the store itself holds just the bytes (a parsed nlohmann tree costs 5-10x the
// text, 2.3 GiB of pods at 150,000 of them). Copies made after the parse share the tree.
// Parsing is thread-safe (the first parse wins).
class JsonRef {
 public:
  JsonRef() = default;
  JsonRef(std::nullptr_t) {}  // NOLINT: as a null shared_ptr
  JsonRef(std::shared_ptr<const Json> parsed) : parsed_(std::move(parsed)) {}  // NOLINT
  JsonRef(std::shared_ptr<const Json> parsed, std::shared_ptr<const std::string> bytes)
      : parsed_(std::move(parsed)), bytes_(std::move(bytes)) {}
  explicit JsonRef(std::shared_ptr<const std::string> bytes) : bytes_(std::move(bytes)) {}
  JsonRef(const JsonRef& o) : parsed_(o.parsed_.load()), bytes_(o.bytes_), slot_(o.slot_) {}
  JsonRef(JsonRef&& o) noexcept
      : parsed_(o.parsed_.exchange(nullptr)),
        bytes_(std::move(o.bytes_)),
        slot_(std::move(o.slot_)) {}
  JsonRef& operator=(const JsonRef& o) {
    if (this != &o) {
      parsed_.store(o.parsed_.load());
      bytes_ = o.bytes_;
      slot_ = o.slot_;
    }
    return *this;
  }
  JsonRef& operator=(JsonRef&& o) noexcept {
    if (this != &o) {
      parsed_.store(o.parsed_.exchange(nullptr));
      bytes_ = std::move(o.bytes_);
      slot_ = std::move(o.slot_);
    }
    return *this;
  }
  // The parsed object (parsed now if this copy has not yet); nullptr for an empty ref.
  const Json* get() const;
  const Json& operator*() const { return *get(); }
  const Json* operator->() const { return get(); }
  std::shared_ptr<const Json> shared() const;
  bool parsed() const { return slot().load() != nullptr; }
  explicit operator bool() const { return bytes_ != nullptr || parsed(); }
  // The same object without the parsed tree (what the store keeps).
  JsonRef lean() const { return bytes_ ? JsonRef(bytes_) : *this; }
  // A copy whose copies, even those made before it is parsed, share one parse (an event fanned
  // out to every watcher is parsed once, and the tree goes with the last queued copy).
  JsonRef shared_parse() const;

 private:
  using Slot = std::atomic<std::shared_ptr<const Json>>;
  Slot& slot() const { return slot_ ? *slot_ : parsed_; }
  mutable Slot parsed_;
  std::shared_ptr<const std::string> bytes_;
  std::shared_ptr<Slot> slot_;  // set: the parse shared with every copy
};

// One stored object version. `json` and `bytes` both carry metadata.resourceVersion == mod_rev;
// `bytes` is the serialized form, made once per revision and shared by every reader; `json` is
// parsed from it on demand.
struct Object {
  JsonRef json;
  std::shared_ptr<const std::string> bytes;
  int64_t create_rev = 0;
  int64_t mod_rev = 0;
  std::string node;  // pods: spec.nodeName (the store's node index), else empty
  explicit operator bool() const { return bytes != nullptr || static_cast<bool>(json); }
  // This version without its parsed tree.
  Object lean() const {
    Object o = *this;
    o.json = json.lean();
    return o;
  }
};

enum class EventType { kAdded, kModified, kDeleted };
const char* event_type_name(EventType t);

struct WatchEvent {
  EventType type;
  std::string key;
  Object object;  // for kDeleted: the last state, with resourceVersion = the deletion revision
  int64_t rev = 0;
  Object prev;  // for kModified: the version before, when known (selector watches need it)
};

// Error codes (Error::code) the store reports, as errno values.
inline constexpr int kNotFound = ENOENT;
inline constexpr int kExists = EEXIST;
inline constexpr int kConflict = ESTALE;
inline constexpr int kGone = ERANGE;

// A watch registration: events arrive in revision order. Closed by the store when the watcher
// falls too far behind (the client re-lists, as with kube-apiserver) or at shutdown.
class Watcher {
 public:
  explicit Watcher(std::string prefix, bool with_prev = true)
      : prefix_(std::move(prefix)), with_prev_(with_prev) {}
  // Waits up to `timeout` and moves pending events into `out`; false once closed and drained.
  bool next(std::vector<WatchEvent>& out, std::chrono::milliseconds timeout);
  void close();
  bool closed() const;
  const std::string& prefix() const { return prefix_; }

 private:
  friend class Store;
  bool push(WatchEvent e);
  std::string prefix_;
  size_t limit_ = 100000;  // events queued beyond the initial snapshot before it is closed
  size_t snapshot_ = 0;    // the initial snapshot's events still queued
  bool with_prev_;  // keep WatchEvent::prev (selector watches); else it is dropped when queued
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WatchEvent> queue_;
  bool closed_ = false;
};

class Store {
 public:
  struct Options {
    size_t event_window = 10000;            // recent events kept for watches (each holds a version)
    size_t event_window_bytes = 64u << 20;  // and at most this many bytes of their objects
    size_t watcher_queue_limit = 100000;    // the master's own controllers
    size_t client_watcher_queue_limit = 10000;  // API watches (kube's cacher closes slow ones)
    size_t max_batch = 512;                     // writes per backend transaction
  };
  // Loads state and the recent event history from the backend and starts the committer.
  static Result<std::unique_ptr<Store>> open(std::unique_ptr<Backend> backend, Options options);
  static Result<std::unique_ptr<Store>> open(std::unique_ptr<Backend> backend) {
    return open(std::move(backend), Options{});
  }
  ~Store();

  int64_t revision() const;
  Object get(const std::string& key) const;

  struct ListResult {
    std::vector<Object> items;
    int64_t revision = 0;
    std::string next_key;  // non-empty when `limit` cut the list short
  };
  // Objects whose key starts with `prefix`, in key order, from `start` (inclusive), at most `limit`
  // (0 = all) of those `filter` accepts.
  // `selector_only`: `filter` reads only objects and scalars (a label or field selector), so it
  // is given each object parsed without its arrays (containers, conditions: most of a pod), a
  // scan's cost; an object whose filter passes is returned whole.
  ListResult list(const std::string& prefix, const std::string& start = "", size_t limit = 0,
                  const std::function<bool(const Json&)>& filter = nullptr,
                  bool selector_only = false) const;
  // list() of the pods under `prefix` whose spec.nodeName is `node` ("" = unscheduled), through
  // an index: a kubelet's fieldSelector=spec.nodeName list costs its own pods, not all pods.
  ListResult list_pods_on_node(const std::string& prefix, const std::string& node,
                               const std::string& start = "", size_t limit = 0,
                               const std::function<bool(const Json&)>& filter = nullptr,
                               bool selector_only = false) const;
  // Number of objects under `prefix`.
  size_t count(const std::string& prefix) const;

  // Read-modify-write of one key, serialized with every other write: `fn` sees the current object
  // (or nullptr) and returns the new one, std::nullopt to delete, or an error (nothing is written).
  // The store sets metadata.resourceVersion. Returns the written object (for a delete, the last
  // state stamped with the deletion revision).
  using Mutation =
      std::function<Result<std::optional<Json>>(const Object* current, int64_t next_rev)>;
  Result<Object> mutate(const std::string& key, Mutation fn);

  Result<Object> create(const std::string& key, Json object);
  // `expected_rev` 0 means unconditional; else a mismatch is kConflict.
  Result<Object> update(const std::string& key, Json object, int64_t expected_rev);
  Result<Object> remove(const std::string& key, int64_t expected_rev);

  // Registers a watcher for keys under `prefix` receiving every event after `from_rev`. With
  // from_rev 0 it first receives ADDED for every current object. kGone when `from_rev` is older
  // than the event window or the compacted revision.
  // `with_prev`: events carry the previous version (a selector watch needs it; a queued one
  // otherwise only keeps a superseded version alive while the watcher lags).
  // `client`: an API watch, closed after client_watcher_queue_limit events queued unread (beyond
  // a from-0 watch's initial snapshot); the client re-lists.
  Result<std::shared_ptr<Watcher>> watch(const std::string& prefix, int64_t from_rev,
                                         bool with_prev = false, bool client = false);
  // Forgets history at or below `rev` (backend rows and in-memory events).
  Result<void> compact(int64_t rev);
  // The oldest revision a watch can start from.
  int64_t oldest_watchable() const;
  // A consistent read point: with a shared backend, waits until this store has applied every
  // write the backend had committed when called (other masters' included). A no-op otherwise.
  Result<void> sync(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  bool shared() const { return shared_; }
  // Closes every watcher and stops the committer (pending writes finish first).
  void shutdown();

 private:
  explicit Store(std::unique_ptr<Backend> backend, Options options)
      : backend_(std::move(backend)), options_(options) {}
  struct Pending;
  void committer();
  void commit_batch(std::vector<std::shared_ptr<Pending>>& batch);
  Result<Object> mutate_shared(const std::string& key, Mutation fn);
  Result<std::pair<Object, bool>> commit_one_shared(Pending& p, const Object* overlay);
  void publish_locked(WatchEvent e);
  int64_t oldest_locked() const;
  // objects_ writes that keep node_index_ in step (`o` is stored lean); put_locked returns the
  // previous version.
  Object put_locked(const std::string& key, Object o);
  void erase_locked(std::map<std::string, Object>::iterator it);
  void feeder();
  void apply_records(std::vector<LogRecord>&& records);
  bool wait_applied(int64_t rev, std::chrono::milliseconds timeout);

  std::unique_ptr<Backend> backend_;
  Options options_;
  bool shared_ = false;

  mutable std::shared_mutex mu_;  // guards the state below
  std::map<std::string, Object> objects_;
  std::map<std::string, std::set<std::string>> node_index_;  // spec.nodeName -> pod keys
  std::deque<WatchEvent> events_;
  std::vector<std::weak_ptr<Watcher>> watchers_;
  int64_t rev_ = 0;
  int64_t compacted_ = 0;
  int64_t dropped_ = 0;      // newest revision the event window has dropped
  size_t events_bytes_ = 0;  // bytes of the objects in events_
  // Shared backends: writers waiting for the feed to apply a revision, each woken alone when it
  // has (a broadcast to all of them per feed message cost more CPU than the writes).
  struct RevWaiter {
    std::condition_variable cv;
    bool done = false;
  };
  std::mutex wait_mu_;
  std::multimap<int64_t, RevWaiter*> rev_waiters_;
  int64_t applied_rev_ = 0;  // rev_ as the waiters see it (under wait_mu_)
  void notify_applied(int64_t rev);
  std::thread feeder_;
  std::atomic<bool> feeder_stop_{false};

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<std::shared_ptr<Pending>> queue_;
  bool stopping_ = false;
  std::thread committer_;
  // Shared backends: keys with a write in flight (a key's writes go one at a time), and how many
  // writes are in flight (shutdown waits for them).
  std::condition_variable keys_cv_;
  std::set<std::string> busy_keys_;
  size_t in_flight_ = 0;
};

// "/<group-resource>/<namespace>/<name>" or "/<group-resource>/<name>" for cluster scope.
std::string object_key(const std::string& group_resource, const std::string& ns,
                       const std::string& name);
// The list prefix: all namespaces when `ns` is empty.
std::string list_prefix(const std::string& group_resource, const std::string& ns);

}  // namespace skiff::master
