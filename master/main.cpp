// skiff-master: a Kubernetes control plane the real kubectl drives. Flags only; the work is in
// master.cpp.
#include <malloc.h>
#include <CLI/CLI.hpp>

#include <cstdio>

#include "common/log.hpp"
#include "master/join.hpp"
#include "master/master.hpp"

int main(int argc, char** argv) {
  using namespace skiff;
  // One thread per connection would otherwise get a malloc arena each: many arenas, much
  // fragmentation, RSS far above the live data.
  mallopt(M_ARENA_MAX, 2);
  CLI::App app{"skiff-master: a lightweight Kubernetes control plane"};
  app.set_version_flag("--version",
                       std::string("skiff-master ") + SKIFF_VERSION + " (" + SKIFF_COMMIT + ")");
  master::MasterOptions opts;
  opts.commit = SKIFF_COMMIT;
  bool debug = false;
  app.add_option("--data-dir", opts.data_dir, "state.db, pki/, tokens.csv")->capture_default_str();
  app.add_option("--listen", opts.listen, "ADDR:PORT to serve HTTPS on")->capture_default_str();
  app.add_option("--store", opts.store, "sqlite | etcd")
      ->capture_default_str()
      ->check(CLI::IsMember({"sqlite", "etcd"}));
  app.add_option("--etcd-endpoints", opts.etcd_endpoints,
                 "comma-separated etcd URLs (http://HOST:PORT), for --store etcd");
  app.add_option("--etcd-prefix", opts.etcd_prefix, "key prefix of this cluster in etcd")
      ->capture_default_str();
  std::string lease_duration = "15s";
  app.add_option("--leader-elect-lease-duration", lease_duration,
                 "with etcd: how long a silent leader keeps the controllers before another "
                 "master takes over")
      ->capture_default_str();
  app.add_option("--cluster-cidr", opts.cluster_cidr, "pod CIDR of the cluster")
      ->capture_default_str();
  app.add_option("--service-cidr", opts.service_cidr, "ClusterIP range")->capture_default_str();
  app.add_option("--token-auth-file", opts.token_file,
                 "static bearer tokens: token,user,uid,\"groups\"");
  std::string compaction = "5m";
  app.add_option("--compaction-interval", compaction,
                 "how often old revisions are compacted (e.g. 5m, 30s, 500ms)")
      ->capture_default_str();
  std::string node_grace = "40s";
  app.add_option("--node-monitor-grace-period", node_grace,
                 "a node whose Lease is older than this becomes unreachable")
      ->capture_default_str();
  std::string signing_duration = "8760h";
  app.add_option("--cluster-signing-duration", signing_duration,
                 "validity of the client certificates signed for CSRs (nodes rotate theirs at "
                 "70-90% of it)")
      ->capture_default_str();
  app.add_flag("--debug", debug, "debug logging");

  master::KubeconfigOptions kc;
  auto* kubeconfig =
      app.add_subcommand("kubeconfig", "print a kubeconfig with embedded certificates");
  kubeconfig->add_option("--data-dir", kc.data_dir, "the master's data directory")
      ->capture_default_str();
  kubeconfig->add_option("--server", kc.server,
                         "API server URL (default: where the master listens)");
  kubeconfig->add_option("--user", kc.user, "user name (CN of the client certificate)")
      ->capture_default_str();
  kubeconfig->add_option("--group", kc.groups, "groups (O of the client certificate)");

  auto* token =
      app.add_subcommand("token", "bootstrap tokens for joining nodes (kubeadm's scheme)");
  token->require_subcommand(1);
  std::string token_dir = "/var/lib/skiff-master", ttl = "24h", token_id;
  auto* token_create = token->add_subcommand("create", "create a token and print the join command");
  token_create->add_option("--data-dir", token_dir, "the master's data directory")
      ->capture_default_str();
  token_create->add_option("--ttl", ttl, "validity (e.g. 24h; 0 = never expires)")
      ->capture_default_str();
  auto* token_list = token->add_subcommand("list", "list tokens");
  token_list->add_option("--data-dir", token_dir, "the master's data directory")
      ->capture_default_str();
  auto* token_delete = token->add_subcommand("delete", "delete a token");
  token_delete->add_option("--data-dir", token_dir, "the master's data directory")
      ->capture_default_str();
  token_delete->add_option("token", token_id, "ID or ID.SECRET")->required();

  CLI11_PARSE(app, argc, argv);
  auto interval = master::parse_duration(compaction);
  if (!interval || interval->count() <= 0) {
    fprintf(stderr,
            "skiff-master: --compaction-interval %s: expected a duration like 5m, 30s or 500ms\n",
            compaction.c_str());
    return 2;
  }
  opts.compaction_interval = *interval;
  auto grace = master::parse_duration(node_grace);
  if (!grace || grace->count() <= 0) {
    fprintf(stderr, "skiff-master: --node-monitor-grace-period %s: expected a duration like 40s\n",
            node_grace.c_str());
    return 2;
  }
  opts.node_grace = *grace;
  auto signing = master::parse_duration(signing_duration);
  if (!signing || signing->count() < 10000) {
    fprintf(stderr,
            "skiff-master: --cluster-signing-duration %s: expected a duration of at least 10s\n",
            signing_duration.c_str());
    return 2;
  }
  opts.signing_duration = std::chrono::duration_cast<std::chrono::seconds>(*signing);
  auto lease = master::parse_duration(lease_duration);
  if (!lease || lease->count() < 1000) {
    fprintf(stderr,
            "skiff-master: --leader-elect-lease-duration %s: expected a duration of at least 1s\n",
            lease_duration.c_str());
    return 2;
  }
  opts.leader_lease_duration = *lease;
  if (opts.store == "etcd" && opts.etcd_endpoints.empty()) {
    fprintf(stderr, "skiff-master: --store etcd needs --etcd-endpoints http://HOST:PORT[,...]\n");
    return 2;
  }
  log::Options lo;
  lo.component = "skiff-master";
  lo.level = debug ? log::Level::kDebug : log::Level::kWarn;
  log::configure(lo);

  if (*token) {
    Result<std::string> out = error("no token command");
    if (*token_create) {
      auto d =
          ttl == "0" ? std::optional<std::chrono::milliseconds>(0) : master::parse_duration(ttl);
      if (!d) {
        fprintf(stderr, "skiff-master token create: --ttl %s: expected a duration like 24h\n",
                ttl.c_str());
        return 2;
      }
      out = master::token_create(token_dir, std::chrono::duration_cast<std::chrono::seconds>(*d));
    } else if (*token_list) {
      out = master::token_list(token_dir);
    } else {
      auto r = master::token_delete(token_dir, token_id);
      out = r.ok() ? Result<std::string>(std::string("bootstrap token deleted"))
                   : Result<std::string>(r.error());
    }
    if (!out.ok()) {
      fprintf(stderr, "skiff-master token: %s\n", out.error().what().c_str());
      return 1;
    }
    printf("%s\n", out->c_str());
    return 0;
  }
  if (*kubeconfig) {
    auto text = master::make_kubeconfig(kc);
    if (!text.ok()) {
      fprintf(stderr, "skiff-master kubeconfig: %s\n", text.error().what().c_str());
      return 1;
    }
    fputs(text->c_str(), stdout);
    return 0;
  }
  auto r = master::run_master(opts);
  if (!r.ok()) {
    fprintf(stderr, "skiff-master: %s\n", r.error().what().c_str());
    return 1;
  }
  return 0;
}
