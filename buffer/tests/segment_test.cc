#include "buffer/segment.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "buffer/crc32c.h"
#include "buffer/tests/test_dir.h"

namespace tributary::buffer {
namespace {

std::string body(std::uint64_t i) { return "event-" + std::to_string(i) + std::string(i % 50, 'p'); }

// Writes COUNT records starting at FIRST into a new segment; returns its path.
std::string write_segment(FileIo& io, const std::string& dir, std::uint64_t first, std::uint64_t count) {
  SegmentWriter w(io, dir);
  EXPECT_FALSE(w.create(first, 1000));
  for (std::uint64_t i = 0; i < count; ++i) w.append(static_cast<std::int64_t>(2000 + i), body(first + i));
  EXPECT_FALSE(w.flush());
  EXPECT_FALSE(w.sync());
  EXPECT_EQ(w.next_seq(), first + count);
  return dir + "/" + w.name();
}

std::vector<std::uint64_t> sequences(FileIo& io, const std::string& path, SegmentScan* scan) {
  std::vector<std::uint64_t> seen;
  *scan = scan_segment(io, path, [&](const RecordView& r, std::uint64_t) {
    EXPECT_EQ(r.body, body(r.sequence));
    seen.push_back(r.sequence);
  });
  return seen;
}

// A segment writer on the real file system through a fault injector, in a fresh
// directory, with its first segment (first record 0) created.
class FaultySegment : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(w.create(0, 1)); }
  testing::TestDir dir;
  PosixFileIo real;
  FaultyFileIo io{real};
  SegmentWriter w{io, dir.path()};
};

// Writes FRAMES (RECORDS records handed back by a failed segment) into a new segment that
// starts at FIRST, as the ring's rescue does; returns the sequence numbers found there.
std::vector<std::uint64_t> rewrite(FileIo& io, const std::string& dir, std::uint64_t first,
                                   const std::string& frames, std::uint64_t records, SegmentScan* scan) {
  SegmentWriter next(io, dir);
  EXPECT_FALSE(next.create(first, 2));
  next.append_framed(frames, records);
  EXPECT_FALSE(next.flush());
  EXPECT_FALSE(next.sync());
  return sequences(io, dir + "/" + next.name(), scan);
}

void corrupt_byte(const std::string& path, std::uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  const char c = static_cast<char>(f.get());
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x40));
}

TEST(SegmentName, IsTheFirstSequenceNumber) {
  EXPECT_EQ(segment_file_name(42), "00000000000000000042.seg");
  std::uint64_t first = 0;
  EXPECT_TRUE(parse_segment_file_name("00000000000000000042.seg", &first));
  EXPECT_EQ(first, 42u);
  EXPECT_FALSE(parse_segment_file_name("checkpoint", &first));
  EXPECT_FALSE(parse_segment_file_name("0000000000000000004x.seg", &first));
}

TEST(Segment, WrittenRecordsScanBackInOrder) {
  testing::TestDir dir;
  PosixFileIo io;
  const std::string path = write_segment(io, dir.path(), 100, 500);
  SegmentScan scan;
  const auto seen = sequences(io, path, &scan);
  ASSERT_EQ(seen.size(), 500u);
  EXPECT_EQ(seen.front(), 100u);
  EXPECT_EQ(seen.back(), 599u);
  EXPECT_EQ(scan.first_seq, 100u);
  EXPECT_EQ(scan.next_seq, 600u);
  EXPECT_EQ(scan.tail, SegmentScan::Tail::kClean);
  EXPECT_EQ(scan.valid_end, scan.file_size);
  EXPECT_EQ(scan.corrupt_skipped, 0u);
  EXPECT_EQ(scan.first_time_ms, 2000);
  EXPECT_EQ(scan.last_time_ms, 2499);
}

TEST(Segment, TornTailIsFoundAndReopenCutsItAndContinues) {
  testing::TestDir dir;
  PosixFileIo io;
  const std::string path = write_segment(io, dir.path(), 0, 10);
  const auto full = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, full - 3);  // the last record's write was interrupted
  SegmentScan scan;
  EXPECT_EQ(sequences(io, path, &scan).size(), 9u);
  EXPECT_EQ(scan.tail, SegmentScan::Tail::kTorn);
  EXPECT_EQ(scan.next_seq, 9u);

  SegmentWriter w(io, dir.path());
  ASSERT_FALSE(w.reopen(segment_file_name(0), scan.first_seq, scan.valid_end, scan.next_seq));
  w.append(1, body(9));
  w.append(1, body(10));
  ASSERT_FALSE(w.flush());
  ASSERT_FALSE(w.sync());
  const auto seen = sequences(io, path, &scan);
  ASSERT_EQ(seen.size(), 11u);
  EXPECT_EQ(seen.back(), 10u);
  EXPECT_EQ(scan.tail, SegmentScan::Tail::kClean);
}

