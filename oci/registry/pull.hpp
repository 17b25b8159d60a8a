#pragma once
// Pulling an image from a registry into the content store: the manifest for the tag or digest
// (an index or manifest list picks this platform's manifest), its config, then the layers in
// parallel (bounded). Every blob is verified (sha256 and size) while it is written into a
// staging area; blobs the store already has are never fetched again; the store changes only in
// one commit at the end, so a failed pull leaves nothing behind.

#include <string>
#include <string_view>

#include "oci/image/image_spec.hpp"
#include "oci/image/platform.hpp"
#include "oci/image/store.hpp"
#include "oci/registry/client.hpp"

namespace skiff::registry {

struct PullOptions {
  RegistryOptions registry;
  image::Platform platform = image::host_platform();
  int jobs = 4;           // layers fetched at once
  bool progress = false;  // a live line on stderr (for a terminal)
};

struct PullResult {
  std::string name;          // normalized: "docker.io/library/busybox:latest"
  image::Descriptor target;  // what the name points at (index or manifest)
  image::Digest manifest;    // the platform manifest
  image::Digest config;      // the image id
  int64_t blob_bytes = 0;    // config and layer bytes received from the registry
  int blobs_fetched = 0;     // configs and layers fetched
  int blobs_present = 0;     // configs and layers the store already had
  int resumed = 0;           // interrupted downloads continued with a range request
};

// Pulls `reference` ("busybox", "localhost:5000/app:1.0", "name@sha256:…"). Errors start with
// "pull `NAME`: " and name the manifest or blob that failed.
Result<PullResult> pull_image(image::Store& store, std::string_view reference,
                              const PullOptions& options);

}  // namespace skiff::registry
