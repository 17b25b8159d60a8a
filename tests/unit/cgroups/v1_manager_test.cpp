// The cgroup v1 manager against fake hierarchies in temp dirs: directories in every hierarchy,
// the values and device lines it writes, the memory/memsw order, errors, saved state.

#include <gtest/gtest.h>

#include <filesystem>

#include "runtime/cgroups/manager.hpp"
#include "runtime/cgroups/v1_manager.hpp"
#include "tests/support/test_util.hpp"
#include "tests/unit/cgroups/fake_tree.hpp"

namespace skiff::runtime::cgroups {
namespace {

namespace fs = std::filesystem;
using testing::touch_files;
using testing::WriteRecorder;

// Leaf files the kernel shows, per hierarchy.
const std::map<std::string, std::vector<std::string>> kFiles = {
    {"cpu",
     {"cgroup.procs", "cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.cfs_burst_us",
      "cpu.rt_runtime_us", "cpu.rt_period_us", "cpu.idle", "cpu.stat"}},
    {"cpuacct", {"cgroup.procs", "cpuacct.usage", "cpuacct.stat"}},
    {"cpuset", {"cgroup.procs", "cpuset.cpus", "cpuset.mems"}},
    {"memory",
     {"cgroup.procs", "memory.limit_in_bytes", "memory.soft_limit_in_bytes",
      "memory.memsw.limit_in_bytes", "memory.swappiness", "memory.oom_control",
      "memory.kmem.tcp.limit_in_bytes", "memory.usage_in_bytes"}},
    {"devices", {"cgroup.procs", "devices.allow", "devices.deny"}},
    {"freezer", {"cgroup.procs", "freezer.state"}},
    {"blkio",
     {"cgroup.procs", "blkio.weight", "blkio.leaf_weight", "blkio.weight_device",
      "blkio.leaf_weight_device", "blkio.throttle.read_bps_device",
      "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device",
      "blkio.throttle.write_iops_device"}},
    {"pids", {"cgroup.procs", "pids.max"}},
    {"hugetlb", {"cgroup.procs", "hugetlb.2MB.limit_in_bytes"}},
    {"net_cls,net_prio", {"cgroup.procs", "net_cls.classid", "net_prio.ifpriomap"}},
    {"systemd", {"cgroup.procs"}},
    {"unified", {"cgroup.procs"}},
};

class V1Fake : public ::testing::Test {
 protected:
  // Hierarchies as a hybrid host lays them out, under the temp dir.
  std::vector<Hierarchy> hierarchies(bool with_cpuset = true) const {
    std::vector<Hierarchy> hs;
    for (const auto& [name, files] : kFiles) {
      if (name == "cpuset" && !with_cpuset) continue;
      Hierarchy h;
      h.mountpoint = tmp_ / name;
      if (name == "systemd")
        h.controllers = {"name=systemd"};
      else if (name == "unified")
        h.cgroup2 = true;
      else
        h.controllers = split(name, ',');
      fs::create_directories(h.mountpoint);
      hs.push_back(h);
    }
    hs.push_back({tmp_ / "other", {"name=other"}, false});  // a named hierarchy: not ours
    fs::create_directories(tmp_ / "other");
    return hs;
  }

  std::unique_ptr<Manager> make(std::vector<Hierarchy> hs, const std::string& path = "/skiff/c1") {
    Options o;
    o.root = tmp_.path();
    o.cgroups_path = path;
    o.mode = Mode::kHybrid;
    o.hierarchies = std::move(hs);
    auto m = make_manager(o);
    EXPECT_TRUE(m.ok()) << m.error().what();
    return std::move(*m);
  }

  // The leaf already exists with the kernel's files (so no cpuset copy is needed).
  std::unique_ptr<Manager> make_populated(const std::string& path = "/skiff/c1") {
    for (const auto& [name, files] : kFiles) touch_files(tmp_ / name + path, files);
    return make(hierarchies(), path);
  }

