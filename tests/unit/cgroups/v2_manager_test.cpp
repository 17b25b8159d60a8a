// The cgroup v2 manager against a fake tree in a temp dir: what it writes where, conversions,
// the unified map, errors, freeze, pids, stats, saved state.

#include <gtest/gtest.h>

#include <filesystem>

#include "runtime/cgroups/manager.hpp"
#include "runtime/cgroups/v2_manager.hpp"
#include "tests/support/test_util.hpp"
#include "tests/unit/cgroups/fake_tree.hpp"

namespace skiff::runtime::cgroups {
namespace {

using testing::touch_files;
using testing::WriteRecorder;

const std::vector<std::string> kLeafFiles = {
    "cgroup.procs", "cgroup.freeze",   "cgroup.events", "cgroup.controllers", "memory.max",
    "memory.low",   "memory.swap.max", "memory.high",   "memory.current",     "cpu.weight",
    "cpu.max",      "cpu.max.burst",   "cpu.idle",      "cpuset.cpus",        "cpuset.mems",
    "pids.max",     "io.weight",       "io.max",        "hugetlb.2MB.max",    "hugetlb.1GB.max"};

class V2Fake : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_file(tmp_ / "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
    test::write_file(tmp_ / "cgroup.subtree_control", "");
  }

  std::unique_ptr<Manager> make(const std::string& path) {
    Options o;
    o.root = tmp_.path();
    o.cgroups_path = path;
    o.container_id = "c1";
    o.mode = Mode::kV2;
    auto m = make_manager(o);
    EXPECT_TRUE(m.ok()) << m.error().what();
    return std::move(*m);
  }

  // A created container with the files the kernel would show in it.
  std::unique_ptr<Manager> make_created(const std::string& path = "/c1") {
    auto m = make(path);
    auto r = m->create();
    EXPECT_TRUE(r.ok()) << r.error().what();
    touch_files(dir(path), kLeafFiles);
    return m;
  }

  std::string dir(const std::string& path = "/c1") const { return tmp_.path() + path; }
  std::string file(const std::string& name, const std::string& path = "/c1") const {
    return test::read_file(dir(path) + "/" + name);
  }

  test::TempDir tmp_;
};

TEST_F(V2Fake, CreateEnablesControllersAndRecordsWhatItMade) {
  auto m = make("/c1");
  ASSERT_EQ(m->mode(), Mode::kV2);
  ASSERT_TRUE(m->create().ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir()));
  EXPECT_EQ(test::read_file(tmp_ / "cgroup.subtree_control"),
            "+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc");
  EXPECT_EQ(m->to_json(), Json({{"mode", "v2"},
                                {"root", tmp_.path()},
                                {"relative", "/c1"},
                                {"path", dir()},
                                {"created", {dir()}}}));
  auto mounts = m->mount_points();
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0].name, "");
  EXPECT_EQ(mounts[0].fs_type, "cgroup2");
  EXPECT_EQ(mounts[0].options, "");
  EXPECT_EQ(mounts[0].host_path, dir());
  ASSERT_TRUE(m->destroy().ok());
  EXPECT_FALSE(std::filesystem::exists(dir()));
  EXPECT_TRUE(m->destroy().ok()) << "a second destroy finds nothing and is fine";
}

TEST_F(V2Fake, ExistingParentIsUsedAndKept) {
  // A parent someone else made (a pod cgroup) offering fewer controllers.
  test::write_file(tmp_ / "pod/cgroup.controllers", "cpu memory pids\n");
  test::write_file(tmp_ / "pod/cgroup.subtree_control", "");
  auto m = make("/pod/c2");
  ASSERT_TRUE(m->create().ok());
  EXPECT_EQ(test::read_file(tmp_ / "pod/cgroup.subtree_control"), "+cpu +memory +pids");
  EXPECT_EQ(m->to_json()["created"], Json({tmp_ / "pod/c2"}));
  ASSERT_TRUE(m->destroy().ok());
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "pod/c2"));
  EXPECT_TRUE(std::filesystem::exists(tmp_ / "pod"));
}

