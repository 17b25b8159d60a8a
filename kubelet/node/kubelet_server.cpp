#include "kubelet/node/kubelet_server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <cstdlib>
#include <deque>
#include <map>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "api/meta.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"
#include "kubelet/engine/probe_action.hpp"
#include "kubelet/logs/log_filter.hpp"
#include "kubelet/node/credentials.hpp"
#include "kubelet/node/spdy.hpp"
#include "kubelet/shim/pod_record.hpp"
#include "kubelet/shim/shim.hpp"

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

std::vector<std::pair<std::string, std::string>> query_pairs(std::string_view query) {
  auto decode = [](std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out.push_back(' ');
      } else if (s[i] == '%' && i + 2 < s.size() &&
                 std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(s[i]);
      }
    }
    return out;
  };
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& kv : split(query, '&', true)) {
    auto eq = kv.find('=');
    if (eq == std::string::npos)
      out.emplace_back(decode(kv), "");
    else
      out.emplace_back(decode(std::string_view(kv).substr(0, eq)),
                       decode(std::string_view(kv).substr(eq + 1)));
  }
  return out;
}

std::optional<std::string> negotiate_protocol(const std::vector<std::string>& offered,
                                              const std::vector<std::string>& supported) {
  std::vector<std::string> client;
  for (const auto& v : offered)
    for (const auto& p : split(v, ',', true))
      if (auto t = std::string(trim(p)); !t.empty()) client.push_back(t);
  if (client.empty()) return std::string();
  for (const auto& s : supported)
    if (std::find(client.begin(), client.end(), s) != client.end()) return s;
  return std::nullopt;
}

std::string exec_status_v4(int exit_code) {
  if (exit_code == 0) return Json{{"metadata", Json::object()}, {"status", "Success"}}.dump();
  return Json{
      {"metadata", Json::object()},
      {"status", "Failure"},
      {"message", cat("command terminated with non-zero exit code: exit status ", exit_code)},
      {"reason", "NonZeroExitCode"},
      {"details",
       {{"causes",
         Json::array({{{"reason", "ExitCode"}, {"message", std::to_string(exit_code)}}})}}}}
      .dump();
}

namespace {

using TlsStream = beast::ssl_stream<tcp::socket>;
constexpr size_t kBacklogLimit = 1 << 20;

// One SPDY/3.1 connection over the upgraded TLS stream, on the connection's own io_context
// (one thread): frames in through the parser, frames out through one queue with one write in
// flight. New streams are answered with SYN_REPLY at once, as client-go waits for it.
class SpdyConn {
 public:
  SpdyConn(TlsStream& tls, std::string buffered) : tls_(tls), initial_(std::move(buffered)) {}

  std::function<void(const spdy::Frame&)> on_stream;
  std::function<void(uint32_t, std::string_view)> on_data;
  std::function<void(uint32_t)> on_fin;  // the client closed its half (FIN) or reset it
  std::function<void()> on_close;        // the connection is gone

  void start() {
    if (!initial_.empty()) {
      parser_.feed(initial_);
      initial_.clear();
      if (!process()) return;
    }
    read();
  }
  void send(std::string bytes) {
    if (closed_) return;
    out_.push_back(std::move(bytes));
    backlog_ += out_.back().size();
    if (!writing_) write();
  }
  void data(uint32_t id, std::string_view d, bool fin = false) {
    // DATA frames are at most 16 MiB; keep them small so streams interleave.
    do {
      size_t n = std::min<size_t>(d.size(), 32768);
      bool last = n == d.size();
      send(writer_.data(id, d.substr(0, n), fin && last));
      d.remove_prefix(n);
    } while (!d.empty());
  }
  void fin(uint32_t id) { send(writer_.data(id, {}, true)); }
  size_t backlog() const { return backlog_; }
  // Called (once) when the outgoing queue drops under the limit.
  void when_drained(std::function<void()> f) { drained_.push_back(std::move(f)); }
  // Pauses reading frames while a sink (stdin, a forwarded socket) catches up.
  void pause_reading(bool p) {
    paused_ = p;
    if (!p && !reading_ && !closed_) read();
  }
  // Sends GOAWAY after everything queued, then closes the TLS connection.
  void close() {
    if (closing_ || closed_) return;
    closing_ = true;
    send(writer_.go_away(last_stream_));
    if (!writing_) shutdown();
  }
  void abort() { shutdown(); }

