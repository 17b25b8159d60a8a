#include "kubelet/node/kubelet_server.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "common/log.hpp"
#include "common/strings.hpp"
#include "kubelet/node/credentials.hpp"

namespace skiff::kubelet::node {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

std::string tail_lines(const std::string& t, int64_t n) {
  if (n <= 0) return "";
  size_t end = t.size();
  if (end > 0 && t[end - 1] == '\n') end--;
  size_t pos = end;
  int64_t count = 0;
  while (pos > 0) {
    size_t nl = t.rfind('\n', pos - 1);
    if (nl == std::string::npos) {
      pos = 0;
      break;
    }
    if (++count == n) {
      pos = nl + 1;
      break;
    }
    pos = nl;
  }
  return t.substr(pos);
}

struct KubeletServer::Impl {
  KubeletServerOptions o;
  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_server};
  std::unique_ptr<tcp::acceptor> acceptor;
  std::thread thread;
  std::atomic<bool> stopping{false};

  http::response<http::string_body> handle(const http::request<http::string_body>& req) {
    http::response<http::string_body> r{http::status::ok, req.version()};
    r.set(http::field::server, "skiff-kubelet");
    auto reply = [&](http::status st, const std::string& type, std::string body) {
      r.result(st);
      r.set(http::field::content_type, type);
      r.body() = std::move(body);
    };
    std::string target(req.target());
    std::string path = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get) {
      reply(http::status::method_not_allowed, "text/plain", "only GET\n");
    } else if (path == "/healthz") {
      reply(http::status::ok, "text/plain", "ok");
    } else if (path == "/pods" || path == "/pods/") {
      reply(http::status::ok, "application/json", o.pods().dump());
    } else if (path.starts_with("/containerLogs/")) {
      auto parts = split(std::string_view(path).substr(15), '/', true);
      if (parts.size() != 3) {
        reply(http::status::bad_request, "text/plain",
              "expected /containerLogs/NAMESPACE/POD/CONTAINER\n");
      } else {
        std::string query =
            target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
        auto param = [&](std::string_view key) -> std::string {
          for (const auto& kv : split(query, '&', true))
            if (kv.starts_with(std::string(key) + "=")) return kv.substr(key.size() + 1);
          return "";
        };
        auto text = o.logs(parts[0], parts[1], parts[2], param("previous") == "true");
        if (text) {
          // tailLines: the last N lines (kubectl logs --tail).
          if (auto n = parse_int<int64_t>(param("tailLines")); n && *n >= 0)
            *text = tail_lines(*text, *n);
          reply(http::status::ok, "text/plain", std::move(*text));
        } else
          reply(http::status::not_found, "text/plain", text.error().what() + "\n");
      }
    } else if (auto st = o.node_stats ? o.node_stats(path) : std::nullopt) {
      reply(http::status::ok, st->first, std::move(st->second));
    } else {
      reply(http::status::not_found, "text/plain", "404 page not found\n");
    }
    r.prepare_payload();
    return r;
  }

  // One connection: TLS with a client certificate from the cluster CA, then requests until the
  // client closes (synchronous; each connection has its own thread).
  void serve(tcp::socket socket) {
    beast::error_code ec;
    struct timeval tv {
      30, 0
    };
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    beast::ssl_stream<tcp::socket> stream(std::move(socket), ctx);
    stream.handshake(ssl::stream_base::server, ec);
    if (ec) return;
    beast::flat_buffer buffer;
    while (!stopping) {
      http::request<http::string_body> req;
      http::read(stream, buffer, req, ec);
      if (ec) break;
      auto resp = handle(req);
      resp.keep_alive(req.keep_alive());
      http::write(stream, resp, ec);
      if (ec || !req.keep_alive()) break;
    }
    stream.shutdown(ec);
  }
};

Result<std::unique_ptr<KubeletServer>> KubeletServer::start(KubeletServerOptions o) {
  auto s = std::unique_ptr<KubeletServer>(new KubeletServer());
  s->impl_ = std::make_unique<Impl>();
  Impl& im = *s->impl_;
  im.o = std::move(o);
  auto [cert, key] = TRY(self_signed_serving_cert(im.o.node_name, im.o.node_ip));
  boost::system::error_code ec;
  im.ctx.use_certificate_chain(asio::buffer(cert), ec);
  if (!ec) im.ctx.use_private_key(asio::buffer(key), ssl::context::pem, ec);
  if (!ec) im.ctx.add_certificate_authority(asio::buffer(im.o.ca_pem), ec);
  if (ec) return error("kubelet API TLS set-up: ", ec.message());
  im.ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  auto addr = asio::ip::make_address(im.o.address, ec);
  if (ec) return error("kubelet API address ", quote(im.o.address), ": ", ec.message());
  tcp::endpoint ep(addr, static_cast<uint16_t>(im.o.port));
  im.acceptor = std::make_unique<tcp::acceptor>(im.ioc);
  im.acceptor->open(ep.protocol(), ec);
  if (!ec) {
    ::fcntl(im.acceptor->native_handle(), F_SETFD, FD_CLOEXEC);
    im.acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    im.acceptor->bind(ep, ec);
  }
  if (!ec) im.acceptor->listen(64, ec);
  if (ec) return error("kubelet API on ", im.o.address, ":", im.o.port, ": ", ec.message());
  s->port_ = im.acceptor->local_endpoint().port();
  im.thread = std::thread([&im] {
    while (!im.stopping) {
      boost::system::error_code aec;
      tcp::socket sock(im.ioc);
      im.acceptor->accept(sock, aec);
      if (aec || im.stopping) {
        if (im.stopping) return;
        continue;
      }
      ::fcntl(sock.native_handle(), F_SETFD, FD_CLOEXEC);
      std::thread([&im, sock = std::move(sock)]() mutable { im.serve(std::move(sock)); }).detach();
    }
  });
  return s;
}

void KubeletServer::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  boost::system::error_code ec;
  ::shutdown(impl_->acceptor->native_handle(), SHUT_RDWR);
  impl_->acceptor->close(ec);
  if (impl_->thread.joinable()) impl_->thread.join();
}

KubeletServer::~KubeletServer() { stop(); }

}  // namespace skiff::kubelet::node