TEST_F(V2Fake, CreatedParentsGoWithDestroyUnlessInUse) {
  WriteRecorder rec;
  // Plays the kernel: the new parent's interface files appear when the root enables controllers.
  rec.on_write = [&](const std::string& path) {
    if (path != tmp_ / "cgroup.subtree_control") return;
    test::write_file(tmp_ / "p/cgroup.controllers", "memory pids\n");
    test::write_file(tmp_ / "p/cgroup.subtree_control", "");
  };
  auto m = make("/p/c");
  ASSERT_TRUE(m->create().ok());
  EXPECT_EQ(rec.to("cgroup.subtree_control"),
            (std::vector<std::string>{"+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc",
                                      "+memory +pids"}));
  EXPECT_EQ(m->to_json()["created"], Json({tmp_ / "p", tmp_ / "p/c"}));
  // The kernel's files vanish with the directory; the fake's must go by hand.
  std::filesystem::remove(tmp_ / "p/cgroup.controllers");
  std::filesystem::remove(tmp_ / "p/cgroup.subtree_control");
  std::filesystem::create_directory(tmp_ / "p/other");  // another container in the same parent
  ASSERT_TRUE(m->destroy().ok());
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "p/c"));
  EXPECT_TRUE(std::filesystem::exists(tmp_ / "p/other")) << "the parent stays while in use";
  std::filesystem::remove(tmp_ / "p/other");
  ASSERT_TRUE(m->destroy().ok());
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "p")) << "and goes with the last container";
}

TEST_F(V2Fake, CreateFailingHalfWayLeavesNothing) {
  // "skiff" is new, so the fake has no skiff/cgroup.controllers: enabling fails after mkdir.
  auto m = make("/skiff/c1");
  auto r = m->create();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("cgroup.controllers"), std::string::npos) << r.error().what();
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "skiff"));
}

TEST_F(V2Fake, ControllersTheKernelRefusesAreLeftOut) {
  WriteRecorder rec;
  rec.fail[{"/cgroup.subtree_control", "+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc"}] =
      EBUSY;
  rec.fail[{"/cgroup.subtree_control", "+cpu"}] = EBUSY;
  auto m = make("/c1");
  ASSERT_TRUE(m->create().ok());
  EXPECT_EQ(
      rec.to("cgroup.subtree_control"),
      (std::vector<std::string>{"+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc", "+cpuset",
                                "+cpu", "+io", "+memory", "+hugetlb", "+pids", "+rdma", "+misc"}));
  ASSERT_TRUE(m->destroy().ok());

  // All refused: that is an error, and the new directory goes.
  WriteRecorder all;
  all.fail[{"/cgroup.subtree_control", ""}] = EACCES;
  auto m2 = make("/c2");
  auto r = m2->create();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(), cat("create cgroup `", dir("/c2"), "`: write `", tmp_.path(),
                                  "/cgroup.subtree_control`: Permission denied (while enabling "
                                  "the cgroup v2 controllers)"));
  EXPECT_FALSE(std::filesystem::exists(dir("/c2")));
}

oci::Resources full_resources() {
  oci::Resources r;
  oci::MemoryResources mem;
  mem.limit = 1073741824;       // 1 GiB
  mem.reservation = 536870912;  // 512 MiB
  mem.swap = 1610612736;        // 1.5 GiB of memory+swap → 512 MiB of swap
  mem.swappiness = 10;          // no v2 knob: ignored
  mem.kernel = 1234;            // ignored
  r.memory = mem;
  oci::CpuResources cpu;
  cpu.shares = 1024;
  cpu.quota = 50000;
  cpu.period = 100000;
  cpu.burst = 1000;
  cpu.idle = 1;
  cpu.cpus = "0-1";
  cpu.mems = "0";
  r.cpu = cpu;
  r.pids = oci::PidsResources{100};
  oci::BlockIoResources io;
  io.weight = 500;
  io.weight_device.push_back({8, 0, uint16_t{200}, std::nullopt});
  io.throttle_read_bps_device.push_back({8, 0, 1048576});
  io.throttle_write_bps_device.push_back({8, 0, 2097152});
  io.throttle_read_iops_device.push_back({8, 16, 100});
  io.throttle_write_iops_device.push_back({8, 0, 0});
  r.block_io = io;
  r.hugepage_limits = {{"2MB", 4194304}, {"1GB", 0}};
  r.unified = {{"memory.high", "900000000"}, {"pids.max", "50"}};
  return r;
}

