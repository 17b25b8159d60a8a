// The runc lifecycle through the real binary: create/start/state/kill/delete, run, errors, and
// that every path — success or failure — leaves no mount, cgroup, process or state dir behind.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "tests/support/runtime_fixture.hpp"

namespace skiff::test {
namespace {

class Lifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    before_ = HostSnapshot::take();
  }
  void TearDown() override {
    if (!is_root()) return;
    for (const auto& id : ids_) skiff_({"delete", "--force", id});
    EXPECT_EQ(diff(before_, HostSnapshot::take()), "");
  }
  std::string new_id() {
    ids_.push_back(unique_id("life"));
    return ids_.back();
  }
  json state(const std::string& id) {
    auto r = skiff_({"state", id});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  Skiff skiff_;
  HostSnapshot before_;
  std::vector<std::string> ids_;
};

TEST_F(Lifecycle, RunReturnsTheExitCode) {
  Bundle b({"sh", "-c", "echo out; echo err >&2; exit 3"});
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(skiff_({"list", "-q"}).out, "");
}

TEST_F(Lifecycle, RunKilledBySignalReports128PlusN) {
  // The init of a pid namespace cannot be killed from inside it: kill it from outside.
  Bundle b({"sleep", "60"});
  std::string id = new_id();
  CommandResult r;
  std::thread runner([&] { r = skiff_({"run", "--bundle", b.dir(), id}); });
  for (int i = 0; i < 200; ++i) {
    auto s = skiff_({"state", id});
    if (s.exit_code == 0 && json::parse(s.out)["status"] == "running") break;
    usleep(10000);
  }
  EXPECT_EQ(skiff_({"kill", id, "KILL"}).exit_code, 0);
  runner.join();
  EXPECT_EQ(r.exit_code, 128 + 9) << r.err;
  EXPECT_NE(skiff_({"state", id}).exit_code, 0) << "foreground run deletes the container";
}

TEST_F(Lifecycle, ExecFailureAfterStartIsReportedAndCleanedUp) {
  // Found and executable, but not a program: execve itself fails (ENOEXEC) after `start`.
  Bundle b({"/bin/garbage"});
  write_file(b.rootfs() + "/bin/garbage", "\x01\x02not a program");
  chmod((b.rootfs() + "/bin/garbage").c_str(), 0755);
  for (bool detach : {false, true}) {
    std::string id = new_id();
    std::vector<std::string> args = {"run", "--bundle", b.dir(), id};
    if (detach) args.insert(args.begin() + 1, "-d");
    auto r = detach ? skiff_.detached(args) : skiff_(args);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("Exec format error"), std::string::npos) << r.err;
    EXPECT_NE(skiff_({"state", id}).exit_code, 0) << "state left behind";
  }
}

TEST_F(Lifecycle, CreateStartStateKillDelete) {
  Bundle b({"sleep", "60"});
  std::string id = new_id();
  TempDir tmp;
  std::string pid_file = tmp / "pid";
  auto c = skiff_.detached({"create", "--bundle", b.dir(), "--pid-file", pid_file, id});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto s = state(id);
  EXPECT_EQ(s["status"], "created");
  EXPECT_EQ(s["id"], id);
  EXPECT_EQ(s["ociVersion"].get<std::string>().substr(0, 2), "1.");
  int pid = s["pid"];
  EXPECT_GT(pid, 0);
  EXPECT_EQ(read_file(pid_file), std::to_string(pid));
  // The init waits on the exec fifo: it is not yet sleep.
  EXPECT_EQ(read_file("/proc/" + std::to_string(pid) + "/comm"), "skiff\n");

  ASSERT_EQ(skiff_({"start", id}).exit_code, 0);
  EXPECT_EQ(state(id)["status"], "running");
  for (int i = 0; i < 100 && read_file("/proc/" + std::to_string(pid) + "/comm") != "sleep\n"; ++i)
    usleep(10000);
  EXPECT_EQ(read_file("/proc/" + std::to_string(pid) + "/comm"), "sleep\n");

  auto again = skiff_({"start", id});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("cannot start an already running container"), std::string::npos);

  auto del = skiff_({"delete", id});
  EXPECT_NE(del.exit_code, 0);
  EXPECT_NE(del.err.find("not stopped"), std::string::npos) << del.err;

  ASSERT_EQ(skiff_({"kill", id, "KILL"}).exit_code, 0);
  for (int i = 0; i < 200 && state(id)["status"] != "stopped"; ++i) usleep(10000);
  EXPECT_EQ(state(id)["status"], "stopped");
  auto k = skiff_({"kill", id, "TERM"});
  EXPECT_NE(k.exit_code, 0);
  EXPECT_NE(k.err.find("container not running"), std::string::npos) << k.err;
  ASSERT_EQ(skiff_({"delete", id}).exit_code, 0);
  auto gone = skiff_({"state", id});
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_NE(gone.err.find("container \"" + id + "\" does not exist"), std::string::npos);
}

