#pragma once
// A runnable OCI bundle from an image (`skiff bundle create --image REF DIR`):
//
//   DIR/config.json   from the image config (bundle_spec.hpp)
//   DIR/rootfs/       an overlayfs mount of the image's layer snapshots with a writable layer of
//                     its own, or — where overlayfs cannot be used (not root, no overlay, the
//                     mount refused) — a private copy: the layers unpacked onto it in order
//   DIR/image.json    what made it: image, id, rootfs kind, snapshot; `bundle rm` reads it
//
// so `skiff run --bundle DIR ID` runs the image.

#include <functional>
#include <string>

#include "oci/image/bundle_spec.hpp"
#include "oci/image/platform.hpp"
#include "oci/image/snapshots.hpp"
#include "oci/image/store.hpp"

namespace skiff::image {

enum class RootfsMode { kAuto, kOverlay, kCopy };

struct BundleOptions {
  std::string image;  // a reference, name or id prefix (find_ref)
  std::string dir;    // created if missing; must be empty if present
  Platform platform = host_platform();
  RootfsMode rootfs = RootfsMode::kAuto;
  BundleSpecOptions spec;
  // config.json and image.json written durably (fsync). The kubelet's bundles are remade at
  // every start, so theirs need not reach the disk.
  bool durable = true;
  // Called with the spec made from the image before config.json is written (the kubelet adds the
  // container's settings: one write, no read back); an error undoes the bundle.
  std::function<Result<void>(Json& spec)> edit_spec;
};

struct BundleInfo {
  std::string dir;    // absolute
  std::string image;  // the store's name
  Digest id;          // the image id
  Digest manifest;
  std::string rootfs;    // "overlay" or "copy"
  std::string snapshot;  // the writable layer's id (overlay)
  PrepareStats layers;   // what preparing the snapshots took (overlay)
};

// Makes the bundle. On any error nothing is left: the mount, the writable layer and what was
// created in DIR are removed. The store and snapshot locks are held (shared) until it is done.
Result<BundleInfo> create_bundle(const Store& store, Snapshotter& snapshots,
                                 const BundleOptions& options);

// Unmounts DIR/rootfs (when it is a mount), removes its writable layer and DIR itself. Refuses a
// directory without image.json (not made by create_bundle). `snapshot_root` overrides the one
// image.json names.
Result<void> remove_bundle(const std::string& dir, const std::string& snapshot_root = "");

}  // namespace skiff::image
