#include "oci/image/platform.hpp"

#include <sys/utsname.h>

#include "common/strings.hpp"

namespace skiff::image {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// The default variant of an architecture whose variants are ordered versions ("v7" -> 7).
std::string_view default_variant(std::string_view arch) {
  if (arch == "arm64") return "v8";
  if (arch == "arm") return "v7";
  if (arch == "amd64") return "v1";
  return "";
}

std::optional<int> variant_level(std::string_view v) {
  if (v.size() < 2 || v[0] != 'v') return std::nullopt;
  return parse_int<int>(v.substr(1));
}

}  // namespace

Platform normalize_platform(Platform p) {
  p.os = lower(p.os);
  std::string arch = lower(p.architecture);
  std::string variant = lower(p.variant);
  if (arch == "x86_64" || arch == "x86-64") {
    arch = "amd64";
  } else if (arch == "aarch64" || arch == "arm64") {
    arch = "arm64";
    if (variant == "8" || variant == "v8") variant.clear();
  } else if (arch == "armhf") {
    arch = "arm", variant = "v7";
  } else if (arch == "armel") {
    arch = "arm", variant = "v6";
  } else if (arch == "arm" || arch.starts_with("armv")) {
    if (arch.size() > 4 && variant.empty()) variant = "v" + arch.substr(4, 1);  // armv7l
    arch = "arm";
    if (variant.size() == 1) variant = "v" + variant;  // "7" -> "v7"
  } else if (arch == "i386" || arch == "i686" || arch == "x86") {
    arch = "386";
  }
  if (arch == "amd64" && variant == "v1") variant.clear();
  p.architecture = arch;
  p.variant = variant;
  return p;
}

Platform host_platform() {
  struct utsname u {};
  ::uname(&u);
  Platform p = normalize_platform(Platform{"linux", u.machine, "", "", {}});
  if (p.architecture == "arm" && p.variant.empty()) p.variant = "v7";
  return p;
}

Result<Platform> parse_platform(std::string_view text) {
  auto parts = split(text, '/');
  for (const auto& part : parts)
    if (part.empty()) return error("invalid platform ", quote(text), ": want OS/ARCH[/VARIANT]");
  Platform p;
  if (parts.size() == 1) {
    p.os = "linux", p.architecture = parts[0];
  } else if (parts.size() == 2 || parts.size() == 3) {
    p.os = parts[0], p.architecture = parts[1];
    if (parts.size() == 3) p.variant = parts[2];
  } else {
    return error("invalid platform ", quote(text), ": want OS/ARCH[/VARIANT]");
  }
  return normalize_platform(std::move(p));
}

std::optional<int> platform_rank(const Platform& wanted, const Platform& candidate) {
  Platform w = normalize_platform(wanted), c = normalize_platform(candidate);
  if (w.os != c.os || w.architecture != c.architecture) return std::nullopt;
  if (w.variant == c.variant) return 0;
  std::string_view dv = default_variant(w.architecture);
  std::string_view wv = w.variant.empty() ? dv : std::string_view(w.variant);
  std::string_view cv = c.variant.empty() ? dv : std::string_view(c.variant);
  if (wv == cv) return 0;
  auto wl = variant_level(wv), cl = variant_level(cv);
  if (dv.empty() || !wl || !cl || *cl > *wl) return std::nullopt;
  return *wl - *cl;
}

Result<Descriptor> select_manifest(const Index& index, const Platform& wanted) {
  const Descriptor* best = nullptr;
  int best_rank = 0;
  std::vector<std::string> offered;
  for (const auto& d : index.manifests) {
    if (!d.platform) continue;
    offered.push_back(d.platform->str());
    auto rank = platform_rank(wanted, *d.platform);
    if (rank && (!best || *rank < best_rank)) best = &d, best_rank = *rank;
  }
  if (best) return *best;
  // An index whose entries say nothing about platforms (a layout written by hand): the only one.
  if (offered.empty() && index.manifests.size() == 1) return index.manifests[0];
  return error("no manifest for ", wanted.str(), " (the index has ",
               offered.empty() ? std::string("no platforms") : join(offered, ", "), ")");
}

}  // namespace skiff::image
