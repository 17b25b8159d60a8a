#include "api/yaml.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>

namespace skiff::api {

namespace {

Json scalar(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  char* end = nullptr;
  errno = 0;
  long long i = strtoll(s.c_str(), &end, 10);
  if (*end == '\0' && errno == 0 &&
      (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '+'))
    return i;
  double d = strtod(s.c_str(), &end);
  if (*end == '\0' && s.find_first_of("0123456789") != std::string::npos &&
      s.find_first_not_of("0123456789.eE+-") == std::string::npos)
    return d;
  return s;
}

Result<Json> convert(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return Json();
    case YAML::NodeType::Scalar:
      return scalar(n);
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& e : n) out.push_back(TRY(convert(e)));
      return out;
    }
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : n) out[kv.first.as<std::string>()] = TRY(convert(kv.second));
      return out;
    }
  }
  return Json();
}

void emit(YAML::Emitter& out, const Json& v) {
  switch (v.type()) {
    case Json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [k, x] : v.items()) {
        out << YAML::Key << k << YAML::Value;
        emit(out, x);
      }
      out << YAML::EndMap;
      break;
    case Json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& x : v) emit(out, x);
      out << YAML::EndSeq;
      break;
    case Json::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      Json reparsed = scalar(YAML::Node(s));
      if (!reparsed.is_string() || s.empty())
        out << YAML::DoubleQuoted << s;
      else
        out << s;
      break;
    }
    case Json::value_t::null:
      out << YAML::Null;
      break;
    default:
      out << v.dump();
      break;
  }
}

}  // namespace

Result<std::vector<Json>> yaml_documents(std::string_view text) {
  std::vector<Json> docs;
  try {
    for (const auto& node : YAML::LoadAll(std::string(text))) {
      Json j = TRY(convert(node));
      if (!j.is_null()) docs.push_back(std::move(j));
    }
  } catch (const YAML::Exception& e) {
    return error("invalid YAML at line ", e.mark.line + 1, ", column ", e.mark.column + 1, ": ",
                 e.msg);
  }
  return docs;
}

Result<Json> yaml_to_json(std::string_view text) {
  auto docs = TRY(yaml_documents(text));
  if (docs.empty()) return Json();
  return docs[0];
}

std::string json_to_yaml(const Json& value) {
  YAML::Emitter out;
  emit(out, value);
  return std::string(out.c_str()) + "\n";
}

}  // namespace skiff::api
