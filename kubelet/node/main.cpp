// skiff-kubelet: the node agent. `join` makes the node a member of a skiff-master cluster
// (kubeadm's discovery and TLS bootstrap); `run` registers the Node, keeps its Lease and runs the
// pods the master assigns; `join --run` goes straight on.

#include <CLI/CLI.hpp>

#include <cstdio>

#include "common/log.hpp"
#include "kubelet/node/join.hpp"
#include "kubelet/node/kubelet.hpp"

namespace {

using namespace skiff;
using namespace skiff::kubelet::node;

void add_run_flags(CLI::App* app, KubeletOptions& o) {
  auto& n = o.node;
  if (const char* e = getenv("SKIFF_IMAGE_ROOT")) n.image_root = e;
  if (const char* e = getenv("SKIFF_SNAPSHOT_ROOT")) n.snapshot_root = e;
  app->add_option("--config", o.config_file, "KubeletConfiguration file (a subset)");
  app->add_option("--kubeconfig", o.kubeconfig,
                  "credentials (default <data dir>/credentials/kubeconfig)");
  app->add_option("--state-root", n.state_root, "pod state")->capture_default_str();
  app->add_option("--run-root", n.run_root, "shim sockets, runtime state")->capture_default_str();
  app->add_option("--log-root", n.log_root, "container logs")->capture_default_str();
  app->add_option("--image-root", n.image_root, "image store")->capture_default_str();
  app->add_option("--snapshot-root", n.snapshot_root, "layer snapshots")->capture_default_str();
  app->add_option("--cni-conf-dir", n.cni_conf_dir, "pod network configuration")
      ->capture_default_str();
  app->add_option("--cni-bin-dir", n.cni_bin_dirs, "CNI plugin directories (repeatable)");
  app->add_option("--cni-cache-dir", n.cni_cache_dir, "CNI result cache")->capture_default_str();
  app->add_option("--cni-data-dir", n.cni_data_dir, "IPAM leases")->capture_default_str();
  app->add_option("--pause-binary", n.pause_binary, "the sandbox's pause binary");
  app->add_option("--insecure-registry", n.insecure_registries,
                  "a registry (HOST[:PORT]) pulled from over plain HTTP (repeatable; loopback "
                  "always is)");
  app->add_option("--cgroup-parent", n.cgroup_parent,
                  "pod cgroups go under PARENT/[burstable|besteffort/]pod<uid>")
      ->capture_default_str();
  app->add_option("--skiff-pod", o.skiff_pod, "the skiff-pod binary (default: next to this one)");
  app->add_option("--max-pods", o.max_pods, "pods this node takes")->capture_default_str();
  app->add_option("--pod-manifest-path", o.static_pod_path,
                  "static pods: the Pod manifests in this directory (staticPodPath)");
  app->add_option("--port", o.port, "the kubelet API (HTTPS; 0: off)")->capture_default_str();
  app->add_flag("--overlay", o.overlay,
                "WireGuard overlay for the Node's spec.podCIDR (skiff-net), meshed with the "
                "other nodes; writes the pods' CNI network");
  app->add_option("--skiff-net", o.skiff_net, "the skiff-net binary (default: next to this one)");
  app->add_option("--wireguard-ifname", o.wireguard_ifname, "overlay device")
      ->capture_default_str();
  app->add_option("--wireguard-port", o.wireguard_port, "overlay UDP port")->capture_default_str();
  app->add_option("--cluster-cidr", o.cluster_cidr, "all pods' addresses (not masqueraded)")
      ->capture_default_str();
}

int main_impl(int argc, char** argv) {
  CLI::App app{"skiff-kubelet: the skiff node agent", "skiff-kubelet"};
  app.require_subcommand(1);
  JoinOptions jo;
  KubeletOptions ko;
  bool then_run = false, debug = false;
  std::string lease_ms, status_ms, config_refresh_ms;
  app.add_flag("--debug", debug, "debug logging");

  auto* join_cmd = app.add_subcommand("join", "join a cluster with a bootstrap token");
  join_cmd->add_option("server", jo.server, "https://MASTER:PORT")->required();
  join_cmd->add_option("--token", jo.token, "bootstrap token ID.SECRET")->required();
  join_cmd->add_option("--ca-cert-hash", jo.ca_cert_hash, "sha256:… of the CA public key")
      ->required();
  join_cmd->add_option("--node-name", jo.node_name, "default: the host name");
  join_cmd->add_option("--node-ip", ko.node_ip, "default: the address that reaches the master");
  join_cmd->add_option("--data-dir", jo.data_dir, "credentials and kubelet state")
      ->capture_default_str();
  join_cmd
      ->add_option_function<int>(
          "--discovery-timeout", [&](int s) { jo.discovery_timeout = std::chrono::seconds(s); },
          "seconds to keep trying a master that cannot be reached (default 60)")
      ->check(CLI::Range(1, 3600));
  join_cmd->add_flag("--run", then_run, "go on as `skiff-kubelet run`");
  add_run_flags(join_cmd, ko);

  auto* run_cmd = app.add_subcommand("run", "register the node and run its pods");
  run_cmd->add_option("--data-dir", ko.data_dir, "credentials and kubelet state")
      ->capture_default_str();
  run_cmd->add_option("--node-name", ko.node_name, "default: the name joined with");
  run_cmd->add_option("--node-ip", ko.node_ip, "default: the address that reaches the master");
  add_run_flags(run_cmd, ko);
  for (auto* c : {join_cmd, run_cmd}) {
    c->add_option("--lease-period-ms", lease_ms, "Lease renewal (tests)")->group("");
    c->add_option("--status-period-ms", status_ms, "node status check (tests)")->group("");
    c->add_option("--config-refresh-ms", config_refresh_ms,
                  "ConfigMap/Secret volumes refreshed (tests)")
        ->group("");
  }
  CLI11_PARSE(app, argc, argv);
  log::Options lo;
  lo.component = "skiff-kubelet";
  lo.level = debug ? log::Level::kDebug : log::Level::kInfo;
  log::configure(lo);

  auto fail = [](const Error& e) {
    fprintf(stderr, "skiff-kubelet: %s\n", e.what().c_str());
    return 1;
  };
  if (join_cmd->parsed()) {
    auto node = join(jo);
    if (!node) return fail(node.error());
    printf("node %s joined %s: credentials in %s\n", node->c_str(), jo.server.c_str(),
           credentials_dir(jo.data_dir).c_str());
    fflush(stdout);
    if (!then_run) return 0;
    ko.data_dir = jo.data_dir;
    ko.node_name = *node;
  }
  if (!ko.config_file.empty())
    if (auto r = load_kubelet_config(ko.config_file, ko); !r) return fail(r.error());
  if (auto v = parse_int<int64_t>(lease_ms); v && *v > 0)
    ko.lease_period = std::chrono::milliseconds(*v);
  if (auto v = parse_int<int64_t>(status_ms); v && *v > 0)
    ko.status_check = std::chrono::milliseconds(*v);
  if (auto v = parse_int<int64_t>(config_refresh_ms); v && *v > 0)
    ko.config_refresh = std::chrono::milliseconds(*v);
  auto r = run_kubelet(ko);
  if (!r) return fail(r.error());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return main_impl(argc, argv); }
