// Real pods through the real binaries: skiff-pod starts a daemonized skiff-shim per pod, which runs
// skiff-pause, the CNI bridge and the busybox fixture image's containers on this kernel. Every
// root is a temp dir; the network is a private bridge and subnet; each test proves that nothing
// is left behind (no veth, IP lease, runtime state, mount, cgroup, shim).

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <regex>
#include <thread>

#include "common/fs.hpp"
#include "oci/image/images.hpp"
#include "tests/integration/kubelet/pod_fixture.hpp"
#include "tests/unit/image/image_test_util.hpp"

namespace skiff::test {
namespace {

using namespace std::chrono_literals;

constexpr char kBridge[] = "skpodt0";
constexpr char kSubnet[] = "10.231.0.0/24";

// The busybox fixture image, imported once into a store shared by the suite; the back-off is
// short so the restart tests stay quick.
class PodTest : public PodFixture<kBridge, kSubnet> {
 protected:
  std::string backoff_ms() const override { return "200"; }
};

TEST_F(PodTest, InitThenMainWithCriLogsAndNothingLeft) {
  auto file = write_pod("ordered", R"Y(apiVersion: v1
kind: Pod
metadata: {name: ordered}
spec:
  restartPolicy: Never
  initContainers:
  - name: first
    image: busybox:1.35
    command: [sh, -c, 'echo first; sleep 0.2; echo first-done']
  - name: second
    image: busybox:1.35
    command: [sh, -c, 'echo second']
  containers:
  - name: main
    image: busybox:1.35
    command: [sh, -c]
    args: ['echo "host $(hostname)"; ip -4 addr show eth0 | grep -q "inet 10.231.0." && echo has-ip; echo oops >&2; exit 0']
)Y");
  auto r = pod({"run", "--wait", file});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("pod/ordered: Succeeded"), std::string::npos) << r.out;

  json s = status("ordered");
  EXPECT_EQ(s["phase"], "Succeeded");
  for (const char* init : {"first", "second"}) {
    json c = container(s, "initContainerStatuses", init);
    EXPECT_EQ(c["state"]["terminated"]["exitCode"], 0) << c;
    EXPECT_EQ(c["state"]["terminated"]["reason"], "Completed");
  }
  json main = container(s, "containerStatuses", "main");
  EXPECT_EQ(main["state"]["terminated"]["reason"], "Completed");
  EXPECT_EQ(main["restartCount"], 0);

  auto logs = pod({"logs", "ordered", "-c", "main"});
  EXPECT_EQ(logs.out, "host ordered\nhas-ip\noops\n") << logs.err;
  EXPECT_EQ(pod({"logs", "ordered", "-c", "first"}).out, "first\nfirst-done\n");

  // CRI format on disk, and the order: each init container ended before the next one began.
  auto files = sh(
      cat("cd ", dir_ / "logs", "/default_ordered_* && cat first/0.log second/0.log main/0.log"));
  std::regex line(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z (stdout|stderr) [PF] .*$)");
  std::vector<std::string> lines = split(files.out, '\n', true);
  ASSERT_EQ(lines.size(), 6u) << files.out;
  for (const auto& l : lines) EXPECT_TRUE(std::regex_match(l, line)) << l;
  EXPECT_NE(lines[5].find(" stderr F oops"), std::string::npos);
  for (size_t i = 1; i < lines.size(); ++i)  // RFC 3339 in UTC sorts as text
    EXPECT_LE(lines[i - 1].substr(0, 30), lines[i].substr(0, 30));

