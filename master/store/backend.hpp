#pragma once
// The durable half of the store: a revision-ordered log of writes (k3s kine's shape). The Store in
// front keeps the current state and recent events in memory; a backend only appends, loads and
// compacts. SQLite is the default backend. etcd is a *shared* backend: it assigns revisions itself
// and other masters write to it too, so the Store sends each write as a conditional write and
// learns every change, its own included, from the backend's change feed, in revision order.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace skiff::master {

// One row of the log: the object under `key` as of revision `rev`. A deletion keeps the last
// value so a restarted master can replay DELETED events to watchers.
struct LogRecord {
  int64_t rev = 0;
  std::string key;
  bool created = false;
  bool deleted = false;
  int64_t create_rev = 0;
  int64_t prev_rev = 0;
  std::string value;
};

class Backend {
 public:
  virtual ~Backend() = default;
  struct Loaded {
    std::vector<LogRecord> live;     // the newest row of every key that is not deleted
    std::vector<LogRecord> history;  // rows after `history_from`, oldest first (for watches)
    int64_t revision = 0;            // highest revision ever written
    int64_t compacted = 0;           // revision up to which history is gone
  };
  // Reads the current state and the last `history_limit` rows.
  virtual Result<Loaded> load(size_t history_limit) = 0;
  // Appends rows in one transaction: all of them are durable or none is.
  virtual Result<void> append(const std::vector<LogRecord>& records) = 0;
  // Drops rows at or below `rev` that a newer row of the same key supersedes, and tombstones.
  virtual Result<void> compact(int64_t rev) = 0;

  // --- shared backends (etcd) only ---
  // True when the backend assigns revisions and may be written by other masters.
  virtual bool shared() const { return false; }
  // One write, applied only when the key's mod revision is still `expected_mod_rev` (0: the key
  // must not exist). `value` nullopt deletes the key.
  struct CondWrite {
    std::string key;
    int64_t expected_mod_rev = 0;
    std::optional<std::string> value;
  };
  struct CondResult {
    bool succeeded = false;
    int64_t rev = 0;  // the write's revision, or the backend's revision when the compare failed
  };
  virtual Result<CondResult> write(const CondWrite&) { return error("not a shared backend"); }
  // The backend's current revision (a consistent read point).
  virtual Result<int64_t> current_revision() { return error("not a shared backend"); }
  // Streams every change after `after_rev` to `on_records` (in revision order; a deletion may come
  // without the previous value, which the store has) until stop_feed(). Returns an error with code
  // kGone (ERANGE) when `after_rev` has been compacted, any other error when the backend is
  // unreachable.
  using FeedFn = std::function<void(std::vector<LogRecord>&&)>;
  virtual Result<void> feed(int64_t, const FeedFn&) { return error("not a shared backend"); }
  virtual void stop_feed() {}
};

}  // namespace skiff::master
