#include "kubelet/node/overlay.hpp"

#include <thread>

#include "api/meta.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/subprocess.hpp"

namespace skiff::kubelet::node {

using namespace std::chrono_literals;

namespace {

Result<std::string> skiff_net(const OverlayOptions& o, const std::vector<std::string>& args,
                              const std::string& stdin_data = "") {
  SubprocessOptions so;
  so.path = o.skiff_net;
  so.argv = {"skiff-net", "--state-dir", o.state_dir, "--ifname", o.ifname};
  so.argv.insert(so.argv.end(), args.begin(), args.end());
  so.stdin_data = stdin_data;
  so.timeout = 60s;
  auto r = TRY(run_subprocess(so));
  if (!r.exited_ok())
    return error("skiff-net ", join(args, " "), ": ", r.describe(), ": ",
                 std::string(trim(r.output)));
  return r.output;
}

}  // namespace

Json overlay_peers(const Json& node_list, const std::string& self) {
  Json peers = Json::array();
  for (const auto& n : node_list.value("items", Json::array())) {
    if (api::str_at(n, {"metadata", "name"}) == self) continue;
    std::string key = api::str_at(n, {"metadata", "annotations", kWgKeyAnnotation});
    std::string endpoint = api::str_at(n, {"metadata", "annotations", kWgEndpointAnnotation});
    std::string cidr = api::str_at(n, {"spec", "podCIDR"});
    if (key.empty() || endpoint.empty() || cidr.empty()) continue;
    peers.push_back({{"publicKey", key}, {"endpoint", endpoint}, {"podCIDR", cidr}});
  }
  std::sort(peers.begin(), peers.end(),
            [](const Json& a, const Json& b) { return a["podCIDR"] < b["podCIDR"]; });
  return Json{{"peers", peers}};
}

void NodeSet::reset(Json list) {
  by_name_.clear();
  for (auto& n : list["items"]) {
    // The name first: Json's operator= takes its argument by value, made before the left side.
    std::string name = api::str_at(n, {"metadata", "name"});
    by_name_[name] = std::move(n);
  }
}

void NodeSet::apply(const std::string& type, const Json& node) {
  std::string name = api::str_at(node, {"metadata", "name"});
  if (type == "DELETED")
    by_name_.erase(name);
  else if (type == "ADDED" || type == "MODIFIED")
    by_name_[name] = node;
}

Json NodeSet::list() const {
  Json list = {{"items", Json::array()}};
  for (const auto& [_, n] : by_name_) list["items"].push_back(n);
  return list;
}

Json overlay_conflist(const OverlayOptions& o, const std::string& pod_cidr, int mtu) {
  Json ipam = {{"type", "skiff-ipam"}, {"ranges", {{{{"subnet", pod_cidr}}}}}};
  // The node's own lease directory: host-local's default (/var/lib/cni/networks) would be shared
  // by every node on the host, and an ADD reads every lease in it.
  if (!o.cni_data_dir.empty()) ipam["dataDir"] = o.cni_data_dir;
  // ipMasq off: `skiff-net up --cluster-cidr` masquerades the whole pod CIDR once, instead of an
  // nft transaction (libnftables loaded, rules listed) in every pod's ADD and DEL.
  Json bridge = {{"type", "skiff-bridge"},   {"bridge", "skbr0"}, {"isGateway", true},
                 {"isDefaultGateway", true}, {"ipMasq", false},   {"ipam", ipam}};
  if (mtu > 0) bridge["mtu"] = mtu;
  return {{"cniVersion", "1.1.0"}, {"name", "skiff"}, {"plugins", {bridge}}};
}

void run_overlay(ApiClient& api, const OverlayOptions& o, const Sleeper& sleep_unless_stopped,
                 std::atomic<bool>& ready, const std::atomic<bool>* stop) {
  std::string node_path = "/api/v1/nodes/" + o.node_name;
  // 1. The pod CIDR the master allocates.
  std::string cidr;
  while (cidr.empty()) {
    if (auto n = api.get_json(node_path); n.ok()) cidr = api::str_at(*n, {"spec", "podCIDR"});
    if (cidr.empty() && !sleep_unless_stopped(500ms)) return;
  }
  // 2. WireGuard for it, the key published, the pods' network written.
  while (true) {
    std::vector<std::string> up_args = {"up", "--pod-cidr", cidr, "--listen-port",
                                        std::to_string(o.listen_port)};
    if (!o.cluster_cidr.empty()) up_args.insert(up_args.end(), {"--cluster-cidr", o.cluster_cidr});
    auto up = skiff_net(o, up_args);
    auto key = up.ok() ? skiff_net(o, {"pubkey"}) : Result<std::string>(up.error());
    if (key.ok()) {
      int mtu = 0;
      if (auto shown = skiff_net(o, {"show", "--format", "json"}); shown.ok()) {
        auto j = Json::parse(*shown, nullptr, false);
        if (j.is_object() && j.contains("mtu") && j["mtu"].is_number_integer()) mtu = j["mtu"];
      }
      Json patch = {{"metadata",
                     {{"annotations",
                       {{kWgKeyAnnotation, std::string(trim(*key))},
                        {kWgEndpointAnnotation, cat(o.node_ip, ":", o.listen_port)}}}}}};
      auto r = api.request("PATCH", node_path, patch.dump(), "application/merge-patch+json");
      Result<void> conf = mkdir_p(o.cni_conf_dir, 0755);
      if (conf.ok())
        conf = write_file_atomic(o.cni_conf_dir + "/10-skiff.conflist",
                                 overlay_conflist(o, cidr, mtu).dump(2) + "\n", 0644);
      if (r.ok() && r->status == 200 && conf.ok()) break;
      log::warn("overlay: publish the key or write the CNI network: ",
                !r.ok()            ? r.error().what()
                : r->status != 200 ? cat("HTTP ", r->status, ": ", r->message())
                                   : conf.error().what());
    } else {
      log::warn("overlay: ", key.error().what());
    }
    if (!sleep_unless_stopped(2s)) return;
  }
  ready = true;
  log::info("overlay: ", o.ifname, " up for ", cidr);
  // 3. The mesh: every other node's key, endpoint and pod CIDR — a list, then a watch of the
  // Nodes from its resourceVersion (again from a list after 410 Gone, an error, or a failed
  // apply, 2 s later). Only a change of the peers is applied.
  Json applied;
  auto apply = [&](const Json& nodes) {
    Json peers = overlay_peers(nodes, o.node_name);
    if (peers == applied) return true;
    auto r = skiff_net(o, {"peers", "apply", "-"}, peers.dump());
    if (!r.ok()) {
      log::warn("overlay: ", r.error().what());
      return false;
    }
    applied = peers;
    log::info("overlay: ", peers["peers"].size(), " peer(s)");
    return true;
  };
  do {
    auto nodes = api.get_json("/api/v1/nodes");
    if (!nodes.ok()) {
      log::warn("overlay: list nodes: ", nodes.error().what());
      continue;
    }
    if (!apply(*nodes)) continue;
    std::string rv = api::str_at(*nodes, {"metadata", "resourceVersion"});
    NodeSet nodes_now;
    nodes_now.reset(std::move(*nodes));
    bool relist = false;
    while (!relist && !(stop && *stop)) {
      auto streamed = api.stream_lines(
          cat("/api/v1/nodes?watch=true&allowWatchBookmarks=true&timeoutSeconds=300"
              "&resourceVersion=",
              rv),
          [&](std::string_view line) {
            auto ev = Json::parse(line, nullptr, false);
            if (!ev.is_object()) return true;
            std::string type = ev.value("type", "");
            const Json& obj = ev["object"];
            if (type == "ERROR") return !(relist = true);  // 410 Gone and the like
            if (std::string v = api::str_at(obj, {"metadata", "resourceVersion"}); !v.empty())
              rv = v;
            if (type == "BOOKMARK") return true;
            nodes_now.apply(type, obj);
            return !(relist = !apply(nodes_now.list()));
          },
          stop);
      if (!streamed) {
        if (streamed.error().code() != 410)
          log::warn("overlay: watch nodes: ", streamed.error().what());
        relist = true;
      }
    }
    if (stop && *stop) return;
  } while (sleep_unless_stopped(2s));
}

}  // namespace skiff::kubelet::node
