#include "master/store/sqlite_backend.hpp"

#include <sqlite3.h>

namespace skiff::master {

namespace {

Error sql_error(sqlite3* db, std::string_view what) {
  return error(what, ": ", sqlite3_errmsg(db));
}

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

}  // namespace

struct SqliteBackend::Statements {
  Stmt insert;
  Stmt compact;
};

SqliteBackend::SqliteBackend(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

SqliteBackend::~SqliteBackend() {
  stmts_.reset();
  sqlite3_close_v2(db_);
}

Result<void> SqliteBackend::exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string text = msg ? msg : "unknown error";
    sqlite3_free(msg);
    return error("sqlite ", quote(path_), ": ", text, " (in ", quote(sql), ")");
  }
  return ok();
}

Result<std::unique_ptr<SqliteBackend>> SqliteBackend::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return error("open sqlite database ", quote(path), ": ", why);
  }
  std::unique_ptr<SqliteBackend> b(new SqliteBackend(db, path));
  TRY(b->exec("PRAGMA journal_mode=WAL"));
  TRY(b->exec("PRAGMA synchronous=NORMAL"));
  TRY(b->exec("PRAGMA busy_timeout=5000"));
  TRY(b->exec(
      "CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
      "created INTEGER NOT NULL, deleted INTEGER NOT NULL, create_revision INTEGER NOT NULL, "
      "prev_revision INTEGER NOT NULL, value BLOB NOT NULL);"
      "CREATE INDEX IF NOT EXISTS log_name_id ON log (name, id);"
      "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"));
  b->stmts_ = std::make_unique<Statements>();
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO log (id, name, created, deleted, create_revision, "
                         "prev_revision, value) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         -1, &b->stmts_->insert.s, nullptr) != SQLITE_OK)
    return sql_error(db, "prepare insert");
  if (sqlite3_prepare_v2(db,
                         "DELETE FROM log WHERE id <= ?1 AND id < (SELECT MAX(id) FROM log) AND "
                         "(deleted = 1 OR id < (SELECT MAX(l2.id) FROM log l2 WHERE l2.name = "
                         "log.name))",
                         -1, &b->stmts_->compact.s, nullptr) != SQLITE_OK)
    return sql_error(db, "prepare compact");
  return b;
}

static LogRecord read_row(sqlite3_stmt* s) {
  LogRecord r;
  r.rev = sqlite3_column_int64(s, 0);
  r.key = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
  r.created = sqlite3_column_int(s, 2) != 0;
  r.deleted = sqlite3_column_int(s, 3) != 0;
  r.create_rev = sqlite3_column_int64(s, 4);
  r.prev_rev = sqlite3_column_int64(s, 5);
  const void* blob = sqlite3_column_blob(s, 6);
  r.value.assign(static_cast<const char*>(blob), static_cast<size_t>(sqlite3_column_bytes(s, 6)));
  return r;
}

Result<Backend::Loaded> SqliteBackend::load(size_t history_limit) {
  Loaded out;
  auto query = [&](const char* sql, auto&& row) -> Result<void> {
    Stmt st;
    if (sqlite3_prepare_v2(db_, sql, -1, &st.s, nullptr) != SQLITE_OK)
      return sql_error(db_, "prepare load");
    if (std::string_view(sql).find('?') != std::string_view::npos)
      sqlite3_bind_int64(st.s, 1, static_cast<int64_t>(history_limit));
    int rc;
    while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) row(st.s);
    if (rc != SQLITE_DONE) return sql_error(db_, "load");
    return ok();
  };
  const char* cols =
      "l.id, l.name, l.created, l.deleted, l.create_revision, l.prev_revision, l.value";
  TRY(query(cat("SELECT ", cols,
                " FROM log l JOIN (SELECT name, MAX(id) AS mid FROM log GROUP BY "
                "name) m ON l.id = m.mid WHERE l.deleted = 0 ORDER BY l.name")
                .c_str(),
            [&](sqlite3_stmt* s) { out.live.push_back(read_row(s)); }));
  TRY(query(
      cat("SELECT * FROM (SELECT ", cols, " FROM log l ORDER BY l.id DESC LIMIT ?) ORDER BY 1")
          .c_str(),
      [&](sqlite3_stmt* s) { out.history.push_back(read_row(s)); }));
  TRY(query("SELECT COALESCE(MAX(id), 0) FROM log",
            [&](sqlite3_stmt* s) { out.revision = sqlite3_column_int64(s, 0); }));
  TRY(query("SELECT value FROM meta WHERE key = 'compacted'",
            [&](sqlite3_stmt* s) { out.compacted = sqlite3_column_int64(s, 0); }));
  return out;
}

Result<void> SqliteBackend::append(const std::vector<LogRecord>& records) {
  if (records.empty()) return ok();
  TRY(exec("BEGIN IMMEDIATE"));
  sqlite3_stmt* s = stmts_->insert.s;
  for (const auto& r : records) {
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, r.rev);
    sqlite3_bind_text(s, 2, r.key.data(), static_cast<int>(r.key.size()), SQLITE_STATIC);
    sqlite3_bind_int(s, 3, r.created ? 1 : 0);
    sqlite3_bind_int(s, 4, r.deleted ? 1 : 0);
    sqlite3_bind_int64(s, 5, r.create_rev);
    sqlite3_bind_int64(s, 6, r.prev_rev);
    sqlite3_bind_blob(s, 7, r.value.data(), static_cast<int>(r.value.size()), SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE) {
      Error e = sql_error(db_, cat("append revision ", r.rev, " of ", quote(r.key)));
      sqlite3_reset(s);
      (void)exec("ROLLBACK");
      return e;
    }
  }
  sqlite3_reset(s);
  return exec("COMMIT");
}

Result<void> SqliteBackend::compact(int64_t rev) {
  TRY(exec("BEGIN IMMEDIATE"));
  sqlite3_stmt* s = stmts_->compact.s;
  sqlite3_reset(s);
  sqlite3_bind_int64(s, 1, rev);
  if (sqlite3_step(s) != SQLITE_DONE) {
    Error e = sql_error(db_, cat("compact to revision ", rev));
    sqlite3_reset(s);
    (void)exec("ROLLBACK");
    return e;
  }
  sqlite3_reset(s);
  TRY(exec(cat("INSERT INTO meta (key, value) VALUES ('compacted', ", rev,
               ") ON CONFLICT(key) DO UPDATE SET value = MAX(value, excluded.value)")
               .c_str()));
  return exec("COMMIT");
}

}  // namespace skiff::master
