// `skiff exec` into a running container: stdio and exit codes, the init's namespaces and cgroup,
// the process flags (--cwd --env --user -g --cap --process), the states that refuse an exec,
// fds (--preserve-fds, nothing leaked), the container's seccomp profile, and -t.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tests/support/runtime_fixture.hpp"

namespace skiff::test {
namespace {

constexpr uint64_t kCapNetAdmin = 1ull << 12;

uint64_t capmask(const json& report, const char* key) {
  return std::stoull(report["status"][key].get<std::string>(), nullptr, 16);
}

class Exec : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    before_ = HostSnapshot::take();
  }
  void TearDown() override {
    if (!is_root()) return;
    if (!id_.empty()) skiff_({"delete", "--force", id_});
    EXPECT_EQ(diff(before_, HostSnapshot::take()), "");
  }
  // Starts `sleep 60` detached in `b` (edited by the test first) and returns its init's pid.
  int start(Bundle& b) {
    b.set_args({"sleep", "60"});
    id_ = unique_id("exec");
    auto r = skiff_.detached({"run", "-d", "--bundle", b.dir(), id_});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto s = skiff_.state(id_);
    EXPECT_EQ(s.value("status", ""), "running") << s.dump();
    return s.value("pid", 0);
  }
  int start() { return start(bundle_); }
  // `exec ID [flags…] skiff-probe [actions…]`, the report parsed.
  json probe(const std::vector<std::string>& flags, const std::vector<std::string>& actions = {}) {
    std::vector<std::string> args = {"exec"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(id_);
    args.push_back("/bin/skiff-probe");
    args.insert(args.end(), actions.begin(), actions.end());
    auto r = skiff_(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = probe_report(r.out);
    EXPECT_TRUE(j.is_object()) << "no report; stdout: " << r.out << " stderr: " << r.err;
    return j;
  }

  Skiff skiff_;
  Bundle bundle_;
  std::string id_;
  HostSnapshot before_;
};

TEST_F(Exec, OutputAndExitCodePassThrough) {
  start();
  auto r = skiff_({"exec", id_, "sh", "-c", "read l; echo out:$l; echo err >&2; exit 7"}, "in\n");
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(r.out, "out:in\n");
  EXPECT_EQ(r.err, "err\n");
  auto ok = skiff_({"exec", id_, "true"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  // The container goes on running after its exec'd processes end.
  EXPECT_EQ(skiff_.state(id_)["status"], "running");
}

TEST_F(Exec, JoinsTheInitsNamespaces) {
  int init = start();
  auto j = probe({});
  for (const char* ns : {"pid", "net", "ipc", "uts", "mnt", "cgroup"}) {
    EXPECT_EQ(j["namespaces"][ns], ns_link(init, ns)) << ns;
  }
  for (const char* ns : {"pid", "net", "ipc", "uts", "mnt"}) {
    EXPECT_NE(j["namespaces"][ns], ns_link(0, ns)) << ns << " is the host's";
  }
  EXPECT_EQ(j["hostname"], "skiff");
  // Pid 1 is the init: the exec'd process is another pid in the same pid namespace.
  EXPECT_GT(j["pid"].get<int>(), 1);
}

TEST_F(Exec, DetachedProcessRunsInTheContainersCgroup) {
  int init = start();
  TempDir tmp;
  auto r = skiff_.detached({"exec", "-d", "--pid-file", tmp / "pid", id_, "sleep", "30"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string pid = read_file(tmp / "pid");
  ASSERT_FALSE(pid.empty());
  std::string cgroup = read_file("/proc/" + pid + "/cgroup");
  EXPECT_EQ(cgroup, read_file("/proc/" + std::to_string(init) + "/cgroup"));
  EXPECT_NE(cgroup.find("/" + id_ + "\n"), std::string::npos) << cgroup;
  EXPECT_EQ(read_file("/proc/" + pid + "/comm"), "sleep\n");
  auto ps = skiff_({"ps", "--format", "json", id_});
  ASSERT_EQ(ps.exit_code, 0) << ps.err;
  EXPECT_NE(json::parse(ps.out).dump().find(pid), std::string::npos) << ps.out;
}

TEST_F(Exec, CwdEnvUserAndExtraGroups) {
  start();
  auto j = probe({"--cwd", "/tmp", "--env", "HELLO=world", "-e", "TERM=dumb", "--user", "1000:1000",
                  "-g", "10", "--additional-gids", "20"});
  EXPECT_EQ(j["cwd"], "/tmp");
  // The container's env is the base; -e adds and overrides.
  EXPECT_EQ(j["env"], json({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                            "TERM=dumb", "HELLO=world"}));
  EXPECT_EQ(j["status"]["Uid"], "1000\t1000\t1000\t1000");
  EXPECT_EQ(j["status"]["Gid"], "1000\t1000\t1000\t1000");
  EXPECT_EQ(j["status"]["Groups"], "10 20 ");
}

// CVE-2022-29162: an added capability must not land in the inheritable (or ambient) set, from
// where a later execve of a file with inheritable file caps would pick it up.
TEST_F(Exec, AddedCapabilityIsNotInheritable) {
  start();
  auto plain = probe({});
  EXPECT_EQ(capmask(plain, "CapEff") & kCapNetAdmin, 0u);
  auto j = probe({"--cap", "CAP_NET_ADMIN"});
  EXPECT_NE(capmask(j, "CapEff") & kCapNetAdmin, 0u) << j["status"].dump();
  EXPECT_NE(capmask(j, "CapPrm") & kCapNetAdmin, 0u) << j["status"].dump();
  EXPECT_NE(capmask(j, "CapBnd") & kCapNetAdmin, 0u) << j["status"].dump();
  EXPECT_EQ(capmask(j, "CapInh") & kCapNetAdmin, 0u) << j["status"].dump();
  EXPECT_EQ(capmask(j, "CapAmb") & kCapNetAdmin, 0u) << j["status"].dump();
  // The config's own capabilities are still there.
  EXPECT_EQ(capmask(j, "CapBnd") & ~kCapNetAdmin, capmask(plain, "CapBnd"));
}

TEST_F(Exec, ProcessFileIsTakenAsIs) {
  start();
  TempDir tmp;
  json process = {{"args", {"/bin/skiff-probe"}},
                  {"cwd", "/home/user"},
                  {"env", {"PATH=/bin", "FROM=file"}},
                  {"user", {{"uid", 1000}, {"gid", 1000}, {"umask", 027}}},
                  {"noNewPrivileges", true}};
  write_file(tmp / "process.json", process.dump());
  auto r = skiff_({"exec", "--process", tmp / "process.json", id_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = probe_report(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["cwd"], "/home/user");
  EXPECT_EQ(j["env"], json({"PATH=/bin", "FROM=file"}));
  EXPECT_EQ(j["status"]["Uid"], "1000\t1000\t1000\t1000");
  EXPECT_EQ(j["umask"], 027);
  EXPECT_EQ(j["no_new_privs"], 1);
  // No capabilities object: no capabilities at all.
  EXPECT_EQ(capmask(j, "CapEff"), 0u);
  EXPECT_EQ(capmask(j, "CapBnd"), 0u);
}

TEST_F(Exec, PausedContainerIsRefused) {
  start();
  ASSERT_EQ(skiff_({"pause", id_}).exit_code, 0);
  auto r = skiff_({"exec", id_, "true"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("paused"), std::string::npos) << r.err;
  ASSERT_EQ(skiff_({"resume", id_}).exit_code, 0);
  EXPECT_EQ(skiff_({"exec", id_, "true"}).exit_code, 0);
}

TEST_F(Exec, StoppedContainerIsRefusedWithAClearMessage) {
  start();
  ASSERT_EQ(skiff_({"kill", id_, "KILL"}).exit_code, 0);
  ASSERT_TRUE(skiff_.wait_for_status(id_, "stopped"));
  auto r = skiff_({"exec", id_, "true"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("cannot exec in a stopped container"), std::string::npos) << r.err;
  auto missing = skiff_({"exec", "no-such-container", "true"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;
}

TEST_F(Exec, PreserveFdsPassesFd3AndNothingElseLeaks) {
  start();
  TempDir tmp;
  write_file(tmp / "passed", "through fd 3");
  std::string redirect = "3<'" + tmp / "passed" + "' 4<'" + tmp / "passed" + "'";
  auto with = skiff_.with_redirections(redirect, {"exec", "--preserve-fds", "1", id_, "sh", "-c",
                                                  "cat <&3; echo; exec /bin/skiff-probe"});
  ASSERT_EQ(with.exit_code, 0) << with.err;
  EXPECT_EQ(with.out.substr(0, 13), "through fd 3\n") << with.out;
  // fd 4 was open in the caller too, but only one fd was asked for.
  auto passed = probe_report(with.out);
  ASSERT_TRUE(passed.is_object()) << with.out;
  std::vector<int> passed_fds;
  for (const auto& fd : passed["fds"]) passed_fds.push_back(fd["fd"]);
  EXPECT_EQ(passed_fds, std::vector<int>({0, 1, 2, 3})) << passed["fds"].dump();

  auto without = skiff_.with_redirections(redirect, {"exec", id_, "/bin/skiff-probe"});
  ASSERT_EQ(without.exit_code, 0) << without.err;
  auto j = probe_report(without.out);
  ASSERT_TRUE(j.is_object()) << without.out;
  std::vector<int> seen;
  for (const auto& fd : j["fds"]) seen.push_back(fd["fd"]);
  EXPECT_EQ(seen, std::vector<int>({0, 1, 2})) << j["fds"].dump();
}

TEST_F(Exec, ContainersSeccompProfileApplies) {
  bundle_.config["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"architectures", {"SCMP_ARCH_X86_64"}},
      {"syscalls",
       {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", EPERM}}}}};
  start();
  auto j = probe({}, {"mkdir", "/tmp/denied", "write", "/tmp/allowed"});
  EXPECT_EQ(j["status"]["Seccomp"], "2");
  EXPECT_EQ(j["actions"][0]["errno"], EPERM) << j["actions"].dump();
  EXPECT_EQ(j["actions"][1]["rc"], 1) << j["actions"].dump();
  EXPECT_FALSE(std::filesystem::exists(bundle_.rootfs() + "/tmp/denied"));
}

TEST_F(Exec, TtyWithoutConsoleSocketGetsAPty) {
  start();
  auto r = skiff_({"exec", "-t", id_, "tty"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << r.out;
  auto plain = skiff_({"exec", id_, "tty"});
  EXPECT_NE(plain.out.find("not a tty"), std::string::npos) << plain.out;
  auto detached = skiff_.detached({"exec", "-t", "-d", id_, "tty"});
  EXPECT_NE(detached.exit_code, 0);
  EXPECT_NE(detached.err.find("--console-socket"), std::string::npos) << detached.err;
}

TEST_F(Exec, MissingBinaryIsReported) {
  start();
  auto r = skiff_({"exec", id_, "no-such-binary"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("executable file not found"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no-such-binary"), std::string::npos) << r.err;
  auto abs = skiff_({"exec", id_, "/bin/no-such-binary"});
  EXPECT_NE(abs.exit_code, 0);
  EXPECT_NE(abs.err.find("/bin/no-such-binary"), std::string::npos) << abs.err;
  // Nothing of the failed exec is left in the container.
  auto ps = skiff_({"ps", "--format", "json", id_});
  EXPECT_EQ(json::parse(ps.out).size(), 1u) << ps.out;
}

}  // namespace
}  // namespace skiff::test
