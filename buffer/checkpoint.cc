#include "buffer/checkpoint.h"

#include <cstring>

#include "buffer/crc32c.h"

namespace tributary::buffer {
namespace {

constexpr std::string_view kMagic = "TRBCKPT1";
constexpr std::size_t kSize = 32;

}  // namespace

std::error_code write_checkpoint(FileIo& io, const std::string& dir, std::uint64_t cursor,
                                 std::int64_t now_ms) {
  char data[kSize] = {};
  std::memcpy(data, kMagic.data(), kMagic.size());
  std::memcpy(data + 8, &cursor, sizeof cursor);
  std::memcpy(data + 16, &now_ms, sizeof now_ms);
  const std::uint32_t crc = crc32c(data, 28);
  std::memcpy(data + 28, &crc, sizeof crc);

  const std::string tmp = dir + "/" + kCheckpointFile + ".tmp";
  int fd = -1;
  if (auto ec = io.open(tmp, true, &fd)) return ec;
  std::error_code ec = io.truncate(fd, 0);
  if (!ec) ec = write_fully(io, fd, data, kSize, 0);
  if (!ec) ec = io.datasync(fd);
  io.close(fd);
  if (!ec) ec = io.rename(tmp, dir + "/" + kCheckpointFile);
  if (!ec) ec = io.sync_dir(dir);
  return ec;
}

CheckpointStatus read_checkpoint(FileIo& io, const std::string& dir, std::uint64_t* cursor,
                                 std::error_code* error) {
  int fd = -1;
  if (auto ec = io.open(dir + "/" + kCheckpointFile, false, &fd)) {
    if (ec == std::errc::no_such_file_or_directory) return CheckpointStatus::kMissing;
    *error = ec;
    return CheckpointStatus::kIoError;
  }
  char data[kSize] = {};
  std::size_t got = 0;
  const std::error_code ec = read_fully(io, fd, data, kSize, 0, &got);
  io.close(fd);
  if (ec) {
    *error = ec;
    return CheckpointStatus::kIoError;
  }
  std::uint32_t crc = 0;
  std::memcpy(&crc, data + 28, sizeof crc);
  if (got != kSize || std::string_view(data, 8) != kMagic || crc != crc32c(data, 28)) {
    return CheckpointStatus::kCorrupt;
  }
  std::memcpy(cursor, data + 8, sizeof *cursor);
  return CheckpointStatus::kOk;
}

}  // namespace tributary::buffer
