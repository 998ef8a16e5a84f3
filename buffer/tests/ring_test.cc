#include "buffer/ring.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <vector>

#include "buffer/inspect.h"
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

// Polls CONDITION every millisecond until it holds or DEADLINE passes.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
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

std::size_t segment_files(const std::string& dir) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".seg") ++n;
  }
  return n;
}

// Releases held removals when it goes: declared after a ring, before the ring closes (its
// remover would wait for them), also when an assertion ends the test early.
struct ReleaseRemovesAtExit {
  FaultyFileIo& io;
  ~ReleaseRemovesAtExit() { io.release_removes(); }
};

// Removing a reclaimed segment's file took 8-60 ms on a real disk (the kernel frees its
// pages and blocks). The writer thread does not wait for it: records appended meanwhile are
// written and completed, and the files go once the removal can proceed.
TEST(Ring, AppendsAreWrittenWhileReclaimedSegmentsAreStillBeingRemoved) {
  testing::TestDir dir;
  PosixFileIo real;
  FaultyFileIo io(real);
  auto ring = open_ring(io, options(dir.path()));  // fsync always: the writer thread writes every batch
  const ReleaseRemovesAtExit release{io};
  append_all(*ring, 0, 400);
  ASSERT_GE(ring->stats().segments, 4u);
  io.hold_removes();
  for (std::uint64_t s = 0; s < 400; ++s) ring->ack(s);
  ASSERT_TRUE(eventually([&] { return io.removes_held() > 0; }, 10s)) << "no segment was reclaimed";
  std::vector<std::future<std::uint64_t>> done;
  for (std::uint64_t i = 400; i < 500; ++i) {
    auto promise = std::make_shared<std::promise<std::uint64_t>>();
    done.push_back(promise->get_future());
    ASSERT_EQ(ring->append(0, body(i), [promise](std::error_code ec, std::uint64_t seq) {
                promise->set_value(ec ? UINT64_MAX : seq);
              }),
              Ring::Append::kQueued);
  }
  ASSERT_EQ(done.back().wait_for(5s), std::future_status::ready)
      << "appends waited for the removal of reclaimed segments";
  for (std::uint64_t i = 0; i < done.size(); ++i) EXPECT_EQ(done[i].get(), 400 + i);
  EXPECT_GT(io.removes_held(), 0) << "the removal was not held while the appends were written";
  io.release_removes();
  EXPECT_TRUE(eventually([&] { return segment_files(dir.path()) == ring->stats().segments; }, 10s))
      << segment_files(dir.path()) << " files for " << ring->stats().segments << " segments";
  EXPECT_EQ(read_all(*ring, 400).size(), 100u);
}

TEST(Ring, BlockPolicyRefusesWhenFullAndAcceptsAfterAcks) {
  testing::TestDir dir;
  PosixFileIo io;
  RingOptions o = options(dir.path());
  o.max_bytes = 16 * 1024;
  auto ring = open_ring(io, o);
  std::uint64_t accepted = 0;
  // While a batch moves from the queue into the file it is briefly counted in both, so an
  // append may be refused a moment early (never accepted past the limit): the ring is full
  // when an append is refused with everything accepted written.
  bool full = false;
  for (int round = 0; round < 100 && !full; ++round) {
    while (ring->append(0, std::string(200, 'f'), {}) == Ring::Append::kQueued) ++accepted;
    for (int i = 0; i < 500 && ring->written_seq() < accepted; ++i) std::this_thread::sleep_for(10ms);
    full = ring->append(0, std::string(200, 'f'), {}) == Ring::Append::kFull;
    if (!full) ++accepted;
  }
  EXPECT_TRUE(full);
  EXPECT_GT(accepted, 10u);
  EXPECT_LT(accepted, 100u);
  EXPECT_GE(ring->stats().refused_full, 1u);
  // Everything is written: acknowledge it, and room comes back.
  for (std::uint64_t s = 0; s < accepted; ++s) ring->ack(s);
  bool room = false;
  for (int i = 0; i < 500 && !room; ++i) {
    room = ring->append(0, "more", {}) == Ring::Append::kQueued;
    if (!room) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(room);
}

// A stalled disk must not turn into memory: with the writes held, appends nobody waits for
// (UDP, QoS 0) fill the queue up to max_unwritten_bytes and are then refused, under both
// when_full policies. Once the disk moves again everything accepted is written, in order,
// and appends are taken again.
TEST(Ring, AStalledDiskRefusesAppendsOnceMaxUnwrittenBytesWait) {
  for (const WhenFull policy : {WhenFull::kBlock, WhenFull::kDropOldest}) {
    SCOPED_TRACE(policy == WhenFull::kBlock ? "block" : "drop_oldest");
    testing::TestDir dir;
    PosixFileIo real;
    FaultyFileIo io(real);
    RingOptions o = options(dir.path(), FsyncPolicy::kInterval);
    o.segment_bytes = 1 << 20;
    o.max_bytes = 64 << 20;  // far from full: only the memory limit can refuse
    o.max_unwritten_bytes = 64 * 1024;
    o.fsync_interval = 60s;  // only the early sync (half of max_unwritten_bytes) comes in time
    o.when_full = policy;
    auto ring = open_ring(io, o);
    io.hold_writes();
    // Released however the test leaves the scope: the ring's destructor waits for its writer.
    const std::unique_ptr<FaultyFileIo, void (*)(FaultyFileIo*)> release(
        &io, [](FaultyFileIo* held) { held->release_writes(); });
    std::uint64_t accepted = 0;
    std::uint64_t refused = 0;
    std::uint64_t peak = 0;  // unwritten bytes
    for (std::uint64_t i = 0; i < 2000; ++i) {
      const Ring::Append a = ring->append(0, body(accepted), {}, /*caller_waits=*/false);
      if (a == Ring::Append::kQueued) {
        ++accepted;
      } else {
        ASSERT_EQ(a, Ring::Append::kFull);
        ++refused;
      }
      peak = std::max(peak, ring->stats().unwritten_bytes);
    }
    EXPECT_LE(peak, o.max_unwritten_bytes);
    EXPECT_TRUE(eventually([&] { return io.writes_held() > 0; }, 5s));
    // 2,000 records of 60-100 bytes framed would need about 160 KiB.
    EXPECT_GT(accepted, 100u);
    EXPECT_GT(refused, 0u);
    EXPECT_EQ(ring->stats().refused_unwritten, refused);
    EXPECT_EQ(ring->stats().refused_full, 0u);
    EXPECT_EQ(ring->stats().dropped_records, 0u);
    io.release_writes();
    // Everything is written, and synced early: what is held for the disk falls below half
    // of the limit long before the 60 s interval is up.
    ASSERT_TRUE(eventually([&] { return ring->written_seq() == accepted; }, 10s));
    EXPECT_TRUE(eventually([&] { return ring->stats().unwritten_bytes < o.max_unwritten_bytes / 2; }, 10s))
        << ring->stats().unwritten_bytes;
    EXPECT_GT(ring->stats().durable_seq, 0u);
    const auto bodies = read_all(*ring, 0);
    ASSERT_EQ(bodies.size(), accepted);
    for (std::uint64_t i = 0; i < accepted; ++i) EXPECT_EQ(bodies[i], body(i)) << i;
    EXPECT_EQ(ring->append(0, "after", {}, false), Ring::Append::kQueued);
  }
}

// Records an appender writes inline (an MQTT QoS 1 callback, an HTTP flush) are kept in
// memory until a sync covers them. Once half of max_unwritten_bytes waits so, the writer
// thread syncs without waiting for the interval, and nothing is refused while the disk keeps
// up.
TEST(RingInline, HalfOfMaxUnwrittenBytesWrittenInlineIsSyncedBeforeTheInterval) {
  testing::TestDir dir;
  PosixFileIo io;
  RingOptions o = options(dir.path(), FsyncPolicy::kInterval);
  o.segment_bytes = 1 << 20;
  o.max_unwritten_bytes = 64 * 1024;
  o.fsync_interval = 60s;
  auto ring = open_ring(io, o);
  const std::string record(1000, 'i');
  std::uint64_t written = 0;
  for (int i = 0; i < 200; ++i) {  // about three times max_unwritten_bytes
    std::atomic<bool> done{false};
    ASSERT_TRUE(eventually([&] {
      return ring->append(0, record, [&](std::error_code, std::uint64_t) { done = true; }) ==
             Ring::Append::kQueued;
    }, 10s)) << "refused for good at record " << i;
    ASSERT_TRUE(eventually([&] { return done.load(); }, 10s));
    ++written;
    EXPECT_LE(ring->stats().unwritten_bytes, o.max_unwritten_bytes);
  }
  EXPECT_TRUE(eventually([&] { return ring->stats().durable_seq >= written - 40; }, 10s))
      << "durable " << ring->stats().durable_seq << " of " << written;
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

std::string newest_segment(const std::string& dir) {
  std::string last;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".seg" && e.path().filename().string() > last) {
      last = e.path().filename().string();
    }
  }
  return dir + "/" + last;
}

