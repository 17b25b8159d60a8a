#pragma once
// A connection handed over by the HTTP server (HttpResponse::upgrade): the TLS stream after the
// request head, on the connection's own io_context (one thread), which the taker may run.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <string>

namespace skiff::master {

struct UpgradeStream {
  boost::asio::io_context& io;
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket>& tls;
  std::string buffered;  // bytes the client sent after the request
};

}  // namespace skiff::master
