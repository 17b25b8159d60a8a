// The cgroup v2 device filter on the real kernel: the generated program passes the verifier,
// attaches to a cgroup2 directory (the hybrid host's "unified" mount works: device programs need
// no v2 controller), replaces its predecessor, and decides device access for a task inside.
// Also the whole v2 manager against that real cgroup2 mount.

#include <sys/stat.h>

#include <filesystem>

#include "common/fs.hpp"
#include "runtime/cgroups/bpf_device_filter.hpp"
#include "runtime/cgroups/files.hpp"
#include "runtime/cgroups/hierarchies.hpp"
#include "runtime/cgroups/manager.hpp"
#include "tests/integration/cgroups/child_process.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::runtime::cgroups {
namespace {

namespace fs = std::filesystem;
using testing::ChildProcess;
using R = oci::DeviceCgroupRule;

std::vector<DeviceRule> only_dev_null() {
  return normalize_device_rules(
             {R{false, "a", std::nullopt, std::nullopt, "rwm"}, R{true, "c", 1, 3, "rwm"}})
      .value();
}

// The host's cgroup2 mount: /sys/fs/cgroup itself on v2, the "unified" one on hybrid hosts.
std::string cgroup2_mount() {
  auto mode = detect_mode();
  if (!mode.ok()) return "";
  if (*mode == Mode::kV2) return "/sys/fs/cgroup";
  auto hs = discover_hierarchies("/sys/fs/cgroup");
  if (!hs.ok()) return "";
  for (const auto& h : *hs)
    if (h.cgroup2) return h.mountpoint;
  return "";
}

TEST(BpfDeviceFilter, ProgramLoadsOnThisKernel) {
  SKIFF_REQUIRE_ROOT();
  auto fd = load_device_program(device_filter_program(only_dev_null()));
  if (!fd.ok() && (fd.error().code() == ENOSYS || fd.error().code() == EINVAL))
    GTEST_SKIP() << "no BPF_PROG_TYPE_CGROUP_DEVICE here: " << fd.error().what();
  ASSERT_TRUE(fd.ok()) << fd.error().what();
  EXPECT_TRUE(fd->valid());
  // The long default list too.
  std::vector<R> many = {R{false, "a", std::nullopt, std::nullopt, "rwm"}};
  for (int minor = 0; minor < 64; ++minor) many.push_back(R{true, "c", 1, minor, "rw"});
  many.push_back(R{false, "c", 1, 5, "w"});
  auto big = load_device_program(device_filter_program(normalize_device_rules(many).value()));
  ASSERT_TRUE(big.ok()) << big.error().what();
}

TEST(BpfDeviceFilter, VerifierRejectionIsExplained) {
  SKIFF_REQUIRE_ROOT();
  auto prog = device_filter_program(only_dev_null());
  prog.pop_back();  // no exit: falls off the end
  auto fd = load_device_program(prog);
  ASSERT_FALSE(fd.ok());
  EXPECT_NE(fd.error().what().find("bpf(BPF_PROG_LOAD) of the device cgroup program"),
            std::string::npos);
  EXPECT_NE(fd.error().what().find("[verifier: "), std::string::npos) << fd.error().what();
  std::printf("%s\n", fd.error().what().c_str());
}

class OnCgroup2 : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    mount_ = cgroup2_mount();
    if (mount_.empty()) GTEST_SKIP() << "no cgroup2 mount on this host (pure cgroup v1)";
    dir_ = cat(mount_, "/skiff-bpf-itest-", getpid());
    ASSERT_EQ(::mkdir(dir_.c_str(), 0755), 0) << dir_ << ": " << strerror(errno);
  }
  void TearDown() override {
    children_.clear();
    if (!dir_.empty()) (void)remove_cgroup(dir_);
  }

  std::string mount_, dir_;
  std::vector<std::unique_ptr<ChildProcess>> children_;
};

