#include "buffer/stage.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "buffer/record.h"
#include "buffer/tests/test_dir.h"

namespace tributary::buffer {
namespace {

const std::string kRingA(16, 'a');
const std::string kRingB(16, 'b');

std::string body(std::uint64_t seq) { return "event-" + std::to_string(seq) + std::string(200, 'x'); }

std::string frame(std::uint64_t seq, bool continues = false) {
  std::string out;
  encode_record(seq, 1000 + static_cast<std::int64_t>(seq), RecordType::kEvent, body(seq), out, continues);
  return out;
}

std::unique_ptr<Stage> open_stage(const std::string& path, const std::string& ring_id,
                                  std::uint64_t bytes = 1 << 20) {
  std::string error;
  auto stage = Stage::open(path, bytes, ring_id, &error);
  EXPECT_NE(stage, nullptr) << error;
  return stage;
}

// The sequence numbers replay() visits, each checked against its body.
std::vector<std::uint64_t> replayed(const Stage& stage, std::uint64_t from) {
  std::vector<std::uint64_t> seqs;
  const std::uint64_t n = stage.replay(from, [&](const RecordView& r) {
    EXPECT_EQ(r.body, body(r.sequence));
    seqs.push_back(r.sequence);
  });
  EXPECT_EQ(n, seqs.size());
  return seqs;
}

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t s = from; s < to; ++s) out.push_back(s);
  return out;
}

TEST(StageTest, WhatWasNotWrittenIsReplayedAfterTheProcessIsGone) {
  testing::TestDir dir;
  {
    auto stage = open_stage(dir.file("stage"), kRingA);
    for (std::uint64_t s = 0; s < 10; ++s) ASSERT_TRUE(stage->put(frame(s), s + 1));
    stage->written(5);
  }  // no reset: as after a crash
  auto stage = open_stage(dir.file("stage"), kRingA);
  EXPECT_EQ(replayed(*stage, 5), range(5, 10));
}

TEST(StageTest, RecordsTheSegmentsAlreadyHaveAreSkipped) {
  testing::TestDir dir;
  auto stage = open_stage(dir.file("stage"), kRingA);
  for (std::uint64_t s = 0; s < 10; ++s) ASSERT_TRUE(stage->put(frame(s), s + 1));
  // Written to the segments, the process gone before written() was called.
  EXPECT_EQ(replayed(*stage, 7), range(7, 10));
  EXPECT_EQ(replayed(*stage, 10), std::vector<std::uint64_t>{});
}

TEST(StageTest, ReplayCrossesTheEndOfTheAreaOverOlderLaps) {
  testing::TestDir dir;
  const std::string path = dir.file("stage");
  std::uint64_t next = 0;
  {
    auto stage = open_stage(path, kRingA, 4096);
    // Many laps, the writer keeping three records behind, so frames of older laps stay
    // beyond the head and the last ones straddle a wrap.
    for (; next < 200; ++next) {
      ASSERT_TRUE(stage->put(frame(next), next + 1)) << next;
      if (next >= 3) stage->written(next - 2);
    }
    EXPECT_GT(stage->used_bytes(), 0u);
  }
  auto stage = open_stage(path, kRingA, 4096);
  EXPECT_EQ(replayed(*stage, 197), range(197, 200));
}

TEST(StageTest, ATornFrameEndsTheReplay) {
  testing::TestDir dir;
  const std::string path = dir.file("stage");
  std::uint64_t at = 0;
  {
    auto stage = open_stage(path, kRingA);
    for (std::uint64_t s = 0; s < 5; ++s) {
      if (s == 3) at = Stage::kHeaderSize + 3 * frame(0).size() + kRecordHeaderSize + 10;
      ASSERT_TRUE(stage->put(frame(s), s + 1));
    }
  }
  // A copy cut short inside record 3's body.
  const int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, "\0\0\0\0", 4, static_cast<off_t>(at)), 4);
  ::close(fd);
  auto stage = open_stage(path, kRingA);
  EXPECT_EQ(replayed(*stage, 0), range(0, 3));
}

