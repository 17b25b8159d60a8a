#include "master/store/etcd_backend.hpp"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <limits>
#include <thread>

#include "api/base64.hpp"
#include "common/defer.hpp"
#include "common/json_util.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "master/store/store.hpp"

namespace skiff::master {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

struct EtcdBackend::Connection {
  net::io_context io;
  tcp::socket sock{io};
  beast::flat_buffer buf;
  std::string host;  // Host header
  std::string url;
};

namespace {

constexpr size_t kPageSize = 1000;

int64_t i64(const Json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end()) return 0;
  if (it->is_string()) return parse_int<int64_t>(it->get<std::string>()).value_or(0);
  if (it->is_number_integer()) return it->get<int64_t>();
  return 0;
}

std::string b64(std::string_view s) { return api::base64_encode(s); }

std::string unb64(const Json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_string()) return {};
  return api::base64_decode(it->get<std::string>()).value_or("");
}

// The end of the range of keys starting with `prefix` (etcd's range_end = prefix + 1).
std::string prefix_end(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<unsigned char>(prefix.back()) < 0xff) {
      prefix.back() = static_cast<char>(prefix.back() + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');
}

Result<std::unique_ptr<EtcdBackend::Connection>> connect_to(const EtcdEndpoint& e) {
  auto c = std::make_unique<EtcdBackend::Connection>();
  boost::system::error_code ec;
  tcp::resolver resolver(c->io);
  auto found = resolver.resolve(e.host, std::to_string(e.port), ec);
  if (ec) return error("etcd ", quote(e.url), ": resolve: ", ec.message());
  net::connect(c->sock, found, ec);
  if (ec) return error("etcd ", quote(e.url), ": connect: ", ec.message());
  c->sock.set_option(tcp::no_delay(true), ec);
  c->host = cat(e.host, ":", e.port);
  c->url = e.url;
  return c;
}

http::request<http::string_body> post(const std::string& host, const std::string& path,
                                      std::string body) {
  http::request<http::string_body> req{http::verb::post, path, 11};
  req.set(http::field::host, host);
  req.set(http::field::content_type, "application/json");
  req.keep_alive(true);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

}  // namespace

Result<std::vector<EtcdEndpoint>> parse_etcd_endpoints(const std::string& text) {
  std::vector<EtcdEndpoint> out;
  for (const auto& raw : split(text, ',', true)) {
    std::string url(trim(raw));
    if (url.empty()) continue;
    std::string_view rest(url);
    if (rest.starts_with("https://"))
      return error("--etcd-endpoints ", quote(url),
                   ": https is not supported (run etcd with a loopback or private http listener)");
    if (rest.starts_with("http://")) rest.remove_prefix(7);
    while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    EtcdEndpoint e;
    e.url = url;
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) {
      e.host = std::string(rest);
    } else {
      e.host = std::string(rest.substr(0, colon));
      auto port = parse_int<uint16_t>(rest.substr(colon + 1));
      if (!port || *port == 0) return error("--etcd-endpoints ", quote(url), ": invalid port");
      e.port = *port;
    }
    if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']')
      e.host = e.host.substr(1, e.host.size() - 2);
    if (e.host.empty() || e.host.find('/') != std::string::npos)
      return error("--etcd-endpoints ", quote(url), ": expected http://HOST:PORT");
    out.push_back(std::move(e));
  }
  if (out.empty()) return error("--etcd-endpoints: no endpoint given (expected http://HOST:PORT)");
  return out;
}

EtcdBackend::EtcdBackend(std::vector<EtcdEndpoint> endpoints, std::string prefix)
    : endpoints_(std::move(endpoints)), prefix_(std::move(prefix)) {}

EtcdBackend::~EtcdBackend() { stop_feed(); }

Result<std::unique_ptr<EtcdBackend>> EtcdBackend::open(std::vector<EtcdEndpoint> endpoints,
                                                       std::string prefix) {
  if (endpoints.empty()) return error("no etcd endpoint given");
  std::unique_ptr<EtcdBackend> b(new EtcdBackend(std::move(endpoints), std::move(prefix)));
  TRY_CTX(b->current_revision(), "reach etcd");
  return b;
}

