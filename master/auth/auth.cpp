#include "master/auth/auth.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

namespace skiff::master {

Result<void> Authenticator::load_token_file(const std::string& token_file) {
  if (!path_exists(token_file)) return ok();
  auto text = TRY(read_file(token_file));
  int line_no = 0;
  for (const auto& raw : split(text, '\n')) {
    line_no++;
    std::string_view line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    // token,user,uid[,"g1,g2"]
    std::vector<std::string> fields;
    std::string cur;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        fields.push_back(cur);
        cur.clear();
      } else {
        cur.push_back(c);
      }
    }
    fields.push_back(cur);
    if (fields.size() < 3 || fields[0].empty() || fields[1].empty())
      return error("token file ", quote(token_file), " line ", line_no,
                   ": expected token,user,uid[,\"groups\"]");
    Identity id;
    id.user = fields[1];
    if (fields.size() > 3) id.groups = split(fields[3], ',', true);
    add_token(fields[0], std::move(id));
  }
  return ok();
}

void Authenticator::add_token(const std::string& token, Identity id) {
  std::lock_guard lock(mu_);
  tokens_[token] = std::move(id);
}

Result<Identity> Authenticator::authenticate(const HttpRequest& req) const {
  if (!req.cert_identity.anonymous()) {
    Identity id = req.cert_identity;
    id.groups.push_back("system:authenticated");
    return id;
  }
  std::string auth = req.header("authorization");
  if (auth.empty()) return Identity{};
  if (auth.rfind("Bearer ", 0) != 0) return error("unsupported authorization scheme");
  std::string token(trim(std::string_view(auth).substr(7)));
  std::lock_guard lock(mu_);
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return error("invalid bearer token");
  Identity id = it->second;
  id.groups.push_back("system:authenticated");
  return id;
}

bool authorize(const Identity& id, const Attributes& attrs) {
  if (id.in_group("system:masters")) return true;
  if (!attrs.resource_request) {
    // Discovery and health are public to authenticated users, as with kube's
    // system:discovery and system:public-info-viewer roles.
    return true;
  }
  return false;
}

}  // namespace skiff::master
