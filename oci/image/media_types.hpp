#pragma once
// Media types of the OCI image-spec and of Docker's schema 2, and what skiff does with each.

#include <string_view>

#include "common/error.hpp"

namespace skiff::image::media {

inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kOciLayerNonDist =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view kOciLayerNonDistGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view kOciLayerNonDistZstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerSchema1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerLayerZstd =
    "application/vnd.docker.image.rootfs.diff.tar.zstd";
inline constexpr std::string_view kDockerForeignLayerGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

inline bool is_index(std::string_view t) { return t == kOciIndex || t == kDockerManifestList; }
inline bool is_manifest(std::string_view t) { return t == kOciManifest || t == kDockerManifest; }
inline bool is_config(std::string_view t) { return t == kOciConfig || t == kDockerConfig; }

enum class Compression { kNone, kGzip, kZstd };

inline const char* compression_name(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
  }
  return "?";
}

// The compression a layer media type announces; an error for anything that is not a layer type
// skiff can unpack (the message quotes the type).
inline Result<Compression> layer_compression(std::string_view t) {
  if (t == kOciLayer || t == kOciLayerNonDist || t == kDockerLayer) return Compression::kNone;
  if (t == kOciLayerGzip || t == kOciLayerNonDistGzip || t == kDockerLayerGzip ||
      t == kDockerForeignLayerGzip)
    return Compression::kGzip;
  if (t == kOciLayerZstd || t == kOciLayerNonDistZstd || t == kDockerLayerZstd)
    return Compression::kZstd;
  return error("unknown layer media type ", quote(t));
}

// The OCI layer media type for a compression (what docker-archive import records).
inline std::string_view oci_layer_type(Compression c) {
  switch (c) {
    case Compression::kGzip:
      return kOciLayerGzip;
    case Compression::kZstd:
      return kOciLayerZstd;
    case Compression::kNone:
      break;
  }
  return kOciLayer;
}

}  // namespace skiff::image::media
