#pragma once
// The plain request/response types the API handlers see. Beast stays inside http_server.cpp (its
// headers are heavy): everything else speaks these structs.

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace skiff::master {

// Who sent a request: from the verified client certificate (CN, O) or a bearer token.
struct Identity {
  std::string user;  // empty: anonymous
  std::vector<std::string> groups;
  bool anonymous() const { return user.empty(); }
  bool in_group(std::string_view g) const;
};

struct HttpRequest {
  std::string method;
  std::string target;  // path and query as sent
  std::string path;    // percent-decoded path
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  Identity cert_identity;  // from the TLS client certificate, when one was presented
  std::string header(const std::string& lower_name) const;
  std::string param(const std::string& name) const;
};

// Streams chunks of a long response (watch); write returns false once the client is gone.
class ChunkWriter {
 public:
  virtual ~ChunkWriter() = default;
  virtual bool write(std::string_view data) = 0;
  // True while the server runs; a stream ends when this turns false.
  virtual bool running() const = 0;
  // True once the client has closed its side (a stream that waits on another source checks).
  virtual bool client_gone() const { return false; }
};

struct UpgradeStream;  // http_upgrade.hpp

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
  // When set, the body is streamed (chunked) by this function instead of `body`.
  std::function<void(ChunkWriter&)> stream;
  // When set, the connection is handed over instead (an Upgrade: exec, port-forward): the
  // function writes the response itself and the connection closes when it returns.
  std::function<void(UpgradeStream&)> upgrade;
};

using Handler = std::function<HttpResponse(HttpRequest&)>;

// "a%2Fb" -> "a/b"; '+' stays '+' (paths), `plus_is_space` for query strings.
std::string percent_decode(std::string_view s, bool plus_is_space);
// Splits "a=1&b=x%20y" into a map (last value wins).
std::map<std::string, std::string> parse_query(std::string_view q);

}  // namespace skiff::master
