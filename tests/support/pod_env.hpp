#pragma once
// What a test that runs real pods (skiff-pod, or skiff-kubelet over a master) sets up around
// them: the roots both binaries take, a skiff-bridge CNI network on the test's own bridge and
// subnet, the busybox fixture image in a store, and the sweep of pods a TearDown does.

#include <dirent.h>

#include <functional>
#include <string>
#include <vector>

#include "common/json_util.hpp"
#include "oci/image/import.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::test {

// The state, run, log, image, snapshot and CNI roots of one test's pods (all under its
// directory by default; a test may point one elsewhere, e.g. a small tmpfs or a shared store).
struct PodRoots {
  std::string state, run, logs, images, snapshots, cni_conf, cni_cache;

  static PodRoots under(const std::string& dir) {
    return {dir + "/state",     dir + "/run",   dir + "/logs",     dir + "/images",
            dir + "/snapshots", dir + "/net.d", dir + "/cni-cache"};
  }
  // The flags skiff-pod and `skiff-kubelet run` both take for these roots.
  std::vector<std::string> flags() const {
    return {"--state-root",    state,     "--run-root",     run,
            "--log-root",      logs,      "--image-root",   images,
            "--snapshot-root", snapshots, "--cni-conf-dir", cni_conf,
            "--cni-cache-dir", cni_cache, "--cni-bin-dir",  binary("cni")};
  }
  // skiff-pod with these roots and `args` (global flags, then the verb and its own).
  std::vector<std::string> skiff_pod(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {binary("kubelet/skiff-pod")};
    for (const auto& a : flags()) argv.push_back(a);
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
};

// Writes `conf_dir`/10-`name`.conflist: skiff-bridge on `bridge` as the pods' gateway, skiff-ipam
// leasing from `subnet` into `ipam_dir`; with `default_route`, pods route everything through it.
inline void write_bridge_conflist(const std::string& conf_dir, const std::string& name,
                                  const std::string& bridge, const std::string& subnet,
                                  const std::string& ipam_dir, bool default_route) {
  Json ipam = {{"type", "skiff-ipam"},
               {"ranges", Json::array({Json::array({{{"subnet", subnet}}})})},
               {"dataDir", ipam_dir}};
  if (default_route) ipam["routes"] = Json::array({{{"dst", "0.0.0.0/0"}}});
  Json conf = {
      {"cniVersion", "1.0.0"},
      {"name", name},
      {"plugins",
       Json::array(
           {{{"type", "skiff-bridge"}, {"bridge", bridge}, {"isGateway", true}, {"ipam", ipam}}})}};
  write_file(conf_dir + "/10-" + name + ".conflist", conf.dump(2));
}

// Builds the busybox fixture image (scripts/fixtures/make-busybox-bundle.sh) as an OCI layout at
// `work`/bb-oci; "" on success, else what failed.
inline std::string make_busybox_layout(const std::string& work) {
  auto made = sh(cat(source_path("scripts/fixtures/make-busybox-bundle.sh"), ' ', work, "/bb",
                     " --rootfs-only --oci-layout ", work, "/bb-oci"));
  return made.exit_code == 0 ? "" : "make-busybox-bundle.sh: " + made.err;
}

// The same, imported into the store at `image_root` as `name`; "" on success, else what failed.
inline std::string import_busybox(const std::string& work, const std::string& image_root,
                                  const std::string& name = "busybox:1.35") {
  if (auto failed = make_busybox_layout(work); !failed.empty()) return failed;
  auto store = image::Store::open(image_root);
  if (!store) return store.error().what();
  image::ImportOptions o;
  o.name = name;
  auto imported = image::import_archive(*store, work + "/bb-oci", o);
  return imported ? "" : imported.error().what();
}

// `rm -f`s every pod that `pod({"ls"})` lists (a TearDown's sweep, whatever the test left).
inline void remove_all_pods(
    const std::function<CommandResult(const std::vector<std::string>&)>& pod) {
  for (const auto& line : split(pod({"ls"}).out, '\n', true)) {
    auto name = split(line, ' ', true)[0];
    if (name != "NAME") (void)pod({"rm", "-f", name});
  }
}

// The entries of `dir` (dot files left out); 0 when it does not exist.
inline size_t dir_entries(const std::string& dir) {
  size_t n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (struct dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
  }
  return n;
}

}  // namespace skiff::test