TEST_F(V2Fake, ApplyWritesEveryResource) {
  auto m = make_created();
  WriteRecorder rec;
  auto r = m->apply(full_resources());
  ASSERT_TRUE(r.ok()) << r.error().what();
  EXPECT_EQ(file("memory.max"), "1073741824");
  EXPECT_EQ(file("memory.low"), "536870912");
  EXPECT_EQ(file("memory.swap.max"), "536870912");
  EXPECT_EQ(file("cpu.weight"), "39");  // 1 + (1022 * 9999) / 262142
  EXPECT_EQ(file("cpu.max"), "50000 100000");
  EXPECT_EQ(file("cpu.max.burst"), "1000");
  EXPECT_EQ(file("cpu.idle"), "1");
  EXPECT_EQ(file("cpuset.cpus"), "0-1");
  EXPECT_EQ(file("cpuset.mems"), "0");
  EXPECT_EQ(file("hugetlb.2MB.max"), "4194304");
  EXPECT_EQ(file("hugetlb.1GB.max"), "0");
  EXPECT_EQ(file("memory.high"), "900000000");
  // io.weight: the default weight, then the device's (1 + (w - 10) * 9999 / 990).
  EXPECT_EQ(rec.to("/io.weight"), (std::vector<std::string>{"4950", "8:0 1920"}));
  // io.max: one line per device, its limits in rbps wbps riops wiops order; 0 = no limit.
  EXPECT_EQ(rec.to("/io.max"), (std::vector<std::string>{"8:0 rbps=1048576 wbps=2097152 wiops=max",
                                                         "8:16 riops=100"}));
  // pids.max from linux.resources.pids, then the unified map, written last and verbatim, wins.
  EXPECT_EQ(rec.to("/pids.max"), (std::vector<std::string>{"100", "50"}));
  EXPECT_EQ(file("pids.max"), "50");
  auto files = rec.files();
  ASSERT_GE(files.size(), 2u);
  EXPECT_EQ(files[files.size() - 2], "memory.high");
  EXPECT_EQ(files.back(), "pids.max");
}

TEST_F(V2Fake, BfqWeightIsWrittenUnconverted) {
  auto m = make_created();
  touch_files(dir(), {"io.bfq.weight"});
  oci::Resources r;
  oci::BlockIoResources io;
  io.weight = 500;
  io.weight_device.push_back({8, 0, uint16_t{200}, std::nullopt});
  r.block_io = io;
  WriteRecorder rec;
  ASSERT_TRUE(m->apply(r).ok());
  EXPECT_EQ(rec.to("/io.bfq.weight"), (std::vector<std::string>{"500", "8:0 200"}));
  EXPECT_TRUE(rec.to("/io.weight").empty());
}

TEST(V2Conversions, CpuWeightFromShares) {
  EXPECT_EQ(cpu_shares_to_weight(2), 1u);
  EXPECT_EQ(cpu_shares_to_weight(1024), 39u);
  EXPECT_EQ(cpu_shares_to_weight(262144), 10000u);
  EXPECT_EQ(cpu_shares_to_weight(1), 1u);  // clamped to the v1 range first
  EXPECT_EQ(cpu_shares_to_weight(1000000), 10000u);
  EXPECT_EQ(cpu_shares_to_weight(512), 20u);  // 1 + 510 * 9999 / 262142
}