Result<std::unique_ptr<EtcdBackend::Connection>> EtcdBackend::connect_any() {
  std::vector<std::string> why;
  size_t start;
  {
    std::lock_guard lock(pool_mu_);
    start = next_endpoint_;
  }
  for (size_t i = 0; i < endpoints_.size(); i++) {
    size_t idx = (start + i) % endpoints_.size();
    auto c = connect_to(endpoints_[idx]);
    if (c.ok()) {
      std::lock_guard lock(pool_mu_);
      next_endpoint_ = idx;
      return std::move(*c);
    }
    why.push_back(c.error().what());
  }
  return error("no etcd endpoint reachable: ", join(why, "; "));
}

Result<std::string> EtcdBackend::call(const std::string& path, const std::string& body) {
  std::unique_ptr<Connection> c;
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      c = std::move(pool_.back());
      pool_.pop_back();
    }
  }
  for (int attempt = 0;; attempt++) {
    bool pooled = c != nullptr;
    if (!c) c = TRY(connect_any());
    boost::system::error_code ec;
    http::write(c->sock, post(c->host, path, body), ec);
    http::response<http::string_body> res;
    if (!ec) http::read(c->sock, c->buf, res, ec);
    if (ec) {
      std::string url = c->url;
      c.reset();
      // A pooled keep-alive connection the server closed meanwhile: once more on a new one.
      if (pooled && attempt == 0 &&
          (ec == http::error::end_of_stream || ec == net::error::connection_reset ||
           ec == net::error::broken_pipe))
        continue;
      return error("etcd ", quote(url), path, ": ", ec.message());
    }
    if (res.result() != http::status::ok) {
      std::string msg = res.body();
      if (auto j = parse_json(res.body(), "etcd error"); j.ok() && j->is_object())
        msg = j->value("message", j->value("error", msg));
      return error("etcd ", path, ": ", res.result_int(), " ", msg);
    }
    if (res.keep_alive()) {
      std::lock_guard lock(pool_mu_);
      pool_.push_back(std::move(c));
    }
    return std::move(res.body());
  }
}

Result<Backend::Loaded> EtcdBackend::load(size_t history_limit) {
  Loaded out;
  std::string start = prefix_ + "/";
  const std::string end = prefix_end(start);
  // With history: a sentinel key outside the data range, written first, marks the revision the
  // state is read at and the end of the history replay.
  int64_t rev = 0;
  if (history_limit > 0) {
    auto put = TRY(
        call("/v3/kv/put", Json{{"key", b64(prefix_ + "!history")}, {"value", b64("x")}}.dump()));
    rev = i64(TRY(parse_json(put, "etcd put response"))["header"], "revision");
  }
  for (;;) {
    Json req = {{"key", b64(start)}, {"range_end", b64(end)}, {"limit", std::to_string(kPageSize)}};
    if (rev) req["revision"] = std::to_string(rev);
    auto body = TRY_CTX(call("/v3/kv/range", req.dump()), "list ", quote(prefix_));
    auto res = TRY(parse_json(body, "etcd range response"));
    if (!rev) rev = i64(res["header"], "revision");
    std::string last;
    if (res.contains("kvs"))
      for (const auto& kv : res["kvs"]) {
        LogRecord r;
        last = unb64(kv, "key");
        r.key = last.substr(prefix_.size());
        r.rev = i64(kv, "mod_revision");
        r.create_rev = i64(kv, "create_revision");
        r.created = r.rev == r.create_rev;
        r.value = unb64(kv, "value");
        out.live.push_back(std::move(r));
      }
    if (!res.value("more", false) || last.empty()) break;
    start = last + '\0';
  }
  out.revision = rev;
  if (history_limit > 0) TRY_CTX(load_history(rev, history_limit, out), "read the watch history");
  return out;
}

Result<void> EtcdBackend::append(const std::vector<LogRecord>&) {
  return error("etcd backend: writes are conditional txns (write()), not appends");
}

