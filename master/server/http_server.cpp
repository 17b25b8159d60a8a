#include "master/server/http_server.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "common/log.hpp"
#include "common/strings.hpp"
#include "master/pki/pki.hpp"
#include "master/server/http_upgrade.hpp"

namespace skiff::master {

namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

const char* status_text(int code) {
  return http::obsolete_reason(static_cast<http::status>(code)).data();
}

Identity identity_from_cert(SSL* ssl) {
  Identity id;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert || SSL_get_verify_result(ssl) != X509_V_OK) return id;
  auto subject = subject_of(X509_get_subject_name(cert));
  id.user = std::move(subject.common_name);
  id.groups = std::move(subject.organizations);
  return id;
}

class Server;

class StreamChunkWriter : public ChunkWriter {
 public:
  StreamChunkWriter(ssl::stream<tcp::socket>& s, const std::atomic<bool>& running)
      : s_(s), running_(running) {}
  bool write(std::string_view data) override {
    if (data.empty()) return true;
    std::string chunk = cat(to_hex(data.size()), "\r\n");
    chunk.append(data);
    chunk.append("\r\n");
    beast::error_code ec;
    net::write(s_, net::buffer(chunk), ec);
    return !ec;
  }
  bool running() const override { return running_.load(); }
  bool client_gone() const override {
    struct pollfd p = {s_.next_layer().native_handle(), POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
  }

 private:
  static std::string to_hex(size_t n) {
    char buf[32];
    snprintf(buf, sizeof buf, "%zx", n);
    return buf;
  }
  ssl::stream<tcp::socket>& s_;
  const std::atomic<bool>& running_;
};

class Server : public HttpServer {
 public:
  Server(const HttpServerOptions& o, Handler h)
      : options_(o), handler_(std::move(h)), ssl_ctx_(ssl::context::tls_server), acceptor_(io_) {}

