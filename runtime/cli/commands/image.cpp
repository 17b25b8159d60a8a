// `skiff image pull|import|ls|inspect|rm|prune`: the local image store. Tables for people,
// `--format json` for scripts. Each subcommand calls one function of skiff_image; `pull` execs
// skiff-pull, so this binary never loads libssl or Boost (see oci/registry/CMakeLists.txt).

#include <unistd.h>

#include "common/log.hpp"
#include "oci/image/gc.hpp"
#include "oci/image/images.hpp"
#include "oci/image/import.hpp"
#include "oci/image/platform.hpp"
#include "oci/image/reference.hpp"
#include "oci/image/snapshots.hpp"
#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {
namespace {

// docker's sizes: decimal units, three significant digits ("1.04MB").
std::string human_size(int64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1000 && u + 1 < std::size(units)) v /= 1000, ++u;
  char buf[32];
  snprintf(buf, sizeof buf,
           v < 10 && u > 0    ? "%.2f%s"
           : v < 100 && u > 0 ? "%.1f%s"
                              : "%.0f%s",
           v, units[u]);
  return buf;
}

// "docker.io/library/busybox:latest" -> {"docker.io/library/busybox", "latest"}; a digest-only
// name has tag "<none>".
std::pair<std::string, std::string> split_name(const std::string& name) {
  auto ref = image::parse_reference(name);
  if (!ref) return {name, "<none>"};
  return {ref->repository(), ref->tag.empty() ? "<none>" : ref->tag};
}

struct PullFlags {
  bool insecure = false;
  bool tls_verify = true;
  bool quiet = false;
  std::string creds, auth_file, ca_file;
  int jobs = 0;
  int retries = 0;
};

struct ImageFlags {
  std::string root = image::kDefaultImageRoot;
  std::string snapshot_root = image::kDefaultSnapshotRoot;
  std::string platform;
  std::string format = "table";
  bool quiet = false;
  std::vector<std::string> args;
  std::string name;
  PullFlags pull;
};

Result<image::Platform> platform_of(const ImageFlags& f) {
  if (f.platform.empty()) return image::host_platform();
  return image::parse_platform(f.platform);
}

#ifndef SKIFF_PULL_BUILD_PATH
#define SKIFF_PULL_BUILD_PATH ""
#endif

Result<int> do_pull(const ImageFlags& f) {
  if (f.args.size() != 1) return error("usage: skiff image pull IMAGE");
  std::vector<std::string> args = {"skiff-pull", "--image-root", f.root, "--format", f.format};
  if (!f.platform.empty()) args.insert(args.end(), {"--platform", f.platform});
  const PullFlags& p = f.pull;
  if (p.insecure) args.push_back("--insecure");
  if (!p.tls_verify) args.push_back("--tls-verify=false");
  if (p.quiet) args.push_back("--quiet");
  if (!p.creds.empty()) args.insert(args.end(), {"--creds", p.creds});
  if (!p.auth_file.empty()) args.insert(args.end(), {"--authfile", p.auth_file});
  if (!p.ca_file.empty()) args.insert(args.end(), {"--ca-file", p.ca_file});
  if (p.jobs > 0) args.insert(args.end(), {"--jobs", std::to_string(p.jobs)});
  if (p.retries > 0) args.insert(args.end(), {"--retries", std::to_string(p.retries)});
  if (log::enabled(log::Level::kDebug)) args.push_back("--debug");
  args.push_back("--");
  args.push_back(f.args[0]);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Next to this binary (installed or in the build tree), else where the build put it, else $PATH.
  std::string path = external_binary_path("skiff-pull", SKIFF_PULL_BUILD_PATH);
  if (path.find('/') != std::string::npos)
    ::execv(path.c_str(), argv.data());
  else
    ::execvp(path.c_str(), argv.data());
  return errno_error("exec ", quote(path), " (skiff image pull needs the skiff-pull binary)");
}

