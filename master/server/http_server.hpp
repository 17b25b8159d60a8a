#pragma once
// HTTPS server: TLS 1.2+ with the master's serving certificate, client certificates verified
// against the CA (optional, so bearer tokens and anonymous requests reach the handler), HTTP/1.1
// keep-alive, request bodies capped, one thread per connection (watches block), graceful stop.

#include <memory>
#include <string>

#include "common/error.hpp"
#include "master/server/http.hpp"

namespace skiff::master {

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 6443;  // 0: any free port
  std::string cert_file, key_file, client_ca_file;
  size_t body_limit = 3 * 1024 * 1024;
};

class HttpServer {
 public:
  // Binds and starts accepting; requests go to `handler` on the connection's thread.
  static Result<std::unique_ptr<HttpServer>> start(const HttpServerOptions& options,
                                                   Handler handler);
  virtual ~HttpServer() = default;
  virtual uint16_t port() const = 0;
  // Stops accepting, ends streams, closes idle connections, waits up to `grace_ms` for
  // in-flight requests.
  virtual void stop(int grace_ms) = 0;
};

}  // namespace skiff::master
