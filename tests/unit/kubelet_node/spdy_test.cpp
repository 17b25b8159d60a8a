// SPDY/3.1 framing (kubectl exec and port-forward): frames written and parsed back, header blocks
// through one deflate/inflate context per direction, frames split at every byte, malformed
// frames rejected.

#include "kubelet/node/spdy.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

namespace skiff::kubelet::node::spdy {
namespace {

Frame one(Parser& p) {
  auto f = p.next();
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().what());
  if (!f.ok() || !*f) {
    ADD_FAILURE() << "no frame";
    return {};
  }
  return std::move(**f);
}

TEST(Spdy, DictionaryIsTheSpecs) {
  const std::string& d = dictionary();
  EXPECT_EQ(d.size(), 1423u);
  EXPECT_EQ(d.substr(0, 11), std::string("\0\0\0\7options", 11));
  EXPECT_TRUE(d.ends_with(",*,enq=0."));
}

TEST(Spdy, HeaderBlocksRoundTripThroughOneContext) {
  Writer w;
  Parser p;
  Headers h1 = {{"streamtype", "error"}, {"x-many", std::string("a\0b", 3)}};
  Headers h2 = {{"streamtype", "data"}, {"port", "8080"}, {"requestid", "0"}};
  // One after the other: the blocks share the deflate history in this order (the operands of
  // `+` may be evaluated in any order).
  p.feed(w.syn_stream(1, h1));
  p.feed(w.syn_stream(3, h2, kFlagFin));
  p.feed(w.syn_reply(5, {}));
  Frame a = one(p), b = one(p), c = one(p);
  EXPECT_EQ(a.type, kSynStream);
  EXPECT_EQ(a.stream_id, 1u);
  EXPECT_EQ(a.headers, h1);
  EXPECT_EQ(header(a.headers, "StreamType"), "error");
  EXPECT_EQ(header(a.headers, "x-many"), "a");  // the first of NUL-separated values
  EXPECT_FALSE(a.fin());
  EXPECT_EQ(b.headers, h2);
  EXPECT_TRUE(b.fin());
  EXPECT_EQ(c.type, kSynReply);
  EXPECT_EQ(c.stream_id, 5u);
  EXPECT_TRUE(c.headers.empty());
  auto none = p.next();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  // The second block reuses the first's history: it is smaller than a fresh context makes.
  Writer fresh;
  EXPECT_LT(w.syn_stream(7, h2).size(), fresh.syn_stream(7, h2).size());
}

TEST(Spdy, ControlAndDataFramesRoundTrip) {
  Writer w;
  Parser p;
  std::string big(100000, 'x');
  for (const std::string& f : {w.data(3, "hello"), w.data(3, "", true), w.rst_stream(9, kCancel),
                               w.ping(7), w.go_away(11, 0), w.window_update(3, 65536),
                               w.settings({{4, 100}, {7, 65536}}), w.data(5, big)})
    p.feed(f);
  Frame d = one(p);
  EXPECT_EQ(d.type, kData);
  EXPECT_EQ(d.stream_id, 3u);
  EXPECT_EQ(d.data, "hello");
  EXPECT_FALSE(d.fin());
  Frame fin = one(p);
  EXPECT_TRUE(fin.fin());
  EXPECT_TRUE(fin.data.empty());
  Frame rst = one(p);
  EXPECT_EQ(rst.type, kRstStream);
  EXPECT_EQ(rst.stream_id, 9u);
  EXPECT_EQ(rst.value, kCancel);
  Frame ping = one(p);
  EXPECT_EQ(ping.type, kPing);
  EXPECT_EQ(ping.value, 7u);
  Frame away = one(p);
  EXPECT_EQ(away.type, kGoAway);
  EXPECT_EQ(away.stream_id, 11u);
  Frame win = one(p);
  EXPECT_EQ(win.type, kWindowUpdate);
  EXPECT_EQ(win.value, 65536u);
  Frame set = one(p);
  ASSERT_EQ(set.settings.size(), 2u);
  EXPECT_EQ(set.settings[1], (std::pair<uint32_t, uint32_t>{7, 65536}));
  EXPECT_EQ(one(p).data, big);
}

TEST(Spdy, FrameSplitAcrossReads) {
  Writer w;
  Parser p;
  std::string bytes = w.syn_stream(1, {{"streamtype", "stdin"}});
  bytes += w.data(1, "abc", true);
  size_t frames = 0;
  std::vector<Frame> got;
  for (char c : bytes) {  // one byte per read: a frame appears only when whole
    p.feed(std::string_view(&c, 1));
    auto f = p.next();
    ASSERT_TRUE(f.ok()) << f.error().what();
    if (*f) got.push_back(std::move(**f));
    frames = got.size();
  }
  ASSERT_EQ(frames, 2u);
  EXPECT_EQ(header(got[0].headers, "streamtype"), "stdin");
  EXPECT_EQ(got[1].data, "abc");
  EXPECT_TRUE(got[1].fin());
}

std::string raw_control(uint16_t version, uint16_t type, std::string body) {
  std::string f = {static_cast<char>(0x80 | (version >> 8)),
                   static_cast<char>(version & 0xff),
                   static_cast<char>(type >> 8),
                   static_cast<char>(type & 0xff),
                   0,
                   static_cast<char>(body.size() >> 16),
                   static_cast<char>(body.size() >> 8),
                   static_cast<char>(body.size())};
  return f + body;
}

TEST(Spdy, MalformedFramesRejected) {
  auto fails = [](const std::string& bytes, const std::string& words) {
    Parser p;
    p.feed(bytes);
    auto f = p.next();
    ASSERT_FALSE(f.ok()) << "accepted";
    EXPECT_NE(f.error().what().find(words), std::string::npos) << f.error().what();
  };
  fails(raw_control(2, kPing, std::string(4, '\0')), "version 2");
  fails(raw_control(3, kSynStream, std::string(6, '\1')), "needs 10");
  fails(raw_control(3, kRstStream, "abc"), "needs 8");
  fails(raw_control(3, kSettings, std::string("\0\0\0\2", 4) + std::string(8, '\0')), "entries");
  // A SYN_STREAM whose header block is not zlib at all.
  fails(raw_control(3, kSynStream, std::string("\0\0\0\1\0\0\0\0\0\0", 10) + "not zlib"),
        "does not inflate");
  fails(std::string("\0\0\0\0\0\0\0\0", 8), "stream 0");  // DATA for stream 0
}

TEST(Spdy, HeaderCountBeyondTheBlockRejected) {
  // An uncompressed block claiming 2 headers but holding one, deflated with the dictionary.
  std::string block("\0\0\0\2\0\0\0\1a\0\0\0\1b", 14);
  z_stream z{};
  deflateInit(&z, Z_BEST_COMPRESSION);
  deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dictionary().data()),
                       static_cast<uInt>(dictionary().size()));
  std::string out(256, '\0');
  z.next_in = reinterpret_cast<Bytef*>(block.data());
  z.avail_in = static_cast<uInt>(block.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_SYNC_FLUSH);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  Parser p;
  p.feed(raw_control(3, kSynReply, std::string("\0\0\0\1", 4) + out));
  auto f = p.next();
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().what().find("header 1 of 2"), std::string::npos) << f.error().what();
}

}  // namespace
}  // namespace skiff::kubelet::node::spdy
