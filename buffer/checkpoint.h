#pragma once

#include <cstdint>
#include <string>
#include <system_error>

#include "buffer/file_io.h"

namespace tributary::buffer {

// The ack cursor on disk: the first sequence number not yet acknowledged by Kafka.
// A 32-byte file, replaced atomically (write a temporary file, sync it, rename it over the
// old one, sync the directory), so a crash leaves either the old or the new cursor.
//
//   offset  0  8 bytes  magic "TRBCKPT1"
//   offset  8  u64      first unacknowledged sequence number
//   offset 16  i64      time written, ms since the epoch
//   offset 24  u32      reserved, zero
//   offset 28  u32      crc32c of bytes 0..27
inline constexpr const char* kCheckpointFile = "checkpoint";

std::error_code write_checkpoint(FileIo& io, const std::string& dir, std::uint64_t cursor,
                                 std::int64_t now_ms);

enum class CheckpointStatus : std::uint8_t { kOk, kMissing, kCorrupt, kIoError };

// Reads the cursor. kMissing: a new ring. kCorrupt: the file exists but does not verify;
// the caller must not trust it (replaying from the oldest segment is safe: duplicates,
// never loss).
CheckpointStatus read_checkpoint(FileIo& io, const std::string& dir, std::uint64_t* cursor,
                                 std::error_code* error);

}  // namespace tributary::buffer