 private:
  void read() {
    if (paused_ || closed_) return;
    reading_ = true;
    tls_.async_read_some(asio::buffer(buf_), [this](beast::error_code ec, size_t n) {
      // `reading_` stays set while the frames are handled: a sink resuming the reads from
      // there (pause_reading(false)) must not start a second read on the stream.
      if (ec) {
        reading_ = false;
        return gone();
      }
      parser_.feed(std::string_view(buf_.data(), n));
      bool more = process();
      reading_ = false;
      if (more) read();
    });
  }
  bool process() {
    while (!closed_) {
      auto f = parser_.next();
      if (!f) {
        log::warn("kubelet API: SPDY: ", f.error().what());
        gone();
        return false;
      }
      if (!*f) return true;
      handle(**f);
    }
    return false;
  }
  void handle(spdy::Frame& f) {
    switch (f.type) {
      case spdy::kSynStream:
        last_stream_ = std::max(last_stream_, f.stream_id);
        send(writer_.syn_reply(f.stream_id, {}));
        if (on_stream) on_stream(f);
        if (f.fin() && on_fin) on_fin(f.stream_id);
        break;
      case spdy::kData:
        if (!f.data.empty() && on_data) on_data(f.stream_id, f.data);
        if (f.fin() && on_fin) on_fin(f.stream_id);
        break;
      case spdy::kRstStream:
        if (on_fin) on_fin(f.stream_id);
        break;
      case spdy::kPing:
        send(writer_.ping(f.value));
        break;
      case spdy::kGoAway:
        gone();
        break;
      default:
        break;  // SETTINGS, WINDOW_UPDATE (spdystream keeps no windows), HEADERS
    }
  }
  void write() {
    if (out_.empty()) {
      writing_ = false;
      if (closing_) shutdown();
      return;
    }
    writing_ = true;
    asio::async_write(tls_, asio::buffer(out_.front()), [this](beast::error_code ec, size_t) {
      backlog_ -= out_.front().size();
      out_.pop_front();
      if (ec) {
        writing_ = false;
        return gone();
      }
      if (backlog_ < kBacklogLimit && !drained_.empty()) {
        auto fs = std::move(drained_);
        drained_.clear();
        for (auto& f : fs) f();
      }
      write();
    });
  }
  void gone() {
    if (closed_) return;
    shutdown();
  }
  void shutdown() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    ::shutdown(tls_.next_layer().native_handle(), SHUT_RDWR);
    tls_.next_layer().cancel(ec);
    drained_.clear();
    if (on_close) on_close();
  }

  TlsStream& tls_;
  std::string initial_;
  spdy::Parser parser_;
  spdy::Writer writer_;
  std::array<char, 16384> buf_{};
  std::deque<std::string> out_;
  size_t backlog_ = 0;
  std::vector<std::function<void()>> drained_;
  uint32_t last_stream_ = 0;
  bool writing_ = false, reading_ = false, paused_ = false, closing_ = false, closed_ = false;
};