  expect_nothing_left();
  ASSERT_EQ(pod({"rm", "ordered"}).exit_code, 0);
  EXPECT_EQ(entries(dir_ / "state"), 0u);
  EXPECT_EQ(entries(dir_ / "logs"), 0u);
}

TEST_F(PodTest, FailedInitWithRestartNeverFailsThePod) {
  auto file = write_pod("badinit", R"(apiVersion: v1
kind: Pod
metadata: {name: badinit}
spec:
  restartPolicy: Never
  initContainers:
  - {name: init, image: busybox:1.35, command: [sh, -c, 'echo no; exit 5']}
  containers:
  - {name: main, image: busybox:1.35, command: [sh, -c, 'echo never']}
)");
  auto r = pod({"run", "--wait", file});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  json s = status("badinit");
  EXPECT_EQ(s["phase"], "Failed");
  json init = container(s, "initContainerStatuses", "init");
  EXPECT_EQ(init["state"]["terminated"]["exitCode"], 5);
  EXPECT_EQ(init["state"]["terminated"]["reason"], "Error");
  json main = container(s, "containerStatuses", "main");
  EXPECT_EQ(main["state"]["waiting"]["reason"], "PodInitializing") << main;
  EXPECT_NE(pod({"logs", "badinit", "-c", "main"}).exit_code, 0);  // it never ran
  expect_nothing_left();
}

TEST_F(PodTest, RestartAlwaysBacksOffAndKeepsEachRunsLog) {
  auto file = write_pod("crashy", R"(apiVersion: v1
kind: Pod
metadata: {name: crashy}
spec:
  containers:
  - {name: c, image: busybox:1.35, command: [sh, -c, 'echo run; exit 3']}
)");
  auto r = pod({"run", file});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json s;
  bool saw_backoff = false;
  ASSERT_TRUE(wait_until(
      [&] {
        s = status("crashy");
        json c = container(s, "containerStatuses", "c");
        if (c["state"].contains("waiting") && c["state"]["waiting"]["reason"] == "CrashLoopBackOff")
          saw_backoff = true;
        return c["restartCount"].is_number() && c["restartCount"].get<int>() >= 3;
      },
      10000))
      << s;
  EXPECT_TRUE(saw_backoff);
  json c = container(s, "containerStatuses", "c");
  EXPECT_EQ(c["lastState"]["terminated"]["exitCode"], 3) << c;
  EXPECT_EQ(c["lastState"]["terminated"]["reason"], "Error");
  EXPECT_EQ(s["phase"], "Running");
  // One log file per run: 0.log, 1.log, 2.log, ...
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(
        sh(cat("cat ", dir_ / "logs", "/default_crashy_*/c/", i, ".log | cut -d' ' -f2-")).out,
        "stdout F run\n");
  EXPECT_EQ(pod({"logs", "crashy", "--previous"}).out, "run\n");

  EXPECT_NE(pod({"rm", "crashy"}).exit_code, 0);  // running: needs -f
  auto rm = pod({"rm", "-f", "crashy"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  expect_nothing_left();
}

TEST_F(PodTest, OnFailureDoesNotRestartSuccess) {
  auto file = write_pod("job", R"(apiVersion: v1
kind: Pod
metadata: {name: job}
spec:
  restartPolicy: OnFailure
  containers:
  - {name: work, image: busybox:1.35, command: [sh, -c, 'echo done']}
)");
  auto r = pod({"run", "--wait", file});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json s = status("job");
  EXPECT_EQ(s["phase"], "Succeeded");
  EXPECT_EQ(container(s, "containerStatuses", "work")["restartCount"], 0);
  expect_nothing_left();
}

TEST_F(PodTest, ContainersTalkOverLocalhost) {
  // A web server and a client in one pod: the client reaches it on 127.0.0.1 (shared netns, lo up).
  auto file = write_pod("pair", R"Y(apiVersion: v1
kind: Pod
metadata: {name: pair}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: server
    image: busybox:1.35
    command: [sh, -c, 'mkdir -p /www && echo hello-over-lo > /www/index.html && exec httpd -f -p 8080 -h /www']
  - name: client
    image: busybox:1.35
    command: [sh, -c, 'for i in $(seq 1 100); do wget -qO- http://127.0.0.1:8080/ && exit 0; sleep 0.05; done; exit 1']
)Y");
  auto r = pod({"run", file});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json client;
  ASSERT_TRUE(wait_until(
      [&] {
        client = container(status("pair"), "containerStatuses", "client");
        return client["state"].contains("terminated");
      },
      10000));
  EXPECT_EQ(client["state"]["terminated"]["exitCode"], 0) << client;
  EXPECT_EQ(pod({"logs", "pair", "-c", "client"}).out, "hello-over-lo\n");
  auto rm = pod({"rm", "-f", "pair"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  expect_nothing_left();
}

TEST_F(PodTest, StopSendsSigtermThenKillsAfterTheGracePeriod) {
  // sleep is PID 1 of its pid namespace: SIGTERM (no handler) does nothing, SIGKILL ends it.
  auto file = write_pod("stubborn", R"(apiVersion: v1
kind: Pod
metadata: {name: stubborn}
spec:
  containers:
  - {name: s, image: busybox:1.35, command: [sleep, '1000']}
)");
  auto r = pod({"run", file});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("s: Running"), std::string::npos) << r.out;
  json s = status("stubborn");
  EXPECT_EQ(s["phase"], "Running");
  EXPECT_TRUE(container(s, "containerStatuses", "s")["ready"].get<bool>());
  auto ls = pod({"ls"});
  EXPECT_NE(ls.out.find("stubborn"), std::string::npos);
  EXPECT_NE(ls.out.find("1/1"), std::string::npos) << ls.out;

  // exec enters the running container (its hostname, its filesystem) and returns its status.
  auto ex = pod({"exec", "stubborn", "--", "sh", "-c", "hostname; exit 7"});
  EXPECT_EQ(ex.exit_code, 7) << ex.err;
  EXPECT_EQ(ex.out, "stubborn\n");

  auto t0 = std::chrono::steady_clock::now();
  auto stop = pod({"stop", "-t", "1", "stubborn"});
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 10s);
  s = status("stubborn");
  json c = container(s, "containerStatuses", "s");
  EXPECT_EQ(c["state"]["terminated"]["exitCode"], 137) << c;
  expect_nothing_left();
}

// A stop sends the image's StopSignal first: this container ignores SIGTERM and exits 0 on
// SIGUSR1 (its image's StopSignal), so it stops at once with 0 — SIGTERM would have left it to the
// grace period's SIGKILL (137).
TEST_F(PodTest, StopSendsTheImagesStopSignal) {
  image::test::LayoutBuilder b(dir_ / "stopsig-layout");
  auto [layers, diff_ids] = b.copy_base(*shared_ / "bb-oci");
  b.write_index(
      {{b.add_manifest(layers, diff_ids, {{"config", {{"StopSignal", "SIGUSR1"}}}}), "1"}});
  auto store = image::Store::open(*shared_ / "images");
  ASSERT_TRUE(store) << store.error().what();
  image::ImportOptions o;
  o.name = "stopsig:1";
  auto imported = image::import_archive(*store, b.dir(), o);
  ASSERT_TRUE(imported) << imported.error().what();
  auto file = write_pod("stopsig", R"(apiVersion: v1
kind: Pod
metadata: {name: stopsig}
spec:
  containers:
  - name: s
    image: stopsig:1
    command: [sh, -c, "trap '' TERM; trap 'exit 0' USR1; sleep 1000 & wait"]
)");
  auto r = pod({"run", file});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto t0 = std::chrono::steady_clock::now();
  auto stop = pod({"stop", "-t", "6", "stopsig"});
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_LT(took, 4s) << "waited for the grace period: the stop signal was not SIGUSR1";
  json c = container(status("stopsig"), "containerStatuses", "s");
  EXPECT_EQ(c["state"]["terminated"]["exitCode"], 0) << c;
  ASSERT_EQ(pod({"rm", "stopsig"}).exit_code, 0);
  expect_nothing_left();
}

TEST_F(PodTest, BadManifestCreatesNothing) {
  auto file = write_pod("bad", R"(apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  containers:
  - {name: a, image: busybox:1.35}
  - name: b
    image: busybox:1.35
    ports: [{containerPort: 0}]
)");
  auto r = pod({"run", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("spec.containers[1].ports[0].containerPort: must be 1-65535"),
            std::string::npos)
      << r.err;
  auto broken = pod({"run", write_pod("broken", "kind: Pod\nspec: [unclosed\n")});
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.err.find("invalid YAML at line"), std::string::npos) << broken.err;
  EXPECT_EQ(entries(dir_ / "state"), 0u);
  EXPECT_EQ(entries(dir_ / "logs"), 0u);
  expect_nothing_left();
}

// The pause runs in an empty root: a dynamically linked one cannot start there. The pod does not
// start, the error says why, and the cgroups, netns and pause process made for it are gone.
TEST_F(PodTest, APauseThatCannotStartLeavesNothing) {
  auto file = write_pod("nopause", R"(apiVersion: v1
kind: Pod
metadata: {name: nopause}
spec:
  containers:
  - {name: a, image: busybox:1.35, command: [sleep, '100']}
)");
  auto r = pod({"--pause-binary", "/bin/true", "run", "--detach", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("start the pause: exec the pause binary: No such file or directory (the "
                       "pause binary must be static"),
            std::string::npos)
      << r.err;
  EXPECT_NE(pod({"status", "nopause"}).exit_code, 0);
  expect_nothing_left();
}

// skiff-pause's one argument: a descriptor that is not a socket (or a number that is not one)
// is refused with its usage, not polled in a loop.
TEST(PauseBinary, RefusesAnFdStoreThatIsNotASocket) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"--fd-store", "x"}, {"--fd-store", "1"}, {"--fd-store", "7"}, {"--bogus"}}) {
    args.insert(args.begin(), binary("kubelet/skiff-pause"));
    auto r = run(args);
    EXPECT_EQ(r.exit_code, 2) << args[1];
    EXPECT_NE(r.err.find("usage: skiff-pause [--fd-store FD]"), std::string::npos) << r.err;
  }
}

