#include "oci/registry/client.hpp"

#include <thread>

#include "common/json_util.hpp"
#include "common/log.hpp"
#include "oci/image/media_types.hpp"
#include "oci/image/store.hpp"

namespace skiff::registry {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool same_origin(const Url& a, const Url& b) {
  return a.scheme == b.scheme && a.host == b.host && a.port == b.port;
}

// The registry's own words from an error body: {"errors":[{"code":…,"message":…}]}.
std::string registry_errors(const std::string& body) {
  auto j = parse_json(body, "error body");
  if (!j || !j->is_object() || !j->contains("errors") || !(*j)["errors"].is_array()) return "";
  std::vector<std::string> parts;
  for (const auto& e : (*j)["errors"]) {
    if (!e.is_object()) continue;
    std::string code = e.value("code", ""), message = e.value("message", "");
    parts.push_back(code.empty() ? message : message.empty() ? code : cat(code, ": ", message));
  }
  return join(parts, "; ");
}

}  // namespace

std::string registry_host(const std::string& domain) {
  return domain == image::kDefaultDomain ? "registry-1.docker.io" : domain;
}

Result<RepositoryClient> RepositoryClient::create(const image::Reference& ref,
                                                  RegistryOptions options) {
  RepositoryClient c;
  c.domain_ = ref.domain;
  c.path_ = ref.path;
  c.base_ = TRY(
      parse_url(cat(options.insecure ? "http" : "https", "://", registry_host(ref.domain), '/')));
  c.creds_ = options.creds;
  if (!c.creds_) c.creds_ = TRY(find_credentials(options.auth_file, ref.domain, ref.path));
  c.options_ = std::move(options);
  return c;
}

std::unique_ptr<HttpClient> RepositoryClient::new_http() const {
  return std::make_unique<HttpClient>(options_.tls, options_.timeout);
}

std::string RepositoryClient::authorization() const {
  std::lock_guard lock(shared_->mu);
  if (!shared_->token.empty()) return "Bearer " + shared_->token;
  if (shared_->basic && creds_)
    return "Basic " + base64_encode(cat(creds_->username, ':', creds_->password));
  return "";
}

Error RepositoryClient::status_error(const std::string& what, const HttpResponse& r) const {
  std::string msg = cat(what, ": HTTP ", r.status, r.reason.empty() ? "" : " ", r.reason);
  if (std::string errors = registry_errors(r.body); !errors.empty()) msg += cat(" (", errors, ")");
  if (r.status == 401 || r.status == 403)
    msg += creds_ ? cat(": credentials for ", quote(creds_->username), " refused")
                  : ": the registry wants credentials (--creds USER:PASS or an auth file)";
  return error(msg);
}

Result<HttpResponse> RepositoryClient::follow_redirects(HttpClient& http, HttpRequest req,
                                                        BodySink* sink, size_t max_body) {
  for (int hops = 0;; ++hops) {
    auto r = TRY(http.send(req, sink, max_body));
    if (!is_redirect(r.status)) return r;
    std::string location = r.header("location");
    if (location.empty()) return r;
    if (hops == 5) return error(req.url.str(), ": more than 5 redirects");
    Url next = TRY_CTX(resolve_url(req.url, location), "redirect from ", req.url.str());
    log::debug("redirect ", req.url.str(), " -> ", next.str());
    if (!same_origin(next, base_)) {
      // Blob storage (S3, a CDN) has its own signed URL: our credentials stay with the registry.
      std::erase_if(req.headers, [](const auto& h) { return h.first == "Authorization"; });
    }
    req.url = std::move(next);
  }
}

Result<HttpResponse> RepositoryClient::send_once(HttpClient& http, const std::string& target,
                                                 const Headers& headers, BodySink* sink,
                                                 size_t max_body) {
  for (int round = 0;; ++round) {
    HttpRequest req;
    req.url = base_;
    req.url.target = target;
    req.headers = headers;
    if (std::string a = authorization(); !a.empty()) req.headers.emplace_back("Authorization", a);
    auto r = TRY(follow_redirects(http, std::move(req), sink, max_body));
    if (r.status != 401 || round == 1) return r;
    TRY(authenticate(http, r));
  }
}

