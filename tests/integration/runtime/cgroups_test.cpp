// Cgroups through the real binary: limits from the config seen on the host and inside, pids and
// device enforcement, update, pause/resume, events (stats and OOM), cgroupsPath placement and
// clean-up, and the cgroup mount inside the container. Written for the hierarchies this host has
// (v1 or hybrid: /sys/fs/cgroup/<controller>/…; pure v2 skips with a reason).
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "tests/support/runtime_fixture.hpp"

namespace skiff::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

// Every hierarchy mounted under /sys/fs/cgroup (real directories; "cpu,cpuacct"-style aliases
// are symlinks and skipped).
std::vector<std::string> hierarchies() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kCgroupRoot))
    if (e.is_directory() && !e.is_symlink()) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

std::string trimmed(const std::string& s) {
  auto end = s.find_last_not_of(" \n\t");
  return end == std::string::npos ? "" : s.substr(0, end + 1);
}

class Cgroups : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    if (!fs::exists(std::string(kCgroupRoot) + "/memory/memory.limit_in_bytes") ||
        !fs::exists(std::string(kCgroupRoot) + "/pids") ||
        !fs::exists(std::string(kCgroupRoot) + "/freezer"))
      GTEST_SKIP() << "written for cgroup v1 controllers (memory, pids, freezer) under "
                   << kCgroupRoot << "; this host has none";
    before_ = HostSnapshot::take();
  }
  void TearDown() override {
    if (!is_root() || IsSkipped()) return;
    for (const auto& id : ids_) skiff_({"delete", "--force", id});
    EXPECT_EQ(diff(before_, HostSnapshot::take()), "");
  }
  std::string new_id() {
    ids_.push_back(unique_id("cg"));
    return ids_.back();
  }
  // Starts `args` detached; returns the id.
  std::string run_detached(Bundle& b, const std::vector<std::string>& args) {
    b.set_args(args);
    std::string id = new_id();
    auto r = skiff_.detached({"run", "-d", "--bundle", b.dir(), id});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return id;
  }
  // A file of the container's cgroup in one hierarchy, as the host sees it.
  static std::string host_file(const std::string& id, const std::string& controller,
                               const std::string& file) {
    return trimmed(
        read_file(std::string(kCgroupRoot) + "/" + controller + "/skiff/" + id + "/" + file));
  }

  Skiff skiff_;
  HostSnapshot before_;
  std::vector<std::string> ids_;
};