TEST(StageTest, AGroupIsReplayedOnlyWhole) {
  testing::TestDir dir;
  const std::string path = dir.file("stage");
  {
    auto stage = open_stage(path, kRingA);
    ASSERT_TRUE(stage->put(frame(0, true) + frame(1, true) + frame(2), 3));
    // The second group lost its last record: the copy did not finish.
    std::string cut = frame(3, true) + frame(4, true) + frame(5);
    cut.resize(cut.size() - 20);
    ASSERT_TRUE(stage->put(cut, 6));
  }
  auto stage = open_stage(path, kRingA);
  EXPECT_EQ(replayed(*stage, 0), range(0, 3));
}

TEST(StageTest, AStageOfAnotherRingIsNeverReplayed) {
  testing::TestDir dir;
  const std::string path = dir.file("stage");
  {
    auto stage = open_stage(path, kRingA);
    ASSERT_TRUE(stage->put(frame(0), 1));
  }
  auto stage = open_stage(path, kRingB);
  EXPECT_EQ(replayed(*stage, 0), std::vector<std::uint64_t>{});
  std::string error;
  ASSERT_TRUE(stage->reset(&error)) << error;
  ASSERT_TRUE(stage->put(frame(0), 1));
  EXPECT_EQ(replayed(*stage, 0), range(0, 1));
}

TEST(StageTest, NoRoomUntilTheSegmentsCatchUp) {
  testing::TestDir dir;
  auto stage = open_stage(dir.file("stage"), kRingA, 4096);
  std::uint64_t s = 0;
  while (stage->put(frame(s), s + 1)) ++s;
  EXPECT_GT(s, 10u);
  EXPECT_LE(stage->used_bytes(), stage->data_bytes());
  stage->written(s);
  EXPECT_EQ(stage->used_bytes(), 0u);
  EXPECT_TRUE(stage->put(frame(s), s + 1));
}

TEST(StageTest, OneStageServesOneRingAtATime) {
  testing::TestDir dir;
  const std::string path = dir.file("stage");
  auto first = open_stage(path, kRingA);
  std::string error;
  EXPECT_EQ(Stage::open(path, 1 << 20, kRingB, &error), nullptr);
  EXPECT_EQ(error, "stage " + path + " is in use by another ring (each process needs its own)");
  first.reset();
  EXPECT_NE(Stage::open(path, 1 << 20, kRingB, &error), nullptr) << error;
}

TEST(StageTest, ResetEmptiesItAndTakesTheNewSize) {
  testing::TestDir dir;
  const std::string path = dir.file("stage");
  {
    auto stage = open_stage(path, kRingA, 8192);
    ASSERT_TRUE(stage->put(frame(0), 1));
  }
  auto stage = open_stage(path, kRingA, 16384);
  EXPECT_EQ(stage->data_bytes(), 8192u);  // kept until replayed
  EXPECT_EQ(replayed(*stage, 0), range(0, 1));
  std::string error;
  ASSERT_TRUE(stage->reset(&error)) << error;
  EXPECT_EQ(stage->data_bytes(), 16384u);
  EXPECT_EQ(replayed(*stage, 0), std::vector<std::uint64_t>{});
}

// A stage larger than the room its file system has (a small /run) is refused with an
// error at open, not a SIGBUS when its pages are first written. A forked child mounts a
// 256 KiB tmpfs in a mount namespace of its own (root only) and opens a 4 MiB stage there.
TEST(StageTest, AStageItsFileSystemCannotHoldIsAnErrorNotACrash) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  testing::TestDir dir;
  const std::string mnt = dir.file("small");
  ASSERT_EQ(::mkdir(mnt.c_str(), 0700), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::unshare(CLONE_NEWNS) != 0 || ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tributary-test", mnt.c_str(), "tmpfs", 0, "size=256k") != 0) {
      _exit(2);
    }
    std::string error;
    auto stage = Stage::open(mnt + "/stage", 4 << 20, kRingA, &error);
    if (stage != nullptr) _exit(3);
    const bool named = error.find("cannot reserve") != std::string::npos &&
                       error.find(mnt + "/stage") != std::string::npos &&
                       error.find("No space left on device") != std::string::npos;
    _exit(named ? 0 : 4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_FALSE(WIFSIGNALED(status)) << "the child died of signal " << WTERMSIG(status);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 2) GTEST_SKIP() << "no mount namespace here (unshare or mount refused)";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "3: the stage opened; 4: the error did not name the reason and file";
}

}  // namespace
}  // namespace tributary::buffer
