// Crash test for the disk ring: a child appends under load with fsync: always, in groups of
// five records (as one request's events), and reports each group the ring accepted; it is
// killed with SIGKILL at random points, 50 times. After each kill the ring is recovered in
// this process and checked: every record whose acceptance the child reported is present,
// exactly once, in order, with its own body; nothing corrupt is returned; and the ring ends
// with a whole group (no request half kept). Bounded: 50 kills, a few seconds in all.

#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <charconv>
#include <filesystem>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "buffer/ring.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"

namespace tributary::testing {
namespace {

using namespace std::chrono_literals;

// Highest sequence number the child reported as accepted, from its output file.
std::int64_t last_accepted(const std::string& out) {
  std::istringstream in(read_file(out));
  std::string line;
  std::int64_t last = -1;
  while (std::getline(in, line)) {
    if (line.rfind("ok ", 0) == 0 && line.size() > 3) {
      std::int64_t v = 0;
      const auto [p, ec] = std::from_chars(line.data() + 3, line.data() + line.size(), v);
      if (ec == std::errc() && p == line.data() + line.size()) last = std::max(last, v);
    }
  }
  return last;
}

TEST(RingCrash, AcceptedRecordsSurviveFiftySigkills) {
  const std::string dir = work_dir("ring-crash") + "/buffer";
  std::mt19937 rng(std::random_device{}());
  std::int64_t promised = -1;  // every sequence number up to this was reported accepted
  int kills = 0;
  std::uint64_t torn = 0;
  std::uint64_t unfinished = 0;
  for (int round = 0; round < 50; ++round) {
    const std::string out = work_dir("ring-crash-round") + "/out";
    const pid_t pid = spawn_process({TRIBUTARY_RING_CRASH_CHILD, dir}, out, out + ".err");
    ASSERT_GT(pid, 0);
    // Let it get going, then kill it without warning at a random moment.
    ASSERT_TRUE(eventually([&] { return read_file(out).find("start ") != std::string::npos; }, 10s))
        << read_file(out + ".err");
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 60));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child ended by itself: " << read_file(out + ".err");
    ++kills;
    promised = std::max(promised, last_accepted(out));

    // Recover and check, as the next start would.
    buffer::PosixFileIo io;
    buffer::RingOptions o;
    o.dir = dir;
    o.segment_bytes = 64 * 1024;
    o.max_bytes = 1ull << 30;
    buffer::RecoveryReport report;
    std::string error;
    auto ring = buffer::Ring::open(io, o, &report, &error);
    ASSERT_TRUE(ring) << error;
    torn += report.torn_records;
    unfinished += report.unfinished_group_records;
    EXPECT_EQ(report.corrupt_records, 0u) << "round " << round;
    EXPECT_EQ(report.next_seq % 5, 0u) << "round " << round << ": part of a group was kept";
    ASSERT_GE(static_cast<std::int64_t>(report.next_seq), promised + 1)
        << "round " << round << ": accepted records are missing after the kill";
    std::uint64_t expected = 0;
    bool bodies_ok = true;
    std::uint64_t next = 0;
    while (next < ring->written_seq()) {
      const std::uint64_t before = next;
      next = ring->read(next, 5000, [&](const buffer::RecordView& r) {
        const std::string want = "rec-" + std::to_string(r.sequence) + std::string(r.sequence % 300, '.');
        if (r.sequence != expected || r.body != want) bodies_ok = false;
        ++expected;
      });
      if (next == before) break;
    }
    EXPECT_TRUE(bodies_ok) << "round " << round << ": a record is out of order or damaged";
    EXPECT_EQ(expected, report.next_seq) << "round " << round;
    EXPECT_EQ(ring->stats().corrupt_skipped, 0u);
  }
  EXPECT_EQ(kills, 50);
  EXPECT_GT(promised, 0) << "the child never got an append accepted: the test proved nothing";
  RecordProperty("kills", kills);
  RecordProperty("accepted", static_cast<int>(promised + 1));
  RecordProperty("torn_tails_cut", static_cast<int>(torn));
  RecordProperty("unfinished_group_records_cut", static_cast<int>(unfinished));
  std::printf("ring crash: %d kills, %lld accepted records verified, %llu torn tails cut, %llu records of "
              "unfinished groups cut\n",
              kills, static_cast<long long>(promised + 1), static_cast<unsigned long long>(torn),
              static_cast<unsigned long long>(unfinished));
}

}  // namespace
}  // namespace tributary::testing
