#pragma once
// Images as the rest of skiff sees them: a name in the store resolved, for one platform, to its
// manifest, config and layer chain.

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "oci/image/image_spec.hpp"
#include "oci/image/store.hpp"

namespace skiff::image {

struct Image {
  std::string name;                // the store's name for it, or the text that found it
  Descriptor target;               // what the name points at (an index or a manifest)
  Descriptor manifest_descriptor;  // the manifest chosen for the platform
  Manifest manifest;
  ImageConfig config;
  std::vector<Digest> chain_ids;  // one per layer, bottom first

  // The image id (docker's and podman's): the config's digest.
  const Digest& id() const { return manifest.config.digest; }
  // Bytes in the store: manifest, config and layers as stored (compressed).
  int64_t size() const;
};

// Loads the image `target` points at for `platform`: an index selects its best manifest; a
// manifest's config must be for a compatible platform (when it says). Checks that the config has
// one diff_id per layer. Errors start with "image `NAME`: ".
Result<Image> load_image(const Store& store, const std::string& name, const Descriptor& target,
                         const Platform& platform);

// The reference `text` means: a name ("busybox" → docker.io/library/busybox:latest), a name with a
// digest (the digest of a stored target, or of a manifest in a stored index), or a unique prefix
// (≥ 4 hex digits, "sha256:" optional) of an image id or target digest.
Result<Ref> find_ref(const Store& store, std::string_view text, const Platform& platform);

// find_ref + load_image.
Result<Image> resolve_image(const Store& store, std::string_view text, const Platform& platform);

// Every blob reachable from `target` that the store has (an index's manifests for all platforms,
// their configs and layers), and the chain IDs of every such manifest's layers: what garbage
// collection keeps. Unreadable documents keep only themselves.
void collect_reachable(const Store& store, const Descriptor& target, std::set<Digest>& blobs,
                       std::set<Digest>& chain_ids);

}  // namespace skiff::image
