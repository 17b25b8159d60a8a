#pragma once
// The kubelet's client of the master's API: HTTPS (Boost.Beast over OpenSSL) with the cluster CA
// and the node's client certificate (or a bearer token while joining), one kept-alive connection,
// every step bounded by a timeout; JSON requests and watch streams read line by line. One client
// per thread (requests are serialized by a mutex).

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/json_util.hpp"

namespace skiff::kubelet::node {

struct ClientConfig {
  std::string server;  // https://HOST:PORT
  std::string ca_pem;  // the cluster CA; empty with insecure: no verification (discovery only)
  bool insecure = false;
  std::string cert_pem, key_pem;  // client certificate
  std::string token;              // bearer token (bootstrap)
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
};

struct ApiResponse {
  int status = 0;
  std::string body;
  // The API's Status message for an error body, else the body itself (shortened).
  std::string message() const;
};

// Percent-encodes a query value.
std::string query_escape(std::string_view s);

class ApiClient {
 public:
  static Result<std::unique_ptr<ApiClient>> create(ClientConfig config);
  ~ApiClient();
  const ClientConfig& config() const { return config_; }

  // One request; transport errors (connect, TLS, timeout) are errors, any HTTP status a response.
  Result<ApiResponse> request(const std::string& method, const std::string& path,
                              const std::string& body = "",
                              const std::string& content_type = "application/json");
  // Certificate rotation: the next connection presents this certificate (a kept-alive one is
  // closed before the next request; a watch keeps its connection until it ends).
  Result<void> set_client_certificate(const std::string& cert_pem, const std::string& key_pem);
  // GET, expecting 200 and a JSON body; anything else is an error naming the path.
  Result<Json> get_json(const std::string& path);
  // Reads a streaming response (a watch) and hands each line to `on_line` until the server ends
  // it, `on_line` returns false, or `*stop` turns true (checked at least every 200 ms). A status
  // other than 200 is an error carrying the status code as its code.
  Result<void> stream_lines(const std::string& path,
                            const std::function<bool(std::string_view)>& on_line,
                            const std::atomic<bool>* stop);

  struct Impl;  // Asio state (api_client.cpp)

 private:
  explicit ApiClient(ClientConfig config);
  ClientConfig config_;
  std::unique_ptr<Impl> impl_;
  std::mutex mu_;
};

}  // namespace skiff::kubelet::node