TEST(V2Conversions, IoWeightFromBlkioWeight) {
  EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
  EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
  EXPECT_EQ(blkio_weight_to_io_weight(500), 4950u);
  EXPECT_EQ(blkio_weight_to_io_weight(100), 910u);
  EXPECT_EQ(blkio_weight_to_io_weight(1), 1u);
}

TEST(V2Conversions, SwapIsMemoryPlusSwap) {
  using O = std::optional<int64_t>;
  struct Case {
    O limit, swap;
    std::optional<std::string> want;
  };
  const Case cases[] = {
      {O(), O(), std::nullopt},   {O(1000), O(), std::nullopt}, {O(1000), O(0), std::nullopt},
      {O(-1), O(), "max"},  // unlimited memory, no swap value: unlimited swap
      {O(1000), O(-1), "max"},    {O(1000), O(1000), "0"},  // no swap at all
      {O(1000), O(3000), "2000"},
  };
  for (const auto& c : cases) {
    auto r = v2_swap_max(c.limit, c.swap);
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(*r, c.want) << c.limit.value_or(0) << "/" << c.swap.value_or(0);
  }
  auto no_limit = v2_swap_max(O(), O(3000));
  ASSERT_FALSE(no_limit.ok());
  EXPECT_EQ(no_limit.error().what(),
            "linux.resources.memory.swap = 3000: needs a linux.resources.memory.limit (swap is "
            "memory+swap)");
  EXPECT_FALSE(v2_swap_max(O(-1), O(3000)).ok());
  auto below = v2_swap_max(O(2000), O(1000));
  ASSERT_FALSE(below.ok());
  EXPECT_EQ(below.error().what(),
            "linux.resources.memory.swap = 1000: must be at least linux.resources.memory.limit "
            "(2000): swap is memory+swap");
}

TEST_F(V2Fake, SwapWithoutSwapAccounting) {
  auto m = make_created();
  std::filesystem::remove(dir() + "/memory.swap.max");
  oci::Resources unlimited;
  unlimited.memory = oci::MemoryResources{};
  unlimited.memory->limit = -1;
  auto r = m->apply(unlimited);
  ASSERT_TRUE(r.ok()) << "\"max\" needs no swap file: " << r.error().what();
  EXPECT_EQ(file("memory.max"), "max");
  oci::Resources limited;
  limited.memory = oci::MemoryResources{};
  limited.memory->limit = 1000;
  limited.memory->swap = 3000;
  r = m->apply(limited);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(), cat("write `", dir(),
                                  "/memory.swap.max`: No such file or directory "
                                  "(while applying linux.resources.memory.swap = 3000, i.e. "
                                  "swap.max 2000)"));
}

TEST_F(V2Fake, CpuMaxForms) {
  auto m = make_created();
  auto apply_cpu = [&](std::optional<int64_t> quota, std::optional<uint64_t> period) {
    oci::Resources r;
    r.cpu = oci::CpuResources{};
    r.cpu->quota = quota;
    r.cpu->period = period;
    auto res = m->apply(r);
    EXPECT_TRUE(res.ok()) << res.error().what();
    return file("cpu.max");
  };
  EXPECT_EQ(apply_cpu(-1, 100000), "max 100000");
  EXPECT_EQ(apply_cpu(30000, std::nullopt), "30000");
  test::write_file(dir() + "/cpu.max", "20000 100000\n");
  EXPECT_EQ(apply_cpu(std::nullopt, 50000), "20000 50000") << "period alone keeps the quota";
  test::write_file(dir() + "/cpu.max", "");
  EXPECT_EQ(apply_cpu(std::nullopt, 50000), "max 50000");
}

