#include "buffer/checkpoint.h"

#include <cstring>

#include "buffer/crc32c.h"
#include "buffer/little_endian.h"

namespace tributary::buffer {
namespace {

constexpr std::string_view kMagic = "TRBCKPT3";
constexpr std::string_view kMagicV2 = "TRBCKPT2";  // 32 bytes, no hint
constexpr std::size_t kSize = 64;
constexpr std::size_t kSizeV2 = 32;
constexpr const char* kNames[2] = {"checkpoint.a", "checkpoint.b"};

void encode(char* data, std::uint64_t cursor, std::uint64_t generation, const TailHint& hint) {
  std::memset(data, 0, kSize);
  std::memcpy(data, kMagic.data(), kMagic.size());
  put_le(data + 8, cursor);
  put_le(data + 16, generation);
  put_le(data + 24, hint.segment);
  put_le(data + 32, hint.offset);
  put_le(data + 40, hint.sequence);
  put_le(data + 60, crc32c(data, 60));
}

bool decode(const char* data, std::size_t size, std::uint64_t* cursor, std::uint64_t* generation,
            TailHint* hint) {
  if (size >= kSize && std::string_view(data, 8) == kMagic) {
    if (get_le<std::uint32_t>(data + 60) != crc32c(data, 60)) return false;
    *hint = TailHint{get_le<std::uint64_t>(data + 24), get_le<std::uint64_t>(data + 32),
                     get_le<std::uint64_t>(data + 40)};
  } else if (size >= kSizeV2 && std::string_view(data, 8) == kMagicV2) {
    if (get_le<std::uint32_t>(data + 28) != crc32c(data, 28)) return false;
    *hint = TailHint{};
  } else {
    return false;
  }
  *cursor = get_le<std::uint64_t>(data + 8);
  *generation = get_le<std::uint64_t>(data + 16);
  return true;
}

}  // namespace

Checkpoint::~Checkpoint() {
  for (int& fd : fd_) {
    if (fd >= 0) io_.close(fd);
  }
}

Checkpoint::Status Checkpoint::read(std::uint64_t* cursor, std::error_code* error, TailHint* hint) {
  bool any_file = false;
  bool found = false;
  for (const char* name : kNames) {
    int fd = -1;
    if (auto ec = io_.open(dir_ + "/" + name, false, &fd)) {
      if (ec == std::errc::no_such_file_or_directory) continue;
      *error = ec;
      return Status::kIoError;
    }
    any_file = true;
    char data[kSize] = {};
    std::size_t got = 0;
    const std::error_code ec = read_fully(io_, fd, data, kSize, 0, &got);
    io_.close(fd);
    if (ec) {
      *error = ec;
      return Status::kIoError;
    }
    std::uint64_t c = 0;
    std::uint64_t g = 0;
    TailHint h;
    if (decode(data, got, &c, &g, &h) && (!found || g > generation_)) {
      *cursor = c;
      if (hint != nullptr) *hint = h;
      generation_ = g;
      found = true;
    }
  }
  if (found) return Status::kOk;
  return any_file ? Status::kCorrupt : Status::kMissing;
}

std::error_code Checkpoint::prepare() {
  if (fd_[0] >= 0 && fd_[1] >= 0) return {};
  bool created = false;
  for (int i = 0; i < 2; ++i) {
    if (fd_[i] >= 0) continue;
    const std::string path = dir_ + "/" + kNames[i];
    if (auto ec = io_.open(path, true, &fd_[i])) {
      fd_[i] = -1;
      return ec;
    }
    std::uint64_t size = 0;
    if (auto ec = io_.file_size(fd_[i], &size)) return ec;
    if (size < kSize) {
      // Allocate the blocks once, now, while there is room: later writes overwrite them.
      // Only what is missing is written, so an older, shorter checkpoint stays readable.
      char zeros[kSize] = {};
      if (auto ec = write_fully(io_, fd_[i], zeros, kSize - size, size)) return ec;
      if (auto ec = io_.datasync(fd_[i])) return ec;
      created = true;
    }
  }
  return created ? io_.sync_dir(dir_) : std::error_code();
}

std::error_code Checkpoint::write(std::uint64_t cursor, const TailHint& hint) {
  if (auto ec = prepare()) return ec;
  const std::uint64_t generation = generation_ + 1;
  char data[kSize];
  encode(data, cursor, generation, hint);
  const int fd = fd_[generation % 2];
  if (auto ec = write_fully(io_, fd, data, kSize, 0)) return ec;
  if (auto ec = io_.datasync(fd)) return ec;
  generation_ = generation;
  return {};
}

}  // namespace tributary::buffer