  std::string dir(const std::string& hierarchy, const std::string& path = "/skiff/c1") const {
    return tmp_ / hierarchy + path;
  }
  std::string file(const std::string& hierarchy, const std::string& name) const {
    return test::read_file(dir(hierarchy) + "/" + name);
  }

  test::TempDir tmp_;
};

TEST_F(V1Fake, CreateInEveryHierarchyThenDestroy) {
  fs::create_directories(tmp_ / "memory/skiff");  // a parent that exists already
  auto m = make(hierarchies(/*with_cpuset=*/false));
  ASSERT_EQ(m->mode(), Mode::kHybrid);
  auto r = m->create();
  ASSERT_TRUE(r.ok()) << r.error().what();
  for (const auto& [name, files] : kFiles) {
    if (name == "cpuset") continue;
    EXPECT_TRUE(fs::is_directory(dir(name))) << name;
  }
  EXPECT_FALSE(fs::exists(tmp_ / "other/skiff")) << "foreign named hierarchies are left alone";

  Json j = m->to_json();
  EXPECT_EQ(j["mode"], "hybrid");
  EXPECT_EQ(j["relative"], "/skiff/c1");
  EXPECT_EQ(j["paths"]["memory"], dir("memory"));
  EXPECT_EQ(j["paths"]["net_cls,net_prio"], dir("net_cls,net_prio"));
  EXPECT_EQ(j["paths"]["systemd"], dir("systemd"));
  EXPECT_EQ(j["paths"]["unified"], dir("unified"));
  EXPECT_FALSE(j["paths"].contains("other"));
  std::vector<std::string> created = j["created"];
  EXPECT_NE(std::find(created.begin(), created.end(), tmp_ / "cpu/skiff"), created.end());
  EXPECT_NE(std::find(created.begin(), created.end(), dir("cpu")), created.end());
  EXPECT_EQ(std::find(created.begin(), created.end(), tmp_ / "memory/skiff"), created.end())
      << "memory/skiff existed before";

  std::map<std::string, MountPoint> mounts;
  for (auto& mp : m->mount_points()) mounts[mp.name] = mp;
  ASSERT_EQ(mounts.size(), kFiles.size() - 1);
  EXPECT_EQ(mounts["memory"].fs_type, "cgroup");
  EXPECT_EQ(mounts["memory"].options, "memory");
  EXPECT_EQ(mounts["memory"].host_path, dir("memory"));
  EXPECT_EQ(mounts["net_cls,net_prio"].options, "net_cls,net_prio");
  EXPECT_EQ(mounts["systemd"].options, "none,name=systemd");
  EXPECT_EQ(mounts["systemd"].fs_type, "cgroup");
  EXPECT_EQ(mounts["unified"].fs_type, "cgroup2");
  EXPECT_EQ(mounts["unified"].options, "");

  ASSERT_TRUE(m->destroy().ok());
  for (const auto& [name, files] : kFiles) {
    EXPECT_FALSE(fs::exists(dir(name))) << name;
    EXPECT_EQ(fs::exists(tmp_ / name + "/skiff"), name == "memory")
        << name << ": parents we made go, the one that was there stays";
  }
}

TEST_F(V1Fake, CreateFailingHalfWayLeavesNothing) {
  auto hs = hierarchies(false);
  // The last hierarchy's mount point is a file: mkdir under it fails after the others worked.
  test::write_file(tmp_ / "broken", "");
  hs.push_back({tmp_ / "broken", {"perf_event"}, false});
  auto m = make(hs);
  auto r = m->create();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(), cat("create cgroup `/skiff/c1` in `", tmp_ / "broken", "`: mkdir `",
                                  tmp_ / "broken/skiff", "`: Not a directory"));
  for (const auto& [name, files] : kFiles) EXPECT_FALSE(fs::exists(tmp_ / name + "/skiff")) << name;
}

oci::Resources full_resources() {
  oci::Resources r;
  oci::MemoryResources mem;
  mem.limit = 268435456;        // 256 MiB
  mem.reservation = 134217728;  // 128 MiB
  mem.swap = 536870912;         // memory+swap 512 MiB
  mem.swappiness = 10;
  mem.disable_oom_killer = true;
  mem.kernel = 1;  // ignored
  mem.kernel_tcp = 1048576;
  r.memory = mem;
  oci::CpuResources cpu;
  cpu.shares = 512;
  cpu.quota = 20000;
  cpu.period = 100000;
  cpu.burst = 5000;
  cpu.realtime_period = 1000000;
  cpu.realtime_runtime = 950;
  cpu.idle = 0;
  cpu.cpus = "0";
  cpu.mems = "0";
  r.cpu = cpu;
  r.pids = oci::PidsResources{64};
  oci::BlockIoResources io;
  io.weight = 300;
  io.leaf_weight = 200;
  io.weight_device.push_back({8, 0, uint16_t{400}, uint16_t{100}});
  io.throttle_read_bps_device = {{8, 0, 1048576}, {8, 16, 4096}};
  io.throttle_write_bps_device = {{8, 0, 2097152}};
  io.throttle_read_iops_device = {{8, 0, 100}};
  io.throttle_write_iops_device = {{8, 0, 50}};
  r.block_io = io;
  r.hugepage_limits = {{"2MB", 4194304}};
  r.network = oci::NetworkResources{};
  r.network->class_id = 0x100001;
  r.network->priorities = {{"eth0", 5}, {"lo", 2}};
  using R = oci::DeviceCgroupRule;
  r.devices = {R{false, "a", std::nullopt, std::nullopt, "rwm"},
               R{true, "c", 1, 3, "rwm"},
               R{true, "c", std::nullopt, std::nullopt, "m"},
               R{true, "b", 8, std::nullopt, "r"},
               R{false, "c", 5, 1, "w"},
               R{true, "a", 10, 200, "rw"}};
  return r;
}

TEST_F(V1Fake, ApplyWritesEveryResource) {
  auto m = make_populated();
  test::write_file(dir("memory") + "/memory.limit_in_bytes", "9223372036854771712\n");
  WriteRecorder rec;
  auto r = m->apply(full_resources());
  ASSERT_TRUE(r.ok()) << r.error().what();
  EXPECT_EQ(file("memory", "memory.limit_in_bytes"), "268435456");
  EXPECT_EQ(file("memory", "memory.memsw.limit_in_bytes"), "536870912");
  EXPECT_EQ(file("memory", "memory.soft_limit_in_bytes"), "134217728");
  EXPECT_EQ(file("memory", "memory.swappiness"), "10");
  EXPECT_EQ(file("memory", "memory.oom_control"), "1");
  EXPECT_EQ(file("memory", "memory.kmem.tcp.limit_in_bytes"), "1048576");
  EXPECT_EQ(file("cpu", "cpu.shares"), "512");
  EXPECT_EQ(file("cpu", "cpu.cfs_quota_us"), "20000");
  EXPECT_EQ(file("cpu", "cpu.cfs_period_us"), "100000");
  EXPECT_EQ(file("cpu", "cpu.cfs_burst_us"), "5000");
  EXPECT_EQ(file("cpu", "cpu.rt_period_us"), "1000000");
  EXPECT_EQ(file("cpu", "cpu.rt_runtime_us"), "950");
  EXPECT_EQ(file("cpu", "cpu.idle"), "0");
  EXPECT_EQ(file("cpuset", "cpuset.cpus"), "0");
  EXPECT_EQ(file("cpuset", "cpuset.mems"), "0");
  EXPECT_EQ(file("pids", "pids.max"), "64");
  EXPECT_EQ(file("blkio", "blkio.weight"), "300");
  EXPECT_EQ(file("blkio", "blkio.leaf_weight"), "200");
  EXPECT_EQ(file("blkio", "blkio.weight_device"), "8:0 400");
  EXPECT_EQ(file("blkio", "blkio.leaf_weight_device"), "8:0 100");
  EXPECT_EQ(rec.to("/blkio.throttle.read_bps_device"),
            (std::vector<std::string>{"8:0 1048576", "8:16 4096"}));
  EXPECT_EQ(file("blkio", "blkio.throttle.write_bps_device"), "8:0 2097152");
  EXPECT_EQ(file("blkio", "blkio.throttle.read_iops_device"), "8:0 100");
  EXPECT_EQ(file("blkio", "blkio.throttle.write_iops_device"), "8:0 50");
  EXPECT_EQ(file("hugetlb", "hugetlb.2MB.limit_in_bytes"), "4194304");
  EXPECT_EQ(file("net_cls,net_prio", "net_cls.classid"), "1048577");
  EXPECT_EQ(rec.to("/net_prio.ifpriomap"), (std::vector<std::string>{"eth0 5", "lo 2"}));
  // Period before runtime for real-time.
  auto files = rec.files();
  auto pos = [&](const std::string& f) { return std::find(files.begin(), files.end(), f); };
  EXPECT_LT(pos("cpu.rt_period_us"), pos("cpu.rt_runtime_us"));
  EXPECT_TRUE(rec.to("memory.kmem.limit_in_bytes").empty()) << "kernel memory is ignored";

  // Device rules, in order, each to its file; the leading deny-all is "a".
  std::vector<std::string> devices;
  for (const auto& [path, value] : rec.writes)
    if (path.find("/devices.") != std::string::npos)
      devices.push_back(path.substr(path.rfind('/') + 1) + " " + value);
  EXPECT_EQ(devices, (std::vector<std::string>{"devices.deny a", "devices.allow c 1:3 rwm",
                                               "devices.allow c *:* m", "devices.allow b 8:* r",
                                               "devices.deny c 5:1 w", "devices.allow c 10:200 rw",
                                               "devices.allow b 10:200 rw"}));
}

TEST_F(V1Fake, BfqWeightFilesWhenThereIsNoCfq) {
  auto m = make_populated();
  fs::remove(dir("blkio") + "/blkio.weight");
  fs::remove(dir("blkio") + "/blkio.weight_device");
  touch_files(dir("blkio"), {"blkio.bfq.weight", "blkio.bfq.weight_device"});
  oci::Resources r;
  r.block_io = oci::BlockIoResources{};
  r.block_io->weight = 300;
  r.block_io->weight_device.push_back({8, 0, uint16_t{400}, std::nullopt});
  ASSERT_TRUE(m->apply(r).ok());
  EXPECT_EQ(file("blkio", "blkio.bfq.weight"), "300");
  EXPECT_EQ(file("blkio", "blkio.bfq.weight_device"), "8:0 400");
}

oci::Resources memory(std::optional<int64_t> limit, std::optional<int64_t> swap) {
  oci::Resources r;
  r.memory = oci::MemoryResources{};
  r.memory->limit = limit;
  r.memory->swap = swap;
  return r;
}

TEST_F(V1Fake, MemswOrderKeepsLimitBelowMemsw) {
  auto m = make_populated();
  const std::string limit_file = dir("memory") + "/memory.limit_in_bytes";
  struct Case {
    const char* current;
    int64_t limit, swap;
    std::vector<std::string> order;
  };
  const Case cases[] = {
      // Raising (new memsw above the current limit): memsw first.
      {"1073741824",
       2147483648,
       4294967296,
       {"memory.memsw.limit_in_bytes", "memory.limit_in_bytes"}},
      // Lowering: the limit first, then memsw can come down under the old limit.
      {"1073741824",
       268435456,
       536870912,
       {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"}},
      // Unlimited swap: always first.
      {"1073741824", 268435456, -1, {"memory.memsw.limit_in_bytes", "memory.limit_in_bytes"}},
  };
  for (const auto& c : cases) {
    test::write_file(limit_file, c.current);
    WriteRecorder rec;
    auto r = m->apply(memory(c.limit, c.swap));
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(rec.files(), c.order) << c.limit << "/" << c.swap;
  }
  EXPECT_TRUE(v1_swap_first(100, 200));
  EXPECT_FALSE(v1_swap_first(300, 200));
  EXPECT_TRUE(v1_swap_first(300, -1));

  // Unlimited memory without a swap value lifts memsw too.
  WriteRecorder rec;
  ASSERT_TRUE(m->apply(memory(-1, std::nullopt)).ok());
  EXPECT_EQ(rec.to("/memory.memsw.limit_in_bytes"), std::vector<std::string>{"-1"});
  EXPECT_EQ(rec.to("/memory.limit_in_bytes"), std::vector<std::string>{"-1"});
}

TEST_F(V1Fake, MemswOrderIsRetriedTheOtherWay) {
  auto m = make_populated();
  test::write_file(dir("memory") + "/memory.limit_in_bytes", "1073741824");
  // The kernel's view differs from what we read: memsw is refused until the limit is down.
  bool limit_written = false;
  WriteRecorder rec;
  rec.on_write = [&](const std::string& path) {
    if (path.ends_with("/memory.limit_in_bytes")) limit_written = true;
  };
  set_write_hook([&](const std::string& path, std::string_view value) {
    rec.writes.emplace_back(path, std::string(value));
    rec.on_write(path);
    return path.ends_with("memsw.limit_in_bytes") && !limit_written ? EINVAL : 0;
  });
  auto r = m->apply(memory(2147483648, 4294967296));
  ASSERT_TRUE(r.ok()) << r.error().what();
  EXPECT_EQ(rec.files(),
            (std::vector<std::string>{"memory.memsw.limit_in_bytes", "memory.limit_in_bytes",
                                      "memory.memsw.limit_in_bytes"}));
  EXPECT_EQ(file("memory", "memory.memsw.limit_in_bytes"), "4294967296");
}

TEST_F(V1Fake, SwapWithoutSwapAccounting) {
  auto m = make_populated();
  fs::remove(dir("memory") + "/memory.memsw.limit_in_bytes");
  auto r = m->apply(memory(268435456, 536870912));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(),
            "linux.resources.memory.swap = 536870912: swap limit not supported by this kernel "
            "(memory.memsw.limit_in_bytes missing)");
  EXPECT_TRUE(m->apply(memory(268435456, -1)).ok()) << "unlimited swap asks for nothing";
  EXPECT_TRUE(m->apply(memory(-1, std::nullopt)).ok());
  EXPECT_EQ(file("memory", "memory.limit_in_bytes"), "-1");
}

TEST_F(V1Fake, SwapBelowLimitIsRefused) {
  auto m = make_populated();
  auto r = m->apply(memory(536870912, 268435456));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(),
            "linux.resources.memory.swap = 268435456: must be at least "
            "linux.resources.memory.limit (536870912): swap is memory+swap");
}

TEST_F(V1Fake, BusyLimitSaysFileErrnoFieldAndUsage) {
  auto m = make_populated();
  test::write_file(dir("memory") + "/memory.usage_in_bytes", "300000000\n");
  WriteRecorder rec;
  rec.fail[{"/memory.limit_in_bytes", ""}] = EBUSY;
  auto r = m->apply(memory(1024, std::nullopt));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(),
            cat("write `", dir("memory"),
                "/memory.limit_in_bytes`: Device or resource busy (while applying "
                "linux.resources.memory.limit = 1024: the cgroup already uses 300000000 bytes)"));
}