Result<int> do_import(const ImageFlags& f) {
  if (f.args.empty() || f.args.size() > 2)
    return error("usage: skiff image import PATH [NAME[:TAG]]");
  auto store = TRY(image::Store::open(f.root));
  image::ImportOptions o;
  o.name = f.args.size() > 1 ? f.args[1] : "";
  o.platform = TRY(platform_of(f));
  auto imported = TRY(image::import_archive(store, f.args[0], o));
  if (f.format == "json") {
    Json all = Json::array();
    for (const auto& i : imported)
      all.push_back({{"name", i.name},
                     {"target", image::to_json(i.target)},
                     {"manifest", i.manifest.str()},
                     {"id", i.config.str()}});
    print_json(all, 2);
  } else {
    for (const auto& i : imported)
      std::cout << "Imported " << i.name << " (id " << i.config.short_hex() << ")\n";
  }
  return 0;
}

Result<int> do_ls(const ImageFlags& f) {
  auto store = TRY(image::Store::open(f.root));
  auto platform = TRY(platform_of(f));
  Json all = Json::array();
  std::vector<std::vector<std::string>> rows = {
      {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}};
  for (const auto& r : TRY(store.refs())) {
    auto [repo, tag] = split_name(r.name);
    auto img = image::load_image(store, r.name, r.target, platform);
    if (f.quiet) {
      if (img) std::cout << img->id().short_hex() << '\n';
      continue;
    }
    Json j = {{"name", r.name},
              {"repository", repo},
              {"tag", tag},
              {"digest", r.target.digest.str()},
              {"mediaType", r.target.media_type}};
    if (img) {
      j["id"] = img->id().str();
      j["manifest"] = img->manifest_descriptor.digest.str();
      j["created"] = img->config.created;
      j["size"] = img->size();
      j["platform"] =
          image::Platform{img->config.os, img->config.architecture, img->config.variant, "", {}}
              .str();
      rows.push_back(
          {repo, tag, img->id().short_hex(), img->config.created, human_size(img->size())});
    } else {
      j["error"] = img.error().what();
      rows.push_back({repo, tag, "?", "?", img.error().what()});
    }
    all.push_back(std::move(j));
  }
  if (f.quiet) return 0;
  if (f.format == "json")
    print_json(all, 2);
  else
    std::cout << runtime::cli::format_table(rows, 10, 3);
  return 0;
}

Result<int> do_inspect(const ImageFlags& f) {
  if (f.args.empty()) return error("usage: skiff image inspect IMAGE...");
  auto store = TRY(image::Store::open(f.root));
  auto platform = TRY(platform_of(f));
  std::optional<image::Snapshotter> snapshots;
  if (auto s = image::Snapshotter::open(f.snapshot_root)) snapshots = std::move(*s);
  Json all = Json::array();
  for (const auto& text : f.args) {
    auto img = TRY(image::resolve_image(store, text, platform));
    Json layers = Json::array();
    for (size_t i = 0; i < img.manifest.layers.size(); ++i) {
      Json l = image::to_json(img.manifest.layers[i]);
      l["diffId"] = img.config.diff_ids[i].str();
      l["chainId"] = img.chain_ids[i].str();
      if (snapshots) l["unpacked"] = snapshots->has_layer(img.chain_ids[i]);
      layers.push_back(std::move(l));
    }
    all.push_back({{"name", img.name},
                   {"id", img.id().str()},
                   {"target", image::to_json(img.target)},
                   {"manifestDescriptor", image::to_json(img.manifest_descriptor)},
                   {"manifest", TRY(store.read_json_blob(img.manifest_descriptor))},
                   {"config", TRY(store.read_json_blob(img.manifest.config))},
                   {"layers", layers},
                   {"size", img.size()}});
  }
  print_json(all, 2);
  return 0;
}

Result<int> do_rm(const ImageFlags& f) {
  if (f.args.empty()) return error("usage: skiff image rm IMAGE...");
  auto store = TRY(image::Store::open(f.root));
  auto platform = TRY(platform_of(f));
  std::vector<std::string> names;
  for (const auto& text : f.args) {
    auto ref = TRY(image::find_ref(store, text, platform));
    auto refs = TRY(store.refs());
    bool stored = std::any_of(refs.begin(), refs.end(),
                              [&](const image::Ref& r) { return r.name == ref.name; });
    if (!stored) return error("image ", quote(text), " is not a name in the store");
    names.push_back(ref.name);
  }
  TRY(store.remove_refs(names));
  for (const auto& n : names) std::cout << "Untagged: " << n << '\n';
  return 0;
}

