#include "buffer/checkpoint.h"

#include <gtest/gtest.h>

#include <fstream>

#include "buffer/tests/test_dir.h"

namespace tributary::buffer {
namespace {

TEST(Checkpoint, RoundTripsAndReplacesAtomically) {
  testing::TestDir dir;
  PosixFileIo io;
  std::uint64_t cursor = 0;
  std::error_code error;
  EXPECT_EQ(read_checkpoint(io, dir.path(), &cursor, &error), CheckpointStatus::kMissing);
  ASSERT_FALSE(write_checkpoint(io, dir.path(), 42, 1));
  ASSERT_EQ(read_checkpoint(io, dir.path(), &cursor, &error), CheckpointStatus::kOk);
  EXPECT_EQ(cursor, 42u);
  ASSERT_FALSE(write_checkpoint(io, dir.path(), 1'000'000, 2));
  ASSERT_EQ(read_checkpoint(io, dir.path(), &cursor, &error), CheckpointStatus::kOk);
  EXPECT_EQ(cursor, 1'000'000u);
}

TEST(Checkpoint, AFailedWriteLeavesTheOldCursor) {
  testing::TestDir dir;
  PosixFileIo real;
  FaultyFileIo io(real);
  ASSERT_FALSE(write_checkpoint(io, dir.path(), 10, 1));
  io.fail_next_write(std::errc::no_space_on_device);
  EXPECT_TRUE(write_checkpoint(io, dir.path(), 20, 2));
  io.fail_next_sync();
  EXPECT_TRUE(write_checkpoint(io, dir.path(), 30, 3));
  std::uint64_t cursor = 0;
  std::error_code error;
  ASSERT_EQ(read_checkpoint(io, dir.path(), &cursor, &error), CheckpointStatus::kOk);
  EXPECT_EQ(cursor, 10u);
}

TEST(Checkpoint, CorruptFileIsReportedNotTrusted) {
  testing::TestDir dir;
  PosixFileIo io;
  ASSERT_FALSE(write_checkpoint(io, dir.path(), 42, 1));
  {
    std::fstream f(dir.file(kCheckpointFile), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(9);
    f.put('\x55');
  }
  std::uint64_t cursor = 0;
  std::error_code error;
  EXPECT_EQ(read_checkpoint(io, dir.path(), &cursor, &error), CheckpointStatus::kCorrupt);
}

}  // namespace
}  // namespace tributary::buffer
