#include "oci/registry/http_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <limits>

namespace skiff::registry {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kReadBuffer = 256 << 10;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_ip_address(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

Error transport_error(std::string message) { return Error(std::move(message), kTransportError); }

}  // namespace

// --- URLs ---------------------------------------------------------------------------------------

std::string Url::authority() const {
  std::string h = host.find(':') != std::string::npos ? cat('[', host, ']') : host;
  bool default_port = (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
  return default_port ? h : cat(h, ':', port);
}

Result<Url> parse_url(std::string_view text) {
  auto bad = [&](std::string_view why) { return error("URL ", quote(text), ": ", why); };
  Url u;
  size_t colon = text.find("://");
  if (colon == std::string_view::npos) return bad("not absolute");
  u.scheme = lower(text.substr(0, colon));
  if (u.scheme != "http" && u.scheme != "https") return bad("scheme must be http or https");
  std::string_view rest = text.substr(colon + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view target = end == std::string_view::npos ? "" : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) return bad("user info is not supported");
  if (authority.empty()) return bad("no host");
  std::string_view host = authority, port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after the IPv6 address");
      port = after.substr(1);
    }
  } else if (size_t c = authority.rfind(':'); c != std::string_view::npos) {
    host = authority.substr(0, c);
    port = authority.substr(c + 1);
  }
  if (host.empty()) return bad("no host");
  if (!port.empty() && !parse_int<uint16_t>(port)) return bad("bad port");
  u.host = std::string(host);
  u.port = port.empty() ? (u.scheme == "https" ? "443" : "80") : std::string(port);
  if (size_t hash = target.find('#'); hash != std::string_view::npos)
    target = target.substr(0, hash);
  u.target = target.empty() ? "/" : std::string(target);
  if (u.target.front() == '?') u.target.insert(0, "/");
  return u;
}

Result<Url> resolve_url(const Url& base, std::string_view location) {
  if (location.find("://") != std::string_view::npos) return parse_url(location);
  if (location.starts_with("//")) return parse_url(cat(base.scheme, ':', location));
  Url u = base;
  if (location.starts_with('/')) {
    u.target = std::string(location);
  } else {
    std::string dir = base.target.substr(0, base.target.find('?'));
    dir = dir.substr(0, dir.rfind('/') + 1);
    u.target = dir + std::string(location);
  }
  return u;
}

