// What the container sees, reported by skiff-probe from the inside: namespaces, identity,
// capabilities, rlimits, mounts, devices, masked and read-only paths, hostname, sysctl, seccomp.
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "common/unique_fd.hpp"
#include "runtime/linux/sync.hpp"

#include "tests/support/runtime_fixture.hpp"

namespace skiff::test {
namespace {

class Isolation : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    before_ = HostSnapshot::take();
  }
  void TearDown() override {
    if (is_root()) {
      EXPECT_EQ(diff(before_, HostSnapshot::take()), "");
    }
  }
  // Runs the probe (plus actions) in the bundle and returns its report.
  json probe(Bundle& b, std::vector<std::string> actions = {}, int* exit_code = nullptr) {
    std::vector<std::string> args = {"/bin/skiff-probe"};
    args.insert(args.end(), actions.begin(), actions.end());
    b.set_args(args);
    auto r = skiff_({"run", "--bundle", b.dir(), unique_id("iso")});
    if (exit_code) {
      *exit_code = r.exit_code;
    } else {
      EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    auto j = probe_report(r.out);
    EXPECT_FALSE(j.is_null()) << "no report; stdout: " << r.out << " stderr: " << r.err;
    return j;
  }
  static std::string host_ns(const char* ns) {
    char buf[256];
    ssize_t n = readlink((std::string("/proc/self/ns/") + ns).c_str(), buf, sizeof buf);
    return n > 0 ? std::string(buf, n) : "";
  }
  static uint64_t capmask(const json& j, const char* key) {
    return std::stoull(j["status"][key].get<std::string>(), nullptr, 16);
  }

  Skiff skiff_;
  HostSnapshot before_;
};

TEST_F(Isolation, NewNamespacesAndHostname) {
  Bundle b;
  b.config["hostname"] = "probe-host";
  auto j = probe(b);
  for (const char* ns : {"pid", "net", "ipc", "uts", "mnt"})
    EXPECT_NE(j["namespaces"][ns], host_ns(ns)) << ns;
  EXPECT_EQ(j["hostname"], "probe-host");
  EXPECT_EQ(j["pid"], 1);
}

TEST_F(Isolation, CgroupAndTimeNamespaces) {
  Bundle b;
  b.config["linux"]["namespaces"].push_back({{"type", "cgroup"}});
  b.config["linux"]["namespaces"].push_back({{"type", "time"}});
  b.config["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 86400}, {"nanosecs", 0}}}};
  b.save();
  auto j = probe(b);
  EXPECT_NE(j["namespaces"]["cgroup"], host_ns("cgroup"));
  EXPECT_NE(j["namespaces"]["time"], host_ns("time"));
  // In its own cgroup namespace the container's cgroup is the root.
  EXPECT_NE(j["cgroup"].get<std::string>().find(":/\n"), std::string::npos) << j["cgroup"];
}

TEST_F(Isolation, JoinsAnExistingNetworkNamespaceByPath) {
  auto r = run({"ip", "netns", "add", "skiff-it-join"});
  if (r.exit_code != 0) GTEST_SKIP() << "ip netns add failed: " << r.err;
  Bundle b;
  for (auto& ns : b.config["linux"]["namespaces"])
    if (ns["type"] == "network") ns["path"] = "/var/run/netns/skiff-it-join";
  b.save();
  auto j = probe(b);
  char buf[256];
  ssize_t n = readlink("/var/run/netns/skiff-it-join", buf, sizeof buf);
  (void)n;
  struct stat st;
  ASSERT_EQ(stat("/var/run/netns/skiff-it-join", &st), 0);
  EXPECT_EQ(j["namespaces"]["net"], "net:[" + std::to_string(st.st_ino) + "]");
  run({"ip", "netns", "del", "skiff-it-join"});
}

TEST_F(Isolation, UserGroupsUmaskEnvCwd) {
  Bundle b;
  b.config["process"]["user"] = {
      {"uid", 1000}, {"gid", 1000}, {"additionalGids", {5, 6}}, {"umask", 077}};
  b.config["process"]["env"] = {"PATH=/bin", "HELLO=world"};
  b.config["process"]["cwd"] = "/tmp";
  b.save();
  auto j = probe(b);
  EXPECT_EQ(j["status"]["Uid"].get<std::string>().substr(0, 4), "1000");
  EXPECT_EQ(j["status"]["Gid"].get<std::string>().substr(0, 4), "1000");
  EXPECT_NE(j["status"]["Groups"].get<std::string>().find("5 6"), std::string::npos);
  EXPECT_EQ(j["umask"], 077);
  EXPECT_EQ(j["cwd"], "/tmp");
  EXPECT_EQ(j["env"], json({"PATH=/bin", "HELLO=world"}));
}

TEST_F(Isolation, CapabilitiesExactlyAsGiven) {
  Bundle b;
  b.config["process"]["capabilities"] = {{"bounding", {"CAP_NET_BIND_SERVICE", "CAP_KILL"}},
                                         {"effective", {"CAP_KILL"}},
                                         {"permitted", {"CAP_KILL"}},
                                         {"inheritable", json::array()},
                                         {"ambient", json::array()}};
  b.save();
  auto j = probe(b);
  const uint64_t kill = 1ull << 5, bind = 1ull << 10;
  EXPECT_EQ(capmask(j, "CapBnd"), kill | bind);
  EXPECT_EQ(capmask(j, "CapEff"), kill);
  EXPECT_EQ(capmask(j, "CapPrm"), kill);
  EXPECT_EQ(capmask(j, "CapInh"), 0u);
  EXPECT_EQ(capmask(j, "CapAmb"), 0u);
}

TEST_F(Isolation, NoNewPrivilegesRlimitsOomScore) {
  Bundle b;
  b.config["process"]["noNewPrivileges"] = true;
  b.config["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"hard", 512}, {"soft", 256}}};
  b.config["process"]["oomScoreAdj"] = 500;
  b.save();
  auto j = probe(b, {"read", "/proc/self/oom_score_adj"});
  EXPECT_EQ(j["no_new_privs"], 1);
  EXPECT_EQ(j["rlimits"]["RLIMIT_NOFILE"]["soft"], 256);
  EXPECT_EQ(j["rlimits"]["RLIMIT_NOFILE"]["hard"], 512);
}

TEST_F(Isolation, MaskedAndReadonlyPathsAndReadonlyRoot) {
  Bundle b;
  b.config["root"]["readonly"] = true;
  b.save();
  auto j = probe(b, {"write", "/proc/sys/kernel/domainname", "write", "/newfile"});
  auto a = j["actions"];
  EXPECT_EQ(a[0]["errno"], EROFS) << a.dump();
  EXPECT_EQ(a[1]["errno"], EROFS) << a.dump();
  // Masked: /proc/keys (a file: /dev/null over it) and /sys/firmware (a dir: empty tmpfs).
  std::string mi = j["mountinfo"];
  EXPECT_NE(mi.find(" /proc/keys "), std::string::npos) << mi;
  EXPECT_NE(mi.find(" /sys/firmware "), std::string::npos) << mi;
  b.set_args({"sh", "-c", "wc -c < /proc/keys; ls -A /sys/firmware | wc -l"});
  auto r = skiff_({"run", "--bundle", b.dir(), unique_id("mask")});
  EXPECT_EQ(r.out, "0\n0\n") << r.err;
}

TEST_F(Isolation, DefaultAndExtraDevices) {
  Bundle b;
  b.config["linux"]["devices"] = {{{"type", "c"},
                                   {"path", "/dev/fuse-like"},
                                   {"major", 1},
                                   {"minor", 3},
                                   {"fileMode", 0620},
                                   {"uid", 0},
                                   {"gid", 0}}};
  b.save();
  b.set_args({"sh", "-c",
              "stat -c '%n %t:%T %a' /dev/null /dev/zero /dev/full /dev/random /dev/urandom "
              "/dev/tty /dev/fuse-like; readlink /dev/fd; readlink /dev/ptmx; echo x > /dev/null"});
  auto r = skiff_({"run", "--bundle", b.dir(), unique_id("dev")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("/dev/null 1:3 666"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev/tty 5:0 666"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev/fuse-like 1:3 620"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/proc/self/fd\npts/ptmx"), std::string::npos) << r.out;
}

TEST_F(Isolation, BindMountsWithOptionsAndTmpfs) {
  TempDir host;
  write_file(host / "data.txt", "from-host");
  Bundle b;
  b.config["mounts"].push_back({{"destination", "/data"},
                                {"type", "bind"},
                                {"source", host.path()},
                                {"options", {"rbind", "ro"}}});
  b.config["mounts"].push_back({{"destination", "/scratch"},
                                {"type", "tmpfs"},
                                {"source", "tmpfs"},
                                {"options", {"size=1m", "mode=1777"}}});
  b.save();
  b.set_args({"sh", "-c",
              "cat /data/data.txt; echo; touch /data/new 2>&1; "
              "touch /scratch/ok && echo scratch-ok; stat -c %a /scratch"});
  auto r = skiff_({"run", "--bundle", b.dir(), unique_id("mnt")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("from-host"), std::string::npos);
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("scratch-ok\n1777"), std::string::npos) << r.out;
}

TEST_F(Isolation, TmpfsWithTmpcopyupKeepsTheImageFiles) {
  Bundle b;
  b.config["mounts"].push_back({{"destination", "/etc"},
                                {"type", "tmpfs"},
                                {"source", "tmpfs"},
                                {"options", {"tmpcopyup", "mode=755"}}});
  b.save();
  b.set_args({"sh", "-c",
              "grep -c root /etc/passwd; touch /etc/new && echo writable; "
              "grep ' /etc ' /proc/self/mountinfo | grep -c tmpfs"});
  auto r = skiff_({"run", "--bundle", b.dir(), unique_id("copyup")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\nwritable\n1\n");
  struct stat st;
  EXPECT_NE(stat((b.rootfs() + "/etc/new").c_str(), &st), 0) << "written into the image";
}

TEST_F(Isolation, NoPivotAndRootfsPropagation) {
  Bundle b({"sh", "-c", "ls /bin/busybox && grep -c ' / ' /proc/self/mountinfo"});
  b.config["linux"]["rootfsPropagation"] = "rprivate";
  b.save();
  auto r = skiff_({"run", "--no-pivot", "--bundle", b.dir(), unique_id("nopivot")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("/bin/busybox"), std::string::npos);
}

TEST_F(Isolation, SeccompDeniesWithErrno) {
  Bundle b;
  b.config["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"architectures", {"SCMP_ARCH_X86_64"}},
      {"syscalls",
       {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
  b.save();
  auto j = probe(b, {"mkdir", "/tmp/denied"});
  EXPECT_EQ(j["actions"][0]["errno"], EPERM);
  EXPECT_EQ(j["status"]["Seccomp"], "2");
}

// linux.seccomp.listenerPath through the real binary: a seccomp agent (this test) receives the
// notify fd and the container's state over SCM_RIGHTS, then answers the container's mkdir with
// EACCES — an errno no filter rule names, so only the agent can have produced it.
TEST_F(Isolation, SeccompNotifyAgentAnswersTheContainer) {
  TempDir dir("skiff-agent");
  std::string sock_path = dir.path() + "/agent.sock";
  UniqueFd server(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(server.valid());
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock_path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(server.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(server.get(), 1), 0);

  Bundle b;
  b.config["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"architectures", {"SCMP_ARCH_X86_64"}},
      {"listenerPath", sock_path},
      {"listenerMetadata", "agent-test"},
      {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_NOTIFY"}}}}};
  std::string id = unique_id("notify");

  // The agent: one connection, then answer every notification until the container is gone.
  std::string state_text;
  int answered = 0;
  std::string agent_error;
  std::thread agent([&] {
    struct pollfd p = {server.get(), POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) return void(agent_error = "the runtime never connected");
    UniqueFd conn(accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC));
    auto received = runtime::linux::recv_fd_over(conn.get(), &state_text);
    if (!received) return void(agent_error = received.error().what());
    UniqueFd listener = std::move(*received);
    while (true) {
      struct pollfd lp = {listener.get(), POLLIN, 0};
      if (poll(&lp, 1, 10000) != 1 || (lp.revents & POLLHUP)) return;  // no task left
      struct seccomp_notif req = {};
      if (ioctl(listener.get(), SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) continue;
      struct seccomp_notif_resp resp = {};
      resp.id = req.id;
      resp.error = -EACCES;
      if (ioctl(listener.get(), SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0) ++answered;
    }
  });
  b.set_args({"/bin/skiff-probe", "mkdir", "/tmp/by-agent"});
  auto r = skiff_({"run", "--bundle", b.dir(), id});
  agent.join();
  ASSERT_EQ(agent_error, "");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = probe_report(r.out);
  EXPECT_EQ(j["actions"][0]["errno"], EACCES) << r.out;
  EXPECT_GE(answered, 1);
  auto state = json::parse(state_text, nullptr, false);
  ASSERT_FALSE(state.is_discarded()) << state_text;
  EXPECT_EQ(state["fds"], json::array({"seccompFd"}));
  EXPECT_EQ(state["metadata"], "agent-test");
  EXPECT_EQ(state["state"]["id"], id);
  EXPECT_GT(state["state"]["pid"].get<int>(), 0);
}

TEST_F(Isolation, SysctlInOwnNamespaces) {
  Bundle b;
  b.config["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}, {"kernel.shmmax", "65536"}};
  b.save();
  b.set_args({"sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax"});
  auto r = skiff_({"run", "--bundle", b.dir(), unique_id("sysctl")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n65536\n");
}

TEST_F(Isolation, UserNamespaceWithMappings) {
  Bundle b;
  b.config["linux"]["namespaces"].push_back({{"type", "user"}});
  b.config["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  b.config["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  b.save();
  // The rootfs belongs to host root, which is unmapped (nobody) inside: reads still work.
  b.set_args({"sh", "-c", "cat /proc/self/uid_map; id -u"});
  auto r = skiff_({"run", "--bundle", b.dir(), unique_id("userns")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("100000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n0\n"), std::string::npos) << r.out;
}

TEST_F(Isolation, StdioPassesThroughUntouched) {
  Bundle b({"sh", "-c", "read line; echo got:$line; echo to-err >&2"});
  auto r = skiff_({"run", "--bundle", b.dir(), unique_id("stdio")}, "hello\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "got:hello\n");
  EXPECT_EQ(r.err, "to-err\n");
}

}  // namespace
}  // namespace skiff::test