  Result<void> init() {
    try {
      ssl_ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1);
      ssl_ctx_.use_certificate_chain_file(options_.cert_file);
      ssl_ctx_.use_private_key_file(options_.key_file, ssl::context::pem);
      if (!options_.client_ca_file.empty()) {
        ssl_ctx_.load_verify_file(options_.client_ca_file);
        // Ask for a client certificate; one from another CA fails the handshake, none at all
        // reaches the handler (bearer token or anonymous).
        ssl_ctx_.set_verify_mode(ssl::verify_peer);
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options_.client_ca_file.c_str());
        if (names) SSL_CTX_set_client_CA_list(ssl_ctx_.native_handle(), names);
      }
      SSL_CTX_set_session_id_context(ssl_ctx_.native_handle(),
                                     reinterpret_cast<const unsigned char*>("skiff"), 5);
      auto addr = net::ip::make_address(options_.address);
      tcp::endpoint ep(addr, options_.port);
      acceptor_.open(ep.protocol());
      acceptor_.set_option(net::socket_base::reuse_address(true));
      acceptor_.bind(ep);
      acceptor_.listen(1024);
      port_ = acceptor_.local_endpoint().port();
    } catch (const std::exception& e) {
      return error("listen on ", options_.address, ":", options_.port, ": ", e.what());
    }
    running_ = true;
    accept_thread_ = std::thread([this] { accept_loop(); });
    return ok();
  }

  uint16_t port() const override { return port_; }

  void stop(int grace_ms) override {
    if (!running_.exchange(false)) return;
    beast::error_code ec;
    acceptor_.cancel(ec);
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    acceptor_.close(ec);
    if (accept_thread_.joinable()) accept_thread_.join();
    std::unique_lock lock(mu_);
    // Idle keep-alive connections wait in read: wake them. Busy ones finish their request.
    for (auto& [fd, busy] : conns_)
      if (!busy) ::shutdown(fd, SHUT_RDWR);
    if (!cv_.wait_for(lock, std::chrono::milliseconds(grace_ms), [&] { return conns_.empty(); })) {
      for (auto& [fd, busy] : conns_) ::shutdown(fd, SHUT_RDWR);
      cv_.wait_for(lock, std::chrono::milliseconds(2000), [&] { return conns_.empty(); });
    }
  }

  ~Server() override { stop(0); }

 private:
  void accept_loop() {
    while (running_) {
      beast::error_code ec;
      tcp::socket sock(io_);
      acceptor_.accept(sock, ec);
      if (ec) {
        if (!running_) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      sock.set_option(tcp::no_delay(true), ec);
      int fd = sock.native_handle();
      {
        std::lock_guard lock(mu_);
        conns_[fd] = true;
      }
      std::thread([this, s = std::move(sock), fd]() mutable {
        serve(std::move(s));
        std::lock_guard lock(mu_);
        conns_.erase(fd);
        cv_.notify_all();
      }).detach();
    }
  }

  void set_busy(int fd, bool busy) {
    std::lock_guard lock(mu_);
    conns_[fd] = busy;
  }

  void serve(tcp::socket accepted) {
    int fd = accepted.native_handle();
    // The connection's own io_context: an upgraded connection (HttpResponse::upgrade) runs its
    // asynchronous relay on it, in this thread.
    net::io_context io;
    tcp::socket sock(io);
    {
      beast::error_code pec;
      auto protocol = accepted.local_endpoint(pec).protocol();
      if (!pec) sock.assign(protocol, accepted.release(), pec);
      if (pec) return;
    }
    ssl::stream<tcp::socket> stream(std::move(sock), ssl_ctx_);
    beast::error_code ec;
    stream.handshake(ssl::stream_base::server, ec);
    if (ec) {
      log::debug("tls handshake: ", ec.message());
      return;
    }
    Identity who = identity_from_cert(stream.native_handle());
    beast::flat_buffer buffer;
    while (running_) {
      set_busy(fd, false);
      http::request_parser<http::string_body> parser;
      parser.body_limit(options_.body_limit);
      parser.header_limit(64 * 1024);
      http::read_header(stream, buffer, parser, ec);
      if (ec) break;
      set_busy(fd, true);
      if (!running_) break;
      http::read(stream, buffer, parser, ec);
      if (ec == http::error::body_limit) {
        write_simple(
            stream, 413,
            cat(R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)",
                R"("message":"the request body is larger than the limit of )", options_.body_limit,
                R"( bytes","reason":"RequestEntityTooLarge","code":413})"),
            false);
        break;
      }
      if (ec) break;
      auto req = parser.release();
      HttpRequest r;
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      auto q = r.target.find('?');
      r.path = percent_decode(std::string_view(r.target).substr(0, q), false);
      if (q != std::string::npos) r.query = parse_query(std::string_view(r.target).substr(q + 1));
      for (const auto& f : req) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        // Repeated fields (X-Stream-Protocol-Version) join with ", " as HTTP allows.
        auto [it, fresh] = r.headers.emplace(name, std::string(f.value()));
        if (!fresh) it->second += cat(", ", std::string(f.value()));
      }
      r.body = std::move(req.body());
      r.cert_identity = who;
      bool keep_alive = req.keep_alive();
      HttpResponse res;
      try {
        res = handler_(r);
      } catch (const std::exception& e) {
        res.status = 500;
        res.body = cat(R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)",
                       R"("message":"internal error","reason":"InternalError","code":500})");
        log::error("handler ", r.method, " ", r.target, ": ", e.what());
      }
      if (res.upgrade) {
        UpgradeStream up{
            io, stream, std::string(static_cast<const char*>(buffer.data().data()), buffer.size())};
        buffer.consume(buffer.size());
        res.upgrade(up);
        break;
      }
      if (res.stream) {
        std::string head = cat("HTTP/1.1 ", res.status, " ", status_text(res.status),
                               "\r\nContent-Type: ", res.content_type,
                               "\r\nCache-Control: no-cache, private"
                               "\r\nTransfer-Encoding: chunked\r\n\r\n");
        net::write(stream, net::buffer(head), ec);
        if (ec) break;
        StreamChunkWriter w(stream, running_);
        res.stream(w);
        net::write(stream, net::buffer(std::string_view("0\r\n\r\n")), ec);
        if (ec) break;
        continue;
      }
      http::response<http::string_body> out{static_cast<http::status>(res.status), req.version()};
      out.set(http::field::content_type, res.content_type);
      out.set(http::field::cache_control, "no-cache, private");
      for (const auto& [k, v] : res.headers) out.set(k, v);
      out.keep_alive(keep_alive && running_);
      out.body() = std::move(res.body);
      out.prepare_payload();
      http::write(stream, out, ec);
      if (ec || !out.keep_alive()) break;
    }
    stream.shutdown(ec);
  }

  void write_simple(ssl::stream<tcp::socket>& s, int code, const std::string& body, bool keep) {
    http::response<http::string_body> out{static_cast<http::status>(code), 11};
    out.set(http::field::content_type, "application/json");
    out.keep_alive(keep);
    out.body() = body;
    out.prepare_payload();
    beast::error_code ec;
    http::write(s, out, ec);
  }

  HttpServerOptions options_;
  Handler handler_;
  net::io_context io_;
  ssl::context ssl_ctx_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> running_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, bool> conns_;  // fd -> busy with a request
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerOptions& options,
                                                      Handler handler) {
  auto s = std::make_unique<Server>(options, std::move(handler));
  TRY(s->init());
  return std::unique_ptr<HttpServer>(std::move(s));
}

}  // namespace skiff::master
