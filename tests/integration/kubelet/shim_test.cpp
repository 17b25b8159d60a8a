// Shim re-adoption on real pods: the shim is killed with SIGKILL; the next `skiff pod status`
// finds its socket dead, starts a new shim that takes the running containers over (same pids,
// nothing started twice), their output written since is not lost (the fd store kept the pipes),
// an adopted container that then ends is reported, and the pod still stops and cleans up.

#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <thread>

#include "kubelet/shim/shim.hpp"
#include "tests/integration/kubelet/pod_fixture.hpp"

namespace skiff::test {
namespace {

using namespace std::chrono_literals;

constexpr char kShimBridge[] = "skshim0";
constexpr char kShimSubnet[] = "10.234.0.0/24";

class ShimTest : public PodFixture<kShimBridge, kShimSubnet> {
 protected:
  // The roots skiff-pod uses here, for starting pods in process (create_pod), as the kubelet does.
  kubelet::NodeConfig node_config() const {
    kubelet::NodeConfig n;
    n.state_root = dir_ / "state";
    n.run_root = dir_ / "run";
    n.log_root = dir_ / "logs";
    n.image_root = *shared_ / "images";
    n.snapshot_root = *shared_ / "snapshots";
    n.cni_conf_dir = dir_ / "net.d";
    n.cni_cache_dir = dir_ / "cni-cache";
    n.cni_bin_dirs = {binary("cni")};
    n.pause_binary = binary("kubelet/skiff-pause");
    n.pull_binary = binary("runtime/skiff-pull");
    return n;
  }
  // The shim's pid from its checkpoint.
  std::string shim_pid() const {
    auto j = json::parse(sh(cat("cat ", dir_ / "state", "/*/status.json")).out, nullptr, false);
    return j.is_discarded() ? "" : std::to_string(j.value("shimPid", 0));
  }
  // CVE-2019-5736: the shim's binary is a read-only view (a read-only overlay, or a write-sealed
  // memfd), which skiff-pod hands it at exec (or it re-execs itself into).
  static bool runs_sealed(const std::string& pid) {
    int fd = ::open(cat("/proc/", pid, "/exe").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct statfs sfs;
    struct statvfs svfs;
    int seals = fcntl(fd, F_GET_SEALS);
    bool ro = (seals >= 0 && (seals & F_SEAL_WRITE)) ||
              (fstatfs(fd, &sfs) == 0 && sfs.f_type == OVERLAYFS_SUPER_MAGIC &&
               fstatvfs(fd, &svfs) == 0 && (svfs.f_flag & ST_RDONLY));
    ::close(fd);
    return ro;
  }
};

TEST_F(ShimTest, KilledShimIsReplacedAndThePodReadopted) {
  auto file = write_pod("adopt", R"Y(apiVersion: v1
kind: Pod
metadata: {name: adopt}
spec:
  containers:
  - name: talker
    image: busybox:1.35
    command: [sh, -c, 'i=0; while true; do echo "line $i"; i=$((i+1)); sleep 0.1; done']
  - name: ender
    image: busybox:1.35
    command: [sh, -c, 'while [ ! -e /tmp/stop ]; do sleep 0.1; done; exit 3']
)Y");
  ASSERT_EQ(pod({"run", "--detach", file}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] {
    auto s = status("adopt");
    return container(s, "talker")["state"].contains("running") &&
           container(s, "ender")["state"].contains("running");
  }));
  json before = status("adopt");
  std::string old_shim = shim_pid();
  ASSERT_NE(old_shim, "0");
  ASSERT_FALSE(old_shim.empty());
  EXPECT_TRUE(runs_sealed(old_shim));
  // The containers' processes (pids seen from the host, through the runtime's cgroup).
  std::string pids_before = sh("pgrep -f '[w]hile true; do echo' | sort").out;
  ASSERT_FALSE(trim(pids_before).empty());

  ASSERT_EQ(::kill(std::stoi(old_shim), SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] { return sh("kill -0 " + old_shim).exit_code != 0; }));
  std::this_thread::sleep_for(500ms);  // the talker writes on into the kept pipe