// The events of one request are appended as a group (append_many). A crash while the group
// is being written can leave its first records in the file without its last one: the
// request was never answered, so recovery keeps none of it (the client sends it again).
TEST(Ring, AGroupWhoseLastRecordNeverReachedTheFileIsDroppedWholeOnRecovery) {
  testing::TestDir dir;
  PosixFileIo io;
  RingOptions o = options(dir.path());
  o.segment_bytes = 1 << 20;
  const std::vector<std::string> first = {"g1-a", "g1-b"};
  const std::vector<std::string> second = {"g2-a", "g2-b", "g2-c"};
  {
    auto ring = open_ring(io, o);
    for (const auto* group : {&first, &second}) {
      std::vector<std::string_view> bodies(group->begin(), group->end());
      std::promise<void> done;
      ASSERT_EQ(ring->append_many(0, bodies, [&](std::error_code ec, std::uint64_t) {
        EXPECT_FALSE(ec);
        done.set_value();
      }), Ring::Append::kQueued);
      ASSERT_EQ(done.get_future().wait_for(10s), std::future_status::ready);
    }
  }
  // Cut the file just after g2-b: whole records, but the group's last one is missing.
  const std::string path = newest_segment(dir.path());
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - (kRecordHeaderSize + 4));
  RecoveryReport report;
  auto ring = open_ring(io, o, &report);
  EXPECT_EQ(report.torn_records, 0u);
  EXPECT_EQ(report.unfinished_group_records, 2u);
  EXPECT_EQ(report.next_seq, 2u);
  EXPECT_EQ(read_all(*ring, 0), first);
  // The ring goes on from there: the next append is number 2, after the first group.
  EXPECT_EQ(append_all(*ring, 100, 1).front(), 2u);
}

// No group straddles two segments (recovery looks only at the newest one for an unfinished
// group): a group that does not fit the rest of a segment starts the next one.
TEST(Ring, GroupsAreNeverSplitAcrossSegments) {
  testing::TestDir dir;
  PosixFileIo io;
  RingOptions o = options(dir.path());  // 4 KiB segments
  {
    auto ring = open_ring(io, o);
    for (std::size_t g = 0; g < 40; ++g) {
      std::vector<std::string> group(7, std::string(60 + g, static_cast<char>('a' + g % 26)));
      std::vector<std::string_view> bodies(group.begin(), group.end());
      std::promise<void> done;
      ASSERT_EQ(ring->append_many(0, bodies, [&](std::error_code, std::uint64_t) { done.set_value(); }),
                Ring::Append::kQueued);
      ASSERT_EQ(done.get_future().wait_for(10s), std::future_status::ready);
    }
    EXPECT_GT(ring->stats().segments, 5u);
  }
  std::uint64_t records = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    if (e.path().extension() != ".seg") continue;
    bool last_continues = false;
    std::uint64_t in_segment = 0;
    const SegmentScan scan = scan_segment(io, e.path().string(), [&](const RecordView& r, std::uint64_t) {
      if (in_segment++ == 0) {
        EXPECT_EQ(r.sequence % 7, 0u) << e.path() << ": starts inside a group";
      }
      last_continues = r.continues;
    });
    EXPECT_FALSE(last_continues) << e.path() << ": ends inside a group";
    EXPECT_EQ(scan.group_end, scan.valid_end);
    records += in_segment;
  }
  EXPECT_EQ(records, 40u * 7u);
}