// fork + exec with the given stdio (a pty slave: also the controlling terminal of a new
// session); every other descriptor is closed in the child.
Result<pid_t> spawn_process(const std::string& path, const std::vector<std::string>& args, int in,
                            int out, int err, bool ctty) {
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    ::setsid();
    if (ctty) ::ioctl(in, TIOCSCTTY, 0);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::syscall(SYS_close_range, 3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);  // the kubelet ignores it; exec keeps dispositions
    ::execv(path.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

std::vector<std::string> skiff_pod_argv(const KubeletServerOptions& o, const std::string& ns) {
  const NodeConfig& n = o.node;
  std::vector<std::string> a = {
      "skiff-pod",      "--state-root",   n.state_root,   "--run-root",      n.run_root,
      "--log-root",     n.log_root,       "--image-root", n.image_root,      "--snapshot-root",
      n.snapshot_root,  "--cni-conf-dir", n.cni_conf_dir, "--cni-cache-dir", n.cni_cache_dir,
      "--cni-data-dir", n.cni_data_dir};
  for (const auto& d : n.cni_bin_dirs) a.insert(a.end(), {"--cni-bin-dir", d});
  if (!n.pause_binary.empty()) a.insert(a.end(), {"--pause-binary", n.pause_binary});
  a.insert(a.end(), {"-n", ns});
  return a;
}

// A process whose end is seen through a pidfd in the io_context; reaped when it ends.
class Child {
 public:
  explicit Child(asio::io_context& io) : fd_(io) {}
  ~Child() {
    if (pid_ > 0 && !done_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool start(pid_t pid, std::function<void(int)> on_exit) {
    pid_ = pid;
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) return false;
    fd_.assign(fd);
    fd_.async_wait(asio::posix::descriptor_base::wait_read,
                   [this, on_exit = std::move(on_exit)](boost::system::error_code) {
                     int status = 0;
                     ::waitpid(pid_, &status, 0);
                     done_ = true;
                     boost::system::error_code ignored;
                     fd_.close(ignored);
                     on_exit(WIFEXITED(status)     ? WEXITSTATUS(status)
                             : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                                   : 1);
                   });
    return true;
  }
  void signal(int sig) {
    if (pid_ > 0 && !done_) ::kill(pid_, sig);
  }
  bool running() const { return pid_ > 0 && !done_; }

 private:
  asio::posix::stream_descriptor fd_;
  pid_t pid_ = -1;
  bool done_ = false;
};

struct StreamRequest {
  std::string kind;  // exec, attach, portForward
  std::string ns, pod, container;
  std::vector<std::string> command;
  bool in = false, out = false, err = false, tty = false;
  std::string protocol;
};

// exec and attach: the process's stdio on SPDY streams (error, stdin, stdout, stderr, resize),
// its exit status on the error stream when it ends.
class ExecSession {
 public:
  // attach: `shim` is the session the pod's shim gave (the container's output from now on, its
  // input when asked); no process is started.
  ExecSession(asio::io_context& io, SpdyConn& conn, const KubeletServerOptions& o, StreamRequest r,
              std::optional<ShimAttach> shim = std::nullopt)
      : shim_(std::move(shim)),
        io_(io),
        conn_(conn),
        o_(o),
        r_(std::move(r)),
        child_(io),
        out_(io),
        err_(io),
        in_(io),
        timer_(io) {
    v4_ = r_.protocol == "v4.channel.k8s.io";
    // The streams kubectl opens: error first, then stdin, stdout, stderr (not with a tty) and
    // resize (a tty from v3 on).
    expected_ = 1 + r_.in + r_.out + (r_.err && !r_.tty) +
                (r_.tty && (v4_ || r_.protocol == "v3.channel.k8s.io"));
    conn_.on_stream = [this](const spdy::Frame& f) { stream(f); };
    conn_.on_data = [this](uint32_t id, std::string_view d) { data(id, d); };
    conn_.on_fin = [this](uint32_t id) { remote_fin(id); };
    conn_.on_close = [this] { client_gone(); };
    timer_.expires_after(std::chrono::seconds(30));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec && !started_) {
        log::warn("kubelet API: exec: the client opened ", seen_, " of ", expected_,
                  " streams in 30 s");
        conn_.abort();
      }
    });
  }

 private:
  void stream(const spdy::Frame& f) {
    std::string type = spdy::header(f.headers, "streamtype");
    uint32_t id = f.stream_id;
    if (type == "error")
      error_id_ = id;
    else if (type == "stdin")
      stdin_id_ = id;
    else if (type == "stdout")
      stdout_id_ = id;
    else if (type == "stderr")
      stderr_id_ = id;
    else if (type == "resize")
      resize_id_ = id;
    else
      return;
    if (++seen_ >= expected_ && !started_) {
      // A tty's first size comes right after the streams: the command starts with it.
      if (resize_id_ && !size_) {
        timer_.expires_after(std::chrono::seconds(1));
        timer_.async_wait([this](boost::system::error_code ec) {
          if (ec != asio::error::operation_aborted) start();
        });
      } else {
        start();
      }
    }
  }

  void data(uint32_t id, std::string_view d) {
    if (id == stdin_id_ && stdin_id_) {
      stdin_buf_.append(d);
      if (stdin_buf_.size() > kBacklogLimit) conn_.pause_reading(true);
      write_stdin();
    } else if (id == resize_id_ && resize_id_) {
      resize_buf_.append(d);
      size_t nl;
      while ((nl = resize_buf_.find('\n')) != std::string::npos) {
        auto j = Json::parse(resize_buf_.substr(0, nl), nullptr, false);
        resize_buf_.erase(0, nl + 1);
        if (!j.is_object()) continue;
        struct winsize ws {};
        ws.ws_col = static_cast<unsigned short>(j.value("Width", 0));
        ws.ws_row = static_cast<unsigned short>(j.value("Height", 0));
        size_ = ws;
        if (pty_master_ >= 0) ::ioctl(pty_master_, TIOCSWINSZ, &ws);
        if (!started_ && seen_ >= expected_) {
          timer_.cancel();
          start();
        }
      }
    }
  }

  void remote_fin(uint32_t id) {
    if (id == stdin_id_ && stdin_id_) {
      stdin_eof_ = true;
      write_stdin();
    }
  }

  void start() {
    if (started_ || finished_) return;
    started_ = true;
    timer_.cancel();
    if (shim_) return start_attach();
    std::vector<std::string> argv = skiff_pod_argv(o_, r_.ns);
    argv.insert(argv.end(), {"exec", r_.pod, "-c", r_.container});
    if (r_.in) argv.push_back("-i");
    if (r_.tty) argv.push_back("-t");
    argv.push_back("--");
    argv.insert(argv.end(), r_.command.begin(), r_.command.end());
    Result<pid_t> pid = error("not started");
    if (r_.tty) {
      int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (master < 0 || ::grantpt(master) < 0 || ::unlockpt(master) < 0)
        return fail(errno_error("open a pty").what());
      if (size_) ::ioctl(master, TIOCSWINSZ, &*size_);
      UniqueFd slave(::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
      if (!slave) {
        ::close(master);
        return fail(errno_error("open the pty's slave").what());
      }
      pid = spawn_process(o_.skiff_pod, argv, slave.get(), slave.get(), slave.get(), true);
      pty_master_ = master;
      ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
      out_.assign(master);
      in_fd_ = ::fcntl(master, F_DUPFD_CLOEXEC, 0);
      if (in_fd_ >= 0) in_.assign(in_fd_);
      err_done_ = true;
    } else {
      int in[2] = {-1, -1}, out[2], err[2];
      if ((r_.in && ::pipe2(in, O_CLOEXEC) < 0) || ::pipe2(out, O_CLOEXEC) < 0 ||
          ::pipe2(err, O_CLOEXEC) < 0)
        return fail(errno_error("pipe").what());
      UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      pid = spawn_process(o_.skiff_pod, argv, r_.in ? in[0] : null.get(), out[1], err[1], false);
      if (r_.in) {
        ::close(in[0]);
        ::fcntl(in[1], F_SETFL, O_NONBLOCK);
        in_.assign(in[1]);
      }
      ::close(out[1]);
      ::close(err[1]);
      ::fcntl(out[0], F_SETFL, O_NONBLOCK);
      ::fcntl(err[0], F_SETFL, O_NONBLOCK);
      out_.assign(out[0]);
      err_.assign(err[0]);
    }
    if (!pid) return fail(pid.error().what());
    if (!child_.start(*pid, [this](int code) { exited(code); }))
      return fail(errno_error("pidfd_open").what());
    pump(out_, stdout_id_, out_done_);
    if (!r_.tty) pump(err_, stderr_id_, err_done_);
    write_stdin();
  }

  // attach: the shim's pipes; the session ends when the container's output does (its run
  // ended) or the client leaves. Status: Success, as the kubelet's attach has no exit code.
  void start_attach() {
    exited_ = true;
    out_.assign(shim_->out.release());
    if (shim_->err)
      err_.assign(shim_->err.release());
    else
      err_done_ = true;
    if (shim_->in) {
      in_fd_ = shim_->in.release();
      in_.assign(in_fd_);
      if (shim_->tty) {
        pty_master_ = in_fd_;  // resize (TIOCSWINSZ sends the container SIGWINCH)
        if (size_) ::ioctl(pty_master_, TIOCSWINSZ, &*size_);
      }
    }
    pump(out_, stdout_id_, out_done_);
    if (!err_done_) pump(err_, stderr_id_, err_done_);
    write_stdin();
  }

  // Output of the process to a stream (dropped when the client did not open it).
  void pump(asio::posix::stream_descriptor& d, uint32_t id, bool& done) {
    if (conn_.backlog() > kBacklogLimit) {
      conn_.when_drained([this, &d, id, &done] { pump(d, id, done); });
      return;
    }
    auto buf = std::make_shared<std::array<char, 16384>>();
    d.async_read_some(asio::buffer(*buf),
                      [this, buf, &d, id, &done](boost::system::error_code ec, size_t n) {
                        if (ec) {  // EOF, or EIO from a pty whose last slave closed
                          done = true;
                          maybe_finish();
                          return;
                        }
                        if (id) conn_.data(id, std::string_view(buf->data(), n));
                        pump(d, id, done);
                      });
  }

  void write_stdin() {
    if (!started_ || stdin_writing_ || !in_.is_open()) return;
    if (stdin_buf_.empty()) {
      if (stdin_eof_ && !r_.tty) {  // a tty keeps its input: the command may still read ^D
        boost::system::error_code ec;
        in_.close(ec);
      }
      conn_.pause_reading(false);
      return;
    }
    stdin_writing_ = true;
    auto chunk = std::make_shared<std::string>(std::move(stdin_buf_));
    stdin_buf_.clear();
    asio::async_write(in_, asio::buffer(*chunk),
                      [this, chunk](boost::system::error_code ec, size_t) {
                        stdin_writing_ = false;
                        if (ec) {
                          stdin_buf_.clear();
                          boost::system::error_code ignored;
                          in_.close(ignored);
                          conn_.pause_reading(false);
                          return;
                        }
                        write_stdin();
                      });
  }

  void exited(int code) {
    exit_code_ = code;
    exited_ = true;
    // Output still buffered in the pipes is read; a daemon holding them open does not keep the
    // session: 2 s after the exit it ends anyway.
    timer_.expires_after(std::chrono::seconds(2));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) {
        out_done_ = err_done_ = true;
        maybe_finish();
      }
    });
    maybe_finish();
  }

  void maybe_finish() {
    if (!exited_ || !out_done_ || !err_done_ || finished_) return;
    finish(exit_code_, "");
  }

  void fail(const std::string& message) {
    log::warn("kubelet API: ", r_.kind, " in ", r_.ns, "/", r_.pod, "/", r_.container, ": ",
              message);
    finish(-1, message);
  }

  void finish(int code, const std::string& message) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    for (uint32_t id : {stdout_id_, stderr_id_, stdin_id_, resize_id_})
      if (id) conn_.fin(id);
    if (error_id_) {
      std::string status;
      if (!message.empty())
        status = v4_ ? Json{{"metadata", Json::object()},
                            {"status", "Failure"},
                            {"message", message},
                            {"reason", "InternalError"},
                            {"code", 500}}
                           .dump()
                     : message;
      else if (v4_)
        status = exec_status_v4(code);
      else if (code != 0)
        status = cat("command terminated with non-zero exit code: exit status ", code);
      conn_.data(error_id_, status, true);
    }
    close_fds();
    conn_.close();
  }

  void client_gone() {
    // The client left before the command ended: it is asked to stop, then killed.
    if (!child_.running()) return close_fds();
    child_.signal(SIGTERM);
    finished_ = true;
    timer_.expires_after(std::chrono::seconds(2));
    timer_.async_wait([this](boost::system::error_code) { child_.signal(SIGKILL); });
    close_fds();
  }

  void close_fds() {
    boost::system::error_code ec;
    out_.close(ec);
    err_.close(ec);
    in_.close(ec);
    pty_master_ = -1;
    if (shim_) shim_->conn.reset();  // the shim ends the session (stdinOnce: closes the stdin)
  }

  std::optional<ShimAttach> shim_;
  asio::io_context& io_;
  SpdyConn& conn_;
  const KubeletServerOptions& o_;
  StreamRequest r_;
  Child child_;
  asio::posix::stream_descriptor out_, err_, in_;
  asio::steady_timer timer_;
  bool v4_ = false;
  int expected_ = 0, seen_ = 0;
  uint32_t error_id_ = 0, stdin_id_ = 0, stdout_id_ = 0, stderr_id_ = 0, resize_id_ = 0;
  std::optional<struct winsize> size_;
  std::string resize_buf_, stdin_buf_;
  bool stdin_eof_ = false, stdin_writing_ = false;
  int pty_master_ = -1, in_fd_ = -1;
  bool started_ = false, exited_ = false, out_done_ = false, err_done_ = false, finished_ = false;
  int exit_code_ = 0;
};

