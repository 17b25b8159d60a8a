#include "api/base64.hpp"

#include "common/base64.hpp"

namespace skiff::api {

std::string base64_encode(std::string_view data) { return skiff::base64_encode(data); }

std::optional<std::string> base64_decode(std::string_view text) {
  auto bytes = skiff::base64_decode(text);
  if (!bytes) return std::nullopt;
  return std::move(*bytes);
}

}  // namespace skiff::api
