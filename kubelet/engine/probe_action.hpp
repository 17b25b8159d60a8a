#pragma once
// One run of a probe or lifecycle handler (exec, httpGet, tcpSocket, sleep), from the node side
// and without blocking: the pod engine is single-threaded, so a run is a small state machine the
// shim's poll loop drives. It exposes an fd to poll (a socket connecting or a pipe), a deadline
// (its timeout), and takes the exit of its child (exec). Nothing runs inside the container but the
// exec handler's own command: httpGet and tcpSocket open their socket in the pod's network
// namespace (a socket keeps the namespace it was created in), as the kubelet's prober does from
// the host.

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "kubelet/pod/backoff.hpp"
#include "kubelet/pod/pod.hpp"
#include "runtime/container.hpp"

namespace skiff::kubelet {

// What Kubernetes' prober sends as its User-Agent.
inline constexpr const char* kProbeUserAgent = "kube-probe/1.31";

// Where a handler runs.
struct HandlerTarget {
  runtime::GlobalOptions runtime;        // the runtime root holding the container
  std::string container_id;              // exec
  const Container* container = nullptr;  // its named ports
  std::string netns;        // the pod's network namespace; "" = this process's (hostNetwork)
  std::string pod_ip;       // the default host ("" → 127.0.0.1)
  std::string scratch_dir;  // exec: where the runtime writes the process's pid
};

class HandlerRun {
 public:
  enum class Outcome { kPending, kSuccess, kFailure };

  // Starts `h`; a run that cannot start is returned already failed (message says why). `timeout`
  // empty: no limit (hooks; the caller bounds them).
  static std::unique_ptr<HandlerRun> start(const Handler& h, const HandlerTarget& t, TimePoint now,
                                           std::optional<Duration> timeout);
  // A run still pending is cancelled: its exec process group is killed, its socket closed.
  virtual ~HandlerRun() = default;
  HandlerRun(const HandlerRun&) = delete;
  HandlerRun& operator=(const HandlerRun&) = delete;

  // The fd to poll (-1: none) and for what (POLLIN/POLLOUT).
  virtual int fd() const { return -1; }
  virtual short events() const { return 0; }
  // The fd is ready (or has an error): make progress.
  virtual void on_ready() {}
  // A child of this process was reaped; true when it was this run's.
  virtual bool on_child_exit(pid_t, int) { return false; }
  // Times the run out when its deadline has passed.
  void tick(TimePoint now);
  std::optional<TimePoint> deadline() const { return deadline_; }

  Outcome outcome() const { return outcome_; }
  bool done() const { return outcome_ != Outcome::kPending; }
  bool succeeded() const { return outcome_ == Outcome::kSuccess; }
  const std::string& message() const { return message_; }

 protected:
  HandlerRun() = default;
  void finish(bool success, std::string message) {
    if (done()) return;
    outcome_ = success ? Outcome::kSuccess : Outcome::kFailure;
    message_ = std::move(message);
    cancel();
  }
  // Stops whatever is still in flight (called once the outcome is known).
  virtual void cancel() {}
  // The deadline passed with no outcome.
  virtual void on_timeout() { finish(false, "timed out"); }

  std::optional<TimePoint> deadline_;

 private:
  Outcome outcome_ = Outcome::kPending;
  std::string message_;
};

// A non-blocking TCP socket created in the network namespace at `netns` ("" = ours): a
// short-lived thread joins the namespace, creates the socket and ends, so this process never
// leaves its own namespace.
Result<UniqueFd> socket_in_netns(const std::string& netns, int family);

// The port a handler names: its number, or the container port with that name.
Result<int> resolve_port(const Handler& h, const Container* c);

// Parses an HTTP/1.x status line ("HTTP/1.1 200 OK"); the code, or nullopt when malformed.
std::optional<int> http_status_code(std::string_view response);

// The GET request Kubernetes' prober sends: Host, User-Agent kube-probe, Accept */*, the
// probe's headers (a header of the same name replaces the default).
std::string http_probe_request(const Handler& h, const std::string& host, int port);

// The bytes of a grpc.health.v1.Health/Check call over h2c (prior knowledge): the connection
// preface, an empty SETTINGS, the HEADERS (HPACK literals, no Huffman) and the request message.
std::string grpc_health_request(const std::string& service, const std::string& authority);
// Reads the server's HTTP/2 frames in `buf` (consumed as parsed; the response message gathers in
// `body`); counts the SETTINGS to acknowledge. The outcome once known: SERVING is a success.
std::optional<std::pair<bool, std::string>> grpc_health_step(std::string& buf, std::string& body,
                                                             bool eof, int* settings_acks);

}  // namespace skiff::kubelet