Result<void> EtcdBackend::compact(int64_t rev) {
  auto r = call("/v3/kv/compaction", Json{{"revision", std::to_string(rev)}}.dump());
  // Another master compacted as far already.
  if (!r.ok() && r.error().message().find("has been compacted") != std::string::npos) return ok();
  if (!r.ok()) return std::move(r).error();
  return ok();
}

Result<Backend::CondResult> EtcdBackend::write(const CondWrite& w) {
  std::string key = b64(prefix_ + w.key);
  Json cmp =
      w.expected_mod_rev == 0
          ? Json{{"target", "CREATE"}, {"key", key}, {"create_revision", "0"}, {"result", "EQUAL"}}
          : Json{{"target", "MOD"},
                 {"key", key},
                 {"mod_revision", std::to_string(w.expected_mod_rev)},
                 {"result", "EQUAL"}};
  Json op = w.value ? Json{{"request_put", {{"key", key}, {"value", b64(*w.value)}}}}
                    : Json{{"request_delete_range", {{"key", key}}}};
  Json req = {{"compare", Json::array({cmp})}, {"success", Json::array({op})}};
  auto body = TRY_CTX(call("/v3/kv/txn", req.dump()), "write ", quote(w.key));
  auto res = TRY(parse_json(body, "etcd txn response"));
  CondResult out;
  out.succeeded = res.value("succeeded", false);
  out.rev = i64(res["header"], "revision");
  return out;
}

Result<int64_t> EtcdBackend::current_revision() {
  Json req = {{"key", b64(prefix_ + "/")}, {"count_only", true}};
  auto body = TRY(call("/v3/kv/range", req.dump()));
  auto res = TRY(parse_json(body, "etcd range response"));
  return i64(res["header"], "revision");
}

void EtcdBackend::stop_feed() {
  feed_stopped_ = true;
  std::lock_guard lock(feed_mu_);
  if (feed_fd_ >= 0) ::shutdown(feed_fd_, SHUT_RDWR);
}

// One watch stream over [key, range_end) from `start_rev`, until `on_records` returns false, the
// stream ends (returns ok with `ended` set) or fails. `fd_slot` gets the socket (for stop_feed).
Result<void> EtcdBackend::stream(const std::string& key, const std::string& range_end,
                                 int64_t start_rev,
                                 const std::function<bool(std::vector<LogRecord>&&)>& on_records,
                                 bool register_fd, std::string& lost) {
  auto conn = TRY_CTX(connect_any(), "watch ", quote(prefix_));
  if (register_fd) {
    std::lock_guard lock(feed_mu_);
    if (feed_stopped_) return ok();
    feed_fd_ = conn->sock.native_handle();
  }
  Defer unregister([&] {
    if (!register_fd) return;
    std::lock_guard lock(feed_mu_);
    feed_fd_ = -1;
  });
  Json req = {{"create_request",
               {{"key", b64(key)},
                {"range_end", b64(range_end)},
                {"start_revision", std::to_string(start_rev)},
                // The feed's store knows a deleted key's last value; the history replay does not.
                {"prev_kv", !register_fd}}}};
  boost::system::error_code ec;
  http::write(conn->sock, post(conn->host, "/v3/watch", req.dump()), ec);
  http::response_parser<http::empty_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // none: mis-compared in 1.74
  std::string partial;
  std::vector<std::string> lines;
  auto on_chunk = [&](std::uint64_t, beast::string_view data, beast::error_code&) {
    partial.append(data.data(), data.size());
    for (size_t pos; (pos = partial.find('\n')) != std::string::npos;) {
      lines.push_back(partial.substr(0, pos));
      partial.erase(0, pos + 1);
    }
    return data.size();
  };
  parser.on_chunk_body(on_chunk);
  if (!ec) http::read_header(conn->sock, conn->buf, parser, ec);
  if (!ec && parser.get().result() != http::status::ok)
    return error("etcd watch: HTTP ", parser.get().result_int());
  while (!ec && !parser.is_done() && !(register_fd && feed_stopped_)) {
    http::read_some(conn->sock, conn->buf, parser, ec);
    for (const auto& line : lines) {
      if (trim(line).empty()) continue;
      auto msg = TRY(parse_json(line, "etcd watch response"));
      if (msg.contains("error"))
        return error("etcd watch: ", msg["error"].value("message", msg["error"].dump()));
      const Json& r = msg["result"];
      if (r.value("canceled", false)) {
        if (int64_t c = i64(r, "compact_revision"))
          return Error(cat("etcd watch from revision ", start_rev, ": compacted up to ", c), kGone);
        return error("etcd watch canceled: ", r.value("cancel_reason", "no reason given"));
      }
      if (!r.contains("events")) continue;
      std::vector<LogRecord> records;
      for (const auto& ev : r["events"]) {
        const Json& kv = ev["kv"];
        LogRecord rec;
        rec.key = unb64(kv, "key").substr(prefix_.size());
        rec.rev = i64(kv, "mod_revision");
        const Json* prev = ev.contains("prev_kv") ? &ev["prev_kv"] : nullptr;
        if (ev.value("type", "PUT") == "DELETE") {
          rec.deleted = true;
          if (prev) {
            rec.value = unb64(*prev, "value");
            rec.create_rev = i64(*prev, "create_revision");
            rec.prev_rev = i64(*prev, "mod_revision");
          }
        } else {
          rec.create_rev = i64(kv, "create_revision");
          rec.created = rec.create_rev == rec.rev;
          rec.value = unb64(kv, "value");
          if (prev) rec.prev_rev = i64(*prev, "mod_revision");
        }
        records.push_back(std::move(rec));
      }
      if (!records.empty() && !on_records(std::move(records))) return ok();
    }
    lines.clear();
  }
  lost = conn->url + ": " + (ec ? ec.message() : "stream ended");
  return ok();
}