TEST_F(PodTest, MissingImageIsErrImagePullNotACrash) {
  auto file = write_pod("noimage", R"(apiVersion: v1
kind: Pod
metadata: {name: noimage}
spec:
  containers:
  - {name: c, image: 'example.invalid/nothing:1', command: ['true']}
)");
  auto r = pod({"run", file});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("ErrImagePull"), std::string::npos) << r.err;
  json c = container(status("noimage"), "containerStatuses", "c");
  EXPECT_EQ(c["state"]["waiting"]["reason"], "ErrImagePull") << c;
  ASSERT_EQ(pod({"rm", "-f", "noimage"}).exit_code, 0);
  expect_nothing_left();
}

// A container whose image is present starts as soon as the store check ends (in the shim for
// a tag, else a child of it), not at the pull gate's 200 ms re-check. Six spellings of the one
// stored image: each is its own check, so five init containers and the main one cross five such
// gates; waiting for the re-check would put at least 5 x 200 ms between the first init container's
// line and the main container's, whatever the load.
TEST_F(PodTest, PresentImageStartsWhenItsCheckEndsNotAtTheRecheck) {
  auto file = write_pod("prompt", R"(apiVersion: v1
kind: Pod
metadata: {name: prompt}
spec:
  restartPolicy: Never
  initContainers:
  - {name: i1, image: busybox:1.35, command: [echo, i1]}
  - {name: i2, image: library/busybox:1.35, command: [echo, i2]}
  - {name: i3, image: docker.io/busybox:1.35, command: [echo, i3]}
  - {name: i4, image: docker.io/library/busybox:1.35, command: [echo, i4]}
  - {name: i5, image: index.docker.io/busybox:1.35, command: [echo, i5]}
  containers:
  - {name: main, image: index.docker.io/library/busybox:1.35, command: [echo, main]}
)");
  auto r = pod({"run", "--wait", file});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // The CRI log lines' RFC 3339 nanosecond times, as seconds of the day.
  auto first_line_at = [&](const std::string& c) {
    auto text = sh(cat("cat ", dir_ / "logs", "/default_prompt_*/", c, "/0.log")).out;
    std::smatch m;
    std::regex t(R"(^\d{4}-\d\d-\d\dT(\d\d):(\d\d):(\d\d(\.\d+)?)Z stdout F )");
    EXPECT_TRUE(std::regex_search(text, m, t)) << c << ": " << text;
    if (m.empty()) return 0.0;
    return std::stoi(m[1]) * 3600.0 + std::stoi(m[2]) * 60.0 + std::stod(m[3]);
  };
  double span = first_line_at("main") - first_line_at("i1");
  if (span < 0) span += 86400;  // midnight between them
  EXPECT_GT(span, 0.0);
  EXPECT_LT(span, 1.0) << "5 image gates took " << span << " s";
  ASSERT_EQ(pod({"rm", "prompt"}).exit_code, 0);
  expect_nothing_left();
}