TEST_F(V2Fake, UnifiedKeysAreChecked) {
  auto m = make_created();
  for (const char* key : {"a/b", "../memory.max", "..", ".", ""}) {
    oci::Resources r = full_resources();
    r.unified = {{key, "1"}};
    WriteRecorder rec;
    auto res = m->apply(r);
    ASSERT_FALSE(res.ok()) << key;
    EXPECT_EQ(
        res.error().what(),
        cat("linux.resources.unified[", json_quote(key),
            "]: invalid key: it must name a file of the container's cgroup (no `/`, no `..`)"));
    EXPECT_TRUE(rec.writes.empty()) << "checked before anything is written";
  }
}

TEST_F(V2Fake, UnifiedUnknownFileAndRefusedValue) {
  auto m = make_created();
  oci::Resources r;
  r.unified = {{"memory.foo", "1"}};
  auto res = m->apply(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().what(),
            cat("linux.resources.unified[\"memory.foo\"]: no file `", dir(),
                "/memory.foo` (not a cgroup v2 interface file, or the `memory` controller is not "
                "enabled for this cgroup)"));
  EXPECT_FALSE(std::filesystem::exists(dir() + "/memory.foo")) << "never created";

  WriteRecorder rec;
  rec.fail[{"/memory.high", ""}] = EINVAL;
  r.unified = {{"memory.high", "lots"}};
  res = m->apply(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().what(), cat("write `", dir(),
                                    "/memory.high`: Invalid argument (while applying "
                                    "linux.resources.unified[\"memory.high\"] = \"lots\")"));
}

TEST_F(V2Fake, WriteErrorsNameFileErrnoAndField) {
  auto m = make_created();
  WriteRecorder rec;
  rec.fail[{"/memory.max", ""}] = EBUSY;
  oci::Resources r;
  r.memory = oci::MemoryResources{};
  r.memory->limit = 1024;
  auto res = m->apply(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().what(), cat("write `", dir(),
                                    "/memory.max`: Device or resource busy "
                                    "(while applying linux.resources.memory.limit = 1024)"));
}

TEST_F(V2Fake, V1OnlyKnobsAreRefusedBeforeWriting) {
  auto m = make_created();
  WriteRecorder rec;
  oci::Resources rt = full_resources();
  rt.cpu->realtime_runtime = 1000;
  auto res = m->apply(rt);
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.error().what().find("linux.resources.cpu.realtimeRuntime"), std::string::npos);
  oci::Resources net = full_resources();
  net.network = oci::NetworkResources{};
  net.network->class_id = 1;
  res = m->apply(net);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().what(),
            "linux.resources.network: net_cls and net_prio do not exist on cgroup v2");
  EXPECT_TRUE(rec.writes.empty());
}

TEST_F(V2Fake, DeviceRulesOnAFakeTreeFailWithTheField) {
  // A temp dir is no cgroup: loading (without privilege) or attaching must fail, and say where.
  auto m = make_created();
  oci::Resources r;
  r.devices.push_back({false, "a", std::nullopt, std::nullopt, "rwm"});
  auto res = m->apply(r);
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.error().what().starts_with("linux.resources.devices")) << res.error().what();
}

TEST_F(V2Fake, FreezeWaitsForTheKernel) {
  auto m = make_created();
  test::write_file(dir() + "/cgroup.events", "populated 1\nfrozen 1\n");
  ASSERT_TRUE(m->freeze().ok());
  EXPECT_EQ(file("cgroup.freeze"), "1");
  EXPECT_TRUE(m->is_frozen().value_or(false));
  test::write_file(dir() + "/cgroup.events", "populated 1\nfrozen 0\n");
  EXPECT_FALSE(m->is_frozen().value_or(true)) << "asked to freeze, not frozen yet";
  ASSERT_TRUE(m->thaw().ok());
  EXPECT_EQ(file("cgroup.freeze"), "0");
  EXPECT_FALSE(m->is_frozen().value_or(true));
}

