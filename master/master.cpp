#include "master/master.hpp"

#include <signal.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/base64.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "master/auth/auth.hpp"
#include "master/controllers/bootstrap_signer.hpp"
#include "master/controllers/csr_signer.hpp"
#include "master/controllers/garbage_collector.hpp"
#include "master/controllers/leader_election.hpp"
#include "master/controllers/node_lifecycle.hpp"
#include "master/controllers/workloads.hpp"
#include "master/pki/pki.hpp"
#include "master/registry/registry.hpp"
#include "master/scheduler/scheduler.hpp"
#include "master/server/api_handler.hpp"
#include "master/server/http_server.hpp"
#include "master/store/etcd_backend.hpp"
#include "master/store/sqlite_backend.hpp"
#include "master/store/store.hpp"

namespace skiff::master {

Result<std::pair<std::string, uint16_t>> parse_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return error("--listen ", quote(listen), ": expected ADDR:PORT");
  std::string addr = listen.substr(0, colon);
  if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']')
    addr = addr.substr(1, addr.size() - 2);
  auto port = parse_int<uint16_t>(listen.substr(colon + 1));
  if (!port) return error("--listen ", quote(listen), ": invalid port");
  return std::make_pair(addr, *port);
}

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  static const std::pair<const char*, int64_t> kUnits[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
  for (const auto& [unit, ms] : kUnits) {
    std::string_view u(unit);
    if (text.size() > u.size() && text.compare(text.size() - u.size(), u.size(), u) == 0) {
      auto v = parse_int<int64_t>(std::string_view(text).substr(0, text.size() - u.size()));
      if (!v || *v < 0) return std::nullopt;
      if (u == "s" && text.size() > 2 && text[text.size() - 2] == 'm') continue;
      return std::chrono::milliseconds(*v * ms);
    }
  }
  return std::nullopt;
}