TEST_F(PodTest, CommandNotFoundIsAStartError) {
  auto file = write_pod("nocmd", R"(apiVersion: v1
kind: Pod
metadata: {name: nocmd}
spec:
  restartPolicy: Never
  containers:
  - {name: c, image: busybox:1.35, command: [/no/such/binary]}
)");
  auto r = pod({"run", "--wait", file});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  json c = container(status("nocmd"), "containerStatuses", "c");
  EXPECT_EQ(c["state"]["terminated"]["reason"], "StartError") << c;
  EXPECT_EQ(c["state"]["terminated"]["exitCode"], 128);
  EXPECT_NE(c["state"]["terminated"]["message"].get<std::string>().find("/no/such/binary"),
            std::string::npos)
      << c;
  expect_nothing_left();
}

TEST_F(PodTest, KilledShimIsCleanedUpByRm) {
  auto file = write_pod("orphan", R"(apiVersion: v1
kind: Pod
metadata: {name: orphan}
spec:
  containers:
  - {name: s, image: busybox:1.35, command: [sleep, '1000']}
)");
  ASSERT_EQ(pod({"run", file}).exit_code, 0);
  auto pid = sh("pgrep -f '[s]kiff-shim --pod-dir " + dir_.path() + "'").out;
  ASSERT_FALSE(trim(pid).empty());
  ASSERT_EQ(::kill(std::stoi(pid), SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] { return sh("kill -0 " + std::string(trim(pid))).exit_code != 0; }));
  auto rm = pod({"rm", "-f", "orphan"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  // The containers' processes were children of the shim: they are gone with the cleanup.
  EXPECT_EQ(sh("pgrep -x 'sleep' -a | grep ' sleep 1000$'").out, "");
  expect_nothing_left();
}

// Two `rm -f` of one running pod at once (the kubelet's orphan pass and a start worker did this):
// the one that loses the race must not wait out the stop timeout for a pod directory the other
// already removed.
TEST_F(PodTest, TwoRemovesOfOnePodAtOnceBothEndPromptly) {
  auto file = write_pod("twice", R"(apiVersion: v1
kind: Pod
metadata: {name: twice}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: s, image: busybox:1.35, command: [sleep, '1000']}
)");
  ASSERT_EQ(pod({"run", file}).exit_code, 0);
  auto t0 = std::chrono::steady_clock::now();
  CommandResult a, b;
  std::thread other([&] { b = pod({"rm", "-f", "twice"}); });
  a = pod({"rm", "-f", "twice"});
  other.join();
  auto took = std::chrono::steady_clock::now() - t0;
  // One of them removed it; the other did too or found no pod of that name any more.
  EXPECT_TRUE(a.exit_code == 0 || b.exit_code == 0) << a.err << b.err;
  for (const auto* r : {&a, &b})
    if (r->exit_code != 0) {
      EXPECT_NE(r->err.find("twice"), std::string::npos) << r->err;
    }
  // The stop timeout is the grace period + 30 s; the losing rm waited all of it before.
  EXPECT_LT(took, 20s) << a.err << b.err;
  expect_nothing_left();
}

