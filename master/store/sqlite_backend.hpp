#pragma once
// SQLite backend: WAL journal, one `log` table indexed by (name, id), synchronous=NORMAL (a commit
// survives a killed process; fsync happens at WAL checkpoints).

#include <memory>
#include <string>

#include "master/store/backend.hpp"

struct sqlite3;

namespace skiff::master {

class SqliteBackend : public Backend {
 public:
  // Opens (creating) the database file and its schema.
  static Result<std::unique_ptr<SqliteBackend>> open(const std::string& path);
  ~SqliteBackend() override;

  Result<Loaded> load(size_t history_limit) override;
  Result<void> append(const std::vector<LogRecord>& records) override;
  Result<void> compact(int64_t rev) override;

 private:
  SqliteBackend(sqlite3* db, std::string path);
  Result<void> exec(const char* sql);
  sqlite3* db_;
  std::string path_;
  struct Statements;
  std::unique_ptr<Statements> stmts_;
};

}  // namespace skiff::master
