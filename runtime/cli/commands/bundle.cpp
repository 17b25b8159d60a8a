// `skiff bundle create --image REF DIR [-- ARGS...]` and `skiff bundle rm DIR...`: a runnable OCI
// bundle from an image in the store, so `skiff run --bundle DIR ID` runs the image.

#include "oci/image/bundle.hpp"
#include "oci/image/platform.hpp"
#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {

Action add_bundle(CLI::App& cmd, const Globals& g) {
  struct Flags {
    std::string root = image::kDefaultImageRoot;
    std::string snapshot_root = image::kDefaultSnapshotRoot;
    std::string image;
    std::string platform;
    std::string rootfs = "auto";
    std::string format = "table";
    image::BundleSpecOptions spec;
    std::string dir;
    std::vector<std::string> dirs;
  };
  auto f = std::make_shared<Flags>();
  cmd.require_subcommand(1);
  cmd.fallthrough();
  cmd.add_option("--image-root", f->root, "image store directory")
      ->envname("SKIFF_IMAGE_ROOT")
      ->default_str(image::kDefaultImageRoot);
  cmd.add_option("--snapshot-root", f->snapshot_root, "layer snapshot directory")
      ->envname("SKIFF_SNAPSHOT_ROOT")
      ->default_str(image::kDefaultSnapshotRoot);

  auto* create = cmd.add_subcommand("create", "make DIR/config.json and DIR/rootfs from an image");
  create->add_option("--image", f->image, "the image (name, name:tag, name@digest or id)")
      ->required();
  create->add_option("--platform", f->platform, "OS/ARCH[/VARIANT] (default: this machine's)");
  create->add_option("--rootfs", f->rootfs, "overlay, copy or auto (overlay when possible)")
      ->check(CLI::IsMember({"auto", "overlay", "copy"}));
  create->add_flag("-t,--tty", f->spec.tty, "process.terminal true (TERM=xterm)");
  create->add_flag("--read-only", f->spec.read_only, "a read-only root filesystem");
  create->add_option("-e,--env", f->spec.env, "KEY=VALUE over the image's environment (repeat)")
      ->allow_extra_args(false);
  create->add_option("--hostname", f->spec.hostname, "the container's hostname");
  create->add_option("--format", f->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  create->add_option("dir", f->dir, "the bundle directory (created; must be empty)")->required();
  create->add_option("args", f->spec.args, "the command, instead of the image's Cmd (after --)");
  auto* rm = cmd.add_subcommand("rm", "unmount and delete bundles made by `bundle create`");
  rm->add_option("dirs", f->dirs, "DIR...")->required();

  return [f, &cmd, create, rm]() -> Result<int> {
    if (cmd.get_subcommands().front() == rm) {
      for (const auto& d : f->dirs) TRY(image::remove_bundle(d, f->snapshot_root));
      return 0;
    }
    (void)create;
    image::BundleOptions o;
    o.image = f->image;
    o.dir = f->dir;
    if (!f->platform.empty()) o.platform = TRY(image::parse_platform(f->platform));
    o.rootfs = f->rootfs == "overlay" ? image::RootfsMode::kOverlay
               : f->rootfs == "copy"  ? image::RootfsMode::kCopy
                                      : image::RootfsMode::kAuto;
    o.spec = f->spec;
    auto store = TRY(image::Store::open(f->root));
    auto snapshots = TRY(image::Snapshotter::open(f->snapshot_root));
    auto info = TRY(image::create_bundle(store, snapshots, o));
    if (f->format == "json") {
      print_json({{"dir", info.dir},
                  {"image", info.image},
                  {"id", info.id.str()},
                  {"manifest", info.manifest.str()},
                  {"rootfs", info.rootfs},
                  {"snapshot", info.snapshot},
                  {"layersUnpacked", info.layers.unpacked},
                  {"layersReused", info.layers.reused}},
                 2);
    } else {
      std::cout << "Bundle " << info.dir << ": " << info.image << " (id " << info.id.short_hex()
                << "), rootfs " << info.rootfs;
      if (info.rootfs == "overlay")
        std::cout << " (" << info.layers.unpacked << " layers unpacked, " << info.layers.reused
                  << " reused)";
      std::cout << '\n';
    }
    return 0;
  };
}

}  // namespace skiff::cli
