#pragma once
// SPDY/3.1 framing, server side, as kubectl's streams (moby/spdystream under client-go's
// httpstream) speak it for exec, attach and port-forward: control frames (SYN_STREAM,
// SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE) and DATA frames.
// Name/value header blocks are zlib-compressed with SPDY/3's dictionary, one deflate context
// per connection direction (each block ends with a sync flush, so it decodes on its own).
// Flow control: spdystream neither enforces nor needs windows; the parser accepts
// WINDOW_UPDATE and callers may send them as consumption notes.

#include <zlib.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace skiff::kubelet::node::spdy {

enum FrameType : uint16_t {
  kData = 0,
  kSynStream = 1,
  kSynReply = 2,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kHeaders = 8,
  kWindowUpdate = 9,
};
inline constexpr uint8_t kFlagFin = 0x01;
inline constexpr uint8_t kFlagUnidirectional = 0x02;
inline constexpr uint32_t kMaxFrameLength = 0xffffff;  // 24 bits
// RST_STREAM status codes used here.
inline constexpr uint32_t kProtocolError = 1, kInvalidStream = 2, kCancel = 5;

// Header names are lower-case in SPDY/3; a value with several entries joins them with NUL.
using Headers = std::vector<std::pair<std::string, std::string>>;
// The first value of `name` (case-insensitive), or "".
std::string header(const Headers& h, std::string_view name);

struct Frame {
  uint16_t type = kData;
  uint8_t flags = 0;
  uint32_t stream_id = 0;  // DATA, SYN_*, RST_STREAM, HEADERS, WINDOW_UPDATE
  uint32_t associated_id = 0;
  uint8_t priority = 0;
  uint32_t value = 0;  // RST_STREAM/GOAWAY status, PING id, WINDOW_UPDATE delta
  Headers headers;     // SYN_STREAM, SYN_REPLY, HEADERS
  std::vector<std::pair<uint32_t, uint32_t>> settings;  // id, value
  std::string data;                                     // DATA
  bool fin() const { return flags & kFlagFin; }
};

// SPDY/3's header-compression dictionary (the spec's §2.6.10.1), 1423 bytes.
const std::string& dictionary();

// Incoming bytes to frames: feed what the transport read (any split), take frames out.
class Parser {
 public:
  Parser();
  ~Parser();
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;
  void feed(std::string_view bytes) { buf_.append(bytes); }
  // The next whole frame, nullopt when more bytes are needed, or an error for a malformed frame
  // (wrong version, short control frame, a header block that does not inflate): the connection
  // is then unusable.
  Result<std::optional<Frame>> next();

 private:
  Result<Headers> inflate_headers(std::string_view block);
  std::string buf_;
  z_stream z_{};
};

// Frames to bytes, with this direction's deflate context for header blocks.
class Writer {
 public:
  Writer();
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  std::string syn_stream(uint32_t id, const Headers& h, uint8_t flags = 0);
  std::string syn_reply(uint32_t id, const Headers& h, bool fin = false);
  std::string data(uint32_t id, std::string_view payload, bool fin = false);
  std::string rst_stream(uint32_t id, uint32_t status);
  std::string ping(uint32_t id);
  std::string go_away(uint32_t last_good_id, uint32_t status = 0);
  std::string window_update(uint32_t id, uint32_t delta);
  std::string settings(const std::vector<std::pair<uint32_t, uint32_t>>& entries);

 private:
  std::string deflate_headers(const Headers& h);
  z_stream z_{};
};

}  // namespace skiff::kubelet::node::spdy
