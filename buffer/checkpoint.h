#pragma once

#include <cstdint>
#include <string>
#include <system_error>

#include "buffer/file_io.h"

namespace tributary::buffer {

// Where recovery may start scanning the newest segment: at OFFSET of the segment whose first
// sequence number is SEGMENT there is record SEQUENCE (or the end of what was written), and
// everything before it was synced. offset 0: no hint, scan the whole segment.
struct TailHint {
  std::uint64_t segment = 0;
  std::uint64_t offset = 0;
  std::uint64_t sequence = 0;
  bool operator==(const TailHint&) const = default;
};

// The ack cursor on disk: the first sequence number not yet acknowledged by Kafka, and a
// tail hint so that recovery reads only what was written since the last sync.
//
// Two preallocated 64-byte files, `checkpoint.a` and `checkpoint.b`, written in turn and
// overwritten in place (pwrite + fdatasync). A write torn by a crash can damage only the
// file being written; the other still holds the previous cursor. Overwriting allocated
// blocks needs no free space, so the cursor can still move, and segments be reclaimed,
// when the disk is full.
//
//   offset  0  8 bytes  magic "TRBCKPT3"
//   offset  8  u64      first unacknowledged sequence number
//   offset 16  u64      generation (which write is newer)
//   offset 24  u64      tail hint: segment (first sequence number)
//   offset 32  u64      tail hint: file offset
//   offset 40  u64      tail hint: sequence number at that offset
//   offset 48  12 bytes reserved, zero
//   offset 60  u32      crc32c of bytes 0..59
//
// The 32-byte "TRBCKPT2" files of earlier versions (cursor and generation, crc at 28) are
// still read; they carry no hint.
class Checkpoint {
 public:
  enum class Status : std::uint8_t {
    kOk,       // *cursor is the newest cursor that verifies
    kMissing,  // a new ring: no checkpoint was ever written
    kCorrupt,  // files exist but neither verifies: do not trust them (replay from the oldest)
    kIoError,
  };

  Checkpoint(FileIo& io, std::string dir) : io_(io), dir_(std::move(dir)) {}
  ~Checkpoint();
  Checkpoint(const Checkpoint&) = delete;
  Checkpoint& operator=(const Checkpoint&) = delete;

  // Reads the newest valid cursor (and its tail hint). Call once, before write().
  Status read(std::uint64_t* cursor, std::error_code* error, TailHint* hint = nullptr);
  // Creates both files if needed (durably), then writes CURSOR over the older one.
  std::error_code write(std::uint64_t cursor, const TailHint& hint = {});

 private:
  std::error_code prepare();

  FileIo& io_;
  std::string dir_;
  int fd_[2] = {-1, -1};
  std::uint64_t generation_ = 0;  // of the newest write (read or written)
};

}  // namespace tributary::buffer
