#pragma once
// The OCI image-spec model (index, manifest, config, descriptor) that also reads Docker's schema 2
// manifest and manifest list. Parse errors name the JSON path and the reason
// ("layers[1].digest: invalid digest `sha256:zz`…"); callers add which blob or image it was.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"
#include "oci/image/digest.hpp"

namespace skiff::image {

struct Platform {
  std::string os;            // "linux"
  std::string architecture;  // "amd64", "arm64", ...
  std::string variant;       // "v7", "v8", ... (may be empty)
  std::string os_version;
  std::vector<std::string> os_features;

  // "linux/amd64" or "linux/arm/v7".
  std::string str() const;
  bool operator==(const Platform&) const = default;
};

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
};

// An OCI image index or a Docker manifest list.
struct Index {
  int schema_version = 2;
  std::string media_type;  // as written (may be empty in OCI)
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

// An OCI image manifest or a Docker schema 2 manifest.
struct Manifest {
  int schema_version = 2;
  std::string media_type;  // as written (may be empty in OCI)
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

// The execution parameters of an image config ("config" in the JSON).
struct ContainerConfig {
  std::string user;
  std::vector<std::string> exposed_ports;  // keys of ExposedPorts
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> volumes;  // keys of Volumes
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
};

struct ImageConfig {
  std::string created;
  std::string author;
  std::string architecture;
  std::string os;
  std::string variant;
  ContainerConfig config;
  std::string rootfs_type;  // "layers"
  std::vector<Digest> diff_ids;
  size_t history_entries = 0;
};

// What a manifest-ish document is.
enum class DocumentKind { kIndex, kManifest };

// Parse a document already read as JSON. `path` prefixes field names in errors (empty at the top).
Result<Descriptor> parse_descriptor(const Json& j, const std::string& path);
Result<Index> parse_index(const Json& j);
// Also checks that the config is an image config and that every layer has a media type skiff can
// unpack (so a bad image fails at import, not at run time).
Result<Manifest> parse_manifest(const Json& j);
Result<ImageConfig> parse_config(const Json& j);
Result<Platform> parse_platform_json(const Json& j, const std::string& path);

// Decides whether `j` is an index or a manifest: from `descriptor_type` (the media type of the
// descriptor that pointed at it), else its own mediaType field, else its shape (OCI allows both to
// be absent). Docker schema 1, artifacts and anything else are errors naming the media type.
Result<DocumentKind> document_kind(const Json& j, std::string_view descriptor_type);

Json to_json(const Platform& p);
Json to_json(const Descriptor& d);
Json to_json(const Manifest& m);
Json to_json(const Index& i);

}  // namespace skiff::image
