// Probes and lifecycle hooks: parsing with Kubernetes' defaults, validation with field paths, the
// prober worker's thresholds on a fake clock, and the socket handlers against loopback servers.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "common/unique_fd.hpp"
#include "kubelet/engine/probe.hpp"
#include "kubelet/engine/probe_action.hpp"
#include "kubelet/pod/pod.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::kubelet {
namespace {

using test::sh;
using test::TempDir;
using test::write_file;

std::string pod_with(const std::string& container_fields, const std::string& ports = "") {
  return cat(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: app
    image: busybox
)",
             ports, container_fields);
}

std::vector<std::string> errors_of(const std::string& yaml) {
  auto m = parse_manifest(yaml, "pod.yaml");
  if (m) return {};
  // A heading line, then one problem per line.
  std::vector<std::string> out;
  auto lines = split(m.error().what(), '\n', true);
  for (size_t i = 1; i < lines.size(); ++i) out.emplace_back(trim(lines[i]));
  return out;
}

bool has_error(const std::string& yaml, const std::string& needle) {
  auto m = parse_manifest(yaml, "pod.yaml");
  if (m) return false;
  return m.error().what().find(needle) != std::string::npos;
}

TEST(ProbeParse, DefaultsAndEveryHandler) {
  auto m = parse_manifest(pod_with(R"(    livenessProbe:
      httpGet: {path: /healthz, port: http, httpHeaders: [{name: X-Probe, value: yes}]}
    readinessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 2
      successThreshold: 2
    startupProbe:
      exec: {command: [cat, /tmp/ready]}
      failureThreshold: 30
      terminationGracePeriodSeconds: 5
    lifecycle:
      postStart: {exec: {command: [touch, /tmp/started]}}
      preStop: {sleep: {seconds: 2}}
)",
                                   "    ports: [{name: http, containerPort: 8080}]\n"),
                          "pod.yaml");
  ASSERT_TRUE(m.ok()) << m.error().what();
  const Container& c = m->pod.spec.containers[0];
  ASSERT_TRUE(c.liveness_probe);
  const Probe& l = *c.liveness_probe;
  EXPECT_EQ(l.handler.kind, "httpGet");
  EXPECT_EQ(l.handler.path, "/healthz");
  EXPECT_EQ(l.handler.port_name, "http");
  EXPECT_EQ(l.handler.scheme, "HTTP");
  ASSERT_EQ(l.handler.headers.size(), 1u);
  EXPECT_EQ(l.handler.headers[0].second, "yes");
  EXPECT_EQ(l.initial_delay_seconds, 0);
  EXPECT_EQ(l.period_seconds, 10);
  EXPECT_EQ(l.timeout_seconds, 1);
  EXPECT_EQ(l.success_threshold, 1);
  EXPECT_EQ(l.failure_threshold, 3);
  EXPECT_EQ(*resolve_port(l.handler, &c), 8080);
  ASSERT_TRUE(c.readiness_probe);
  EXPECT_EQ(c.readiness_probe->handler.kind, "tcpSocket");
  EXPECT_EQ(c.readiness_probe->handler.port, 8080);
  EXPECT_EQ(c.readiness_probe->period_seconds, 2);
  EXPECT_EQ(c.readiness_probe->success_threshold, 2);
  ASSERT_TRUE(c.startup_probe);
  EXPECT_EQ(c.startup_probe->handler.command, (std::vector<std::string>{"cat", "/tmp/ready"}));
  EXPECT_EQ(c.startup_probe->failure_threshold, 30);
  EXPECT_EQ(c.startup_probe->termination_grace_period_seconds, 5);
  ASSERT_TRUE(c.lifecycle.post_start && c.lifecycle.pre_stop);
  EXPECT_EQ(c.lifecycle.post_start->kind, "exec");
  EXPECT_EQ(c.lifecycle.pre_stop->kind, "sleep");
  EXPECT_EQ(c.lifecycle.pre_stop->sleep_seconds, 2);
  EXPECT_TRUE(m->warnings.empty()) << m->warnings[0];
}