TEST_F(V1Fake, ShorterPeriodIsRetriedAfterTheQuota) {
  auto m = make_populated();
  bool quota_written = false;
  WriteRecorder rec;
  set_write_hook([&](const std::string& path, std::string_view value) {
    rec.writes.emplace_back(path, std::string(value));
    if (path.ends_with("cfs_quota_us")) quota_written = true;
    return path.ends_with("cfs_period_us") && !quota_written ? EINVAL : 0;
  });
  oci::Resources r;
  r.cpu = oci::CpuResources{};
  r.cpu->quota = 10000;
  r.cpu->period = 20000;
  ASSERT_TRUE(m->apply(r).ok());
  EXPECT_EQ(rec.files(), (std::vector<std::string>{"cpu.cfs_period_us", "cpu.cfs_quota_us",
                                                   "cpu.cfs_period_us"}));
  // Without a quota the refusal is the answer.
  r.cpu->quota.reset();
  quota_written = false;
  auto res = m->apply(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().what(), cat("write `", dir("cpu"),
                                    "/cpu.cfs_period_us`: Invalid argument "
                                    "(while applying linux.resources.cpu.period = 20000)"));
  set_write_hook(nullptr);
}

TEST_F(V1Fake, QuotaAndPidsUnlimited) {
  auto m = make_populated();
  oci::Resources r;
  r.cpu = oci::CpuResources{};
  r.cpu->quota = -1;
  r.pids = oci::PidsResources{0};
  ASSERT_TRUE(m->apply(r).ok());
  EXPECT_EQ(file("cpu", "cpu.cfs_quota_us"), "-1");
  EXPECT_EQ(file("pids", "pids.max"), "max");
}

