#include "kubelet/engine/probe_action.hpp"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "common/fs.hpp"
#include "common/strings.hpp"

namespace skiff::kubelet {
namespace {

// What a run reads of a response or of a command's output for its message (Kubernetes keeps
// 10 KiB of an exec probe's output).
constexpr size_t kMaxOutput = 10 << 10;

std::string exit_text(int status) {
  if (WIFEXITED(status)) return cat("exit code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return cat("killed by signal ", WTERMSIG(status));
  return "ended";
}

// exec: the runtime's exec, run by a forked child of this process in a process group of its own.
// The command becomes a session leader in the container (the runtime's exec calls setsid), so a
// timeout kills both groups: the child's (it and the runtime's helper) and the command's (the
// command and everything it started, e.g. a `sleep` in the background).
class ExecRun : public HandlerRun {
 public:
  static std::unique_ptr<HandlerRun> start(const Handler& h, const HandlerTarget& t) {
    auto run = std::unique_ptr<ExecRun>(new ExecRun());
    static std::atomic<unsigned> counter{0};
    run->pid_file_ = cat(t.scratch_dir, "/exec-", getpid(), '-', ++counter, ".pid");
    auto fail = [&](const Error& e) -> std::unique_ptr<HandlerRun> {
      run->finish(false, e.what());
      return std::move(run);
    };
    if (auto made = mkdir_p(t.scratch_dir, 0700); !made) return fail(made.error());
    auto process = runtime::exec_base_process(t.runtime, t.container_id);
    if (!process) return fail(process.error());
    process->args = h.command;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return fail(errno_error("pipe"));
    run->out_.reset(p[0]);
    UniqueFd wr(p[1]);
    fcntl(run->out_.get(), F_SETFL, O_NONBLOCK);
    runtime::ExecOptions o;
    o.id = t.container_id;
    o.process = std::move(*process);
    o.pid_file = run->pid_file_;
    pid_t pid = fork();
    if (pid < 0) return fail(errno_error("fork"));
    if (pid == 0) {
      // Child: never returns into the engine.
      setpgid(0, 0);
      int null = ::open("/dev/null", O_RDONLY);
      if (null >= 0) dup2(null, 0);
      dup2(wr.get(), 1);
      dup2(wr.get(), 2);
      auto code = runtime::exec(t.runtime, o);
      if (!code) {
        std::string msg = code.error().what() + "\n";
        (void)!::write(2, msg.data(), msg.size());
        _exit(126);
      }
      _exit(*code & 0xff);
    }
    setpgid(pid, pid);  // either side may run first
    run->child_ = pid;
    return run;
  }

  ~ExecRun() override {
    cancel();
    ::unlink(pid_file_.c_str());
  }

  int fd() const override { return out_ ? out_.get() : -1; }
  short events() const override { return POLLIN; }
  void on_ready() override { drain(); }

  bool on_child_exit(pid_t pid, int status) override {
    if (pid != child_) return false;
    child_ = 0;
    drain();
    out_.reset();
    std::string output = std::string(trim(output_));
    // The command may have left children behind (still in its group): they go with it.
    kill_command();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
      finish(true, output);
    else
      finish(false, output.empty() ? "command failed: " + exit_text(status)
                                   : cat("command failed: ", exit_text(status), ": ", output));
    return true;
  }

 protected:
  void on_timeout() override {
    kill_command();
    finish(false, "command timed out");
  }
  void cancel() override {
    kill_command();
    if (child_ > 0) ::kill(-child_, SIGKILL);  // reaped by the owner's loop
    out_.reset();
  }

 private:
  void drain() {
    char buf[4096];
    while (out_) {
      ssize_t n = ::read(out_.get(), buf, sizeof buf);
      if (n > 0) {
        size_t room = kMaxOutput > output_.size() ? kMaxOutput - output_.size() : 0;
        output_.append(buf, std::min(room, static_cast<size_t>(n)));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || errno != EAGAIN) out_.reset();
      break;
    }
  }
  // SIGKILL to the command's process group (its pid, from the runtime's pid file).
  void kill_command() {
    if (killed_) return;
    auto text = read_file(pid_file_);
    if (!text) return;
    auto pid = parse_int<pid_t>(trim(*text));
    if (pid && *pid > 1) {
      ::kill(-*pid, SIGKILL);
      ::kill(*pid, SIGKILL);
    }
    killed_ = true;
  }

  pid_t child_ = 0;
  bool killed_ = false;
  UniqueFd out_;
  std::string output_, pid_file_;
};

// libssl for HTTPS probes, loaded on first use: the shim does not link OpenSSL (its size and
// start-up are paid by every pod), only a pod with an HTTPS probe maps it.
struct LibSsl {
  decltype(&TLS_client_method) client_method;
  decltype(&SSL_CTX_new) ctx_new;
  decltype(&SSL_CTX_set_verify) set_verify;
  decltype(&SSL_new) ssl_new;
  decltype(&SSL_free) ssl_free;
  decltype(&SSL_set_fd) set_fd;
  decltype(&SSL_connect) connect;
  decltype(&SSL_write) write;
  decltype(&SSL_read) read;
  decltype(&SSL_get_error) get_error;
  SSL_CTX* ctx = nullptr;
};

Result<LibSsl*> libssl() {
  static LibSsl lib;
  static std::string failed;
  if (lib.ctx) return &lib;
  if (!failed.empty()) return Error(failed);
  void* h = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    failed = cat("HTTPS probe: load libssl.so.3: ", dlerror());
    return Error(failed);
  }
  bool ok = true;
  auto sym = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(h, name));
    ok = ok && fn;
  };
  sym(lib.client_method, "TLS_client_method");
  sym(lib.ctx_new, "SSL_CTX_new");
  sym(lib.set_verify, "SSL_CTX_set_verify");
  sym(lib.ssl_new, "SSL_new");
  sym(lib.ssl_free, "SSL_free");
  sym(lib.set_fd, "SSL_set_fd");
  sym(lib.connect, "SSL_connect");
  sym(lib.write, "SSL_write");
  sym(lib.read, "SSL_read");
  sym(lib.get_error, "SSL_get_error");
  if (ok) lib.ctx = lib.ctx_new(lib.client_method());
  if (!ok || !lib.ctx) {
    failed = "HTTPS probe: libssl.so.3 is not usable";
    return Error(failed);
  }
  // Kubernetes' prober skips certificate verification (InsecureSkipVerify).
  lib.set_verify(lib.ctx, SSL_VERIFY_NONE, nullptr);
  return &lib;
}

