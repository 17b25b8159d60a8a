#include "master/server/kubelet_proxy.hpp"

#include <sys/socket.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <limits>
#include <memory>

#include "common/json_util.hpp"
#include "common/strings.hpp"
#include "master/server/http_upgrade.hpp"

namespace skiff::master {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

struct KubeletStream {
  net::io_context io;
  ssl::context ctx{ssl::context::tls_client};
  std::unique_ptr<ssl::stream<tcp::socket>> tls;
  beast::flat_buffer buf;
  http::response_parser<http::buffer_body> parser;
};

HttpResponse failure(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = Json{
      {"kind", "Status"},
      {"apiVersion", "v1"},
      {"status", "Failure"},
      {"message", message},
      {"reason", status == 502   ? "ServiceUnavailable"
                 : status == 400 ? "BadRequest"
                 : status == 403 ? "Forbidden"
                 : status == 404 ? "NotFound"
                                 : "InternalError"},
      {"code",
       status}}.dump();
  return r;
}

}  // namespace

HttpResponse proxy_to_kubelet(const KubeletClientConfig& config, const std::string& host,
                              uint16_t port, const std::string& path_and_query) {
  auto s = std::make_shared<KubeletStream>();
  boost::system::error_code ec;
  std::string where = cat("kubelet https://", host, ":", port);
  // kube-apiserver does not verify kubelet serving certificates unless given a CA for them.
  s->ctx.set_verify_mode(ssl::verify_none);
  if (!config.cert_file.empty()) {
    s->ctx.use_certificate_chain_file(config.cert_file, ec);
    if (!ec) s->ctx.use_private_key_file(config.key_file, ssl::context::pem, ec);
    if (ec) return failure(500, cat("load the kubelet client certificate: ", ec.message()));
  }
  s->tls = std::make_unique<ssl::stream<tcp::socket>>(s->io, s->ctx);
  tcp::resolver resolver(s->io);
  auto found = resolver.resolve(host, std::to_string(port), ec);
  if (!ec) net::connect(s->tls->next_layer(), found, ec);
  if (!ec) s->tls->handshake(ssl::stream_base::client, ec);
  if (ec) return failure(502, cat("dial ", where, ": ", ec.message()));
  http::request<http::empty_body> req{http::verb::get, path_and_query, 11};
  req.set(http::field::host, cat(host, ":", port));
  req.set(http::field::user_agent, "skiff-master");
  http::write(*s->tls, req, ec);
  s->parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // none: mis-compared in 1.74
  if (!ec) http::read_header(*s->tls, s->buf, s->parser, ec);
  if (ec) return failure(502, cat(where, path_and_query, ": ", ec.message()));
  HttpResponse r;
  r.status = s->parser.get().result_int();
  auto ct = s->parser.get()[http::field::content_type];
  r.content_type = ct.empty() ? "text/plain" : std::string(ct);
  if (r.status >= 400 && r.content_type.find("json") == std::string::npos) {
    // The kubelet's refusals are plain text (a bad log option, no previous container): its
    // message as a Status, which kubectl shows (kube-apiserver does the same).
    std::string body;
    char chunk[4096];
    while (!s->parser.is_done() && body.size() < 65536) {
      s->parser.get().body().data = chunk;
      s->parser.get().body().size = sizeof chunk;
      http::read(*s->tls, s->buf, s->parser, ec);
      if (ec == http::error::need_buffer) ec = {};
      body.append(chunk, sizeof chunk - s->parser.get().body().size);
      if (ec) break;
    }
    return failure(r.status, std::string(trim(body)));
  }
  r.stream = [s](ChunkWriter& out) {
    // Reads run on the stream's io_context with a 1 s check beside them: a client that left
    // (kubectl logs -f interrupted) ends the relay, and the kubelet's follower with it, without
    // waiting for the next line.
    char chunk[16384];
    bool stop = false;
    net::steady_timer check(s->io);
    std::function<void()> watch = [&] {
      check.expires_after(std::chrono::seconds(1));
      check.async_wait([&](boost::system::error_code ec) {
        if (ec || stop) return;
        if (out.client_gone() || !out.running()) {
          stop = true;
          boost::system::error_code ignored;
          ::shutdown(s->tls->next_layer().native_handle(), SHUT_RDWR);
          s->tls->next_layer().cancel(ignored);
          return;
        }
        watch();
      });
    };
    std::function<void()> next = [&] {
      if (stop || s->parser.is_done()) {
        stop = true;
        check.cancel();
        return;
      }
      s->parser.get().body().data = chunk;
      s->parser.get().body().size = sizeof(chunk);
      http::async_read_some(*s->tls, s->buf, s->parser, [&](boost::system::error_code ec, size_t) {
        if (ec == http::error::need_buffer) ec = {};
        size_t n = sizeof(chunk) - s->parser.get().body().size;
        if ((n && !out.write(std::string_view(chunk, n))) || ec) {
          stop = true;
          check.cancel();
          return;
        }
        next();
      });
    };
    watch();
    next();
    s->io.run();
  };
  return r;
}

}  // namespace skiff::master