// port-forward: per requestid an error stream and a data stream (header `port`); the data
// stream is spliced to 127.0.0.1:PORT inside the pod's network namespace.
class ForwardSession {
 public:
  ForwardSession(asio::io_context& io, SpdyConn& conn, std::string netns, std::string pod)
      : io_(io), conn_(conn), netns_(std::move(netns)), pod_(std::move(pod)) {
    conn_.on_stream = [this](const spdy::Frame& f) { stream(f); };
    conn_.on_data = [this](uint32_t id, std::string_view d) { data(id, d); };
    conn_.on_fin = [this](uint32_t id) { remote_fin(id); };
    conn_.on_close = [this] {
      for (auto& [rid, f] : forwards_) close(*f);
    };
  }

 private:
  struct Forward {
    explicit Forward(asio::io_context& io) : sock(io) {}
    std::string request_id;
    uint32_t data_id = 0, error_id = 0;
    int port = 0;
    tcp::socket sock;
    bool connected = false, remote_fin = false, sock_eof = false, closed = false;
    bool error_ended = false;
    bool writing = false;
    std::string to_sock;
    std::array<char, 16384> buf{};
  };

  void stream(const spdy::Frame& f) {
    std::string type = spdy::header(f.headers, "streamtype");
    std::string rid = spdy::header(f.headers, "requestid");
    if (rid.empty()) rid = std::to_string(f.stream_id);  // old clients: one pair at a time
    auto& fw = forwards_[rid];
    if (!fw) {
      fw = std::make_unique<Forward>(io_);
      fw->request_id = rid;
    }
    by_stream_[f.stream_id] = fw.get();
    auto port = parse_int<int>(spdy::header(f.headers, "port"));
    if (type == "error") {
      fw->error_id = f.stream_id;
    } else if (type == "data") {
      fw->data_id = f.stream_id;
      if (!port || *port <= 0 || *port > 65535)
        return fail(*fw, cat("invalid port ", quote(spdy::header(f.headers, "port"))));
      fw->port = *port;
      connect(*fw);
    }
  }

