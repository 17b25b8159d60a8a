#pragma once
// JSON paths for error messages, jq style: `linux.resources.memory.limit`, `mounts[2].destination`,
// `linux.sysctl["net.ipv4.ip_forward"]` (a key that is not a plain word is quoted).

#include <cstddef>
#include <string>
#include <string_view>

#include "common/json_util.hpp"
#include "common/strings.hpp"

namespace skiff::oci {

// `base.key`, or `base["key"]` when the key is not a plain identifier; just `key` at the top.
inline std::string field_path(std::string_view base, std::string_view key) {
  bool plain = !key.empty();
  for (char c : key) {
    bool word =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    plain = plain && word;
  }
  if (!plain) return cat(base, '[', json_quote(key), ']');
  if (base.empty()) return std::string(key);
  return cat(base, '.', key);
}

// `base[i]`
inline std::string index_path(std::string_view base, size_t i) { return cat(base, '[', i, ']'); }

}  // namespace skiff::oci
