#pragma once
// Standard base64 (RFC 4648, with padding): Secret data, kubeconfig certificates, continue tokens.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace skiff::api {

std::string base64_encode(std::string_view data);
// nullopt when `text` is not valid padded base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace skiff::api
