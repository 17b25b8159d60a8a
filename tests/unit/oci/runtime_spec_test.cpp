#include "oci/runtime_spec.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <functional>

#include "tests/support/test_util.hpp"

namespace skiff::oci {
namespace {

// parse_spec + validate_spec: the first error's text, or "" when the config is fine.
std::string check(const Json& j) {
  auto spec = parse_spec(j);
  if (!spec) return spec.error().what();
  auto valid = validate_spec(*spec);
  return valid ? "" : valid.error().what();
}

TEST(DefaultSpec, ParsesAndValidates) {
  for (bool rootless : {false, true}) {
    SCOPED_TRACE(rootless ? "rootless" : "rootful");
    auto spec = parse_spec(default_spec(rootless));
    ASSERT_TRUE(spec) << spec.error().what();
    ASSERT_TRUE(validate_spec(*spec)) << validate_spec(*spec).error().what();
    EXPECT_EQ(spec->oci_version, kRuntimeSpecVersion);
    EXPECT_EQ(spec->root->path, "rootfs");
    EXPECT_TRUE(spec->root->readonly);
    EXPECT_EQ(spec->process->args, std::vector<std::string>{"sh"});
    EXPECT_TRUE(spec->process->terminal);
    EXPECT_EQ(spec->process->capabilities->bounding,
              (std::vector<std::string>{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}));
    EXPECT_EQ(spec->mounts.size(), 7u);
    const Linux& lx = *spec->linux;
    EXPECT_NE(lx.find_namespace("pid"), nullptr);
    EXPECT_NE(lx.find_namespace("cgroup"), nullptr);
    EXPECT_EQ(lx.find_namespace("network") == nullptr, rootless);
    EXPECT_EQ(lx.find_namespace("user") != nullptr, rootless);
    EXPECT_EQ(lx.find_namespace("time"), nullptr);
    if (rootless) {
      ASSERT_EQ(lx.uid_mappings.size(), 1u);
      EXPECT_EQ(lx.uid_mappings[0].host_id, geteuid());
      EXPECT_EQ(lx.gid_mappings[0].host_id, getegid());
      EXPECT_FALSE(lx.resources.has_value());
      EXPECT_EQ(spec->mounts[5].type, "none");                 // /sys is bind-mounted
      EXPECT_EQ(spec->mounts[2].options.back(), "mode=0620");  // gid=5 dropped
    } else {
      ASSERT_EQ(lx.resources->devices.size(), 1u);
      EXPECT_FALSE(lx.resources->devices[0].allow);
      EXPECT_EQ(lx.resources->devices[0].type, "a");
    }
  }
}

TEST(DefaultSpec, MatchesRuncSpec) {
  test::TempDir dir;
  for (bool rootless : {false, true}) {
    SCOPED_TRACE(rootless ? "rootless" : "rootful");
    auto cmd = test::sh("cd '" + dir.path() + "' && rm -f config.json && runc spec" +
                        (rootless ? " --rootless" : "") + " && cat config.json");
    if (cmd.exit_code == 127) GTEST_SKIP() << "runc is not installed";
    ASSERT_EQ(cmd.exit_code, 0) << cmd.err;
    Json runc = Json::parse(cmd.out);
    Json ours = default_spec(rootless);
    EXPECT_EQ(ours["process"], runc["process"]);
    EXPECT_EQ(ours["root"], runc["root"]);
    EXPECT_EQ(ours["mounts"], runc["mounts"]);
    EXPECT_EQ(ours["linux"]["maskedPaths"], runc["linux"]["maskedPaths"]);
    EXPECT_EQ(ours["linux"]["readonlyPaths"], runc["linux"]["readonlyPaths"]);
    EXPECT_EQ(ours["linux"].value("resources", Json()), runc["linux"].value("resources", Json()));
    EXPECT_EQ(ours["linux"]["uidMappings"].size(),
              runc["linux"].value("uidMappings", Json()).size());
  }
}

// Every field the parser knows, in the form to_json writes: parse -> to_json is the identity.
Json full_config() {
  return Json::parse(R"({
    "ociVersion": "1.2.0",
    "process": {
      "terminal": true,
      "consoleSize": {"height": 24, "width": 80},
      "user": {"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [5, 4294967295]},
      "args": ["/bin/app", "--flag"],
      "env": ["PATH=/bin", "EMPTY="],
      "cwd": "/work",
      "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                       "inheritable": ["CAP_CHOWN"], "permitted": ["CAP_KILL"],
                       "ambient": ["CAP_CHECKPOINT_RESTORE"]},
      "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 1024}],
      "noNewPrivileges": true,
      "oomScoreAdj": -999,
      "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
      "apparmorProfile": "unconfined",
      "selinuxLabel": "system_u:system_r:container_t:s0"
    },
    "root": {"path": "/var/lib/rootfs", "readonly": true},
    "hostname": "box",
    "domainname": "example.org",
    "mounts": [
      {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "ro"],
       "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
       "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]},
      {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["size=64k", "weird"]}
    ],
    "hooks": {
      "prestart": [{"path": "/bin/a"}],
      "createRuntime": [{"path": "/bin/b", "args": ["b", "1"], "env": ["X=1"], "timeout": 5}],
      "createContainer": [{"path": "/bin/c"}],
      "startContainer": [{"path": "/bin/d"}],
      "poststart": [{"path": "/bin/e"}],
      "poststop": [{"path": "/bin/f"}]
    },
    "annotations": {"org.example/key": "value"},
    "linux": {
      "namespaces": [{"type": "pid"}, {"type": "network", "path": "/run/netns/x"},
                     {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}, {"type": "user"},
                     {"type": "cgroup"}, {"type": "time"}],
      "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
      "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
      "timeOffsets": {"monotonic": {"secs": -10, "nanosecs": 5}, "boottime": {"secs": 3, "nanosecs": 0}},
      "devices": [{"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 438,
                   "uid": 0, "gid": 0},
                  {"type": "p", "path": "/dev/myfifo"}],
      "cgroupsPath": "/skiff/box",
      "resources": {
        "devices": [{"allow": false, "type": "a", "access": "rwm"},
                    {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"},
                    {"allow": true, "type": "b", "major": 8, "access": "r"}],
        "memory": {"limit": 1073741824, "reservation": 536870912, "swap": 2147483648,
                   "kernel": -1, "kernelTCP": 1048576, "swappiness": 60,
                   "disableOOMKiller": false, "useHierarchy": true, "checkBeforeUpdate": true},
        "cpu": {"shares": 1024, "quota": -1, "burst": 1000, "period": 100000,
                "realtimeRuntime": 950000, "realtimePeriod": 1000000, "cpus": "0-3,6",
                "mems": "0", "idle": 1},
        "pids": {"limit": 128},
        "blockIO": {"weight": 500, "leafWeight": 300,
                    "weightDevice": [{"major": 8, "minor": 0, "weight": 400, "leafWeight": 200},
                                     {"major": 8, "minor": 16}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                    "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2097152}],
                    "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 200}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
        "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
        "unified": {"memory.high": "max", "io.weight": "default 100"}
      },
      "rootfsPropagation": "rslave",
      "maskedPaths": ["/proc/kcore"],
      "readonlyPaths": ["/proc/sys"],
      "mountLabel": "system_u:object_r:container_file_t:s0",
      "sysctl": {"net.ipv4.ip_forward": "1"},
      "seccomp": {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
        "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "listenerPath": "/run/notify.sock",
        "listenerMetadata": "meta",
        "syscalls": [
          {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
          {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
           "args": [{"index": 0, "value": 8, "valueTwo": 255, "op": "SCMP_CMP_MASKED_EQ"}]},
          {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"},
          {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
           "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}
        ]
      },
      "personality": {"domain": "LINUX32", "flags": ["SHORT_INODE"]}
    }
  })");
}

TEST(RuntimeSpec, FullConfigRoundTrips) {
  Json j = full_config();
  auto spec = parse_spec(j);
  ASSERT_TRUE(spec) << spec.error().what();
  ASSERT_TRUE(validate_spec(*spec)) << validate_spec(*spec).error().what();
  EXPECT_EQ(to_json(*spec), j) << to_json(*spec).dump(2);
  // Spot checks that the values landed in the right fields.
  EXPECT_EQ(spec->process->user.additional_gids[1], 4294967295u);
  EXPECT_EQ(spec->process->rlimits[0].hard, UINT64_MAX);
  EXPECT_EQ(spec->linux->time_offsets.at("monotonic").secs, -10);
  EXPECT_EQ(spec->linux->resources->memory->kernel, -1);
  EXPECT_EQ(spec->linux->resources->network->priorities[0],
            (std::pair<std::string, uint32_t>{"eth0", 500}));
  EXPECT_FALSE(spec->linux->resources->devices[2].minor.has_value());
  EXPECT_EQ(spec->linux->seccomp->syscalls[1].args[0].value_two, 255u);
}

TEST(RuntimeSpec, ProcessAndResourcesRoundTrip) {
  Json j = full_config();
  auto process = parse_process(j["process"]);
  ASSERT_TRUE(process) << process.error().what();
  EXPECT_EQ(to_json(*process), j["process"]);
  auto resources = parse_resources(j["linux"]["resources"]);
  ASSERT_TRUE(resources) << resources.error().what();
  EXPECT_EQ(to_json(*resources), j["linux"]["resources"]);
  // Only set fields are written.
  EXPECT_EQ(to_json(Resources{}), Json::object());
  EXPECT_EQ(to_json(Process{}), Json::parse(R"({"user": {"uid": 0, "gid": 0}, "cwd": "/"})"));
  Resources r;
  r.memory.emplace().limit = 1 << 20;
  r.pids.emplace().limit = 10;
  EXPECT_EQ(to_json(r), Json::parse(R"({"memory": {"limit": 1048576}, "pids": {"limit": 10}})"));
}

TEST(RuntimeSpec, DefaultsRoundTrip) {
  for (bool rootless : {false, true}) {
    Json j = default_spec(rootless);
    auto spec = parse_spec(j);
    ASSERT_TRUE(spec) << spec.error().what();
    // runc's device rule has no "type"; we write the default ("a") back.
    if (!rootless) j["linux"]["resources"]["devices"][0]["type"] = "a";
    EXPECT_EQ(to_json(*spec), j);
  }
}

TEST(RuntimeSpec, UnknownFieldsIgnoredAndNullIsAbsent) {
  Json j = default_spec();
  j["vendorExtension"] = {{"x", 1}};
  j["process"]["scheduler"] = {{"policy", "SCHED_OTHER"}};
  j["process"]["oomScoreAdj"] = nullptr;
  j["process"]["cwd"] = nullptr;
  j["linux"]["intelRdt"] = {{"closID", "x"}};
  j["linux"]["seccomp"] = nullptr;
  j["hooks"] = nullptr;
  auto spec = parse_spec(j);
  ASSERT_TRUE(spec) << spec.error().what();
  EXPECT_FALSE(spec->process->oom_score_adj.has_value());
  EXPECT_EQ(spec->process->cwd, "/");
  EXPECT_FALSE(spec->linux->seccomp.has_value());
  EXPECT_TRUE(validate_spec(*spec));
}

TEST(RuntimeSpec, RelativeRootAndUnknownMountOptionsAreAccepted) {
  Json j = default_spec();
  j["root"]["path"] = "../shared/rootfs";
  j["mounts"][1]["options"].push_back("someflag");
  j["mounts"][1]["options"].push_back("uid=1000");
  auto spec = parse_spec(j);
  ASSERT_TRUE(spec);
  EXPECT_TRUE(validate_spec(*spec));
  EXPECT_EQ(spec->root->path, "../shared/rootfs");  // as written; the caller resolves it
}

TEST(RuntimeSpec, ErrorsNameThePathWithCustomPrefix) {
  auto p = parse_process(Json::parse(R"({"args": "sh"})"), "process");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().what(), "process.args: expected array, got string");
  auto r = parse_resources(Json::parse(R"({"memory": {"limit": "1G"}})"), "resources");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "resources.memory.limit: expected integer, got string");
  EXPECT_EQ(parse_spec(Json::array()).error().what(), "expected object, got array");
  Process bad;
  EXPECT_EQ(validate_process(bad, "process").error().what(), "process.args: must not be empty");
}

struct BadCase {
  const char* name;
  std::function<void(Json&)> change;
  const char* error;
};

// Each case breaks the default spec in one way and expects exactly this first error.
const BadCase kBadCases[] = {
    // types
    {"arg not a string", [](Json& j) { j["process"]["args"][0] = 1; },
     "process.args[0]: expected string, got integer"},
    {"memory limit string",
     [](Json& j) {
       j["linux"]["resources"]["memory"] = {{"limit", "1G"}};
     },
     "linux.resources.memory.limit: expected integer, got string"},
    {"terminal not bool", [](Json& j) { j["process"]["terminal"] = "yes"; },
     "process.terminal: expected boolean, got string"},
    {"uid too large", [](Json& j) { j["process"]["user"]["uid"] = 4294967296; },
     "process.user.uid: 4294967296 is out of range (0..4294967295)"},
    {"uid negative", [](Json& j) { j["process"]["user"]["uid"] = -1; },
     "process.user.uid: -1 is out of range (0..4294967295)"},
    {"float integer", [](Json& j) { j["process"]["rlimits"][0]["hard"] = 1.5; },
     "process.rlimits[0].hard: expected integer, got number"},
    {"mounts not array", [](Json& j) { j["mounts"] = Json::object(); },
     "mounts: expected array, got object"},
    {"mount without destination", [](Json& j) { j["mounts"][2].erase("destination"); },
     "mounts[2].destination: required"},
    {"sysctl value not string",
     [](Json& j) {
       j["linux"]["sysctl"] = {{"net.core.somaxconn", 1}};
     },
     "linux.sysctl[\"net.core.somaxconn\"]: expected string, got integer"},
    {"char device without major",
     [](Json& j) {
       j["linux"]["devices"] = {{{"type", "c"}, {"path", "/dev/x"}}};
     },
     "linux.devices[0].major: required for device type `c`"},
    {"blkio weight too large",
     [](Json& j) {
       j["linux"]["resources"]["blockIO"] = {{"weight", 70000}};
     },
     "linux.resources.blockIO.weight: 70000 is out of range (0..65535)"},
    {"linux not object", [](Json& j) { j["linux"] = "x"; }, "linux: expected object, got string"},
    // version, process
    {"missing ociVersion", [](Json& j) { j.erase("ociVersion"); }, "ociVersion: required"},
    {"ociVersion 2", [](Json& j) { j["ociVersion"] = "2.0.0"; },
     "ociVersion: unsupported version \"2.0.0\" (this runtime implements 1.x)"},
    {"empty args", [](Json& j) { j["process"]["args"] = Json::array(); },
     "process.args: must not be empty"},
    {"relative cwd", [](Json& j) { j["process"]["cwd"] = "work"; },
     "process.cwd: must be an absolute path, got \"work\""},
    {"env without =", [](Json& j) { j["process"]["env"].push_back("FOO"); },
     "process.env[2]: must be NAME=VALUE, got \"FOO\""},
    {"bad capability", [](Json& j) { j["process"]["capabilities"]["effective"][1] = "CAP_FLY"; },
     "process.capabilities.effective[1]: unknown capability `CAP_FLY`"},
    {"bad rlimit", [](Json& j) { j["process"]["rlimits"][0]["type"] = "RLIMIT_FOO"; },
     "process.rlimits[0].type: unknown rlimit `RLIMIT_FOO`"},
    {"duplicate rlimit",
     [](Json& j) { j["process"]["rlimits"].push_back(j["process"]["rlimits"][0]); },
     "process.rlimits[1].type: duplicate rlimit `RLIMIT_NOFILE`"},
    {"soft above hard", [](Json& j) { j["process"]["rlimits"][0]["soft"] = 2048; },
     "process.rlimits[0]: soft limit 2048 is greater than hard limit 1024"},
    {"oom score", [](Json& j) { j["process"]["oomScoreAdj"] = 1001; },
     "process.oomScoreAdj: must be between -1000 and 1000, got 1001"},
    // root, hostname, mounts, hooks
    {"missing root", [](Json& j) { j.erase("root"); }, "root: required"},
    {"empty root path", [](Json& j) { j["root"]["path"] = ""; }, "root.path: must not be empty"},
    {"hostname without uts", [](Json& j) { j["linux"]["namespaces"].erase(3); },
     "hostname: cannot be set without a uts namespace in linux.namespaces"},
    {"relative mount destination", [](Json& j) { j["mounts"][1]["destination"] = "tmp"; },
     "mounts[1].destination: must be an absolute path, got \"tmp\""},
    {"bind mount without source",
     [](Json& j) {
       j["mounts"].push_back({{"destination", "/data"}, {"options", {"rbind"}}});
     },
     "mounts[7].source: required for a bind mount"},
    {"hook relative path",
     [](Json& j) {
       j["hooks"]["poststart"] = {{{"path", "bin/hook"}}};
     },
     "hooks.poststart[0].path: must be an absolute path, got \"bin/hook\""},
    {"hook zero timeout",
     [](Json& j) {
       j["hooks"]["prestart"] = {{{"path", "/bin/hook"}, {"timeout", 0}}};
     },
     "hooks.prestart[0].timeout: must be greater than 0, got 0"},
    // linux
    {"unknown namespace", [](Json& j) { j["linux"]["namespaces"][2]["type"] = "foo"; },
     "linux.namespaces[2].type: unknown namespace type `foo` (expected one of pid, network, "
     "mount, ipc, uts, user, cgroup, time)"},
    {"duplicate namespace",
     [](Json& j) {
       j["linux"]["namespaces"].push_back({{"type", "pid"}});
     },
     "linux.namespaces[6].type: duplicate namespace `pid`"},
    {"user ns without mappings",
     [](Json& j) {
       j["linux"]["namespaces"].push_back({{"type", "user"}});
     },
     "linux.uidMappings: user namespaces enabled, but no uid mappings found"},
    {"mappings without user ns",
     [](Json& j) {
       j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
     },
     "linux.uidMappings: set, but linux.namespaces has no user namespace"},
    {"time offsets without time ns",
     [](Json& j) {
       j["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 1}}}};
     },
     "linux.timeOffsets: set, but linux.namespaces has no time namespace"},
    {"unknown clock",
     [](Json& j) {
       j["linux"]["timeOffsets"] = {{"realtime", {{"secs", 1}}}};
     },
     "linux.timeOffsets.realtime: unknown clock (expected monotonic or boottime)"},
    {"bad device type",
     [](Json& j) {
       j["linux"]["devices"] = {{{"type", "x"}, {"path", "/dev/x"}}};
     },
     "linux.devices[0].type: unknown device type `x` (expected c, b, u or p)"},
    {"bad cgroup device access",
     [](Json& j) { j["linux"]["resources"]["devices"][0]["access"] = "rwx"; },
     "linux.resources.devices[0].access: must be a combination of r, w and m, got \"rwx\""},
    {"swap below limit",
     [](Json& j) {
       j["linux"]["resources"]["memory"] = {{"limit", 2048}, {"swap", 1024}};
     },
     "linux.resources.memory.swap: memory+swap limit (1024) must be >= memory limit (2048)"},
    {"bad hugepage size",
     [](Json& j) {
       j["linux"]["resources"]["hugepageLimits"] = {{{"pageSize", "2M"}, {"limit", 1}}};
     },
     "linux.resources.hugepageLimits[0].pageSize: invalid \"2M\" (expected a size like 2MB or "
     "1GB)"},
    {"bad propagation", [](Json& j) { j["linux"]["rootfsPropagation"] = "everywhere"; },
     "linux.rootfsPropagation: unknown value `everywhere` (expected one of shared, slave, "
     "private, unbindable, rshared, rslave, rprivate, runbindable)"},
    {"relative masked path", [](Json& j) { j["linux"]["maskedPaths"][3] = "proc/keys"; },
     "linux.maskedPaths[3]: must be an absolute path, got \"proc/keys\""},
    {"bad sysctl name",
     [](Json& j) {
       j["linux"]["sysctl"] = {{"../etc", "1"}};
     },
     "linux.sysctl[\"../etc\"]: invalid sysctl name"},
    {"bad seccomp action",
     [](Json& j) {
       j["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_MAYBE"}};
     },
     "linux.seccomp.defaultAction: unknown action `SCMP_ACT_MAYBE` (expected one of "
     "SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, "
     "SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY)"},
    {"bad seccomp operator",
     [](Json& j) {
       j["linux"]["seccomp"] = Json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
           {"names": ["kill"], "action": "SCMP_ACT_ERRNO",
            "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]})");
     },
     "linux.seccomp.syscalls[0].args[0].op: unknown operator `SCMP_CMP_ABOUT` (expected one of "
     "SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, "
     "SCMP_CMP_MASKED_EQ)"},
    {"bad seccomp arch",
     [](Json& j) {
       j["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"architectures", {"x86"}}};
     },
     "linux.seccomp.architectures[0]: unknown architecture `x86`"},
    {"notify without listener",
     [](Json& j) {
       j["linux"]["seccomp"] = Json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
           {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})");
     },
     "linux.seccomp.listenerPath: required when an action is SCMP_ACT_NOTIFY"},
    {"bad personality",
     [](Json& j) {
       j["linux"]["personality"] = {{"domain", "WIN32"}};
     },
     "linux.personality.domain: unknown domain `WIN32` (expected LINUX or LINUX32)"},
};

TEST(RuntimeSpec, BadConfigs) {
  for (const auto& c : kBadCases) {
    SCOPED_TRACE(c.name);
    Json j = default_spec();
    c.change(j);
    EXPECT_EQ(check(j), c.error);
  }
}

TEST(RuntimeSpec, KnownNames) {
  ASSERT_EQ(known_capabilities().size(), 41u);
  EXPECT_EQ(known_capabilities()[21], "CAP_SYS_ADMIN");
  EXPECT_EQ(known_capabilities()[40], "CAP_CHECKPOINT_RESTORE");
  ASSERT_EQ(known_rlimits().size(), 16u);
  EXPECT_EQ(known_rlimits()[7], "RLIMIT_NOFILE");
  EXPECT_EQ(known_namespace_types().size(), 8u);
  for (const char* o : {"ro", "rbind", "rro", "tmpcopyup", "idmap", "ridmap", "nosymfollow"})
    EXPECT_NE(std::find(known_mount_options().begin(), known_mount_options().end(), o),
              known_mount_options().end())
        << o;
}

TEST(LoadSpec, MissingFile) {
  test::TempDir dir;
  auto spec = load_spec(dir.path());
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().what(),
            "open `" + dir.path() + "/config.json`: No such file or directory");
  EXPECT_EQ(spec.error().code(), ENOENT);
}

TEST(LoadSpec, ValidBundle) {
  test::TempDir dir;
  test::write_file(dir / "config.json", default_spec().dump(1, '\t'));
  auto spec = load_spec(dir.path());
  ASSERT_TRUE(spec) << spec.error().what();
  EXPECT_EQ(spec->root->path, "rootfs");
  EXPECT_EQ(spec->hostname, "skiff");
}

TEST(LoadSpec, ErrorsArePrefixedWithTheFile) {
  test::TempDir dir;
  std::string file = "`" + dir.path() + "/config.json`: ";
  Json j = default_spec();
  j["process"]["args"] = Json::array();
  test::write_file(dir / "config.json", j.dump());
  EXPECT_EQ(load_spec(dir.path()).error().what(), file + "process.args: must not be empty");

  j["process"]["args"] = {true};
  test::write_file(dir / "config.json", j.dump());
  EXPECT_EQ(load_spec(dir.path()).error().what(),
            file + "process.args[0]: expected string, got boolean");

  test::write_file(dir / "config.json", "{\"ociVersion\": \"1.2.0\",}");
  std::string err = load_spec(dir.path()).error().what();
  EXPECT_EQ(err.rfind(file + "invalid JSON at byte 24: parse error at line 1, column 24", 0), 0u)
      << err;
}

}  // namespace
}  // namespace skiff::oci
