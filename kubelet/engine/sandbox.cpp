#include "kubelet/engine/sandbox.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cni/conf_loader.hpp"
#include "cni/invoker.hpp"
#include "cni/netns.hpp"
#include "common/defer.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "kubelet/engine/launch.hpp"
#include "kubelet/engine/pod_cgroup.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/container.hpp"

#ifndef SKIFF_BINARY_DIR
#define SKIFF_BINARY_DIR ""
#endif

namespace skiff::kubelet {
namespace {

std::vector<std::string> plugin_dirs(const NodeConfig& c) {
  if (!c.cni_bin_dirs.empty()) return c.cni_bin_dirs;
  // skiff-pod resolves them before the shim starts (the shim runs from a sealed copy of itself).
  return default_cni_plugin_dirs(self_exe_path(), SKIFF_BINARY_DIR);
}

cni::Invoker invoker(const NodeConfig& c) {
  cni::InvokerOptions o;
  o.plugin_dirs = plugin_dirs(c);
  o.cache_dir = c.cni_cache_dir;
  o.timeout = std::chrono::milliseconds(30'000);
  return cni::Invoker(o);
}

std::string pause_binary(const NodeConfig& c) {
  if (!c.pause_binary.empty()) return c.pause_binary;
  return find_helper_binary("skiff-pause", cat(SKIFF_BINARY_DIR, "/kubelet/skiff-pause"));
}

// Sets `lo` up in the namespace: CNI plugins configure eth0 only, and containers of one pod talk
// over localhost.
Result<void> loopback_up(const std::string& netns_path) {
  auto fd = TRY(cni::open_netns(netns_path));
  return cni::in_netns(fd.get(), [&]() -> Result<void> {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) return errno_error("socket");
    struct ifreq ifr {};
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (ioctl(s.get(), SIOCGIFFLAGS, &ifr) < 0) return errno_error("SIOCGIFFLAGS lo");
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (ioctl(s.get(), SIOCSIFFLAGS, &ifr) < 0) return errno_error("SIOCSIFFLAGS lo");
    return ok();
  });
}

Json pause_spec(const Pod& pod, const std::string& hostname) {
  Json spec = oci::default_spec(false);
  spec["process"]["args"] = {"/pause"};
  spec["process"]["terminal"] = false;
  spec["process"]["env"] = Json::array();
  Json none = Json::array();
  spec["process"]["capabilities"] = {
      {"bounding", none}, {"effective", none}, {"permitted", none}, {"ambient", none}};
  spec["root"]["readonly"] = true;
  Json ns = Json::array();
  ns.push_back({{"type", "pid"}});
  ns.push_back({{"type", "mount"}});
  ns.push_back({{"type", "ipc"}});
  if (!pod.spec.host_network) {
    ns.push_back({{"type", "network"}});
    ns.push_back({{"type", "uts"}});
    spec["hostname"] = hostname;
  } else {
    spec.erase("hostname");
  }
  spec["linux"]["namespaces"] = ns;
  // /dev on a small tmpfs: the runtime's default devices and /dev symlinks (12 entries) were
  // made on the state root's disk (ext4 inodes allocated and freed per pod).
  spec["mounts"] =
      Json::array({{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
                   {{"destination", "/dev"},
                    {"type", "tmpfs"},
                    {"source", "tmpfs"},
                    {"options", {"nosuid", "noexec", "strictatime", "mode=755", "size=64k"}}}});
  spec["annotations"] = {{"io.kubernetes.cri.container-type", "sandbox"},
                         {"io.kubernetes.pod.name", pod.name},
                         {"io.kubernetes.pod.namespace", pod.namespace_},
                         {"io.kubernetes.pod.uid", pod.uid}};
  return spec;
}

}  // namespace

Json Sandbox::to_json() const {
  return {{"pauseId", pause_id},         {"pausePid", pause_pid}, {"bundle", bundle},
          {"network", network},          {"podIP", pod_ip},       {"hostname", hostname},
          {"hostNetwork", host_network}, {"cgroup", cgroup},      {"qosClass", qos_class}};
}

Sandbox Sandbox::from_json(const Json& j) {
  Sandbox s;
  s.pause_id = j.value("pauseId", "");
  s.pause_pid = j.value("pausePid", 0);
  s.bundle = j.value("bundle", "");
  s.network = j.value("network", "");
  s.pod_ip = j.value("podIP", "");
  s.hostname = j.value("hostname", "");
  s.host_network = j.value("hostNetwork", false);
  s.cgroup = j.value("cgroup", "");
  s.qos_class = j.value("qosClass", "");
  return s;
}

Result<Json> load_or_write_network(const NodeConfig& c) {
  TRY(mkdir_p(c.cni_conf_dir));
  auto configs = TRY(cni::load_conf_dir(c.cni_conf_dir));
  for (const auto& lc : configs)
    if (lc.list.ok()) return TRY(read_json_file(lc.path));
  if (!configs.empty())
    return error("no valid network configuration in ", quote(c.cni_conf_dir), ": ",
                 quote(configs[0].path), ": ", configs[0].list.error().what());
  Json list = default_conflist(c);
  TRY(write_file_atomic(cat(c.cni_conf_dir, "/10-skiff.conflist"), list.dump(2) + "\n"));
  return list;
}

Result<Sandbox> create_sandbox(const NodeConfig& c, const Pod& pod) {
  Sandbox s;
  s.host_network = pod.spec.host_network;
  s.hostname = pod.spec.hostname.empty() ? pod.name.substr(0, 63) : pod.spec.hostname;
  if (s.host_network) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    s.hostname = host;
  }
  s.pause_id = cat("pod-", pod.uid, "-pause");
  s.bundle = c.sandbox_bundle(pod.uid);
  std::string pause = pause_binary(c);
  if (pause.empty())
    return error("skiff-pause not found (next to this binary or in the build tree)");

