// Cgroups through the real binary, on whichever shape the host has (one source for both lanes):
// v1/hybrid here (/sys/fs/cgroup/<controller>/…), pure v2 in the VM lane (tests/vm/cgroups_test.sh
// runs Cgroups.* inside a guest with Debian's kernel). Limits from the config seen on the host and
// inside (v1 files, or memory.max/low/high/swap.max, cpu.max, cpu.weight and the `unified` map),
// pids and device enforcement (device cgroup or the eBPF program), update, pause/resume (freezer
// or cgroup.freeze), events (stats and OOM), cgroupsPath placement and clean-up, and the cgroup
// mount inside the container.
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "common/strings.hpp"
#include "tests/support/runtime_fixture.hpp"

namespace skiff::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

bool pure_v2() {
  struct statfs st {};
  return statfs(kCgroupRoot, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

std::string trimmed(const std::string& s) {
  auto end = s.find_last_not_of(" \n\t");
  return end == std::string::npos ? "" : s.substr(0, end + 1);
}

class Cgroups : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    v2_ = pure_v2();
    std::string root = kCgroupRoot;
    if (v2_) {
      std::string controllers = read_file(root + "/cgroup.subtree_control");
      for (const char* c : {"memory", "cpu", "cpuset", "pids"})
        if (controllers.find(c) == std::string::npos)
          GTEST_SKIP() << "cgroup v2 controller " << c << " not enabled in " << root
                       << "/cgroup.subtree_control: " << controllers;
    } else if (!fs::exists(root + "/memory/memory.limit_in_bytes") || !fs::exists(root + "/pids") ||
               !fs::exists(root + "/freezer")) {
      GTEST_SKIP() << "neither pure cgroup v2 nor the v1 controllers memory, pids and freezer "
                   << "under " << root;
    }
    // Under emulation (the VM lane) a container start takes ~30x the host's.
    slow_ms_ = v2_ ? 30000 : 3000;
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
  // The hierarchies' roots: every v1 mount under /sys/fs/cgroup (real directories; "cpu,cpuacct"
  // style aliases are symlinks and skipped), or the v2 root itself.
  std::vector<std::string> hierarchies() const {
    if (v2_) return {kCgroupRoot};
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(kCgroupRoot))
      if (e.is_directory() && !e.is_symlink()) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }
  // The file of a controller's cgroup dir, relative to the hierarchies' root ("memory/memory.x"
  // on v1, "memory.x" on v2): `controller` is ignored on v2.
  std::string rel(const std::string& controller, const std::string& file) const {
    return v2_ ? file : controller + "/" + file;
  }
  // A file of the container's cgroup (default path /skiff/<id>) as the host sees it.
  std::string host_file(const std::string& id, const std::string& controller,
                        const std::string& file) const {
    auto [dir, name] = split_rel(rel(controller, file));
    return trimmed(
        read_file(cat(kCgroupRoot, "/", dir, dir.empty() ? "" : "/", "skiff/", id, "/", name)));
  }
  // The same file as the container sees it (/sys/fs/cgroup is its own cgroup).
  std::string inside(const std::string& controller, const std::string& file) const {
    return cat(kCgroupRoot, "/", rel(controller, file));
  }
  static std::pair<std::string, std::string> split_rel(const std::string& r) {
    auto slash = r.find('/');
    if (slash == std::string::npos) return {"", r};
    return {r.substr(0, slash), r.substr(slash + 1)};
  }
  // This process's line in /proc/PID/cgroup for the memory controller ("4:memory:/x" → "/x").
  std::string memory_cgroup_of(int pid) const {
    for (const auto& line : split(read_file(cat("/proc/", pid, "/cgroup")), '\n', true)) {
      auto parts = split(line, ':');
      if (parts.size() < 3) continue;
      if (v2_ ? parts[0] == "0" : parts[1] == "memory") return parts[2];
    }
    return "";
  }

  bool v2_ = false;
  int slow_ms_ = 3000;
  Skiff skiff_;
  HostSnapshot before_;
  std::vector<std::string> ids_;
};