TEST_F(OnCgroup2, AttachReplaceAndEnforce) {
  auto cgroup = open_dir(dir_);
  ASSERT_TRUE(cgroup.ok());
  // First a program that allows everything, then the real one replaces it.
  auto allow_all = load_device_program(device_filter_program(
      normalize_device_rules({R{true, "a", std::nullopt, std::nullopt, "rwm"}}).value()));
  ASSERT_TRUE(allow_all.ok()) << allow_all.error().what();
  auto attached = replace_device_program(cgroup->get(), allow_all->get());
  ASSERT_TRUE(attached.ok()) << attached.error().what();
  auto ids = attached_device_programs(cgroup->get());
  ASSERT_TRUE(ids.ok()) << ids.error().what();
  ASSERT_EQ(ids->size(), 1u);
  uint32_t first = (*ids)[0];

  auto strict = load_device_program(device_filter_program(only_dev_null()));
  ASSERT_TRUE(strict.ok());
  ASSERT_TRUE(replace_device_program(cgroup->get(), strict->get()).ok());
  ids = attached_device_programs(cgroup->get());
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 1u) << "the old program is detached";
  EXPECT_NE((*ids)[0], first);

  // A task in the cgroup: /dev/null yes, /dev/zero EPERM.
  children_.push_back(std::make_unique<ChildProcess>(testing::device_probe));
  auto& c = *children_.back();
  ASSERT_EQ(write_raw(dir_ + "/cgroup.procs", std::to_string(c.pid())), 0);
  c.start();
  int status = c.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: /dev/null refused, 2: /dev/zero allowed";
}

// The v2 manager against the real cgroup2 mount. On a hybrid host that mount has few
// controllers (here only hugetlb), but the core files — cgroup.procs, cgroup.freeze,
// cgroup.events, cpu.stat — and device programs are all there.
TEST_F(OnCgroup2, V2ManagerOnTheRealMount) {
  ASSERT_EQ(::rmdir(dir_.c_str()), 0);  // the manager makes the parent itself here
  Options o;
  o.root = mount_;
  o.mode = Mode::kV2;
  o.cgroups_path = cat("/skiff-bpf-itest-", getpid(), "/c");
  std::string subtree_before = test::read_file(mount_ + "/cgroup.subtree_control");
  auto made = make_manager(o);
  ASSERT_TRUE(made.ok()) << made.error().what();
  auto& m = **made;
  auto created = m.create();
  ASSERT_TRUE(created.ok()) << created.error().what();
  std::string leaf = dir_ + "/c";
  ASSERT_TRUE(fs::is_directory(leaf));

  oci::Resources r;
  r.devices = {R{false, "a", std::nullopt, std::nullopt, "rwm"}, R{true, "c", 1, 3, "rwm"}};
  bool hugetlb = fs::exists(leaf + "/hugetlb.2MB.max");
  if (hugetlb) r.hugepage_limits = {{"2MB", 4194304}};
  auto applied = m.apply(r);
  ASSERT_TRUE(applied.ok()) << applied.error().what();
  if (hugetlb) {
    EXPECT_EQ(trim(test::read_file(leaf + "/hugetlb.2MB.max")), "4194304");
  }

  children_.push_back(std::make_unique<ChildProcess>(testing::device_probe));
  auto& probe = *children_.back();
  ASSERT_TRUE(m.add_process(probe.pid()).ok());
  probe.start();
  int status = probe.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: /dev/null refused, 2: /dev/zero allowed";

  children_.push_back(std::make_unique<ChildProcess>(testing::ticker));
  auto& t = *children_.back();
  ASSERT_TRUE(m.add_process(t.pid()).ok());
  t.start();
  EXPECT_EQ(m.pids().value_or({}), std::vector<pid_t>{t.pid()});
  EXPECT_GT(t.read_for(100), 0u);
  auto frozen = m.freeze();
  ASSERT_TRUE(frozen.ok()) << frozen.error().what();
  EXPECT_TRUE(m.is_frozen().value_or(false));
  t.drain();
  EXPECT_EQ(t.read_for(300), 0u) << "frozen";
  ASSERT_TRUE(m.thaw().ok());
  EXPECT_FALSE(m.is_frozen().value_or(true));
  EXPECT_GT(t.read_for(500), 0u) << "thawed";
  auto s = m.stats();
  ASSERT_TRUE(s.ok()) << s.error().what();
  EXPECT_GT(s->cpu_usage_total, 0u);

  t.kill();
  t.wait();
  auto destroyed = m.destroy();
  ASSERT_TRUE(destroyed.ok()) << destroyed.error().what();
  EXPECT_FALSE(fs::exists(leaf));
  EXPECT_FALSE(fs::exists(dir_)) << "the parent the manager made goes too";
  dir_.clear();
  // Leave the host's root as it was.
  if (trim(subtree_before).empty()) {
    std::string now = test::read_file(mount_ + "/cgroup.subtree_control");
    for (const auto& c : split(trim(now), ' ', true))
      (void)write_raw(mount_ + "/cgroup.subtree_control", "-" + c);
  }
}

}  // namespace
}  // namespace skiff::runtime::cgroups
