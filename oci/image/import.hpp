#pragma once
// Importing images from files: an OCI image layout (a directory, or a tar of one as
// `skopeo copy … oci-archive:` writes) and a docker-archive tar (`docker save`, `podman save`,
// `skopeo copy … docker-archive:`). Both end as the same store content for the same image: the
// config (image id), diff_ids and so the layer snapshots are identical; a docker-archive's layers
// are stored as they come (usually uncompressed tar) under a manifest skiff writes.
//
// Every blob is verified (digest and size) while it is staged; the store changes only in one
// commit at the end, so a bad archive leaves nothing behind.

#include <string>
#include <vector>

#include "oci/image/image_spec.hpp"
#include "oci/image/platform.hpp"
#include "oci/image/store.hpp"

namespace skiff::image {

struct ImportOptions {
  // The name to give: "NAME[:TAG]". Without a tag, each image keeps the tag the archive gives it
  // (a lone untagged image becomes :latest). Empty: the names in the archive, which must have them.
  std::string name;
  // An index is imported for this platform only (its manifest, config and layers).
  Platform platform = host_platform();
};

struct ImportedImage {
  std::string name;   // normalized ("docker.io/library/busybox:latest")
  Descriptor target;  // what the name points at (manifest or index)
  Digest manifest;    // the platform manifest
  Digest config;      // the image id
};

// Imports the layout or archive at `path`. Errors start with "import `PATH`: ".
Result<std::vector<ImportedImage>> import_archive(Store& store, const std::string& path,
                                                  const ImportOptions& options);

}  // namespace skiff::image
