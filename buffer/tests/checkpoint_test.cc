#include "buffer/checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "buffer/crc32c.h"
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

TEST(Checkpoint, KeepsTheTailHintWithTheCursor) {
  testing::TestDir dir;
  PosixFileIo io;
  {
    Checkpoint c(io, dir.path());
    ASSERT_FALSE(c.write(5, TailHint{100, 4096, 180}));
    ASSERT_FALSE(c.write(6, TailHint{100, 8192, 200}));
  }
  Checkpoint c(io, dir.path());
  std::uint64_t cursor = 0;
  std::error_code error;
  TailHint hint;
  ASSERT_EQ(c.read(&cursor, &error, &hint), Checkpoint::Status::kOk);
  EXPECT_EQ(cursor, 6u);
  EXPECT_EQ(hint, (TailHint{100, 8192, 200}));
}

TEST(Checkpoint, ReadsTheOlderFormatWithoutAHintAndUpgradesIt) {
  testing::TestDir dir;
  PosixFileIo io;
  {
    // A 32-byte "TRBCKPT2" file: cursor 77, generation 3.
    char data[32] = {};
    std::memcpy(data, "TRBCKPT2", 8);
    const std::uint64_t cursor = 77;
    const std::uint64_t generation = 3;
    std::memcpy(data + 8, &cursor, 8);
    std::memcpy(data + 16, &generation, 8);
    const std::uint32_t crc = crc32c(data, 28);
    std::memcpy(data + 28, &crc, 4);
    std::ofstream(dir.file("checkpoint.a"), std::ios::binary).write(data, sizeof data);
  }
  Checkpoint c(io, dir.path());
  std::uint64_t cursor = 0;
  std::error_code error;
  TailHint hint{1, 2, 3};
  ASSERT_EQ(c.read(&cursor, &error, &hint), Checkpoint::Status::kOk);
  EXPECT_EQ(cursor, 77u);
  EXPECT_EQ(hint, TailHint{});
  ASSERT_FALSE(c.write(78, TailHint{0, 640, 9}));  // goes to checkpoint.b; .a stays readable
  EXPECT_EQ(read_cursor(io, dir.path(), Checkpoint::Status::kOk), 78u);
}

}  // namespace
}  // namespace tributary::buffer
