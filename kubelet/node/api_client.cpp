#include "kubelet/node/api_client.hpp"

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace skiff::kubelet::node {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

std::string ApiResponse::message() const {
  auto j = Json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string())
    return j["message"].get<std::string>();
  return body.size() > 300 ? body.substr(0, 300) + "…" : body;
}

std::string query_escape(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

struct ApiClient::Impl {
  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  std::mutex ctx_mu;  // ctx changes (certificate rotation) vs new connections
  std::atomic<int> cert_generation{0};
  int stream_generation = 0;  // the certificate the open connection presented
  std::string host, port;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> stream;
  beast::flat_buffer buffer;

  void close() {
    if (stream) {
      boost::system::error_code ignored;
      beast::get_lowest_layer(*stream).socket().close(ignored);
    }
    stream.reset();
    buffer.clear();
  }

  // Runs one asynchronous operation to completion within `timeout`, polling `stop`.
  template <typename Start>
  beast::error_code run(Start&& start, std::chrono::milliseconds timeout,
                        const std::atomic<bool>* stop = nullptr) {
    beast::error_code result;
    bool done = false;
    start([&](beast::error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    auto deadline = std::chrono::steady_clock::now() + timeout;
    ioc.restart();
    while (!done) {
      ioc.run_for(std::chrono::milliseconds(200));
      if (done) break;
      bool stopped = stop && stop->load();
      if (stopped || std::chrono::steady_clock::now() > deadline) {
        boost::system::error_code ignored;
        beast::get_lowest_layer(*stream).socket().cancel(ignored);
        beast::get_lowest_layer(*stream).socket().close(ignored);
        ioc.restart();
        ioc.run();
        result = stopped ? asio::error::operation_aborted : asio::error::timed_out;
        break;
      }
    }
    return result;
  }
};

Result<std::unique_ptr<ApiClient>> ApiClient::create(ClientConfig config) {
  std::string s = config.server;
  if (!s.starts_with("https://")) return error("server ", quote(s), ": expected https://HOST:PORT");
  s = s.substr(8);
  while (!s.empty() && s.back() == '/') s.pop_back();
  std::unique_ptr<ApiClient> c(new ApiClient(std::move(config)));
  c->impl_ = std::make_unique<Impl>();
  Impl& im = *c->impl_;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos) return error("server ", quote(c->config_.server), ": bad IPv6");
    im.host = s.substr(1, close - 1);
    im.port = close + 2 <= s.size() ? s.substr(close + 2) : "443";
  } else {
    auto colon = s.rfind(':');
    im.host = s.substr(0, colon);
    im.port = colon == std::string::npos ? "443" : s.substr(colon + 1);
  }
  if (im.host.empty() || im.port.empty() || !parse_int<uint16_t>(im.port))
    return error("server ", quote(c->config_.server), ": expected https://HOST:PORT");
  boost::system::error_code ec;
  const ClientConfig& cf = c->config_;
  if (!cf.ca_pem.empty()) {
    im.ctx.add_certificate_authority(asio::buffer(cf.ca_pem), ec);
    if (ec) return error("the cluster CA certificate: ", ec.message());
    im.ctx.set_verify_mode(ssl::verify_peer);
  } else if (cf.insecure) {
    im.ctx.set_verify_mode(ssl::verify_none);
  } else {
    return error("no CA certificate for ", quote(cf.server));
  }
  if (!cf.cert_pem.empty()) {
    im.ctx.use_certificate_chain(asio::buffer(cf.cert_pem), ec);
    if (!ec) im.ctx.use_private_key(asio::buffer(cf.key_pem), ssl::context::pem, ec);
    if (ec) return error("the client certificate or key: ", ec.message());
  }
  return c;
}

ApiClient::ApiClient(ClientConfig config) : config_(std::move(config)) {}
ApiClient::~ApiClient() = default;

namespace {

Result<void> connect(ApiClient::Impl& im, const ClientConfig& cf) {
  if (im.stream && im.stream_generation != im.cert_generation) im.close();  // rotated
  if (im.stream) return ok();
  tcp::resolver resolver(im.ioc);
  boost::system::error_code ec;
  auto endpoints = resolver.resolve(im.host, im.port, ec);
  if (ec) return error("resolve ", quote(im.host), ": ", ec.message());
  {
    std::lock_guard lock(im.ctx_mu);
    im.stream = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(im.ioc, im.ctx);
    im.stream_generation = im.cert_generation;
  }
  // Asio opens sockets without SOCK_CLOEXEC, and every skiff-pod (and the shim it starts) would
  // inherit the connection: open it ourselves, then connect.
  ec = asio::error::host_not_found;
  for (const auto& e : endpoints) {
    auto& sock = beast::get_lowest_layer(*im.stream).socket();
    int fd = ::socket(e.endpoint().protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
      ec = boost::system::error_code(errno, boost::system::system_category());
      continue;
    }
    boost::system::error_code assigned;
    sock.assign(e.endpoint().protocol(), fd, assigned);
    if (assigned) {
      ::close(fd);
      ec = assigned;
      continue;
    }
    ec = im.run([&](auto h) { beast::get_lowest_layer(*im.stream).async_connect(e.endpoint(), h); },
                cf.timeout);
    if (!ec) break;
    boost::system::error_code ignored;
    sock.close(ignored);
  }
  if (ec) {
    im.close();
    return error("connect to ", cf.server, ": ", ec.message());
  }
  SSL* native = im.stream->native_handle();
  boost::system::error_code v6;
  bool ip = !asio::ip::make_address(im.host, v6).is_unspecified() && !v6;
  if (!ip) SSL_set_tlsext_host_name(native, im.host.c_str());
  if (!cf.ca_pem.empty()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(native);
    if (ip)
      X509_VERIFY_PARAM_set1_ip_asc(param, im.host.c_str());
    else
      X509_VERIFY_PARAM_set1_host(param, im.host.c_str(), 0);
  }
  ec = im.run([&](auto h) { im.stream->async_handshake(ssl::stream_base::client, h); }, cf.timeout);
  if (ec) {
    im.close();
    return error("TLS handshake with ", cf.server, ": ", ec.message());
  }
  return ok();
}

http::request<http::string_body> make_request(const ApiClient::Impl& im, const ClientConfig& cf,
                                              const std::string& method, const std::string& path,
                                              const std::string& body,
                                              const std::string& content_type) {
  http::request<http::string_body> r{http::string_to_verb(method), path, 11};
  r.set(http::field::host, im.host);
  r.set(http::field::user_agent, "skiff-kubelet/0.1");
  r.set(http::field::accept, "application/json");
  if (!cf.token.empty()) r.set(http::field::authorization, "Bearer " + cf.token);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    r.set(http::field::content_type, content_type);
    r.body() = body;
    r.prepare_payload();
  }
  return r;
}

}  // namespace