TEST_F(Cgroups, LimitsFromTheConfigOnTheHostAndInside) {
  Bundle b;
  b.config["linux"]["resources"]["memory"] = {{"limit", 64 << 20}};
  b.config["linux"]["resources"]["cpu"] = {
      {"shares", 512}, {"quota", 50000}, {"period", 100000}, {"cpus", "0"}, {"mems", "0"}};
  b.config["linux"]["resources"]["pids"] = {{"limit", 10}};
  b.save();
  std::string id = run_detached(b, {"sleep", "60"});
  EXPECT_EQ(host_file(id, "memory", "memory.limit_in_bytes"), std::to_string(64 << 20));
  EXPECT_EQ(host_file(id, "cpu", "cpu.shares"), "512");
  EXPECT_EQ(host_file(id, "cpu", "cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(host_file(id, "cpu", "cpu.cfs_period_us"), "100000");
  EXPECT_EQ(host_file(id, "cpuset", "cpuset.cpus"), "0");
  EXPECT_EQ(host_file(id, "pids", "pids.max"), "10");
  // The container's /sys/fs/cgroup/<controller> is its own cgroup.
  auto r = skiff_({"exec", id, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                   "/sys/fs/cgroup/cpu/cpu.shares", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
                   "/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/cpuset/cpuset.cpus"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::to_string(64 << 20) + "\n512\n50000\n10\n0\n");
  // The init runs on the one cpu it was given.
  int pid = skiff_.state(id)["pid"];
  std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
  EXPECT_NE(status.find("Cpus_allowed_list:\t0\n"), std::string::npos) << status;
}

TEST_F(Cgroups, PidsLimitStopsForks) {
  Bundle b({"/bin/skiff-probe", "fork", "50"});
  b.config["linux"]["resources"]["pids"] = {{"limit", 10}};
  b.save();
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = probe_report(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  auto a = j["actions"][0];
  EXPECT_EQ(a["errno"], EAGAIN) << a.dump();
  // The probe itself is one of the 10.
  EXPECT_EQ(a["detail"]["count"], 9) << a.dump();

  // And busybox sees the same: a shell cannot start 50 background jobs.
  Bundle sh({"sh", "-c", "for i in $(seq 50); do sleep 5 & done 2>&1; echo done"});
  sh.config["linux"]["resources"]["pids"] = {{"limit", 10}};
  sh.save();
  auto s = skiff_({"run", "--bundle", sh.dir(), new_id()});
  EXPECT_NE(s.out.find("can't fork"), std::string::npos) << s.out << s.err;
}

TEST_F(Cgroups, UpdateChangesTheLimitsOfARunningContainer) {
  Bundle b;
  b.config["linux"]["resources"]["memory"] = {{"limit", 64 << 20}};
  b.save();
  std::string id = run_detached(b, {"sleep", "60"});
  auto u = skiff_({"update", "--memory", "128m", "--cpu-shares", "256", "--pids-limit", "20", id});
  ASSERT_EQ(u.exit_code, 0) << u.err;
  EXPECT_EQ(host_file(id, "memory", "memory.limit_in_bytes"), std::to_string(128 << 20));
  EXPECT_EQ(host_file(id, "cpu", "cpu.shares"), "256");
  EXPECT_EQ(host_file(id, "pids", "pids.max"), "20");
  // --resources - (containerd's way): the JSON on stdin.
  auto r = skiff_({"update", "--resources", "-", id}, R"({"pids": {"limit": 30}})");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(host_file(id, "pids", "pids.max"), "30");
  EXPECT_EQ(host_file(id, "memory", "memory.limit_in_bytes"), std::to_string(128 << 20));
  auto bad = skiff_({"update", "--memory", "lots", id});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--memory"), std::string::npos) << bad.err;
}

TEST_F(Cgroups, PauseFreezesAndResumeThaws) {
  Bundle b;
  std::string id =
      run_detached(b, {"sh", "-c", "while :; do echo x >> /tmp/ticks; usleep 20000; done"});
  std::string ticks = b.rootfs() + "/tmp/ticks";
  ASSERT_TRUE(wait_until([&] { return read_file(ticks).size() >= 4; }));
  ASSERT_EQ(skiff_({"pause", id}).exit_code, 0);
  EXPECT_EQ(skiff_.state(id)["status"], "paused");
  EXPECT_EQ(host_file(id, "freezer", "freezer.state"), "FROZEN");
  size_t frozen_at = read_file(ticks).size();
  usleep(200000);
  EXPECT_EQ(read_file(ticks).size(), frozen_at) << "a frozen container went on writing";
  auto again = skiff_({"resume", id});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(skiff_.state(id)["status"], "running");
  EXPECT_EQ(host_file(id, "freezer", "freezer.state"), "THAWED");
  EXPECT_TRUE(wait_until([&] { return read_file(ticks).size() > frozen_at; }));
  auto twice = skiff_({"resume", id});
  EXPECT_NE(twice.exit_code, 0);
  EXPECT_NE(twice.err.find("not paused"), std::string::npos) << twice.err;
  // A paused container can be force-deleted (it is thawed to let SIGKILL through).
  ASSERT_EQ(skiff_({"pause", id}).exit_code, 0);
  auto del = skiff_({"delete", "--force", id});
  EXPECT_EQ(del.exit_code, 0) << del.err;
  EXPECT_NE(skiff_({"state", id}).exit_code, 0);
}

TEST_F(Cgroups, EventsStatsReportUsage) {
  Bundle b;
  std::string id = run_detached(b, {"sh", "-c", "sleep 60 & sleep 60"});
  ASSERT_TRUE(wait_until([&] {
    auto ps = skiff_({"ps", "--format", "json", id});
    return json::parse(ps.out, nullptr, false).size() == 2;
  }));
  auto r = skiff_({"events", "--stats", id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["type"], "stats");
  EXPECT_EQ(j["id"], id);
  EXPECT_GT(j["data"]["memory"]["usage"]["usage"].get<uint64_t>(), 0u) << r.out;
  EXPECT_EQ(j["data"]["pids"]["current"].get<uint64_t>(), 2u) << r.out;
  EXPECT_GT(j["data"]["cpu"]["usage"]["total"].get<uint64_t>(), 0u) << r.out;
  auto stopped = skiff_({"events", "--stats", "no-such-container"});
  EXPECT_NE(stopped.exit_code, 0);
}

// The container's shell survives; the probe that allocates past the 16 MiB limit is OOM-killed,
// and `events` (following) reports it.
TEST_F(Cgroups, OomKillIsReportedByEvents) {
  Bundle b;
  b.config["linux"]["resources"]["memory"] = {{"limit", 16 << 20}};
  if (fs::exists(std::string(kCgroupRoot) + "/memory/memory.memsw.limit_in_bytes"))
    b.config["linux"]["resources"]["memory"]["swap"] = 16 << 20;
  b.save();
  std::string id = run_detached(b, {"sleep", "60"});
  CommandResult events;
  std::thread follower([&] { events = skiff_({"events", "--interval", "10s", id}); });
  usleep(300000);  // events reads the starting count first
  auto hog = skiff_({"exec", id, "/bin/skiff-probe", "alloc", "64"});
  EXPECT_EQ(hog.exit_code, 128 + SIGKILL) << hog.out << hog.err;
  EXPECT_EQ(probe_report(hog.out), json()) << "the allocation succeeded";
  std::string oom_control =
      read_file(std::string(kCgroupRoot) + "/memory/skiff/" + id + "/memory.oom_control");
  EXPECT_NE(oom_control.find("oom_kill 1"), std::string::npos) << oom_control;
  usleep(500000);  // events polls the counter every 200 ms
  EXPECT_EQ(skiff_.state(id)["status"], "running") << "only the hog dies";
  ASSERT_EQ(skiff_({"kill", id, "KILL"}).exit_code, 0);
  follower.join();  // the stream ends with the container
  EXPECT_NE(events.out.find(R"({"id":")" + id + R"(","type":"oom"})"), std::string::npos)
      << events.out << events.err;
}

// linux.cgroupsPath absolute and relative, nested below dirs skiff creates: in every hierarchy,
// and all of it gone after delete.
TEST_F(Cgroups, CgroupsPathNestedIsCreatedAndRemoved) {
  for (bool absolute : {true, false}) {
    Bundle b;
    std::string id = new_id();
    std::string path = std::string(absolute ? "/" : "") + "skiff-it/nested/" + id;
    b.config["linux"]["cgroupsPath"] = path;
    b.save();
    b.set_args({"sleep", "60"});
    ASSERT_EQ(skiff_.detached({"run", "-d", "--bundle", b.dir(), id}).exit_code, 0);
    int pid = skiff_.state(id)["pid"];
    std::string own = read_file("/proc/" + std::to_string(pid) + "/cgroup");
    EXPECT_NE(own.find("memory:/skiff-it/nested/" + id + "\n"), std::string::npos) << own;
    for (const auto& h : hierarchies()) {
      std::string dir = std::string(kCgroupRoot) + "/" + h + "/skiff-it/nested/" + id;
      EXPECT_TRUE(fs::is_directory(dir)) << dir;
      EXPECT_NE(read_file(dir + "/cgroup.procs").find(std::to_string(pid)), std::string::npos)
          << dir;
    }
    ASSERT_EQ(skiff_({"delete", "--force", id}).exit_code, 0);
    for (const auto& h : hierarchies()) {
      std::string dir = std::string(kCgroupRoot) + "/" + h + "/skiff-it";
      EXPECT_FALSE(fs::exists(dir)) << dir << " left behind (" << path << ")";
    }
  }
}

TEST_F(Cgroups, CgroupMountInsideTheContainer) {
  Bundle b({"sh", "-c",
            "ls /sys/fs/cgroup; cat /sys/fs/cgroup/pids/pids.max; "
            "touch /sys/fs/cgroup/pids/x 2>&1; cat /proc/self/cgroup"});
  b.config["linux"]["resources"]["pids"] = {{"limit", 42}};
  b.save();
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& h : hierarchies())
    EXPECT_NE(r.out.find(h + "\n"), std::string::npos) << h << " missing in: " << r.out;
  EXPECT_NE(r.out.find("\n42\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;

  // In a cgroup namespace the container's own cgroup is "/" everywhere.
  b.config["linux"]["namespaces"].push_back({{"type", "cgroup"}});
  b.save();
  auto ns = skiff_({"run", "--bundle", b.dir(), new_id()});
  ASSERT_EQ(ns.exit_code, 0) << ns.err;
  EXPECT_NE(ns.out.find("\n42\n"), std::string::npos) << ns.out;
  for (const auto& line : {"memory:/\n", "pids:/\n", "0::/\n"})
    EXPECT_NE(ns.out.find(line), std::string::npos) << line << " in " << ns.out;
  EXPECT_EQ(ns.out.find(":/skiff/"), std::string::npos) << ns.out;
}

// The default config denies every device, and the runtime allows the standard ones plus
// linux.devices (as runc does). A node made with mknod is only usable when a rule allows it.
TEST_F(Cgroups, DeviceRulesAreEnforced) {
  Bundle b({"/bin/skiff-probe", "mknod-dev", "/tmp/fuse=10:229", "open-dev", "/tmp/fuse",
            "mknod-dev", "/tmp/tun=10:200", "open-dev", "/tmp/tun", "mknod-dev", "/tmp/null=1:3",
            "open-dev", "/tmp/null"});
  for (const char* set : {"bounding", "effective", "permitted"})
    b.config["process"]["capabilities"][set].push_back("CAP_MKNOD");
  b.save();
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto a = probe_report(r.out)["actions"];
  ASSERT_EQ(a.size(), 6u) << r.out;
  EXPECT_EQ(a[0]["rc"], 0) << "mknod is allowed for any char device: " << a[0].dump();
  EXPECT_EQ(a[1]["errno"], EPERM) << "10:229 is not allowed: " << a[1].dump();
  EXPECT_GE(a[3]["rc"].get<int>(), 0) << "10:200 (tun) is a default: " << a[3].dump();
  EXPECT_GE(a[5]["rc"].get<int>(), 0) << "1:3 (null) is a default: " << a[5].dump();

  // An explicit rule opens it up.
  b.config["linux"]["resources"]["devices"].push_back(
      {{"allow", true}, {"type", "c"}, {"major", 10}, {"minor", 229}, {"access", "rw"}});
  b.save();
  auto allowed = skiff_({"run", "--bundle", b.dir(), new_id()});
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  auto a2 = probe_report(allowed.out)["actions"];
  EXPECT_GE(a2[1]["rc"].get<int>(), 0) << a2[1].dump();
}

}  // namespace
}  // namespace skiff::test