  runtime::GlobalOptions g;
  g.root = c.runtime_root();
  s.qos_class = pod_qos_class(pod);
  s.cgroup = TRY(create_pod_cgroup(c, pod));
  Defer remove_cgroup([&] { (void)destroy_pod_cgroup(c, s.cgroup); });
  TRY(mkdir_p(s.bundle + "/rootfs/proc"));
  Defer remove_bundle([&] { (void)remove_tree(s.bundle); });
  // The root holds nothing but the pause binary, bind-mounted read-only.
  TRY(write_file(s.bundle + "/rootfs/pause", "", O_CREAT | O_TRUNC, 0755));
  Json spec = pause_spec(pod, s.hostname);
  spec["linux"]["cgroupsPath"] = s.cgroup + "/pause";
  spec["mounts"].push_back({{"destination", "/pause"},
                            {"type", "bind"},
                            {"source", pause},
                            {"options", {"bind", "ro", "nosuid", "nodev"}}});
  TRY(write_file_atomic(s.bundle + "/config.json", spec.dump(2), 0644, false));

  s.pause_pid = TRY_CTX(launch_container(g, s.pause_id, s.bundle, {}), "start the pause container");
  Defer remove_pause([&] {
    (void)runtime::remove(g, s.pause_id, true);
    waitpid(s.pause_pid, nullptr, 0);
  });

  if (!s.host_network) {
    TRY_CTX(loopback_up(s.ns_path("net")), "bring up the pod's loopback");
    Json list_json = TRY(load_or_write_network(c));
    auto list = cni::NetworkConfigList::parse(list_json.dump());
    if (!list) return error("pod network: ", list.error().what());
    cni::RuntimeConf rt;
    rt.container_id = pod.uid;
    rt.netns = s.ns_path("net");
    rt.args = {{"K8S_POD_NAMESPACE", pod.namespace_},
               {"K8S_POD_NAME", pod.name},
               {"K8S_POD_UID", pod.uid},
               {"K8S_POD_INFRA_CONTAINER_ID", s.pause_id}};
    auto inv = invoker(c);
    auto added = inv.add(*list, rt);
    if (!added) {
      (void)inv.del(*list, rt);  // the spec asks a runtime to clean up a failed ADD with DEL
      return error("CNI ADD on network ", quote(list->name), ": ", added.error().what());
    }
    s.network = list->name;
    for (const auto& ip : added->ips) {
      s.pod_ip = ip.address.addr().str();
      break;
    }
  }
  remove_pause.cancel();
  remove_bundle.cancel();
  remove_cgroup.cancel();
  return s;
}

Result<void> destroy_sandbox(const NodeConfig& c, const Pod& pod, const Sandbox& s) {
  std::optional<Error> first;
  auto note = [&](Result<void> r, const char* what) {
    if (!r) {
      log::warn(what, ": ", r.error().what());
      if (!first) first = std::move(r.error().wrap(what));
    }
  };
  if (!s.network.empty()) {
    auto list_json = load_or_write_network(c);
    if (!list_json) {
      note(std::move(list_json).error(), "load the pod network");
    } else {
      auto list = cni::NetworkConfigList::parse(list_json->dump());
      if (list) {
        cni::RuntimeConf rt;
        rt.container_id = pod.uid;
        if (s.pause_pid > 0 && path_exists(s.ns_path("net"))) rt.netns = s.ns_path("net");
        auto del = invoker(c).del(*list, rt);
        if (!del) note(error(del.error().what()), "CNI DEL");
      }
    }
  }
  runtime::GlobalOptions g;
  g.root = c.runtime_root();
  note(runtime::remove(g, s.pause_id, true), "remove the pause container");
  note(remove_tree(s.bundle), "remove the sandbox bundle");
  note(destroy_pod_cgroup(c, s.cgroup), "remove the pod cgroup");
  if (first) return std::move(*first);
  return ok();
}

}  // namespace skiff::kubelet