  json after = status("adopt");  // finds the shim dead: a new one re-adopts the pod
  EXPECT_EQ(after["phase"], "Running") << after;
  std::string new_shim = shim_pid();
  EXPECT_NE(new_shim, "0");
  EXPECT_NE(new_shim, old_shim);
  EXPECT_TRUE(runs_sealed(new_shim));
  for (const char* name : {"talker", "ender"}) {
    json c = container(after, name);
    EXPECT_TRUE(c["state"].contains("running")) << c;
    EXPECT_EQ(c["restartCount"], 0) << c;  // never started twice
    EXPECT_EQ(c["ready"], true) << c;
    EXPECT_EQ(c["containerID"], container(before, name)["containerID"]);
  }
  EXPECT_EQ(sh("pgrep -f '[w]hile true; do echo' | sort").out, pids_before);

  // The output goes on into the same log, with no gap: the lines written while no shim read
  // waited in the pipe.
  std::string logs;
  ASSERT_TRUE(wait_until(
      [&] {
        logs = pod({"logs", "adopt", "-c", "talker"}).out;
        return logs.find("line 20\n") != std::string::npos;
      },
      10000))
      << logs;
  for (int i = 0; i <= 20; ++i)
    EXPECT_NE(logs.find(cat("line ", i, "\n")), std::string::npos) << "line " << i << " lost";

  // An adopted container that ends: its status is reported (the exit code is not ours to see).
  ASSERT_EQ(pod({"exec", "adopt", "-c", "ender", "--", "touch", "/tmp/stop"}).exit_code, 0);
  json ender;
  ASSERT_TRUE(wait_until(
      [&] {
        ender = container(status("adopt"), "ender");
        return ender["restartCount"] == 1 || ender["state"].contains("terminated");
      },
      10000))
      << ender;
  EXPECT_EQ(ender["lastState"]["terminated"]["reason"], "ContainerStatusUnknown") << ender;