TEST_F(V1Fake, MissingControllersAndV2OnlyFields) {
  std::vector<Hierarchy> hs;
  for (auto& h : hierarchies())
    if (!h.has("hugetlb") && !h.has("net_cls")) hs.push_back(h);
  for (const auto& [name, files] : kFiles) touch_files(dir(name), files);
  auto m = make(hs);
  oci::Resources huge;
  huge.hugepage_limits = {{"2MB", 1}};
  auto r = m->apply(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(),
            "linux.resources.hugepageLimits: the `hugetlb` cgroup v1 controller is not mounted on "
            "this host");
  oci::Resources net;
  net.network = oci::NetworkResources{};
  net.network->priorities = {{"eth0", 1}};
  r = m->apply(net);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("`net_prio` cgroup v1 controller is not mounted"),
            std::string::npos);
  oci::Resources unified;
  unified.unified = {{"memory.high", "1"}};
  WriteRecorder rec;
  r = m->apply(unified);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(),
            "linux.resources.unified: needs cgroup v2; this host's controllers are v1");
  EXPECT_TRUE(rec.writes.empty());
  oci::Resources bad_size;
  bad_size.hugepage_limits = {{"../2MB", 1}};
  r = m->apply(bad_size);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("hugepageLimits[0].pageSize"), std::string::npos);
}

