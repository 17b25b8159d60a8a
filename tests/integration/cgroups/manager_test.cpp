// The cgroup manager on the real kernel (root): whatever this host is (v1, hybrid or v2), a
// container cgroup is created, limited, populated, frozen, measured, OOM-killed into and removed,
// and the kernel's own files say it worked.

#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/fs.hpp"
#include "runtime/cgroups/hierarchies.hpp"
#include "runtime/cgroups/manager.hpp"
#include "tests/integration/cgroups/child_process.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::runtime::cgroups {
namespace {

namespace fs = std::filesystem;
using testing::ChildProcess;

// The first real block device's "major:minor" (not loop, ram, zram), or "".
std::string block_device() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/block", ec)) {
    std::string name = e.path().filename();
    if (name.starts_with("loop") || name.starts_with("ram") || name.starts_with("zram")) continue;
    std::string dev(trim(test::read_file(e.path().string() + "/dev")));
    if (!dev.empty()) return dev;
  }
  return "";
}

class CgroupsOnKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    auto m = detect_mode();
    if (!m.ok()) GTEST_SKIP() << "no usable cgroup hierarchy: " << m.error().what();
    mode_ = *m;
    static int counter = 0;
    top_ = cat("skiff-itest-", getpid(), "-", ++counter);
  }
  void TearDown() override {
    children_.clear();  // killed and reaped before their cgroup goes
    if (manager_) (void)manager_->destroy();
  }

  Manager& make(const std::string& sub = "c") {
    Options o;
    o.cgroups_path = cat("/", top_, "/", sub);
    o.container_id = "itest";
    auto m = make_manager(o);
    EXPECT_TRUE(m.ok()) << m.error().what();
    manager_ = std::move(*m);
    auto created = manager_->create();
    EXPECT_TRUE(created.ok()) << created.error().what();
    return *manager_;
  }

  ChildProcess& child(std::function<int(int)> body) {
    children_.push_back(std::make_unique<ChildProcess>(std::move(body)));
    return *children_.back();
  }

  // The container's directory holding `controller` (v1) or the one v2 directory.
  std::string dir_of(const std::string& controller) const {
    Json j = manager_->to_json();
    if (j["mode"] == "v2") return j["path"];
    for (const auto& h : j["hierarchies"]) {
      auto cs = h["controllers"].get<std::vector<std::string>>();
      if (std::find(cs.begin(), cs.end(), controller) != cs.end())
        return path_join(h["mountpoint"].get<std::string>(), j["relative"].get<std::string>());
    }
    return "";
  }
  std::string kernel(const std::string& controller, const std::string& file) const {
    return std::string(trim(test::read_file(dir_of(controller) + "/" + file)));
  }
  bool has(const std::string& controller) const { return !dir_of(controller).empty(); }
  bool v2() const { return mode_ == Mode::kV2; }

  // No directory of the test is left in any hierarchy of the host.
  void expect_nothing_left() {
    auto hs = discover_hierarchies("/sys/fs/cgroup");
    ASSERT_TRUE(hs.ok());
    std::vector<std::string> roots;
    for (const auto& h : *hs) roots.push_back(h.mountpoint);
    if (v2()) roots = {"/sys/fs/cgroup"};
    for (const auto& r : roots) EXPECT_FALSE(fs::exists(r + "/" + top_)) << r << "/" << top_;
  }

  Mode mode_ = Mode::kV1;
  std::string top_;
  std::unique_ptr<Manager> manager_;
  std::vector<std::unique_ptr<ChildProcess>> children_;
};

