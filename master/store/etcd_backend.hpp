#pragma once
// etcd v3 backend through etcd's JSON gRPC gateway (HTTP/1.1: /v3/kv/range, /v3/kv/txn,
// /v3/kv/compaction, streaming /v3/watch; base64 keys and values, int64 as strings). The store
// revision IS etcd's revision, so several masters share one etcd: every write is a txn comparing
// the key's mod_revision (create: create_revision = 0), and every master follows the key prefix
// with a watch. Values are stored without metadata.resourceVersion (kube-apiserver's way): it is
// the key's mod_revision, stamped when read.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "master/store/backend.hpp"

namespace skiff::master {

struct EtcdEndpoint {
  std::string host;
  uint16_t port = 2379;
  std::string url;  // as given, for messages
};

// "http://H:P[,http://H:P]" -> endpoints; the error names the bad URL (https is not supported).
Result<std::vector<EtcdEndpoint>> parse_etcd_endpoints(const std::string& text);

class EtcdBackend : public Backend {
 public:
  // Checks that an endpoint answers. Keys live under `prefix` (default "/skiff"), so several
  // clusters (or tests) can share one etcd.
  static Result<std::unique_ptr<EtcdBackend>> open(std::vector<EtcdEndpoint> endpoints,
                                                   std::string prefix = "/skiff");
  ~EtcdBackend() override;

  Result<Loaded> load(size_t history_limit) override;
  Result<void> append(const std::vector<LogRecord>& records) override;
  Result<void> compact(int64_t rev) override;

  bool shared() const override { return true; }
  Result<CondResult> write(const CondWrite& w) override;
  Result<int64_t> current_revision() override;
  Result<void> feed(int64_t after_rev, const FeedFn& on_records) override;
  void stop_feed() override;

  struct Connection;

 private:
  EtcdBackend(std::vector<EtcdEndpoint> endpoints, std::string prefix);
  // POSTs a JSON body to `path` on a pooled keep-alive connection (trying the next endpoint when
  // one cannot be reached) and returns the parsed response; an etcd error names its message.
  Result<std::string> call(const std::string& path, const std::string& body);
  Result<std::unique_ptr<Connection>> connect_any();
  Result<void> stream(const std::string& key, const std::string& range_end, int64_t start_rev,
                      const std::function<bool(std::vector<LogRecord>&&)>& on_records,
                      bool register_fd, std::string& lost);
  Result<void> load_history(int64_t rev, size_t limit, Loaded& out);

  std::vector<EtcdEndpoint> endpoints_;
  std::string prefix_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Connection>> pool_;
  size_t next_endpoint_ = 0;
  std::mutex feed_mu_;
  int feed_fd_ = -1;
  std::atomic<bool> feed_stopped_{false};
};

}  // namespace skiff::master