TEST(ProbeValidate, FieldPathsForEveryRule) {
  const std::string p = "spec.containers[0].";
  EXPECT_TRUE(has_error(pod_with("    livenessProbe: {exec: {command: [ok]}, periodSeconds: 0}\n"),
                        p + "livenessProbe.periodSeconds: must be >= 1"));
  EXPECT_TRUE(has_error(pod_with("    readinessProbe: {exec: {command: [ok]}, timeoutSeconds: 0, "
                                 "failureThreshold: 0, initialDelaySeconds: -1}\n"),
                        p + "readinessProbe.timeoutSeconds: must be >= 1"));
  EXPECT_TRUE(
      has_error(pod_with("    readinessProbe: {exec: {command: [ok]}, failureThreshold: 0}\n"),
                p + "readinessProbe.failureThreshold: must be >= 1"));
  EXPECT_TRUE(
      has_error(pod_with("    livenessProbe: {exec: {command: [ok]}, successThreshold: 2}\n"),
                p + "livenessProbe.successThreshold: must be 1"));
  EXPECT_TRUE(
      has_error(pod_with("    startupProbe: {exec: {command: [ok]}, successThreshold: 3}\n"),
                p + "startupProbe.successThreshold: must be 1"));
  EXPECT_TRUE(has_error(pod_with("    livenessProbe: {periodSeconds: 3}\n"),
                        p + "livenessProbe: must specify a handler type"));
  EXPECT_TRUE(
      has_error(pod_with("    livenessProbe: {exec: {command: [ok]}, tcpSocket: {port: 80}}\n"),
                p + "livenessProbe: may not specify more than 1 handler type"));
  EXPECT_TRUE(has_error(pod_with("    livenessProbe: {exec: {}}\n"),
                        p + "livenessProbe.exec.command: required"));
  EXPECT_TRUE(has_error(pod_with("    livenessProbe: {tcpSocket: {port: 70000}}\n"),
                        p + "livenessProbe.tcpSocket.port: must be 1-65535"));
  EXPECT_TRUE(has_error(pod_with("    livenessProbe: {httpGet: {port: web}}\n"),
                        p + "livenessProbe.httpGet.port: no container port named \"web\""));
  EXPECT_TRUE(has_error(pod_with("    livenessProbe: {httpGet: {port: 80, scheme: FTP}}\n"),
                        p + "livenessProbe.httpGet.scheme: unsupported value \"FTP\""));
  EXPECT_TRUE(has_error(
      pod_with("    readinessProbe: {httpGet: {port: 80}, terminationGracePeriodSeconds: 3}\n"),
      p + "readinessProbe.terminationGracePeriodSeconds: must not be set for readinessProbes"));
  EXPECT_TRUE(has_error(pod_with("    livenessProbe: {sleep: {seconds: 1}}\n"),
                        p + "livenessProbe.sleep: not a probe handler"));
  EXPECT_TRUE(has_error(pod_with("    lifecycle: {preStop: {tcpSocket: {port: 80}}}\n"),
                        p + "lifecycle.preStop.tcpSocket: not a lifecycle handler"));
  EXPECT_TRUE(has_error(pod_with("    lifecycle: {postStart: {sleep: {seconds: -1}}}\n"),
                        p + "lifecycle.postStart.sleep.seconds: must be >= 0"));
  EXPECT_TRUE(has_error(pod_with("    livenessProbe: {tcpSocket: {port: x}}\n"),
                        p + "livenessProbe.tcpSocket.port: no container port named \"x\""));
  EXPECT_TRUE(has_error(pod_with("    livenessProbe: {tcpSocket: {port: [1]}}\n"),
                        p + "livenessProbe.tcpSocket.port: expected integer or string"));
  // A plain init container runs to completion: no probes, no hooks. A sidecar may have them.
  std::string init = R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
  - name: setup
    image: busybox
    readinessProbe: {exec: {command: [ok]}}
    lifecycle: {postStart: {exec: {command: [ok]}}}
  - name: side
    image: busybox
    restartPolicy: Always
    startupProbe: {exec: {command: [ok]}}
    lifecycle: {preStop: {exec: {command: [ok]}}}
  containers:
  - {name: app, image: busybox}
)";
  auto errors = errors_of(init);
  ASSERT_EQ(errors.size(), 2u) << (errors.empty() ? "" : errors[0]);
  EXPECT_EQ(errors[0],
            "spec.initContainers[0].readinessProbe: may not be set for init containers without "
            "restartPolicy=Always");
  EXPECT_EQ(errors[1],
            "spec.initContainers[0].lifecycle: may not be set for init containers without "
            "restartPolicy=Always");
}

