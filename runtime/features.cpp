// `skiff features`: what this runtime supports, in the runtime-spec features.md shape.
#include "common/log.hpp"
#include "runtime/cgroups/manager.hpp"
#include "runtime/container.hpp"
#include "runtime/linux/rootfs.hpp"
#include "runtime/linux/seccomp.hpp"

namespace skiff::runtime {

Json features() {
  auto mode = cgroups::detect_mode();
  Json j;
  j["ociVersionMin"] = "1.0.0";
  j["ociVersionMax"] = oci::kRuntimeSpecVersion;
  j["hooks"] = {"prestart",       "createRuntime", "createContainer",
                "startContainer", "poststart",     "poststop"};
  j["mountOptions"] = oci::known_mount_options();
  Json lx;
  lx["namespaces"] = oci::known_namespace_types();
  lx["capabilities"] = oci::known_capabilities();
  lx["cgroup"] = {
      {"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", false}};
  lx["seccomp"] = {{"enabled", true},
                   {"actions", linux::seccomp_known_actions()},
                   {"operators", linux::seccomp_known_operators()},
                   {"archs", linux::seccomp_known_arches()},
                   {"knownFlags", linux::seccomp_known_flags()},
                   {"supportedFlags", linux::seccomp_known_flags()}};
  lx["apparmor"] = {{"enabled", false}};
  lx["selinux"] = {{"enabled", false}};
  lx["intelRdt"] = {{"enabled", false}};
  lx["mountExtensions"] = {{"idmap", {{"enabled", false}}}};
  j["linux"] = lx;
  j["annotations"] = {{"org.skiff.cgroup.mode", mode ? cgroups::mode_name(*mode) : "unknown"},
                      {"org.skiff.version", SKIFF_VERSION},
                      {"org.skiff.commit", SKIFF_COMMIT},
                      {"io.github.seccomp.libseccomp.version", "2"}};
  return j;
}

}  // namespace skiff::runtime
