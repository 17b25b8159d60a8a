// $(VAR) expansion as Kubernetes does it (its expansion package's cases), and its use on a
// container's env, command and args.

#include <gtest/gtest.h>

#include "kubelet/engine/container_bundle.hpp"
#include "kubelet/engine/expand.hpp"
#include "oci/runtime_spec.hpp"

namespace skiff::kubelet {
namespace {

const std::map<std::string, std::string> kVars = {
    {"VAR_A", "A"}, {"VAR_B", "B"}, {"VAR_C", "C"}, {"VAR_REF", "$(VAR_A)"}, {"VAR_EMPTY", ""}};

std::string x(std::string_view in) { return expand_vars(in, kVars); }

TEST(ExpandVars, References) {
  EXPECT_EQ(x("$(VAR_A)"), "A");
  EXPECT_EQ(x("___$(VAR_B)___"), "___B___");
  EXPECT_EQ(x("$(VAR_A)-$(VAR_B)-$(VAR_C)"), "A-B-C");
  EXPECT_EQ(x("$(VAR_A)$(VAR_B)"), "AB");
  EXPECT_EQ(x("$(VAR_EMPTY)"), "");
  EXPECT_EQ(x("x$(VAR_EMPTY)y"), "xy");
  // A value is not expanded again.
  EXPECT_EQ(x("$(VAR_REF)"), "$(VAR_A)");
}

TEST(ExpandVars, UndefinedStaysAsWritten) {
  EXPECT_EQ(x("$(VAR_DNE)"), "$(VAR_DNE)");
  EXPECT_EQ(x("foo $(VAR_DNE) $(VAR_A)"), "foo $(VAR_DNE) A");
  EXPECT_EQ(x("$()"), "$()");
}

TEST(ExpandVars, EscapesAndLiteralDollars) {
  EXPECT_EQ(x("$$(VAR_A)"), "$(VAR_A)");
  EXPECT_EQ(x("$$$(VAR_A)"), "$A");
  EXPECT_EQ(x("$$$$(VAR_A)"), "$$(VAR_A)");
  EXPECT_EQ(x("$$"), "$");
  EXPECT_EQ(x("$"), "$");
  EXPECT_EQ(x("foo$"), "foo$");
  EXPECT_EQ(x("$VAR_A"), "$VAR_A");
  EXPECT_EQ(x("$ $$ x"), "$ $ x");
  EXPECT_EQ(x("$(VAR_A"), "$(VAR_A");                    // unclosed
  EXPECT_EQ(x("$(VAR_A $(VAR_B)"), "$(VAR_A $(VAR_B)");  // the name runs to the first ')'
  EXPECT_EQ(x("(VAR_A)"), "(VAR_A)");
}

Manifest manifest(const std::string& containers) {
  auto m = parse_manifest(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p, uid: u1}\nspec:\n  containers:\n" +
          containers,
      "p.yaml");
  EXPECT_TRUE(m.ok()) << m.error().what();
  return std::move(m).value();
}

Json apply(const Manifest& m, Json args = {"/entry", "cmd"}) {
  Json spec = oci::default_spec(false);
  spec["process"]["args"] = args;
  spec["process"]["env"] = {"PATH=/bin", "IMG=image"};
  Sandbox s;
  s.pause_pid = 1;
  s.pod_ip = "10.85.0.9";
  s.hostname = "p";
  CreateFailure f;
  auto r = apply_container_settings(spec, m, m.pod.spec.containers[0], s, "/pd", &f);
  EXPECT_TRUE(r.ok()) << r.error().what();
  return spec;
}

TEST(ExpandVars, EnvSeesEarlierEntriesOnly) {
  Manifest m = manifest(
      "  - name: c\n    image: busybox\n    command: [sh]\n    env:\n"
      "    - {name: FIRST, value: one}\n"
      "    - {name: SECOND, value: '$(FIRST)-two-$(THIRD)'}\n"
      "    - {name: THIRD, value: three}\n"
      "    - {name: ESC, value: '$$(FIRST)'}\n"
      "    - {name: IMG2, value: '$(IMG)'}\n"
      "    - name: IP\n      valueFrom: {fieldRef: {fieldPath: status.podIP}}\n"
      "    - {name: USES_IP, value: 'ip=$(IP)'}\n");
  Json spec = apply(m);
  EXPECT_EQ(spec["process"]["env"],
            Json({"PATH=/bin", "IMG=image", "FIRST=one", "SECOND=one-two-$(THIRD)", "THIRD=three",
                  "ESC=$(FIRST)", "IMG2=$(IMG)", "IP=10.85.0.9", "USES_IP=ip=10.85.0.9"}));
}

TEST(ExpandVars, CommandAndArgsSeeTheWholeEnv) {
  Manifest m = manifest(
      "  - name: c\n    image: busybox\n    command: [echo, '$(GREETING)']\n"
      "    args: ['$(NAME)', '$$(NAME)', '$(NOPE)']\n    env:\n"
      "    - {name: GREETING, value: hello}\n    - {name: NAME, value: world}\n");
  EXPECT_EQ(apply(m)["process"]["args"], Json({"echo", "hello", "world", "$(NAME)", "$(NOPE)"}));
}

TEST(ExpandVars, ArgsAloneKeepTheImageEntrypoint) {
  Manifest m = manifest(
      "  - name: c\n    image: busybox\n    args: ['--name=$(NAME)']\n    env:\n"
      "    - {name: NAME, value: world}\n");
  // What the bundle gives for args without command: the image's Entrypoint, then the args.
  EXPECT_EQ(apply(m, {"/entry", "--name=$(NAME)"})["process"]["args"],
            Json({"/entry", "--name=world"}));
}

}  // namespace
}  // namespace skiff::kubelet
