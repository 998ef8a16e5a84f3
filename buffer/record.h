#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tributary::buffer {

// On-disk record frame, little-endian, 32-byte header then the body:
//
//   offset  0  u32  crc32c over bytes 4 .. end of body
//   offset  4  u32  body length
//   offset  8  u64  sequence number (consecutive across the ring)
//   offset 16  i64  ingest time, ms since the epoch
//   offset 24  u8   type (1 = event)
//   offset 25  u8   flags: bit 0 "continues" — the next record belongs to the same group
//                   (the events of one request, appended together); a group whose last
//                   record is missing was never accepted, and recovery drops what it has
//   offset 26  6 bytes reserved, zero
//
// A header of all zeros is the end of the written part of a segment (preallocated tail).
inline constexpr std::size_t kRecordHeaderSize = 32;
inline constexpr std::uint32_t kMaxRecordBody = 80u * 1024 * 1024;

enum class RecordType : std::uint8_t { kEvent = 1 };

struct RecordView {
  std::uint64_t sequence = 0;
  std::int64_t time_ms = 0;
  RecordType type = RecordType::kEvent;
  bool continues = false;  // not the last record of its group
  std::string_view body;   // points into the buffer that was decoded
};

// Appends the frame of one record to OUT; CONTINUES: more records of its group follow.
void encode_record(std::uint64_t sequence, std::int64_t time_ms, RecordType type,
                   std::string_view body, std::string& out, bool continues = false);

enum class DecodeStatus : std::uint8_t {
  kOk,         // *record and *size are set
  kEnd,        // a zero header: nothing was written here
  kTruncated,  // the buffer ends inside this record (read more, or a torn write)
  kCorrupt,    // CRC mismatch, impossible length or unknown type
};

// Decodes the record at the start of DATA; *size is the whole frame's length.
DecodeStatus decode_record(std::string_view data, RecordView* record, std::size_t* size);

// Body length from a header, without verifying anything (to know how much to read).
std::uint32_t peek_body_length(std::string_view header);
// The continues flag from a header, without verifying anything.
bool peek_continues(std::string_view header);

}  // namespace tributary::buffer