TEST_F(Cgroups, LimitsFromTheConfigOnTheHostAndInside) {
  Bundle b;
  auto& res = b.config["linux"]["resources"];
  res["memory"] = {{"limit", 64 << 20}};
  res["cpu"] = {
      {"shares", 512}, {"quota", 50000}, {"period", 100000}, {"cpus", "0"}, {"mems", "0"}};
  res["pids"] = {{"limit", 10}};
  if (v2_) {
    res["memory"]["reservation"] = 32 << 20;
    res["memory"]["swap"] = 96 << 20;
    res["unified"] = {{"memory.high", std::to_string(48 << 20)}};
  }
  b.save();
  std::string id = run_detached(b, {"sleep", "60"});
  std::string memory_limit = v2_ ? "memory.max" : "memory.limit_in_bytes";
  EXPECT_EQ(host_file(id, "memory", memory_limit), std::to_string(64 << 20));
  if (v2_) {
    EXPECT_EQ(host_file(id, "memory", "memory.low"), std::to_string(32 << 20));
    if (fs::exists(cat(kCgroupRoot, "/skiff/", id, "/memory.swap.max"))) {
      EXPECT_EQ(host_file(id, "memory", "memory.swap.max"), std::to_string(32 << 20))
          << "swap is memory+swap";
    }
    EXPECT_EQ(host_file(id, "memory", "memory.high"), std::to_string(48 << 20));
    EXPECT_EQ(host_file(id, "cpu", "cpu.weight"), "20") << "shares 512 -> 1 + (510*9999)/262142";
    EXPECT_EQ(host_file(id, "cpu", "cpu.max"), "50000 100000");
    EXPECT_EQ(host_file(id, "cpuset", "cpuset.mems"), "0");
  } else {
    EXPECT_EQ(host_file(id, "cpu", "cpu.shares"), "512");
    EXPECT_EQ(host_file(id, "cpu", "cpu.cfs_quota_us"), "50000");
    EXPECT_EQ(host_file(id, "cpu", "cpu.cfs_period_us"), "100000");
  }
  EXPECT_EQ(host_file(id, "cpuset", "cpuset.cpus"), "0");
  EXPECT_EQ(host_file(id, "pids", "pids.max"), "10");

  // The init joined its cgroup (v2: clone3 CLONE_INTO_CGROUP) and runs on the one cpu it was given.
  int pid = skiff_.state(id)["pid"];
  EXPECT_EQ(memory_cgroup_of(pid), "/skiff/" + id);
  std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
  EXPECT_NE(status.find("Cpus_allowed_list:\t0\n"), std::string::npos) << status;

  // Inside, /sys/fs/cgroup[/<controller>] is the container's own cgroup; exec joins it too.
  std::string cpu = v2_ ? inside("cpu", "cpu.max") : inside("cpu", "cpu.cfs_quota_us");
  auto r = skiff_({"exec", id, "cat", inside("memory", memory_limit), inside("pids", "pids.max"),
                   cpu, inside("cpuset", "cpuset.cpus"), "/proc/self/cgroup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = split(r.out, '\n');
  ASSERT_GE(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0], std::to_string(64 << 20)) << r.out;
  EXPECT_EQ(lines[1], "10") << r.out;
  EXPECT_EQ(lines[2], v2_ ? "50000 100000" : "50000") << r.out;
  EXPECT_EQ(lines[3], "0") << r.out;
  EXPECT_NE(r.out.find(v2_ ? "0::/skiff/" + id + "\n" : ":memory:/skiff/" + id + "\n"),
            std::string::npos)
      << r.out;
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
  EXPECT_EQ(a["detail"]["count"], 9) << "the probe itself is one of the 10: " << a.dump();

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
  auto u = skiff_({"update", "--memory", "128m", "--cpu-shares", "256", "--cpu-quota", "20000",
                   "--cpu-period", "100000", "--pids-limit", "20", id});
  ASSERT_EQ(u.exit_code, 0) << u.err;
  std::string memory_limit = v2_ ? "memory.max" : "memory.limit_in_bytes";
  EXPECT_EQ(host_file(id, "memory", memory_limit), std::to_string(128 << 20));
  if (v2_) {
    EXPECT_EQ(host_file(id, "cpu", "cpu.weight"), "10") << "shares 256 -> 1 + (254*9999)/262142";
    EXPECT_EQ(host_file(id, "cpu", "cpu.max"), "20000 100000");
  } else {
    EXPECT_EQ(host_file(id, "cpu", "cpu.shares"), "256");
    EXPECT_EQ(host_file(id, "cpu", "cpu.cfs_quota_us"), "20000");
  }
  EXPECT_EQ(host_file(id, "pids", "pids.max"), "20");
  // --resources - (containerd's way): the JSON on stdin; v2 also takes the `unified` map.
  std::string resources =
      v2_ ? R"({"pids": {"limit": 30}, "unified": {"memory.high": "100663296"}})"
          : R"({"pids": {"limit": 30}})";
  auto r = skiff_({"update", "--resources", "-", id}, resources);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(host_file(id, "pids", "pids.max"), "30");
  if (v2_) {
    EXPECT_EQ(host_file(id, "memory", "memory.high"), "100663296");
  }
  EXPECT_EQ(host_file(id, "memory", memory_limit), std::to_string(128 << 20))
      << "untouched by the second update";
  auto bad = skiff_({"update", "--memory", "lots", id});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--memory"), std::string::npos) << bad.err;
}

TEST_F(Cgroups, PauseFreezesAndResumeThaws) {
  Bundle b;
  std::string id =
      run_detached(b, {"sh", "-c", "while :; do echo x >> /tmp/ticks; usleep 20000; done"});
  std::string ticks = b.rootfs() + "/tmp/ticks";
  ASSERT_TRUE(wait_until([&] { return read_file(ticks).size() >= 4; }, slow_ms_));
  auto p = skiff_({"pause", id});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(skiff_.state(id)["status"], "paused");
  if (v2_) {
    EXPECT_EQ(host_file(id, "", "cgroup.freeze"), "1");
    EXPECT_NE(host_file(id, "", "cgroup.events").find("frozen 1"), std::string::npos);
  } else {
    EXPECT_EQ(host_file(id, "freezer", "freezer.state"), "FROZEN");
  }
  size_t frozen_at = read_file(ticks).size();
  usleep(v2_ ? 500000 : 200000);
  EXPECT_EQ(read_file(ticks).size(), frozen_at) << "a frozen container went on writing";
  auto again = skiff_({"resume", id});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(skiff_.state(id)["status"], "running");
  if (v2_) {
    EXPECT_EQ(host_file(id, "", "cgroup.freeze"), "0");
  } else {
    EXPECT_EQ(host_file(id, "freezer", "freezer.state"), "THAWED");
  }
  EXPECT_TRUE(wait_until([&] { return read_file(ticks).size() > frozen_at; }, slow_ms_));
  auto twice = skiff_({"resume", id});
  EXPECT_NE(twice.exit_code, 0);
  EXPECT_NE(twice.err.find("not paused"), std::string::npos) << twice.err;
  // A paused container can be force-deleted (it is thawed to let SIGKILL through).
  ASSERT_EQ(skiff_({"pause", id}).exit_code, 0);
  auto del = skiff_({"delete", "--force", id});
  EXPECT_EQ(del.exit_code, 0) << del.err;
  EXPECT_NE(skiff_({"state", id}).exit_code, 0);
  for (const auto& h : hierarchies()) EXPECT_FALSE(fs::exists(h + "/skiff/" + id)) << h;
}

TEST_F(Cgroups, EventsStatsReportUsage) {
  Bundle b;
  std::string id = run_detached(b, {"sh", "-c", "sleep 60 & sleep 60"});
  ASSERT_TRUE(wait_until(
      [&] {
        auto ps = skiff_({"ps", "--format", "json", id});
        return json::parse(ps.out, nullptr, false).size() == 2;
      },
      slow_ms_));
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
  auto stopped = skiff_({"events", "--stats", "no-such-container"});
  EXPECT_NE(stopped.exit_code, 0);
}

// The container's init survives; the probe that allocates past the 16 MiB limit is OOM-killed
// (v1 memory.oom_control, v2 memory.events), and `events` (following) reports it.
TEST_F(Cgroups, OomKillIsReportedByEvents) {
  Bundle b;
  b.config["linux"]["resources"]["memory"] = {{"limit", 16 << 20}};
  if (v2_ || fs::exists(std::string(kCgroupRoot) + "/memory/memory.memsw.limit_in_bytes"))
    b.config["linux"]["resources"]["memory"]["swap"] = 16 << 20;
  b.save();
  std::string id = run_detached(b, {"sleep", "120"});
  CommandResult events;
  std::thread follower([&] { events = skiff_({"events", "--interval", "10s", id}); });
  useconds_t settle = v2_ ? 1500000 : 300000;
  usleep(settle);  // events reads the starting count first
  auto hog = skiff_({"exec", id, "/bin/skiff-probe", "alloc", "64"});
  EXPECT_EQ(hog.exit_code, 128 + SIGKILL) << hog.out << hog.err;
  EXPECT_EQ(probe_report(hog.out), json()) << "the allocation succeeded";
  std::string counter = v2_ ? host_file(id, "memory", "memory.events")
                            : host_file(id, "memory", "memory.oom_control");
  EXPECT_NE(counter.find("oom_kill 1"), std::string::npos) << counter;
  usleep(settle + 200000);  // events polls the counter every 200 ms
  EXPECT_EQ(skiff_.state(id)["status"], "running") << "only the hog dies";
  ASSERT_EQ(skiff_({"kill", id, "KILL"}).exit_code, 0);
  follower.join();  // the stream ends with the container
  EXPECT_NE(events.out.find(R"({"id":")" + id + R"(","type":"oom"})"), std::string::npos)
      << events.out << events.err;
}

// linux.cgroupsPath absolute and relative, nested below dirs skiff creates: in every hierarchy
// (v2: the parents delegate the controllers down), and all of it gone after delete.
TEST_F(Cgroups, CgroupsPathNestedIsCreatedAndRemoved) {
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
    EXPECT_EQ(memory_cgroup_of(pid), "/skiff-it/nested/" + id) << path;
    for (const auto& h : hierarchies()) {
      std::string dir = h + "/skiff-it/nested/" + id;
      EXPECT_TRUE(fs::is_directory(dir)) << dir;
      EXPECT_NE(read_file(dir + "/cgroup.procs").find(std::to_string(pid)), std::string::npos)
          << dir;
    }
    std::string pids_dir = v2_ ? kCgroupRoot : cat(kCgroupRoot, "/pids");
    EXPECT_EQ(trimmed(read_file(pids_dir + "/skiff-it/nested/" + id + "/pids.max")), "7");
    if (v2_) {
      EXPECT_NE(read_file(pids_dir + "/skiff-it/nested/cgroup.subtree_control").find("pids"),
                std::string::npos);
    }
    ASSERT_EQ(skiff_({"delete", "--force", id}).exit_code, 0);
    for (const auto& h : hierarchies())
      EXPECT_FALSE(fs::exists(h + "/skiff-it")) << h << "/skiff-it left behind (" << path << ")";
  }
}