TEST_F(PodTest, NativeSidecarStartsFirstAndStopsLast) {
  // The sidecar serves on localhost; the next init container and the main container reach it, so
  // it was running before them. The main container ends the pod (a job): the sidecar does not
  // keep it alive, it gets SIGTERM after the main container is done.
  auto file = write_pod("withside", R"Y(apiVersion: v1
kind: Pod
metadata: {name: withside}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 5
  initContainers:
  - name: side
    image: busybox:1.35
    restartPolicy: Always
    command: [sh, -c, 'trap "echo side-stopping; exit 0" TERM; mkdir -p /www; echo side-says-hi > /www/index.html; httpd -p 8081 -h /www; while true; do sleep 0.1; done']
  - name: check
    image: busybox:1.35
    command: [sh, -c, 'for i in $(seq 1 100); do wget -qO- http://127.0.0.1:8081/ && exit 0; sleep 0.05; done; exit 1']
  containers:
  - name: main
    image: busybox:1.35
    command: [sh, -c, 'wget -qO- http://127.0.0.1:8081/ && echo main-done']
)Y");
  auto r = pod({"run", "--wait", "--timeout", "30", file});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json s = status("withside");
  EXPECT_EQ(s["phase"], "Succeeded");
  EXPECT_EQ(pod({"logs", "withside", "-c", "check"}).out, "side-says-hi\n");
  EXPECT_EQ(pod({"logs", "withside", "-c", "main"}).out, "side-says-hi\nmain-done\n");
  EXPECT_EQ(pod({"logs", "withside", "-c", "side"}).out, "side-stopping\n");
  json side = container(s, "initContainerStatuses", "side");
  EXPECT_EQ(side["state"]["terminated"]["exitCode"], 0) << side;
  EXPECT_EQ(side["restartCount"], 0);
  // The sidecar's last line was written after the main container's.
  auto main_log = sh(cat("cat ", dir_ / "logs", "/default_withside_*/main/0.log")).out;
  auto side_log = sh(cat("cat ", dir_ / "logs", "/default_withside_*/side/0.log")).out;
  EXPECT_LT(main_log.substr(0, 30), side_log.substr(0, 30));
  expect_nothing_left();
}

