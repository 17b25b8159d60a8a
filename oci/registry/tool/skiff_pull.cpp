// skiff-pull: `skiff image pull`'s worker. A binary of its own so the `skiff` runtime never maps
// libssl or Boost (its start time is benchmarked against crun); `skiff image pull` execs it.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "common/json_util.hpp"
#include "common/log.hpp"
#include "oci/registry/progress.hpp"
#include "oci/registry/pull.hpp"

namespace {

using namespace skiff;

struct Flags {
  std::string root = image::kDefaultImageRoot;
  std::string platform;
  std::string reference;
  std::string creds;
  std::string auth_file;
  std::string ca_file;
  std::string format = "table";
  bool insecure = false;
  bool tls_verify = true;
  bool quiet = false;
  bool debug = false;
  int jobs = 4;
  int retries = 4;
};

Result<int> run(const Flags& f) {
  registry::PullOptions o;
  o.registry.insecure = f.insecure;
  o.registry.tls.ca_file = f.ca_file;
  o.registry.tls.verify = f.tls_verify;
  o.registry.auth_file = f.auth_file;
  o.registry.max_attempts = f.retries;
  if (!f.creds.empty()) o.registry.creds = TRY(registry::parse_creds(f.creds));
  if (!f.platform.empty()) o.platform = TRY(image::parse_platform(f.platform));
  o.jobs = f.jobs;
  o.progress = !f.quiet && f.format == "table" && ::isatty(STDERR_FILENO);
  auto store = TRY(image::Store::open(f.root));
  auto r = TRY(registry::pull_image(store, f.reference, o));
  if (f.format == "json") {
    Json j = {{"name", r.name},
              {"target", image::to_json(r.target)},
              {"manifest", r.manifest.str()},
              {"id", r.config.str()},
              {"blobBytes", r.blob_bytes},
              {"blobsFetched", r.blobs_fetched},
              {"blobsPresent", r.blobs_present},
              {"resumed", r.resumed}};
    std::cout << j.dump(2, ' ', false, Json::error_handler_t::replace) << std::endl;
  } else if (!f.quiet) {
    std::cout << "Pulled " << r.name << " (id " << r.config.short_hex() << ", " << r.blobs_fetched
              << " blobs fetched, " << registry::human_size(r.blob_bytes) << ", " << r.blobs_present
              << " already present)\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  CLI::App app{"skiff-pull: pull an image from an OCI registry into skiff's image store",
               "skiff-pull"};
  app.add_option("reference", f.reference, "IMAGE (busybox, localhost:5000/app:1.0, name@sha256:…)")
      ->required();
  app.add_option("--image-root", f.root, "image store directory")
      ->envname("SKIFF_IMAGE_ROOT")
      ->default_str(image::kDefaultImageRoot);
  app.add_option("--platform", f.platform, "OS/ARCH[/VARIANT] (default: this machine's)");
  app.add_flag("--insecure", f.insecure, "plain HTTP (a registry without TLS)");
  app.add_option("--creds", f.creds, "USERNAME:PASSWORD for the registry");
  app.add_option("--authfile", f.auth_file, "auth.json to read credentials from");
  app.add_option("--ca-file", f.ca_file, "PEM file of CA certificates to trust");
  app.add_flag("--tls-verify,!--no-tls-verify", f.tls_verify,
               "verify the registry's certificate (default true)")
      ->default_val(true);
  app.add_option("-j,--jobs", f.jobs, "layers fetched at once")->check(CLI::Range(1, 32));
  app.add_option("--retries", f.retries, "attempts per request on 5xx and connection errors")
      ->check(CLI::Range(1, 10));
  app.add_flag("-q,--quiet", f.quiet, "no progress and no summary");
  app.add_flag("--debug", f.debug, "debug logging");
  app.add_option("--format", f.format, "table or json")->check(CLI::IsMember({"table", "json"}));
  CLI11_PARSE(app, argc, argv);
  log::Options lo;
  lo.level = f.debug ? log::Level::kDebug : log::Level::kWarn;
  lo.component = "skiff-pull";
  log::configure(lo);
  auto status = run(f);
  if (!status) {
    log::error(status.error().what());
    return 1;
  }
  return *status;
}
