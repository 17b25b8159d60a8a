#include "runtime/linux/capabilities.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <map>

#include "common/fs.hpp"
#include "tests/support/child.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::runtime::linux {
namespace {

using test::ChildReport;
using test::run_in_child;

// apply_identity in a child, then its /proc/self/status as "Key" -> "value".
std::map<std::string, std::string> identity_status(const oci::Process& p, bool setgroups_allowed,
                                                   std::string* error_text) {
  auto c = run_in_child([&]() -> Result<std::string> {
    TRY(apply_identity(p, setgroups_allowed));
    return read_file("/proc/self/status");
  });
  std::map<std::string, std::string> out;
  if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0) {
    *error_text = c.text.empty() ? cat("child status ", c.status) : c.text;
    return out;
  }
  for (const auto& line : split(c.text, '\n', true)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    out[line.substr(0, colon)] = std::string(trim(std::string_view(line).substr(colon + 1)));
  }
  return out;
}

std::string mask(std::initializer_list<int> caps) {
  uint64_t m = 0;
  for (int c : caps) m |= uint64_t{1} << c;
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(m));
  return buf;
}

oci::Process user_process(uint32_t uid, uint32_t gid) {
  oci::Process p;
  p.user.uid = uid;
  p.user.gid = gid;
  return p;
}

