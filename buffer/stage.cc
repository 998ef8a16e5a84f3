#include "buffer/stage.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "buffer/little_endian.h"

namespace tributary::buffer {
namespace {

constexpr char kMagic[8] = {'T', 'R', 'B', 'S', 'T', 'G', '0', '1'};
constexpr std::size_t kSizeAt = 8;
constexpr std::size_t kRingIdAt = 16;
constexpr std::size_t kWrittenAt = 32;
constexpr std::uint32_t kWrapMarker = 0xFFFFFFFFu;  // in a frame header's length field
constexpr std::uint64_t kPage = 4096;

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

std::atomic_ref<std::uint64_t> written_field(unsigned char* map) {
  return std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(map + kWrittenAt));
}

}  // namespace

std::unique_ptr<Stage> Stage::open(const std::string& path, std::uint64_t data_bytes,
                                   std::string_view ring_id, std::string* error) {
  if (ring_id.size() != kRingIdSize) {
    *error = "stage " + path + ": the ring id must be 16 bytes";
    return nullptr;
  }
  const std::uint64_t wanted = std::max(kPage, (data_bytes + kPage - 1) / kPage * kPage);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    *error = errno_text("cannot open stage", path);
    return nullptr;
  }
  // One ring per stage: a second would reset the first one's records. Released on close,
  // or by the kernel when the process dies.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    *error = errno == EWOULDBLOCK ? "stage " + path + " is in use by another ring (each process needs its own)"
                                  : errno_text("cannot lock stage", path);
    ::close(fd);
    return nullptr;
  }
  struct stat st {};
  char header[kHeaderSize] = {};
  std::uint64_t size = 0;
  if (::fstat(fd, &st) == 0 && static_cast<std::uint64_t>(st.st_size) > kHeaderSize &&
      ::pread(fd, header, kHeaderSize, 0) == static_cast<ssize_t>(kHeaderSize) &&
      std::memcmp(header, kMagic, sizeof kMagic) == 0 &&
      get_le<std::uint64_t>(header + kSizeAt) + kHeaderSize == static_cast<std::uint64_t>(st.st_size)) {
    size = get_le<std::uint64_t>(header + kSizeAt);  // kept for replay; reset() resizes
  }
  const bool fresh = size == 0;
  if (fresh) {
    size = wanted;
    if (::ftruncate(fd, static_cast<off_t>(kHeaderSize + size)) != 0) {
      *error = errno_text("cannot size stage", path);
      ::close(fd);
      return nullptr;
    }
  }
  void* map = ::mmap(nullptr, kHeaderSize + size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    *error = errno_text("cannot map stage", path);
    ::close(fd);
    return nullptr;
  }
  std::unique_ptr<Stage> stage(new Stage(fd, static_cast<unsigned char*>(map), size, wanted,
                                         std::string(ring_id), path));
  if (fresh && !stage->reset(error)) return nullptr;
  return stage;
}

Stage::Stage(int fd, unsigned char* map, std::uint64_t data_bytes, std::uint64_t wanted_bytes,
             std::string ring_id, std::string path)
    : fd_(fd),
      map_(map),
      data_bytes_(data_bytes),
      wanted_bytes_(wanted_bytes),
      ring_id_(std::move(ring_id)),
      path_(std::move(path)) {}

Stage::~Stage() {
  if (map_ != nullptr) ::munmap(map_, kHeaderSize + data_bytes_);
  ::close(fd_);
}

bool Stage::foreign() const {
  const char* h = reinterpret_cast<const char*>(map_);
  return std::memcmp(h, kMagic, sizeof kMagic) != 0 ||
         get_le<std::uint64_t>(h + kSizeAt) != data_bytes_ ||
         std::memcmp(h + kRingIdAt, ring_id_.data(), kRingIdSize) != 0;
}