TEST_F(PodTest, MemoryLimitOomKillsWithReasonOOMKilled) {
  auto file = write_pod("hog", R"Y(apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  restartPolicy: Never
  containers:
  - name: hog
    image: busybox:1.35
    command: [sh, -c, 'echo start; tail /dev/zero']
    resources:
      limits: {memory: 16Mi}
)Y");
  auto r = pod({"run", "--wait", "--timeout", "60", file});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  json s = status("hog");
  EXPECT_EQ(s["phase"], "Failed");
  EXPECT_EQ(s["qosClass"], "Burstable");
  json c = container(s, "containerStatuses", "hog");
  EXPECT_EQ(c["state"]["terminated"]["reason"], "OOMKilled") << c;
  EXPECT_EQ(c["state"]["terminated"]["exitCode"], 137);
  expect_nothing_left();
}

TEST_F(PodTest, LogsRotateBySize) {
  auto file = write_pod("chatty", R"Y(apiVersion: v1
kind: Pod
metadata: {name: chatty}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox:1.35
    command: [sh, -c, 'for i in $(seq 1 400); do echo "line $i ................................................................"; done']
)Y");
  auto argv = std::vector<std::string>{
      "--container-log-max-size", "4096", "--container-log-max-files", "3", "run", "--wait", file};
  auto r = pod(argv);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto files = split(sh(cat("cd ", dir_ / "logs", "/default_chatty_*/c && ls")).out, '\n', true);
  ASSERT_EQ(files.size(), 3u) << sh(cat("ls -l ", dir_ / "logs", "/default_chatty_*/c")).out;
  EXPECT_EQ(files[0], "0.log");
  EXPECT_TRUE(files[1].starts_with("0.log.2"));  // 0.log.<UTC time>
  for (const auto& f : files) {
    auto size = std::stoul(sh(cat("stat -c %s ", dir_ / "logs", "/default_chatty_*/c/", f)).out);
    EXPECT_LT(size, 4096u + 200u) << f;
  }
  // The current file ends with the last line, in CRI format.
  auto logs = pod({"logs", "chatty"}).out;
  EXPECT_NE(logs.find("line 400 ...."), std::string::npos);
  EXPECT_EQ(logs.find("line 1 ...."), std::string::npos);  // rotated away
  expect_nothing_left();
}

