#pragma once
// Image references as docker and podman spell them ("busybox", "quay.io/x/y:1.0",
// "name@sha256:…"), normalized the docker.io way: busybox → docker.io/library/busybox:latest.

#include <optional>
#include <string>
#include <string_view>

#include "oci/image/digest.hpp"

namespace skiff::image {

inline constexpr const char* kDefaultDomain = "docker.io";

struct Reference {
  std::string domain;  // "docker.io", "quay.io", "localhost:5000"
  std::string path;    // "library/busybox"
  std::string tag;     // empty when not given
  std::optional<Digest> digest;

  // "docker.io/library/busybox"
  std::string repository() const { return cat(domain, '/', path); }
  // The full normalized name: repository[:tag][@digest], with tag "latest" when there is neither.
  std::string str() const;
  // The tag, or "latest" when none was given.
  std::string tag_or_latest() const { return tag.empty() ? std::string("latest") : tag; }
};

// Parses and normalizes a reference (distribution/reference grammar): lowercase repository path
// components separated by [._-], an optional registry domain (with a '.' or ':' or "localhost"),
// a tag of [A-Za-z0-9_.-] up to 128 characters, an optional sha256 digest. Errors quote the text.
Result<Reference> parse_reference(std::string_view text);
// True when `text` is a valid tag ("latest", "1.36.1").
bool is_valid_tag(std::string_view text);

}  // namespace skiff::image
