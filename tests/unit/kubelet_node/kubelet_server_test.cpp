// The kubelet API's log tail (kubectl logs --tail=N), and what exec's streams carry: the
// negotiated protocol, the command from the query, the v4 exit status kubectl decodes.

#include <gtest/gtest.h>

#include "common/json_util.hpp"
#include "kubelet/node/kubelet_server.hpp"

namespace skiff::kubelet::node {
namespace {

TEST(TailLines, LastNLines) {
  EXPECT_EQ(tail_lines("a\nb\nc\n", 2), "b\nc\n");
  EXPECT_EQ(tail_lines("a\nb\nc\n", 1), "c\n");
  EXPECT_EQ(tail_lines("a\nb\nc\n", 3), "a\nb\nc\n");
  EXPECT_EQ(tail_lines("a\nb\nc\n", 10), "a\nb\nc\n");
  EXPECT_EQ(tail_lines("a\nb\nc", 2), "b\nc");
  EXPECT_EQ(tail_lines("a\nb\nc\n", 0), "");
  EXPECT_EQ(tail_lines("", 3), "");
}

TEST(ExecStatus, SuccessAndExitCode) {
  Json ok = Json::parse(exec_status_v4(0));
  EXPECT_EQ(ok["status"], "Success");
  EXPECT_FALSE(ok.contains("reason"));
  // kubectl's v4 decoder: Failure + NonZeroExitCode, the code in the ExitCode cause's message.
  Json three = Json::parse(exec_status_v4(3));
  EXPECT_EQ(three["status"], "Failure");
  EXPECT_EQ(three["reason"], "NonZeroExitCode");
  ASSERT_EQ(three["details"]["causes"].size(), 1u);
  EXPECT_EQ(three["details"]["causes"][0]["reason"], "ExitCode");
  EXPECT_EQ(three["details"]["causes"][0]["message"], "3");
  EXPECT_NE(three["message"].get<std::string>().find("3"), std::string::npos);
  EXPECT_EQ(Json::parse(exec_status_v4(137))["details"]["causes"][0]["message"], "137");
}

TEST(StreamProtocol, Negotiation) {
  std::vector<std::string> exec = {"v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io",
                                   "channel.k8s.io"};
  // kubectl sends one header per version, newest first; the server's preference decides.
  EXPECT_EQ(negotiate_protocol({"v4.channel.k8s.io", "v3.channel.k8s.io"}, exec),
            "v4.channel.k8s.io");
  EXPECT_EQ(negotiate_protocol({"channel.k8s.io", "v2.channel.k8s.io"}, exec), "v2.channel.k8s.io");
  // Joined by a proxy into one field.
  EXPECT_EQ(negotiate_protocol({"v5.channel.k8s.io, v3.channel.k8s.io"}, exec),
            "v3.channel.k8s.io");
  EXPECT_EQ(negotiate_protocol({}, exec), "");  // none offered: the oldest protocol
  EXPECT_EQ(negotiate_protocol({"v5.channel.k8s.io"}, exec), std::nullopt);
  EXPECT_EQ(negotiate_protocol({"portforward.k8s.io"}, {"portforward.k8s.io"}),
            "portforward.k8s.io");
  EXPECT_EQ(negotiate_protocol({"v4.channel.k8s.io"}, {"portforward.k8s.io"}), std::nullopt);
}

TEST(StreamProtocol, QueryKeepsRepeatedCommands) {
  // Go's url.Values: spaces as '+', the rest percent-escaped, repeated keys in order.
  auto q = query_pairs("command=sh&command=-c&command=echo+a%26b+%3D%2B&input=1&tty");
  ASSERT_EQ(q.size(), 5u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"command", "sh"}));
  EXPECT_EQ(q[1].second, "-c");
  EXPECT_EQ(q[2].second, "echo a&b =+");
  EXPECT_EQ(q[3], (std::pair<std::string, std::string>{"input", "1"}));
  EXPECT_EQ(q[4], (std::pair<std::string, std::string>{"tty", ""}));
  EXPECT_EQ(query_pairs("command=%zz%4")[0].second, "%zz%4");  // bad escapes kept as sent
}

}  // namespace
}  // namespace skiff::kubelet::node
