#include "kubelet/node/spdy.hpp"

#include <cctype>

namespace skiff::kubelet::node::spdy {

namespace {

constexpr uint16_t kVersion = 3;
constexpr size_t kMaxHeaders = 1024;
constexpr size_t kMaxHeaderBlock = 1 << 20;  // inflated

void put32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

uint32_t get32(std::string_view s, size_t at) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

// A control frame: version, type, flags, 24-bit length, then `body`.
std::string control(uint16_t type, uint8_t flags, std::string_view body) {
  std::string f;
  f.reserve(8 + body.size());
  f.push_back(static_cast<char>(0x80 | (kVersion >> 8)));
  f.push_back(static_cast<char>(kVersion & 0xff));
  f.push_back(static_cast<char>(type >> 8));
  f.push_back(static_cast<char>(type & 0xff));
  put32(f, static_cast<uint32_t>(flags) << 24 | static_cast<uint32_t>(body.size()));
  f.append(body);
  return f;
}

}  // namespace

std::string header(const Headers& h, std::string_view name) {
  for (const auto& [k, v] : h) {
    if (k.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < k.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(k[i])) ==
             std::tolower(static_cast<unsigned char>(name[i]));
    if (same) return v.substr(0, v.find('\0'));
  }
  return "";
}

const std::string& dictionary() {
  // The spec's dictionary: length-prefixed header names and common values, then a run of
  // status codes, reason phrases, dates and content types.
  static const std::string dict = [] {
    static const char* const words[] = {"options",
                                        "head",
                                        "post",
                                        "put",
                                        "delete",
                                        "trace",
                                        "accept",
                                        "accept-charset",
                                        "accept-encoding",
                                        "accept-language",
                                        "accept-ranges",
                                        "age",
                                        "allow",
                                        "authorization",
                                        "cache-control",
                                        "connection",
                                        "content-base",
                                        "content-encoding",
                                        "content-language",
                                        "content-length",
                                        "content-location",
                                        "content-md5",
                                        "content-range",
                                        "content-type",
                                        "date",
                                        "etag",
                                        "expect",
                                        "expires",
                                        "from",
                                        "host",
                                        "if-match",
                                        "if-modified-since",
                                        "if-none-match",
                                        "if-range",
                                        "if-unmodified-since",
                                        "last-modified",
                                        "location",
                                        "max-forwards",
                                        "pragma",
                                        "proxy-authenticate",
                                        "proxy-authorization",
                                        "range",
                                        "referer",
                                        "retry-after",
                                        "server",
                                        "te",
                                        "trailer",
                                        "transfer-encoding",
                                        "upgrade",
                                        "user-agent",
                                        "vary",
                                        "via",
                                        "warning",
                                        "www-authenticate",
                                        "method",
                                        "get",
                                        "status",
                                        "200 OK",
                                        "version",
                                        "HTTP/1.1",
                                        "url",
                                        "public",
                                        "set-cookie",
                                        "keep-alive",
                                        "origin"};
    std::string d;
    for (const char* w : words) {
      put32(d, static_cast<uint32_t>(std::char_traits<char>::length(w)));
      d.append(w);
    }
    d.append(
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504"
        "505203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad "
        "Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not "
        "Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec "
        "00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,"
        "image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,"
        "publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.");
    return d;
  }();
  return dict;
}

Parser::Parser() { inflateInit(&z_); }
Parser::~Parser() { inflateEnd(&z_); }

Result<Headers> Parser::inflate_headers(std::string_view block) {
  std::string out;
  z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
  z_.avail_in = static_cast<uInt>(block.size());
  char chunk[4096];
  while (true) {
    z_.next_out = reinterpret_cast<Bytef*>(chunk);
    z_.avail_out = sizeof chunk;
    int rc = inflate(&z_, Z_SYNC_FLUSH);
    if (rc == Z_NEED_DICT) {
      const std::string& d = dictionary();
      rc = inflateSetDictionary(&z_, reinterpret_cast<const Bytef*>(d.data()),
                                static_cast<uInt>(d.size()));
      if (rc != Z_OK) return error("SPDY header block: not compressed with SPDY/3's dictionary");
      continue;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END)
      return error("SPDY header block does not inflate: ", z_.msg ? z_.msg : "?");
    out.append(chunk, sizeof chunk - z_.avail_out);
    if (out.size() > kMaxHeaderBlock) return error("SPDY header block larger than 1 MiB");
    if (rc == Z_STREAM_END || z_.avail_out != 0) break;
  }
  if (z_.avail_in != 0) return error("SPDY header block: trailing compressed bytes");
  // count, then (name length, name, value length, value) pairs.
  Headers h;
  if (out.size() < 4) return error("SPDY header block shorter than its count");
  uint32_t n = get32(out, 0);
  if (n > kMaxHeaders) return error("SPDY header block with ", n, " headers");
  size_t at = 4;
  auto field = [&](std::string& into) -> bool {
    if (out.size() - at < 4) return false;
    uint32_t len = get32(out, at);
    at += 4;
    if (out.size() - at < len) return false;
    into.assign(out, at, len);
    at += len;
    return true;
  };
  for (uint32_t i = 0; i < n; ++i) {
    std::string name, value;
    if (!field(name) || !field(value) || name.empty())
      return error("SPDY header block: header ", i, " of ", n, " is cut short or unnamed");
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    h.emplace_back(std::move(name), std::move(value));
  }
  return h;
}

Result<std::optional<Frame>> Parser::next() {
  if (buf_.size() < 8) return std::optional<Frame>();
  uint32_t w0 = get32(buf_, 0), w1 = get32(buf_, 4);
  uint32_t length = w1 & 0xffffff;
  if (buf_.size() < 8 + static_cast<size_t>(length)) return std::optional<Frame>();
  Frame f;
  f.flags = static_cast<uint8_t>(w1 >> 24);
  std::string_view body(buf_.data() + 8, length);
  if (!(w0 & 0x80000000u)) {
    f.type = kData;
    f.stream_id = w0 & 0x7fffffff;
    if (f.stream_id == 0) return error("SPDY DATA frame for stream 0");
    f.data.assign(body);
  } else {
    uint16_t version = static_cast<uint16_t>((w0 >> 16) & 0x7fff);
    if (version != kVersion) return error("SPDY control frame of version ", version, ", not 3");
    f.type = static_cast<uint16_t>(w0 & 0xffff);
    auto need = [&](size_t n) -> Result<void> {
      if (length < n)
        return error("SPDY control frame type ", f.type, " of ", length, " bytes, needs ", n);
      return ok();
    };
    switch (f.type) {
      case kSynStream:
        TRY(need(10));
        f.stream_id = get32(body, 0) & 0x7fffffff;
        f.associated_id = get32(body, 4) & 0x7fffffff;
        f.priority = static_cast<uint8_t>(static_cast<unsigned char>(body[8]) >> 5);
        if (f.stream_id == 0) return error("SPDY SYN_STREAM for stream 0");
        f.headers = TRY(inflate_headers(body.substr(10)));
        break;
      case kSynReply:
      case kHeaders:
        TRY(need(4));
        f.stream_id = get32(body, 0) & 0x7fffffff;
        f.headers = TRY(inflate_headers(body.substr(4)));
        break;
      case kRstStream:
      case kWindowUpdate:
        TRY(need(8));
        f.stream_id = get32(body, 0) & 0x7fffffff;
        f.value = get32(body, 4) & (f.type == kWindowUpdate ? 0x7fffffff : 0xffffffff);
        break;
      case kSettings: {
        TRY(need(4));
        uint32_t n = get32(body, 0);
        if (static_cast<uint64_t>(n) * 8 + 4 != length)
          return error("SPDY SETTINGS of ", length, " bytes for ", n, " entries");
        for (uint32_t i = 0; i < n; ++i)
          f.settings.emplace_back(get32(body, 4 + 8 * i) & 0xffffff, get32(body, 8 + 8 * i));
        break;
      }
      case kPing:
        TRY(need(4));
        f.value = get32(body, 0);
        break;
      case kGoAway:
        TRY(need(8));
        f.stream_id = get32(body, 0) & 0x7fffffff;
        f.value = get32(body, 4);
        break;
      default:
        break;  // unknown control frames are ignored (spec §2.2.1)
    }
  }
  buf_.erase(0, 8 + static_cast<size_t>(length));
  return std::optional<Frame>(std::move(f));
}

Writer::Writer() {
  deflateInit(&z_, Z_BEST_COMPRESSION);
  const std::string& d = dictionary();
  deflateSetDictionary(&z_, reinterpret_cast<const Bytef*>(d.data()), static_cast<uInt>(d.size()));
}
Writer::~Writer() { deflateEnd(&z_); }

std::string Writer::deflate_headers(const Headers& h) {
  std::string raw;
  put32(raw, static_cast<uint32_t>(h.size()));
  for (const auto& [k, v] : h) {
    put32(raw, static_cast<uint32_t>(k.size()));
    for (char c : k) raw.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    put32(raw, static_cast<uint32_t>(v.size()));
    raw.append(v);
  }
  std::string out;
  z_.next_in = reinterpret_cast<Bytef*>(raw.data());
  z_.avail_in = static_cast<uInt>(raw.size());
  char chunk[4096];
  do {
    z_.next_out = reinterpret_cast<Bytef*>(chunk);
    z_.avail_out = sizeof chunk;
    deflate(&z_, Z_SYNC_FLUSH);
    out.append(chunk, sizeof chunk - z_.avail_out);
  } while (z_.avail_out == 0);
  return out;
}

std::string Writer::syn_stream(uint32_t id, const Headers& h, uint8_t flags) {
  std::string body;
  put32(body, id & 0x7fffffff);
  put32(body, 0);
  body.append(2, '\0');  // priority 0, slot 0
  body += deflate_headers(h);
  return control(kSynStream, flags, body);
}

std::string Writer::syn_reply(uint32_t id, const Headers& h, bool fin) {
  std::string body;
  put32(body, id & 0x7fffffff);
  body += deflate_headers(h);
  return control(kSynReply, fin ? kFlagFin : 0, body);
}

std::string Writer::data(uint32_t id, std::string_view payload, bool fin) {
  std::string f;
  f.reserve(8 + payload.size());
  put32(f, id & 0x7fffffff);
  put32(f, static_cast<uint32_t>(fin ? kFlagFin : 0) << 24 | static_cast<uint32_t>(payload.size()));
  f.append(payload);
  return f;
}

std::string Writer::rst_stream(uint32_t id, uint32_t status) {
  std::string body;
  put32(body, id & 0x7fffffff);
  put32(body, status);
  return control(kRstStream, 0, body);
}

std::string Writer::ping(uint32_t id) {
  std::string body;
  put32(body, id);
  return control(kPing, 0, body);
}

std::string Writer::go_away(uint32_t last_good_id, uint32_t status) {
  std::string body;
  put32(body, last_good_id & 0x7fffffff);
  put32(body, status);
  return control(kGoAway, 0, body);
}

std::string Writer::window_update(uint32_t id, uint32_t delta) {
  std::string body;
  put32(body, id & 0x7fffffff);
  put32(body, delta & 0x7fffffff);
  return control(kWindowUpdate, 0, body);
}

std::string Writer::settings(const std::vector<std::pair<uint32_t, uint32_t>>& entries) {
  std::string body;
  put32(body, static_cast<uint32_t>(entries.size()));
  for (const auto& [id, v] : entries) {
    put32(body, id & 0xffffff);
    put32(body, v);
  }
  return control(kSettings, 0, body);
}

}  // namespace skiff::kubelet::node::spdy