  void connect(Forward& fw) {
    auto fd = socket_in_netns(netns_, AF_INET);
    if (!fd) return fail(fw, cat("socket in the pod's network namespace: ", fd.error().what()));
    boost::system::error_code ec;
    fw.sock.assign(tcp::v4(), fd->release(), ec);
    if (ec) return fail(fw, ec.message());
    tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), static_cast<uint16_t>(fw.port));
    fw.sock.async_connect(ep, [this, &fw](boost::system::error_code ec) {
      if (fw.closed) return;
      if (ec)
        return fail(fw, cat("error forwarding port ", fw.port, " to pod ", pod_,
                            ": failed to connect to localhost:", fw.port,
                            " inside the pod's network namespace: ", ec.message()));
      fw.connected = true;
      flush(fw);
      read(fw);
    });
  }

  void read(Forward& fw) {
    if (fw.closed) return;
    if (conn_.backlog() > kBacklogLimit) {
      conn_.when_drained([this, &fw] { read(fw); });
      return;
    }
    fw.sock.async_read_some(asio::buffer(fw.buf),
                            [this, &fw](boost::system::error_code ec, size_t n) {
                              if (fw.closed) return;
                              if (ec) {
                                // The pod's side ended: both streams end, as kubectl waits
                                // for the error stream's end to close its local connection.
                                fw.sock_eof = true;
                                if (fw.data_id) conn_.fin(fw.data_id);
                                end_error_stream(fw);
                                return maybe_close(fw);
                              }
                              if (fw.data_id)
                                conn_.data(fw.data_id, std::string_view(fw.buf.data(), n));
                              read(fw);
                            });
  }

  void data(uint32_t id, std::string_view d) {
    auto it = by_stream_.find(id);
    if (it == by_stream_.end() || it->second->data_id != id || it->second->closed) return;
    Forward& fw = *it->second;
    fw.to_sock.append(d);
    if (fw.to_sock.size() > kBacklogLimit) conn_.pause_reading(true);
    flush(fw);
  }

  void flush(Forward& fw) {
    if (!fw.connected || fw.writing || fw.closed) return;
    if (fw.to_sock.empty()) {
      conn_.pause_reading(false);
      if (fw.remote_fin) {
        boost::system::error_code ec;
        fw.sock.shutdown(tcp::socket::shutdown_send, ec);
        maybe_close(fw);
      }
      return;
    }
    fw.writing = true;
    auto chunk = std::make_shared<std::string>(std::move(fw.to_sock));
    fw.to_sock.clear();
    asio::async_write(fw.sock, asio::buffer(*chunk),
                      [this, &fw, chunk](boost::system::error_code ec, size_t) {
                        fw.writing = false;
                        if (fw.closed) return;
                        if (ec) return close(fw);
                        flush(fw);
                      });
  }

  void remote_fin(uint32_t id) {
    auto it = by_stream_.find(id);
    if (it == by_stream_.end()) return;
    Forward& fw = *it->second;
    if (id == fw.data_id) {
      fw.remote_fin = true;
      flush(fw);
    }
  }

  void maybe_close(Forward& fw) {
    if (fw.sock_eof && fw.remote_fin && fw.to_sock.empty() && !fw.writing) close(fw);
  }

  void end_error_stream(Forward& fw) {
    if (fw.error_id && !fw.error_ended) conn_.fin(fw.error_id);
    fw.error_ended = true;
  }

  void fail(Forward& fw, const std::string& message) {
    log::warn("kubelet API: port-forward ", pod_, ": ", message);
    if (fw.error_id && !fw.error_ended) conn_.data(fw.error_id, message, true);
    fw.error_ended = true;
    if (fw.data_id) conn_.fin(fw.data_id);
    close(fw);
  }

  void close(Forward& fw) {
    if (fw.closed) return;
    fw.closed = true;
    boost::system::error_code ec;
    fw.sock.close(ec);
    conn_.pause_reading(false);
  }

  asio::io_context& io_;
  SpdyConn& conn_;
  std::string netns_, pod_;
  std::map<std::string, std::unique_ptr<Forward>> forwards_;
  std::map<uint32_t, Forward*> by_stream_;
};

