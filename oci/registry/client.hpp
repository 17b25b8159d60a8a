#pragma once
// A client of one repository on an OCI distribution (v2) registry: manifests and blobs over HTTP
// or HTTPS, anonymous, basic auth or the Bearer token flow (a WWW-Authenticate challenge sends
// us to the token endpoint for scope repository:NAME:pull; the token is kept for the repository),
// redirects (blob storage elsewhere; credentials never follow to another host), and retries with
// exponential backoff on 5xx, 429 and transport errors — never on other 4xx.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "oci/image/digest.hpp"
#include "oci/image/reference.hpp"
#include "oci/registry/auth.hpp"
#include "oci/registry/http_client.hpp"

namespace skiff::registry {

struct RegistryOptions {
  bool insecure = false;  // plain HTTP instead of HTTPS
  TlsOptions tls;
  std::optional<Credentials> creds;  // else looked up in auth_file / the default auth files
  std::string auth_file;
  int max_attempts = 4;                       // per request, for retryable failures
  std::chrono::milliseconds backoff{250};     // first wait; doubles each time
  std::chrono::milliseconds timeout{30'000};  // per network step
};

// The registry host a reference's domain means ("docker.io" → "registry-1.docker.io").
std::string registry_host(const std::string& domain);

class RepositoryClient {
 public:
  // For `ref`'s repository; credentials from the options or the auth files.
  static Result<RepositoryClient> create(const image::Reference& ref, RegistryOptions options);

  // A connection holder for one thread.
  std::unique_ptr<HttpClient> new_http() const;

  // GET /v2/NAME/manifests/REFERENCE (a tag or a digest), accepting OCI and Docker schema 2
  // manifests and indexes. A non-2xx status is an error naming the URL, status and the
  // registry's error code ("HTTP 404 Not Found (MANIFEST_UNKNOWN: manifest unknown)").
  Result<HttpResponse> get_manifest(HttpClient& http, const std::string& reference);
  // GET /v2/NAME/blobs/DIGEST, the body streamed into `sink` (begun afresh on every attempt).
  Result<void> get_blob(HttpClient& http, const image::Digest& digest, BodySink& sink);

  // "127.0.0.1:5000/busybox" (for messages).
  std::string repository() const { return cat(domain_, '/', path_); }

 private:
  RepositoryClient() = default;
  Result<HttpResponse> request(HttpClient& http, const std::string& target,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               BodySink* sink, size_t max_body);
  Result<HttpResponse> send_once(HttpClient& http, const std::string& target,
                                 const std::vector<std::pair<std::string, std::string>>& headers,
                                 BodySink* sink, size_t max_body);
  Result<HttpResponse> follow_redirects(HttpClient& http, HttpRequest req, BodySink* sink,
                                        size_t max_body);
  Result<void> authenticate(HttpClient& http, const HttpResponse& challenge_response);
  std::string authorization() const;
  Error status_error(const std::string& what, const HttpResponse& r) const;

  Url base_;  // scheme://host:port/
  std::string domain_, path_;
  RegistryOptions options_;
  std::optional<Credentials> creds_;
  struct Shared {
    std::mutex mu;
    std::string token;   // Bearer token for this repository
    bool basic = false;  // the registry asked for basic auth
  };
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

}  // namespace skiff::registry
