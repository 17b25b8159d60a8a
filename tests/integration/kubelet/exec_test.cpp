// `skiff pod exec` on a real pod: -i passes stdin (without it the command reads nothing, as with
// kubectl), -t runs the command on a pty the runtime allocates and proxies, the exit status is
// the command's.

#include "tests/integration/kubelet/pod_fixture.hpp"

namespace skiff::test {
namespace {

constexpr char kExecBridge[] = "skexec0";
constexpr char kExecSubnet[] = "10.235.0.0/24";

using PodExecTest = PodFixture<kExecBridge, kExecSubnet>;

TEST_F(PodExecTest, StdinAndTty) {
  auto file = write_pod("ex", R"Y(apiVersion: v1
kind: Pod
metadata: {name: ex}
spec:
  containers:
  - {name: main, image: busybox:1.35, command: [sleep, '600']}
)Y");
  ASSERT_EQ(pod({"run", file}).exit_code, 0);

  auto with_stdin = pod({"exec", "-i", "ex", "--", "cat"}, "hello through stdin\n");
  EXPECT_EQ(with_stdin.exit_code, 0) << with_stdin.err;
  EXPECT_EQ(with_stdin.out, "hello through stdin\n");
  auto without = pod({"exec", "ex", "--", "cat"}, "not passed\n");
  EXPECT_EQ(without.exit_code, 0) << without.err;
  EXPECT_EQ(without.out, "");

  auto tty =
      pod({"exec", "-t", "ex", "--", "sh", "-c", "[ -t 0 ] && [ -t 1 ] && echo on-a-tty; tty"});
  EXPECT_EQ(tty.exit_code, 0) << tty.err;
  EXPECT_NE(tty.out.find("on-a-tty"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("/dev/pts/"), std::string::npos) << tty.out;
  auto no_tty = pod({"exec", "ex", "--", "sh", "-c", "[ -t 1 ] || echo no-tty; exit 5"});
  EXPECT_EQ(no_tty.exit_code, 5);
  EXPECT_EQ(no_tty.out, "no-tty\n");

  ASSERT_EQ(pod({"rm", "-f", "ex"}).exit_code, 0);
  expect_nothing_left();
}

}  // namespace
}  // namespace skiff::test