TEST_F(Lifecycle, DeleteOfCreatedContainerKillsTheInit) {
  Bundle b({"true"});
  std::string id = new_id();
  ASSERT_EQ(skiff_.detached({"create", "--bundle", b.dir(), id}).exit_code, 0);
  int pid = state(id)["pid"];
  ASSERT_EQ(skiff_({"delete", id}).exit_code, 0);
  // Gone, or a zombie waiting for the host's init to reap it.
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.empty()) {
    EXPECT_EQ(stat.substr(stat.rfind(')') + 2, 1), "Z") << stat;
  }
}

TEST_F(Lifecycle, ForceDeleteOfRunningContainer) {
  Bundle b({"sleep", "60"});
  std::string id = new_id();
  ASSERT_EQ(skiff_.detached({"run", "--detach", "--bundle", b.dir(), id}).exit_code, 0);
  EXPECT_EQ(state(id)["status"], "running");
  ASSERT_EQ(skiff_({"delete", "--force", id}).exit_code, 0);
  EXPECT_NE(skiff_({"state", id}).exit_code, 0);
}

TEST_F(Lifecycle, KillSignalForms) {
  Bundle b({"sh", "-c", "trap 'exit 42' USR1; while :; do sleep 0.1; done"});
  for (std::string sig : {"USR1", "SIGUSR1", "10", "sigusr1"}) {
    std::string id = new_id();
    ASSERT_EQ(skiff_.detached({"run", "-d", "--bundle", b.dir(), id}).exit_code, 0);
    usleep(100000);
    auto k = skiff_({"kill", id, sig});
    EXPECT_EQ(k.exit_code, 0) << sig << ": " << k.err;
    for (int i = 0; i < 200 && state(id)["status"] != "stopped"; ++i) usleep(10000);
    EXPECT_EQ(state(id)["status"], "stopped") << sig;
  }
  auto bad = skiff_({"kill", ids_.back(), "NOTASIGNAL"});
  EXPECT_NE(bad.exit_code, 0);
}

TEST_F(Lifecycle, KillAllReachesEveryProcess) {
  Bundle b({"sh", "-c", "sleep 60 & sleep 60 & wait"});
  std::string id = new_id();
  ASSERT_EQ(skiff_.detached({"run", "-d", "--bundle", b.dir(), id}).exit_code, 0);
  usleep(200000);
  auto ps = skiff_({"ps", "--format", "json", id});
  ASSERT_EQ(ps.exit_code, 0) << ps.err;
  EXPECT_GE(json::parse(ps.out).size(), 3u);
  ASSERT_EQ(skiff_({"kill", "--all", id, "KILL"}).exit_code, 0);
  for (int i = 0; i < 200 && state(id)["status"] != "stopped"; ++i) usleep(10000);
  EXPECT_EQ(state(id)["status"], "stopped");
}

TEST_F(Lifecycle, DuplicateIdRefusedWithoutHarmingTheFirst) {
  Bundle b({"sleep", "60"});
  std::string id = new_id();
  ASSERT_EQ(skiff_.detached({"create", "--bundle", b.dir(), id}).exit_code, 0);
  auto again = skiff_.detached({"create", "--bundle", b.dir(), id});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("exists"), std::string::npos) << again.err;
  EXPECT_EQ(state(id)["status"], "created");
}