TEST(Segment, ZeroFilledTailIsTheEnd) {
  testing::TestDir dir;
  PosixFileIo io;
  const std::string path = write_segment(io, dir.path(), 0, 5);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) + 4096);
  SegmentScan scan;
  EXPECT_EQ(sequences(io, path, &scan).size(), 5u);
  EXPECT_EQ(scan.tail, SegmentScan::Tail::kZeroFilled);
}

TEST(Segment, CorruptRecordInTheMiddleIsSkippedWithAnExactCount) {
  testing::TestDir dir;
  PosixFileIo io;
  const std::string path = write_segment(io, dir.path(), 0, 20);
  // Find record 7's offset, then damage its body.
  std::uint64_t offset = 0;
  scan_segment(io, path, [&](const RecordView& r, std::uint64_t at) {
    if (r.sequence == 7) offset = at;
  });
  corrupt_byte(path, offset + kRecordHeaderSize + 2);
  SegmentScan scan;
  const auto seen = sequences(io, path, &scan);
  EXPECT_EQ(seen.size(), 19u);
  EXPECT_EQ(scan.corrupt_skipped, 1u);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 7u), 0);
  EXPECT_EQ(scan.next_seq, 20u);
  EXPECT_EQ(scan.tail, SegmentScan::Tail::kClean);
}

TEST(Segment, CorruptLengthFieldLosesOnlyTheRecordsItHides) {
  testing::TestDir dir;
  PosixFileIo io;
  const std::string path = write_segment(io, dir.path(), 0, 20);
  std::uint64_t offset = 0;
  scan_segment(io, path, [&](const RecordView& r, std::uint64_t at) {
    if (r.sequence == 3) offset = at;
  });
  corrupt_byte(path, offset + 4);  // the length of record 3
  SegmentScan scan;
  const auto seen = sequences(io, path, &scan);
  EXPECT_EQ(scan.corrupt_skipped + seen.size(), 20u);
  EXPECT_EQ(scan.corrupt_skipped, 1u);
}

TEST(Segment, UnknownVersionAndBadMagicAreRefused) {
  testing::TestDir dir;
  PosixFileIo io;
  const std::string path = write_segment(io, dir.path(), 0, 1);
  corrupt_byte(path, 0);
  EXPECT_EQ(scan_segment(io, path).header, HeaderStatus::kBadMagic);
  std::string header = encode_segment_header(0, 0);
  EXPECT_EQ(header.size(), kSegmentHeaderSize);
  std::uint64_t first = 0;
  header[8] = 2;  // a future version, with a valid checksum
  const std::uint32_t crc = crc32c(header.data(), 60);
  std::memcpy(header.data() + 60, &crc, sizeof crc);
  EXPECT_EQ(decode_segment_header(header, &first), HeaderStatus::kUnknownVersion);
  header[20] = 1;  // any other change breaks the checksum
  EXPECT_EQ(decode_segment_header(header, &first), HeaderStatus::kCorrupt);
}

TEST_F(FaultySegment, DiskFullRefusesAndKeepsTheFileThenRecovers) {
  w.append(1, body(0));
  ASSERT_FALSE(w.flush());
  ASSERT_FALSE(w.sync());
  io.set_disk_full(true);
  w.append(1, body(1));
  EXPECT_EQ(w.flush(), std::errc::no_space_on_device);
  SegmentScan scan = scan_segment(io, dir.file(w.name()));
  EXPECT_EQ(scan.records, 1u);
  EXPECT_EQ(scan.tail, SegmentScan::Tail::kClean);
  io.set_disk_full(false);
  ASSERT_FALSE(w.flush());
  ASSERT_FALSE(w.sync());
  EXPECT_EQ(scan_segment(io, dir.file(w.name())).records, 2u);
}

TEST_F(FaultySegment, ShortWritesAreCompleted) {
  for (int i = 0; i < 10; ++i) w.append(1, body(static_cast<std::uint64_t>(i)));
  io.short_next_write(7);
  ASSERT_FALSE(w.flush());
  ASSERT_FALSE(w.sync());
  SegmentScan scan = scan_segment(io, dir.file(w.name()));
  EXPECT_EQ(scan.records, 10u);
  EXPECT_EQ(scan.tail, SegmentScan::Tail::kClean);
}