TEST(Capabilities, FromName) {
  EXPECT_EQ(*capability_from_name("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
  EXPECT_EQ(*capability_from_name("cap_sys_admin"), CAP_SYS_ADMIN);
  EXPECT_EQ(*capability_from_name("sys_admin"), CAP_SYS_ADMIN);
  EXPECT_EQ(*capability_from_name("CAP_CHOWN"), 0);
  EXPECT_EQ(*capability_from_name("NET_BIND_SERVICE"), CAP_NET_BIND_SERVICE);
  EXPECT_EQ(*capability_from_name("CAP_CHECKPOINT_RESTORE"), 40);
  for (const char* bad : {"CAP_FOO", "", "CAP_", "CAP_SYS_ADMIN "}) {
    auto r = capability_from_name(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().what(), cat("unknown capability `", bad, "`"));
  }
}

TEST(Capabilities, NonRootUserWithOneCapability) {
  SKIFF_REQUIRE_ROOT();
  auto p = user_process(1000, 1000);
  p.user.additional_gids = {1001, 1002};
  p.user.umask = 027;
  p.capabilities = oci::Capabilities{};
  p.capabilities->bounding = {"CAP_NET_BIND_SERVICE", "CAP_CHOWN"};
  p.capabilities->effective = {"CAP_NET_BIND_SERVICE"};
  p.capabilities->permitted = {"CAP_NET_BIND_SERVICE"};
  std::string err;
  auto st = identity_status(p, true, &err);
  ASSERT_TRUE(err.empty()) << err;
  EXPECT_EQ(st["CapEff"], mask({CAP_NET_BIND_SERVICE}));
  EXPECT_EQ(st["CapPrm"], mask({CAP_NET_BIND_SERVICE}));
  EXPECT_EQ(st["CapInh"], mask({}));  // empty inheritable stays empty (CVE-2022-29162)
  EXPECT_EQ(st["CapBnd"], mask({CAP_NET_BIND_SERVICE, CAP_CHOWN}));
  EXPECT_EQ(st["CapAmb"], mask({}));
  EXPECT_EQ(st["Uid"], "1000\t1000\t1000\t1000");
  EXPECT_EQ(st["Gid"], "1000\t1000\t1000\t1000");
  EXPECT_EQ(st["Groups"], "1001 1002");
  EXPECT_EQ(st["Umask"], "0027");
}

TEST(Capabilities, AmbientSurvivesForANonRootUser) {
  SKIFF_REQUIRE_ROOT();
  auto p = user_process(1000, 1000);
  std::vector<std::string> caps = {"CAP_NET_BIND_SERVICE", "CAP_NET_RAW"};
  p.capabilities = oci::Capabilities{caps, caps, caps, caps, caps};
  std::string err;
  auto st = identity_status(p, true, &err);
  ASSERT_TRUE(err.empty()) << err;
  std::string both = mask({CAP_NET_BIND_SERVICE, CAP_NET_RAW});
  EXPECT_EQ(st["CapEff"], both);
  EXPECT_EQ(st["CapPrm"], both);
  EXPECT_EQ(st["CapInh"], both);
  EXPECT_EQ(st["CapBnd"], both);
  EXPECT_EQ(st["CapAmb"], both);
  EXPECT_EQ(st["Groups"], "");  // setgroups([]) clears the runtime's groups
}

TEST(Capabilities, NoCapabilitiesObjectMeansNone) {
  SKIFF_REQUIRE_ROOT();
  auto p = user_process(0, 0);
  std::string err;
  auto st = identity_status(p, true, &err);
  ASSERT_TRUE(err.empty()) << err;
  for (const char* key : {"CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"})
    EXPECT_EQ(st[key], mask({})) << key;
  EXPECT_EQ(st["Uid"], "0\t0\t0\t0");
}

TEST(Capabilities, RootKeepsOnlyTheNamedCapabilities) {
  SKIFF_REQUIRE_ROOT();
  auto p = user_process(0, 0);
  p.capabilities = oci::Capabilities{};
  p.capabilities->bounding = {"CAP_KILL", "CAP_CHOWN", "CAP_SETUID"};
  p.capabilities->effective = {"CAP_KILL"};
  p.capabilities->permitted = {"CAP_KILL", "CAP_CHOWN"};
  p.capabilities->inheritable = {"CAP_CHOWN"};
  std::string err;
  auto st = identity_status(p, true, &err);
  ASSERT_TRUE(err.empty()) << err;
  EXPECT_EQ(st["CapEff"], mask({CAP_KILL}));
  EXPECT_EQ(st["CapPrm"], mask({CAP_KILL, CAP_CHOWN}));
  EXPECT_EQ(st["CapInh"], mask({CAP_CHOWN}));
  EXPECT_EQ(st["CapBnd"], mask({CAP_KILL, CAP_CHOWN, CAP_SETUID}));
}

TEST(Capabilities, UnknownNameFailsBeforeAnyChange) {
  // Names are resolved first, so this needs no privilege: nothing is attempted.
  std::string err;
  auto p = user_process(1000, 1000);
  p.capabilities = oci::Capabilities{};
  p.capabilities->bounding = {"CAP_CHOWN", "CAP_FOO"};
  identity_status(p, true, &err);
  EXPECT_EQ(err, "process.capabilities.bounding: unknown capability `CAP_FOO`");
}

TEST(Capabilities, ErrorsNameTheField) {
  SKIFF_REQUIRE_ROOT();
  std::string err;
  auto p = user_process(1000, 1000);

  p.capabilities = oci::Capabilities{};
  p.capabilities->permitted = {"CAP_NET_RAW"};
  p.capabilities->ambient = {"CAP_NET_RAW"};  // not inheritable: skipped, as runc does
  err.clear();
  auto st = identity_status(p, true, &err);
  EXPECT_EQ(err, "");
  EXPECT_EQ(st["CapAmb"], mask({}));

  p.capabilities = oci::Capabilities{};
  p.capabilities->effective = {"CAP_NET_RAW"};  // not permitted
  err.clear();
  identity_status(p, true, &err);
  EXPECT_NE(err.find("effective capability `CAP_NET_RAW` is not in the permitted set"),
            std::string::npos)
      << err;
}

TEST(Capabilities, SetgroupsDenied) {
  SKIFF_REQUIRE_ROOT();
  std::string err;
  auto p = user_process(1000, 1000);
  p.user.additional_gids = {5};
  identity_status(p, false, &err);
  EXPECT_NE(err.find("process.user.additionalGids"), std::string::npos) << err;

  // Without additional gids, setgroups is skipped and the switch works.
  p.user.additional_gids.clear();
  err.clear();
  auto st = identity_status(p, false, &err);
  EXPECT_TRUE(err.empty()) << err;
  EXPECT_EQ(st["Uid"], "1000\t1000\t1000\t1000");
}

TEST(Capabilities, SetresuidFailureIsReported) {
  SKIFF_REQUIRE_ROOT();
  // Once uid 1000 without CAP_SETUID, switching to 2000 must fail with the call named.
  auto c = run_in_child([]() -> Result<std::string> {
    TRY(apply_identity(user_process(1000, 1000), true));
    TRY(apply_identity(user_process(2000, 1000), false));
    return std::string("switched");
  });
  EXPECT_EQ(WEXITSTATUS(c.status), 1);
  EXPECT_EQ(c.text, "setresuid(2000): Operation not permitted");
}

}  // namespace
}  // namespace skiff::runtime::linux