Result<int> do_prune(const ImageFlags& f) {
  auto store = TRY(image::Store::open(f.root));
  auto snapshots = TRY(image::Snapshotter::open(f.snapshot_root));
  auto r = TRY(image::prune(store, &snapshots));
  if (f.format == "json") {
    print_json({{"blobsRemoved", r.blobs_removed},
                {"blobBytesRemoved", r.blob_bytes_removed},
                {"snapshotsRemoved", r.snapshots_removed},
                {"writableLayersRemoved", r.actives_removed}},
               2);
  } else {
    std::cout << "Deleted " << r.blobs_removed << " blobs (" << human_size(r.blob_bytes_removed)
              << "), " << r.snapshots_removed << " layer snapshots, " << r.actives_removed
              << " writable layers\n";
  }
  return 0;
}

}  // namespace

Action add_image(CLI::App& cmd, const Globals& g) {
  auto f = std::make_shared<ImageFlags>();
  cmd.require_subcommand(1);
  cmd.fallthrough();
  cmd.add_option("--image-root", f->root, "image store directory")
      ->envname("SKIFF_IMAGE_ROOT")
      ->default_str(image::kDefaultImageRoot);
  cmd.add_option("--snapshot-root", f->snapshot_root, "layer snapshot directory")
      ->envname("SKIFF_SNAPSHOT_ROOT")
      ->default_str(image::kDefaultSnapshotRoot);
  cmd.add_option("--platform", f->platform, "OS/ARCH[/VARIANT] (default: this machine's)");

  auto* pull = cmd.add_subcommand("pull", "pull an image from a registry (OCI distribution API)");
  pull->add_option("image", f->args, "IMAGE (busybox, localhost:5000/app:1.0, name@sha256:…)");
  pull->add_flag("--insecure", f->pull.insecure, "plain HTTP (a registry without TLS)");
  pull->add_option("--creds", f->pull.creds, "USERNAME:PASSWORD for the registry");
  pull->add_option("--authfile", f->pull.auth_file, "auth.json to read credentials from");
  pull->add_option("--ca-file", f->pull.ca_file, "PEM file of CA certificates to trust");
  pull->add_flag("--tls-verify,!--no-tls-verify", f->pull.tls_verify,
                 "verify the registry's certificate (default true)")
      ->default_val(true);
  pull->add_option("-j,--jobs", f->pull.jobs, "layers fetched at once (default 4)");
  pull->add_option("--retries", f->pull.retries,
                   "attempts per request on 5xx and connection errors (default 4)");
  pull->add_flag("-q,--quiet", f->pull.quiet, "no progress and no summary");

  auto* import =
      cmd.add_subcommand("import", "import an OCI layout (dir or tar) or docker-archive");
  import->add_option("path-and-name", f->args, "PATH [NAME[:TAG]]");
  auto* ls = cmd.add_subcommand("ls", "list images");
  ls->alias("list");
  ls->add_flag("-q,--quiet", f->quiet, "print image ids only");
  auto* inspect =
      cmd.add_subcommand("inspect", "show an image's manifest, config and layers (JSON)");
  inspect->add_option("images", f->args, "IMAGE...");
  auto* rm = cmd.add_subcommand("rm", "remove image names (blobs stay until prune)");
  rm->alias("remove");
  rm->add_option("images", f->args, "IMAGE...");
  auto* prune = cmd.add_subcommand("prune", "delete blobs and snapshots no image or bundle uses");
  for (auto* sub : {pull, import, ls, inspect, prune})
    sub->add_option("--format", f->format, "table or json")
        ->check(CLI::IsMember({"table", "json"}));

  return [f, &cmd, pull, import, ls, inspect, rm, prune]() -> Result<int> {
    CLI::App* chosen = cmd.get_subcommands().front();
    if (chosen == pull) return do_pull(*f);
    if (chosen == import) return do_import(*f);
    if (chosen == ls) return do_ls(*f);
    if (chosen == inspect) return do_inspect(*f);
    if (chosen == rm) return do_rm(*f);
    if (chosen == prune) return do_prune(*f);
    return error("unknown image command");
  };
}

}  // namespace skiff::cli