  ASSERT_EQ(pod({"stop", "adopt", "-t", "1"}).exit_code, 0);
  ASSERT_EQ(pod({"rm", "adopt"}).exit_code, 0);
  EXPECT_EQ(sh("pgrep -f '[w]hile true; do echo'").out, "");
  expect_nothing_left();
}

// A shim that dies before its first checkpoint names the sandbox (no status.json): `rm -f` finds
// the pause it started through the file it wrote beside it, and removes the pause, its cgroup,
// the pod cgroup, the network attachment and the containers.
TEST_F(ShimTest, PodOfAShimDeadBeforeItsFirstCheckpointIsRemovedWhole) {
  auto file = write_pod("early", R"Y(apiVersion: v1
kind: Pod
metadata: {name: early, uid: 5eed0000-early}
spec:
  containers:
  - {name: c, image: busybox:1.35, command: [sleep, '1000']}
)Y");
  ASSERT_EQ(pod({"run", "--detach", file}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return status("early")["phase"] == "Running"; }));
  auto pause_file = dir_ / "run/pods/5eed0000-early/pause";
  auto fields = split(trim(sh("cat " + pause_file).out), ' ', true);
  ASSERT_EQ(fields.size(), 2u) << pause_file;
  std::string pause = fields[0];
  EXPECT_EQ(trim(sh(cat("cat /proc/", pause, "/comm")).out), "pause");
  std::string shim = shim_pid();
  ASSERT_EQ(::kill(std::stoi(shim), SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] { return sh("kill -0 " + shim).exit_code != 0; }));
  ASSERT_EQ(sh(cat("rm ", dir_ / "state", "/*/status.json")).exit_code, 0);

  auto r = pod({"rm", "-f", "early"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_TRUE(wait_until([&] { return sh(cat("kill -0 ", pause)).exit_code != 0; }))
      << "the pause " << pause << " is still running";
  EXPECT_EQ(sh("pgrep -x sleep -a | grep -w 1000").out, "");
  expect_nothing_left();
}

// The kubelet starts pods in its own process (create_pod, no skiff-pod exec): the shim forked
// from a daemon must inherit none of its descriptors (Asio's sockets lack O_CLOEXEC: a kubelet
// socket kept by every shim would outlive the kubelet), its signal mask or its ignored signals —
// nor may the pod's containers, which also start with the SIGPIPE the shim ignores at default.
TEST_F(ShimTest, ShimStartedInProcessInheritsNoFdsMaskOrIgnoredSignals) {
  const std::string text = R"Y(apiVersion: v1
kind: Pod
metadata: {name: inherit}
spec:
  containers:
  - {name: c, image: busybox:1.35, command: [sh, -c, 'sleep 1000 & wait']}
)Y";
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);  // without SOCK_CLOEXEC
  struct stat st {};
  ASSERT_EQ(::fstat(sv[0], &st), 0);
  const std::string ours = cat("socket:[", st.st_ino, "]");
  sigset_t usr1, saved;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &usr1, &saved), 0);
  auto old_usr2 = ::signal(SIGUSR2, SIG_IGN);

  auto m = kubelet::parse_manifest(text, "inherit.yaml");
  ASSERT_TRUE(m) << m.error().what();
  auto rec =
      kubelet::create_pod(node_config(), *m, text, "inherit.yaml", binary("kubelet/skiff-shim"));
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  ::signal(SIGUSR2, old_usr2);
  ::close(sv[0]);
  ::close(sv[1]);
  ASSERT_TRUE(rec) << rec.error().what();
  ASSERT_TRUE(
      wait_until([&] { return container(status("inherit"), "c")["state"].contains("running"); }));

  std::string shim = shim_pid();
  ASSERT_FALSE(shim.empty());
  EXPECT_TRUE(runs_sealed(shim));
  // Exec'd through /proc/self/fd/4, it names itself for ps and pgrep.
  EXPECT_EQ(trim(sh(cat("cat /proc/", shim, "/comm")).out), "skiff-shim");
  std::string sleeper = std::string(trim(sh("pgrep -xf 'sleep 1000' | head -1").out));
  ASSERT_FALSE(sleeper.empty());
  for (const auto& pid : {shim, sleeper}) {
    std::string fds = sh(cat("ls -l /proc/", pid, "/fd")).out;
    EXPECT_EQ(fds.find(ours), std::string::npos) << pid << " holds our socket:\n" << fds;
    // Nor the sealed view of the shim's binary it was exec'd through.
    EXPECT_EQ(fds.find("skiff-shim"), std::string::npos) << pid << ":\n" << fds;
    // SigBlk/SigIgn are hex masks, bit N-1 for signal N.
    for (auto [field, sig] : {std::pair{"SigBlk", SIGUSR1}, std::pair{"SigIgn", SIGUSR2}}) {
      std::string mask(trim(sh(cat("sed -n 's/^", field, ":\\s*//p' /proc/", pid, "/status")).out));
      ASSERT_FALSE(mask.empty()) << pid;
      EXPECT_EQ(std::stoull(mask, nullptr, 16) & (1ull << (sig - 1)), 0u)
          << pid << " " << field << " " << mask;
    }
  }
  // The pod's pause, also its fd store (skiff-pause --fd-store), keeps none of the shim's
  // descriptors: beyond stdio only sockets (its listener, clients) and the container pipes it
  // was handed.
  std::string store(trim(sh(cat("pgrep -P ", shim, " -x pause")).out));
  ASSERT_FALSE(store.empty());
  std::string listing =
      sh(cat("for f in /proc/", store, "/fd/*; do echo \"${f##*/} $(readlink $f)\"; done")).out;
  int beyond_stdio = 0;
  for (std::string_view line : split(listing, '\n')) {
    if (line.empty()) continue;
    auto sp = line.find(' ');
    ASSERT_NE(sp, std::string_view::npos) << line;
    if (std::stoi(std::string(line.substr(0, sp))) <= 2) continue;
    ++beyond_stdio;
    std::string_view target = line.substr(sp + 1);
    EXPECT_TRUE(target.starts_with("socket:[") || target.starts_with("pipe:["))
        << "the fd store holds " << line << "\n"
        << listing;
  }
  EXPECT_GE(beyond_stdio, 1) << listing;  // its listener at least
  // The shim ignores SIGPIPE; its containers must not (`yes | head` would never end).
  std::string ign(trim(sh(cat("sed -n 's/^SigIgn:\\s*//p' /proc/", sleeper, "/status")).out));
  ASSERT_FALSE(ign.empty());
  EXPECT_EQ(std::stoull(ign, nullptr, 16) & (1ull << (SIGPIPE - 1)), 0u) << "SigIgn " << ign;

  ASSERT_EQ(pod({"stop", "inherit", "-t", "1"}).exit_code, 0);
  ASSERT_EQ(pod({"rm", "inherit"}).exit_code, 0);
  expect_nothing_left();
}

