#include "runtime/linux/process_attrs.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "common/fs.hpp"
#include "tests/support/child.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::runtime::linux {
namespace {

using test::ChildReport;
using test::run_in_child;

TEST(Rlimits, FromName) {
  EXPECT_EQ(*rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
  EXPECT_EQ(*rlimit_from_name("RLIMIT_AS"), RLIMIT_AS);
  EXPECT_EQ(*rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
  auto r = rlimit_from_name("RLIMIT_FOO");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(), "unknown rlimit `RLIMIT_FOO`");
  EXPECT_FALSE(rlimit_from_name("nofile").ok());
}

TEST(Rlimits, AppliedInAChild) {
  auto c = run_in_child([]() -> Result<std::string> {
    TRY(apply_rlimits({{"RLIMIT_NOFILE", 1024, 512}, {"RLIMIT_CORE", 0, 0}}));
    struct rlimit nofile, core;
    getrlimit(RLIMIT_NOFILE, &nofile);
    getrlimit(RLIMIT_CORE, &core);
    return cat(nofile.rlim_cur, "/", nofile.rlim_max, " ", core.rlim_cur, "/", core.rlim_max);
  });
  ASSERT_TRUE(c.ok()) << c.text;
  EXPECT_EQ(c.text, "512/1024 0/0");
}

TEST(Rlimits, Errors) {
  auto c = run_in_child([]() -> Result<std::string> {
    TRY(apply_rlimits({{"RLIMIT_NOFILE", 1024, 512}, {"RLIMIT_FOO", 1, 1}}));
    return std::string();
  });
  EXPECT_EQ(c.text, "process.rlimits[1].type: unknown rlimit `RLIMIT_FOO`");
  c = run_in_child([]() -> Result<std::string> {
    TRY(apply_rlimits({{"RLIMIT_NOFILE", 1024, 2048}}));  // soft > hard: EINVAL from the kernel
    return std::string();
  });
  EXPECT_EQ(c.text, "setrlimit RLIMIT_NOFILE soft=2048 hard=1024: Invalid argument");
}

TEST(Personality, Linux32ReportsI686) {
  auto c = run_in_child([]() -> Result<std::string> {
    TRY(apply_personality({"LINUX32", {}}));
    struct utsname u;
    uname(&u);
    int persona = personality(0xffffffff);
    return cat(u.machine, " ", persona & PER_MASK);
  });
  ASSERT_TRUE(c.ok()) << c.text;
#if defined(__x86_64__)
  EXPECT_EQ(c.text, cat("i686 ", static_cast<int>(PER_LINUX32)));
#endif
  c = run_in_child([]() -> Result<std::string> {
    TRY(apply_personality({"LINUX32", {}}));
    TRY(apply_personality({"LINUX", {}}));
    return cat(personality(0xffffffff) & PER_MASK);
  });
  ASSERT_TRUE(c.ok()) << c.text;
  EXPECT_EQ(c.text, cat(static_cast<int>(PER_LINUX)));
}

TEST(Personality, Errors) {
  auto r = apply_personality({"LINUX64", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(),
            "linux.personality.domain: unknown domain `LINUX64` (LINUX or LINUX32)");
  r = apply_personality({"LINUX", {"ADDR_NO_RANDOMIZE", "SHORT_INODE"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(),
            "linux.personality.flags: not supported: ADDR_NO_RANDOMIZE, SHORT_INODE");
}

TEST(IoPriority, AppliedInAChild) {
  for (auto [klass, number, prio] :
       {std::tuple{"IOPRIO_CLASS_BE", 2, 3}, std::tuple{"IOPRIO_CLASS_IDLE", 3, 0},
        std::tuple{"IOPRIO_CLASS_RT", 1, 4}}) {
    if (number == 1 && !test::is_root()) continue;  // RT needs CAP_SYS_ADMIN / CAP_SYS_NICE
    std::string k = klass;
    int p = prio;
    auto c = run_in_child([&]() -> Result<std::string> {
      TRY(apply_io_priority({k, p}));
      return cat(syscall(SYS_ioprio_get, 1, 0));
    });
    ASSERT_TRUE(c.ok()) << klass << ": " << c.text;
    EXPECT_EQ(c.text, cat((number << 13) | prio)) << klass;
  }
}

TEST(IoPriority, Errors) {
  auto r = apply_io_priority({"IOPRIO_CLASS_FAST", 1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(), "process.ioPriority.class: unknown class `IOPRIO_CLASS_FAST`");
  r = apply_io_priority({"IOPRIO_CLASS_BE", 8});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(), "process.ioPriority.priority: 8 is out of range 0..7");
}

TEST(OomScoreAdj, AppliedInAChild) {
  auto c = run_in_child([]() -> Result<std::string> {
    TRY(apply_oom_score_adj(0, 500));
    return read_file("/proc/self/oom_score_adj");
  });
  ASSERT_TRUE(c.ok()) << c.text;
  EXPECT_EQ(trim(c.text), "500");
  c = run_in_child([]() -> Result<std::string> {
    TRY(apply_oom_score_adj(getpid(), 300));
    return read_file(cat("/proc/", getpid(), "/oom_score_adj"));
  });
  ASSERT_TRUE(c.ok()) << c.text;
  EXPECT_EQ(trim(c.text), "300");
  c = run_in_child([]() -> Result<std::string> {
    TRY(apply_oom_score_adj(0, 5000));
    return std::string();
  });
  EXPECT_EQ(c.text, "write `/proc/self/oom_score_adj` (5000): Invalid argument");
}

struct SysctlCase {
  std::string name;
  bool net, ipc, uts;
  std::string error;  // empty: allowed
};

TEST(Sysctl, NamespaceRules) {
  std::vector<SysctlCase> cases = {
      {"net.ipv4.ip_forward", true, false, false, ""},
      {"net.ipv4.ip_forward", false, true, true,
       "linux.sysctl[\"net.ipv4.ip_forward\"]: needs a new network namespace, refusing to change "
       "the host's"},
      {"net/ipv4/conf/eth0.100/forwarding", true, false, false, ""},
      {"kernel.shmmax", false, true, false, ""},
      {"kernel.shm_rmid_forced", false, true, false, ""},
      {"kernel.msgmnb", false, true, false, ""},
      {"kernel.sem", false, true, false, ""},
      {"fs.mqueue.queues_max", false, true, false, ""},
      {"kernel.msgmax", true, false, true,
       "linux.sysctl[\"kernel.msgmax\"]: needs a new ipc namespace, refusing to change the host's"},
      {"fs.mqueue.msg_max", true, false, true, "needs a new ipc namespace"},
      {"kernel.hostname", false, false, true, ""},
      {"kernel.domainname", false, false, true, ""},
      {"kernel.domainname", true, true, false, "needs a new uts namespace"},
      {"vm.swappiness", true, true, true,
       "linux.sysctl[\"vm.swappiness\"]: not namespaced, refusing to change it for the host"},
      {"kernel.pid_max", true, true, true, "not namespaced"},
      {"kernel.semaphore", true, true, true, "not namespaced"},
      {"fs.mqueue", true, true, true, "not namespaced"},
      {"net..ipv4", true, true, true, "linux.sysctl[\"net..ipv4\"]: invalid sysctl name"},
      {"net.ipv4.", true, true, true, "invalid sysctl name"},
      {"net/../../kernel/core_pattern", true, true, true, "invalid sysctl name"},
      {"net/./ipv4/ip_forward", true, true, true, "invalid sysctl name"},
      {"", true, true, true, "empty sysctl name"},
  };
  for (const auto& c : cases) {
    auto r = check_sysctl_allowed(c.name, c.net, c.ipc, c.uts);
    if (c.error.empty()) {
      EXPECT_TRUE(r.ok()) << c.name << ": " << r.error().what();
    } else {
      ASSERT_FALSE(r.ok()) << c.name;
      EXPECT_NE(r.error().what().find(c.error), std::string::npos)
          << c.name << ": " << r.error().what();
    }
  }
}

TEST(Sysctl, CheckAllowedFromTheNamespaces) {
  oci::Linux config;
  config.sysctl = {{"net.ipv4.ip_forward", "1"}, {"kernel.shmmax", "1000"}};
  config.namespaces = {{"network", ""}, {"ipc", ""}};
  EXPECT_TRUE(check_sysctls_allowed(config).ok());
  // Joining our own (the host's) ipc namespace by path is not owning it.
  config.namespaces = {{"network", ""}, {"ipc", "/proc/self/ns/ipc"}};
  auto r = check_sysctls_allowed(config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("kernel.shmmax"), std::string::npos) << r.error().what();
  config.namespaces = {{"ipc", ""}};
  r = check_sysctls_allowed(config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("net.ipv4.ip_forward"), std::string::npos) << r.error().what();
}

TEST(Sysctl, WritesInANewNetworkNamespace) {
  SKIFF_REQUIRE_ROOT();
  std::string host_before = read_file("/proc/sys/net/ipv4/ip_forward").value_or("?");
  std::string want = trim(host_before) == "1" ? "0" : "1";
  auto c = run_in_child([&]() -> Result<std::string> {
    if (unshare(CLONE_NEWNET) < 0) return errno_error("unshare(CLONE_NEWNET)");
    auto proc = TRY(open_dir("/proc"));
    TRY(apply_sysctls({{"net.ipv4.ip_forward", want}, {"net/ipv4/tcp_syncookies", "0"}},
                      proc.get()));
    auto fwd = TRY(read_file("/proc/sys/net/ipv4/ip_forward"));
    auto cookies = TRY(read_file("/proc/sys/net/ipv4/tcp_syncookies"));
    return cat(trim(fwd), " ", trim(cookies));
  });
  ASSERT_TRUE(c.ok()) << c.text;
  EXPECT_EQ(c.text, cat(want, " 0"));
  EXPECT_EQ(read_file("/proc/sys/net/ipv4/ip_forward").value_or("?"), host_before);
}

TEST(Sysctl, RefusesWhatIsNotProcfsAndBadNames) {
  test::TempDir dir;
  // A fake /proc: the right path, on the wrong file system.
  test::write_file(dir / "sys/net/ipv4/ip_forward", "0\n");
  auto fake = open_dir(dir.path());
  ASSERT_TRUE(fake.ok());
  auto r = apply_sysctls({{"net.ipv4.ip_forward", "1"}}, fake->get());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(),
            "linux.sysctl[\"net.ipv4.ip_forward\"]: `/proc/sys/net/ipv4/ip_forward` is not on "
            "procfs");
  EXPECT_EQ(test::read_file(dir / "sys/net/ipv4/ip_forward"), "0\n");

  // A symlink on the way is not followed.
  ASSERT_EQ(mkdir((dir / "sys/vm").c_str(), 0755), 0);
  ASSERT_EQ(symlink("/proc/sys/vm/swappiness", (dir / "sys/vm/swappiness").c_str()), 0);
  r = apply_sysctls({{"vm.swappiness", "10"}}, fake->get());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("open `/proc/sys/vm/swappiness`"), std::string::npos)
      << r.error().what();

  auto proc = open_dir("/proc");
  ASSERT_TRUE(proc.ok());
  r = apply_sysctls({{"net/../../self/oom_score_adj", "1"}}, proc->get());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(),
            "linux.sysctl[\"net/../../self/oom_score_adj\"]: invalid sysctl name");
  r = apply_sysctls({{"net.ipv4.no_such_sysctl", "1"}}, proc->get());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(),
            "linux.sysctl[\"net.ipv4.no_such_sysctl\"]: open `/proc/sys/net/ipv4/no_such_sysctl`: "
            "No such file or directory");
}

}  // namespace
}  // namespace skiff::runtime::linux
