// Cgroups through the real binary on a pure cgroup v2 host (the VM lane runs these inside a guest
// with Debian's kernel: tests/vm/cgroups_test.sh). The v2 counterparts of
// tests/integration/runtime/cgroups_test.cpp: memory.max/low/swap.max/high, cpu.weight and
// cpu.max, cpuset, pids.max and the `unified` map on the host and inside; update; pause/resume
// through cgroup.freeze; events --stats and an OOM kill from memory.events; the eBPF device filter;
// nested and relative cgroupsPath; clean removal. Elsewhere they skip with the reason.
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "tests/support/runtime_fixture.hpp"

namespace skiff::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRoot = "/sys/fs/cgroup";
constexpr int kSlow = 30000;  // ms: under emulation a container start takes ~30x the host's

std::string trimmed(const std::string& s) {
  auto end = s.find_last_not_of(" \n\t");
  return end == std::string::npos ? "" : s.substr(0, end + 1);
}

bool pure_v2() {
  struct statfs st {};
  return statfs(kRoot, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

class CgroupsV2 : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    if (!pure_v2())
      GTEST_SKIP() << kRoot << " is not a cgroup2 mount (pure v2 only; run it in the VM lane: "
                   << "scripts/vm/run.sh -- build/tests/vm_runtime_cgroups_v2)";
    std::string controllers = read_file(std::string(kRoot) + "/cgroup.subtree_control");
    for (const char* c : {"memory", "cpu", "cpuset", "pids"})
      if (controllers.find(c) == std::string::npos)
        GTEST_SKIP() << "controller " << c << " not enabled in " << kRoot
                     << "/cgroup.subtree_control: " << controllers;
    before_ = HostSnapshot::take();
  }
  void TearDown() override {
    if (!is_root() || IsSkipped()) return;
    for (const auto& id : ids_) skiff_({"delete", "--force", id});
    EXPECT_EQ(diff(before_, HostSnapshot::take()), "");
  }
  std::string new_id() {
    ids_.push_back(unique_id("v2"));
    return ids_.back();
  }
  std::string run_detached(Bundle& b, const std::vector<std::string>& args) {
    b.set_args(args);
    std::string id = new_id();
    auto r = skiff_.detached({"run", "-d", "--bundle", b.dir(), id});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return id;
  }
  // A file of the container's cgroup (default path /skiff/<id>) as the host sees it.
  static std::string cg(const std::string& id, const std::string& file) {
    return trimmed(read_file(std::string(kRoot) + "/skiff/" + id + "/" + file));
  }

  Skiff skiff_;
  HostSnapshot before_;
  std::vector<std::string> ids_;
};