TEST_F(Cgroups, CgroupMountInsideTheContainer) {
  std::string pids_max = inside("pids", "pids.max");
  std::string pids_dir = pids_max.substr(0, pids_max.rfind('/'));
  Bundle b(std::vector<std::string>{"sh", "-c",
                                    cat("ls /sys/fs/cgroup; cat ", pids_max, "; touch ", pids_dir,
                                        "/x 2>&1; cat /proc/self/cgroup")});
  b.config["linux"]["resources"]["pids"] = {{"limit", 42}};
  b.save();
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  if (v2_) {
    EXPECT_NE(r.out.find("cgroup.procs\n"), std::string::npos) << r.out;
  } else {
    for (const auto& h : hierarchies()) {
      std::string name = fs::path(h).filename();
      EXPECT_NE(r.out.find(name + "\n"), std::string::npos) << name << " missing in: " << r.out;
    }
  }
  EXPECT_NE(r.out.find("\n42\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;

  // In a cgroup namespace the container's own cgroup is "/" everywhere.
  b.config["linux"]["namespaces"].push_back({{"type", "cgroup"}});
  b.save();
  auto ns = skiff_({"run", "--bundle", b.dir(), new_id()});
  ASSERT_EQ(ns.exit_code, 0) << ns.err;
  EXPECT_NE(ns.out.find("\n42\n"), std::string::npos) << ns.out;
  std::vector<std::string> lines = {"0::/\n"};
  if (!v2_) lines.insert(lines.end(), {"memory:/\n", "pids:/\n"});
  for (const auto& line : lines)
    EXPECT_NE(ns.out.find(line), std::string::npos) << line << " in " << ns.out;
  EXPECT_EQ(ns.out.find(":/skiff/"), std::string::npos) << ns.out;
}

// The default config denies every device, and the runtime allows the standard ones plus
// linux.devices (as runc does), through the devices cgroup (v1) or an eBPF program (v2). A node
// made with mknod is only usable when a rule allows it.
TEST_F(Cgroups, DeviceRulesAreEnforced) {
  std::vector<std::string> args = {"/bin/skiff-probe", "mknod-dev", "/tmp/fuse=10:229",
                                   "open-dev",         "/tmp/fuse", "mknod-dev",
                                   "/tmp/null=1:3",    "open-dev",  "/tmp/null"};
  // 10:200 opens only where the tun driver is loaded.
  bool tun = fs::exists("/sys/module/tun");
  if (tun) args.insert(args.end(), {"mknod-dev", "/tmp/tun=10:200", "open-dev", "/tmp/tun"});
  Bundle b(args);
  for (const char* set : {"bounding", "effective", "permitted"})
    b.config["process"]["capabilities"][set].push_back("CAP_MKNOD");
  b.save();
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto a = probe_report(r.out)["actions"];
  ASSERT_EQ(a.size(), tun ? 6u : 4u) << r.out;
  EXPECT_EQ(a[0]["rc"], 0) << "mknod is allowed for any char device: " << a[0].dump();
  EXPECT_EQ(a[1]["errno"], EPERM) << "10:229 is not allowed: " << a[1].dump();
  EXPECT_GE(a[3]["rc"].get<int>(), 0) << "1:3 (null) is a default: " << a[3].dump();
  if (tun) {
    EXPECT_GE(a[5]["rc"].get<int>(), 0) << "10:200 (tun) is a default: " << a[5].dump();
  }

  // An explicit rule opens it up.
  b.config["linux"]["resources"]["devices"].push_back(
      {{"allow", true}, {"type", "c"}, {"major", 10}, {"minor", 229}, {"access", "rw"}});
  b.save();
  auto allowed = skiff_({"run", "--bundle", b.dir(), new_id()});
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  auto a2 = probe_report(allowed.out)["actions"];
  ASSERT_GE(a2.size(), 2u) << allowed.out;
  EXPECT_GE(a2[1]["rc"].get<int>(), 0) << a2[1].dump();
}

// blockIO throttles on a real block device (the VM lane gives its guest a virtio-blk disk): v2
// io.max, one line per device with every key; v1 blkio.throttle.*.
TEST_F(Cgroups, BlockIoThrottlesOnARealDevice) {
  std::string dev;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/block", ec)) {
    std::string name = e.path().filename();
    if (name.starts_with("loop") || name.starts_with("ram") || name.starts_with("zram")) continue;
    dev = trimmed(read_file(e.path().string() + "/dev"));
    if (!dev.empty()) break;
  }
  if (dev.empty()) GTEST_SKIP() << "no block device in /sys/block";
  auto mm = split(dev, ':');
  json major = std::stoi(mm[0]), minor = std::stoi(mm[1]);
  Bundle b;
  b.config["linux"]["resources"]["blockIO"] = {
      {"throttleReadBpsDevice", {{{"major", major}, {"minor", minor}, {"rate", 1048576}}}},
      {"throttleWriteIOPSDevice", {{{"major", major}, {"minor", minor}, {"rate", 100}}}}};
  b.save();
  std::string id = run_detached(b, {"sleep", "60"});
  if (v2_) {
    EXPECT_EQ(host_file(id, "io", "io.max"), dev + " rbps=1048576 wbps=max riops=max wiops=100");
  } else {
    EXPECT_EQ(host_file(id, "blkio", "blkio.throttle.read_bps_device"), dev + " 1048576");
    EXPECT_EQ(host_file(id, "blkio", "blkio.throttle.write_iops_device"), dev + " 100");
  }
}

// hugepageLimits: the hugetlb controller's limit for the page size (v1 limit_in_bytes, v2 max);
// a page size the kernel does not have is an error naming the field, and nothing is left.
TEST_F(Cgroups, HugepageLimits) {
  std::string file = v2_ ? "hugetlb.2MB.max" : "hugetlb.2MB.limit_in_bytes";
  bool has = v2_ ? read_file(cat(kCgroupRoot, "/cgroup.subtree_control")).find("hugetlb") !=
                           std::string::npos &&
                       fs::exists("/sys/kernel/mm/hugepages/hugepages-2048kB")
                 : fs::exists(cat(kCgroupRoot, "/hugetlb/", file));
  if (!has) GTEST_SKIP() << "no hugetlb controller with 2 MB pages on this host";
  Bundle b;
  b.config["linux"]["resources"]["hugepageLimits"] = {{{"pageSize", "2MB"}, {"limit", 4 << 21}}};
  b.save();
  std::string id = run_detached(b, {"sleep", "60"});
  EXPECT_EQ(host_file(id, "hugetlb", file), std::to_string(4 << 21));

  b.config["linux"]["resources"]["hugepageLimits"] = {{{"pageSize", "3MB"}, {"limit", 1 << 21}}};
  b.save();
  std::string bad = new_id();
  auto r = skiff_({"run", "--bundle", b.dir(), bad});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("linux.resources.hugepageLimits[0]"), std::string::npos) << r.err;
  for (const auto& h : hierarchies()) EXPECT_FALSE(fs::exists(h + "/skiff/" + bad)) << h;
}