TEST_F(CgroupsOnKernel, CreateApplyReadBackDestroy) {
  auto& m = make();
  std::printf("cgroup mode: %s\n", mode_name(mode_));
  oci::Resources r;
  r.memory = oci::MemoryResources{};
  r.memory->limit = 64 << 20;
  r.memory->reservation = 32 << 20;
  bool swap = v2() ? fs::exists(dir_of("memory") + "/memory.swap.max")
                   : fs::exists(dir_of("memory") + "/memory.memsw.limit_in_bytes");
  if (swap) r.memory->swap = 128 << 20;
  r.cpu = oci::CpuResources{};
  r.cpu->shares = 512;
  r.cpu->quota = 20000;
  r.cpu->period = 100000;
  r.cpu->cpus = "0";
  r.cpu->mems = "0";
  r.pids = oci::PidsResources{32};
  std::string dev = block_device();
  if (!dev.empty()) {
    auto mm = split(dev, ':');
    r.block_io = oci::BlockIoResources{};
    r.block_io->throttle_read_bps_device.push_back(
        {*parse_int<int64_t>(mm[0]), *parse_int<int64_t>(mm[1]), 1048576});
  }
  r.devices = {{false, "a", std::nullopt, std::nullopt, "rwm"},
               {true, "c", 1, 3, "rwm"},
               {true, "c", 1, 5, "rwm"}};
  auto applied = m.apply(r);
  ASSERT_TRUE(applied.ok()) << applied.error().what();

  if (v2()) {
    EXPECT_EQ(kernel("memory", "memory.max"), "67108864");
    EXPECT_EQ(kernel("memory", "memory.low"), "33554432");
    if (swap) {
      EXPECT_EQ(kernel("memory", "memory.swap.max"), "67108864");
    }
    EXPECT_EQ(kernel("cpu", "cpu.weight"), "20");
    EXPECT_EQ(kernel("cpu", "cpu.max"), "20000 100000");
    if (!dev.empty()) {
      EXPECT_EQ(kernel("io", "io.max"), cat(dev, " rbps=1048576 wbps=max riops=max wiops=max"));
    }
  } else {
    EXPECT_EQ(kernel("memory", "memory.limit_in_bytes"), "67108864");
    EXPECT_EQ(kernel("memory", "memory.soft_limit_in_bytes"), "33554432");
    if (swap) {
      EXPECT_EQ(kernel("memory", "memory.memsw.limit_in_bytes"), "134217728");
    }
    EXPECT_EQ(kernel("cpu", "cpu.shares"), "512");
    EXPECT_EQ(kernel("cpu", "cpu.cfs_quota_us"), "20000");
    EXPECT_EQ(kernel("cpu", "cpu.cfs_period_us"), "100000");
    if (!dev.empty()) {
      EXPECT_EQ(kernel("blkio", "blkio.throttle.read_bps_device"), cat(dev, " 1048576"));
    }
    EXPECT_EQ(kernel("devices", "devices.list"), "c 1:3 rwm\nc 1:5 rwm");
  }
  EXPECT_EQ(kernel("pids", "pids.max"), "32");
  EXPECT_EQ(kernel("cpuset", "cpuset.cpus"), "0");
  EXPECT_EQ(kernel("cpuset", "cpuset.mems"), "0");

  // Updates both ways: the kernel refuses a limit above memsw (and memsw below the limit), so a
  // wrong write order would fail here.
  if (swap) {
    auto lower = m.apply([] {
      oci::Resources u;
      u.memory = oci::MemoryResources{};
      u.memory->limit = 32 << 20;
      u.memory->swap = 48 << 20;
      return u;
    }());
    ASSERT_TRUE(lower.ok()) << lower.error().what();
    auto raise = m.apply([] {
      oci::Resources u;
      u.memory = oci::MemoryResources{};
      u.memory->limit = 256 << 20;
      u.memory->swap = 512 << 20;
      return u;
    }());
    ASSERT_TRUE(raise.ok()) << raise.error().what();
    if (v2()) {
      EXPECT_EQ(kernel("memory", "memory.max"), "268435456");
      EXPECT_EQ(kernel("memory", "memory.swap.max"), "268435456");
    } else {
      EXPECT_EQ(kernel("memory", "memory.limit_in_bytes"), "268435456");
      EXPECT_EQ(kernel("memory", "memory.memsw.limit_in_bytes"), "536870912");
    }
  }

  // A refused value names the file, the errno and the field.
  oci::Resources bad;
  bad.cpu = oci::CpuResources{};
  bad.cpu->cpus = "4096";
  auto refused = m.apply(bad);
  ASSERT_FALSE(refused.ok());
  // (The errno is the kernel's choice: EINVAL or ERANGE.)
  std::string what = refused.error().what();
  EXPECT_TRUE(what.starts_with(cat("write `", dir_of("cpuset"), "/cpuset.cpus`: "))) << what;
  EXPECT_TRUE(what.ends_with(" (while applying linux.resources.cpu.cpus = `4096`)")) << what;

  ASSERT_TRUE(m.destroy().ok());
  expect_nothing_left();
}

