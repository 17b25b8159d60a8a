#include "oci/registry/auth.hpp"

#include <cctype>
#include <cstdlib>

#include "common/fs.hpp"
#include "common/json_util.hpp"

namespace skiff::registry {
namespace {

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// An auth-file key as a repository prefix: "https://index.docker.io/v1/" → "docker.io",
// "http://localhost:5000" → "localhost:5000".
std::string normalize_key(std::string_view key) {
  for (std::string_view scheme : {"https://", "http://"})
    if (key.starts_with(scheme)) key.remove_prefix(scheme.size());
  while (key.ends_with('/')) key.remove_suffix(1);
  if (key == "index.docker.io/v1" || key == "index.docker.io" || key == "registry-1.docker.io")
    return "docker.io";
  return std::string(key);
}

}  // namespace

Result<Credentials> parse_creds(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0)
    return error("credentials: want USERNAME:PASSWORD");
  return Credentials{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

std::vector<std::string> default_auth_files() {
  std::vector<std::string> out;
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  if (auto f = env("REGISTRY_AUTH_FILE"); !f.empty()) out.push_back(f);
  if (auto d = env("XDG_RUNTIME_DIR"); !d.empty()) out.push_back(d + "/containers/auth.json");
  if (auto h = env("HOME"); !h.empty()) {
    out.push_back(h + "/.config/containers/auth.json");
    out.push_back(h + "/.docker/config.json");
  }
  return out;
}

Result<std::optional<Credentials>> credentials_from_file(const std::string& file,
                                                         const std::string& domain,
                                                         const std::string& path) {
  Json j = TRY_CTX(read_json_file(file), "auth file");
  auto bad = [&](const std::string& why) { return error("auth file ", quote(file), ": ", why); };
  if (!j.is_object()) return bad("not a JSON object");
  if (!j.contains("auths")) return std::optional<Credentials>();
  if (!j["auths"].is_object()) return bad("auths: want an object");
  std::string best_key;
  const Json* best = nullptr;
  std::string repo = cat(domain, '/', path);
  for (const auto& [key, value] : j["auths"].items()) {
    std::string k = normalize_key(key);
    bool matches = k == domain || repo == k || repo.starts_with(k + "/");
    if (matches && (!best || k.size() > best_key.size())) best_key = k, best = &value;
  }
  if (!best) return std::optional<Credentials>();
  std::string where = cat("auths[", json_quote(best_key), "]");
  if (!best->is_object()) return bad(where + ": want an object");
  if (best->contains("auth") && (*best)["auth"].is_string()) {
    auto decoded = base64_decode((*best)["auth"].get<std::string>());
    if (!decoded) return bad(cat(where, ".auth: ", decoded.error().message()));
    auto creds = parse_creds(*decoded);
    if (!creds) return bad(cat(where, ".auth: ", creds.error().message()));
    return std::optional<Credentials>(*creds);
  }
  if (best->contains("username") && best->contains("password") && (*best)["username"].is_string() &&
      (*best)["password"].is_string())
    return std::optional<Credentials>(Credentials{(*best)["username"].get<std::string>(),
                                                  (*best)["password"].get<std::string>()});
  return bad(where + ": no \"auth\" (base64 of USER:PASS)");
}

Result<std::optional<Credentials>> find_credentials(const std::string& explicit_file,
                                                    const std::string& domain,
                                                    const std::string& path) {
  if (!explicit_file.empty()) return credentials_from_file(explicit_file, domain, path);
  for (const auto& f : default_auth_files()) {
    if (!path_exists(f)) continue;
    auto c = TRY(credentials_from_file(f, domain, path));
    if (c) return c;
  }
  return std::optional<Credentials>();
}

std::vector<Challenge> parse_www_authenticate(std::string_view v) {
  std::vector<Challenge> out;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) ++i;
  };
  auto token = [&] {
    size_t start = i;
    while (i < v.size() && v[i] != ' ' && v[i] != '\t' && v[i] != ',' && v[i] != '=') ++i;
    return v.substr(start, i - start);
  };
  while (true) {
    skip_space();
    if (i >= v.size()) break;
    std::string_view word = token();
    if (word.empty()) break;
    if (i < v.size() && v[i] == '=') {
      // A parameter of the current challenge.
      if (out.empty()) return {};
      ++i;
      std::string value;
      if (i < v.size() && v[i] == '"') {
        ++i;
        while (i < v.size() && v[i] != '"') {
          if (v[i] == '\\' && i + 1 < v.size()) ++i;
          value.push_back(v[i++]);
        }
        if (i >= v.size()) return {};  // unterminated
        ++i;
      } else {
        value = std::string(token());
      }
      out.back().params[lower(word)] = value;
    } else {
      out.push_back(Challenge{lower(word), {}});
    }
  }
  return out;
}

std::string base64_encode(std::string_view data) {
  std::string out;
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<unsigned char>(data[k]); };
  for (; i + 2 < data.size(); i += 3) {
    uint32_t n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kBase64[(n >> s) & 63]);
  }
  if (size_t rest = data.size() - i; rest > 0) {
    uint32_t n = byte(i) << 16 | (rest > 1 ? byte(i + 1) << 8 : 0);
    out.push_back(kBase64[(n >> 18) & 63]);
    out.push_back(kBase64[(n >> 12) & 63]);
    out.push_back(rest > 1 ? kBase64[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t padding = 0;
  for (char c : text) {
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding) return error("invalid base64: data after padding");
    size_t pos = kBase64.find(c);
    if (pos == std::string_view::npos) return error("invalid base64 character ", quote({&c, 1}));
    acc = acc << 6 | static_cast<uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (padding > 2) return error("invalid base64: too much padding");
  return out;
}

}  // namespace skiff::registry