TEST_F(V1Fake, BadDeviceRuleNamesIt) {
  auto m = make_populated();
  oci::Resources r;
  r.devices = {oci::DeviceCgroupRule{true, "c", 1, 3, "rwx"}};
  auto res = m->apply(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().what(),
            "linux.resources.devices[0].access: `rwx` may only hold `r`, `w`, `m`");
}

TEST_F(V1Fake, FreezeThaw) {
  auto m = make_populated();
  test::write_file(dir("freezer") + "/freezer.state", "THAWED\n");
  EXPECT_FALSE(m->is_frozen().value_or(true));
  ASSERT_TRUE(m->freeze().ok());
  EXPECT_EQ(file("freezer", "freezer.state"), "FROZEN");
  EXPECT_TRUE(m->is_frozen().value_or(false));
  ASSERT_TRUE(m->thaw().ok());
  EXPECT_EQ(file("freezer", "freezer.state"), "THAWED");
  EXPECT_FALSE(m->is_frozen().value_or(true));
}

TEST_F(V1Fake, AddProcessGoesToEveryHierarchy) {
  auto m = make_populated();
  WriteRecorder rec;
  ASSERT_TRUE(m->add_process(4242).ok());
  EXPECT_EQ(rec.to("/cgroup.procs").size(), kFiles.size());
  for (const auto& [name, files] : kFiles) EXPECT_EQ(file(name, "cgroup.procs"), "4242") << name;
}

