#include "kubelet/node/kubelet.hpp"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <set>
#include <thread>

#include "api/meta.hpp"
#include "api/yaml.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "kubelet/node/api_client.hpp"
#include "kubelet/node/cert_rotation.hpp"
#include "kubelet/node/credentials.hpp"
#include "kubelet/node/image_gc.hpp"
#include "kubelet/node/join.hpp"
#include "kubelet/node/kubelet_server.hpp"
#include "kubelet/node/node_info.hpp"
#include "kubelet/node/overlay.hpp"
#include "kubelet/node/pod_sync.hpp"
#include "kubelet/node/stats.hpp"

#ifndef SKIFF_BINARY_DIR
#define SKIFF_BINARY_DIR ""
#endif
#ifndef SKIFF_VERSION
#define SKIFF_VERSION "0.0.0"
#endif

namespace skiff::kubelet::node {

using namespace std::chrono_literals;

namespace {

std::string micro_time() {
  auto now = std::chrono::system_clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::string s = api::rfc3339(now);  // ...:SSZ
  char frac[16];
  snprintf(frac, sizeof frac, ".%06lldZ", static_cast<long long>(us % 1000000));
  return s.substr(0, s.size() - 1) + frac;
}

// Sleeps up to `d`; false once stopping.
class Stopper {
 public:
  bool sleep(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [&] { return stop_.load(); });
  }
  void stop() {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  const std::atomic<bool>& flag() const { return stop_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
};

Result<void> register_node(ApiClient& api, const KubeletOptions& o, const NodeFacts& facts) {
  Json node = {{"apiVersion", "v1"},
               {"kind", "Node"},
               {"metadata",
                {{"name", o.node_name},
                 {"labels",
                  {{"kubernetes.io/hostname", o.node_name},
                   {"kubernetes.io/os", "linux"},
                   {"kubernetes.io/arch", "amd64"},
                   {"beta.kubernetes.io/os", "linux"},
                   {"beta.kubernetes.io/arch", "amd64"}}}}},
               {"spec", Json::object()},
               {"status", node_status(facts, api::now_rfc3339())}};
  auto r = TRY(api.request("POST", "/api/v1/nodes", node.dump()));
  if (r.status == 201 || r.status == 409) return ok();  // 409: ours from an earlier run
  return error("register node ", quote(o.node_name), ": HTTP ", r.status, ": ", r.message());
}

Result<void> renew_lease(ApiClient& api, const std::string& node, const std::string& node_uid,
                         int duration_s) {
  std::string path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + node;
  auto got = TRY(api.request("GET", path));
  if (got.status == 404) {
    Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", node}, {"namespace", "kube-node-lease"}}},
                  {"spec",
                   {{"holderIdentity", node},
                    {"leaseDurationSeconds", duration_s},
                    {"renewTime", micro_time()}}}};
    if (!node_uid.empty())
      lease["metadata"]["ownerReferences"] = Json::array(
          {{{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node}, {"uid", node_uid}}});
    auto r = TRY(api.request(
        "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease.dump()));
    if (r.status != 201) return error("create lease: HTTP ", r.status, ": ", r.message());
    return ok();
  }
  if (got.status != 200) return error("get lease: HTTP ", got.status, ": ", got.message());
  Json lease = TRY(parse_json(got.body, "lease"));
  lease["spec"]["renewTime"] = micro_time();
  lease["spec"]["holderIdentity"] = node;
  auto r = TRY(api.request("PUT", path, lease.dump()));
  if (r.status != 200) return error("renew lease: HTTP ", r.status, ": ", r.message());
  return ok();
}

// List, then watch from the list's resourceVersion; again from a list after 410 Gone or an error.
void watch_pods(ApiClient& api, PodSync& pods, const std::string& node, Stopper& stopper) {
  std::string selector = query_escape("spec.nodeName=" + node);
  while (!stopper.flag()) {
    auto list = api.get_json("/api/v1/pods?fieldSelector=" + selector);
    if (!list) {
      log::warn("list pods: ", list.error().what());
      if (!stopper.sleep(2s)) return;
      continue;
    }
    std::vector<Json> items;
    for (auto& p : (*list)["items"]) items.push_back(std::move(p));
    pods.replace_all(std::move(items));
    std::string rv = api::str_at(*list, {"metadata", "resourceVersion"});
    while (!stopper.flag()) {
      bool gone = false;
      auto streamed = api.stream_lines(
          cat("/api/v1/pods?watch=true&allowWatchBookmarks=true&timeoutSeconds=300&fieldSelector=",
              selector, "&resourceVersion=", rv),
          [&](std::string_view line) {
            auto ev = Json::parse(line, nullptr, false);
            if (!ev.is_object()) return true;
            std::string type = ev.value("type", "");
            const Json& obj = ev["object"];
            if (type == "ERROR") {
              gone = obj.value("code", 0) == 410;
              return false;
            }
            if (std::string v = api::str_at(obj, {"metadata", "resourceVersion"}); !v.empty())
              rv = v;
            if (type != "BOOKMARK") pods.apply(type, obj);
            return true;
          },
          &stopper.flag());
      if (!streamed) {
        gone = gone || streamed.error().code() == 410;
        if (!gone) log::warn(streamed.error().what());
        if (!gone && !stopper.sleep(1s)) return;
        break;  // relist
      }
      if (gone) break;
    }
  }
}

std::optional<std::pair<std::string, std::string>> serve_stats(StatsProvider& stats,
                                                               const std::string& path) {
  if (path == "/stats/summary" || path == "/stats/summary/")
    return std::pair{std::string("application/json"), stats.summary().dump()};
  const std::string prom = "text/plain; version=0.0.4; charset=utf-8";
  if (path == "/metrics/resource") return std::pair{prom, stats.resource_metrics()};
  if (path == "/metrics") return std::pair{prom, stats.kubelet_metrics()};
  return std::nullopt;
}

// The pressure taints on the Node follow the conditions (the master has no taint-by-condition
// controller): only ours change, in one merge patch.
Result<void> update_pressure_taints(ApiClient& api, const std::string& node,
                                    const NodePressure& p) {
  Json current = TRY(api.get_json("/api/v1/nodes/" + node));
  const Json* taints = api::at_path(current, {"spec", "taints"});
  Json now = taints ? *taints : Json::array();
  Json want = pressure_taints(now, p);
  auto keys = [](const Json& list) {
    std::set<std::string> k;
    for (const auto& t : list) k.insert(t.value("key", "") + ":" + t.value("effect", ""));
    return k;
  };
  if (keys(now) == keys(want)) return ok();
  auto r =
      TRY(api.request("PATCH", "/api/v1/nodes/" + node, Json{{"spec", {{"taints", want}}}}.dump(),
                      "application/merge-patch+json"));
  if (r.status != 200) return error("node taints: HTTP ", r.status, ": ", r.message());
  return ok();
}

// Housekeeping: a statistics sample, image garbage collection, the eviction thresholds, the
// pressure taints.
void run_health(ApiClient& api, const KubeletOptions& o, StatsProvider& stats,
                EvictionManager& eviction, PodSync& pods, Stopper& stopper) {
  ImageGc gc({o.node, o.image_gc_high, o.image_gc_low,
              std::chrono::duration_cast<std::chrono::nanoseconds>(o.image_gc_min_age).count()});
  std::optional<NodePressure> tainted;
  do {
    stats.sample();
    if (auto r = gc.run_once(); !r) log::warn(r.error().what());
    Json list = pods.pod_list();  // kept: a range-for over list["items"] of a temporary dangles
    std::vector<Json> bound;
    for (auto& p : list["items"]) bound.push_back(std::move(p));
    eviction.synchronize(
        bound, [&](const std::string& uid, const std::string& message, int64_t grace_seconds) {
          return pods.evict(uid, message, grace_seconds);
        });
    NodePressure p = eviction.pressure();
    if (!tainted || !(*tainted == p)) {
      if (auto r = update_pressure_taints(api, o.node_name, p); !r)
        log::warn(r.error().what());
      else
        tainted = p;
    }
  } while (stopper.sleep(o.housekeeping));
}

}  // namespace

Result<void> load_kubelet_config(const std::string& path, KubeletOptions& o) {
  std::string text = TRY(read_file(path));
  auto doc = api::yaml_to_json(text);
  if (!doc) return doc.error().wrap(quote(path));
  if (!doc->is_object()) return error(quote(path), ": expected a KubeletConfiguration object");
  // `allow_zero`: "0s" is a valid value of this field (imageMinimumGCAge), not of the periods.
  auto dur = [&](const Json& v, const std::string& key,
                 bool allow_zero = false) -> Result<std::chrono::milliseconds> {
    // Go durations as the KubeletConfiguration writes them: "10s", "5m0s", "500ms" (and "0").
    std::string s = v.is_string() ? v.get<std::string>() : "";
    if (s == "0" && allow_zero) return std::chrono::milliseconds(0);
    int64_t total = 0;
    size_t i = 0;
    bool any = false;
    while (i < s.size()) {
      size_t j = i;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) j++;
      size_t k = j;
      while (k < s.size() && std::isalpha(static_cast<unsigned char>(s[k]))) k++;
      auto n = parse_int<int64_t>(std::string_view(s).substr(i, j - i));
      std::string unit = s.substr(j, k - j);
      int64_t ms = unit == "ms"  ? 1
                   : unit == "s" ? 1000
                   : unit == "m" ? 60000
                   : unit == "h" ? 3600000
                                 : 0;
      if (!n || ms == 0) return error(quote(path), ": ", key, ": invalid duration ", v.dump());
      total += *n * ms;
      any = true;
      i = k;
    }
    if (!any || total < 0 || (total == 0 && !allow_zero))
      return error(quote(path), ": ", key, ": invalid duration ", v.dump());
    return std::chrono::milliseconds(total);
  };
  for (const auto& [key, v] : doc->items()) {
    if (key == "apiVersion" || key == "kind") continue;
    if (key == "maxPods") {
      if (!v.is_number_integer() || v.get<int>() <= 0)
        return error(quote(path), ": maxPods: must be a positive integer");
      o.max_pods = v.get<int>();
    } else if (key == "systemReserved") {
      if (!v.is_object()) return error(quote(path), ": systemReserved: expected a map");
      for (const auto& [res, q] : v.items()) {
        auto milli = q.is_string() ? api::parse_quantity_milli(q.get<std::string>()) : std::nullopt;
        if (!milli || *milli < 0)
          return error(quote(path), ": systemReserved.", res, ": invalid quantity ", q.dump());
        if (res == "cpu")
          o.reserved_cpu_milli = *milli;
        else if (res == "memory")
          o.reserved_memory = *milli / 1000;
        else
          return error(quote(path), ": systemReserved.", res, ": only cpu and memory");
      }
    } else if (key == "staticPodPath") {
      if (!v.is_string()) return error(quote(path), ": staticPodPath: expected a string");
      o.static_pod_path = v.get<std::string>();
    } else if (key == "nodeStatusUpdateFrequency") {
      o.status_check = TRY(dur(v, key));
    } else if (key == "nodeStatusReportFrequency") {
      o.status_period = TRY(dur(v, key));
    } else if (key == "nodeLeaseRenewInterval") {  // skiff: the renew interval itself
      o.lease_period = TRY(dur(v, key));
    } else if (key == "rotateCertificates") {
      if (!v.is_boolean())
        return error(quote(path), ": rotateCertificates: expected true or false");
      o.rotate_certificates = v.get<bool>();
    } else if (key == "evictionHard") {
      auto t = parse_eviction_hard(v);
      if (!t) return t.error().wrap(quote(path));
      o.eviction_hard = std::move(*t);
    } else if (key == "evictionSoft") {
      auto t = parse_eviction_thresholds("evictionSoft", v);
      if (!t) return t.error().wrap(quote(path));
      o.eviction_soft = std::move(*t);
    } else if (key == "evictionSoftGracePeriod") {
      if (!v.is_object())
        return error(quote(path), ": evictionSoftGracePeriod: expected a map of signal: duration");
      o.eviction_soft_grace.clear();
      for (const auto& [signal, g] : v.items())
        o.eviction_soft_grace[signal] = TRY(dur(g, "evictionSoftGracePeriod." + signal));
    } else if (key == "evictionMaxPodGracePeriod") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0)
        return error(quote(path), ": evictionMaxPodGracePeriod: expected seconds (0 or more)");
      o.eviction_max_pod_grace = v.get<int64_t>();
    } else if (key == "evictionPressureTransitionPeriod") {
      o.eviction_transition = TRY(dur(v, key));
    } else if (key == "housekeepingInterval") {  // skiff: the kubelet's --housekeeping-interval
      o.housekeeping = TRY(dur(v, key));
    } else if (key == "imageMinimumGCAge") {  // "0s": any unused image may go
      o.image_gc_min_age = TRY(dur(v, key, true));
    } else if (key == "imageGCHighThresholdPercent" || key == "imageGCLowThresholdPercent") {
      if (!v.is_number_integer() || v.get<int>() < 0 || v.get<int>() > 100)
        return error(quote(path), ": ", key, ": must be an integer from 0 to 100");
      (key == "imageGCHighThresholdPercent" ? o.image_gc_high : o.image_gc_low) = v.get<int>();
    } else {
      return error(quote(path), ": ", key, ": unknown or unsupported field");
    }
  }
  // As the kubelet: every soft threshold needs its grace period, and a grace period its threshold.
  for (const auto& t : o.eviction_soft)
    if (!o.eviction_soft_grace.count(t.signal))
      return error(quote(path), ": evictionSoft.", t.signal,
                   ": no grace period for it in evictionSoftGracePeriod");
  for (const auto& [signal, g] : o.eviction_soft_grace)
    if (std::none_of(o.eviction_soft.begin(), o.eviction_soft.end(),
                     [&](const Threshold& t) { return t.signal == signal; }))
      return error(quote(path), ": evictionSoftGracePeriod.", signal,
                   ": no soft threshold for it in evictionSoft");
  if (o.image_gc_low > o.image_gc_high)
    return error(quote(path), ": imageGCLowThresholdPercent (", o.image_gc_low,
                 ") must not exceed imageGCHighThresholdPercent (", o.image_gc_high, ")");
  return ok();
}

