#pragma once
// JSON helpers on top of nlohmann/json: parsing that returns Result, typed field access that names
// the JSON path on error ("process.args[0]: expected string, got number").

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace skiff {

using Json = nlohmann::json;

// Parses text; the error says where (byte offset) and why. `what` names the document.
Result<Json> parse_json(std::string_view text, std::string_view what);
// Reads and parses a file.
Result<Json> read_json_file(const std::string& path);
// A JSON string literal for `s` (quoted and escaped).
std::string json_quote(std::string_view s);
// "string", "number", ... for messages.
const char* json_type_name(const Json& j);

}  // namespace skiff