Result<void> EtcdBackend::feed(int64_t after_rev, const FeedFn& on_records) {
  int64_t next = after_rev + 1;
  const std::string start = prefix_ + "/";
  while (!feed_stopped_) {
    std::string lost;
    TRY(stream(
        start, prefix_end(start), next,
        [&](std::vector<LogRecord>&& recs) {
          next = std::max(next, recs.back().rev + 1);
          on_records(std::move(recs));
          return true;
        },
        true, lost));
    if (feed_stopped_) break;
    log::warn("etcd watch on ", lost, "; resuming from revision ", next);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return ok();
}

// The history a restarted store serves watches from: the changes of the last `limit` revisions
// up to `rev`. A sentinel key outside the data range, written now, marks the end of the replay.
Result<void> EtcdBackend::load_history(int64_t rev, size_t limit, Loaded& out) {
  int64_t from = std::max<int64_t>(1, rev - static_cast<int64_t>(limit) + 1);
  for (int attempt = 0; attempt < 5; attempt++) {
    out.history.clear();
    std::string lost;
    bool done = false;
    auto r = stream(
        prefix_ + "!", prefix_end(prefix_ + "/"), from,
        [&](std::vector<LogRecord>&& recs) {
          for (auto& rec : recs) {
            if (rec.key == "!history" && rec.rev >= rev) {  // ours, not an earlier load's
              done = true;
              return false;
            }
            if (rec.rev <= rev && !rec.key.empty() && rec.key[0] == '/')
              out.history.push_back(std::move(rec));
          }
          return true;
        },
        false, lost);
    if (!r.ok() && r.error().code() == kGone) {
      // Compacted meanwhile: start from the oldest revision etcd still has.
      auto c = parse_int<int64_t>(r.error().message().substr(r.error().message().rfind(' ') + 1));
      if (!c) return std::move(r).error();
      from = *c;
      continue;
    }
    if (!r.ok()) return std::move(r).error();
    if (done) {
      out.compacted = from - 1;
      return ok();
    }
  }
  return error("etcd: could not read the watch history of ", quote(prefix_));
}

}  // namespace skiff::master