TEST(Ring, RecoveryReadsOnlyWhatFollowsTheLastSyncOfTheNewestSegment) {
  testing::TestDir dir;
  PosixFileIo io;
  RingOptions o = options(dir.path());
  o.segment_bytes = 1 << 20;  // one segment holds everything
  {
    auto ring = open_ring(io, o);
    append_all(*ring, 0, 2000);
  }
  // A crash in the middle of a write: a partial record after the synced ones.
  const std::string path = newest_segment(dir.path());
  const auto synced_size = std::filesystem::file_size(path);
  std::string partial;
  encode_record(2000, 0, RecordType::kEvent, body(2000), partial);
  {
    std::ofstream f(path, std::ios::binary | std::ios::app);
    f.write(partial.data(), static_cast<std::streamsize>(partial.size() / 2));
  }
  RecoveryReport report;
  auto ring = open_ring(io, o, &report);
  EXPECT_EQ(report.scanned_bytes, partial.size() / 2);  // not the 2000 records before it
  EXPECT_GT(synced_size, 100'000u);
  EXPECT_EQ(report.torn_records, 1u);
  EXPECT_EQ(report.next_seq, 2000u);
  EXPECT_EQ(std::filesystem::file_size(path), synced_size);
  EXPECT_EQ(append_all(*ring, 2000, 1).front(), 2000u);
  EXPECT_EQ(read_all(*ring, 0).size(), 2001u);
}

TEST(Ring, AHintPastTheEndOfTheSegmentFallsBackToAFullScan) {
  testing::TestDir dir;
  PosixFileIo io;
  RingOptions o = options(dir.path());
  o.segment_bytes = 1 << 20;
  {
    auto ring = open_ring(io, o);
    append_all(*ring, 0, 100);
  }
  // The file lost its last records although the checkpoint says they were synced (a disk
  // that lied): recovery must not trust the hint.
  const std::string path = newest_segment(dir.path());
  const auto damaged_size = std::filesystem::file_size(path) - 10;
  std::filesystem::resize_file(path, damaged_size);
  RecoveryReport report;
  auto ring = open_ring(io, o, &report);
  EXPECT_EQ(report.scanned_bytes, damaged_size - kSegmentHeaderSize);
  EXPECT_EQ(report.next_seq, 99u);
  EXPECT_EQ(report.torn_records, 1u);
}

TEST(Ring, FailedSyncRewritesTheRecordsAndStillCompletesThem) {
  testing::TestDir dir;
  PosixFileIo real;
  FaultyFileIo io(real);
  auto ring = open_ring(io, options(dir.path()));
  append_all(*ring, 0, 5);
  io.fail_next_sync(".seg");  // a segment's sync, not a checkpoint's
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

namespace tributary::buffer {
namespace {

// Reads everything from FROM with small read() calls, as the forwarder does.
std::vector<std::uint64_t> read_sequences(Ring& ring, std::uint64_t from, std::size_t per_call = 7) {
  std::vector<std::uint64_t> seqs;
  std::uint64_t next = from;
  for (int guard = 0; guard < 100000 && next < ring.written_seq(); ++guard) {
    next = ring.read(next, per_call, [&](const RecordView& r) { seqs.push_back(r.sequence); });
  }
  return seqs;
}

// The forwarder waits for the ring and for Kafka's reports at once: a report interrupts
// the wait. An interrupt that comes while nobody waits ends the next wait at once.
TEST(RingReader, AWaitEndsWhenInterrupted) {
  testing::TestDir dir;
  PosixFileIo io;
  auto ring = open_ring(io, options(dir.path()));
  auto began = std::chrono::steady_clock::now();
  std::thread interrupter([&] {
    std::this_thread::sleep_for(50ms);
    ring->interrupt_wait();
  });
  ring->wait_readable(0, 10s);
  interrupter.join();
  EXPECT_LT(std::chrono::steady_clock::now() - began, 5s);
  ring->interrupt_wait();
  began = std::chrono::steady_clock::now();
  ring->wait_readable(0, 10s);
  EXPECT_LT(std::chrono::steady_clock::now() - began, 5s);
  // Used up: the next wait runs to its timeout.
  began = std::chrono::steady_clock::now();
  ring->wait_readable(0, 100ms);
  EXPECT_GE(std::chrono::steady_clock::now() - began, 100ms);
}

TEST(RingReader, StartsMidSegmentFarPastTheFirstChunk) {
  testing::TestDir dir;
  PosixFileIo io;
  RingOptions o = options(dir.path());
  o.segment_bytes = 8 << 20;
  o.max_bytes = 64 << 20;
  auto ring = open_ring(io, o);
  const std::string big(1000, 'b');  // 1032-byte frames: chunk boundaries fall mid-record
  for (int i = 0; i < 3000; ++i) ring->append(0, big, {});
  for (int i = 0; i < 500 && ring->written_seq() < 3000; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(ring->written_seq(), 3000u);
  const auto from_middle = read_sequences(*ring, 2500);
  ASSERT_EQ(from_middle.size(), 500u);
  EXPECT_EQ(from_middle.front(), 2500u);
  // Going back re-reads from the start of the segment.
  const auto again = read_sequences(*ring, 10);
  ASSERT_EQ(again.size(), 2990u);
  EXPECT_EQ(again.front(), 10u);
  EXPECT_EQ(ring->stats().corrupt_skipped, 0u);
}

TEST(RingReader, FramesOfExactlyOneKibibyteLoseNothingAtChunkEdges) {
  testing::TestDir dir;
  PosixFileIo io;
  RingOptions o = options(dir.path());
  o.segment_bytes = 3 << 20;
  o.max_bytes = 64 << 20;
  auto ring = open_ring(io, o);
  const std::string body(1024 - kRecordHeaderSize, 'k');
  for (int i = 0; i < 6000; ++i) ring->append(0, body, {});
  for (int i = 0; i < 500 && ring->written_seq() < 6000; ++i) std::this_thread::sleep_for(10ms);
  const auto seqs = read_sequences(*ring, 0, 1000);
  ASSERT_EQ(seqs.size(), 6000u);
  for (std::uint64_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], i);
  EXPECT_EQ(ring->stats().corrupt_skipped, 0u);
}

TEST(RingReader, RecordLargerThanTheReadChunk) {
  testing::TestDir dir;
  PosixFileIo io;
  RingOptions o = options(dir.path());
  o.segment_bytes = 8 << 20;
  o.max_bytes = 64 << 20;
  auto ring = open_ring(io, o);
  append_all(*ring, 0, 2);
  const std::string huge(3 << 20, 'h');
  std::promise<void> done;
  ASSERT_EQ(ring->append(0, huge, [&](std::error_code, std::uint64_t) { done.set_value(); }),
            Ring::Append::kQueued);
  done.get_future().wait();
  std::vector<std::size_t> sizes;
  std::uint64_t next = 0;
  for (int guard = 0; guard < 100 && next < 3; ++guard) {
    next = ring->read(next, 10, [&](const RecordView& r) { sizes.push_back(r.body.size()); });
  }
  ASSERT_EQ(sizes.size(), 3u);
  EXPECT_EQ(sizes[2], huge.size());
}

TEST(RingReader, CorruptRecordInAClosedSegmentIsCountedAndAcknowledgedNotFatal) {
  testing::TestDir dir;
  PosixFileIo io;
  auto ring = open_ring(io, options(dir.path()));
  append_all(*ring, 0, 200);  // 4 KiB segments: many of them
  // Damage record 5 (in the first segment) on disk.
  std::uint64_t offset = 0;
  scan_segment(io, dir.file(segment_file_name(0)), [&](const RecordView& r, std::uint64_t at) {
    if (r.sequence == 5) offset = at;
  });
  ASSERT_GT(offset, 0u);
  {
    std::fstream f(dir.file(segment_file_name(0)), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset + kRecordHeaderSize + 1));
    f.put('#');
  }
  const auto seqs = read_sequences(*ring, 0);
  EXPECT_EQ(seqs.size(), 199u);
  EXPECT_EQ(std::count(seqs.begin(), seqs.end(), 5u), 0);
  EXPECT_EQ(ring->stats().corrupt_skipped, 1u);
  for (std::uint64_t s : seqs) ring->ack(s);
  EXPECT_EQ(ring->cursor(), 200u);  // the lost record does not hold the cursor back
}

TEST(RingReader, ZerosWhereRecordsShouldBeAreCountedAndReadingGoesOn) {
  testing::TestDir dir;
  PosixFileIo io;
  auto ring = open_ring(io, options(dir.path()));
  append_all(*ring, 0, 200);
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  scan_segment(io, dir.file(segment_file_name(0)), [&](const RecordView& r, std::uint64_t at) {
    if (r.sequence == 3) from = at;
    if (r.sequence == 6) to = at;
  });
  ASSERT_GT(to, from);
  {
    std::fstream f(dir.file(segment_file_name(0)), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(from));
    const std::string zeros(to - from, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  const auto seqs = read_sequences(*ring, 0);
  EXPECT_EQ(seqs.size(), 197u);
  EXPECT_EQ(ring->stats().corrupt_skipped, 3u);
  for (std::uint64_t s : seqs) ring->ack(s);
  EXPECT_EQ(ring->cursor(), 200u);
}

TEST(RingReader, SharedBodiesStayValidWhileTheirOwnerIsHeld) {
  testing::TestDir dir;
  PosixFileIo io;
  RingOptions o = options(dir.path(), FsyncPolicy::kInterval);
  o.segment_bytes = 8 << 20;
  o.max_bytes = 64 << 20;
  auto ring = open_ring(io, o);
  // About 3 MiB: the reader's 1 MiB buffer is refilled several times while bodies from the
  // earlier ones are still held.
  const std::string big(3000, 'b');
  for (std::uint64_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(ring->append(0, std::to_string(i) + big, {}), Ring::Append::kQueued);
  }
  for (int i = 0; i < 500 && ring->written_seq() < 1000; ++i) std::this_thread::sleep_for(10ms);
  std::vector<std::pair<std::string_view, std::shared_ptr<const std::string>>> held;
  std::uint64_t next = 0;
  while (next < 1000) {
    next = ring->read_shared(next, 37, [&](const RecordView& r, const std::shared_ptr<const std::string>& owner) {
      held.emplace_back(r.body, owner);
      return true;
    });
  }
  ASSERT_EQ(held.size(), 1000u);
  std::set<const std::string*> buffers;
  for (std::size_t i = 0; i < held.size(); ++i) {
    EXPECT_EQ(held[i].first, std::to_string(i) + big) << i;
    buffers.insert(held[i].second.get());
  }
  EXPECT_GE(buffers.size(), 3u);   // several buffers were needed
  EXPECT_LE(buffers.size(), 10u);  // and each served many records (no read per call)
}

TEST(RingReader, AVisitorCanStopBeforeARecordAndTheNextReadStartsThere) {
  testing::TestDir dir;
  PosixFileIo io;
  auto ring = open_ring(io, options(dir.path()));
  append_all(*ring, 0, 100);
  std::vector<std::uint64_t> seen;
  auto take_until = [&](std::uint64_t stop_at) {
    return [&seen, stop_at](const RecordView& r, const std::shared_ptr<const std::string>&) {
      if (r.sequence == stop_at) return false;
      seen.push_back(r.sequence);
      return true;
    };
  };
  EXPECT_EQ(ring->read_shared(0, 1000, take_until(42)), 42u);
  EXPECT_EQ(ring->read_shared(42, 1000, take_until(1000)), 100u);
  ASSERT_EQ(seen.size(), 100u);
  for (std::uint64_t i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
}

TEST(Ring, IsAckedKnowsTheCursorAndOutOfOrderAcks) {
  testing::TestDir dir;
  PosixFileIo io;
  auto ring = open_ring(io, options(dir.path()));
  append_all(*ring, 0, 10);
  ring->ack(0);
  ring->ack(5);
  ring->ack_range(7, 9);
  EXPECT_TRUE(ring->is_acked(0));
  EXPECT_FALSE(ring->is_acked(1));
  EXPECT_TRUE(ring->is_acked(5));
  EXPECT_FALSE(ring->is_acked(6));
  EXPECT_TRUE(ring->is_acked(7));
  EXPECT_TRUE(ring->is_acked(8));
  EXPECT_FALSE(ring->is_acked(9));
}

// Under interval, an appender that waits for its record and finds nobody writing writes it
// itself: the completion has fired, on its own thread, by the time append() returns.
TEST(RingInline, AWaitingAppenderUnderIntervalIsCompletedBeforeAppendReturns) {
  testing::TestDir dir;
  PosixFileIo io;
  auto ring = open_ring(io, options(dir.path(), FsyncPolicy::kInterval));
  int inline_completions = 0;
  for (int i = 0; i < 20; ++i) {
    std::atomic<bool> done{false};
    std::atomic<bool> on_this_thread{false};
    const std::thread::id self = std::this_thread::get_id();
    ASSERT_EQ(ring->append(i, body(static_cast<std::uint64_t>(i)), [&](std::error_code ec, std::uint64_t) {
      EXPECT_FALSE(ec);
      on_this_thread = std::this_thread::get_id() == self;
      done = true;
    }), Ring::Append::kQueued);
    // The writer thread holds the role now and then for its periodic sync and checkpoint;
    // a record appended then is left to it and completed a moment later.
    if (done.load() && on_this_thread.load()) ++inline_completions;
    for (int w = 0; w < 5000 && !done.load(); ++w) std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(done.load());
  }
  EXPECT_GE(inline_completions, 10);
  EXPECT_EQ(read_all(*ring, 0).size(), 20u);
}

// An event loop defers the appends of one pass (an HTTP io thread: one request on each of
// many connections) and writes them with write_pending(): one write for all of them, their
// completions on the calling thread before it returns, nothing written before it.
TEST(RingInline, DeferredAppendsAreWrittenTogetherByWritePending) {
  testing::TestDir dir;
  PosixFileIo real;
  FaultyFileIo io(real);
  RingOptions o = options(dir.path(), FsyncPolicy::kInterval);
  o.segment_bytes = 1 << 20;
  o.fsync_interval = 1h;  // the writer thread sleeps through the test
  o.checkpoint_interval = 1h;
  auto ring = open_ring(io, o);
  ASSERT_EQ(append_all(*ring, 0, 1), (std::vector<std::uint64_t>{0}));  // the segment exists
  // The writer thread may have written that one (the segment did not exist yet): let it go
  // back to sleep, so that only write_pending() can write what follows.
  std::this_thread::sleep_for(200ms);
  const std::uint64_t writes = io.writes();
  const std::thread::id self = std::this_thread::get_id();
  std::mutex mutex;
  std::vector<std::uint64_t> completed;
  bool elsewhere = false;
  for (std::uint64_t i = 1; i <= 10; ++i) {
    const std::string b = body(i);
    const std::string_view view = b;
    ASSERT_EQ(ring->append_deferred(static_cast<std::int64_t>(i), std::span<const std::string_view>(&view, 1),
                                    [&](std::error_code ec, std::uint64_t seq) {
                                      EXPECT_FALSE(ec);
                                      std::lock_guard<std::mutex> lock(mutex);
                                      completed.push_back(seq);
                                      elsewhere = elsewhere || std::this_thread::get_id() != self;
                                    }),
              Ring::Append::kQueued);
  }
  std::this_thread::sleep_for(50ms);
  {
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_TRUE(completed.empty());
  }
  EXPECT_EQ(io.writes(), writes);
  EXPECT_EQ(ring->written_seq(), 1u);
  ring->write_pending();
  {
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_EQ(completed, (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
    EXPECT_FALSE(elsewhere);
  }
  EXPECT_EQ(io.writes(), writes + 1);
  const auto bodies = read_all(*ring, 0);
  ASSERT_EQ(bodies.size(), 11u);
  for (std::uint64_t i = 0; i < 11; ++i) EXPECT_EQ(bodies[i], body(i));
}

// With a stage, deferred appends are accepted when copied into it (the completions fire in
// append_deferred), and write_pending() leaves the write to the writer thread: it returns at
// once even while the disk's writes hang, and the records reach the segment afterwards.
TEST(RingInline, WithAStageWritePendingLeavesTheWriteToTheWriterThread) {
  testing::TestDir dir;
  PosixFileIo real;
  FaultyFileIo io(real);
  RingOptions o = options(dir.path() + "/ring", FsyncPolicy::kInterval);
  o.stage_path = dir.file("stage");
  o.fsync_interval = 1h;  // the writer thread wakes only when woken: only write_pending's wake
  o.checkpoint_interval = 1h;
  auto ring = open_ring(io, o);
  ASSERT_TRUE(ring);
  ASSERT_EQ(append_all(*ring, 0, 1).size(), 1u);
  ASSERT_TRUE(eventually([&] { return ring->written_seq() == 1; }, 5s));
  io.hold_writes();
  const std::unique_ptr<FaultyFileIo, void (*)(FaultyFileIo*)> release(
      &io, [](FaultyFileIo* held) { held->release_writes(); });
  std::atomic<int> completed{0};
  for (std::uint64_t i = 1; i <= 10; ++i) {
    const std::string b = body(i);
    const std::string_view view = b;
    ASSERT_EQ(ring->append_deferred(static_cast<std::int64_t>(i), std::span<const std::string_view>(&view, 1),
                                    [&](std::error_code ec, std::uint64_t) {
                                      EXPECT_FALSE(ec);
                                      ++completed;
                                    }),
              Ring::Append::kQueued);
  }
  EXPECT_EQ(completed.load(), 10);
  auto flushed = std::async(std::launch::async, [&] { ring->write_pending(); });
  EXPECT_EQ(flushed.wait_for(2s), std::future_status::ready) << "write_pending() wrote on the calling thread";
  EXPECT_TRUE(eventually([&] { return io.writes_held() > 0; }, 5s));  // the writer thread's write
  EXPECT_EQ(ring->written_seq(), 1u);
  io.release_writes();
  flushed.wait();
  ASSERT_TRUE(eventually([&] { return ring->written_seq() == 11; }, 5s));
  const auto bodies = read_all(*ring, 0);
  ASSERT_EQ(bodies.size(), 11u);
  for (std::uint64_t i = 0; i < 11; ++i) EXPECT_EQ(bodies[i], body(i));
}

// A deferred append whose write_pending() never comes is not stranded: the writer thread
// writes it at its next wake-up, and the completion fires there.
TEST(RingInline, ADeferredAppendNobodyWritesIsWrittenByTheWriterThread) {
  testing::TestDir dir;
  PosixFileIo io;
  auto ring = open_ring(io, options(dir.path(), FsyncPolicy::kInterval));
  std::promise<std::uint64_t> done;
  auto future = done.get_future();
  const std::string b = body(0);
  const std::string_view view = b;
  ASSERT_EQ(ring->append_deferred(0, std::span<const std::string_view>(&view, 1),
                                  [&](std::error_code ec, std::uint64_t seq) {
                                    EXPECT_FALSE(ec);
                                    done.set_value(seq);
                                  }),
            Ring::Append::kQueued);
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(future.get(), 0u);
  EXPECT_EQ(read_all(*ring, 0), (std::vector<std::string>{body(0)}));
}

// Under interval the writer thread syncs without the write role: while the disk is slow
// to sync, waiting appenders still write inline and are answered, and the sync counts as
// durable only what was written before it began. A sync that then fails rewrites the
// records written during it too: nothing is lost either way.
TEST(RingInline, AppendersAreAnsweredWhileTheIntervalSyncIsSlow) {
  for (const bool fail : {false, true}) {
    SCOPED_TRACE(fail ? "the held sync fails" : "the held sync succeeds");
    testing::TestDir dir;
    PosixFileIo real;
    FaultyFileIo io(real);
    auto ring = open_ring(io, options(dir.path(), FsyncPolicy::kInterval));
    io.hold_syncs(".seg");
    append_all(*ring, 0, 5);
    for (int i = 0; i < 5000 && io.syncs_held() == 0; ++i) std::this_thread::sleep_for(1ms);
    ASSERT_EQ(io.syncs_held(), 1);  // the writer thread is in the interval's sync
    const std::uint64_t durable = ring->stats().durable_seq;
    EXPECT_LE(durable, 5u);
    EXPECT_EQ(append_all(*ring, 5, 5), (std::vector<std::uint64_t>{5, 6, 7, 8, 9}));  // answered meanwhile
    EXPECT_EQ(io.syncs_held(), 1);
    EXPECT_EQ(ring->stats().durable_seq, durable);
    if (fail) io.fail_next_sync(".seg");
    io.release_syncs();
    for (int i = 0; i < 5000 && ring->stats().durable_seq < 10; ++i) std::this_thread::sleep_for(1ms);
    EXPECT_EQ(ring->stats().durable_seq, 10u);
    EXPECT_EQ(ring->stats().sync_errors, fail ? 1u : 0u);
    const auto bodies = read_all(*ring, 0);
    ASSERT_EQ(bodies.size(), 10u);
    for (std::uint64_t i = 0; i < 10; ++i) EXPECT_EQ(bodies[i], body(i));
    ring.reset();
    RecoveryReport report;
    auto again = open_ring(io, options(dir.path(), FsyncPolicy::kInterval), &report);
    EXPECT_EQ(report.next_seq, 10u);
    EXPECT_EQ(read_all(*again, 0).size(), 10u);
  }
}

// While the writer is busy (here: held in a sync under always), appends queue up; past a
// megabyte the queue goes on in further batches. When the writer is free again, every
// batch is written in order, one fdatasync covers them all, each completion fires once with
// its own sequence number; with the held sync failing the rescue keeps all of them, and a
// write failing on the way leaves the batches behind it waiting until the retry.
TEST(Ring, ABacklogQueuedInSeveralBatchesIsWrittenInOrder) {
  enum class Fault { kNone, kSync, kWrite };
  for (const Fault fault : {Fault::kNone, Fault::kSync, Fault::kWrite}) {
    SCOPED_TRACE(fault == Fault::kNone   ? "no fault"
                 : fault == Fault::kSync ? "the held sync fails"
                                         : "the disk is full for a moment");
    testing::TestDir dir;
    PosixFileIo real;
    FaultyFileIo io(real);
    RingOptions o = options(dir.path(), FsyncPolicy::kAlways);
    o.segment_bytes = 32u << 20;
    o.max_bytes = 64u << 20;
    auto ring = open_ring(io, o);
    io.hold_syncs(".seg");
    std::mutex mutex;
    std::vector<std::uint64_t> completed;  // sequence numbers in completion order
    std::atomic<int> errors{0};
    auto record = [&](std::error_code ec, std::uint64_t seq) {
      if (ec) ++errors;
      std::lock_guard<std::mutex> lock(mutex);
      completed.push_back(seq);
    };
    ASSERT_EQ(ring->append(0, body(0), record), Ring::Append::kQueued);
    for (int i = 0; i < 5000 && io.syncs_held() == 0; ++i) std::this_thread::sleep_for(1ms);
    ASSERT_EQ(io.syncs_held(), 1);  // the writer thread is in the first record's sync
    constexpr std::uint64_t kCount = 8001;  // about 8 MiB of 1,000-byte bodies behind it
    for (std::uint64_t i = 1; i < kCount; ++i) {
      const std::string b = body(i) + std::string(1000 - body(i).size(), 'b');
      ASSERT_EQ(ring->append(static_cast<std::int64_t>(i), b, record, /*caller_waits=*/i % 2 == 0),
                Ring::Append::kQueued);
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      EXPECT_TRUE(completed.empty());  // nothing is durable yet
    }
    if (fault == Fault::kSync) io.fail_next_sync(".seg");
    // A full disk fails every write that grows a segment (the checkpoint files are written
    // in place), so the first of the queued batches fails, and is retried once space returns.
    if (fault == Fault::kWrite) io.set_disk_full(true);
    const std::uint64_t syncs_before = io.syncs();
    io.release_syncs();
    if (fault == Fault::kWrite) {
      for (int i = 0; i < 5000 && ring->stats().write_errors == 0; ++i) std::this_thread::sleep_for(1ms);
      EXPECT_GE(ring->stats().write_errors, 1u);
      EXPECT_LT(ring->stats().durable_seq, kCount);
      io.set_disk_full(false);
    }
    for (int i = 0; i < 10000 && ring->stats().durable_seq < kCount; ++i) std::this_thread::sleep_for(1ms);
    ASSERT_EQ(ring->stats().durable_seq, kCount);
    if (fault == Fault::kNone) {
      // One for the eight batches (and a few checkpoint writes), not one per batch.
      EXPECT_LT(io.syncs() - syncs_before, 6u);
    }
    for (int i = 0; i < 5000; ++i) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (completed.size() >= kCount) break;
      }
      std::this_thread::sleep_for(1ms);
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      ASSERT_EQ(completed.size(), kCount);
      for (std::uint64_t i = 0; i < kCount; ++i) ASSERT_EQ(completed[i], i);
    }
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(ring->stats().sync_errors, fault == Fault::kSync ? 1u : 0u);
    if (fault != Fault::kWrite) {
      EXPECT_EQ(ring->stats().write_errors, 0u);
    }
    ring.reset();
    auto again = open_ring(io, o);
    const auto bodies = read_all(*again, 0);
    ASSERT_EQ(bodies.size(), kCount);
    EXPECT_EQ(bodies[0], body(0));
    for (std::uint64_t i = 1; i < kCount; ++i) ASSERT_EQ(bodies[i].substr(0, body(i).size()), body(i)) << i;
  }
}

// An inline write is one plain write: an append whose queue does not fit the open segment
// (a roll syncs the full segment and creates the next) is left to the writer thread, so an
// io or Paho thread never blocks in a sync, not even under never.
TEST(RingInline, SegmentRollsAreLeftToTheWriterThread) {
  for (const FsyncPolicy policy : {FsyncPolicy::kInterval, FsyncPolicy::kNever}) {
    testing::TestDir dir;
    PosixFileIo io;
    auto ring = open_ring(io, options(dir.path(), policy));  // 4 KiB segments
    const std::thread::id self = std::this_thread::get_id();
    int elsewhere = 0;
    for (int i = 0; i < 20; ++i) {
      std::atomic<bool> done{false};
      std::atomic<bool> on_this_thread{false};
      ASSERT_EQ(ring->append(i, std::string(1000, 'r'), [&](std::error_code ec, std::uint64_t) {
        EXPECT_FALSE(ec);
        on_this_thread = std::this_thread::get_id() == self;
        done = true;
      }), Ring::Append::kQueued);
      for (int w = 0; w < 5000 && !done.load(); ++w) std::this_thread::sleep_for(1ms);
      ASSERT_TRUE(done.load());
      if (!on_this_thread.load()) ++elsewhere;
    }
    // Three 1,000-byte records fit a 4 KiB segment: 20 records need 6 rolls.
    EXPECT_GE(elsewhere, 6);
    EXPECT_GE(ring->stats().segments, 7u);
    EXPECT_EQ(read_all(*ring, 0).size(), 20u);
  }
}

// Under always, the writer thread writes and syncs; appenders never block in a sync.
TEST(RingInline, UnderAlwaysTheWriterThreadCompletes) {
  testing::TestDir dir;
  PosixFileIo io;
  auto ring = open_ring(io, options(dir.path(), FsyncPolicy::kAlways));
  std::promise<std::thread::id> on;
  ASSERT_EQ(ring->append(0, "x", [&](std::error_code ec, std::uint64_t) {
    EXPECT_FALSE(ec);
    on.set_value(std::this_thread::get_id());
  }), Ring::Append::kQueued);
  auto future = on.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_NE(future.get(), std::this_thread::get_id());
  EXPECT_EQ(ring->stats().durable_seq, 1u);
}

// A completion may append again (on the thread that holds the write role): the nested
// append is queued for the writer thread, not written by a thread that already writes.
TEST(RingInline, ACompletionThatAppendsAgainIsCompletedToo) {
  testing::TestDir dir;
  PosixFileIo io;
  auto ring = open_ring(io, options(dir.path(), FsyncPolicy::kInterval));
  std::promise<std::uint64_t> second;
  ASSERT_EQ(ring->append(0, "first", [&](std::error_code ec, std::uint64_t) {
    EXPECT_FALSE(ec);
    EXPECT_EQ(ring->append(1, "second", [&](std::error_code ec2, std::uint64_t seq) {
      EXPECT_FALSE(ec2);
      second.set_value(seq);
    }), Ring::Append::kQueued);
  }), Ring::Append::kQueued);
  auto future = second.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(future.get(), 1u);
  EXPECT_EQ(read_all(*ring, 0), (std::vector<std::string>{"first", "second"}));
}

// Records nobody waits for (UDP datagrams, MQTT QoS 0) are left to the writer thread, which
// lets a trickle of them gather (about a millisecond) instead of writing each one alone.
TEST(RingInline, RecordsNobodyWaitsForGatherIntoFewerWrites) {
  testing::TestDir dir;
  PosixFileIo real;
  FaultyFileIo io(real);
  auto o = options(dir.path(), FsyncPolicy::kInterval);
  o.segment_bytes = 1 << 20;
  auto ring = open_ring(io, o);
  const std::uint64_t writes_before = io.writes();
  std::atomic<int> completed{0};
  constexpr int kRecords = 50;
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_EQ(ring->append(i, body(static_cast<std::uint64_t>(i)),
                           [&](std::error_code ec, std::uint64_t) {
                             EXPECT_FALSE(ec);
                             completed.fetch_add(1);
                           },
                           /*caller_waits=*/false),
              Ring::Append::kQueued);
    std::this_thread::sleep_for(100us);  // slower than the writer: without gathering, one write each
  }
  for (int w = 0; w < 5000 && completed.load() < kRecords; ++w) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(completed.load(), kRecords);
  EXPECT_LT(io.writes() - writes_before, static_cast<std::uint64_t>(kRecords / 2));
  EXPECT_EQ(read_all(*ring, 0).size(), static_cast<std::size_t>(kRecords));
}

TEST(RingReader, WaitReadableWakesOnAnAppend) {
  testing::TestDir dir;
  PosixFileIo io;
  auto ring = open_ring(io, options(dir.path(), FsyncPolicy::kInterval));
  const auto start = std::chrono::steady_clock::now();
  std::thread appender([&] {
    std::this_thread::sleep_for(50ms);
    ring->append(0, "late", {});
  });
  ring->wait_readable(0, 5s);
  const auto waited = std::chrono::steady_clock::now() - start;
  appender.join();
  EXPECT_EQ(ring->written_seq(), 1u);
  EXPECT_LT(waited, 2s);
}

}  // namespace
}  // namespace tributary::buffer

namespace tributary::buffer {
namespace {

TEST(RingFaults, DiskFullAcrossSegmentRollsLosesAndDuplicatesNothing) {
  testing::TestDir dir;
  PosixFileIo real;
  FaultyFileIo io(real);
  auto ring = open_ring(io, options(dir.path()));  // 4 KiB segments
  append_all(*ring, 0, 30);
  io.set_disk_full(true);
  std::vector<std::future<std::uint64_t>> waiting;
  for (std::uint64_t i = 30; i < 90; ++i) {
    auto promise = std::make_shared<std::promise<std::uint64_t>>();
    waiting.push_back(promise->get_future());
    const auto r = ring->append(0, body(i), [promise](std::error_code ec, std::uint64_t seq) {
      EXPECT_FALSE(ec);
      promise->set_value(seq);
    });
    if (r != Ring::Append::kQueued) {
      waiting.pop_back();
      break;  // refused while the writer is stalled: fine, nothing queued
    }
  }
  std::this_thread::sleep_for(100ms);
  io.set_disk_full(false);
  std::vector<std::uint64_t> seqs;
  for (auto& f : waiting) {
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
    seqs.push_back(f.get());
  }
  for (std::size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], 30 + i);
  const auto all = read_sequences(*ring, 0);
  ASSERT_EQ(all.size(), 30 + seqs.size());
  for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], i);
  EXPECT_EQ(ring->stats().corrupt_skipped, 0u);
  ring.reset();
  RecoveryReport report;
  auto again = open_ring(io, options(dir.path()), &report);
  EXPECT_EQ(report.next_seq, 30 + seqs.size());
}

TEST(RingFaults, ClosingWhileTheDiskStaysFullFailsWhatIsPendingAndReturns) {
  testing::TestDir dir;
  PosixFileIo real;
  FaultyFileIo io(real);
  auto ring = open_ring(io, options(dir.path()));
  io.set_disk_full(true);
  std::promise<std::error_code> result;
  ASSERT_EQ(ring->append(0, "stuck", [&](std::error_code ec, std::uint64_t) { result.set_value(ec); }),
            Ring::Append::kQueued);
  const auto start = std::chrono::steady_clock::now();
  ring.reset();  // must not hang
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  auto f = result.get_future();
  ASSERT_EQ(f.wait_for(1s), std::future_status::ready);
  EXPECT_TRUE(f.get());  // told it failed, never that it was stored
}

TEST(RingFaults, AppendsAfterCloseAreRefused) {
  testing::TestDir dir;
  PosixFileIo io;
  auto ring = open_ring(io, options(dir.path()));
  append_all(*ring, 0, 3);
  ring->close();
  EXPECT_EQ(ring->append(0, "late", {}), Ring::Append::kClosed);
  EXPECT_EQ(read_all(*ring, 0).size(), 3u);  // reading still works
}

}  // namespace
}  // namespace tributary::buffer