TEST_F(FaultySegment, FailedSyncIsFatalAndHandsBackWhatIsNotDurable) {
  w.append(1, body(0));
  ASSERT_FALSE(w.flush());
  ASSERT_FALSE(w.sync());
  w.append(1, body(1));
  w.append(1, body(2));
  ASSERT_FALSE(w.flush());
  io.fail_next_sync();
  EXPECT_TRUE(w.sync());
  EXPECT_TRUE(w.failed());
  EXPECT_EQ(w.synced_seq(), 1u);
  w.append(1, body(3));
  EXPECT_TRUE(w.flush());  // refused: the segment is finished
  const std::string unsynced = w.take_unsynced();

  // The records that were not known durable go to a new segment, same sequence numbers.
  SegmentScan scan;
  EXPECT_EQ(rewrite(io, dir.path(), w.synced_seq(), unsynced, 3, &scan), (std::vector<std::uint64_t>{1, 2, 3}));
}

// Shared chunks (framed elsewhere, not copied) and append()ed records keep their order in
// the file, a failed write keeps them all for the retry, and a failed sync hands them back.
// Under fsync: interval the ring asks the segment writer to start writeback as it writes, so
// that the interval's sync has little left to do. The hint changes nothing in the file.
TEST_F(FaultySegment, StartsWritebackOnceEnoughIsWrittenAndOnlyIfAsked) {
  const std::string payload(100, 'x');
  const std::uint64_t frame = kRecordHeaderSize + payload.size();
  w.set_writeback_bytes(3 * frame);
  for (std::uint64_t i = 0; i < 7; ++i) {
    w.append(1, payload);
    ASSERT_FALSE(w.flush());
    EXPECT_EQ(io.writebacks(), (i + 1) / 3) << "after record " << i;  // every third record
  }
  ASSERT_FALSE(w.sync());
  SegmentScan scan = scan_segment(io, dir.file(w.name()));
  EXPECT_EQ(scan.records, 7u);
  EXPECT_EQ(scan.tail, SegmentScan::Tail::kClean);

  SegmentWriter quiet(io, dir.path());  // not asked: never
  ASSERT_FALSE(quiet.create(100, 1));
  const std::uint64_t before = io.writebacks();
  for (std::uint64_t i = 0; i < 20; ++i) quiet.append(1, payload);
  ASSERT_FALSE(quiet.flush());
  EXPECT_EQ(io.writebacks(), before);
}

// The ring's interval sync runs while appenders keep writing (begin_sync, datasync without
// the writer, finish_sync): only what was written before the sync began becomes durable,
// what came after stays kept for a rescue, and a failed sync hands everything back.
TEST_F(FaultySegment, ASyncCoversOnlyWhatWasWrittenBeforeItBegan) {
  auto large = std::make_shared<std::string>();
  encode_record(0, 1, RecordType::kEvent, std::string(20000, 'L'), *large);  // held, not copied
  w.append_shared(large, *large, 1);
  w.append(1, body(1));  // small: copied
  ASSERT_FALSE(w.flush());
  const std::uint64_t at_mark = w.size();
  const std::optional<SegmentWriter::SyncMark> mark = w.begin_sync();
  ASSERT_TRUE(mark.has_value());
  EXPECT_EQ(mark->bytes, at_mark);
  EXPECT_EQ(mark->seq, 2u);
  w.append(1, body(2));  // written during the sync: would join record 1's copy without the mark
  ASSERT_FALSE(w.flush());
  ASSERT_FALSE(w.finish_sync(*mark, io.datasync(mark->fd)));
  EXPECT_EQ(w.synced_seq(), 2u);
  EXPECT_EQ(w.synced_bytes(), at_mark);
  EXPECT_EQ(w.next_seq(), 3u);
  std::string expected;
  encode_record(2, 1, RecordType::kEvent, body(2), expected);
  EXPECT_EQ(w.take_unsynced(), expected);  // exactly the record the sync did not cover

  SegmentWriter f(io, dir.path());
  ASSERT_FALSE(f.create(10, 1));
  f.append(1, body(10));
  f.append(1, body(11));
  ASSERT_FALSE(f.flush());
  const std::optional<SegmentWriter::SyncMark> failing = f.begin_sync();
  ASSERT_TRUE(failing.has_value());
  f.append(1, body(12));
  ASSERT_FALSE(f.flush());
  EXPECT_TRUE(f.finish_sync(*failing, std::make_error_code(std::errc::io_error)));
  EXPECT_TRUE(f.failed());
  EXPECT_EQ(f.synced_seq(), 10u);
  EXPECT_FALSE(f.begin_sync().has_value());  // a failed segment is never synced again
  const std::string unsynced = f.take_unsynced();
  SegmentScan scan;
  EXPECT_EQ(rewrite(io, dir.path(), 10, unsynced, 3, &scan), (std::vector<std::uint64_t>{10, 11, 12}));
  EXPECT_EQ(scan.tail, SegmentScan::Tail::kClean);

  // A mark of a segment the writer has left since (synced and closed by a roll) claims
  // nothing in the next one, even where the sizes happen to match.
  SegmentWriter g(io, dir.path());
  ASSERT_FALSE(g.create(20, 1));
  g.append(1, "same");
  ASSERT_FALSE(g.flush());
  const std::optional<SegmentWriter::SyncMark> old_mark = g.begin_sync();
  ASSERT_TRUE(old_mark.has_value());
  ASSERT_FALSE(g.sync());
  ASSERT_FALSE(g.close());
  ASSERT_FALSE(g.create(21, 1));
  g.append(1, "same");
  ASSERT_FALSE(g.flush());
  EXPECT_FALSE(g.finish_sync(*old_mark, {}));
  EXPECT_EQ(g.synced_seq(), 21u);
  EXPECT_EQ(g.synced_bytes(), kSegmentHeaderSize);
}

