#pragma once
// skiff-master as a library: open the store, bootstrap, start the API server and controllers,
// serve until SIGTERM/SIGINT, shut down gracefully. main.cpp only parses flags.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace skiff::master {

struct MasterOptions {
  std::string data_dir = "/var/lib/skiff-master";
  std::string listen = "127.0.0.1:6443";
  std::string store = "sqlite";
  std::string etcd_endpoints;
  std::string etcd_prefix = "/skiff";  // keys of this cluster in etcd
  // With etcd: a Lease not renewed for this long is taken over by another master.
  std::chrono::milliseconds leader_lease_duration{std::chrono::seconds(15)};
  std::string cluster_cidr = "10.244.0.0/16";
  std::string service_cidr = "10.96.0.0/12";
  std::string token_file;  // default <data-dir>/tokens.csv
  // History older than the previous compaction is dropped every interval (kube: 5 minutes).
  std::chrono::milliseconds compaction_interval{std::chrono::minutes(5)};
  // A node whose Lease is older than this is unreachable (kube: --node-monitor-grace-period).
  std::chrono::milliseconds node_grace{std::chrono::seconds(40)};
  // Client certificates signed for CSRs are valid this long (kube: --cluster-signing-duration).
  std::chrono::seconds signing_duration{std::chrono::hours(24 * 365)};
  std::string version = "v1.20.0-skiff";
  std::string commit = "unknown";
};

// Runs until a termination signal; returns the process exit code's error when start-up fails.
Result<void> run_master(const MasterOptions& options);

struct KubeconfigOptions {
  std::string data_dir = "/var/lib/skiff-master";
  std::string server;  // default: the address the master last listened on
  std::string user = "admin";
  std::vector<std::string> groups;
};
// A kubeconfig with the CA and a client certificate embedded (admin's, or one issued now).
Result<std::string> make_kubeconfig(const KubeconfigOptions& options);

// "500ms", "30s", "5m", "24h" -> milliseconds; nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

// "ADDR:PORT" or "[v6]:PORT" -> address and port; the error names the value.
Result<std::pair<std::string, uint16_t>> parse_listen(const std::string& listen);

}  // namespace skiff::master