Result<ApiResponse> ApiClient::request(const std::string& method, const std::string& path,
                                       const std::string& body, const std::string& content_type) {
  std::lock_guard lock(mu_);
  Impl& im = *impl_;
  for (int attempt = 0;; ++attempt) {
    bool reused = im.stream != nullptr;
    TRY(connect(im, config_));
    auto r = make_request(im, config_, method, path, body, content_type);
    auto ec = im.run([&](auto h) { http::async_write(*im.stream, r, h); }, config_.timeout);
    http::response_parser<http::string_body> p;
    p.body_limit(64 << 20);
    if (!ec)
      ec = im.run([&](auto h) { http::async_read(*im.stream, im.buffer, p, h); }, config_.timeout);
    if (ec) {
      im.close();
      if (reused && attempt == 0) continue;  // the server closed a kept-alive connection
      return error(method, " ", config_.server, path, ": ", ec.message());
    }
    ApiResponse out;
    out.status = static_cast<int>(p.get().result_int());
    out.body = std::move(p.get().body());
    if (!p.get().keep_alive()) im.close();
    return out;
  }
}

Result<void> ApiClient::set_client_certificate(const std::string& cert_pem,
                                               const std::string& key_pem) {
  Impl& im = *impl_;
  std::lock_guard lock(im.ctx_mu);
  boost::system::error_code ec;
  im.ctx.use_certificate_chain(asio::buffer(cert_pem), ec);
  if (!ec) im.ctx.use_private_key(asio::buffer(key_pem), ssl::context::pem, ec);
  if (ec) return error("the renewed client certificate or key: ", ec.message());
  im.cert_generation++;
  return ok();
}

Result<Json> ApiClient::get_json(const std::string& path) {
  auto r = TRY(request("GET", path));
  if (r.status != 200) return Error(cat("GET ", path, ": HTTP ", r.status, ": ", r.message()));
  return parse_json(r.body, path);
}

Result<void> ApiClient::stream_lines(const std::string& path,
                                     const std::function<bool(std::string_view)>& on_line,
                                     const std::atomic<bool>* stop) {
  std::lock_guard lock(mu_);
  Impl& im = *impl_;
  im.close();  // a stream owns its connection
  TRY(connect(im, config_));
  auto r = make_request(im, config_, "GET", path, "", "");
  auto ec = im.run([&](auto h) { http::async_write(*im.stream, r, h); }, config_.timeout);
  http::response_parser<http::buffer_body> p;
  p.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (!ec)
    ec = im.run([&](auto h) { http::async_read_header(*im.stream, im.buffer, p, h); },
                config_.timeout, stop);
  if (ec) {
    im.close();
    return error("watch ", path, ": ", ec.message());
  }
  int status = static_cast<int>(p.get().result_int());
  std::string pending;
  std::vector<char> chunk(64 << 10);
  // The watch itself may be quiet for long: the server's timeoutSeconds bounds it, this is a
  // safety net.
  auto idle = std::max<std::chrono::milliseconds>(config_.timeout, std::chrono::minutes(10));
  bool keep_going = true;
  while (!p.is_done() && keep_going) {
    p.get().body().data = chunk.data();
    p.get().body().size = chunk.size();
    ec = im.run([&](auto h) { http::async_read_some(*im.stream, im.buffer, p, h); }, idle, stop);
    if (ec == http::error::need_buffer) ec = {};
    size_t n = chunk.size() - p.get().body().size;
    pending.append(chunk.data(), n);
    if (status == 200) {
      size_t start = 0, nl;
      while (keep_going && (nl = pending.find('\n', start)) != std::string::npos) {
        std::string_view line(pending.data() + start, nl - start);
        if (!trim(line).empty()) keep_going = on_line(line);
        start = nl + 1;
      }
      pending.erase(0, start);
    }
    if (ec) break;
  }
  im.close();
  if (status != 200) {
    ApiResponse resp{status, pending};
    return Error(cat("watch ", path, ": HTTP ", status, ": ", resp.message()), status);
  }
  if (ec && ec != asio::error::operation_aborted && ec != asio::error::eof &&
      ec != http::error::end_of_stream && ec != ssl::error::stream_truncated)
    return error("watch ", path, ": ", ec.message());
  return ok();
}

}  // namespace skiff::kubelet::node