TEST(ProbeWorker, ThresholdsAndSchedule) {
  Probe p;
  p.initial_delay_seconds = 2;
  p.period_seconds = 1;
  p.failure_threshold = 3;
  FakeClock clock;
  TimePoint t0 = clock.now();
  ProbeWorker live(ProbeKind::kLiveness, p, t0);
  EXPECT_TRUE(live.result());  // alive until proven otherwise
  EXPECT_FALSE(live.due(t0 + Duration(1999)));
  EXPECT_TRUE(live.due(t0 + Duration(2000)));
  live.attempt_started(t0 + Duration(2000));
  EXPECT_EQ(live.next_deadline(), t0 + Duration(3000));
  EXPECT_FALSE(live.record(false, "1"));
  EXPECT_FALSE(live.record(false, "2"));
  EXPECT_FALSE(live.failed());
  EXPECT_FALSE(live.record(true, "ok"));  // a success resets the count
  EXPECT_FALSE(live.record(false, "1"));
  EXPECT_FALSE(live.record(false, "2"));
  EXPECT_TRUE(live.record(false, "3"));
  EXPECT_TRUE(live.failed());
  EXPECT_EQ(live.last_message(), "3");

  Probe r;
  r.success_threshold = 2;
  r.failure_threshold = 1;
  ProbeWorker ready(ProbeKind::kReadiness, r, t0);
  EXPECT_FALSE(ready.result());  // not ready until it passes
  EXPECT_FALSE(ready.record(true, ""));
  EXPECT_TRUE(ready.record(true, ""));
  EXPECT_TRUE(ready.result());
  EXPECT_TRUE(ready.record(false, "down"));
  EXPECT_FALSE(ready.result());
  EXPECT_FALSE(ready.failed());  // readiness never kills

  ProbeWorker startup(ProbeKind::kStartup, p, t0);
  EXPECT_FALSE(startup.result());
  EXPECT_FALSE(startup.failed());
  EXPECT_TRUE(startup.record(true, ""));
  EXPECT_TRUE(startup.result());
}

TEST(ProbeHttp, StatusLineAndRequest) {
  EXPECT_EQ(http_status_code("HTTP/1.1 200 OK"), 200);
  EXPECT_EQ(http_status_code("HTTP/1.0 302"), 302);
  EXPECT_EQ(http_status_code("HTTP/1.1 503 Service Unavailable"), 503);
  EXPECT_EQ(http_status_code("HTTP/2 200"), std::nullopt);
  EXPECT_EQ(http_status_code("HTTP/1.1 2000 x"), std::nullopt);
  EXPECT_EQ(http_status_code("SSH-2.0-OpenSSH"), std::nullopt);
  Handler h;
  h.kind = "httpGet";
  h.path = "/healthz?x=1";
  h.headers = {{"X-Token", "t"}, {"accept", "application/json"}};
  EXPECT_EQ(http_probe_request(h, "10.0.0.5", 8080),
            "GET /healthz?x=1 HTTP/1.1\r\nHost: 10.0.0.5:8080\r\nUser-Agent: kube-probe/1.31\r\n"
            "X-Token: t\r\naccept: application/json\r\nConnection: close\r\n\r\n");
}

// A loopback listener on an ephemeral port.
struct Listener {
  UniqueFd fd;
  int port = 0;
  Listener() {
    fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_in a {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), len), 0);
    EXPECT_EQ(::listen(fd.get(), 8), 0);
    getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
};

// Drives a run the way the shim's loop does, with the real clock.
HandlerRun::Outcome drive(HandlerRun& run, SteadyClock& clock) {
  for (int i = 0; i < 1000 && !run.done(); ++i) {
    struct pollfd p = {run.fd(), run.events(), 0};
    int n = poll(&p, run.fd() >= 0 ? 1 : 0, 20);
    if (n > 0) run.on_ready();
    run.tick(clock.now());
  }
  return run.outcome();
}

