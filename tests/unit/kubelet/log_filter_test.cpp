// The kubelet's /containerLogs options over CRI lines: tailLines counts whole lines (partials
// with the line that ends them), sinceSeconds/sinceTime drop older lines, timestamps prefixes the
// first part's time, limitBytes cuts the output, partial lines are joined per stream, and bad
// values are refused with the field named.

#include <gtest/gtest.h>

#include "kubelet/logs/log_filter.hpp"

namespace skiff::kubelet {
namespace {

const char* kLog =
    "2026-12-04T10:00:00.1Z stdout F one\n"
    "2026-12-04T10:00:01Z stderr F two\n"
    "2026-12-04T10:00:02.5Z stdout P thr\n"
    "2026-12-04T10:00:02.6Z stderr F err\n"
    "2026-12-04T10:00:03Z stdout F ee\n"
    "2026-12-04T10:00:04.000000001Z stdout F four\n";

std::vector<std::pair<std::string, std::string>> q(
    std::initializer_list<std::pair<std::string, std::string>> kv) {
  return kv;
}

const struct timespec kNow = {1796378410, 0};  // 2026-12-04T10:00:10Z

TEST(LogFilter, JoinsPartialLinesPerStream) {
  LogFilter f({});
  EXPECT_EQ(f.feed(kLog), "one\ntwo\nerr\nthree\nfour\n");
}

TEST(LogFilter, AnyChunkingGivesTheSameText) {
  std::string log = kLog;
  for (size_t step : {1u, 3u, 17u}) {
    LogOptions o;
    o.timestamps = true;
    LogFilter f(o);
    std::string out;
    for (size_t i = 0; i < log.size(); i += step) out += f.feed(log.substr(i, step));
    EXPECT_EQ(out,
              "2026-12-04T10:00:00.1Z one\n2026-12-04T10:00:01Z two\n2026-12-04T10:00:02.6Z err\n"
              "2026-12-04T10:00:02.5Z three\n2026-12-04T10:00:04.000000001Z four\n")
        << "step " << step;
  }
}

TEST(LogFilter, SinceDropsOlderLines) {
  auto o = parse_log_options(q({{"sinceTime", "2026-12-04T10:00:02.5Z"}}), kNow);
  ASSERT_TRUE(o) << o.error().what();
  EXPECT_EQ(LogFilter(*o).feed(kLog), "err\nthree\nfour\n");
  o = parse_log_options(q({{"sinceSeconds", "7"}}), kNow);  // 10:00:03
  ASSERT_TRUE(o) << o.error().what();
  EXPECT_EQ(LogFilter(*o).feed(kLog), "four\n");
  // An offset: 11:00:03+01:00 is 10:00:03Z.
  o = parse_log_options(q({{"sinceTime", "2026-12-04T11:00:03+01:00"}}), kNow);
  ASSERT_TRUE(o) << o.error().what();
  EXPECT_EQ(LogFilter(*o).feed(kLog), "four\n");
}

TEST(LogFilter, LimitBytesCutsAndEnds) {
  auto o = parse_log_options(q({{"limitBytes", "6"}}), kNow);
  ASSERT_TRUE(o);
  LogFilter f(*o);
  EXPECT_EQ(f.feed(kLog), "one\ntw");
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.feed("2026-12-04T10:00:05Z stdout F more\n"), "");
}

TEST(LogFilter, TailCountsWholeLines) {
  EXPECT_EQ(tail_cri_lines(kLog, 1), "2026-12-04T10:00:04.000000001Z stdout F four\n");
  // The last 2 whole lines: "three" (its partial part included, and stderr's line between).
  EXPECT_EQ(LogFilter({}).feed(tail_cri_lines(kLog, 2)), "err\nthree\nfour\n");
  EXPECT_EQ(LogFilter({}).feed(tail_cri_lines(kLog, 3)), "err\nthree\nfour\n");
  EXPECT_EQ(LogFilter({}).feed(tail_cri_lines(kLog, 4)), "two\nerr\nthree\nfour\n");
  EXPECT_EQ(tail_cri_lines(kLog, 100), kLog);
  EXPECT_EQ(tail_cri_lines(kLog, 0), "");
  EXPECT_EQ(tail_cri_lines("", 2), "");
}

TEST(LogOptions, BadValuesNameTheField) {
  auto bad = [](std::initializer_list<std::pair<std::string, std::string>> kv) {
    auto o = parse_log_options(q(kv), kNow);
    return o ? std::string("accepted") : o.error().what();
  };
  EXPECT_EQ(bad({{"sinceSeconds", "abc"}}), "invalid sinceSeconds \"abc\": must be an integer");
  EXPECT_EQ(bad({{"sinceSeconds", "0"}}), "invalid sinceSeconds 0: must be greater than 0");
  EXPECT_EQ(bad({{"tailLines", "-1"}}), "invalid tailLines -1: must be greater than or equal to 0");
  EXPECT_EQ(bad({{"limitBytes", "0"}}), "invalid limitBytes 0: must be greater than 0");
  EXPECT_EQ(bad({{"timestamps", "yes"}}), "invalid timestamps \"yes\": must be true or false");
  EXPECT_NE(bad({{"sinceTime", "yesterday"}}).find("sinceTime"), std::string::npos);
  EXPECT_EQ(bad({{"sinceTime", "2026-12-04T10:00:00Z"}, {"sinceSeconds", "5"}}),
            "at most one of sinceTime or sinceSeconds may be specified");
  auto o = parse_log_options(q({{"follow", "true"}, {"previous", "1"}, {"tailLines", "2"}}), kNow);
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->follow);
  EXPECT_TRUE(o->previous);
  EXPECT_EQ(o->tail_lines, 2);
}

TEST(Rfc3339, ParsesFractionsAndOffsets) {
  auto t = parse_rfc3339("2016-10-06T00:07:09.669794202Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->tv_sec, 1475712429);
  EXPECT_EQ(t->tv_nsec, 669794202);
  t = parse_rfc3339("2016-10-06T02:07:09.5+02:00");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->tv_sec, 1475712429);
  EXPECT_EQ(t->tv_nsec, 500000000);
  EXPECT_FALSE(parse_rfc3339("2016-10-06T00:07:09"));
  EXPECT_FALSE(parse_rfc3339("2016-13-06T00:07:09Z"));
  EXPECT_FALSE(parse_rfc3339("2016-10-06T00:07:09.Z"));
}

}  // namespace
}  // namespace skiff::kubelet