// tcpSocket and httpGet: a non-blocking connect from the pod's network namespace; HTTP then
// writes the request and reads the status line, over TLS for HTTPS (no verification).
class SocketRun : public HandlerRun {
 public:
  static std::unique_ptr<HandlerRun> start(const Handler& h, const HandlerTarget& t) {
    auto run = std::unique_ptr<SocketRun>(new SocketRun());
    auto fail = [&](const std::string& m) -> std::unique_ptr<HandlerRun> {
      run->finish(false, m);
      return std::move(run);
    };
    run->http_ = h.kind == "httpGet";
    run->grpc_ = h.kind == "grpc";
    if (run->http_ && h.scheme == "HTTPS") {
      auto lib = libssl();
      if (!lib) return fail(lib.error().what());
      run->tls_ = *lib;
    }
    auto port = resolve_port(h, t.container);
    if (!port) return fail(port.error().what());
    std::string host = h.host.empty() ? (t.pod_ip.empty() ? "127.0.0.1" : t.pod_ip) : h.host;
    if (host == "localhost") host = "127.0.0.1";
    struct sockaddr_storage ss {};
    socklen_t len = 0;
    auto* in4 = reinterpret_cast<struct sockaddr_in*>(&ss);
    auto* in6 = reinterpret_cast<struct sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, host.c_str(), &in4->sin_addr) == 1) {
      in4->sin_family = AF_INET;
      in4->sin_port = htons(static_cast<uint16_t>(*port));
      len = sizeof *in4;
    } else if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(static_cast<uint16_t>(*port));
      len = sizeof *in6;
    } else {
      return fail(cat("host ", quote(host), ": not an IP address (skiff does not resolve names)"));
    }
    run->where_ = ss.ss_family == AF_INET6 ? cat('[', host, "]:", *port) : cat(host, ':', *port);
    run->url_ = cat(run->tls_ ? "https://" : "http://", run->where_, h.path);
    if (run->http_) run->request_ = http_probe_request(h, host, *port);
    if (run->grpc_) run->request_ = grpc_health_request(h.service, run->where_);
    auto sock = socket_in_netns(t.netns, ss.ss_family);
    if (!sock) return fail(sock.error().what());
    run->sock_ = std::move(*sock);
    if (::connect(run->sock_.get(), reinterpret_cast<struct sockaddr*>(&ss), len) == 0) {
      run->connected();
    } else if (errno != EINPROGRESS) {
      return fail(errno_error("dial tcp ", run->where_).what());
    }
    return run;
  }

  ~SocketRun() override { cancel(); }

  int fd() const override { return sock_ ? sock_.get() : -1; }
  short events() const override {
    if (connecting_) return POLLOUT;
    if (ssl_) return want_;
    return request_.empty() ? POLLIN : POLLOUT;
  }

  void on_ready() override {
    if (connecting_) {
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(sock_.get(), SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
      if (err == EINPROGRESS || err == EALREADY) return;
      if (err != 0) {
        errno = err;
        finish(false, errno_error("dial tcp ", where_).what());
        return;
      }
      connected();
      if (done()) return;
    }
    if (ssl_ && handshaking_) {
      int r = tls_->connect(ssl_);
      if (r != 1) {
        if (!tls_wants(r)) finish(false, cat("Get \"", url_, "\": TLS handshake failed"));
        return;
      }
      handshaking_ = false;
    }
    while (!request_.empty()) {
      ssize_t n = send_some(request_.data(), request_.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return;
        finish(false, errno_error("write the request to ", where_).what());
        return;
      }
      request_.erase(0, static_cast<size_t>(n));
    }
    if (ssl_) want_ = POLLIN;
    char buf[4096];
    while (true) {
      ssize_t n = recv_some(buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      if (n < 0) {
        finish(false, errno_error("read the response from ", where_).what());
        return;
      }
      if (grpc_) {
        response_.append(buf, static_cast<size_t>(n));
        int acks = 0;
        auto outcome = grpc_health_step(response_, grpc_body_, n == 0, &acks);
        for (; acks > 0; --acks) {  // a few bytes: the socket has room
          static const char kAck[] = {0, 0, 0, 4, 1, 0, 0, 0, 0};
          (void)send_some(kAck, sizeof kAck);
        }
        if (outcome) {
          finish(outcome->first, outcome->second);
          return;
        }
        continue;
      }
      if (n > 0 && response_.size() < kMaxOutput) response_.append(buf, static_cast<size_t>(n));
      bool eof = n == 0;
      auto line_end = response_.find("\r\n");
      if (line_end == std::string::npos && !eof && response_.size() < kMaxOutput) continue;
      auto code = http_status_code(response_.substr(0, line_end));
      if (!code) {
        finish(false, cat("malformed HTTP response from ", where_, ": ",
                          json_quote(response_.substr(0, std::min<size_t>(line_end, 80)))));
      } else if (*code >= 200 && *code < 400) {
        finish(true, cat("HTTP probe succeeded with statuscode: ", *code));
      } else {
        finish(false, cat("HTTP probe failed with statuscode: ", *code));
      }
      return;
    }
  }

 protected:
  void on_timeout() override {
    finish(false, connecting_ ? cat("dial tcp ", where_, ": i/o timeout")
                  : grpc_     ? std::string("timeout: health rpc did not complete in time")
                              : cat("Get \"", url_, "\": context deadline exceeded"));
  }
  void cancel() override {
    if (ssl_) tls_->ssl_free(ssl_);
    ssl_ = nullptr;
    sock_.reset();
  }

 private:
  void connected() {
    connecting_ = false;
    if (!http_ && !grpc_) {
      finish(true, "");
      return;
    }
    if (tls_) {
      ssl_ = tls_->ssl_new(tls_->ctx);
      if (!ssl_ || tls_->set_fd(ssl_, sock_.get()) != 1) {
        finish(false, "HTTPS probe: cannot set up a TLS session");
        return;
      }
      handshaking_ = true;
      want_ = POLLOUT;
    }
  }
  // After a TLS call returned `r` <= 0: true (and want_ set) when it only has to wait.
  bool tls_wants(int r) {
    int e = tls_->get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ) want_ = POLLIN;
    if (e == SSL_ERROR_WANT_WRITE) want_ = POLLOUT;
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
  }
  ssize_t send_some(const char* data, size_t size) {
    if (!ssl_) return ::send(sock_.get(), data, size, MSG_NOSIGNAL);
    int r = tls_->write(ssl_, data, static_cast<int>(std::min<size_t>(size, 1 << 20)));
    if (r > 0) return r;
    errno = tls_wants(r) ? EAGAIN : EPIPE;
    return -1;
  }
  ssize_t recv_some(char* buf, size_t size) {
    if (!ssl_) return ::recv(sock_.get(), buf, size, 0);
    int r = tls_->read(ssl_, buf, static_cast<int>(size));
    if (r > 0) return r;
    int e = tls_->get_error(ssl_, r);
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && r == 0)) return 0;
    errno = tls_wants(r) ? EAGAIN : ECONNRESET;
    return -1;
  }

  bool http_ = false;
  bool grpc_ = false;
  std::string grpc_body_;
  bool connecting_ = true;
  LibSsl* tls_ = nullptr;
  SSL* ssl_ = nullptr;
  bool handshaking_ = false;
  short want_ = POLLOUT;
  UniqueFd sock_;
  std::string where_, url_, request_, response_;
};

