#include "buffer/record.h"

#include <gtest/gtest.h>

namespace tributary::buffer {
namespace {

TEST(Record, RoundTrips) {
  std::string frames;
  encode_record(7, 1'700'000'000'000, RecordType::kEvent, "hello", frames);
  encode_record(8, 1'700'000'000'001, RecordType::kEvent, "", frames);
  ASSERT_EQ(frames.size(), 2 * kRecordHeaderSize + 5);
  RecordView r;
  std::size_t size = 0;
  ASSERT_EQ(decode_record(frames, &r, &size), DecodeStatus::kOk);
  EXPECT_EQ(r.sequence, 7u);
  EXPECT_EQ(r.time_ms, 1'700'000'000'000);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(size, kRecordHeaderSize + 5);
  ASSERT_EQ(decode_record(std::string_view(frames).substr(size), &r, &size), DecodeStatus::kOk);
  EXPECT_EQ(r.sequence, 8u);
  EXPECT_TRUE(r.body.empty());
}

TEST(Record, TheContinuesFlagRoundTripsAndIsCoveredByTheCrc) {
  std::string frames;
  encode_record(1, 0, RecordType::kEvent, "a", frames, /*continues=*/true);
  encode_record(2, 0, RecordType::kEvent, "b", frames);
  RecordView r;
  std::size_t size = 0;
  ASSERT_EQ(decode_record(frames, &r, &size), DecodeStatus::kOk);
  EXPECT_TRUE(r.continues);
  EXPECT_TRUE(peek_continues(frames));
  ASSERT_EQ(decode_record(std::string_view(frames).substr(size), &r, &size), DecodeStatus::kOk);
  EXPECT_FALSE(r.continues);
  EXPECT_FALSE(peek_continues(std::string_view(frames).substr(kRecordHeaderSize + 1)));
  frames[25] = 0;  // the flag cleared by a bit flip: the CRC no longer matches
  EXPECT_EQ(decode_record(frames, &r, &size), DecodeStatus::kCorrupt);
}

TEST(Record, EveryFlippedBitIsDetected) {
  std::string frame;
  encode_record(1, 2, RecordType::kEvent, "payload bytes", frame);
  for (std::size_t byte = 0; byte < frame.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = frame;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      RecordView r;
      std::size_t size = 0;
      const DecodeStatus s = decode_record(bad, &r, &size);
      EXPECT_NE(s, DecodeStatus::kOk) << "byte " << byte << " bit " << bit;
    }
  }
}

TEST(Record, ZeroHeaderIsTheEnd) {
  const std::string zeros(100, '\0');
  RecordView r;
  std::size_t size = 0;
  EXPECT_EQ(decode_record(zeros, &r, &size), DecodeStatus::kEnd);
  EXPECT_EQ(decode_record(std::string(5, '\0'), &r, &size), DecodeStatus::kEnd);
}

TEST(Record, ShortBufferIsTruncated) {
  std::string frame;
  encode_record(1, 2, RecordType::kEvent, "0123456789", frame);
  RecordView r;
  std::size_t size = 0;
  EXPECT_EQ(decode_record(std::string_view(frame).substr(0, frame.size() - 1), &r, &size),
            DecodeStatus::kTruncated);
  EXPECT_EQ(decode_record(std::string_view(frame).substr(0, 10), &r, &size),
            DecodeStatus::kTruncated);
}

TEST(Record, ImpossibleLengthIsCorruptNotARequestToReadGigabytes) {
  std::string frame;
  encode_record(1, 2, RecordType::kEvent, "x", frame);
  frame[7] = '\x7f';  // length's top byte
  RecordView r;
  std::size_t size = 0;
  EXPECT_EQ(decode_record(frame, &r, &size), DecodeStatus::kCorrupt);
}

}  // namespace
}  // namespace tributary::buffer
