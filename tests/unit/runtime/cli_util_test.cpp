// The pure helpers behind the `skiff` command line: runc's value syntaxes, exec process
// adjustments, the ps filter, the list table and the events JSON.

#include "runtime/cli_util.hpp"

#include <gtest/gtest.h>

namespace skiff::runtime::cli {
namespace {

using std::chrono::nanoseconds;
using Strings = std::vector<std::string>;

TEST(CheckArgs, AcceptsTheExpectedCount) {
  EXPECT_TRUE(check_args("start", {"c1"}, 1, 1).ok());
  EXPECT_TRUE(check_args("kill", {"c1", "KILL"}, 1, 2).ok());
  EXPECT_TRUE(check_args("list", {}, 0, 0).ok());
}

TEST(CheckArgs, MissingIdUsesRuncWording) {
  auto r = check_args("create", {}, 1, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "\"create\" requires exactly 1 argument(s)");
  auto e = check_args("exec", {}, 1, SIZE_MAX);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message(), "\"exec\" requires a minimum of 1 argument(s)");
}

TEST(CheckArgs, NamesTheUnexpectedArgument) {
  auto r = check_args("start", {"c1", "extra"}, 1, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("unexpected argument \"extra\""), std::string::npos);
  auto k = check_args("kill", {"c1", "KILL", "more"}, 1, 2);
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.error().message().find("a maximum of 2"), std::string::npos);
  EXPECT_NE(k.error().message().find("\"more\""), std::string::npos);
}

TEST(ParseSize, BinarySuffixesLikeGoUnits) {
  EXPECT_EQ(*parse_size("64m"), 67108864);
  EXPECT_EQ(*parse_size("64M"), 67108864);
  EXPECT_EQ(*parse_size("64MiB"), 67108864);
  EXPECT_EQ(*parse_size("64mb"), 67108864);
  EXPECT_EQ(*parse_size("64 m"), 67108864);
  EXPECT_EQ(*parse_size("1k"), 1024);
  EXPECT_EQ(*parse_size("1g"), 1073741824);
  EXPECT_EQ(*parse_size("1.5g"), 1610612736);
  EXPECT_EQ(*parse_size("2t"), 2199023255552);
  EXPECT_EQ(*parse_size("100"), 100);
  EXPECT_EQ(*parse_size("0"), 0);
}

TEST(ParseSize, MinusOneIsUnlimited) { EXPECT_EQ(*parse_size("-1"), -1); }

TEST(ParseSize, RejectsGarbage) {
  for (const char* bad : {"", "m", "abc", "-5", "64x", "1.2.3", "64mm", "1..5", " 64"}) {
    auto r = parse_size(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().message(), cat("invalid size: '", bad, "'"));
  }
  EXPECT_FALSE(parse_size("99999999p").ok());  // overflows int64
}

