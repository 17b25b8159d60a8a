// skiff-net: the node's WireGuard overlay by hand (`skiff net …` execs this binary), until the
// master hands out peers. Each verb is one call into cni/overlay/overlay.hpp.
//
//   skiff-net [--state-dir DIR] [--ifname NAME] [--backend auto|kernel|wireguard-go] VERB
//     up --pod-cidr CIDR [--cluster-cidr CIDR] [--listen-port N] [--mtu N | --underlay-mtu N]
//                                   with --cluster-cidr: pod traffic leaving it is masqueraded
//     peers apply FILE.json|-       the whole desired peer set; only differences are changed
//     show [--format text|json]
//     pubkey
//     down

#include <CLI/CLI.hpp>

#include <ctime>
#include <iostream>

#include "cni/overlay/overlay.hpp"

#ifndef SKIFF_VERSION
#define SKIFF_VERSION "unknown"
#endif

namespace skiff::cni::overlay {
namespace {

Result<Json> read_peer_file(const std::string& path) {
  if (path == "-") {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return parse_json(text, "peer set from stdin");
  }
  return read_json_file(path);
}

void print_text(const Status& s) {
  std::cout << "interface: " << s.ifname << " (" << s.backend << ")\n"
            << "  public key: " << s.public_key.base64() << "\n"
            << "  listening port: " << s.device.listen_port << "\n"
            << "  mtu: " << s.mtu << "\n";
  if (s.pod_cidr) std::cout << "  pod cidr: " << s.pod_cidr->str() << "\n";
  for (const auto& p : s.device.peers) {
    std::cout << "\npeer: " << p.public_key.base64() << "\n";
    if (p.endpoint) std::cout << "  endpoint: " << p.endpoint->str() << "\n";
    std::vector<std::string> ips;
    for (const auto& n : p.allowed_ips) ips.push_back(n.str());
    std::cout << "  allowed ips: " << join(ips, ", ") << "\n";
    if (p.last_handshake_sec)
      std::cout << "  latest handshake: " << (time(nullptr) - p.last_handshake_sec)
                << " seconds ago\n";
    std::cout << "  transfer: " << p.rx_bytes << " B received, " << p.tx_bytes << " B sent\n";
    if (p.persistent_keepalive)
      std::cout << "  persistent keepalive: every " << p.persistent_keepalive << " seconds\n";
  }
  std::vector<std::string> routes;
  for (const auto& r : s.routes) routes.push_back(r.str());
  std::cout << "\nroutes: " << (routes.empty() ? "(none)" : join(routes, ", ")) << "\n";
}

int run(int argc, char** argv) {
  CLI::App app{"skiff-net: the node's WireGuard overlay", "skiff net"};
  app.require_subcommand(1);
  app.fallthrough();  // --state-dir and friends also after the verb
  OverlayOptions o;
  app.add_option("--state-dir", o.state_dir, "key and state directory")
      ->default_str(kDefaultStateDir);
  app.add_option("--ifname", o.ifname, "WireGuard interface name")->default_str(kDefaultIfname);
  app.add_option("--backend", o.backend, "auto, kernel or wireguard-go")
      ->check(CLI::IsMember({"auto", "kernel", "wireguard-go"}));
  app.add_option("--wireguard-go", o.wireguard_go, "the wireguard-go program");
  app.add_flag_callback("--version", [] {
    std::cout << "skiff-net " SKIFF_VERSION "\n";
    exit(0);
  });

  std::string pod_cidr, cluster_cidr;
  uint16_t listen_port = 0;
  unsigned mtu = 0, underlay_mtu = 0;
  auto* up = app.add_subcommand("up", "create or recover the WireGuard device");
  up->add_option("--pod-cidr", pod_cidr, "this node's pod CIDR (peers may not overlap it)");
  up->add_option("--cluster-cidr", cluster_cidr,
                 "all pods' addresses: traffic from the pod CIDR to elsewhere is masqueraded "
                 "(one nftables rule for the node; kept for later `up`s, removed by `down`)");
  up->add_option("--listen-port", listen_port, "UDP port")->check(CLI::Range(1, 65535));
  up->add_option("--mtu", mtu, "device MTU (default: underlay MTU - 80)")
      ->check(CLI::Range(1280, 65535));
  up->add_option("--underlay-mtu", underlay_mtu, "underlay MTU (default: the default route's)")
      ->check(CLI::Range(1280, 65535));

  std::string peer_file;
  auto* peers = app.add_subcommand("peers", "manage the peer set");
  peers->require_subcommand(1);
  peers->fallthrough();
  auto* apply = peers->add_subcommand("apply", "make the peers exactly those in FILE (JSON)");
  apply->add_option("file", peer_file, "peer set JSON, or - for stdin")->required();

  std::string format = "text";
  auto* show = app.add_subcommand("show", "the device, its peers and routes");
  show->add_option("--format", format, "text or json")->check(CLI::IsMember({"text", "json"}));
  auto* pubkey = app.add_subcommand("pubkey", "print the node's public key (base64)");
  auto* down = app.add_subcommand("down", "remove the device and its routes (the key stays)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  auto fail = [](const Error& e) {
    std::cerr << "skiff net: " << e.what() << std::endl;
    return 1;
  };
  if (!pod_cidr.empty()) {
    auto net = IpNet::parse(pod_cidr);
    if (!net) return fail(Error(cat("--pod-cidr: ", quote(pod_cidr), " is not a CIDR"), EINVAL));
    o.pod_cidr = net->network();
  }
  if (!cluster_cidr.empty()) {
    auto net = IpNet::parse(cluster_cidr);
    if (!net)
      return fail(Error(cat("--cluster-cidr: ", quote(cluster_cidr), " is not a CIDR"), EINVAL));
    o.cluster_cidr = net->network();
  }
  if (listen_port) o.listen_port = listen_port;
  if (mtu) o.mtu = mtu;
  if (underlay_mtu) o.underlay_mtu = underlay_mtu;

  auto overlay = Overlay::open(o);
  if (!overlay) return fail(overlay.error());

  if (up->parsed()) {
    auto r = overlay->up();
    if (!r) return fail(r.error());
    std::cout << o.ifname << ": up (" << r->backend << "), mtu " << r->mtu << ", public key "
              << r->public_key.base64() << (r->created ? ", created" : "")
              << (r->peers_restored ? cat(", ", r->peers_restored, " peers restored") : "")
              << (r->masquerade ? cat(", masquerading ", overlay->options().pod_cidr->str(),
                                      " beyond ", overlay->options().cluster_cidr->str())
                                : "")
              << std::endl;
  } else if (apply->parsed()) {
    auto doc = read_peer_file(peer_file);
    if (!doc) return fail(doc.error());
    auto set = parse_peers(*doc, std::nullopt);
    if (!set) return fail(set.error().wrap(quote(peer_file)));
    auto r = overlay->apply(*set);
    if (!r) return fail(r.error());
    std::cout << "peers: " << r->added << " added, " << r->updated << " updated, " << r->removed
              << " removed, " << r->unchanged << " unchanged; routes: " << r->routes_added
              << " added, " << r->routes_removed << " removed" << std::endl;
  } else if (show->parsed()) {
    auto s = overlay->status();
    if (!s) return fail(s.error());
    if (format == "json")
      std::cout << to_json(*s).dump(2) << std::endl;
    else
      print_text(*s);
  } else if (pubkey->parsed()) {
    auto k = overlay->public_key();
    if (!k) return fail(k.error());
    std::cout << k->base64() << std::endl;
  } else if (down->parsed()) {
    auto r = overlay->down();
    if (!r) return fail(r.error());
    std::cout << o.ifname << (*r ? ": removed" : ": was not up") << std::endl;
  }
  return 0;
}

}  // namespace
}  // namespace skiff::cni::overlay

int main(int argc, char** argv) {
  try {
    return skiff::cni::overlay::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "skiff net: " << e.what() << std::endl;
    return 1;
  }
}
