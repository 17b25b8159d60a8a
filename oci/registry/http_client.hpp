#pragma once
// A small synchronous HTTP/1.1 client (Boost.Beast over Asio, TLS with OpenSSL) for the registry
// client: one kept-alive connection per host, every network step bounded by a timeout, response
// bodies streamed to a caller's sink so a layer never sits in memory. One client per thread.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace skiff::registry {

// Transport failures (connect, TLS, reset, timeout, a body cut short) carry this code: the
// request may succeed when tried again. Everything else is final.
inline constexpr int kTransportError = ECOMM;

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // "127.0.0.1", "registry-1.docker.io", "::1" (no brackets)
  std::string port;    // always set ("80", "443" by default)
  std::string target;  // "/v2/…?query", starting with '/'

  // "host:port" as the Host header spells it (the port only when not the scheme's default).
  std::string authority() const;
  std::string str() const { return cat(scheme, "://", authority(), target); }
};

// Parses an absolute http(s) URL; an error quotes it.
Result<Url> parse_url(std::string_view text);
// Resolves `location` (absolute, or a path, as in a Location header) against `base`.
Result<Url> resolve_url(const Url& base, std::string_view location);
// Percent-encodes a query value.
std::string url_encode(std::string_view s);

struct TlsOptions {
  std::string ca_file;  // PEM bundle to trust instead of the system's
  bool verify = true;   // false: accept any certificate (skopeo's --tls-verify=false)
};

struct HttpRequest {
  std::string method = "GET";
  Url url;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpResponse {
  int status = 0;
  std::string reason;
  std::map<std::string, std::string> headers;  // lowercase names; repeated ones joined by ", "
  std::string body;                            // when no sink took it
  int64_t content_length = -1;                 // -1: not given

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Receives a successful (2xx) response's body. begin() is called once the head arrived, with the
// Content-Length (or -1), before any write.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual Result<void> begin(const HttpResponse& head) = 0;
  virtual Result<void> write(const char* data, size_t size) = 0;
  // Bytes already held from an earlier, interrupted attempt: a retry asks for the rest
  // ("Range: bytes=N-") and begin() sees 206 when the server obliges, 200 when it starts over.
  virtual int64_t resume_offset() const { return 0; }
};

class HttpClient {
 public:
  explicit HttpClient(TlsOptions tls, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `req` and reads the response. A 2xx body goes to `sink` when one is given; any other
  // body is kept in `body`, at most `max_body` bytes (more is an error). Connections are reused
  // while the server keeps them alive. Errors name the URL; transport ones have kTransportError.
  Result<HttpResponse> send(const HttpRequest& req, BodySink* sink = nullptr,
                            size_t max_body = 1 << 20);
  // Bytes of response bodies received so far (any status), for tests and benchmarks.
  int64_t body_bytes() const { return body_bytes_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int64_t body_bytes_ = 0;
};

}  // namespace skiff::registry
