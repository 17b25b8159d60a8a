// Probes and lifecycle hooks on real pods (skiff-pod → skiff-shim → busybox fixture containers on
// this kernel): readiness over HTTP flipping the pod's Ready condition, a liveness failure
// restarting the container, a startup probe gating the main container behind a sidecar, an exec
// probe's timeout killing its whole process group, postStart/preStop ordering and the grace
// period. Every probe runs from the node; periods of 1 s keep each test short.

#include <dirent.h>
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <thread>

#include "common/fs.hpp"
#include "tests/integration/kubelet/pod_fixture.hpp"

namespace skiff::test {
namespace {

using namespace std::chrono_literals;

constexpr char kBridge[] = "skprobe0";
constexpr char kSubnet[] = "10.236.0.0/24";

class ProbeTest : public PodFixture<kBridge, kSubnet> {
 protected:
  std::string backoff_ms() const override { return "200"; }
  void run_pod(const std::string& path) const {
    auto r = pod({"run", path});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  static std::string condition(const json& status, const std::string& type) {
    if (!status.is_object() || !status.contains("conditions")) return "";
    for (const auto& c : status["conditions"])
      if (c["type"] == type) return c["status"];
    return "";
  }
  // Waits until `pred(status)` holds; the last status is left in `*last`.
  bool wait_status(const std::string& name, const std::function<bool(const json&)>& pred,
                   int timeout_ms, json* last = nullptr) const {
    json s;
    bool ok = wait_until(
        [&] {
          s = status(name);
          return pred(s);
        },
        timeout_ms);
    if (last) *last = s;
    return ok;
  }
  std::string logs(const std::string& name, const std::string& c) const {
    return pod({"logs", name, "-c", c}).out;
  }
  // Nothing of the pod is left behind once it is removed: runtime state, shims, mounts, cgroups.
  void remove_and_expect_nothing_left(const std::string& name) const {
    auto rm = pod({"rm", "-f", name});
    EXPECT_EQ(rm.exit_code, 0) << rm.err;
    expect_nothing_left();
  }
};

TEST_F(ProbeTest, HttpGetReadinessFlipsReadyAndTcpLivenessKeepsItRunning) {
  // The page the readiness probe asks for appears and disappears through `skiff pod exec`.
  run_pod(write_pod("ready", R"Y(apiVersion: v1
kind: Pod
metadata: {name: ready}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: busybox:1.35
    command: [sh, -c, 'mkdir -p /www && exec httpd -f -p 8080 -h /www']
    ports: [{name: http, containerPort: 8080}]
    readinessProbe:
      httpGet: {path: /healthz, port: http, httpHeaders: [{name: X-Probe, value: skiff}]}
      periodSeconds: 1
      failureThreshold: 1
    livenessProbe:
      tcpSocket: {port: 8080}
      initialDelaySeconds: 1
      periodSeconds: 1
      failureThreshold: 2
)Y"));
  json s;
  ASSERT_TRUE(wait_status(
      "ready",
      [](const json& s) { return container(s, "containerStatuses", "web")["started"] == true; },
      5000, &s))
      << s;
  // Started, alive, not ready: the page is missing (404).
  std::this_thread::sleep_for(1500ms);
  s = status("ready");
  json web = container(s, "containerStatuses", "web");
  EXPECT_EQ(web["ready"], false) << s;
  EXPECT_EQ(condition(s, "Ready"), "False");
  EXPECT_EQ(condition(s, "ContainersReady"), "False");

  auto ex = pod({"exec", "ready", "-c", "web", "--", "sh", "-c", "echo ok > /www/healthz"});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  EXPECT_TRUE(wait_status(
      "ready", [](const json& s) { return condition(s, "Ready") == "True"; }, 4000, &s))
      << s;
  EXPECT_EQ(condition(s, "ContainersReady"), "True");
  EXPECT_EQ(container(s, "containerStatuses", "web")["ready"], true);

  ex = pod({"exec", "ready", "-c", "web", "--", "rm", "/www/healthz"});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  EXPECT_TRUE(wait_status(
      "ready", [](const json& s) { return condition(s, "Ready") == "False"; }, 4000, &s))
      << s;
  // The tcpSocket liveness probe passed all along: never restarted.
  web = container(s, "containerStatuses", "web");
  EXPECT_EQ(web["restartCount"], 0) << s;
  EXPECT_TRUE(web["state"].contains("running")) << s;
  remove_and_expect_nothing_left("ready");
}

TEST_F(ProbeTest, LivenessFailureKillsWithTheProbesGraceAndRestarts) {
  // The container ignores SIGTERM; the pod's grace period is long, the probe's is 1 s: the
  // restart comes after the probe's.
  run_pod(write_pod("live", R"Y(apiVersion: v1
kind: Pod
metadata: {name: live}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, 'trap "" TERM; touch /tmp/alive; sleep 1; rm /tmp/alive; while true; do sleep 0.1; done']
    livenessProbe:
      exec: {command: [cat, /tmp/alive]}
      periodSeconds: 1
      failureThreshold: 2
      terminationGracePeriodSeconds: 1
)Y"));
  json s;
  ASSERT_TRUE(wait_status(
      "live",
      [](const json& s) { return container(s, "containerStatuses", "app")["restartCount"] >= 1; },
      9000, &s))
      << s;
  json app = container(s, "containerStatuses", "app");
  json last = app["lastState"]["terminated"];
  EXPECT_EQ(last["exitCode"], 137) << app;  // SIGKILL at the end of the probe's grace period
  EXPECT_NE(last.value("message", "").find("failed liveness probe, will be restarted"),
            std::string::npos)
      << app;
  EXPECT_NE(last.value("message", "").find("No such file"), std::string::npos) << app;
  // The new attempt starts afresh and is alive again.
  EXPECT_TRUE(wait_status(
      "live",
      [](const json& s) {
        return container(s, "containerStatuses", "app")["state"].contains("running");
      },
      3000, &s))
      << s;
  remove_and_expect_nothing_left("live");
}

TEST_F(ProbeTest, StartupProbeGatesTheMainContainerBehindTheSidecar) {
  // The sidecar listens only after 2 s; the main container reaches it at once when it starts, so
  // it started after the sidecar's tcpSocket startup probe passed (Started alone would be early).
  auto file = write_pod("gated", R"Y(apiVersion: v1
kind: Pod
metadata: {name: gated}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: side
    image: busybox:1.35
    restartPolicy: Always
    command: [sh, -c, 'sleep 2; mkdir -p /www; echo side-up > /www/index.html; exec httpd -f -p 9090 -h /www']
    startupProbe:
      tcpSocket: {port: 9090}
      periodSeconds: 1
      failureThreshold: 10
  containers:
  - name: main
    image: busybox:1.35
    command: [sh, -c, 'wget -qO- http://127.0.0.1:9090/ && echo main-reached-side; exec sleep 1000']
)Y");
  run_pod(file);
  json s;
  ASSERT_TRUE(wait_status(
      "gated",
      [](const json& s) {
        return container(s, "containerStatuses", "main")["state"].contains("running");
      },
      8000, &s))
      << s;
  json side = container(s, "initContainerStatuses", "side");
  json main = container(s, "containerStatuses", "main");
  // Started 2 s and more after the sidecar (RFC 3339 in UTC sorts as text).
  EXPECT_LT(side["state"]["running"].value("startedAt", ""),
            main["state"]["running"].value("startedAt", ""))
      << s;
  EXPECT_EQ(side["started"], true) << s;
  EXPECT_EQ(side["ready"], true) << s;  // no readiness probe: ready once started
  EXPECT_EQ(side["restartCount"], 0);
  std::string out;
  EXPECT_TRUE(wait_until(
      [&] {
        out = logs("gated", "main");
        return out == "side-up\nmain-reached-side\n";
      },
      3000))
      << out;
  EXPECT_TRUE(wait_status(
      "gated", [](const json& s) { return condition(s, "Ready") == "True"; }, 3000, &s))
      << s;
  remove_and_expect_nothing_left("gated");
}

TEST_F(ProbeTest, ExecProbeTimeoutKillsItsWholeProcessGroup) {
  // The probe leaves a `sleep 9871` in the background and blocks in `sleep 9872`; at the 1 s
  // timeout both must be gone (the background one is in the probe's process group).
  run_pod(write_pod("slowprobe", R"Y(apiVersion: v1
kind: Pod
metadata: {name: slowprobe}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:1.35
    command: [sleep, '1000']
    readinessProbe:
      exec: {command: [sh, -c, 'sleep 9871 & sleep 9872']}
      periodSeconds: 10
      timeoutSeconds: 1
)Y"));
  auto count = [] { return trim(sh("pgrep -cf '^sleep 987[12]$' || true").out); };
  // The first attempt starts with the container and runs until its timeout.
  EXPECT_TRUE(wait_until([&] { return count() == "2"; }, 5000)) << count();
  auto seen = std::chrono::steady_clock::now();
  EXPECT_TRUE(wait_until([&] { return count() == "0"; }, 3000)) << count();
  EXPECT_LT(std::chrono::steady_clock::now() - seen, 2s);
  json s = status("slowprobe");
  json app = container(s, "containerStatuses", "app");
  EXPECT_EQ(app["ready"], false) << s;
  EXPECT_TRUE(app["state"].contains("running")) << s;
  EXPECT_EQ(condition(s, "Ready"), "False");
  remove_and_expect_nothing_left("slowprobe");
}

TEST_F(ProbeTest, PostStartBeforeStartedAndPreStopBeforeSigterm) {
  // postStart writes a file the main process waits for; preStop writes to a shared emptyDir
  // before the stop signal, and the main process's TERM trap prints what it finds there.
  run_pod(write_pod("hooks", R"Y(apiVersion: v1
kind: Pod
metadata: {name: hooks}
spec:
  terminationGracePeriodSeconds: 5
  volumes: [{name: shared, emptyDir: {}}]
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, 'trap "echo term-after-\$(cat /shared/prestop); exit 0" TERM; while [ ! -f /shared/post ]; do sleep 0.05; done; echo saw-$(cat /shared/post); while true; do sleep 0.1; done']
    volumeMounts: [{name: shared, mountPath: /shared}]
    lifecycle:
      postStart:
        exec: {command: [sh, -c, 'sleep 0.3; echo poststart > /shared/post']}
      preStop:
        exec: {command: [sh, -c, 'sleep 0.3; echo prestop > /shared/prestop']}
)Y"));
  json s;
  ASSERT_TRUE(wait_status(
      "hooks",
      [](const json& s) { return container(s, "containerStatuses", "app")["started"] == true; },
      5000, &s))
      << s;
  // Started only once postStart is done: the file is there.
  auto ex = pod({"exec", "hooks", "-c", "app", "--", "cat", "/shared/post"});
  EXPECT_EQ(ex.out, "poststart\n") << ex.err;
  auto stop = pod({"stop", "hooks"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  std::string out = logs("hooks", "app");
  EXPECT_EQ(out, "saw-poststart\nterm-after-prestop\n");
  json app = container(status("hooks"), "containerStatuses", "app");
  EXPECT_EQ(app["state"]["terminated"]["exitCode"], 0) << app;
  remove_and_expect_nothing_left("hooks");
}

TEST_F(ProbeTest, PreStopCountsAgainstTheGracePeriodThenSigkill) {
  // A 2 s preStop sleep inside a 3 s grace period, a container that ignores SIGTERM: the stop
  // takes the grace period (about 3 s), not preStop + grace (5 s), and ends with SIGKILL.
  run_pod(write_pod("grace", R"Y(apiVersion: v1
kind: Pod
metadata: {name: grace}
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, 'trap "echo got-term" TERM; echo up; while true; do sleep 0.1; done']
    lifecycle:
      preStop: {sleep: {seconds: 2}}
)Y"));
  json s;
  ASSERT_TRUE(wait_status(
      "grace",
      [](const json& s) { return container(s, "containerStatuses", "app")["started"] == true; },
      5000, &s))
      << s;
  ASSERT_TRUE(wait_until([&] { return logs("grace", "app") == "up\n"; }, 3000));
  auto t0 = std::chrono::steady_clock::now();
  auto stop = pod({"stop", "grace"});
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_GE(took, 2900ms);
  EXPECT_LT(took, 4500ms);
  EXPECT_EQ(logs("grace", "app"), "up\ngot-term\n");  // SIGTERM only after the 2 s preStop
  json app = container(status("grace"), "containerStatuses", "app");
  EXPECT_EQ(app["state"]["terminated"]["exitCode"], 137) << app;
  remove_and_expect_nothing_left("grace");
}

TEST_F(ProbeTest, FailedPostStartHookKillsTheContainer) {
  run_pod(write_pod("badhook", R"Y(apiVersion: v1
kind: Pod
metadata: {name: badhook}
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:1.35
    command: [sleep, '1000']
    lifecycle:
      postStart: {exec: {command: [sh, -c, 'echo no-way >&2; exit 3']}}
)Y"));
  json s;
  ASSERT_TRUE(wait_status(
      "badhook",
      [](const json& s) { return container(s, "containerStatuses", "app")["restartCount"] >= 1; },
      6000, &s))
      << s;
  json last = container(s, "containerStatuses", "app")["lastState"]["terminated"];
  EXPECT_NE(last.value("message", "").find("FailedPostStartHook"), std::string::npos) << last;
  EXPECT_NE(last.value("message", "").find("no-way"), std::string::npos) << last;
  EXPECT_EQ(container(s, "containerStatuses", "app")["started"], false);
  remove_and_expect_nothing_left("badhook");
}

TEST_F(ProbeTest, SidecarReadinessCountsAndStopsAfterTheMainContainersHttpPreStop) {
  // The sidecar serves /www; its readiness decides the pod's Ready. On stop, the main container's
  // httpGet preStop reaches the sidecar (still running: sidecars stop after the main containers),
  // and the sidecar gets SIGTERM only after the main container has ended.
  run_pod(write_pod("sideready", R"Y(apiVersion: v1
kind: Pod
metadata: {name: sideready}
spec:
  terminationGracePeriodSeconds: 5
  initContainers:
  - name: side
    image: busybox:1.35
    restartPolicy: Always
    command: [sh, -c, 'mkdir -p /www; httpd -f -vv -p 9090 -h /www & trap "echo side-term; kill %1; exit 0" TERM; while true; do sleep 0.1; done']
    readinessProbe:
      httpGet: {path: /index.html, port: 9090}
      periodSeconds: 1
  containers:
  - name: main
    image: busybox:1.35
    command: [sh, -c, 'trap "echo main-term; exit 0" TERM; while true; do sleep 0.1; done']
    lifecycle:
      preStop:
        httpGet: {path: /bye, port: 9090, host: 127.0.0.1}
)Y"));
  json s;
  ASSERT_TRUE(wait_status(
      "sideready",
      [](const json& s) { return container(s, "containerStatuses", "main")["ready"] == true; },
      5000, &s))
      << s;
  std::this_thread::sleep_for(1200ms);
  s = status("sideready");
  EXPECT_EQ(container(s, "initContainerStatuses", "side")["ready"], false) << s;
  EXPECT_EQ(condition(s, "Ready"), "False") << s;  // the main container is ready, its sidecar not
  auto ex = pod({"exec", "sideready", "-c", "side", "--", "sh", "-c", "echo hi > /www/index.html"});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  EXPECT_TRUE(wait_status(
      "sideready", [](const json& s) { return condition(s, "Ready") == "True"; }, 4000, &s))
      << s;
  EXPECT_EQ(container(s, "initContainerStatuses", "side")["ready"], true) << s;

  auto stop = pod({"stop", "sideready"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  std::string side_log = logs("sideready", "side");
  EXPECT_NE(side_log.find("url:/bye"), std::string::npos) << side_log;
  EXPECT_NE(side_log.find("side-term"), std::string::npos) << side_log;
  // main-term was logged before side-term (the CRI timestamps sort as text).
  auto line_of = [&](const std::string& c, const std::string& text) {
    for (const auto& l : split(
             sh(cat("cat ", dir_ / "logs", "/default_sideready_*/", c, "/0.log")).out, '\n', true))
      if (l.find(text) != std::string::npos) return l.substr(0, 35);
    return std::string();
  };
  std::string main_term = line_of("main", "main-term"), side_term = line_of("side", "side-term");
  ASSERT_FALSE(main_term.empty());
  ASSERT_FALSE(side_term.empty());
  EXPECT_LT(main_term, side_term);
  remove_and_expect_nothing_left("sideready");
}

TEST_F(ProbeTest, ExampleWebWithProbesBecomesReady) {
  run_pod(source_path("examples/web-with-probes.yaml"));
  json s;
  EXPECT_TRUE(wait_status(
      "web-probes", [](const json& s) { return condition(s, "Ready") == "True"; }, 8000, &s))
      << s;
  json server = container(s, "containerStatuses", "server");
  EXPECT_EQ(server["ready"], true) << s;
  EXPECT_EQ(server["restartCount"], 0) << s;
  EXPECT_EQ(container(s, "initContainerStatuses", "shipper")["started"], true) << s;
  // The readiness probe's requests reach the server's log, which the sidecar ships.
  std::string out;
  EXPECT_TRUE(wait_until(
      [&] {
        out = logs("web-probes", "shipper");
        return out.find("response:200") != std::string::npos;
      },
      5000))
      << out;
  remove_and_expect_nothing_left("web-probes");
}

}  // namespace
}  // namespace skiff::test
