#include "kubelet/engine/container_bundle.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "api/meta.hpp"
#include "common/fs.hpp"
#include "kubelet/engine/expand.hpp"
#include "kubelet/engine/volumes.hpp"
#include "oci/image/bundle.hpp"
#include "oci/image/bundle_spec.hpp"
#include "oci/image/images.hpp"
#include "oci/image/snapshots.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/container.hpp"

namespace skiff::kubelet {
namespace {

// containerd's default set (oci.WithDefaultCapabilities, as Docker's).
constexpr const char* kDefaultCaps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

std::string cap_name(std::string n) {
  std::transform(n.begin(), n.end(), n.begin(), ::toupper);
  return n.starts_with("CAP_") ? n : "CAP_" + n;
}

Json bind_mount(const std::string& dest, const std::string& source, bool ro) {
  Json opts = {"rbind", "rprivate"};
  if (ro) opts.push_back("ro");
  return {{"destination", dest}, {"type", "bind"}, {"source", source}, {"options", opts}};
}

}  // namespace

std::vector<std::string> effective_capabilities(const SecurityContext& sc) {
  std::vector<std::string> caps;
  auto has = [&](const std::vector<std::string>& list, const std::string& name) {
    return std::any_of(list.begin(), list.end(),
                       [&](const std::string& x) { return cap_name(x) == name; });
  };
  bool add_all = has(sc.capabilities_add, "CAP_ALL");
  bool drop_all = has(sc.capabilities_drop, "CAP_ALL");
  if (sc.privileged.value_or(false) || add_all) {
    caps = oci::known_capabilities();
  } else {
    if (!drop_all) caps.assign(std::begin(kDefaultCaps), std::end(kDefaultCaps));
    for (const auto& a : sc.capabilities_add) {
      std::string n = cap_name(a);
      if (std::find(caps.begin(), caps.end(), n) == caps.end()) caps.push_back(n);
    }
  }
  if (!sc.privileged.value_or(false))
    std::erase_if(caps, [&](const std::string& n) {
      return has(sc.capabilities_drop, n) && !has(sc.capabilities_add, n);
    });
  return caps;
}

Result<void> write_pod_etc(const Pod& pod, const Sandbox& s, const std::string& pod_dir) {
  std::string etc = pod_dir + "/etc";
  TRY(mkdir_p(etc));
  std::string hosts;
  if (s.host_network) {
    hosts = read_file("/etc/hosts").value_or("127.0.0.1\tlocalhost\n");
  } else {
    hosts =
        "# Kubernetes-managed hosts file (skiff).\n127.0.0.1\tlocalhost\n::1\tlocalhost "
        "ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::1\tip6-allnodes\n";
    if (!s.pod_ip.empty()) hosts += cat(s.pod_ip, '\t', s.hostname, '\n');
  }
  TRY(write_file_atomic(etc + "/hosts", hosts, 0644, false));
  TRY(write_file_atomic(etc + "/hostname", s.hostname + "\n", 0644, false));
  std::string resolv = read_file("/etc/resolv.conf").value_or("");
  TRY(write_file_atomic(etc + "/resolv.conf", resolv, 0644, false));
  (void)pod;
  return ok();
}

Result<void> apply_container_settings(Json& spec, const Manifest& m, const Container& c,
                                      const Sandbox& s, const std::string& pod_dir,
                                      CreateFailure* failure) {
  auto config_error = [&](std::string msg) -> Error {
    if (failure) *failure = {"CreateContainerConfigError", msg};
    return Error(std::move(msg));
  };
  Json& process = spec["process"];
  if (!c.working_dir.empty()) process["cwd"] = clean_path("/" + c.working_dir);
  process["terminal"] = c.tty;  // the pty's master goes to the shim (launch.hpp)

  // Env: the image's, then the container's in order; a value may refer to the entries before it
  // as $(NAME) (kubelet/engine/expand.hpp).
  std::vector<std::string> env = process.value("env", std::vector<std::string>{});
  std::vector<std::string> over;
  std::map<std::string, std::string> defined;
  // envFrom first (in order, later sources win), then env overrides.
  for (const auto& from : c.env_from) {
    auto vars = resolve_env_from(m, from);
    if (!vars) return config_error(vars.error().what());
    for (const auto& [k, v] : *vars) {
      defined[k] = v;
      over.push_back(cat(k, '=', v));
    }
  }
  for (const auto& e : c.env) {
    std::optional<std::string> v;
    if (e.field_path == "status.podIP" || e.field_path == "status.podIPs") {
      v = s.pod_ip;
    } else if (e.field_path == "spec.nodeName" || e.field_path == "status.hostIP") {
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      v = e.field_path == "spec.nodeName" ? std::string(host) : std::string("127.0.0.1");
    } else {
      auto r = resolve_env(m, e);
      if (!r) return config_error(r.error().what());
      v = *r;
    }
    if (!v) continue;
    // Only a literal value is expanded (valueFrom values are taken as they are).
    if (!e.config_map_key && !e.secret_key && e.field_path.empty()) v = expand_vars(*v, defined);
    defined[e.name] = *v;
    over.push_back(cat(e.name, '=', *v));
  }
  process["env"] = image::merge_env(env, over);

  // command and args with $(NAME) of the container's env expanded.
  auto expand_all = [&](const std::vector<std::string>& in) {
    std::vector<std::string> out;
    for (const auto& a : in) out.push_back(expand_vars(a, defined));
    return out;
  };
  if (!c.command.empty()) {
    std::vector<std::string> args = expand_all(c.command);
    for (auto& a : expand_all(c.args)) args.push_back(std::move(a));
    process["args"] = args;
  } else if (auto expanded = expand_all(c.args); expanded != c.args) {
    // The bundle put the image's Entrypoint, then the container's args: the args are the tail.
    Json& args = process["args"];
    if (args.is_array() && args.size() >= c.args.size())
      for (size_t i = 0, first = args.size() - c.args.size(); i < expanded.size(); ++i)
        args[first + i] = expanded[i];
  }

  // securityContext: the container's fields over the pod's.
  const SecurityContext& pc = m.pod.spec.security_context;
  const SecurityContext& sc = c.security_context;
  auto uid = sc.run_as_user ? sc.run_as_user : pc.run_as_user;
  auto gid = sc.run_as_group ? sc.run_as_group : pc.run_as_group;
  if (uid) process["user"]["uid"] = *uid;
  if (gid) process["user"]["gid"] = *gid;
  bool non_root = sc.run_as_non_root.value_or(pc.run_as_non_root.value_or(false));
  if (non_root && process["user"].value("uid", 0) == 0)
    return config_error(
        "container has runAsNonRoot and image will run as root (securityContext.runAsNonRoot)");
  auto caps = effective_capabilities(sc);
  process["capabilities"] = {
      {"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", Json::array()}};
  bool privileged = sc.privileged.value_or(false);
  process["noNewPrivileges"] = !sc.allow_privilege_escalation.value_or(true) && !privileged;
  if (sc.read_only_root_filesystem.value_or(false)) spec["root"]["readonly"] = true;
  Json& lx = spec["linux"];
  if (privileged) {
    lx.erase("maskedPaths");
    lx.erase("readonlyPaths");
    lx.erase("seccomp");
    lx["resources"]["devices"] = Json::array({{{"allow", true}, {"access", "rwm"}}});
  }

  // requests/limits → the container's cgroup (the kubelet's and containerd's mapping): memory
  // limit, CPU quota over a 100 ms period from the limit, shares from the request (defaulting to
  // the limit), 2 shares for a container that asks for nothing.
  const Resources& res = c.resources;
  Json& resources = lx["resources"];
  if (res.memory_limit) resources["memory"]["limit"] = *res.memory_limit;
  if (res.cpu_limit) {
    resources["cpu"]["period"] = 100000;
    resources["cpu"]["quota"] = std::max<int64_t>(1000, *res.cpu_limit * 100);
  }
  auto cpu_request = res.cpu_request ? res.cpu_request : res.cpu_limit;
  resources["cpu"]["shares"] = cpu_request ? std::max<int64_t>(2, *cpu_request * 1024 / 1000) : 2;

  // The sandbox's namespaces.
  Json ns = Json::array();
  if (m.pod.spec.share_process_namespace)
    ns.push_back({{"type", "pid"}, {"path", s.ns_path("pid")}});  // pause is its PID 1
  else
    ns.push_back({{"type", "pid"}});
  ns.push_back({{"type", "mount"}});
  ns.push_back({{"type", "cgroup"}});
  ns.push_back({{"type", "ipc"}, {"path", s.ns_path("ipc")}});
  if (!s.host_network) {
    ns.push_back({{"type", "network"}, {"path", s.ns_path("net")}});
    ns.push_back({{"type", "uts"}, {"path", s.ns_path("uts")}});
  }
  lx["namespaces"] = ns;
  spec.erase("hostname");
  if (s.host_network) {
    // The host's network: /sys as the host's would need a new netns; keep it read-only.
  }

  std::string etc = pod_dir + "/etc";
  spec["mounts"].push_back(bind_mount("/etc/hosts", etc + "/hosts", false));
  spec["mounts"].push_back(bind_mount("/etc/hostname", etc + "/hostname", false));
  spec["mounts"].push_back(bind_mount("/etc/resolv.conf", etc + "/resolv.conf", false));

  for (const auto& vm : c.volume_mounts)
    for (const auto& v : m.pod.spec.volumes)
      if (v.name == vm.name)
        spec["mounts"].push_back(
            bind_mount(vm.mount_path, volume_source(v, pod_dir),
                       vm.read_only || v.kind == "configMap" || v.kind == "secret"));

  Json& ann = spec["annotations"];
  if (!ann.is_object()) ann = Json::object();
  ann["io.kubernetes.cri.container-type"] = "container";
  ann["io.kubernetes.cri.container-name"] = c.name;
  ann["io.kubernetes.pod.name"] = m.pod.name;
  ann["io.kubernetes.pod.namespace"] = m.pod.namespace_;
  ann["io.kubernetes.pod.uid"] = m.pod.uid;
  return ok();
}

Result<void> make_container_bundle(const NodeConfig& cfg, const Manifest& m, const Container& c,
                                   const Sandbox& s, const std::string& pod_dir,
                                   const std::string& dir, CreateFailure* failure,
                                   int* stop_signal) {
  auto store = image::Store::open(cfg.image_root);
  if (!store) {
    if (failure) *failure = {"ErrImagePull", store.error().what()};
    return std::move(store).error();
  }
  auto found = image::find_ref(*store, c.image, image::host_platform());
  if (!found) {
    // Pulling is the image service's job (not wired here yet): every policy needs the image in
    // the store.
    std::string msg =
        cat("image ", quote(c.image), " is not in the image store ", quote(cfg.image_root),
            " (import or pull it first): ", found.error().what());
    if (failure)
      *failure = {c.image_pull_policy == "Never" ? "ErrImageNeverPull" : "ErrImagePull", msg};
    return Error(msg);
  }
  auto snapshots = image::Snapshotter::open(cfg.snapshot_root);
  if (!snapshots) {
    if (failure) *failure = {"CreateContainerError", snapshots.error().what()};
    return std::move(snapshots).error();
  }
  image::BundleOptions o;
  o.image = c.image;
  o.dir = dir;
  o.durable = false;  // the bundle is remade at every start
  // With a command, Cmd is dropped and the args are rewritten below; an image with no
  // Entrypoint/Cmd must still produce a spec.
  if (!c.command.empty())
    o.spec.args = c.command;
  else if (!c.args.empty())
    o.spec.args = c.args;
  o.edit_spec = [&](Json& spec) -> Result<void> {
    // The image's StopSignal (image-spec config), kept by the conversion as an annotation: read
    // here, not from config.json once written.
    if (stop_signal) {
      std::string named = api::str_at(spec, {"annotations", image::kStopSignalAnnotation});
      auto sig = named.empty() ? Result<int>(SIGTERM) : runtime::parse_signal(named);
      *stop_signal = sig ? *sig : SIGTERM;
    }
    TRY(apply_container_settings(spec, m, c, s, pod_dir, failure));
    // Beneath the pod cgroup, one per attempt (the bundle's name: <container>-<restart>).
    if (!s.cgroup.empty())
      spec["linux"]["cgroupsPath"] = cat(s.cgroup, '/', dir.substr(dir.rfind('/') + 1));
    return ok();
  };
  auto made = image::create_bundle(*store, *snapshots, o);
  if (!made) {
    // apply_container_settings names its own reasons (CreateContainerConfigError, …).
    if (failure && failure->reason.empty())
      *failure = {"CreateContainerError", made.error().what()};
    return std::move(made).error();
  }
  return ok();
}

namespace {

// Every layer of the container's image is unpacked already (and overlayfs is there): the bundle is
// a mount and a few small files, nothing that needs an address space of its own. Unpacking
// (libarchive, libcrypto, worker threads) is what the child keeps out of the long-lived shim.
bool layers_unpacked(const NodeConfig& cfg, const Container& c) {
  if (!image::overlay_available()) return false;
  auto store = image::Store::open(cfg.image_root);
  if (!store) return false;
  auto img = image::resolve_image(*store, c.image, image::host_platform());
  if (!img || img->manifest.layers.empty()) return false;
  auto snapshots = image::Snapshotter::open(cfg.snapshot_root);
  if (!snapshots) return false;
  for (const auto& id : img->chain_ids)
    if (!snapshots->has_layer(id)) return false;
  return true;
}

}  // namespace

Result<void> make_container_bundle_in_child(const NodeConfig& cfg, const Manifest& m,
                                            const Container& c, const Sandbox& s,
                                            const std::string& pod_dir, const std::string& dir,
                                            CreateFailure* failure, int* stop_signal) {
  // In this process when nothing is to be unpacked (a fork, the child's copy-on-write faults and
  // its exit were ~3 ms of CPU per container start); the parses' freed memory goes back at once.
  if (layers_unpacked(cfg, c)) {
    auto made = make_container_bundle(cfg, m, c, s, pod_dir, dir, failure, stop_signal);
    malloc_trim(0);
    return made;
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  pid_t pid = fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    rd.reset();
    CreateFailure f;
    int stop = SIGTERM;
    auto r = make_container_bundle(cfg, m, c, s, pod_dir, dir, &f, &stop);
    Json out = {{"ok", r.ok()},
                {"reason", f.reason},
                {"message", r.ok() ? std::string() : r.error().what()},
                {"stopSignal", stop}};
    (void)write_all(wr.get(), out.dump());
    _exit(0);
  }
  wr.reset();
  auto text = read_fd(rd.get());
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  auto j = text ? parse_json(*text, "bundle result") : Result<Json>(text.error());
  if (!j || !j->is_object()) {
    if (failure) *failure = {"CreateContainerError", "making the bundle failed (child died)"};
    (void)remove_container_bundle(cfg, dir);
    return error("make the bundle of ", quote(c.name), ": the child process died");
  }
  if (j->value("ok", false)) {
    if (stop_signal) *stop_signal = j->value("stopSignal", SIGTERM);
    return ok();
  }
  if (failure) *failure = {j->value("reason", "CreateContainerError"), j->value("message", "")};
  return Error(j->value("message", std::string("make bundle failed")));
}

Result<void> remove_container_bundle(const NodeConfig& cfg, const std::string& dir) {
  if (!path_exists(dir)) return ok();
  return image::remove_bundle(dir, cfg.snapshot_root);
}

}  // namespace skiff::kubelet