TEST_F(Lifecycle, ListAndStateJson) {
  Bundle b({"sleep", "60"});
  std::string id = new_id();
  b.config["annotations"] = {{"org.example.key", "value"}};
  b.save();
  ASSERT_EQ(skiff_.detached({"create", "--bundle", b.dir(), id}).exit_code, 0);
  auto l = skiff_({"list", "--format", "json"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  auto arr = json::parse(l.out);
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0]["id"], id);
  EXPECT_EQ(arr[0]["status"], "created");
  auto table = skiff_({"list"});
  EXPECT_NE(table.out.find("ID"), std::string::npos);
  EXPECT_NE(table.out.find(id), std::string::npos);
  EXPECT_EQ(state(id)["annotations"]["org.example.key"], "value");
  EXPECT_EQ(state(id)["bundle"], b.dir());
}

TEST_F(Lifecycle, JsonLogFormatEndsWithErrorLine) {
  TempDir tmp;
  std::string log = tmp / "log.json";
  auto r = skiff_({"--log", log, "--log-format=json", "kill", "no-such-id", "KILL"});
  EXPECT_NE(r.exit_code, 0);
  std::string text = read_file(log);
  ASSERT_FALSE(text.empty());
  auto last = text.substr(text.rfind('{'));
  auto j = json::parse(last);
  EXPECT_EQ(j["level"], "error");
  EXPECT_NE(j["msg"].get<std::string>().find("does not exist"), std::string::npos);
  auto r2 = skiff_({"--log", log, "--log-format", "json", "state", "no-such-id"});
  EXPECT_NE(r2.exit_code, 0);
}

TEST_F(Lifecycle, VersionAndFeatures) {
  auto v = run({Skiff::binary_path(), "--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("skiff version ", 0), 0u) << v.out;
  EXPECT_NE(v.out.find("\ncommit: "), std::string::npos);
  EXPECT_NE(v.out.find("\nspec: 1."), std::string::npos);
  auto f = skiff_({"features"});
  ASSERT_EQ(f.exit_code, 0);
  auto j = json::parse(f.out);
  EXPECT_EQ(j["ociVersionMin"], "1.0.0");
  EXPECT_TRUE(j["linux"]["seccomp"]["enabled"].get<bool>());
  EXPECT_FALSE(j["annotations"]["org.skiff.cgroup.mode"].get<std::string>().empty());
}

TEST_F(Lifecycle, SpecWritesAValidDefaultConfig) {
  TempDir dir;
  auto r = skiff_({"spec", "--bundle", dir.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(read_file(dir / "config.json"));
  EXPECT_EQ(j["root"]["path"], "rootfs");
  auto again = skiff_({"spec", "--bundle", dir.path()});
  EXPECT_NE(again.exit_code, 0);
}

}  // namespace
}  // namespace skiff::test

namespace skiff::test {
namespace {

// The leak detector itself must see a leak: a mount, a cgroup dir and a child process.
TEST(HostSnapshotTest, SeesWhatIsLeftBehind) {
  SKIFF_REQUIRE_ROOT();
  TempDir dir("skiff-snapshot");
  auto before = HostSnapshot::take();
  ASSERT_EQ(run({"mount", "-t", "tmpfs", "tmpfs", dir.path()}).exit_code, 0);
  auto after = HostSnapshot::take();
  EXPECT_NE(diff(before, after).find("mount left behind: " + dir.path()), std::string::npos)
      << diff(before, after);
  run({"umount", dir.path()});
  EXPECT_EQ(diff(before, HostSnapshot::take()), "");
  std::string cg = "/sys/fs/cgroup/pids/skiff/snapshot-test";
  run({"mkdir", "-p", cg});
  EXPECT_NE(diff(before, HostSnapshot::take()).find("cgroup left behind: " + cg),
            std::string::npos);
  run({"rmdir", cg});
}

}  // namespace
}  // namespace skiff::test