TEST_F(V2Fake, FreezeThatNeverCompletesIsUndone) {
  auto m = make_created();
  test::write_file(dir() + "/cgroup.events", "populated 1\nfrozen 0\n");
  WriteRecorder rec;
  auto r = m->freeze();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("still reads `frozen 0` 2 s after writing 1"), std::string::npos)
      << r.error().what();
  EXPECT_EQ(rec.to("/cgroup.freeze"), (std::vector<std::string>{"1", "0"}));
}

TEST_F(V2Fake, ProcessesIncludingSubCgroups) {
  auto m = make_created();
  ASSERT_TRUE(m->add_process(4242).ok());
  EXPECT_EQ(file("cgroup.procs"), "4242");
  test::write_file(dir() + "/cgroup.procs", "12\n34\n");
  test::write_file(dir() + "/inner/cgroup.procs", "56\n12\n");
  auto pids = m->pids();
  ASSERT_TRUE(pids.ok()) << pids.error().what();
  EXPECT_EQ(*pids, (std::vector<pid_t>{12, 34, 56}));
}

TEST_F(V2Fake, Stats) {
  auto m = make_created();
  test::write_file(dir() + "/cpu.stat",
                   "usage_usec 100\nuser_usec 60\nsystem_usec 40\nnr_periods 10\n"
                   "nr_throttled 3\nthrottled_usec 7\n");
  test::write_file(dir() + "/memory.current", "4096\n");
  test::write_file(dir() + "/memory.peak", "8192\n");
  test::write_file(dir() + "/memory.max", "max\n");
  test::write_file(dir() + "/memory.stat", "anon 1\nfile 2048\n");
  test::write_file(dir() + "/memory.swap.current", "100\n");
  test::write_file(dir() + "/memory.swap.max", "max\n");
  test::write_file(dir() + "/memory.events", "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n");
  test::write_file(dir() + "/pids.current", "3\n");
  test::write_file(dir() + "/pids.max", "max\n");
  auto s = m->stats();
  ASSERT_TRUE(s.ok()) << s.error().what();
  EXPECT_EQ(s->cpu_usage_total, 100000u);
  EXPECT_EQ(s->cpu_usage_user, 60000u);
  EXPECT_EQ(s->cpu_usage_kernel, 40000u);
  EXPECT_EQ(s->cpu_throttled_periods, 3u);
  EXPECT_EQ(s->cpu_throttled_time, 7000u);
  EXPECT_EQ(s->memory_usage, 4096u);
  EXPECT_EQ(s->memory_max_usage, 8192u);
  EXPECT_EQ(s->memory_limit, UINT64_MAX);
  EXPECT_EQ(s->memory_cache, 2048u);
  EXPECT_EQ(s->memory_swap_usage, 4196u);
  EXPECT_EQ(s->memory_swap_limit, UINT64_MAX);
  EXPECT_EQ(s->oom_kill, 1u);
  EXPECT_EQ(s->pids_current, 3u);
  EXPECT_EQ(s->pids_limit, 0u);
  EXPECT_EQ(s->raw["memory.events"]["max"], 2);
  EXPECT_EQ(s->raw["cpu.stat"]["nr_periods"], 10);
  EXPECT_EQ(m->oom_kill_count().value_or(0), 1u);
}

TEST_F(V2Fake, SavedStateRoundTrips) {
  auto m = make_created("/skiff-saved");
  auto loaded = load_manager(m->to_json());
  ASSERT_TRUE(loaded.ok()) << loaded.error().what();
  EXPECT_EQ((*loaded)->mode(), Mode::kV2);
  EXPECT_EQ((*loaded)->to_json(), m->to_json());
  ASSERT_TRUE((*loaded)->add_process(7).ok());
  EXPECT_EQ(file("cgroup.procs", "/skiff-saved"), "7");
  EXPECT_FALSE(load_manager(Json::object()).ok());
  EXPECT_FALSE(load_manager(Json{{"mode", "v3"}}).ok());
  EXPECT_FALSE(load_manager(Json{{"mode", "v2"}}).ok());
}

}  // namespace
}  // namespace skiff::runtime::cgroups