// The kubelet's shims come from a ShimZygote: one sealed skiff-shim, started at the first pod,
// that forks each pod's shim. The shims must be what spawn_shim makes — sealed, each in its own
// session, named for their pod in ps (pgrep -f finds them by pod directory), holding none of the
// zygote's descriptors — a zygote that died or whose binary was replaced is started again at the
// next pod, and the zygote ends with its owner while the shims run on.
TEST_F(ShimTest, ZygoteForksShimsLikeSpawnShimIsReplacedWhenKilledOrUpgradedEndsWithItsOwner) {
  // A copy of the binary: the test replaces it.
  const std::string shim = dir_ / "skiff-shim";
  ASSERT_EQ(sh(cat("cp ", binary("kubelet/skiff-shim"), " ", shim)).exit_code, 0);
  auto zygote = std::make_unique<kubelet::ShimZygote>(shim);
  auto start = [&](const std::string& name) -> std::string {
    std::string text = cat("apiVersion: v1\nkind: Pod\nmetadata: {name: ", name,
                           "}\nspec:\n  containers:\n"
                           "  - {name: c, image: busybox:1.35, command: [sleep, '1000']}\n");
    auto m = kubelet::parse_manifest(text, name + ".yaml");
    if (!m) return "";
    auto rec = kubelet::create_pod(node_config(), *m, text, name + ".yaml",
                                   [&](const std::string& dir) { return zygote->spawn(dir); });
    EXPECT_TRUE(rec) << rec.error().what();
    return rec ? rec->uid : "";
  };
  auto shim_of = [&](const std::string& uid) {
    return std::string(
        trim(sh(cat("pgrep -f '^skiff-shim --pod-dir ", dir_ / "state", "/", uid, " '")).out));
  };
  auto ppid = [](const std::string& pid) {
    return std::string(trim(sh(cat("awk '{print $4}' /proc/", pid, "/stat")).out));
  };
  EXPECT_EQ(zygote->pid(), -1) << "the zygote starts with the first pod";
  std::string a = start("za");
  ASSERT_FALSE(a.empty());
  pid_t z = zygote->pid();
  ASSERT_GT(z, 0);
  std::string zs = std::to_string(z);
  EXPECT_EQ(trim(sh(cat("cat /proc/", zs, "/comm")).out), "skiff-zygote");
  EXPECT_TRUE(runs_sealed(zs));
  // The zygote holds stdio and its socket, nothing else (not the sealed view it ran from).
  EXPECT_EQ(trim(sh(cat("ls /proc/", zs, "/fd | sort -n | tr '\\n' ' '")).out), "0 1 2 3");
  std::string socket = std::string(trim(sh(cat("readlink /proc/", zs, "/fd/3")).out));
  ASSERT_TRUE(socket.starts_with("socket:[")) << socket;

  // Once the container runs (its init, a fork of the shim, has the shim's command line until
  // it execs).
  ASSERT_TRUE(
      wait_until([&] { return container(status("za"), "c")["state"].contains("running"); }));
  std::string shim_a = shim_of(a);
  ASSERT_FALSE(shim_a.empty()) << sh("ps -eo pid,args | grep [s]kiff-shim").out;
  EXPECT_EQ(ppid(shim_a), zs);  // its child, reaped by the kernel (SIGCHLD ignored)
  // In a session of its own (signals to the zygote's session or group do not reach it), with
  // SIGCHLD not ignored (its containers' exits must reach it).
  EXPECT_EQ(trim(sh(cat("ps -o sid= -p ", shim_a)).out), shim_a);
  std::string ign(trim(sh(cat("sed -n 's/^SigIgn:\\s*//p' /proc/", shim_a, "/status")).out));
  ASSERT_FALSE(ign.empty());
  EXPECT_EQ(std::stoull(ign, nullptr, 16) & (1ull << (SIGCHLD - 1)), 0u) << "SigIgn " << ign;
  EXPECT_EQ(trim(sh(cat("cat /proc/", shim_a, "/comm")).out), "skiff-shim");
  EXPECT_TRUE(runs_sealed(shim_a));
  std::string fds = sh(cat("ls -l /proc/", shim_a, "/fd")).out;
  EXPECT_EQ(fds.find(socket), std::string::npos) << "the shim holds the zygote's socket:\n" << fds;
  EXPECT_TRUE(
      wait_until([&] { return container(status("za"), "c")["state"].contains("running"); }));

  // Killed, the zygote is replaced at the next pod; its shim runs on, no longer its child.
  ASSERT_EQ(::kill(z, SIGKILL), 0);
  std::string b = start("zb");
  ASSERT_FALSE(b.empty());
  pid_t z2 = zygote->pid();
  EXPECT_GT(z2, 0);
  EXPECT_NE(z2, z);
  EXPECT_FALSE(path_exists(cat("/proc/", zs))) << "the killed zygote was not reaped";
  EXPECT_EQ(sh(cat("kill -0 ", shim_a)).exit_code, 0);
  EXPECT_NE(ppid(shim_a), zs);
  ASSERT_TRUE(
      wait_until([&] { return container(status("zb"), "c")["state"].contains("running"); }));
  std::string shim_b = shim_of(b);
  ASSERT_FALSE(shim_b.empty());

  // A new skiff-shim on disk (an upgrade) gets a new zygote at the next pod.
  ASSERT_EQ(sh(cat("cp ", shim, " ", shim, ".new && mv ", shim, ".new ", shim)).exit_code, 0);
  ASSERT_FALSE(start("zc").empty());
  pid_t z3 = zygote->pid();
  EXPECT_GT(z3, 0);
  EXPECT_NE(z3, z2);
  EXPECT_FALSE(path_exists(cat("/proc/", z2))) << "the outdated zygote was not ended";
  ASSERT_TRUE(
      wait_until([&] { return container(status("zc"), "c")["state"].contains("running"); }));

  // Its owner gone, the zygote ends (EOF on its socket) and is reaped; the shims stay.
  zygote.reset();
  EXPECT_FALSE(path_exists(cat("/proc/", z3)));
  EXPECT_EQ(sh(cat("kill -0 ", shim_a, " && kill -0 ", shim_b)).exit_code, 0);
  for (const char* name : {"za", "zb", "zc"}) {
    auto r = pod({"rm", "-f", name});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  expect_nothing_left();
}

// A zygote that cannot start leaves the pod to spawn_shim: the error names the binary and the
// cause, and the failed create_pod leaves nothing behind.
TEST_F(ShimTest, ZygoteThatCannotStartLeavesThePodToSpawnShimWhoseErrorNamesTheCause) {
  const std::string missing = dir_ / "no-such-skiff-shim";
  kubelet::ShimZygote zygote(missing);
  const std::string text =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: nozygote}\nspec:\n  containers:\n"
      "  - {name: c, image: busybox:1.35, command: [sleep, '1000']}\n";
  auto m = kubelet::parse_manifest(text, "nozygote.yaml");
  ASSERT_TRUE(m) << m.error().what();
  auto rec = kubelet::create_pod(node_config(), *m, text, "nozygote.yaml",
                                 [&](const std::string& dir) { return zygote.spawn(dir); });
  ASSERT_FALSE(rec);
  EXPECT_NE(rec.error().what().find(missing), std::string::npos) << rec.error().what();
  EXPECT_NE(rec.error().what().find("No such file or directory"), std::string::npos)
      << rec.error().what();
  EXPECT_EQ(zygote.pid(), -1);
  EXPECT_EQ(entries(dir_ / "state"), 0u) << sh(cat("ls -R ", dir_ / "state")).out;
  expect_nothing_left();
}

// skiff-shim --zygote is for ShimZygote only: a bad descriptor or anything but empty arguments
// after it is a usage error, before anything is done.
TEST_F(ShimTest, ZygoteArgumentsAreCheckedStrictly) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--zygote", "x"},
                                        {"--zygote", "1"},
                                        {"--zygote", ""},
                                        {"--zygote", "3", "", "--pod-dir"}}) {
    args.insert(args.begin(), binary("kubelet/skiff-shim"));
    auto r = run(args);
    EXPECT_EQ(r.exit_code, 2) << args[2];
    EXPECT_NE(r.err.find("usage: skiff-shim --zygote FD"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace skiff::test
