#include "frame_encoder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "firmware-bridge/frame_decoder.h"

// Every allocation in this binary is counted, so a test can say the encoder made none.
namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace tributary::firmware {
namespace {

TEST(FrameEncoder, AllocatesNothingAndWritesIntoTheCallersBuffer) {
  alignas(8) std::uint8_t buffer[1024];
  ReadingIn r[2];
  r[0].name = "t";
  r[0].value = 1.5;
  r[0].unit = "C";
  r[1].name = "n";
  r[1].kind = frame::ReadingKind::Integer;
  r[1].integer = -3;
  FrameIn in;
  in.device_id = "dev";
  in.sequence = 9;
  in.readings = r;
  in.reading_count = 2;
  const std::uint8_t* bytes = nullptr;
  const long before = g_allocations.load();
  const std::size_t size = encode_frame(in, buffer, sizeof buffer, &bytes);
  const long after = g_allocations.load();
  ASSERT_GT(size, 0u);
  EXPECT_EQ(after, before);
  EXPECT_GE(bytes, buffer);
  EXPECT_LE(bytes + size, buffer + sizeof buffer);
  DecodedFrame f;
  std::string why;
  ASSERT_TRUE(decode_frame(std::string_view(reinterpret_cast<const char*>(bytes), size), &f, &why)) << why;
  EXPECT_EQ(f.sequence, 9u);
}

TEST(FrameEncoder, RefusesWhatItCannotEncodeAndWritesNothing) {
  alignas(8) std::uint8_t buffer[256];
  const std::uint8_t* bytes = nullptr;
  FrameIn in;
  in.device_id = "";
  EXPECT_EQ(encode_frame(in, buffer, sizeof buffer, &bytes), 0u);  // no device id
  in.device_id = "d";
  const std::string big(300, 'x');
  in.payload = reinterpret_cast<const std::uint8_t*>(big.data());
  in.payload_size = big.size();
  EXPECT_EQ(encode_frame(in, buffer, sizeof buffer, &bytes), 0u);  // does not fit
  ReadingIn r;
  r.name = "t";
  in.payload_size = 3;
  in.readings = &r;
  in.reading_count = 1;
  EXPECT_EQ(encode_frame(in, buffer, sizeof buffer, &bytes), 0u);  // payload and readings
  in.payload = nullptr;
  in.payload_size = 0;
  r.name = "";
  EXPECT_EQ(encode_frame(in, buffer, sizeof buffer, &bytes), 0u);  // unnamed reading
  EXPECT_EQ(bytes, nullptr);
}

// The bound is what keeps the builder inside the caller's buffer (it traps otherwise): random
// frames, each encoded into a buffer of exactly frame_bound() bytes at every misalignment.
TEST(FrameEncoder, TheBoundHoldsForRandomFramesAtAnyAlignment) {
  std::mt19937 rng(11);
  auto text = [&](std::size_t max) {
    std::string s(1 + rng() % max, 'a');
    for (char& c : s) c = static_cast<char>('a' + rng() % 26);
    return s;
  };
  for (int round = 0; round < 2000; ++round) {
    const std::string device = text(64);
    const std::string type = rng() % 2 ? text(40) : "";
    std::vector<std::string> names, units;
    std::vector<ReadingIn> readings(rng() % 3 == 0 ? 0 : rng() % (kMaxReadings + 1));
    for (std::size_t i = 0; i < readings.size(); ++i) {
      names.push_back(text(30));
      units.push_back(rng() % 2 ? text(8) : "");
    }
    for (std::size_t i = 0; i < readings.size(); ++i) {
      readings[i].name = names[i].c_str();
      readings[i].unit = units[i].c_str();
      readings[i].kind = static_cast<frame::ReadingKind>(rng() % 3);
      readings[i].value = static_cast<double>(rng());
      readings[i].integer = static_cast<std::int64_t>(rng());
    }
    const std::string payload = readings.empty() ? text(1500) : "";
    FrameIn in;
    in.device_id = device.c_str();
    in.content_type = type.c_str();
    in.boot_id = static_cast<std::uint32_t>(rng());
    in.sequence = static_cast<std::uint32_t>(rng());
    in.device_time_ms = static_cast<std::int64_t>(rng());
    in.payload = reinterpret_cast<const std::uint8_t*>(payload.data());
    in.payload_size = payload.size();
    in.readings = readings.data();
    in.reading_count = readings.size();
    const std::size_t misalign = static_cast<std::size_t>(round % 8);
    std::vector<std::uint8_t> storage(frame_bound(in) + 16);
    std::uint8_t* base = storage.data();
    while (reinterpret_cast<std::uintptr_t>(base) % 8 != misalign) ++base;
    const std::size_t capacity = frame_bound(in) + (8 - misalign) % 8 + 7;  // aligned start, room for rounding
    const std::uint8_t* bytes = nullptr;
    const std::size_t size = encode_frame(in, base, capacity, &bytes);
    ASSERT_GT(size, 0u) << "round " << round;
    ASSERT_EQ(reinterpret_cast<std::uintptr_t>(bytes + size) % 8, 0u);
    DecodedFrame f;
    std::string why;
    ASSERT_TRUE(decode_frame(std::string_view(reinterpret_cast<const char*>(bytes), size), &f, &why)) << why;
    EXPECT_EQ(f.device_id, device);
    EXPECT_EQ(f.sequence, in.sequence);
    EXPECT_EQ(f.payload, payload);
    EXPECT_EQ(f.readings == nullptr ? 0u : f.readings->size(), readings.size());
  }
}

}  // namespace
}  // namespace tributary::firmware