// The pod's network namespace from its record on this node ("" with hostNetwork).
Result<std::string> pod_netns(const NodeConfig& node, const std::string& ns,
                              const std::string& name) {
  for (const auto& rec : list_pod_records(node.state_root)) {
    if (rec.namespace_ != ns || rec.name != name) continue;
    auto saved = read_json_file(rec.node.pod_dir(rec.uid) + "/status.json");
    if (!saved || !saved->is_object() || !(*saved)["sandbox"].is_object())
      return error("pod ", ns, "/", name, " has no sandbox yet");
    const Json& sb = (*saved)["sandbox"];
    if (sb.value("hostNetwork", false)) return std::string();
    int pause = sb.value("pausePid", 0);
    if (pause <= 0 || saved->value("finished", false))
      return error("pod ", ns, "/", name, " is not running");
    return cat("/proc/", pause, "/ns/net");
  }
  return error("pod ", ns, "/", name, " is not on this node");
}

// kubectl attach: a session from the pod's shim (shim.hpp) for its running container.
Result<ShimAttach> attach_shim(const NodeConfig& node, const std::string& ns,
                               const std::string& name, const std::string& container, bool in) {
  for (const auto& rec : list_pod_records(node.state_root)) {
    if (rec.namespace_ != ns || rec.name != name) continue;
    return TRY_CTX(shim_attach(rec.node.shim_socket(rec.uid), container, in), "attach to ", ns, "/",
                   name, "/", container);
  }
  return error("pod ", ns, "/", name, " is not on this node");
}