Result<void> run_master(const MasterOptions& o) {
  auto [addr, port] = TRY(parse_listen(o.listen));
  if (o.store != "sqlite" && o.store != "etcd")
    return error("--store ", quote(o.store), ": expected sqlite or etcd");
  std::vector<EtcdEndpoint> etcd_endpoints;
  if (o.store == "etcd") etcd_endpoints = TRY(parse_etcd_endpoints(o.etcd_endpoints));
  TRY_CTX(mkdir_p(o.data_dir, 0700), "create the data directory");
  auto pki = TRY_CTX(ensure_pki(o.data_dir + "/pki", {addr}), "set up the PKI");

  // Block the signals before any thread starts, so only sigwait below receives them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<Backend> backend;
  if (o.store == "etcd") {
    // etcd may be starting alongside us (a cluster coming up): keep trying for a while.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      auto b = EtcdBackend::open(etcd_endpoints, o.etcd_prefix);
      if (b.ok()) {
        backend = std::move(*b);
        break;
      }
      if (std::chrono::steady_clock::now() > deadline)
        return std::move(b.error().wrap(cat("--etcd-endpoints ", quote(o.etcd_endpoints))));
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  } else
    backend = TRY(SqliteBackend::open(o.data_dir + "/state.db"));
  auto store = TRY(Store::open(std::move(backend)));
  RegistryOptions ropts;
  ropts.service_cidr = o.service_cidr;
  auto registry = TRY(Registry::create(*store, ropts));
  TRY_CTX(registry->bootstrap(), "bootstrap");
  Authenticator authn;
  authn.set_store(store.get());
  TRY(authn.load_token_file(o.token_file.empty() ? o.data_dir + "/tokens.csv" : o.token_file));
  ApiHandler handler(*registry, authn, VersionInfo{o.version, o.commit});
  handler.set_kubelet_client({o.data_dir + "/pki/admin.crt", o.data_dir + "/pki/admin.key"});

  HttpServerOptions sopts;
  sopts.address = addr;
  sopts.port = port;
  sopts.cert_file = pki.serving_cert;
  sopts.key_file = pki.serving_key;
  sopts.client_ca_file = pki.ca_cert;
  auto server = TRY(HttpServer::start(sopts, [&](HttpRequest& r) { return handler.handle(r); }));
  std::string host = addr.find(':') != std::string::npos ? "[" + addr + "]" : addr;
  std::string url = cat("https://", host == "0.0.0.0" ? "127.0.0.1" : host, ":", server->port());
  (void)write_file_atomic(o.data_dir + "/server-url", url + "\n", 0644, false);
  std::string ca_pem = TRY(read_file(pki.ca_cert));

  // The scheduler and the controllers, the CSR and bootstrap signers among them. With etcd
  // several masters share the store: they run in the one elected through the
  // kube-system/skiff-master Lease (cluster-info names the leader's URL); the others only serve
  // the API.
  struct Controllers {
    std::unique_ptr<GarbageCollector> gc;
    std::unique_ptr<Scheduler> scheduler;
    std::unique_ptr<WorkloadControllers> workloads;
    std::unique_ptr<NodeLifecycle> nodes;
    std::unique_ptr<CsrSigner> signer;
    std::unique_ptr<BootstrapSigner> bootstrap;
    void stop() {
      if (bootstrap) bootstrap->stop();
      if (signer) signer->stop();
      if (nodes) nodes->stop();
      if (workloads) workloads->stop();
      if (scheduler) scheduler->stop();
      if (gc) gc->stop();
    }
  };
  auto start_controllers = [&](Controllers& c) -> Result<void> {
    c.gc = std::make_unique<GarbageCollector>(*registry);
    TRY(c.gc->start());
    c.scheduler = std::make_unique<Scheduler>(*registry);
    TRY(c.scheduler->start());
    c.workloads = std::make_unique<WorkloadControllers>(*registry);
    TRY(c.workloads->start());
    NodeLifecycleOptions nopts;
    nopts.cluster_cidr = o.cluster_cidr;
    nopts.grace = o.node_grace;
    nopts.period = std::min<std::chrono::milliseconds>(nopts.period, o.node_grace / 4);
    c.nodes = TRY(NodeLifecycle::create(*registry, nopts));
    c.nodes->start();
    c.signer = std::make_unique<CsrSigner>(*registry, pki, o.signing_duration);
    TRY(c.signer->start());
    c.bootstrap = std::make_unique<BootstrapSigner>(*registry, ca_pem, url);
    TRY(c.bootstrap->start());
    return ok();
  };
  std::mutex controllers_mu;
  auto controllers = std::make_unique<Controllers>();
  std::unique_ptr<LeaderElector> elector;
  if (o.store == "etcd") {
    LeaderElectionOptions lopts;
    lopts.identity = persistent_identity(o.data_dir + "/leader-identity");
    lopts.lease_duration = o.leader_lease_duration;
    lopts.renew_deadline = o.leader_lease_duration * 2 / 3;
    lopts.retry_period = o.leader_lease_duration * 2 / 15;
    elector = std::make_unique<LeaderElector>(
        *registry, lopts,
        [&] {
          std::lock_guard lock(controllers_mu);
          if (auto r = start_controllers(*controllers); !r.ok()) {
            log::error("start the controllers: ", r.error().what());
            controllers->stop();
            controllers = std::make_unique<Controllers>();
          }
        },
        [&] {
          std::lock_guard lock(controllers_mu);
          controllers->stop();
          controllers = std::make_unique<Controllers>();
        });
    elector->start();
  } else {
    TRY(start_controllers(*controllers));
  }

  handler.set_ready(true);
  fprintf(stderr, "skiff-master: serving on %s\n", url.c_str());

  // Compaction, as kube-apiserver does it: every interval, forget the history up to the revision
  // seen at the previous tick (so a watch can always resume across one interval).
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread compactor([&] {
    int64_t previous = 0;
    std::unique_lock lock(stop_mu);
    while (!stop_cv.wait_for(lock, o.compaction_interval, [&] { return stopping; })) {
      if (previous > 0) {
        if (auto c = store->compact(previous); !c.ok())
          log::warn("compaction to revision ", previous, ": ", c.error().what());
      }
      previous = store->revision();
    }
  });

  int sig = 0;
  sigwait(&sigs, &sig);
  {
    std::lock_guard lock(stop_mu);
    stopping = true;
  }
  stop_cv.notify_all();
  compactor.join();
  fprintf(stderr, "skiff-master: %s, shutting down\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  handler.set_ready(false);
  server->stop(5000);
  if (elector) elector->stop();  // stops the controllers and releases the Lease
  {
    std::lock_guard lock(controllers_mu);
    controllers->stop();
  }
  store->shutdown();
  return ok();
}

Result<std::string> make_kubeconfig(const KubeconfigOptions& o) {
  std::string pki_dir = o.data_dir + "/pki";
  if (!path_exists(pki_dir + "/ca.crt"))
    return error("no PKI under ", quote(pki_dir),
                 ": start skiff-master with this --data-dir first");
  std::string server = o.server;
  if (server.empty()) {
    auto saved = read_file(o.data_dir + "/server-url");
    server = saved.ok() ? std::string(trim(*saved)) : "https://127.0.0.1:6443";
  }
  PkiFiles pki;
  pki.dir = pki_dir;
  pki.ca_cert = pki_dir + "/ca.crt";
  pki.ca_key = pki_dir + "/ca.key";
  CertAndKey client;
  if (o.user == "admin" && o.groups.empty()) {
    client.cert_pem = TRY(read_file(pki_dir + "/admin.crt"));
    client.key_pem = TRY(read_file(pki_dir + "/admin.key"));
  } else {
    client = TRY(issue_client_cert(pki, o.user, o.groups, 365));
  }
  std::string ca = TRY(read_file(pki.ca_cert));
  return cat(
      "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: ",
      api::base64_encode(ca), "\n    server: ", server,
      "\n  name: skiff\ncontexts:\n- context:\n    cluster: skiff\n    user: ", o.user,
      "\n  name: skiff\ncurrent-context: skiff\npreferences: {}\nusers:\n- name: ", o.user,
      "\n  user:\n    client-certificate-data: ", api::base64_encode(client.cert_pem),
      "\n    client-key-data: ", api::base64_encode(client.key_pem), "\n");
}

}  // namespace skiff::master