Result<void> run_kubelet(KubeletOptions o) {
  if (o.kubeconfig.empty()) o.kubeconfig = kubeconfig_path(o.data_dir);
  auto kc = TRY_CTX(load_kubeconfig(o.kubeconfig),
                    "the kubelet's kubeconfig (run `skiff-kubelet join` first)");
  if (o.node_name.empty()) {
    auto saved = read_file(credentials_dir(o.data_dir) + "/node-name");
    if (saved) o.node_name = std::string(trim(*saved));
  }
  if (o.node_name.empty()) o.node_name = default_node_name();
  if (o.node_name.empty()) return error("--node-name: required");
  if (o.skiff_pod.empty())
    o.skiff_pod = find_helper_binary("skiff-pod", cat(SKIFF_BINARY_DIR, "/kubelet/skiff-pod"));
  if (o.skiff_pod.empty()) return error("skiff-pod not found next to skiff-kubelet");
  // The kubelet starts pods itself (PodSync::start_pod): the shim and the helpers skiff-pod would
  // use are found as skiff-pod finds them, next to it or in the build tree.
  auto next_to_skiff_pod = [&](const char* name, const std::string& build_path) {
    return find_helper_binary(name, cat(SKIFF_BINARY_DIR, build_path), o.skiff_pod);
  };
  std::string shim = next_to_skiff_pod("skiff-shim", "/kubelet/skiff-shim");
  if (shim.empty()) return error("skiff-shim not found next to ", quote(o.skiff_pod));
  NodeConfig pod_node = o.node;
  if (pod_node.pause_binary.empty())
    pod_node.pause_binary = next_to_skiff_pod("skiff-pause", "/kubelet/skiff-pause");
  if (pod_node.pull_binary.empty())
    pod_node.pull_binary = next_to_skiff_pod("skiff-pull", "/runtime/skiff-pull");
  if (pod_node.cni_bin_dirs.empty())
    pod_node.cni_bin_dirs = default_cni_plugin_dirs(o.skiff_pod, SKIFF_BINARY_DIR);
  ClientConfig cc{kc.server, kc.ca_pem, false, kc.cert_pem, kc.key_pem, "", 30s};
  auto main_api = TRY(ApiClient::create(cc));
  auto lease_api = TRY(ApiClient::create(cc));
  auto watch_api = TRY(ApiClient::create(cc));
  auto overlay_api = TRY(ApiClient::create(cc));
  if (o.overlay && o.skiff_net.empty())
    o.skiff_net = find_helper_binary("skiff-net", cat(SKIFF_BINARY_DIR, "/cni/skiff-net"));
  if (o.overlay && o.skiff_net.empty()) return error("--overlay: skiff-net not found");
  if (o.node_ip.empty()) {
    std::string host = kc.server.substr(8);
    host = host.substr(0, host.rfind(':'));
    o.node_ip = source_address_for(host);
  }

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  NodeFacts facts;
  facts.name = o.node_name;
  facts.ip = o.node_ip;
  facts.storage_dir = o.node.state_root;
  TRY(mkdir_p(o.node.state_root, 0700));
  facts.max_pods = o.max_pods;
  facts.reserved_cpu_milli = o.reserved_cpu_milli;
  facts.reserved_memory = o.reserved_memory;
  facts.version = SKIFF_VERSION;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  facts.hostname = host;
  TRY(register_node(*main_api, o, facts));
  std::string node_uid;
  if (auto n = main_api->get_json("/api/v1/nodes/" + o.node_name))
    node_uid = api::str_at(*n, {"metadata", "uid"});
  fprintf(stderr, "skiff-kubelet: node %s (%s) registered with %s\n", o.node_name.c_str(),
          o.node_ip.c_str(), kc.server.c_str());

  StatsProvider stats({o.node, o.node_name});
  EvictionManager eviction(stats, {o.eviction_hard, o.eviction_transition, o.eviction_soft,
                                   o.eviction_soft_grace, o.eviction_max_pod_grace});
  auto health_api = TRY(ApiClient::create(cc));
  auto rotation_api = TRY(ApiClient::create(cc));
  Stopper stopper;
  std::thread lease([&] {
    do {
      if (auto r = renew_lease(*lease_api, o.node_name, node_uid, 40); !r)
        log::warn("lease: ", r.error().what());
    } while (stopper.sleep(o.lease_period));
  });
  std::thread status([&] {
    Json last;
    auto last_sent = std::chrono::steady_clock::time_point{};
    do {
      Json s = node_status(facts, api::now_rfc3339(), eviction.pressure());
      Json fp = status_fingerprint(s);
      auto now = std::chrono::steady_clock::now();
      bool stale = fp != last || now - last_sent >= o.status_period;
      if (!stale) {
        // The master may have changed what we own (the node lifecycle controller marks a node
        // whose Lease lapsed Ready=Unknown): compare with the stored Node, as the kubelet does.
        auto current = main_api->get_json("/api/v1/nodes/" + o.node_name);
        if (current.ok()) {
          Json theirs = Json::object();
          for (const auto& [key, value] : s.items())
            if (const Json* v = api::at_path(*current, {"status", key.c_str()})) theirs[key] = *v;
          stale = status_fingerprint(theirs) != fp;
        }
      }
      if (!stale) continue;
      auto r = main_api->request("PATCH", "/api/v1/nodes/" + o.node_name + "/status",
                                 Json{{"status", s}}.dump(), "application/merge-patch+json");
      if (!r)
        log::warn("node status: ", r.error().what());
      else if (r->status != 200)
        log::warn("node status: HTTP ", r->status, ": ", r->message());
      else {
        last = fp;
        last_sent = now;
      }
    } while (stopper.sleep(o.status_check));
  });
  PodSyncOptions po;
  po.node = pod_node;
  po.skiff_pod = o.skiff_pod;
  po.shim = shim;
  po.node_name = o.node_name;
  po.node_ip = o.node_ip;
  po.allocatable = Allocatable::from_json(node_status(facts, api::now_rfc3339())["allocatable"]);
  po.config_refresh = o.config_refresh;
  po.static_pod_path = o.static_pod_path;
  std::atomic<bool> network_ready{false};
  if (o.overlay) po.network_ready = &network_ready;
  auto pods = std::make_unique<PodSync>(*main_api, po);
  std::unique_ptr<KubeletServer> api_server;
  if (o.port > 0) {
    KubeletServerOptions so;
    so.port = o.port;
    so.ca_pem = kc.ca_pem;
    so.node_name = o.node_name;
    so.node_ip = o.node_ip;
    so.pods = [&] { return pods->pod_list(); };
    so.logs = [&](const std::string& ns, const std::string& pod, const std::string& c,
                  bool previous) { return pods->logs(ns, pod, c, previous); };
    so.node_stats = [&](const std::string& path) { return serve_stats(stats, path); };
    so.node = o.node;  // exec, port-forward, logs -f: skiff-pod on the node's roots
    so.skiff_pod = o.skiff_pod;
    auto started = KubeletServer::start(so);
    if (!started) {
      stopper.stop();
      lease.join();
      status.join();
      return started.error().wrap("the kubelet API");
    }
    api_server = std::move(*started);
  }
  std::thread watcher([&] { watch_pods(*watch_api, *pods, o.node_name, stopper); });
  std::thread syncer([&] { pods->run(stopper.flag()); });
  std::thread health([&] { run_health(*health_api, o, stats, eviction, *pods, stopper); });
  std::thread rotation;
  // The credentials join wrote are renewed before they expire (a --kubeconfig of the user's is
  // left alone).
  if (o.rotate_certificates && !kc.cert_pem.empty() &&
      o.kubeconfig == kubeconfig_path(o.data_dir)) {
    rotation = std::thread([&, kc] {
      RotationOptions ro{o.node_name, o.kubeconfig, 30s};
      run_certificate_rotation(
          *rotation_api, ro, kc,
          [&](const Kubeconfig& k) {
            for (ApiClient* c : {main_api.get(), lease_api.get(), watch_api.get(),
                                 overlay_api.get(), health_api.get()})
              if (auto r = c->set_client_certificate(k.cert_pem, k.key_pem); !r)
                log::warn("certificate rotation: ", r.error().what());
          },
          [&](std::chrono::milliseconds d) { return stopper.sleep(d); });
    });
  }
  std::thread overlay;
  if (o.overlay) {
    OverlayOptions oo;
    oo.skiff_net = o.skiff_net;
    oo.state_dir = o.data_dir + "/wireguard";
    oo.ifname = o.wireguard_ifname;
    oo.listen_port = o.wireguard_port;
    oo.node_name = o.node_name;
    oo.node_ip = o.node_ip;
    oo.cni_conf_dir = o.node.cni_conf_dir;
    oo.cni_data_dir = o.node.cni_data_dir;
    oo.cluster_cidr = o.cluster_cidr;
    overlay = std::thread([&, oo] {
      run_overlay(
          *overlay_api, oo, [&](std::chrono::milliseconds d) { return stopper.sleep(d); },
          network_ready, &stopper.flag());
    });
  }

  int sig = 0;
  sigwait(&sigs, &sig);
  fprintf(stderr, "skiff-kubelet: %s, shutting down (pods keep running)\n",
          sig == SIGTERM ? "SIGTERM" : "SIGINT");
  stopper.stop();
  if (api_server) api_server->stop();
  pods->wake();
  lease.join();
  status.join();
  watcher.join();
  syncer.join();
  health.join();
  if (rotation.joinable()) rotation.join();
  if (overlay.joinable()) overlay.join();
  pods.reset();
  return ok();
}

}  // namespace skiff::kubelet::node
