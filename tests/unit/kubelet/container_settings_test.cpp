// A Pod container applied to the image's config.json: command/args, env, securityContext, the
// sandbox's namespaces and the pod's /etc files.

#include <gtest/gtest.h>

#include "kubelet/engine/container_bundle.hpp"
#include "oci/runtime_spec.hpp"

namespace skiff::kubelet {
namespace {

Manifest manifest(const std::string& containers, const std::string& extra = "") {
  auto m = parse_manifest("apiVersion: v1\nkind: Pod\nmetadata: {name: p, uid: u1}\nspec:\n" +
                              extra + "  containers:\n" + containers,
                          "p.yaml");
  EXPECT_TRUE(m.ok()) << m.error().what();
  return std::move(m).value();
}

Json image_spec() {
  Json spec = oci::default_spec(false);
  spec["process"]["args"] = {"/entry", "cmd"};
  spec["process"]["env"] = {"PATH=/bin", "A=image"};
  return spec;
}

Sandbox sandbox() {
  Sandbox s;
  s.pause_pid = 4242;
  s.pod_ip = "10.85.0.9";
  s.hostname = "p";
  return s;
}

TEST(ContainerSettings, CommandArgsEnvAndNamespaces) {
  Manifest m = manifest(
      "  - name: c\n    image: busybox\n    command: [/bin/sh]\n    args: [-c, 'echo hi']\n"
      "    workingDir: work\n    env:\n    - {name: A, value: pod}\n"
      "    - name: IP\n      valueFrom: {fieldRef: {fieldPath: status.podIP}}\n");
  Json spec = image_spec();
  CreateFailure f;
  ASSERT_TRUE(
      apply_container_settings(spec, m, m.pod.spec.containers[0], sandbox(), "/pd", &f).ok());
  EXPECT_EQ(spec["process"]["args"], Json({"/bin/sh", "-c", "echo hi"}));
  EXPECT_EQ(spec["process"]["cwd"], "/work");
  EXPECT_EQ(spec["process"]["env"], Json({"PATH=/bin", "A=pod", "IP=10.85.0.9"}));
  EXPECT_FALSE(spec.contains("hostname"));  // the sandbox's uts namespace has it
  std::map<std::string, std::string> ns;
  for (const auto& n : spec["linux"]["namespaces"]) ns[n["type"]] = n.value("path", "");
  EXPECT_EQ(ns["network"], "/proc/4242/ns/net");
  EXPECT_EQ(ns["ipc"], "/proc/4242/ns/ipc");
  EXPECT_EQ(ns["uts"], "/proc/4242/ns/uts");
  EXPECT_EQ(ns["pid"], "");  // its own
  EXPECT_EQ(ns["mount"], "");
  bool hosts = false;
  for (const auto& mnt : spec["mounts"])
    if (mnt["destination"] == "/etc/hosts") hosts = mnt["source"] == "/pd/etc/hosts";
  EXPECT_TRUE(hosts);
  EXPECT_EQ(spec["annotations"]["io.kubernetes.pod.uid"], "u1");
}

TEST(ContainerSettings, ArgsOnlyKeepTheImageEntrypoint) {
  // make_container_bundle hands args to the image conversion (Entrypoint + args); here the
  // already-converted spec is left alone.
  Manifest m = manifest("  - name: c\n    image: busybox\n    args: [x]\n");
  Json spec = image_spec();
  ASSERT_TRUE(
      apply_container_settings(spec, m, m.pod.spec.containers[0], sandbox(), "/pd", nullptr).ok());
  EXPECT_EQ(spec["process"]["args"], Json({"/entry", "cmd"}));
}

TEST(ContainerSettings, SecurityContext) {
  Manifest m = manifest(
      "  - name: c\n    image: busybox\n    securityContext:\n      runAsGroup: 7\n"
      "      readOnlyRootFilesystem: true\n      allowPrivilegeEscalation: false\n"
      "      capabilities: {drop: [ALL], add: [NET_ADMIN]}\n",
      "  securityContext: {runAsUser: 1000}\n");
  Json spec = image_spec();
  ASSERT_TRUE(
      apply_container_settings(spec, m, m.pod.spec.containers[0], sandbox(), "/pd", nullptr).ok());
  EXPECT_EQ(spec["process"]["user"]["uid"], 1000);  // from the pod
  EXPECT_EQ(spec["process"]["user"]["gid"], 7);
  EXPECT_EQ(spec["root"]["readonly"], true);
  EXPECT_EQ(spec["process"]["noNewPrivileges"], true);
  EXPECT_EQ(spec["process"]["capabilities"]["bounding"], Json({"CAP_NET_ADMIN"}));
}

TEST(ContainerSettings, DefaultAndPrivilegedCapabilities) {
  SecurityContext none;
  auto def = effective_capabilities(none);
  EXPECT_EQ(def.size(), 14u);
  EXPECT_NE(std::find(def.begin(), def.end(), "CAP_NET_RAW"), def.end());
  SecurityContext drop;
  drop.capabilities_drop = {"NET_RAW", "cap_kill"};
  auto dropped = effective_capabilities(drop);
  EXPECT_EQ(dropped.size(), 12u);
  EXPECT_EQ(std::find(dropped.begin(), dropped.end(), "CAP_KILL"), dropped.end());
  SecurityContext priv;
  priv.privileged = true;
  EXPECT_EQ(effective_capabilities(priv).size(), 41u);
}

TEST(ContainerSettings, ResourcesBecomeCgroupSettings) {
  Manifest m = manifest(
      "  - name: c\n    image: busybox\n    resources:\n      limits: {cpu: 500m, memory: 64Mi}\n");
  Json spec = image_spec();
  ASSERT_TRUE(
      apply_container_settings(spec, m, m.pod.spec.containers[0], sandbox(), "/pd", nullptr).ok());
  const Json& r = spec["linux"]["resources"];
  EXPECT_EQ(r["memory"]["limit"], 64 << 20);
  EXPECT_EQ(r["cpu"]["quota"], 50000);
  EXPECT_EQ(r["cpu"]["period"], 100000);
  EXPECT_EQ(r["cpu"]["shares"], 512);  // the request defaults to the limit
  Manifest none = manifest("  - name: c\n    image: busybox\n");
  Json spec2 = image_spec();
  ASSERT_TRUE(
      apply_container_settings(spec2, none, none.pod.spec.containers[0], sandbox(), "/pd", nullptr)
          .ok());
  EXPECT_EQ(spec2["linux"]["resources"]["cpu"]["shares"], 2);
  EXPECT_FALSE(spec2["linux"]["resources"].contains("memory"));
}

TEST(ContainerSettings, RunAsNonRootRefusesRoot) {
  Manifest m =
      manifest("  - name: c\n    image: busybox\n    securityContext: {runAsNonRoot: true}\n");
  Json spec = image_spec();
  CreateFailure f;
  auto r = apply_container_settings(spec, m, m.pod.spec.containers[0], sandbox(), "/pd", &f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(f.reason, "CreateContainerConfigError");
  EXPECT_NE(r.error().what().find("runAsNonRoot"), std::string::npos);
}

TEST(ContainerSettings, HostNetworkKeepsTheHostsNetworkAndUts) {
  Manifest m = manifest("  - name: c\n    image: busybox\n", "  hostNetwork: true\n");
  Sandbox s = sandbox();
  s.host_network = true;
  Json spec = image_spec();
  ASSERT_TRUE(apply_container_settings(spec, m, m.pod.spec.containers[0], s, "/pd", nullptr).ok());
  for (const auto& n : spec["linux"]["namespaces"]) {
    EXPECT_NE(n["type"], "network");
    EXPECT_NE(n["type"], "uts");
  }
}

}  // namespace
}  // namespace skiff::kubelet