// The container named in the pod's spec on this node, or the reason it is not there.
Result<void> check_container(const Json& pods, const std::string& ns, const std::string& name,
                             const std::string& container) {
  for (const auto& p : pods.value("items", Json::array())) {
    std::string pns = api::str_at(p, {"metadata", "namespace"});
    if ((pns.empty() ? "default" : pns) != ns || api::str_at(p, {"metadata", "name"}) != name)
      continue;
    for (const char* list : {"initContainers", "containers"})
      if (const Json* cs = api::at_path(p, {"spec", list}); cs && cs->is_array())
        for (const auto& c : *cs)
          if (c.value("name", "") == container) return ok();
    return error("container ", quote(container), " not found in pod ", ns, "/", name);
  }
  return error("pod ", ns, "/", name, " not found on this node");
}

}  // namespace

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

  // A request that leaves HTTP: exec, attach and port-forward upgrade to SPDY/3.1.
  void upgrade(TlsStream& stream, asio::io_context& io, beast::flat_buffer& buffer,
               const http::request<http::string_body>& req) {
    beast::error_code ec;
    auto refuse = [&](http::status st, const std::string& message) {
      http::response<http::string_body> r{st, req.version()};
      r.set(http::field::server, "skiff-kubelet");
      r.set(http::field::content_type, "text/plain");
      r.body() = message + "\n";
      r.keep_alive(false);
      r.prepare_payload();
      http::write(stream, r, ec);
    };
    std::string target(req.target());
    auto q = target.find('?');
    std::string path = target.substr(0, q);
    auto parts = split(path, '/', true);
    StreamRequest r;
    r.kind = parts[0];
    bool forward = r.kind == "portForward";
    if (parts.size() != (forward ? 3u : 4u))
      return refuse(http::status::bad_request,
                    forward ? "expected /portForward/NAMESPACE/POD"
                            : cat("expected /", r.kind, "/NAMESPACE/POD/CONTAINER"));
    r.ns = parts[1];
    r.pod = parts[2];
    if (!forward) r.container = parts[3];
    if (q != std::string::npos)
      for (auto& [k, v] : query_pairs(std::string_view(target).substr(q + 1))) {
        bool on = v == "1" || v == "true";
        if (k == "command")
          r.command.push_back(v);
        else if (k == "input")
          r.in = on;
        else if (k == "output")
          r.out = on;
        else if (k == "error")
          r.err = on;
        else if (k == "tty")
          r.tty = on;
      }
    if (req.method() != http::verb::get && req.method() != http::verb::post)
      return refuse(http::status::method_not_allowed, "only GET and POST");
    std::string up(req[http::field::upgrade]);
    if (!beast::iequals(up, "SPDY/3.1"))
      return refuse(
          http::status::bad_request,
          up.empty() ? "unable to upgrade: missing upgrade headers in request"
                     : cat("unable to upgrade: ", quote(up), " is not supported, only SPDY/3.1"));
    if (r.kind == "exec" && r.command.empty())
      return refuse(http::status::bad_request, "you must specify at least 1 command");
    if (o.skiff_pod.empty())
      return refuse(http::status::not_implemented, "this kubelet was started without skiff-pod");
    std::vector<std::string> offered;
    for (const auto& f : req)
      if (beast::iequals(f.name_string(), "X-Stream-Protocol-Version"))
        offered.emplace_back(f.value());
    std::vector<std::string> supported =
        forward ? std::vector<std::string>{"portforward.k8s.io"}
                : std::vector<std::string>{"v4.channel.k8s.io", "v3.channel.k8s.io",
                                           "v2.channel.k8s.io", "channel.k8s.io"};
    auto protocol = negotiate_protocol(offered, supported);
    if (!protocol)
      return refuse(http::status::forbidden,
                    cat("unable to upgrade: unable to negotiate protocol: client supports [",
                        join(offered, " "), "], server supports [", join(supported, " "), "]"));
    r.protocol = *protocol;
    std::string netns;
    if (forward) {
      auto n = pod_netns(o.node, r.ns, r.pod);
      if (!n) return refuse(http::status::not_found, n.error().what());
      netns = std::move(*n);
    } else if (auto c = check_container(o.pods(), r.ns, r.pod, r.container); !c) {
      return refuse(http::status::not_found, c.error().what());
    }
    std::optional<ShimAttach> shim;
    if (r.kind == "attach") {
      auto a = attach_shim(o.node, r.ns, r.pod, r.container, r.in);
      if (!a) return refuse(http::status::bad_request, a.error().what());
      shim = std::move(*a);
    }
    std::string head =
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n";
    if (!r.protocol.empty()) head += cat("X-Stream-Protocol-Version: ", r.protocol, "\r\n");
    head += "\r\n";
    asio::write(stream, asio::buffer(head), ec);
    if (ec) return;
    std::string leftover(static_cast<const char*>(buffer.data().data()), buffer.size());
    buffer.consume(buffer.size());
    SpdyConn conn(stream, std::move(leftover));
    std::unique_ptr<ExecSession> exec;
    std::unique_ptr<ForwardSession> fwd;
    if (forward)
      fwd = std::make_unique<ForwardSession>(io, conn, netns, cat(r.ns, "/", r.pod));
    else
      exec = std::make_unique<ExecSession>(io, conn, o, std::move(r), std::move(shim));
    conn.start();
    io.run();
  }

  // /containerLogs/NS/POD/CONTAINER?… through `skiff-pod logs --raw` (the CRI lines), with the
  // kubelet's options applied here (log_filter.hpp). Without follow: the whole answer at once
  // (an error has its status); with follow (not previous): the log so far, then new lines as
  // chunks, until the container ends (`skiff-pod logs -f` returns), limitBytes is reached or the
  // client goes.
  void serve_logs(TlsStream& stream, asio::io_context& io,
                  const http::request<http::string_body>& req) {
    beast::error_code ec;
    auto refuse = [&](http::status st, const std::string& message) {
      http::response<http::string_body> r{st, req.version()};
      r.set(http::field::server, "skiff-kubelet");
      r.set(http::field::content_type, "text/plain");
      r.body() = message + "\n";
      r.keep_alive(false);
      r.prepare_payload();
      http::write(stream, r, ec);
    };
    std::string target(req.target());
    auto q = target.find('?');
    auto parts =
        split(std::string_view(target).substr(15, q == std::string::npos ? q : q - 15), '/', true);
    if (parts.size() != 3)
      return refuse(http::status::bad_request, "expected /containerLogs/NAMESPACE/POD/CONTAINER");
    if (req.method() != http::verb::get)
      return refuse(http::status::method_not_allowed, "only GET");
    struct timespec now {};
    clock_gettime(CLOCK_REALTIME, &now);
    auto opts = parse_log_options(q == std::string::npos
                                      ? decltype(query_pairs("")){}
                                      : query_pairs(std::string_view(target).substr(q + 1)),
                                  now);
    if (!opts) return refuse(http::status::bad_request, opts.error().what());
    if (auto c = check_container(o.pods(), parts[0], parts[1], parts[2]); !c)
      return refuse(http::status::not_found, c.error().what());
    int p[2], e[2];
    if (::pipe2(p, O_CLOEXEC) < 0)
      return refuse(http::status::internal_server_error, errno_error("pipe").what());
    if (::pipe2(e, O_CLOEXEC | O_NONBLOCK) < 0) {
      ::close(p[0]);
      ::close(p[1]);
      return refuse(http::status::internal_server_error, errno_error("pipe").what());
    }
    UniqueFd err_r(e[0]);
    UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    bool follow = opts->follow && !opts->previous;
    auto argv = skiff_pod_argv(o, parts[0]);
    argv.insert(argv.end(), {"logs", parts[1], "-c", parts[2], "--raw"});
    if (opts->previous) argv.push_back("-p");
    if (follow) argv.push_back("-f");
    if (opts->tail_lines) argv.insert(argv.end(), {"--tail", std::to_string(*opts->tail_lines)});
    auto pid = spawn_process(o.skiff_pod, argv, null.get(), p[1], e[1], false);
    ::close(p[1]);
    ::close(e[1]);
    if (!pid) {
      ::close(p[0]);
      return refuse(http::status::internal_server_error, pid.error().what());
    }
    LogFilter filter(*opts);
    if (!follow) {
      UniqueFd out(p[0]);
      auto raw = read_fd(out.get());
      int status = 0;
      ::waitpid(*pid, &status, 0);
      std::string why;
      char b[4096];
      ssize_t n;
      while ((n = ::read(err_r.get(), b, sizeof b)) > 0) why.append(b, static_cast<size_t>(n));
      if (!raw || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string msg(trim(why));
        if (msg.starts_with("skiff pod: ")) msg.erase(0, 11);
        return refuse(msg.find("previous terminated") != std::string::npos
                          ? http::status::bad_request
                          : http::status::not_found,
                      msg.empty() ? "reading the log failed" : msg);
      }
      http::response<http::string_body> r{http::status::ok, req.version()};
      r.set(http::field::server, "skiff-kubelet");
      r.set(http::field::content_type, "text/plain");
      r.body() = filter.feed(*raw);
      r.keep_alive(false);
      r.prepare_payload();
      http::write(stream, r, ec);
      return;
    }
    Child child(io);
    asio::posix::stream_descriptor out(io, p[0]);
    bool done = false;
    child.start(*pid, [&](int) {});
    std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: no-cache, private\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    asio::write(stream, asio::buffer(head), ec);
    if (ec) return;
    std::array<char, 16384> buf{};
    std::string chunk;
    char probe[1];
    auto end = [&] {
      if (done) return;
      done = true;
      child.signal(SIGTERM);
      boost::system::error_code ignored;
      out.close(ignored);
      ::shutdown(stream.next_layer().native_handle(), SHUT_RDWR);
      stream.next_layer().cancel(ignored);
    };
    auto as_chunk = [](std::string_view d) {
      if (d.empty()) return std::string();
      char len[32];
      snprintf(len, sizeof len, "%zx\r\n", d.size());
      return cat(len, d, "\r\n");
    };
    // Anything from the client (its close) ends the stream.
    stream.async_read_some(asio::buffer(probe), [&](beast::error_code, size_t) { end(); });
    std::function<void()> pump = [&] {
      out.async_read_some(asio::buffer(buf), [&](boost::system::error_code rec, size_t n) {
        if (done) return;
        if (rec) {
          // skiff-pod's complaint (no log yet, …) ends the body: the status is sent already.
          std::string why;
          char b[4096];
          ssize_t k;
          while ((k = ::read(err_r.get(), b, sizeof b)) > 0) why.append(b, static_cast<size_t>(k));
          chunk = as_chunk(why) + "0\r\n\r\n";
        } else {
          chunk = as_chunk(filter.feed(std::string_view(buf.data(), n)));
          if (filter.done()) chunk += "0\r\n\r\n";
        }
        asio::async_write(stream, asio::buffer(chunk),
                          [&, last = bool(rec) || filter.done()](beast::error_code wec, size_t) {
                            if (wec || last) return end();
                            pump();
                          });
      });
    };
    pump();
    io.run();
  }

  // One connection: TLS with a client certificate from the cluster CA, then requests until the
  // client closes (synchronous; each connection has its own thread and its own io_context,
  // which an upgraded or streaming request runs).
  void serve(tcp::socket accepted) {
    beast::error_code ec;
    struct timeval tv {
      30, 0
    };
    setsockopt(accepted.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    asio::io_context io;
    tcp::socket socket(io);
    auto protocol = accepted.local_endpoint(ec).protocol();
    if (ec) return;
    socket.assign(protocol, accepted.release(), ec);
    if (ec) return;
    TlsStream stream(std::move(socket), ctx);
    stream.handshake(ssl::stream_base::server, ec);
    if (ec) return;
    beast::flat_buffer buffer;
    while (!stopping) {
      http::request<http::string_body> req;
      http::read(stream, buffer, req, ec);
      if (ec) break;
      std::string target(req.target());
      std::string path = target.substr(0, target.find('?'));
      if (path.starts_with("/exec/") || path.starts_with("/attach/") ||
          path.starts_with("/portForward/")) {
        upgrade(stream, io, buffer, req);
        return;
      }
      if (path.starts_with("/containerLogs/") && !o.skiff_pod.empty()) {
        serve_logs(stream, io, req);
        return;
      }
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