Result<HttpResponse> RepositoryClient::request(HttpClient& http, const std::string& target,
                                               const Headers& headers, BodySink* sink,
                                               size_t max_body) {
  auto wait = options_.backoff;
  for (int attempt = 1;; ++attempt) {
    Headers h = headers;
    if (int64_t offset = sink ? sink->resume_offset() : 0; offset > 0)
      h.emplace_back("Range", cat("bytes=", offset, '-'));
    auto r = send_once(http, target, h, sink, max_body);
    bool retry = r ? (r->status >= 500 || r->status == 429) : r.error().code() == kTransportError;
    if (!retry || attempt >= options_.max_attempts) {
      if (!r && r.error().code() == kTransportError)  // its errno says nothing to a person
        r = Error(r.error().message());
      if (!r && attempt > 1) r.error().wrap(cat("after ", attempt, " attempts"));
      if (r && retry && attempt > 1) r->reason += cat(", after ", attempt, " attempts");
      return r;
    }
    log::info(base_.authority(), target, ": ", r ? cat("HTTP ", r->status) : r.error().what(),
              "; retrying in ", wait.count(), " ms");
    std::this_thread::sleep_for(wait);
    wait *= 2;
  }
}

Result<void> RepositoryClient::authenticate(HttpClient& http, const HttpResponse& resp) {
  auto challenges = parse_www_authenticate(resp.header("www-authenticate"));
  const Challenge* bearer = nullptr;
  const Challenge* basic = nullptr;
  for (const auto& c : challenges) {
    if (c.scheme == "bearer") bearer = &c;
    if (c.scheme == "basic") basic = &c;
  }
  std::string where = cat(base_.authority(), '/', path_);
  if (bearer) {
    auto realm = bearer->params.find("realm");
    if (realm == bearer->params.end() || realm->second.empty())
      return error(where, ": Bearer challenge without a realm");
    Url url = TRY_CTX(parse_url(realm->second), where, ": token realm");
    std::string query;
    if (auto s = bearer->params.find("service"); s != bearer->params.end())
      query += "service=" + url_encode(s->second);
    query +=
        cat(query.empty() ? "" : "&", "scope=", url_encode(cat("repository:", path_, ":pull")));
    url.target += cat(url.target.find('?') == std::string::npos ? "?" : "&", query);
    HttpRequest req;
    req.url = url;
    if (creds_)
      req.headers.emplace_back(
          "Authorization", "Basic " + base64_encode(cat(creds_->username, ':', creds_->password)));
    auto r = TRY_CTX(http.send(req, nullptr, 1 << 20), "token for ", where);
    if (r.status != 200) return status_error(cat("token for ", where, " from ", url.str()), r);
    auto j = TRY_CTX(parse_json(r.body, "token response"), "token for ", where);
    std::string token;
    if (j.is_object()) {
      if (j.contains("token") && j["token"].is_string()) token = j["token"].get<std::string>();
      if (token.empty() && j.contains("access_token") && j["access_token"].is_string())
        token = j["access_token"].get<std::string>();
    }
    if (token.empty())
      return error("token for ", where, " from ", url.str(), ": no token in reply");
    std::lock_guard lock(shared_->mu);
    shared_->token = token;
    return ok();
  }
  if (basic) {
    if (!creds_) return status_error(where, resp);
    std::lock_guard lock(shared_->mu);
    if (shared_->basic) return ok();  // already sent: the caller reports the 401
    shared_->basic = true;
    return ok();
  }
  return status_error(where, resp);
}

Result<HttpResponse> RepositoryClient::get_manifest(HttpClient& http,
                                                    const std::string& reference) {
  std::string accept = join(
      {std::string(image::media::kOciIndex), std::string(image::media::kOciManifest),
       std::string(image::media::kDockerManifestList), std::string(image::media::kDockerManifest)},
      ", ");
  std::string target = cat("/v2/", path_, "/manifests/", reference);
  auto r = TRY(request(http, target, {{"Accept", accept}}, nullptr, image::kMaxJsonBlob));
  if (r.status != 200) return status_error(cat("manifest ", quote(reference)), r);
  return r;
}

Result<void> RepositoryClient::get_blob(HttpClient& http, const image::Digest& digest,
                                        BodySink& sink) {
  std::string target = cat("/v2/", path_, "/blobs/", digest.str());
  auto r = TRY(request(http, target, {}, &sink, 64 << 10));
  if (r.status != 200 && r.status != 206)
    return status_error(cat("GET ", base_.authority(), target), r);
  return ok();
}

}  // namespace skiff::registry