TEST_F(V1Fake, PidsIncludeSubCgroups) {
  auto m = make_populated();
  test::write_file(dir("pids") + "/cgroup.procs", "10\n11\n");
  test::write_file(dir("pids") + "/sub/cgroup.procs", "12\n");
  auto pids = m->pids();
  ASSERT_TRUE(pids.ok()) << pids.error().what();
  EXPECT_EQ(*pids, (std::vector<pid_t>{10, 11, 12}));
}

TEST_F(V1Fake, Stats) {
  auto m = make_populated();
  test::write_file(dir("cpuacct") + "/cpuacct.usage", "5000000000\n");
  test::write_file(dir("cpuacct") + "/cpuacct.stat", "user 300\nsystem 100\n");
  test::write_file(dir("cpu") + "/cpu.stat", "nr_periods 20\nnr_throttled 4\nthrottled_time 999\n");
  test::write_file(dir("memory") + "/memory.usage_in_bytes", "1000\n");
  test::write_file(dir("memory") + "/memory.max_usage_in_bytes", "2000\n");
  test::write_file(dir("memory") + "/memory.limit_in_bytes", "3000\n");
  test::write_file(dir("memory") + "/memory.stat", "cache 400\nrss 500\n");
  test::write_file(dir("memory") + "/memory.memsw.usage_in_bytes", "1100\n");
  test::write_file(dir("memory") + "/memory.memsw.limit_in_bytes", "6000\n");
  test::write_file(dir("memory") + "/memory.oom_control",
                   "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  test::write_file(dir("pids") + "/pids.current", "5\n");
  test::write_file(dir("pids") + "/pids.max", "64\n");
  auto s = m->stats();
  ASSERT_TRUE(s.ok()) << s.error().what();
  EXPECT_EQ(s->cpu_usage_total, 5000000000u);
  uint64_t tick = 1000000000ULL / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  EXPECT_EQ(s->cpu_usage_user, 300 * tick) << "from cpuacct.stat ticks when usage_user is absent";
  EXPECT_EQ(s->cpu_usage_kernel, 100 * tick);
  EXPECT_EQ(s->cpu_throttled_periods, 4u);
  EXPECT_EQ(s->cpu_throttled_time, 999u);
  EXPECT_EQ(s->memory_usage, 1000u);
  EXPECT_EQ(s->memory_max_usage, 2000u);
  EXPECT_EQ(s->memory_limit, 3000u);
  EXPECT_EQ(s->memory_cache, 400u);
  EXPECT_EQ(s->memory_swap_usage, 1100u);
  EXPECT_EQ(s->memory_swap_limit, 6000u);
  EXPECT_EQ(s->oom_kill, 2u);
  EXPECT_EQ(s->pids_current, 5u);
  EXPECT_EQ(s->pids_limit, 64u);
  EXPECT_EQ(s->raw["memory.stat"]["rss"], 500);
  EXPECT_EQ(s->raw["cpuacct.usage"], 5000000000u);
  EXPECT_EQ(m->oom_kill_count().value_or(0), 2u);
  // With usage_user/usage_sys (ns) present they win.
  test::write_file(dir("cpuacct") + "/cpuacct.usage_user", "7\n");
  test::write_file(dir("cpuacct") + "/cpuacct.usage_sys", "8\n");
  s = m->stats();
  EXPECT_EQ(s->cpu_usage_user, 7u);
  EXPECT_EQ(s->cpu_usage_kernel, 8u);
}

TEST_F(V1Fake, SavedStateRoundTrips) {
  auto m = make(hierarchies(false));
  ASSERT_TRUE(m->create().ok());
  auto loaded = load_manager(m->to_json());
  ASSERT_TRUE(loaded.ok()) << loaded.error().what();
  EXPECT_EQ((*loaded)->mode(), Mode::kHybrid);
  EXPECT_EQ((*loaded)->to_json(), m->to_json());
  ASSERT_TRUE((*loaded)->destroy().ok());
  EXPECT_FALSE(fs::exists(tmp_ / "memory/skiff")) << "the loaded manager knows what was created";
}

}  // namespace
}  // namespace skiff::runtime::cgroups