// The mode skiff picks is the host's: pure v2 (cgroup2 at /sys/fs/cgroup), hybrid (v1 controllers
// and a cgroup2 mount under it) or v1; `features` and --debug say which.
TEST_F(Cgroups, FeaturesAndDebugNameTheModeInUse) {
  std::string want = "v1";
  if (v2_) {
    want = "v2";
  } else {
    for (const auto& line : split(read_file("/proc/self/mountinfo"), '\n', true))
      if (line.find(" /sys/fs/cgroup/") != std::string::npos &&
          line.find(" - cgroup2 ") != std::string::npos)
        want = "hybrid";
  }
  auto f = skiff_({"features"});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  auto j = json::parse(f.out, nullptr, false);
  EXPECT_EQ(j["annotations"]["org.skiff.cgroup.mode"], want) << f.out;
  EXPECT_EQ(j["linux"]["cgroup"]["v2"], true);

  Bundle b({"true"});
  std::string id = new_id();
  auto r = skiff_({"--debug", "run", "--bundle", b.dir(), id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("cgroup mode: " + want + ", the container's cgroup `/skiff/" + id + "`"),
            std::string::npos)
      << r.err;
}

// A host whose cgroups skiff cannot serve gets a clear error and nothing half-made. Run in a
// private mount namespace where /sys/fs/cgroup is a bare tmpfs (no hierarchy at all) or, on a v1
// host, holds only the pids hierarchy while the config asks for a memory limit.
TEST_F(Cgroups, AHostMixItCannotServeIsAClearErrorAndLeavesNothing) {
  if (run({"unshare", "--help"}).exit_code != 0) GTEST_SKIP() << "no unshare(1)";
  Bundle b({"true"});
  b.config["linux"]["resources"]["memory"] = {{"limit", 64 << 20}};
  b.save();
  auto in_private_mounts = [&](const std::string& setup, const std::string& id) {
    return run({"unshare", "-m", "--propagation", "private", "sh", "-c",
                cat(setup, " && exec ", Skiff::binary_path(), " --root ", skiff_.root(),
                    " run --bundle ", b.dir(), " ", id)});
  };
  std::string bare = "mount -t tmpfs skiff-it /sys/fs/cgroup";
  std::string id = new_id();
  auto r = in_private_mounts(bare, id);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("`/sys/fs/cgroup` is not a cgroup2 mount and has no cgroup v1 hierarchy"),
            std::string::npos)
      << r.err;
  EXPECT_NE(skiff_({"state", id}).exit_code, 0) << "a state was left for " << id;
  EXPECT_TRUE(fs::is_empty(skiff_.root())) << "the state dir of " << id << " is left";

  if (v2_) return;  // a v1 hierarchy cannot be mounted where v2 holds every controller
  // Mounting the host's pids hierarchy again gives the same one: skiff makes its dir there, then
  // finds no controller for the config's linux.resources (the default device rules come first),
  // and removes the dir.
  std::string pids_only = bare + " && mkdir /sys/fs/cgroup/pids && mount -t cgroup -o pids " +
                          "skiff-it /sys/fs/cgroup/pids";
  std::string id2 = new_id();
  auto r2 = in_private_mounts(pids_only, id2);
  EXPECT_NE(r2.exit_code, 0);
  EXPECT_NE(r2.err.find("skiff: linux.resources."), std::string::npos) << r2.err;
  EXPECT_NE(r2.err.find("cgroup v1 controller is not mounted on this host"), std::string::npos)
      << r2.err;
  EXPECT_FALSE(fs::exists(cat(kCgroupRoot, "/pids/skiff/", id2))) << "half-made cgroup left";
  EXPECT_TRUE(fs::is_empty(skiff_.root())) << "the state dir of " << id2 << " is left";
}

}  // namespace
}  // namespace skiff::test
