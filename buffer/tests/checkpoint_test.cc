#include "buffer/checkpoint.h"

#include <gtest/gtest.h>

#include <fstream>

#include "buffer/tests/test_dir.h"

namespace tributary::buffer {
namespace {

std::uint64_t read_cursor(FileIo& io, const std::string& dir, Checkpoint::Status expect) {
  Checkpoint c(io, dir);
  std::uint64_t cursor = 0;
  std::error_code error;
  EXPECT_EQ(c.read(&cursor, &error), expect);
  return cursor;
}

TEST(Checkpoint, RoundTripsAcrossReopens) {
  testing::TestDir dir;
  PosixFileIo io;
  read_cursor(io, dir.path(), Checkpoint::Status::kMissing);
  {
    Checkpoint c(io, dir.path());
    std::uint64_t cursor = 0;
    std::error_code error;
    c.read(&cursor, &error);
    ASSERT_FALSE(c.write(42));
    ASSERT_FALSE(c.write(43));
    ASSERT_FALSE(c.write(1'000'000));
  }
  EXPECT_EQ(read_cursor(io, dir.path(), Checkpoint::Status::kOk), 1'000'000u);
  {
    // A reopened checkpoint continues the generations: its next write wins.
    Checkpoint c(io, dir.path());
    std::uint64_t cursor = 0;
    std::error_code error;
    ASSERT_EQ(c.read(&cursor, &error), Checkpoint::Status::kOk);
    ASSERT_FALSE(c.write(1'000'001));
  }
  EXPECT_EQ(read_cursor(io, dir.path(), Checkpoint::Status::kOk), 1'000'001u);
}

TEST(Checkpoint, ATornWriteLeavesThePreviousCursor) {
  testing::TestDir dir;
  PosixFileIo io;
  {
    Checkpoint c(io, dir.path());
    ASSERT_FALSE(c.write(10));  // generation 1 -> checkpoint.b
    ASSERT_FALSE(c.write(20));  // generation 2 -> checkpoint.a
  }
  {
    // The write of generation 2 was torn: checkpoint.a is damaged.
    std::fstream f(dir.file("checkpoint.a"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(9);
    f.put('\x55');
  }
  EXPECT_EQ(read_cursor(io, dir.path(), Checkpoint::Status::kOk), 10u);
}

TEST(Checkpoint, BothDamagedIsCorruptNotTrusted) {
  testing::TestDir dir;
  PosixFileIo io;
  {
    Checkpoint c(io, dir.path());
    ASSERT_FALSE(c.write(10));
    ASSERT_FALSE(c.write(20));
  }
  for (const char* name : {"checkpoint.a", "checkpoint.b"}) {
    std::fstream f(dir.file(name), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(3);
    f.put('!');
  }
  read_cursor(io, dir.path(), Checkpoint::Status::kCorrupt);
}

TEST(Checkpoint, StillWritableWhenTheDiskIsFull) {
  testing::TestDir dir;
  PosixFileIo real;
  FaultyFileIo io(real);
  Checkpoint c(io, dir.path());
  ASSERT_FALSE(c.write(1));  // allocates both files while there is room
  io.set_disk_full(true);
  EXPECT_FALSE(c.write(2));
  EXPECT_FALSE(c.write(3));
  io.set_disk_full(false);
  EXPECT_EQ(read_cursor(io, dir.path(), Checkpoint::Status::kOk), 3u);
}

TEST(Checkpoint, AFailedSyncIsReported) {
  testing::TestDir dir;
  PosixFileIo real;
  FaultyFileIo io(real);
  Checkpoint c(io, dir.path());
  ASSERT_FALSE(c.write(1));
  io.fail_next_sync();
  EXPECT_TRUE(c.write(2));
}

}  // namespace
}  // namespace tributary::buffer