std::string url_encode(std::string_view s) {
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

// --- the client ---------------------------------------------------------------------------------

struct HttpClient::Impl {
  Impl(TlsOptions t, std::chrono::milliseconds to) : tls(std::move(t)), timeout(to) {
    // Beast reads at most min(64 KiB, free capacity) per call: without room here every recv
    // would bring 512 bytes (115k syscalls for a 59 MB image).
    buffer.reserve(kReadBuffer);
  }

  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  bool ctx_ready = false;
  TlsOptions tls;
  std::chrono::milliseconds timeout;
  std::string key;  // scheme://authority of the open connection
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  std::vector<char> chunk = std::vector<char>(kReadBuffer);

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  void close() {
    if (plain || secure) {
      boost::system::error_code ignored;
      lowest().socket().close(ignored);
    }
    secure.reset();
    plain.reset();
    key.clear();
    buffer.clear();
  }

  // Runs one asynchronous operation to completion, bounded by the timeout.
  template <typename Start>
  beast::error_code run(Start&& start) {
    beast::error_code result;
    lowest().expires_after(timeout);
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  Result<void> prepare_tls_context() {
    if (ctx_ready) return ok();
    boost::system::error_code ec;
    if (!tls.ca_file.empty()) {
      ctx.load_verify_file(tls.ca_file, ec);
      if (ec) return error("CA file ", quote(tls.ca_file), ": ", ec.message());
    } else {
      ctx.set_default_verify_paths(ec);
      if (ec) return error("system CA certificates: ", ec.message());
    }
    ctx.set_verify_mode(tls.verify ? ssl::verify_peer : ssl::verify_none);
    ctx_ready = true;
    return ok();
  }

  Result<void> connect(const Url& url) {
    std::string want = cat(url.scheme, "://", url.authority());
    if (key == want) return ok();
    close();
    std::string where = url.authority();
    tcp::resolver resolver(ioc);
    boost::system::error_code ec;
    auto endpoints = resolver.resolve(url.host, url.port, ec);
    if (ec) return transport_error(cat("resolve ", quote(url.host), ": ", ec.message()));
    if (url.scheme == "https") {
      TRY(prepare_tls_context());
      secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, ctx);
    } else {
      plain = std::make_unique<beast::tcp_stream>(ioc);
    }
    ec = run([&](auto handler) { lowest().async_connect(endpoints, handler); });
    if (ec) {
      close();
      return transport_error(cat("connect to ", where, ": ", ec.message()));
    }
    lowest().socket().set_option(tcp::no_delay(true), ec);
    if (secure) {
      SSL* native = secure->native_handle();
      bool ip = is_ip_address(url.host);
      // SNI takes host names only (RFC 6066 §3); the certificate must name the host or the IP.
      if (!ip && !SSL_set_tlsext_host_name(native, url.host.c_str())) {
        close();
        return error("TLS: cannot set the server name ", quote(url.host));
      }
      if (tls.verify) {
        X509_VERIFY_PARAM* param = SSL_get0_param(native);
        int set = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str())
                     : X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), 0);
        if (set != 1) {
          close();
          return error("TLS: cannot verify against ", quote(url.host));
        }
      }
      ec = run([&](auto handler) { secure->async_handshake(ssl::stream_base::client, handler); });
      if (ec) {
        close();
        // A certificate that does not verify is final; a reset during the handshake is not.
        bool final = ec.category() == asio::error::get_ssl_category();
        std::string msg = cat("TLS handshake with ", where, ": ", ec.message());
        if (msg.find("wrong version number") != std::string::npos)
          msg += " (a plain-HTTP registry? use --insecure)";
        else if (final && tls.verify)
          msg += " (trust its CA with --ca-file, or --tls-verify=false)";
        return final ? error(msg) : transport_error(msg);
      }
    }
    key = want;
    return ok();
  }

  template <typename Stream>
  Result<HttpResponse> exchange(Stream& stream, const HttpRequest& req, BodySink* sink,
                                size_t max_body, bool reused, int64_t& body_bytes) {
    const Url& url = req.url;
    http::request<http::empty_body> r{http::string_to_verb(req.method), url.target, 11};
    r.set(http::field::host, url.authority());
    r.set(http::field::user_agent, "skiff/0.1");
    for (const auto& [name, value] : req.headers) r.set(name, value);
    auto ec = run([&](auto handler) { http::async_write(stream, r, handler); });
    http::response_parser<http::buffer_body> p;
    p.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (req.method == "HEAD") p.skip(true);
    if (!ec) ec = run([&](auto handler) { http::async_read_header(stream, buffer, p, handler); });
    if (ec) {
      close();
      // A kept-alive connection the server closed meanwhile: the caller reconnects once.
      if (reused) return Error("stale connection", EAGAIN);
      return transport_error(cat(req.method, ' ', url.str(), ": ", ec.message()));
    }
    HttpResponse resp;
    resp.status = static_cast<int>(p.get().result_int());
    resp.reason = std::string(p.get().reason());
    for (const auto& field : p.get()) {
      std::string name =
          lower(std::string_view(field.name_string().data(), field.name_string().size()));
      std::string value(field.value().data(), field.value().size());
      auto [it, fresh] = resp.headers.emplace(name, value);
      if (!fresh) it->second += ", " + value;
    }
    if (auto len = p.content_length()) resp.content_length = static_cast<int64_t>(*len);
    bool to_sink = sink && resp.status / 100 == 2;
    if (to_sink) {
      auto begun = sink->begin(resp);
      if (!begun) {
        close();
        return std::move(begun).error();
      }
    }
    int64_t received = 0;
    while (!p.is_done()) {
      p.get().body().data = chunk.data();
      p.get().body().size = chunk.size();
      ec = run([&](auto handler) { http::async_read(stream, buffer, p, handler); });
      if (ec == http::error::need_buffer) ec = {};
      size_t n = chunk.size() - p.get().body().size;
      received += static_cast<int64_t>(n);
      body_bytes += static_cast<int64_t>(n);
      if (n > 0) {
        if (to_sink) {
          auto written = sink->write(chunk.data(), n);
          if (!written) {
            close();
            return std::move(written).error();
          }
        } else {
          if (resp.body.size() + n > max_body) {
            close();
            return error(req.method, ' ', url.str(), ": response body larger than ", max_body,
                         " bytes");
          }
          resp.body.append(chunk.data(), n);
        }
      }
      if (ec) {
        close();
        std::string got = resp.content_length >= 0
                              ? cat(received, " of ", resp.content_length, " bytes")
                              : cat(received, " bytes");
        if (ec == http::error::partial_message || ec == asio::error::eof ||
            ec == ssl::error::stream_truncated)
          return transport_error(cat(req.method, ' ', url.str(), ": connection closed after ", got,
                                     " of the body (truncated)"));
        return transport_error(
            cat(req.method, ' ', url.str(), ": reading the body (", got, "): ", ec.message()));
      }
    }
    if (!p.get().keep_alive()) close();
    return resp;
  }
};

HttpClient::HttpClient(TlsOptions tls, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(std::move(tls), timeout)) {}

HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::send(const HttpRequest& req, BodySink* sink, size_t max_body) {
  for (int attempt = 0;; ++attempt) {
    bool reused = !impl_->key.empty() &&
                  impl_->key == cat(req.url.scheme, "://", req.url.authority()) && attempt == 0;
    TRY(impl_->connect(req.url));
    auto r = impl_->secure
                 ? impl_->exchange(*impl_->secure, req, sink, max_body, reused, body_bytes_)
                 : impl_->exchange(*impl_->plain, req, sink, max_body, reused, body_bytes_);
    if (!r && r.error().code() == EAGAIN && attempt == 0) continue;
    return r;
  }
}

}  // namespace skiff::registry