TEST_F(FaultySegment, SharedChunksAreWrittenInOrderAndHandedBackAfterAFailedSync) {
  auto shared = std::make_shared<std::string>();
  encode_record(0, 1, RecordType::kEvent, body(0), *shared);
  encode_record(1, 1, RecordType::kEvent, body(1), *shared);
  w.append_shared(shared, *shared, 2);
  w.append(1, body(2));
  auto more = std::make_shared<std::string>();
  encode_record(3, 1, RecordType::kEvent, body(3), *more);
  w.append_shared(more, *more, 1);
  EXPECT_EQ(w.next_seq(), 4u);
  const std::uint64_t expected_size = kSegmentHeaderSize + shared->size() + more->size() +
                                      kRecordHeaderSize + body(2).size();
  EXPECT_EQ(w.size(), expected_size);
  io.fail_next_write(std::errc::no_space_on_device);
  EXPECT_TRUE(w.flush());
  EXPECT_EQ(w.size(), expected_size);  // nothing lost by the failed write
  ASSERT_FALSE(w.flush());
  io.fail_next_sync();
  EXPECT_TRUE(w.sync());
  const std::string unsynced = w.take_unsynced();
  SegmentScan scan;
  EXPECT_EQ(rewrite(io, dir.path(), 0, unsynced, 4, &scan), (std::vector<std::uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(scan.tail, SegmentScan::Tail::kClean);
}

}  // namespace
}  // namespace tributary::buffer

namespace tributary::buffer {
namespace {

// Small written chunks are kept as copies until the sync (their owners go back at once);
// large ones by reference. A failed sync hands both back, in order.
TEST_F(FaultySegment, SmallWrittenChunksAreCopiedLargeOnesHeldAndBothHandedBackInOrder) {
  std::vector<std::shared_ptr<std::string>> owners;
  std::uint64_t seq = 0;
  const auto add = [&](std::size_t body_size) {
    auto owner = std::make_shared<std::string>();
    encode_record(seq, 1, RecordType::kEvent, std::string(body_size, static_cast<char>('a' + seq % 26)), *owner);
    w.append_shared(owner, *owner, 1);
    owners.push_back(owner);
    ++seq;
  };
  add(100);
  add(200);
  ASSERT_FALSE(w.flush());
  add(40000);  // large
  add(300);
  ASSERT_FALSE(w.flush());
  add(50);
  ASSERT_FALSE(w.flush());
  EXPECT_EQ(owners[0].use_count(), 1);  // copied: the owner is free again
  EXPECT_EQ(owners[1].use_count(), 1);
  EXPECT_EQ(owners[2].use_count(), 2);  // held until synced
  EXPECT_EQ(owners[3].use_count(), 1);
  EXPECT_EQ(owners[4].use_count(), 1);
  io.fail_next_sync();
  EXPECT_TRUE(w.sync());
  std::string expected;
  for (const auto& owner : owners) expected += *owner;
  EXPECT_EQ(w.take_unsynced(), expected);
  EXPECT_EQ(owners[2].use_count(), 1);
}

TEST_F(FaultySegment, ASuccessfulSyncLetsGoOfEverythingKept) {
  auto large = std::make_shared<std::string>();
  encode_record(0, 1, RecordType::kEvent, std::string(40000, 'x'), *large);
  w.append_shared(large, *large, 1);
  w.append(1, "small");
  ASSERT_FALSE(w.flush());
  EXPECT_EQ(large.use_count(), 2);
  ASSERT_FALSE(w.sync());
  EXPECT_EQ(large.use_count(), 1);
  EXPECT_EQ(w.take_unsynced(), "");
}

}  // namespace
}  // namespace tributary::buffer
