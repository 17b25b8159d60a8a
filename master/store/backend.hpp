#pragma once
// The durable half of the store: a revision-ordered log of writes (k3s kine's shape). The Store in
// front keeps the current state and recent events in memory; a backend only appends, loads and
// compacts. SQLite is the default backend; etcd is the next one.

#include <cstdint>
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
};

}  // namespace skiff::master
