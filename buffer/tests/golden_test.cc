// Golden segment files (tests/golden/buffer, written by make_segments.cc): the reader must
// keep understanding them exactly as it did when they were made.

#include <gtest/gtest.h>

#include "buffer/segment.h"

namespace tributary::buffer {
namespace {

SegmentScan scan(const std::string& name) {
  PosixFileIo io;
  return scan_segment(io, std::string(TRIBUTARY_GOLDEN_DIR) + "/" + name);
}

TEST(GoldenSegments, Good) {
  const SegmentScan s = scan("good.seg");
  ASSERT_FALSE(s.io_error) << s.io_error.message();
  EXPECT_EQ(s.header, HeaderStatus::kOk);
  EXPECT_EQ(s.first_seq, 1000u);
  EXPECT_EQ(s.records, 10u);
  EXPECT_EQ(s.next_seq, 1010u);
  EXPECT_EQ(s.tail, SegmentScan::Tail::kClean);
  EXPECT_EQ(s.first_time_ms, 1'763'769'600'000);
}

TEST(GoldenSegments, TornTail) {
  const SegmentScan s = scan("torn-tail.seg");
  EXPECT_EQ(s.records, 9u);
  EXPECT_EQ(s.next_seq, 1009u);
  EXPECT_EQ(s.tail, SegmentScan::Tail::kTorn);
  EXPECT_LT(s.valid_end, s.file_size);
}

TEST(GoldenSegments, BadCrcInTheMiddle) {
  const SegmentScan s = scan("bad-crc-middle.seg");
  EXPECT_EQ(s.records, 9u);
  EXPECT_EQ(s.corrupt_skipped, 1u);
  EXPECT_EQ(s.next_seq, 1010u);
  EXPECT_EQ(s.tail, SegmentScan::Tail::kClean);
}

TEST(GoldenSegments, ZeroFilledTail) {
  const SegmentScan s = scan("zero-tail.seg");
  EXPECT_EQ(s.records, 10u);
  EXPECT_EQ(s.tail, SegmentScan::Tail::kZeroFilled);
  EXPECT_EQ(s.valid_end + 4096, s.file_size);
}

TEST(GoldenSegments, UnknownVersion) {
  const SegmentScan s = scan("unknown-version.seg");
  EXPECT_EQ(s.header, HeaderStatus::kUnknownVersion);
  EXPECT_EQ(s.records, 0u);
}

}  // namespace
}  // namespace tributary::buffer