// sleep: only a deadline.
class SleepRun : public HandlerRun {
 protected:
  void on_timeout() override { finish(true, ""); }
};

}  // namespace

void HandlerRun::tick(TimePoint now) {
  if (!done() && deadline_ && now >= *deadline_) on_timeout();
}

std::unique_ptr<HandlerRun> HandlerRun::start(const Handler& h, const HandlerTarget& t,
                                              TimePoint now, std::optional<Duration> timeout) {
  std::unique_ptr<HandlerRun> run;
  if (h.kind == "exec") {
    run = ExecRun::start(h, t);
  } else if (h.kind == "httpGet" || h.kind == "tcpSocket" || h.kind == "grpc") {
    run = SocketRun::start(h, t);
  } else if (h.kind == "sleep") {
    run = std::unique_ptr<HandlerRun>(new SleepRun());
    timeout = Duration(h.sleep_seconds * 1000);
  } else {
    run = std::unique_ptr<HandlerRun>(new SleepRun());
    run->finish(false, cat(h.kind, " handlers are not supported by skiff yet"));
  }
  if (timeout) run->deadline_ = now + *timeout;
  return run;
}

Result<UniqueFd> socket_in_netns(const std::string& netns, int family) {
  auto make = [family]() -> Result<UniqueFd> {
    UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return errno_error("socket");
    return fd;
  };
  if (netns.empty()) return make();
  UniqueFd ns(::open(netns.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return errno_error("open the pod's network namespace ", quote(netns));
  // setns(CLONE_NEWNET) applies to the calling thread only; the thread ends right after.
  Result<UniqueFd> out = error("no socket");
  std::thread t([&] {
    if (setns(ns.get(), CLONE_NEWNET) < 0) {
      out = errno_error("join the pod's network namespace ", quote(netns));
      return;
    }
    out = make();
  });
  t.join();
  return out;
}

Result<int> resolve_port(const Handler& h, const Container* c) {
  if (h.port_name.empty()) return h.port;
  if (c)
    for (const auto& p : c->ports)
      if (p.name == h.port_name) return p.container_port;
  return error("no container port named ", json_quote(h.port_name));
}

std::optional<int> http_status_code(std::string_view line) {
  // HTTP/1.0 or HTTP/1.1, a space, three digits.
  if (!line.starts_with("HTTP/1.") || line.size() < 12 || line[8] != ' ') return std::nullopt;
  auto code = parse_int<int>(line.substr(9, 3));
  if (!code || *code < 100 || *code > 999) return std::nullopt;
  if (line.size() > 12 && line[12] != ' ') return std::nullopt;
  return code;
}

namespace {

// HPACK (RFC 7541 5.1): an integer with an N-bit prefix in the first byte, after `flags`.
void hpack_int(std::string& out, uint8_t flags, int prefix_bits, size_t value) {
  size_t max = (1u << prefix_bits) - 1;
  if (value < max) {
    out.push_back(static_cast<char>(flags | value));
    return;
  }
  out.push_back(static_cast<char>(flags | max));
  value -= max;
  while (value >= 128) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void hpack_string(std::string& out, std::string_view s) {
  hpack_int(out, 0, 7, s.size());  // not Huffman-coded
  out.append(s);
}

// A literal header field without indexing (RFC 7541 6.2.2): a static table name or a new one.
void hpack_field(std::string& out, size_t name_index, std::string_view name,
                 std::string_view value) {
  hpack_int(out, 0, 4, name_index);
  if (name_index == 0) hpack_string(out, name);
  hpack_string(out, value);
}

void h2_frame(std::string& out, uint8_t type, uint8_t flags, uint32_t stream,
              std::string_view payload) {
  size_t n = payload.size();
  char head[9] = {static_cast<char>(n >> 16),
                  static_cast<char>(n >> 8),
                  static_cast<char>(n),
                  static_cast<char>(type),
                  static_cast<char>(flags),
                  static_cast<char>(stream >> 24),
                  static_cast<char>(stream >> 16),
                  static_cast<char>(stream >> 8),
                  static_cast<char>(stream)};
  out.append(head, sizeof head);
  out.append(payload);
}

constexpr uint8_t kData = 0, kHeaders = 1, kRstStream = 3, kSettings = 4, kGoAway = 7;
constexpr uint8_t kEndStream = 1, kAck = 1, kEndHeaders = 4, kPadded = 8;

}  // namespace

std::string grpc_health_request(const std::string& service, const std::string& authority) {
  std::string out = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  h2_frame(out, kSettings, 0, 0, "");
  std::string block;
  block.push_back(static_cast<char>(0x83));  // :method POST (static index 3)
  block.push_back(static_cast<char>(0x86));  // :scheme http (6)
  hpack_field(block, 4, "", "/grpc.health.v1.Health/Check");
  hpack_field(block, 1, "", authority);
  hpack_field(block, 31, "", "application/grpc");
  hpack_field(block, 0, "te", "trailers");
  hpack_field(block, 58, "", kProbeUserAgent);
  h2_frame(out, kHeaders, kEndHeaders, 1, block);
  // HealthCheckRequest { string service = 1; } in a gRPC message (uncompressed, 4-byte length).
  std::string msg;
  if (!service.empty()) {
    msg.push_back(0x0a);
    size_t n = service.size();
    while (n >= 128) {
      msg.push_back(static_cast<char>((n & 0x7f) | 0x80));
      n >>= 7;
    }
    msg.push_back(static_cast<char>(n));
    msg += service;
  }
  std::string data(5, '\0');
  for (int i = 0; i < 4; ++i) data[1 + i] = static_cast<char>(msg.size() >> (8 * (3 - i)));
  data += msg;
  h2_frame(out, kData, kEndStream, 1, data);
  return out;
}

std::optional<std::pair<bool, std::string>> grpc_health_step(std::string& buf, std::string& body,
                                                             bool eof, int* settings_acks) {
  using Outcome = std::pair<bool, std::string>;
  while (buf.size() >= 9) {
    auto byte = [&](size_t i) { return static_cast<uint8_t>(buf[i]); };
    size_t len = (size_t{byte(0)} << 16) | (size_t{byte(1)} << 8) | byte(2);
    uint8_t type = byte(3), flags = byte(4);
    uint32_t stream = ((uint32_t{byte(5)} & 0x7f) << 24) | (uint32_t{byte(6)} << 16) |
                      (uint32_t{byte(7)} << 8) | byte(8);
    if (buf.size() < 9 + len) break;
    std::string payload = buf.substr(9, len);
    buf.erase(0, 9 + len);
    if (type == kSettings && !(flags & kAck)) {
      ++*settings_acks;
    } else if (type == kGoAway) {
      return Outcome{false, "rpc error: the server sent GOAWAY"};
    } else if (type == kRstStream && stream == 1) {
      return Outcome{false, "rpc error: the server reset the stream"};
    } else if (type == kData && stream == 1) {
      if (flags & kPadded) {
        size_t pad = payload.empty() ? 0 : static_cast<uint8_t>(payload[0]);
        payload = pad + 1 <= payload.size() ? payload.substr(1, payload.size() - 1 - pad) : "";
      }
      body += payload;
      if (body.size() >= 5) {
        size_t n = (size_t{static_cast<uint8_t>(body[1])} << 24) |
                   (size_t{static_cast<uint8_t>(body[2])} << 16) |
                   (size_t{static_cast<uint8_t>(body[3])} << 8) | static_cast<uint8_t>(body[4]);
        if (body.size() >= 5 + n) {
          // HealthCheckResponse { ServingStatus status = 1; }: 0 UNKNOWN, 1 SERVING,
          // 2 NOT_SERVING, 3 SERVICE_UNKNOWN (absent: 0).
          int status = 0;
          if (n >= 2 && body[5] == 0x08) status = static_cast<uint8_t>(body[6]);
          static const char* kNames[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
          std::string name = status < 4 ? kNames[status] : std::to_string(status);
          if (status == 1) return Outcome{true, ""};
          return Outcome{false, cat("service unhealthy (responded with \"", name, "\")")};
        }
      }
    } else if (type == kHeaders && stream == 1 && (flags & kEndStream)) {
      // Trailers only: the call failed (grpc-status is in the HPACK block).
      return Outcome{false, "rpc error: the server ended the call without a response"};
    }
  }
  if (eof) return Outcome{false, "rpc error: the connection closed"};
  return std::nullopt;
}

std::string http_probe_request(const Handler& h, const std::string& host, int port) {
  auto header_set = [&](std::string_view name) {
    for (const auto& [n, v] : h.headers)
      if (strcasecmp(n.c_str(), std::string(name).c_str()) == 0) return true;
    return false;
  };
  std::string hostport =
      host.find(':') != std::string::npos ? cat('[', host, "]:", port) : cat(host, ':', port);
  std::string req = cat("GET ", h.path.empty() ? "/" : h.path, " HTTP/1.1\r\n");
  if (!header_set("Host")) req += cat("Host: ", hostport, "\r\n");
  if (!header_set("User-Agent")) req += cat("User-Agent: ", kProbeUserAgent, "\r\n");
  if (!header_set("Accept")) req += "Accept: */*\r\n";
  for (const auto& [n, v] : h.headers) req += cat(n, ": ", v, "\r\n");
  req += "Connection: close\r\n\r\n";
  return req;
}

}  // namespace skiff::kubelet
