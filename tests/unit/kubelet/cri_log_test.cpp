// CRI log lines: RFC3339Nano timestamps (Go's, trailing zeros dropped), streams, P/F tags.

#include <gtest/gtest.h>

#include "kubelet/logs/cri_log.hpp"
#include "tests/support/test_util.hpp"

#include <fcntl.h>

#include "common/fs.hpp"

namespace skiff::kubelet {
namespace {

TEST(CriLog, TimestampIsGoRfc3339Nano) {
  EXPECT_EQ(rfc3339_nano({1475712429, 669794202}), "2016-10-06T00:07:09.669794202Z");
  EXPECT_EQ(rfc3339_nano({1475712429, 669794200}), "2016-10-06T00:07:09.6697942Z");
  EXPECT_EQ(rfc3339_nano({1475712429, 0}), "2016-10-06T00:07:09Z");
}

TEST(CriLog, LineFormat) {
  EXPECT_EQ(cri_line({1475712429, 5}, "stderr", false, "boom"),
            "2016-10-06T00:07:09.000000005Z stderr F boom\n");
  EXPECT_EQ(cri_line({1475712429, 5}, "stdout", true, ""),
            "2016-10-06T00:07:09.000000005Z stdout P \n");
}

TEST(CriLog, WriterSplitsLinesAndLongLines) {
  test::TempDir dir("skiff-cri");
  std::string path = dir / "0.log";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  ASSERT_TRUE(fd);
  CriStreamWriter out("stdout", fd.get());
  ASSERT_TRUE(out.feed("one\ntw").ok());
  ASSERT_TRUE(out.feed("o\n\nthree").ok());
  std::string long_line(kMaxLine + 10, 'x');
  ASSERT_TRUE(out.feed("\n" + long_line + "\nlast").ok());
  ASSERT_TRUE(out.flush().ok());
  std::string log = read_file(path).value();
  std::vector<CriEntry> entries;
  for (const auto& line : split(log, '\n', true)) entries.push_back(parse_cri_line(line).value());
  ASSERT_EQ(entries.size(), 7u);
  EXPECT_EQ(entries[0].message, "one");
  EXPECT_EQ(entries[1].message, "two");
  EXPECT_EQ(entries[2].message, "");
  EXPECT_EQ(entries[3].message, "three");
  EXPECT_TRUE(entries[4].partial);  // the first 16 KiB of the long line
  EXPECT_EQ(entries[4].message.size(), kMaxLine);
  EXPECT_FALSE(entries[5].partial);
  EXPECT_EQ(entries[5].message, std::string(10, 'x'));
  EXPECT_EQ(entries[6].message, "last");  // no newline at EOF: still a full line
  for (const auto& e : entries) {
    EXPECT_EQ(e.stream, "stdout");
    EXPECT_EQ(e.time.back(), 'Z');
  }
  EXPECT_EQ(cri_log_text(log).value(), "one\ntwo\n\nthree\n" + long_line + "\nlast\n");
}

TEST(CriLog, ParseRejectsGarbage) {
  EXPECT_FALSE(parse_cri_line("hello").ok());
  EXPECT_FALSE(parse_cri_line("2016-10-06T00:07:09Z stdin F x").ok());
  EXPECT_FALSE(parse_cri_line("2016-10-06T00:07:09Z stdout X x").ok());
  auto e = parse_cri_line("2016-10-06T00:07:09Z stderr F a b  c");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->message, "a b  c");
  EXPECT_EQ(
      cri_log_text("2016-10-06T00:07:09Z stderr F e\n2016-10-06T00:07:09Z stdout F o\n", "stdout")
          .value(),
      "o\n");
}

}  // namespace
}  // namespace skiff::kubelet