TEST(ParseDuration, GoSyntax) {
  EXPECT_EQ(*parse_duration("5s"), nanoseconds(5'000'000'000));
  EXPECT_EQ(*parse_duration("500ms"), nanoseconds(500'000'000));
  EXPECT_EQ(*parse_duration("1m30s"), nanoseconds(90'000'000'000));
  EXPECT_EQ(*parse_duration("1.5h"), nanoseconds(5'400'000'000'000));
  EXPECT_EQ(*parse_duration("10us"), nanoseconds(10'000));
  EXPECT_EQ(*parse_duration("3\xC2\xB5s"), nanoseconds(3'000));
  EXPECT_EQ(*parse_duration(".5s"), nanoseconds(500'000'000));
  EXPECT_EQ(*parse_duration("0"), nanoseconds(0));
  EXPECT_EQ(*parse_duration("-2s"), nanoseconds(-2'000'000'000));
}

TEST(ParseDuration, RejectsGarbage) {
  for (const char* bad : {"", "5", "s", "5x", "five seconds", "1.s.", "-"}) {
    EXPECT_FALSE(parse_duration(bad).ok()) << bad;
  }
}

TEST(MergeEnv, ReplacesSameKeyInPlaceAndAppendsNewOnes) {
  Strings base = {"PATH=/usr/bin:/bin", "TERM=xterm", "HOME=/root"};
  auto merged = merge_env(base, {"TERM=dumb", "FOO=bar", "FOO=baz"});
  EXPECT_EQ(merged, (Strings{"PATH=/usr/bin:/bin", "TERM=dumb", "HOME=/root", "FOO=baz"}));
}

TEST(MergeEnv, KeyIsUpToTheFirstEquals) {
  auto merged = merge_env({"A=1=2", "AB=3"}, {"A=x=y"});
  EXPECT_EQ(merged, (Strings{"A=x=y", "AB=3"}));
}

TEST(ParseUser, UidAndOptionalGid) {
  auto both = parse_user("1000:1001");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->uid, 1000u);
  EXPECT_EQ(both->gid, 1001u);
  auto uid_only = parse_user("0");
  ASSERT_TRUE(uid_only.ok());
  EXPECT_EQ(uid_only->uid, 0u);
  EXPECT_FALSE(uid_only->gid.has_value());
}

TEST(ParseUser, RejectsNamesAndMalformedValues) {
  for (const char* bad : {"", "root", "1000:", ":1000", "1:2:3", "-1", "1000:wheel"}) {
    EXPECT_FALSE(parse_user(bad).ok()) << bad;
  }
}

TEST(ExecCapabilities, AddsToBoundingEffectivePermittedOnly) {
  oci::Process p;
  p.capabilities.emplace();
  p.capabilities->bounding = {"CAP_CHOWN"};
  p.capabilities->effective = {"CAP_CHOWN"};
  add_exec_capabilities(p, {"net_admin", "CAP_SYS_PTRACE", "CAP_CHOWN"});
  EXPECT_EQ(p.capabilities->bounding, (Strings{"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_PTRACE"}));
  EXPECT_EQ(p.capabilities->effective, (Strings{"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_PTRACE"}));
  EXPECT_EQ(p.capabilities->permitted, (Strings{"CAP_NET_ADMIN", "CAP_SYS_PTRACE", "CAP_CHOWN"}));
  // CVE-2022-29162: never inheritable or ambient.
  EXPECT_TRUE(p.capabilities->inheritable.empty());
  EXPECT_TRUE(p.capabilities->ambient.empty());
}

TEST(ExecCapabilities, CreatesTheSetsWhenThereAreNone) {
  oci::Process p;
  add_exec_capabilities(p, {"kill"});
  ASSERT_TRUE(p.capabilities.has_value());
  EXPECT_EQ(p.capabilities->bounding, (Strings{"CAP_KILL"}));
  oci::Process untouched;
  add_exec_capabilities(untouched, {});
  EXPECT_FALSE(untouched.capabilities.has_value());
}

TEST(FilterPsOutput, KeepsHeaderAndTheContainersLines) {
  std::string ps =
      "UID          PID    PPID  C STIME TTY          TIME CMD\n"
      "root           1       0  0 10:00 ?        00:00:01 /sbin/init\n"
      "root        4242    4200  0 10:01 ?        00:00:00 sleep 4242\n"
      "1000        4243    4242  0 10:01 pts/0    00:00:00 sh -c echo 1\n"
      "root          42       2  0 10:00 ?        00:00:00 [kworker/0:1]\n";
  auto out = filter_ps_output(ps, {4242, 4243, 9999});
  ASSERT_TRUE(out.ok()) << out.error().what();
  EXPECT_EQ(*out,
            "UID          PID    PPID  C STIME TTY          TIME CMD\n"
            "root        4242    4200  0 10:01 ?        00:00:00 sleep 4242\n"
            "1000        4243    4242  0 10:01 pts/0    00:00:00 sh -c echo 1\n");
}

TEST(FilterPsOutput, PidColumnAnywhere) {
  auto out = filter_ps_output("  PID STAT\n    7 S\n    8 R\n", {8});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "  PID STAT\n    8 R\n");
}

TEST(FilterPsOutput, FailsWithoutPidColumn) {
  auto out = filter_ps_output("USER COMMAND\nroot init\n", {1});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message(), "couldn't find PID field in ps output");
  EXPECT_FALSE(filter_ps_output("", {1}).ok());
}

TEST(FormatTable, AlignsLikeRuncsTabwriter) {
  std::string out = format_table({{"ID", "PID", "STATUS", "OWNER"},
                                  {"a-rather-long-container-id", "123", "running", "root"},
                                  {"c2", "0", "stopped", "root"}});
  EXPECT_EQ(out,
            "ID                           PID         STATUS      OWNER\n"
            "a-rather-long-container-id   123         running     root\n"
            "c2                           0           stopped     root\n");
}

TEST(DoubleDashGlobalFlags, RewritesGoStyleFlagsBeforeTheVerb) {
  Strings with = {"root", "log", "log-format"}, without = {"debug", "systemd-cgroup"};
  EXPECT_EQ(
      double_dash_global_flags(
          {"-root", "/r", "-log-format=json", "-debug", "-v", "state", "-root"}, with, without),
      (Strings{"--root", "/r", "--log-format=json", "--debug", "-v", "state", "-root"}));
  // A value that looks like a flag is left alone, and so is everything after the verb.
  EXPECT_EQ(double_dash_global_flags({"--log", "-debug", "kill", "-debug"}, with, without),
            (Strings{"--log", "-debug", "kill", "-debug"}));
}

TEST(StatsEvent, RuncsShape) {
  cgroups::Stats s;
  s.cpu_usage_total = 300;
  s.cpu_usage_user = 200;
  s.cpu_usage_kernel = 100;
  s.cpu_throttled_periods = 4;
  s.cpu_throttled_time = 5;
  s.memory_usage = 1024;
  s.memory_max_usage = 2048;
  s.memory_limit = 4096;
  s.memory_cache = 7;
  s.memory_swap_usage = 8;
  s.memory_swap_limit = 9;
  s.pids_current = 3;
  s.pids_limit = 100;
  Json j = stats_event("c1", s);
  EXPECT_EQ(j["type"], "stats");
  EXPECT_EQ(j["id"], "c1");
  const Json& d = j["data"];
  EXPECT_EQ(d["cpu"]["usage"]["total"], 300);
  EXPECT_EQ(d["cpu"]["usage"]["user"], 200);
  EXPECT_EQ(d["cpu"]["usage"]["kernel"], 100);
  EXPECT_EQ(d["cpu"]["throttling"]["throttledPeriods"], 4);
  EXPECT_EQ(d["cpu"]["throttling"]["throttledTime"], 5);
  EXPECT_EQ(d["memory"]["usage"]["usage"], 1024);
  EXPECT_EQ(d["memory"]["usage"]["max"], 2048);
  EXPECT_EQ(d["memory"]["usage"]["limit"], 4096);
  EXPECT_EQ(d["memory"]["swap"]["usage"], 8);
  EXPECT_EQ(d["memory"]["swap"]["limit"], 9);
  EXPECT_EQ(d["memory"]["cache"], 7);
  EXPECT_EQ(d["pids"]["current"], 3);
  EXPECT_EQ(d["pids"]["limit"], 100);
}

}  // namespace
}  // namespace skiff::runtime::cli
