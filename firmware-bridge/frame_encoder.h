#pragma once

// Device side: encodes one Tributary frame (frame.fbs) into a buffer the caller owns.
//
// Written for firmware: no exceptions, no heap, no dependency beyond the FlatBuffers runtime
// headers and the header flatc generates from frame.fbs. The caller passes a buffer (8-byte
// aligned is best; it is aligned here otherwise); frame_bound() says how big it must be, and
// encode_frame() refuses to start when it is too small, so the builder never needs more.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "frame_generated.h"

namespace tributary::firmware {

// The most readings one frame may carry (their offsets are kept on the stack while encoding).
inline constexpr std::size_t kMaxReadings = 64;

struct ReadingIn {
  const char* name = "";          // required, non-empty
  frame::ReadingKind kind = frame::ReadingKind::Number;
  double value = 0;               // Number; Boolean: 0 or 1
  std::int64_t integer = 0;       // Integer
  const char* unit = nullptr;     // optional
};

struct FrameIn {
  const char* device_id = "";     // required, non-empty
  std::uint32_t boot_id = 0;
  std::uint32_t sequence = 0;
  std::int64_t device_time_ms = 0;
  const char* content_type = nullptr;       // optional, describes payload
  const std::uint8_t* payload = nullptr;    // either a payload ...
  std::size_t payload_size = 0;
  const ReadingIn* readings = nullptr;      // ... or readings
  std::size_t reading_count = 0;
};

namespace detail {

inline std::size_t text_size(const char* s) { return s == nullptr ? 0 : std::strlen(s); }

// Hands the builder the caller's buffer, once. Growing it would need a heap: frame_bound()
// makes that impossible, and a builder that asked anyway would be a bug, so it stops here.
class FixedAllocator final : public flatbuffers::Allocator {
 public:
  FixedAllocator(std::uint8_t* buffer, std::size_t capacity) : buffer_(buffer), capacity_(capacity) {}
  std::uint8_t* allocate(std::size_t size) override {
    if (size > capacity_ || used_) __builtin_trap();
    used_ = true;
    return buffer_;
  }
  void deallocate(std::uint8_t*, std::size_t) override {}
  std::uint8_t* reallocate_downward(std::uint8_t*, std::size_t, std::size_t, std::size_t,
                                    std::size_t) override {
    __builtin_trap();
  }

 private:
  std::uint8_t* buffer_;
  std::size_t capacity_;
  bool used_ = false;
};

}  // namespace detail

// An upper bound of the bytes encode_frame() needs for IN, builder bookkeeping included.
inline std::size_t frame_bound(const FrameIn& in) {
  // Each string or vector: 4 bytes of length, a terminator, padding to 8. A reading: its
  // vtable (16), fields with padding (40), the builder's note of its vtable (4), alignment.
  // The frame table, the root offset, the identifier and the builder's scratch: 192.
  // (A test encodes random frames into buffers of exactly this size.)
  std::size_t n = 192;
  n += detail::text_size(in.device_id) + 16;
  n += detail::text_size(in.content_type) + 16;
  n += in.payload_size + 16;
  n += 4 * in.reading_count + 16;
  for (std::size_t i = 0; i < in.reading_count; ++i) {
    n += 72 + detail::text_size(in.readings[i].name) + 16 + detail::text_size(in.readings[i].unit) + 16;
  }
  return n;
}

// Encodes IN into BUFFER (CAPACITY bytes). On success returns the frame's size and sets
// *FRAME to its first byte, somewhere inside BUFFER (FlatBuffers build from the end).
// Returns 0, writing nothing, when the buffer is too small, the device id or a reading name
// is empty, there are more than kMaxReadings readings, or both a payload and readings.
inline std::size_t encode_frame(const FrameIn& in, std::uint8_t* buffer, std::size_t capacity,
                                const std::uint8_t** frame) {
  if (detail::text_size(in.device_id) == 0 || in.reading_count > kMaxReadings ||
      (in.reading_count > 0 && in.readings == nullptr) ||
      (in.payload_size > 0 && in.payload == nullptr) ||
      (in.payload_size > 0 && in.reading_count > 0)) {
    return 0;
  }
  for (std::size_t i = 0; i < in.reading_count; ++i) {
    if (detail::text_size(in.readings[i].name) == 0) return 0;
  }
  // Align the start to 8 and round the length down to 8: the frame ends 8-aligned, so its
  // doubles and longs are aligned in place.
  const auto address = reinterpret_cast<std::uintptr_t>(buffer);
  const std::size_t skip = (8 - address % 8) % 8;
  if (capacity < skip) return 0;
  const std::size_t usable = (capacity - skip) & ~std::size_t{7};
  if (usable < frame_bound(in)) return 0;

  detail::FixedAllocator allocator(buffer + skip, usable);
  flatbuffers::FlatBufferBuilder b(usable, &allocator, false, 8);
  flatbuffers::Offset<frame::Reading> offsets[kMaxReadings];
  for (std::size_t i = 0; i < in.reading_count; ++i) {
    const ReadingIn& r = in.readings[i];
    const auto name = b.CreateString(r.name);
    const auto unit = r.unit != nullptr && r.unit[0] != '\0' ? b.CreateString(r.unit)
                                                              : flatbuffers::Offset<flatbuffers::String>();
    offsets[i] = frame::CreateReading(b, name, r.kind, r.value, r.integer, unit);
  }
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<frame::Reading>>> readings;
  if (in.reading_count > 0) readings = b.CreateVector(offsets, in.reading_count);
  flatbuffers::Offset<flatbuffers::Vector<std::uint8_t>> payload;
  if (in.payload_size > 0) payload = b.CreateVector(in.payload, in.payload_size);
  const auto content_type = detail::text_size(in.content_type) > 0
                                ? b.CreateString(in.content_type)
                                : flatbuffers::Offset<flatbuffers::String>();
  const auto device = b.CreateString(in.device_id);
  const auto root = frame::CreateFrame(b, device, in.boot_id, in.sequence, in.device_time_ms,
                                       content_type, payload, readings);
  frame::FinishFrameBuffer(b, root);
  // The frame stays in BUFFER after the builder is gone: its allocator frees nothing.
  *frame = b.GetBufferPointer();
  return b.GetSize();
}

}  // namespace tributary::firmware
