#include "master/server/kubelet_proxy.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <limits>
#include <memory>

#include "common/json_util.hpp"
#include "common/strings.hpp"

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
      {"reason", status == 502 ? "ServiceUnavailable" : "InternalError"},
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
  r.stream = [s](ChunkWriter& out) {
    char chunk[16384];
    while (out.running() && !s->parser.is_done()) {
      s->parser.get().body().data = chunk;
      s->parser.get().body().size = sizeof(chunk);
      boost::system::error_code ec;
      http::read_some(*s->tls, s->buf, s->parser, ec);
      if (ec == http::error::need_buffer) ec = {};
      size_t n = sizeof(chunk) - s->parser.get().body().size;
      if (n && !out.write(std::string_view(chunk, n))) break;
      if (ec) break;
    }
  };
  return r;
}

}  // namespace skiff::master
