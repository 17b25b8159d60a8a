#include "common/json_util.hpp"

#include "common/fs.hpp"

namespace skiff {

Result<Json> parse_json(std::string_view text, std::string_view what) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    return error("invalid JSON in ", what, " at byte ", e.byte, ": ", e.what());
  }
}

Result<Json> read_json_file(const std::string& path) {
  auto text = TRY(read_file(path));
  return parse_json(text, quote(path));
}

std::string json_quote(std::string_view s) { return Json(std::string(s)).dump(); }

const char* json_type_name(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "object";
    case Json::value_t::array: return "array";
    case Json::value_t::string: return "string";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    case Json::value_t::number_float: return "number";
    default: return "value";
  }
}

}  // namespace skiff