TEST_F(CgroupsV2, LimitsFromTheConfigOnTheHostAndInside) {
  Bundle b;
  auto& res = b.config["linux"]["resources"];
  res["memory"] = {{"limit", 64 << 20}, {"reservation", 32 << 20}, {"swap", 96 << 20}};
  res["cpu"] = {
      {"shares", 512}, {"quota", 50000}, {"period", 100000}, {"cpus", "0"}, {"mems", "0"}};
  res["pids"] = {{"limit", 10}};
  res["unified"] = {{"memory.high", std::to_string(48 << 20)}};
  b.save();
  std::string id = run_detached(b, {"sleep", "60"});
  EXPECT_EQ(cg(id, "memory.max"), std::to_string(64 << 20));
  EXPECT_EQ(cg(id, "memory.low"), std::to_string(32 << 20));
  if (fs::exists(std::string(kRoot) + "/skiff/" + id + "/memory.swap.max")) {
    EXPECT_EQ(cg(id, "memory.swap.max"), std::to_string(32 << 20)) << "swap is memory+swap";
  }
  EXPECT_EQ(cg(id, "memory.high"), std::to_string(48 << 20));
  EXPECT_EQ(cg(id, "cpu.weight"), "20") << "shares 512 -> 1 + (510 * 9999) / 262142";
  EXPECT_EQ(cg(id, "cpu.max"), "50000 100000");
  EXPECT_EQ(cg(id, "cpuset.cpus"), "0");
  EXPECT_EQ(cg(id, "cpuset.mems"), "0");
  EXPECT_EQ(cg(id, "pids.max"), "10");

  // The init joined its cgroup itself (clone3 CLONE_INTO_CGROUP) and runs on its one cpu.
  int pid = skiff_.state(id)["pid"];
  EXPECT_EQ(read_file("/proc/" + std::to_string(pid) + "/cgroup"), "0::/skiff/" + id + "\n");
  std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
  EXPECT_NE(status.find("Cpus_allowed_list:\t0\n"), std::string::npos) << status;

  // Inside, /sys/fs/cgroup is the container's own cgroup, read-only; exec joins it too.
  auto r = skiff_({"exec", id, "sh", "-c",
                   "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max; "
                   "cat /proc/self/cgroup; touch /sys/fs/cgroup/x 2>&1; echo done"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(std::to_string(64 << 20) + "\n10\n50000 100000\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("0::/skiff/" + id + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;
}

TEST_F(CgroupsV2, PidsLimitStopsForks) {
  Bundle b({"/bin/skiff-probe", "fork", "50"});
  b.config["linux"]["resources"]["pids"] = {{"limit", 10}};
  b.save();
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto a = probe_report(r.out)["actions"][0];
  EXPECT_EQ(a["errno"], EAGAIN) << a.dump();
  EXPECT_EQ(a["detail"]["count"], 9) << "the probe itself is one of the 10: " << a.dump();
}

TEST_F(CgroupsV2, UpdateChangesTheLimitsOfARunningContainer) {
  Bundle b;
  b.config["linux"]["resources"]["memory"] = {{"limit", 64 << 20}};
  b.save();
  std::string id = run_detached(b, {"sleep", "60"});
  auto u = skiff_({"update", "--memory", "128m", "--cpu-shares", "256", "--cpu-quota", "20000",
                   "--cpu-period", "100000", "--pids-limit", "20", id});
  ASSERT_EQ(u.exit_code, 0) << u.err;
  EXPECT_EQ(cg(id, "memory.max"), std::to_string(128 << 20));
  EXPECT_EQ(cg(id, "cpu.weight"), "10") << "shares 256 -> 1 + (254 * 9999) / 262142";
  EXPECT_EQ(cg(id, "cpu.max"), "20000 100000");
  EXPECT_EQ(cg(id, "pids.max"), "20");
  auto r = skiff_({"update", "--resources", "-", id},
                  R"({"pids": {"limit": 30}, "unified": {"memory.high": "100663296"}})");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(cg(id, "pids.max"), "30");
  EXPECT_EQ(cg(id, "memory.high"), "100663296");
  EXPECT_EQ(cg(id, "memory.max"), std::to_string(128 << 20)) << "untouched by the second update";
  auto bad = skiff_({"update", "--memory", "lots", id});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--memory"), std::string::npos) << bad.err;
}

TEST_F(CgroupsV2, PauseFreezesThroughCgroupFreezeAndResumeThaws) {
  Bundle b;
  std::string id =
      run_detached(b, {"sh", "-c", "while :; do echo x >> /tmp/ticks; usleep 20000; done"});
  std::string ticks = b.rootfs() + "/tmp/ticks";
  ASSERT_TRUE(wait_until([&] { return read_file(ticks).size() >= 4; }, kSlow));
  auto p = skiff_({"pause", id});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(skiff_.state(id)["status"], "paused");
  EXPECT_EQ(cg(id, "cgroup.freeze"), "1");
  EXPECT_NE(cg(id, "cgroup.events").find("frozen 1"), std::string::npos) << cg(id, "cgroup.events");
  size_t frozen_at = read_file(ticks).size();
  usleep(500000);
  EXPECT_EQ(read_file(ticks).size(), frozen_at) << "a frozen container went on writing";
  auto again = skiff_({"resume", id});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(skiff_.state(id)["status"], "running");
  EXPECT_EQ(cg(id, "cgroup.freeze"), "0");
  EXPECT_TRUE(wait_until([&] { return read_file(ticks).size() > frozen_at; }, kSlow));
  // A paused container can be force-deleted (thawed to let SIGKILL through).
  ASSERT_EQ(skiff_({"pause", id}).exit_code, 0);
  auto del = skiff_({"delete", "--force", id});
  EXPECT_EQ(del.exit_code, 0) << del.err;
  EXPECT_FALSE(fs::exists(std::string(kRoot) + "/skiff/" + id));
}

TEST_F(CgroupsV2, EventsStatsFromTheV2Files) {
  Bundle b;
  std::string id = run_detached(b, {"sh", "-c", "sleep 60 & sleep 60"});
  ASSERT_TRUE(wait_until(
      [&] {
        auto ps = skiff_({"ps", "--format", "json", id});
        return json::parse(ps.out, nullptr, false).size() == 2;
      },
      kSlow));
  auto r = skiff_({"events", "--stats", id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["type"], "stats");
  EXPECT_EQ(j["id"], id);
  EXPECT_GT(j["data"]["memory"]["usage"]["usage"].get<uint64_t>(), 0u) << r.out;
  EXPECT_EQ(j["data"]["pids"]["current"].get<uint64_t>(), 2u)
      << "the two sleeps (sh execs the last): " << r.out;
  EXPECT_GT(j["data"]["cpu"]["usage"]["total"].get<uint64_t>(), 0u) << r.out;
}

// The probe that allocates past the 16 MiB limit is OOM-killed (memory.events oom_kill), the
// container's init survives, and `events` reports the OOM.
TEST_F(CgroupsV2, OomKillIsReportedByEvents) {
  Bundle b;
  b.config["linux"]["resources"]["memory"] = {{"limit", 16 << 20}, {"swap", 16 << 20}};
  b.save();
  std::string id = run_detached(b, {"sleep", "120"});
  CommandResult events;
  std::thread follower([&] { events = skiff_({"events", "--interval", "10s", id}); });
  usleep(1500000);  // events reads the starting count first
  auto hog = skiff_({"exec", id, "/bin/skiff-probe", "alloc", "64"});
  EXPECT_EQ(hog.exit_code, 128 + SIGKILL) << hog.out << hog.err;
  std::string memory_events = cg(id, "memory.events");
  EXPECT_NE(memory_events.find("oom_kill 1"), std::string::npos) << memory_events;
  usleep(1500000);  // events polls the counter
  EXPECT_EQ(skiff_.state(id)["status"], "running") << "only the hog dies";
  ASSERT_EQ(skiff_({"kill", id, "KILL"}).exit_code, 0);
  follower.join();  // the stream ends with the container
  EXPECT_NE(events.out.find(R"({"id":")" + id + R"(","type":"oom"})"), std::string::npos)
      << events.out << events.err;
}

// linux.cgroupsPath absolute and relative, nested below dirs skiff creates; all of it gone after
// delete.
TEST_F(CgroupsV2, CgroupsPathNestedIsCreatedAndRemoved) {
  for (bool absolute : {true, false}) {
    Bundle b;
    std::string id = new_id();
    std::string path = std::string(absolute ? "/" : "") + "skiff-it/nested/" + id;
    b.config["linux"]["cgroupsPath"] = path;
    b.config["linux"]["resources"]["pids"] = {{"limit", 7}};
    b.save();
    b.set_args({"sleep", "60"});
    auto r = skiff_.detached({"run", "-d", "--bundle", b.dir(), id});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    int pid = skiff_.state(id)["pid"];
    EXPECT_EQ(read_file("/proc/" + std::to_string(pid) + "/cgroup"),
              "0::/skiff-it/nested/" + id + "\n")
        << path;
    std::string dir = std::string(kRoot) + "/skiff-it/nested/" + id;
    EXPECT_EQ(trimmed(read_file(dir + "/pids.max")), "7") << dir;
    EXPECT_EQ(trimmed(read_file(dir + "/cgroup.procs")), std::to_string(pid)) << dir;
    // The parents skiff made delegate the controllers down to the container's level.
    EXPECT_NE(
        read_file(std::string(kRoot) + "/skiff-it/nested/cgroup.subtree_control").find("pids"),
        std::string::npos);
    ASSERT_EQ(skiff_({"delete", "--force", id}).exit_code, 0);
    EXPECT_FALSE(fs::exists(std::string(kRoot) + "/skiff-it"))
        << "skiff-it left behind (" << path << ")";
  }
}

// In a cgroup namespace the container's own cgroup is "/" and its limits are at the top.
TEST_F(CgroupsV2, CgroupNamespaceRootsTheContainer) {
  Bundle b({"sh", "-c", "cat /sys/fs/cgroup/pids.max; cat /proc/self/cgroup"});
  b.config["linux"]["resources"]["pids"] = {{"limit", 42}};
  b.config["linux"]["namespaces"].push_back({{"type", "cgroup"}});
  b.save();
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "42\n0::/\n");
}

// The default config denies every device; the runtime allows the standard ones plus
// linux.devices, enforced by the eBPF program attached to the container's cgroup.
TEST_F(CgroupsV2, DeviceRulesAreEnforcedByEbpf) {
  Bundle b({"/bin/skiff-probe", "mknod-dev", "/tmp/fuse=10:229", "open-dev", "/tmp/fuse",
            "mknod-dev", "/tmp/null=1:3", "open-dev", "/tmp/null"});
  for (const char* set : {"bounding", "effective", "permitted"})
    b.config["process"]["capabilities"][set].push_back("CAP_MKNOD");
  b.save();
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto a = probe_report(r.out)["actions"];
  ASSERT_EQ(a.size(), 4u) << r.out;
  EXPECT_EQ(a[0]["rc"], 0) << "mknod is allowed for any char device: " << a[0].dump();
  EXPECT_EQ(a[1]["errno"], EPERM) << "10:229 is not allowed: " << a[1].dump();
  EXPECT_GE(a[3]["rc"].get<int>(), 0) << "1:3 (null) is a default: " << a[3].dump();

  b.config["linux"]["resources"]["devices"].push_back(
      {{"allow", true}, {"type", "c"}, {"major", 10}, {"minor", 229}, {"access", "rw"}});
  b.save();
  auto allowed = skiff_({"run", "--bundle", b.dir(), new_id()});
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  auto a2 = probe_report(allowed.out)["actions"];
  ASSERT_EQ(a2.size(), 4u) << allowed.out;
  EXPECT_GE(a2[1]["rc"].get<int>(), 0) << a2[1].dump();
}

}  // namespace
}  // namespace skiff::test