std::uint64_t Stage::replay(std::uint64_t from,
                            const std::function<void(const RecordView&)>& visit) const {
  if (foreign()) return 0;
  const char* data = reinterpret_cast<const char*>(map_) + kHeaderSize;
  std::uint64_t pos = written_field(map_).load(std::memory_order_acquire);
  const std::uint64_t end = pos + data_bytes_;  // at most one lap
  std::uint64_t expected = from;
  std::uint64_t visited = 0;
  std::vector<RecordView> group;
  while (pos < end) {
    const std::uint64_t offset = pos % data_bytes_;
    const std::uint64_t left = data_bytes_ - offset;
    if (left < kRecordHeaderSize || get_le<std::uint32_t>(data + offset + 4) == kWrapMarker) {
      pos += left;
      continue;
    }
    RecordView record;
    std::size_t size = 0;
    if (decode_record(std::string_view(data + offset, left), &record, &size) != DecodeStatus::kOk) break;
    pos += size;
    if (record.sequence < from && expected == from) continue;  // already in the segments
    if (record.sequence != expected) break;                   // an older lap: the end
    ++expected;
    group.push_back(record);
    if (record.continues) continue;
    for (const RecordView& r : group) visit(r);
    visited += group.size();
    group.clear();
  }
  return visited;
}

bool Stage::remap(std::uint64_t data_bytes, std::string* error) {
  ::munmap(map_, kHeaderSize + data_bytes_);
  map_ = nullptr;
  if (::ftruncate(fd_, static_cast<off_t>(kHeaderSize + data_bytes)) != 0) {
    *error = errno_text("cannot size stage", path_);
    return false;
  }
  void* map = ::mmap(nullptr, kHeaderSize + data_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (map == MAP_FAILED) {
    *error = errno_text("cannot map stage", path_);
    return false;
  }
  map_ = static_cast<unsigned char*>(map);
  data_bytes_ = data_bytes;
  return true;
}

bool Stage::reset(std::string* error) {
  std::lock_guard lock(mu_);
  if (map_ == nullptr || data_bytes_ != wanted_bytes_) {
    if (map_ == nullptr) data_bytes_ = 0;
    if (!remap(wanted_bytes_, error)) return false;
  }
  // The file's blocks first: on a tmpfs without room for them, the writes below would end
  // the process with SIGBUS instead of this error.
  if (const int rc = ::posix_fallocate(fd_, 0, static_cast<off_t>(kHeaderSize + data_bytes_)); rc != 0) {
    errno = rc;
    *error = errno_text("cannot reserve " + std::to_string(kHeaderSize + data_bytes_) + " bytes for stage", path_);
    return false;
  }
  // Zeros everywhere: no older frame is left to read, and every page is resident now.
  std::memset(map_ + kHeaderSize, 0, data_bytes_);
  char* h = reinterpret_cast<char*>(map_);
  std::memset(h, 0, kHeaderSize);
  std::memcpy(h, kMagic, sizeof kMagic);
  put_le<std::uint64_t>(h + kSizeAt, data_bytes_);
  std::memcpy(h + kRingIdAt, ring_id_.data(), kRingIdSize);
  written_field(map_).store(0, std::memory_order_release);
  head_ = 0;
  written_ = 0;
  pending_.clear();
  return true;
}

bool Stage::put(std::string_view frames, std::uint64_t next_seq) {
  std::lock_guard lock(mu_);
  if (map_ == nullptr || frames.size() > data_bytes_) return false;
  const std::uint64_t left = data_bytes_ - head_ % data_bytes_;
  const std::uint64_t skip = left < frames.size() ? left : 0;
  if (head_ + skip + frames.size() - written_ > data_bytes_) return false;
  unsigned char* data = map_ + kHeaderSize;
  if (skip >= kRecordHeaderSize) {
    put_le<std::uint32_t>(reinterpret_cast<char*>(data + head_ % data_bytes_ + 4), kWrapMarker);
  }
  head_ += skip;
  // The marker before the frames, for a reader after a crash (a compiler barrier on x86).
  std::atomic_thread_fence(std::memory_order_release);
  std::memcpy(data + head_ % data_bytes_, frames.data(), frames.size());
  head_ += frames.size();
  pending_.emplace_back(head_, next_seq);
  return true;
}

void Stage::written(std::uint64_t next_seq) {
  std::lock_guard lock(mu_);
  bool moved = false;
  while (!pending_.empty() && pending_.front().second <= next_seq) {
    written_ = pending_.front().first;
    pending_.pop_front();
    moved = true;
  }
  if (moved && map_ != nullptr) written_field(map_).store(written_, std::memory_order_release);
}

std::uint64_t Stage::used_bytes() const {
  std::lock_guard lock(mu_);
  return head_ - written_;
}

}  // namespace tributary::buffer