namespace tributary::buffer {
namespace {

TEST(RingFaults, AcknowledgedSegmentsAreReclaimedEvenWhenTheDiskIsFull) {
  testing::TestDir dir;
  PosixFileIo real;
  FaultyFileIo io(real);
  auto ring = open_ring(io, options(dir.path()));  // 4 KiB segments
  append_all(*ring, 0, 400);
  const auto before = ring->stats();
  ASSERT_GE(before.segments, 4u);
  io.set_disk_full(true);
  for (std::uint64_t s = 0; s < 400; ++s) ring->ack(s);
  bool reclaimed = false;
  for (int i = 0; i < 300 && !reclaimed; ++i) {
    reclaimed = ring->stats().segments == 1;
    if (!reclaimed) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(reclaimed) << "a full disk must not stop the ring from freeing space";
  EXPECT_LT(ring->stats().disk_bytes, before.disk_bytes);
  io.set_disk_full(false);
  ring.reset();
  RecoveryReport report;
  auto again = open_ring(io, options(dir.path()), &report);
  EXPECT_EQ(report.cursor, 400u);
}

// Appends COUNT records in groups, waiting for each group: the writer keeps up, so under
// drop_oldest nothing is refused. Returns how many appends were refused.
std::uint64_t append_in_groups(Ring& ring, std::uint64_t start, std::uint64_t count) {
  std::uint64_t refused = 0;
  for (std::uint64_t i = start; i < start + count;) {
    const std::uint64_t n = std::min<std::uint64_t>(10, start + count - i);
    std::vector<std::future<void>> done;
    for (std::uint64_t j = i; j < i + n; ++j) {
      auto promise = std::make_shared<std::promise<void>>();
      auto future = promise->get_future();
      if (ring.append(0, body(j), [promise](std::error_code, std::uint64_t) { promise->set_value(); }) ==
          Ring::Append::kQueued) {
        done.push_back(std::move(future));
      } else {
        ++refused;
      }
    }
    for (auto& f : done) EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
    i += n;
  }
  return refused;
}

RingOptions drop_oldest_options(const std::string& dir) {
  RingOptions o = options(dir, FsyncPolicy::kInterval);
  o.max_bytes = 16 * 1024;  // four 4 KiB segments
  o.when_full = WhenFull::kDropOldest;
  return o;
}

bool contiguous(const std::vector<std::uint64_t>& seqs) {
  for (std::size_t i = 1; i < seqs.size(); ++i) {
    if (seqs[i] != seqs[i - 1] + 1) return false;
  }
  return true;
}

TEST(RingDropOldest, DiscardsTheOldestSegmentsCountsThemAndNeverRefuses) {
  testing::TestDir dir;
  PosixFileIo io;
  auto ring = open_ring(io, drop_oldest_options(dir.path()));
  EXPECT_EQ(append_in_groups(*ring, 0, 1000), 0u);
  const RingStats st = ring->stats();
  EXPECT_GT(st.dropped_records, 500u);
  EXPECT_GT(st.dropped_segments, 5u);
  EXPECT_LE(st.disk_bytes, 16u * 1024 + 4096);
  // What is left is the newest records, in order, right after the dropped ones.
  const auto seqs = read_sequences(*ring, 0);
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs.front(), st.dropped_records);
  EXPECT_EQ(seqs.back(), 999u);
  EXPECT_TRUE(contiguous(seqs));
  for (std::uint64_t s : seqs) ring->ack(s);
  EXPECT_EQ(ring->cursor(), 1000u);  // dropped records count as acknowledged
}

TEST(RingDropOldest, RecordsTheReaderHasTakenAreKeptAndNewerOnesDropped) {
  testing::TestDir dir;
  PosixFileIo io;
  auto ring = open_ring(io, drop_oldest_options(dir.path()));
  append_in_groups(*ring, 0, 10);
  std::vector<std::uint64_t> taken;
  ring->read(0, 5, [&](const RecordView& r) { taken.push_back(r.sequence); });  // in flight, unacked
  ASSERT_EQ(taken, (std::vector<std::uint64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(append_in_groups(*ring, 10, 1000), 0u);
  const RingStats st = ring->stats();
  EXPECT_GT(st.dropped_records, 500u);
  // After a rewind (a retry), the first segment is all there; then a gap; then the newest.
  const auto seqs = read_sequences(*ring, 0);
  ASSERT_GT(seqs.size(), 10u);
  std::size_t gap = 0;
  while (gap + 1 < seqs.size() && seqs[gap + 1] == seqs[gap] + 1) ++gap;
  EXPECT_EQ(seqs.front(), 0u);
  EXPECT_GE(seqs[gap], 9u);  // the taken segment held at least the first 10
  ASSERT_LT(gap + 1, seqs.size());
  EXPECT_EQ(seqs[gap + 1] - seqs[gap] - 1, st.dropped_records);
  EXPECT_EQ(seqs.back(), 1009u);
  for (std::uint64_t s : seqs) ring->ack(s);
  EXPECT_EQ(ring->cursor(), 1010u);
}

// Emptying a dropped segment's file frees its space as a removal does (8-60 ms for a full
// segment on a real disk): the writer thread does not wait for it, so appends go on, their
// segment rolls included, while the ring drops its oldest segments.
TEST(RingDropOldest, AppendsGoOnWhileDroppedSegmentsAreStillBeingEmptied) {
  testing::TestDir dir;
  PosixFileIo real;
  FaultyFileIo io(real);
  auto ring = open_ring(io, drop_oldest_options(dir.path()));  // four 4 KiB segments
  const ReleaseRemovesAtExit release{io};
  io.hold_removes();
  for (std::uint64_t i = 0; i < 600; i += 10) {
    // The reader holds the first segment: the ones dropped after it stay as empty markers.
    if (i == 100) ring->read(0, 3, [](const RecordView&) {});
    std::vector<std::future<void>> done;
    for (std::uint64_t j = i; j < i + 10; ++j) {
      auto promise = std::make_shared<std::promise<void>>();
      done.push_back(promise->get_future());
      ASSERT_EQ(ring->append(0, body(j), [promise](std::error_code, std::uint64_t) { promise->set_value(); }),
                Ring::Append::kQueued);
    }
    for (auto& f : done) {
      ASSERT_EQ(f.wait_for(5s), std::future_status::ready)
          << "appends waited for a dropped segment's file to be emptied (at record " << i << ")";
    }
  }
  EXPECT_GT(ring->stats().dropped_segments, 0u);
  EXPECT_GT(io.removes_held(), 0) << "no dropped segment was being emptied";
  io.release_removes();
  ring.reset();
  std::size_t markers = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    std::uint64_t first = 0;
    if (parse_dropped_file_name(entry.path().filename().string(), &first)) {
      ++markers;
      EXPECT_EQ(entry.file_size(), 0u) << entry.path();
    }
  }
  EXPECT_GT(markers, 0u);
  auto again = open_ring(io, drop_oldest_options(dir.path()));
  const auto seqs = read_sequences(*again, 0);
  ASSERT_FALSE(seqs.empty());
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
  EXPECT_EQ(seqs.back(), 599u);
  EXPECT_LT(seqs.size(), 600u);  // the dropped ones do not come back
}

TEST(RingDropOldest, AReopenedRingSkipsWhatWasDroppedAndItsCursorPassesIt) {
  testing::TestDir dir;
  PosixFileIo io;
  std::vector<std::uint64_t> before;
  {
    auto ring = open_ring(io, drop_oldest_options(dir.path()));
    append_in_groups(*ring, 0, 600);
    ring->read(0, 3, [](const RecordView&) {});  // the reader holds the first segment
    append_in_groups(*ring, 600, 600);
    ASSERT_GT(ring->stats().dropped_records, 0u);
    before = read_sequences(*ring, 0);
  }
  std::size_t markers = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    std::uint64_t first = 0;
    if (parse_dropped_file_name(entry.path().filename().string(), &first)) {
      ++markers;
      EXPECT_EQ(entry.file_size(), 0u);
    }
  }
  EXPECT_GT(markers, 0u);
  const InspectReport inspected = inspect_ring(io, dir.path());
  EXPECT_EQ(inspected.backlog_records, before.size());
  // Markers below the cursor are already reclaimed; the rest stand for what was dropped.
  EXPECT_EQ(inspected.dropped_records, 1200u - inspected.cursor - before.size());
  EXPECT_EQ(inspected.corrupt_records, 0u);
  RecoveryReport report;
  auto ring = open_ring(io, drop_oldest_options(dir.path()), &report);
  EXPECT_EQ(report.next_seq, 1200u);
  const auto after = read_sequences(*ring, ring->cursor());
  EXPECT_EQ(after, before);
  for (std::uint64_t s : after) ring->ack(s);
  EXPECT_EQ(ring->cursor(), 1200u);
  EXPECT_EQ(ring->stats().corrupt_skipped, 0u);  // dropped is not corrupt
}

// Under interval, a waiting appender's records are accepted once copied into the stage. A
// process that dies before the writer puts them in a segment (here its writes hang, as on a
// stalled disk) loses none of them: the next open appends them from the stage.
TEST(Ring, RecordsAcceptedIntoTheStageSurviveAProcessThatDiesBeforeWritingThem) {
  testing::TestDir dir;
  RingOptions o = options(dir.path() + "/ring", FsyncPolicy::kInterval);
  o.stage_path = dir.file("stage");
  o.stage_bytes = 64 << 10;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    PosixFileIo real;
    FaultyFileIo io(real);
    std::string error;
    auto ring = Ring::open(io, o, nullptr, &error);
    if (!ring) _exit(2);
    io.hold_writes();
    const auto seqs = append_all(*ring, 0, 50);  // every completion fired: accepted
    _exit(seqs.size() == 50 && ring->written_seq() == 0 ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  PosixFileIo io;
  RecoveryReport report;
  auto ring = open_ring(io, o, &report);
  ASSERT_TRUE(ring);
  EXPECT_EQ(report.staged_records, 50u);
  const auto bodies = read_all(*ring, 0);
  ASSERT_EQ(bodies.size(), 50u);
  for (std::uint64_t i = 0; i < 50; ++i) EXPECT_EQ(bodies[i], body(i));
  // Written and the stage emptied: another restart replays nothing and duplicates nothing.
  ring.reset();
  ring = open_ring(io, o, &report);
  EXPECT_EQ(report.staged_records, 0u);
  EXPECT_EQ(read_all(*ring, 0).size(), 50u);
}

// The stage's use is counted: records copied into it, appends that found it full (they wait
// for the segment write instead), and the bytes it holds that no segment has yet.
TEST(Ring, TheStagesUseIsCounted) {
  testing::TestDir dir;
  RingOptions o = options(dir.path() + "/ring", FsyncPolicy::kInterval);
  o.stage_path = dir.file("stage");
  o.stage_bytes = 64 << 10;
  PosixFileIo real;
  FaultyFileIo io(real);
  auto ring = open_ring(io, o);
  ASSERT_TRUE(ring);
  io.hold_writes();
  const std::unique_ptr<FaultyFileIo, void (*)(FaultyFileIo*)> release(
      &io, [](FaultyFileIo* held) { held->release_writes(); });
  ASSERT_EQ(append_all(*ring, 0, 50).size(), 50u);  // accepted from the stage, nothing written
  RingStats stats = ring->stats();
  EXPECT_EQ(stats.staged_records, 50u);
  EXPECT_EQ(stats.stage_full, 0u);
  EXPECT_GT(stats.stage_used_bytes, 50u * body(0).size());
  // 1 KiB records nobody waits for, until one finds no room in the 64 KiB stage.
  const std::string big(1024, 'b');
  std::uint64_t appended = 50;
  for (int i = 0; i < 200 && ring->stats().stage_full == 0; ++i, ++appended) {
    ASSERT_EQ(ring->append(0, big, {}, /*caller_waits=*/false), Ring::Append::kQueued);
  }
  stats = ring->stats();
  EXPECT_EQ(stats.stage_full, 1u);
  EXPECT_LT(stats.staged_records, appended);
  EXPECT_GT(stats.staged_records, 50u + 50u);  // at least 50 KiB of the 64 fitted
  EXPECT_LE(stats.stage_used_bytes, o.stage_bytes);
  io.release_writes();
  ASSERT_TRUE(eventually([&] { return ring->written_seq() == appended; }, 10s));
  EXPECT_TRUE(eventually([&] { return ring->stats().stage_used_bytes == 0; }, 10s));
  // Once the writer is past the record that found it full, staging resumes.
  const std::uint64_t before = ring->stats().staged_records;
  ASSERT_EQ(append_all(*ring, appended, 1).size(), 1u);
  EXPECT_EQ(ring->stats().staged_records, before + 1);
}

}  // namespace
}  // namespace tributary::buffer