TEST_F(CgroupsOnKernel, EveryHierarchyAndMountPoint) {
  auto& m = make();
  auto mounts = m.mount_points();
  ASSERT_FALSE(mounts.empty());
  for (const auto& mp : mounts) {
    EXPECT_TRUE(fs::is_directory(mp.host_path)) << mp.name;
    if (mode_ != Mode::kV2) {
      EXPECT_EQ(fs::path(mp.host_path).parent_path().filename(), top_);
    }
  }
  if (mode_ == Mode::kHybrid) {
    // The container gets a cgroup2 view too, as runc gives it on hybrid hosts.
    auto it = std::find_if(mounts.begin(), mounts.end(),
                           [](const MountPoint& mp) { return mp.fs_type == "cgroup2"; });
    ASSERT_NE(it, mounts.end());
    EXPECT_EQ(it->options, "");
  }
  if (mode_ != Mode::kV2 && fs::exists("/sys/fs/cgroup/systemd")) {
    auto it = std::find_if(mounts.begin(), mounts.end(),
                           [](const MountPoint& mp) { return mp.name == "systemd"; });
    ASSERT_NE(it, mounts.end());
    EXPECT_EQ(it->options, "none,name=systemd");
  }
  // What load_manager() gets back from state.json removes it all.
  auto loaded = load_manager(m.to_json());
  ASSERT_TRUE(loaded.ok()) << loaded.error().what();
  ASSERT_TRUE((*loaded)->destroy().ok());
  expect_nothing_left();
}