TEST(ProbeAction, TcpSocketConnectsOrIsRefused) {
  SteadyClock clock;
  Listener l;
  Handler h;
  h.kind = "tcpSocket";
  h.port = l.port;
  h.host = "127.0.0.1";
  HandlerTarget t;
  auto ok = HandlerRun::start(h, t, clock.now(), Duration(1000));
  EXPECT_EQ(drive(*ok, clock), HandlerRun::Outcome::kSuccess) << ok->message();
  l.fd.reset();  // nobody listens any more
  auto refused = HandlerRun::start(h, t, clock.now(), Duration(1000));
  EXPECT_EQ(drive(*refused, clock), HandlerRun::Outcome::kFailure);
  EXPECT_NE(refused->message().find("Connection refused"), std::string::npos) << refused->message();
}

TEST(ProbeAction, HttpGetStatusAndTimeout) {
  SteadyClock clock;
  for (auto [answer, want] : {std::pair{"HTTP/1.1 204 No Content\r\n\r\n", true},
                              std::pair{"HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n", true},
                              std::pair{"HTTP/1.0 500 Oops\r\n\r\n", false}}) {
    Listener l;
    std::string got;
    std::thread server([&, answer = std::string(answer)] {
      UniqueFd c(::accept4(l.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
      char buf[4096];
      while (got.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c.get(), buf, sizeof buf);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
      }
      (void)!::write(c.get(), answer.data(), answer.size());
    });
    Handler h;
    h.kind = "httpGet";
    h.port = l.port;
    h.path = "/healthz";
    HandlerTarget t;  // no pod IP: 127.0.0.1
    auto run = HandlerRun::start(h, t, clock.now(), Duration(2000));
    auto outcome = drive(*run, clock);
    server.join();
    EXPECT_EQ(outcome == HandlerRun::Outcome::kSuccess, want) << answer << run->message();
    EXPECT_TRUE(got.starts_with("GET /healthz HTTP/1.1\r\n")) << got;
    EXPECT_NE(got.find("User-Agent: kube-probe/"), std::string::npos) << got;
    EXPECT_NE(got.find("Accept: */*\r\n"), std::string::npos) << got;
  }
  // A server that accepts and never answers: the timeout fails the probe.
  Listener silent;
  Handler h;
  h.kind = "httpGet";
  h.port = silent.port;
  HandlerTarget t;
  auto start = clock.now();
  auto run = HandlerRun::start(h, t, start, Duration(300));
  EXPECT_EQ(drive(*run, clock), HandlerRun::Outcome::kFailure);
  EXPECT_GE(clock.now() - start, Duration(300));
  EXPECT_NE(run->message().find("deadline exceeded"), std::string::npos) << run->message();
}

// HTTPS as Kubernetes probes it: TLS without verifying the (self-signed) certificate, against
// `openssl s_server -www` on loopback.
TEST(ProbeAction, HttpsSkipsVerification) {
  if (sh("command -v openssl >/dev/null").exit_code != 0) GTEST_SKIP() << "no openssl binary";
  TempDir dir("skiff-https");
  auto made = sh(cat("cd ", dir.path(),
                     " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                     "-nodes -keyout key.pem -out cert.pem -subj /CN=probe -days 1 2>&1"));
  ASSERT_EQ(made.exit_code, 0) << made.out;
  int port;
  {
    Listener l;
    port = l.port;
  }
  pid_t server = fork();
  if (server == 0) {
    std::string p = std::to_string(port);
    int null = ::open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept", p.c_str(), "-cert",
           (dir / "cert.pem").c_str(), "-key", (dir / "key.pem").c_str(), nullptr);
    _exit(127);
  }
  SteadyClock clock;
  Handler h;
  h.kind = "httpGet";
  h.scheme = "HTTPS";
  h.port = port;
  h.path = "/";
  HandlerTarget t;
  std::unique_ptr<HandlerRun> run;
  for (int i = 0; i < 100; ++i) {  // until the server listens
    run = HandlerRun::start(h, t, clock.now(), Duration(2000));
    drive(*run, clock);
    if (run->message().find("refused") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(server, SIGTERM);
  waitpid(server, nullptr, 0);
  EXPECT_EQ(run->outcome(), HandlerRun::Outcome::kSuccess) << run->message();
  EXPECT_EQ(run->message(), "HTTP probe succeeded with statuscode: 200");
}

// grpc.health.v1 over h2c against a real gRPC server (grpc-core through python3-grpcio) with a
// Health service: "" is SERVING, "down" NOT_SERVING, anything else fails the call (NOT_FOUND).
TEST(ProbeAction, GrpcHealthCheckAgainstARealServer) {
  if (sh("/usr/bin/python3 -c 'import grpc' 2>/dev/null").exit_code != 0)
    GTEST_SKIP() << "python3-grpcio is not installed";
  TempDir dir("skiff-grpc");
  write_file(dir / "health.py", R"PY(import sys, grpc
from concurrent import futures
replies = {b"": b"\x08\x01", b"down": b"\x08\x02"}
def check(req, ctx):
    service = req[2:] if len(req) > 2 else b""
    if service not in replies:
        ctx.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
    return replies[service]
handler = grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
    "Check": grpc.unary_unary_rpc_method_handler(
        check, request_deserializer=lambda b: b, response_serializer=lambda b: b)})
server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
server.add_generic_rpc_handlers((handler,))
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(port, flush=True)
server.wait_for_termination()
)PY");
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  pid_t server = fork();
  if (server == 0) {
    dup2(p[1], 1);
    execl("/usr/bin/python3", "python3", (dir / "health.py").c_str(), nullptr);
    _exit(127);
  }
  ::close(p[1]);
  std::string port_text;
  char c;
  while (::read(p[0], &c, 1) == 1 && c != '\n') port_text += c;
  ::close(p[0]);
  auto port = parse_int<int>(port_text);
  ASSERT_TRUE(port) << "the server printed " << port_text;
  SteadyClock clock;
  HandlerTarget t;
  auto check = [&](const std::string& service) {
    Handler h;
    h.kind = "grpc";
    h.port = *port;
    h.service = service;
    auto run = HandlerRun::start(h, t, clock.now(), Duration(3000));
    drive(*run, clock);
    return std::pair{run->succeeded(), run->message()};
  };
  auto serving = check("");
  auto down = check("down");
  auto unknown = check("nope");
  ::kill(server, SIGKILL);
  waitpid(server, nullptr, 0);
  EXPECT_TRUE(serving.first) << serving.second;
  EXPECT_FALSE(down.first);
  EXPECT_EQ(down.second, "service unhealthy (responded with \"NOT_SERVING\")");
  EXPECT_FALSE(unknown.first);
  EXPECT_NE(unknown.second.find("rpc error"), std::string::npos) << unknown.second;
}

TEST(ProbeAction, GrpcRequestBytes) {
  std::string r = grpc_health_request("db", "10.0.0.1:9000");
  ASSERT_TRUE(r.starts_with("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
  // Ends with a DATA frame (type 0, END_STREAM, stream 1): 5-byte gRPC prefix + {1: "db"}.
  std::string data_frame(
      "\x00\x00\x09\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x04\x0a\x02"
      "db",
      18);
  EXPECT_TRUE(r.ends_with(data_frame));
  EXPECT_NE(r.find("/grpc.health.v1.Health/Check"), std::string::npos);
  // A server's SETTINGS is acknowledged; a GOAWAY ends the call.
  std::string in("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9), body;
  int acks = 0;
  EXPECT_EQ(grpc_health_step(in, body, false, &acks), std::nullopt);
  EXPECT_EQ(acks, 1);
  EXPECT_TRUE(in.empty());
  std::string goaway("\x00\x00\x08\x07\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 17);
  auto out = grpc_health_step(goaway, body, false, &acks);
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->first);
}

TEST(ProbeAction, SleepAndUnsupportedHandlers) {
  SteadyClock clock;
  Handler s;
  s.kind = "sleep";
  s.sleep_seconds = 0;
  HandlerTarget t;
  auto run = HandlerRun::start(s, t, clock.now(), std::nullopt);
  EXPECT_EQ(drive(*run, clock), HandlerRun::Outcome::kSuccess);
  Handler g;
  g.kind = "nothing";
  auto none = HandlerRun::start(g, t, clock.now(), Duration(1000));
  EXPECT_TRUE(none->done());
  EXPECT_FALSE(none->succeeded());
  Handler named;
  named.kind = "tcpSocket";
  named.host = "example.com";
  named.port = 80;
  auto name = HandlerRun::start(named, t, clock.now(), Duration(1000));
  EXPECT_NE(name->message().find("not an IP address"), std::string::npos) << name->message();
}

}  // namespace
}  // namespace skiff::kubelet
