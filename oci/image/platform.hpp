#pragma once
// Platform selection: which manifest of an index this host runs. Names are normalized like
// containerd's (x86_64 → amd64, aarch64 → arm64, armhf → arm/v7) and variants are ordered, so an
// arm/v7 host takes an arm/v6 image when there is no v7 one, but never a v8 one.

#include <optional>
#include <string_view>

#include "oci/image/image_spec.hpp"

namespace skiff::image {

// This machine: linux/<uname -m normalized>, with arm's default variant (v7).
Platform host_platform();
// "linux/amd64", "linux/arm/v7", "arm64" (os linux), normalized; an error quotes bad text.
Result<Platform> parse_platform(std::string_view text);
// Canonical spelling of os, architecture and variant (arm64's "v8" becomes "").
Platform normalize_platform(Platform p);
// How well `candidate` suits `wanted`: 0 is an exact match, larger is a worse but compatible one
// (an older variant); nullopt when it cannot run.
std::optional<int> platform_rank(const Platform& wanted, const Platform& candidate);
// The best manifest of `index` for `wanted`. The error lists the platforms the index offers.
Result<Descriptor> select_manifest(const Index& index, const Platform& wanted);

}  // namespace skiff::image