// The fast way in (SelfJoin): the child starts in the cgroup2 dir (clone3 CLONE_INTO_CGROUP) and
// writes "0" to every v1 `tasks` itself; /proc/PID/cgroup then names the container's cgroup in
// every hierarchy the manager uses.
TEST_F(CgroupsOnKernel, NewProcessJoinsEveryHierarchyItself) {
  auto& m = make();
  auto join = m.open_self_join();
  ASSERT_TRUE(join.ok()) << join.error().what();
  int ready[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  bool placed = false;
  pid_t pid = clone_into_cgroup(0, join->cgroup2.get(), &placed);
  ASSERT_GE(pid, 0) << strerror(errno);
  if (pid == 0) {
    bool ok = join_v1_tasks(join->tasks).ok();
    (void)!write(ready[1], ok ? "y" : "n", 1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char c = 0;
  EXPECT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  EXPECT_EQ(c, 'y');
  if (join->cgroup2) {
    EXPECT_TRUE(placed) << "clone3(CLONE_INTO_CGROUP) is in every kernel since 5.7";
  }
  std::string relative = cat("/", top_, "/c");
  std::string cgroups = test::read_file(cat("/proc/", pid, "/cgroup"));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  Json j = m.to_json();
  if (v2()) {
    EXPECT_NE(cgroups.find("0::" + relative + "\n"), std::string::npos) << cgroups;
    return;
  }
  // "ID:controllers:path" lines, keyed by the sorted controller set ("" for cgroup2).
  std::map<std::set<std::string>, std::string> paths;
  for (const auto& line : split(cgroups, '\n', true)) {
    auto parts = split(line, ':');
    if (parts.size() != 3) continue;
    auto names = split(parts[1], ',', true);
    paths[std::set<std::string>(names.begin(), names.end())] = parts[2];
  }
  for (const auto& h : j["hierarchies"]) {
    auto cs = h["controllers"].get<std::vector<std::string>>();
    std::set<std::string> key(cs.begin(), cs.end());
    EXPECT_EQ(paths[key], relative) << "hierarchy " << h.dump() << " in\n" << cgroups;
  }
}

TEST_F(CgroupsOnKernel, CpusetIsCopiedIntoEveryNewLevel) {
  if (v2()) GTEST_SKIP() << "cgroup v2 cpusets inherit their parent's effective set";
  auto& m = make("a/b");
  if (!has("cpuset")) GTEST_SKIP() << "no cpuset hierarchy";
  std::string b = dir_of("cpuset");
  std::string a = fs::path(b).parent_path().string();
  std::string top = fs::path(a).parent_path().string();
  std::string mount = fs::path(top).parent_path().string();
  std::string root_cpus(trim(test::read_file(mount + "/cpuset.cpus")));
  std::string root_mems(trim(test::read_file(mount + "/cpuset.mems")));
  ASSERT_FALSE(root_cpus.empty());
  for (const auto& d : {top, a, b}) {
    EXPECT_EQ(trim(test::read_file(d + "/cpuset.cpus")), root_cpus) << d;
    EXPECT_EQ(trim(test::read_file(d + "/cpuset.mems")), root_mems) << d;
  }
  // Without cpus and mems the kernel would refuse the task (ENOSPC).
  auto& c = child(testing::ticker);
  auto added = m.add_process(c.pid());
  EXPECT_TRUE(added.ok()) << added.error().what();
}

// A cpuset ancestor made by someone else and not filled in yet (two kubelets starting at once
// raced here: the loser's pods all failed with ENOSPC for good) is filled in too.
TEST_F(CgroupsOnKernel, CpusetFillsAnEmptyAncestorAnotherProcessMade) {
  if (v2()) GTEST_SKIP() << "cgroup v2 cpusets inherit their parent's effective set";
  auto hs = discover_hierarchies("/sys/fs/cgroup");
  ASSERT_TRUE(hs.ok());
  std::string mount;
  for (const auto& h : *hs)
    if (!h.cgroup2 && h.has("cpuset")) mount = h.mountpoint;
  if (mount.empty()) GTEST_SKIP() << "no cpuset hierarchy";
  std::string top = mount + "/" + top_, a = top + "/a";
  ASSERT_EQ(::mkdir(top.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(a.c_str(), 0755), 0);
  ASSERT_EQ(trim(test::read_file(a + "/cpuset.cpus")), "");  // as the kernel makes it
  auto& m = make("a/b");
  std::string root_cpus(trim(test::read_file(mount + "/cpuset.cpus")));
  for (const auto& d : {top, a, dir_of("cpuset")})
    EXPECT_EQ(trim(test::read_file(d + "/cpuset.cpus")), root_cpus) << d;
  auto& c = child(testing::ticker);
  auto added = m.add_process(c.pid());
  EXPECT_TRUE(added.ok()) << added.error().what();
  children_.clear();
  EXPECT_TRUE(manager_->destroy().ok());
  manager_.reset();
  EXPECT_EQ(::rmdir(a.c_str()), 0);
  EXPECT_EQ(::rmdir(top.c_str()), 0);
  expect_nothing_left();
}

TEST_F(CgroupsOnKernel, ProcessesFreezeThawStats) {
  auto& m = make();
  auto& c = child(testing::ticker);
  ASSERT_TRUE(c.started());
  auto added = m.add_process(c.pid());
  ASSERT_TRUE(added.ok()) << added.error().what();
  c.start();
  auto pids = m.pids();
  ASSERT_TRUE(pids.ok()) << pids.error().what();
  EXPECT_EQ(*pids, std::vector<pid_t>{c.pid()});
  EXPECT_GT(c.read_for(100), 0u) << "the child runs";

  auto frozen = m.freeze();
  ASSERT_TRUE(frozen.ok()) << frozen.error().what();
  EXPECT_TRUE(m.is_frozen().value_or(false));
  if (!v2()) {
    EXPECT_EQ(kernel("freezer", "freezer.state"), "FROZEN");
  } else {
    EXPECT_NE(test::read_file(dir_of("memory") + "/cgroup.events").find("frozen 1"),
              std::string::npos);
  }
  std::string status = test::read_file(cat("/proc/", c.pid(), "/status"));
  std::printf("frozen child: %s\n",
              status
                  .substr(status.find("State:"),
                          status.find('\n', status.find("State:")) - status.find("State:"))
                  .c_str());
  c.drain();
  EXPECT_EQ(c.read_for(300), 0u) << "a frozen child makes no progress";

  auto thawed = m.thaw();
  ASSERT_TRUE(thawed.ok()) << thawed.error().what();
  EXPECT_FALSE(m.is_frozen().value_or(true));
  EXPECT_GT(c.read_for(500), 0u) << "and runs again after thaw";

  auto s = m.stats();
  ASSERT_TRUE(s.ok()) << s.error().what();
  EXPECT_GT(s->cpu_usage_total, 0u);
  EXPECT_GT(s->memory_usage, 0u);
  if (has("pids")) {
    EXPECT_EQ(s->pids_current, 1u);
  }
  EXPECT_FALSE(s->raw.empty());

  // destroy() with a live task is refused (EBUSY after a second of retries, shared by all
  // hierarchies); the caller kills first.
  auto t0 = std::chrono::steady_clock::now();
  auto busy = m.destroy();
  auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(busy.ok());
  EXPECT_NE(busy.error().what().find("processes are still in it"), std::string::npos)
      << busy.error().what();
  EXPECT_NE(busy.error().what().find("Device or resource busy"), std::string::npos);
  EXPECT_LT(waited, std::chrono::seconds(3));
  c.kill();
  c.wait();
  ASSERT_TRUE(m.destroy().ok());
  expect_nothing_left();
}

TEST_F(CgroupsOnKernel, DeviceRulesAreEnforced) {
  auto& m = make();
  oci::Resources r;
  r.devices = {{false, "a", std::nullopt, std::nullopt, "rwm"}, {true, "c", 1, 3, "rwm"}};
  auto applied = m.apply(r);
  ASSERT_TRUE(applied.ok()) << applied.error().what();
  auto& c = child(testing::device_probe);
  ASSERT_TRUE(m.add_process(c.pid()).ok());
  c.start();
  int status = c.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: /dev/null refused, 2: /dev/zero allowed";
}

TEST_F(CgroupsOnKernel, OomKillIsCounted) {
  auto& m = make();
  oci::Resources r;
  r.memory = oci::MemoryResources{};
  r.memory->limit = 16 << 20;
  // No swap to escape into.
  if (fs::exists(dir_of("memory") + (v2() ? "/memory.swap.max" : "/memory.memsw.limit_in_bytes")))
    r.memory->swap = 16 << 20;
  auto applied = m.apply(r);
  ASSERT_TRUE(applied.ok()) << applied.error().what();
  EXPECT_EQ(m.oom_kill_count().value_or(99), 0u);
  auto& c = child([](int) {
    const size_t size = 64 << 20;
    // volatile: the compiler may not elide an allocation nobody reads.
    volatile char* p = static_cast<volatile char*>(malloc(size));
    if (!p) return 3;
    for (size_t i = 0; i < size; i += 4096) p[i] = 1;  // touch every page
    return 0;
  });
  ASSERT_TRUE(m.add_process(c.pid()).ok());
  c.start();
  int status = c.wait();
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  auto kills = m.oom_kill_count();
  ASSERT_TRUE(kills.ok()) << kills.error().what();
  if (*kills == 0 && !v2() &&
      test::read_file(dir_of("memory") + "/memory.oom_control").find("oom_kill ") ==
          std::string::npos)
    GTEST_SKIP() << "this kernel's memory.oom_control has no oom_kill counter (before 4.13)";
  EXPECT_GE(*kills, 1u);
  auto s = m.stats();
  ASSERT_TRUE(s.ok());
  EXPECT_GE(s->oom_kill, 1u);
}

}  // namespace
}  // namespace skiff::runtime::cgroups
