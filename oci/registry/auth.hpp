#pragma once
// Registry credentials and challenges: `--creds user:pass`, the containers auth file
// (auth.json: {"auths": {"registry[/path]": {"auth": base64("user:pass")}}}, also docker's
// config.json), and WWW-Authenticate challenges (RFC 7235) as registries send them.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace skiff::registry {

struct Credentials {
  std::string username;
  std::string password;
};

// "user:pass" (the password may contain ':'); an error names the flag's problem.
Result<Credentials> parse_creds(std::string_view text);

// The auth files skopeo and podman read, in order: $REGISTRY_AUTH_FILE,
// $XDG_RUNTIME_DIR/containers/auth.json, $HOME/.config/containers/auth.json,
// $HOME/.docker/config.json.
std::vector<std::string> default_auth_files();

// Credentials for `domain`/`path` in the auth file at `file`: the longest key that matches the
// repository ("localhost:5000/team/app", "localhost:5000/team", "localhost:5000"); docker's
// "https://index.docker.io/v1/" counts as docker.io. nullopt when none matches; an error for an
// unreadable or malformed file (naming it and the entry).
Result<std::optional<Credentials>> credentials_from_file(const std::string& file,
                                                         const std::string& domain,
                                                         const std::string& path);

// `explicit_file` when given (it must exist), else the first default file that has an entry.
Result<std::optional<Credentials>> find_credentials(const std::string& explicit_file,
                                                    const std::string& domain,
                                                    const std::string& path);

struct Challenge {
  std::string scheme;                         // lowercase: "basic", "bearer"
  std::map<std::string, std::string> params;  // lowercase names: realm, service, scope, error
};

// Parses a WWW-Authenticate value (one or several challenges); unparsable text gives none.
std::vector<Challenge> parse_www_authenticate(std::string_view value);

std::string base64_encode(std::string_view data);
Result<std::string> base64_decode(std::string_view text);

}  // namespace skiff::registry
