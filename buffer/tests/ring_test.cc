#include "buffer/ring.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <vector>

#include "buffer/tests/test_dir.h"

namespace tributary::buffer {
namespace {

using namespace std::chrono_literals;

RingOptions options(const std::string& dir, FsyncPolicy fsync = FsyncPolicy::kAlways) {
  RingOptions o;
  o.dir = dir;
  o.segment_bytes = 4096;
  o.max_bytes = 1 << 20;
  o.fsync = fsync;
  o.fsync_interval = 20ms;
  o.checkpoint_interval = 20ms;
  o.retry_interval = 20ms;
  return o;
}

std::unique_ptr<Ring> open_ring(FileIo& io, const RingOptions& o, RecoveryReport* report = nullptr) {
  std::string error;
  auto ring = Ring::open(io, o, report, &error);
  EXPECT_TRUE(ring) << error;
  return ring;
}

std::string body(std::uint64_t i) { return "event-" + std::to_string(i) + std::string(i % 40, 'x'); }

// Appends COUNT records and waits for every completion; returns their sequence numbers.
std::vector<std::uint64_t> append_all(Ring& ring, std::uint64_t start, std::uint64_t count) {
  std::vector<std::future<std::uint64_t>> done;
  for (std::uint64_t i = start; i < start + count; ++i) {
    auto promise = std::make_shared<std::promise<std::uint64_t>>();
    done.push_back(promise->get_future());
    EXPECT_EQ(ring.append(static_cast<std::int64_t>(i), body(i),
                          [promise](std::error_code ec, std::uint64_t seq) {
                            EXPECT_FALSE(ec) << ec.message();
                            promise->set_value(seq);
                          }),
              Ring::Append::kQueued);
  }
  std::vector<std::uint64_t> seqs;
  for (auto& f : done) {
    EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
    seqs.push_back(f.get());
  }
  return seqs;
}

std::vector<std::string> read_all(Ring& ring, std::uint64_t from) {
  std::vector<std::string> bodies;
  std::uint64_t next = from;
  while (next < ring.written_seq()) {
    const std::uint64_t before = next;
    next = ring.read(next, 100, [&](const RecordView& r) { bodies.emplace_back(r.body); });
    if (next == before) break;
  }
  return bodies;
}

TEST(Ring, AppendsAreNumberedConsecutivelyAndReadBackInOrder) {
  testing::TestDir dir;
  PosixFileIo io;
  auto ring = open_ring(io, options(dir.path()));
  const auto seqs = append_all(*ring, 0, 300);
  for (std::uint64_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i);
  const auto bodies = read_all(*ring, 0);
  ASSERT_EQ(bodies.size(), 300u);
  for (std::uint64_t i = 0; i < 300; ++i) EXPECT_EQ(bodies[i], body(i));
  EXPECT_GT(ring->stats().segments, 3u);  // 4 KiB segments roll
  EXPECT_EQ(ring->stats().durable_seq, 300u);
}

TEST(Ring, ReopenResumesAfterTheLastRecordAndFromTheCursor) {
  testing::TestDir dir;
  PosixFileIo io;
  {
    auto ring = open_ring(io, options(dir.path()));
    append_all(*ring, 0, 100);
    for (std::uint64_t s = 0; s < 40; ++s) ring->ack(s);
  }
  RecoveryReport report;
  auto ring = open_ring(io, options(dir.path()), &report);
  EXPECT_EQ(report.cursor, 40u);
  EXPECT_EQ(report.next_seq, 100u);
  EXPECT_EQ(report.torn_records, 0u);
  const auto seqs = append_all(*ring, 100, 10);
  EXPECT_EQ(seqs.front(), 100u);
  const auto bodies = read_all(*ring, ring->cursor());
  ASSERT_EQ(bodies.size(), 70u);
  EXPECT_EQ(bodies.front(), body(40));
  EXPECT_EQ(bodies.back(), body(109));
}

TEST(Ring, OutOfOrderAcksAdvanceTheContiguousPrefixAndReclaimSegments) {
  testing::TestDir dir;
  PosixFileIo io;
  auto ring = open_ring(io, options(dir.path()));
  append_all(*ring, 0, 200);
  const auto segments_before = ring->stats().segments;
  ring->ack(1);
  ring->ack(2);
  EXPECT_EQ(ring->cursor(), 0u);
  ring->ack(0);
  EXPECT_EQ(ring->cursor(), 3u);
  for (std::uint64_t s = 199; s >= 3; --s) ring->ack(s);
  EXPECT_EQ(ring->cursor(), 200u);
  const bool reclaimed = [&] {
    for (int i = 0; i < 200; ++i) {
      if (ring->stats().segments == 1) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }();
  EXPECT_TRUE(reclaimed) << "segments before " << segments_before << ", after " << ring->stats().segments;
}

TEST(Ring, BlockPolicyRefusesWhenFullAndAcceptsAfterAcks) {
  testing::TestDir dir;
  PosixFileIo io;
  RingOptions o = options(dir.path());
  o.max_bytes = 16 * 1024;
  auto ring = open_ring(io, o);
  std::uint64_t accepted = 0;
  while (ring->append(0, std::string(200, 'f'), {}) == Ring::Append::kQueued) ++accepted;
  EXPECT_GT(accepted, 10u);
  EXPECT_LT(accepted, 100u);
  EXPECT_EQ(ring->append(0, std::string(200, 'f'), {}), Ring::Append::kFull);
  EXPECT_GE(ring->stats().refused_full, 1u);
  // Wait until everything is written, acknowledge it, and room comes back.
  for (int i = 0; i < 500 && ring->written_seq() < accepted; ++i) std::this_thread::sleep_for(10ms);
  for (std::uint64_t s = 0; s < accepted; ++s) ring->ack(s);
  bool room = false;
  for (int i = 0; i < 500 && !room; ++i) {
    room = ring->append(0, "more", {}) == Ring::Append::kQueued;
    if (!room) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(room);
}

TEST(Ring, TornTailIsCutOnRecoveryAndCounted) {
  testing::TestDir dir;
  PosixFileIo io;
  std::string last_segment;
  {
    auto ring = open_ring(io, options(dir.path()));
    append_all(*ring, 0, 50);
  }
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    if (e.path().extension() == ".seg" && e.path().filename().string() > last_segment) {
      last_segment = e.path().filename().string();
    }
  }
  const std::string path = dir.file(last_segment);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 2);
  RecoveryReport report;
  auto ring = open_ring(io, options(dir.path()), &report);
  EXPECT_EQ(report.torn_records, 1u);
  EXPECT_EQ(report.next_seq, 49u);
  const auto seqs = append_all(*ring, 49, 1);
  EXPECT_EQ(seqs.front(), 49u);
  const auto bodies = read_all(*ring, 0);
  ASSERT_EQ(bodies.size(), 50u);
  EXPECT_EQ(bodies[48], body(48));
}

TEST(Ring, FailedSyncRewritesTheRecordsAndStillCompletesThem) {
  testing::TestDir dir;
  PosixFileIo real;
  FaultyFileIo io(real);
  auto ring = open_ring(io, options(dir.path()));
  append_all(*ring, 0, 5);
  io.fail_next_sync();
  append_all(*ring, 5, 5);
  EXPECT_GE(ring->stats().sync_errors, 1u);
  const auto bodies = read_all(*ring, 0);
  ASSERT_EQ(bodies.size(), 10u);
  for (std::uint64_t i = 0; i < 10; ++i) EXPECT_EQ(bodies[i], body(i));
  ring.reset();
  RecoveryReport report;
  auto again = open_ring(io, options(dir.path()), &report);
  EXPECT_EQ(report.next_seq, 10u);
  EXPECT_EQ(read_all(*again, 0).size(), 10u);
}

TEST(Ring, DiskFullRefusesAppendsKeepsDataAndRecovers) {
  testing::TestDir dir;
  PosixFileIo real;
  FaultyFileIo io(real);
  auto ring = open_ring(io, options(dir.path()));
  append_all(*ring, 0, 5);
  io.set_disk_full(true);
  std::promise<std::uint64_t> waiting;
  ASSERT_EQ(ring->append(5, body(5), [&](std::error_code ec, std::uint64_t seq) {
    EXPECT_FALSE(ec);
    waiting.set_value(seq);
  }), Ring::Append::kQueued);
  auto future = waiting.get_future();
  EXPECT_EQ(future.wait_for(200ms), std::future_status::timeout);  // not accepted while full
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    refused = ring->append(0, "x", {}) == Ring::Append::kFull;
    if (!refused) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(refused);
  io.set_disk_full(false);
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(future.get(), 5u);
  EXPECT_EQ(read_all(*ring, 0).size(), 6u);
}

TEST(Ring, IntervalPolicyAcceptsOnWriteAndSyncsSoonAfter) {
  testing::TestDir dir;
  PosixFileIo io;
  auto ring = open_ring(io, options(dir.path(), FsyncPolicy::kInterval));
  append_all(*ring, 0, 20);
  bool synced = false;
  for (int i = 0; i < 200 && !synced; ++i) {
    synced = ring->stats().durable_seq == 20;
    if (!synced) std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(synced);
}

}  // namespace
}  // namespace tributary::buffer

namespace tributary::buffer {
namespace {

TEST(Ring, ASecondOpenOfTheSameDirectoryIsRefused) {
  testing::TestDir dir;
  PosixFileIo io;
  auto first = open_ring(io, options(dir.path()));
  std::string error;
  EXPECT_FALSE(Ring::open(io, options(dir.path()), nullptr, &error));
  EXPECT_NE(error.find("in use by another process"), std::string::npos) << error;
  first.reset();
  EXPECT_TRUE(Ring::open(io, options(dir.path()), nullptr, &error)) << error;
}

}  // namespace
}  // namespace tributary::buffer