namespace skiff::master {

namespace {

using Tls = ssl::stream<tcp::socket>;

// Copies `from` to `to` until either side ends, then ends both (`stop`).
struct Relay {
  Tls& a;
  Tls& b;
  std::array<char, 16384> ab{}, ba{};
  bool stopped = false;
  void stop() {
    if (stopped) return;
    stopped = true;
    boost::system::error_code ec;
    for (Tls* t : {&a, &b}) {
      ::shutdown(t->next_layer().native_handle(), SHUT_RDWR);
      t->next_layer().cancel(ec);
    }
  }
  void pump(Tls& from, Tls& to, std::array<char, 16384>& buf) {
    from.async_read_some(
        net::buffer(buf), [this, &from, &to, &buf](boost::system::error_code ec, size_t n) {
          if (ec || stopped) return stop();
          net::async_write(to, net::buffer(buf.data(), n),
                           [this, &from, &to, &buf](boost::system::error_code wec, size_t) {
                             if (wec || stopped) return stop();
                             pump(from, to, buf);
                           });
        });
  }
};

void write_failure(Tls& client, int status, const std::string& message) {
  HttpResponse f = failure(status, message);
  http::response<http::string_body> out{static_cast<http::status>(status), 11};
  out.set(http::field::content_type, f.content_type);
  out.keep_alive(false);
  out.body() = f.body;
  out.prepare_payload();
  beast::error_code ec;
  http::write(client, out, ec);
}

}  // namespace

HttpResponse upgrade_to_kubelet(const KubeletClientConfig& config, const std::string& host,
                                uint16_t port, const std::string& method,
                                const std::string& path_and_query,
                                const std::map<std::string, std::string>& headers) {
  HttpResponse r;
  r.upgrade = [=](UpgradeStream& up) {
    boost::system::error_code ec;
    std::string where = cat("kubelet https://", host, ":", port);
    ssl::context ctx{ssl::context::tls_client};
    ctx.set_verify_mode(ssl::verify_none);  // as kube-apiserver without a kubelet CA
    if (!config.cert_file.empty()) {
      ctx.use_certificate_chain_file(config.cert_file, ec);
      if (!ec) ctx.use_private_key_file(config.key_file, ssl::context::pem, ec);
      if (ec)
        return write_failure(up.tls, 500,
                             cat("load the kubelet client certificate: ", ec.message()));
    }
    Tls kubelet(up.io, ctx);
    tcp::resolver resolver(up.io);
    auto found = resolver.resolve(host, std::to_string(port), ec);
    if (!ec) net::connect(kubelet.next_layer(), found, ec);
    if (!ec) kubelet.handshake(ssl::stream_base::client, ec);
    if (ec) return write_failure(up.tls, 502, cat("dial ", where, ": ", ec.message()));
    http::request<http::empty_body> req{method == "POST" ? http::verb::post : http::verb::get,
                                        path_and_query, 11};
    req.set(http::field::host, cat(host, ":", port));
    req.set(http::field::user_agent, "skiff-master");
    req.set(http::field::connection, "Upgrade");
    for (const auto& [name, value] : headers)
      if (name == "upgrade" || name == "x-stream-protocol-version") req.set(name, value);
    req.prepare_payload();
    http::write(kubelet, req, ec);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    if (!ec) http::read_header(kubelet, buf, parser, ec);
    if (!ec && parser.get().result_int() != 101) http::read(kubelet, buf, parser, ec);
    if (ec) return write_failure(up.tls, 502, cat(where, ": ", ec.message()));
    auto& res = parser.get();
    if (res.result_int() != 101) {
      // The kubelet's refusal (a missing container, an unsupported protocol) as a Status.
      int code = res.result_int();
      return write_failure(up.tls, code >= 400 ? code : 502,
                           cat(where, ": ", std::string(trim(res.body()))));
    }
    std::string head = "HTTP/1.1 101 Switching Protocols\r\n";
    for (const auto& f : res)
      head += cat(std::string(f.name_string()), ": ", std::string(f.value()), "\r\n");
    head += "\r\n";
    net::write(up.tls, net::buffer(head), ec);
    if (!ec && buf.size() > 0) net::write(up.tls, buf.data(), ec);
    if (!ec && !up.buffered.empty()) net::write(kubelet, net::buffer(up.buffered), ec);
    if (ec) return;
    Relay relay{up.tls, kubelet};
    relay.pump(up.tls, kubelet, relay.ab);
    relay.pump(kubelet, up.tls, relay.ba);
    up.io.run();
  };
  return r;
}

}  // namespace skiff::master