TEST_F(PodTest, LogsFollowUntilTheContainerEnds) {
  auto file = write_pod("ticker", R"Y(apiVersion: v1
kind: Pod
metadata: {name: ticker}
spec:
  restartPolicy: Never
  containers:
  - {name: t, image: busybox:1.35, command: [sh, -c, 'for i in 1 2 3 4 5; do echo tick $i; sleep 0.2; done']}
)Y");
  ASSERT_EQ(pod({"run", file}).exit_code, 0);
  auto t0 = std::chrono::steady_clock::now();
  auto r = pod({"logs", "-f", "ticker"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 400ms);  // it waited for the later lines
  // The container has ended; the pod's teardown follows.
  EXPECT_TRUE(wait_until([&] { return entries(dir_ / "run/pods") == 0; }, 5000));
  expect_nothing_left();
}

TEST_F(PodTest, HostNetworkSharesTheHostsNetworkNamespace) {
  auto file = write_pod("hostnet", R"Y(apiVersion: v1
kind: Pod
metadata: {name: hostnet}
spec:
  hostNetwork: true
  restartPolicy: Never
  containers:
  - {name: c, image: busybox:1.35, command: [sh, -c, 'readlink /proc/self/ns/net; hostname']}
)Y");
  auto r = pod({"run", "--wait", file});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  EXPECT_EQ(pod({"logs", "hostnet"}).out, ns_link(0, "net") + "\n" + host + "\n");
  EXPECT_FALSE(status("hostnet").contains("podIP"));  // no CNI: the host's addresses
  expect_nothing_left();
}

TEST_F(PodTest, ShareProcessNamespace) {
  auto file = write_pod("sharedpid", R"Y(apiVersion: v1
kind: Pod
metadata: {name: sharedpid}
spec:
  shareProcessNamespace: true
  restartPolicy: Never
  containers:
  - {name: a, image: busybox:1.35, command: [sleep, '3']}
  - name: b
    image: busybox:1.35
    command: [sh, -c, 'sleep 0.5; ps -o pid,args; grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/1/status; ls /proc/1/root/ 2>&1; ls /proc/1/cwd/ 2>&1; cat /proc/1/fd/0 2>&1; exit 0']
)Y");
  auto r = pod({"run", "--wait", file});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto ps = pod({"logs", "sharedpid", "-c", "b"}).out;
  EXPECT_NE(ps.find("    1 /pause"), std::string::npos) << ps;  // the sandbox is PID 1
  EXPECT_NE(ps.find("sleep 3"), std::string::npos) << ps;       // the other container
  // The pause, visible to the pod's containers, holds nothing they could use: no capability,
  // no_new_privs, and neither its root, its cwd nor its fds (the fd store's pipes) can be opened
  // (it is not dumpable) — behind the first two only an empty read-only tmpfs anyway.
  EXPECT_NE(ps.find("CapEff:\t0000000000000000"), std::string::npos) << ps;
  EXPECT_NE(ps.find("CapBnd:\t0000000000000000"), std::string::npos) << ps;
  EXPECT_NE(ps.find("NoNewPrivs:\t1"), std::string::npos) << ps;
  EXPECT_NE(ps.find("/proc/1/root/: Permission denied"), std::string::npos) << ps;
  EXPECT_NE(ps.find("/proc/1/cwd/: Permission denied"), std::string::npos) << ps;
  EXPECT_NE(ps.find("/proc/1/fd/0': Permission denied"), std::string::npos) << ps;
  // A pod without it sees only itself.
  auto alone = write_pod("ownpid", R"Y(apiVersion: v1
kind: Pod
metadata: {name: ownpid}
spec:
  restartPolicy: Never
  containers:
  - {name: b, image: busybox:1.35, command: [sh, -c, 'ps -o pid,args']}
)Y");
  ASSERT_EQ(pod({"run", "--wait", alone}).exit_code, 0);
  EXPECT_EQ(pod({"logs", "ownpid"}).out.find("/pause"), std::string::npos);
  expect_nothing_left();
}

TEST_F(PodTest, Volumes) {
  std::string host_dir = dir_ / "hostdir";
  auto file = write_pod("vols", R"Y(apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {message: from-configmap}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
stringData: {token: t0ken}
---
apiVersion: v1
kind: Pod
metadata: {name: vols}
spec:
  restartPolicy: Never
  volumes:
  - {name: work, emptyDir: {}}
  - {name: scratch, emptyDir: {medium: Memory, sizeLimit: 1Mi}}
  - {name: cfg, configMap: {name: cfg}}
  - {name: sec, secret: {secretName: sec}}
  - {name: host, hostPath: {path: HOSTDIR, type: DirectoryOrCreate}}
  initContainers:
  - name: init
    image: busybox:1.35
    command: [sh, -c, 'echo from-init > /work/shared']
    volumeMounts: [{name: work, mountPath: /work}]
  containers:
  - name: main
    image: busybox:1.35
    command: [sh, -c, 'cat /w/shared /etc/cfg/message /etc/sec/token; echo; readlink /etc/cfg/..data | cut -c1-2; grep -c " /scratch tmpfs " /proc/mounts; touch /etc/cfg/x 2>/dev/null || echo cfg-read-only; echo hello-host > /host/out']
    volumeMounts:
    - {name: work, mountPath: /w, readOnly: true}
    - {name: scratch, mountPath: /scratch}
    - {name: cfg, mountPath: /etc/cfg}
    - {name: sec, mountPath: /etc/sec}
    - {name: host, mountPath: /host}
)Y");
  std::string text = read_file(file);
  text.replace(text.find("HOSTDIR"), 7, host_dir);
  write_file(file, text);
  auto r = pod({"run", "--wait", file});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(pod({"logs", "vols", "-c", "main"}).out,
            "from-init\nfrom-configmapt0ken\n..\n1\ncfg-read-only\n");
  EXPECT_EQ(read_file(host_dir + "/out"), "hello-host\n");  // hostPath: the host's directory
  EXPECT_FALSE(path_exists(sh(cat("ls -d ", dir_ / "state", "/*")).out + "/volumes"));
  expect_nothing_left();
}

TEST_F(PodTest, VolumeMountOfAMissingVolumeIsRejected) {
  auto r = pod({"run", write_pod("novol", R"Y(apiVersion: v1
kind: Pod
metadata: {name: novol}
spec:
  containers:
  - name: c
    image: busybox:1.35
    volumeMounts: [{name: data, mountPath: /data}]
)Y")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("spec.containers[0].volumeMounts[0].name: not found: no volume \"data\""),
            std::string::npos)
      << r.err;
  EXPECT_EQ(entries(dir_ / "state"), 0u);
}

// The manifests in examples/ run as documented.
TEST_F(PodTest, ExamplesRun) {
  struct Case {
    const char* file;
    const char* pod;
    const char* container;
    std::string expected;  // a regex the container's log must match
    bool completes;
  };
  const Case cases[] = {
      {"demo.yaml", "demo", "app", R"(hello from pod demo, ip 10\.231\.0\.\d+, pid 1, uid 0\n)",
       true},
      {"job.yaml", "sum-job", "sum", "sum 1..100 = 5050\n", true},
      {"init-prepares-volume.yaml", "prepared", "app", "<h1>Welcome</h1>\n", true},
      {"config-env.yaml", "config-env", "show",
       R"(hello from config-env at 10\.231\.0\.\d+ \(password has 6 characters\)\n)", true},
      {"web-and-client.yaml", "web", "client", "(waiting for the server\n)*(served from web\n)+",
       false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    std::string path = source_path(std::string("examples/") + c.file);
    auto r = c.completes ? pod({"run", "--wait", path}) : pod({"run", path});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    std::string logs;
    EXPECT_TRUE(wait_until(
        [&] {
          logs = pod({"logs", c.pod, "-c", c.container}).out;
          return std::regex_match(logs, std::regex(c.expected));
        },
        10000))
        << logs;
    auto rm = pod({"rm", "-f", c.pod});
    EXPECT_EQ(rm.exit_code, 0) << rm.err;
  }
  expect_nothing_left();
}

TEST_F(PodTest, SkiffPodExecsSkiffPod) {
  auto argv = globals();
  argv[0] = "pod";
  argv.insert(argv.begin(), binary("runtime/skiff"));
  argv.push_back("ls");
  auto r = run(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("NAME"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace skiff::test
