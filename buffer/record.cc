#include "buffer/record.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "buffer/crc32c.h"
#include "buffer/little_endian.h"

namespace tributary::buffer {

static_assert(std::endian::native == std::endian::little,
              "the record format is little-endian; add byte swapping for this target");

namespace {

constexpr std::uint8_t kContinues = 1;  // flags bit 0

}  // namespace

void encode_record(std::uint64_t sequence, std::int64_t time_ms, RecordType type,
                   std::string_view body, std::string& out, bool continues) {
  const std::size_t start = out.size();
  out.resize(start + kRecordHeaderSize + body.size());
  char* h = out.data() + start;
  std::memset(h, 0, kRecordHeaderSize);
  put_le(h + 4, static_cast<std::uint32_t>(body.size()));
  put_le(h + 8, sequence);
  put_le(h + 16, time_ms);
  put_le(h + 24, static_cast<std::uint8_t>(type));
  put_le(h + 25, static_cast<std::uint8_t>(continues ? kContinues : 0));
  std::memcpy(h + kRecordHeaderSize, body.data(), body.size());
  put_le(h, crc32c(h + 4, kRecordHeaderSize - 4 + body.size()));
}

std::uint32_t peek_body_length(std::string_view header) {
  return header.size() < 8 ? 0 : get_le<std::uint32_t>(header.data() + 4);
}

bool peek_continues(std::string_view header) {
  return header.size() > 25 && (get_le<std::uint8_t>(header.data() + 25) & kContinues) != 0;
}

DecodeStatus decode_record(std::string_view data, RecordView* record, std::size_t* size) {
  if (data.size() < kRecordHeaderSize) {
    const bool zeros = std::all_of(data.begin(), data.end(), [](char c) { return c == 0; });
    return zeros ? DecodeStatus::kEnd : DecodeStatus::kTruncated;
  }
  const char* h = data.data();
  if (std::all_of(h, h + kRecordHeaderSize, [](char c) { return c == 0; })) return DecodeStatus::kEnd;
  const auto length = get_le<std::uint32_t>(h + 4);
  const auto type = get_le<std::uint8_t>(h + 24);
  if (length > kMaxRecordBody || type != static_cast<std::uint8_t>(RecordType::kEvent)) {
    return DecodeStatus::kCorrupt;
  }
  if (data.size() < kRecordHeaderSize + length) return DecodeStatus::kTruncated;
  if (get_le<std::uint32_t>(h) != crc32c(h + 4, kRecordHeaderSize - 4 + length)) {
    return DecodeStatus::kCorrupt;
  }
  record->sequence = get_le<std::uint64_t>(h + 8);
  record->time_ms = get_le<std::int64_t>(h + 16);
  record->type = static_cast<RecordType>(type);
  record->continues = (get_le<std::uint8_t>(h + 25) & kContinues) != 0;
  record->body = data.substr(kRecordHeaderSize, length);
  *size = kRecordHeaderSize + length;
  return DecodeStatus::kOk;
}

}  // namespace tributary::buffer
