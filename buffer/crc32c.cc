#include "buffer/crc32c.h"

#include <boost/crc.hpp>

#include <algorithm>
#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#include <wmmintrin.h>
#endif

namespace tributary::buffer {
namespace {

using PortableCrc = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

#if defined(__x86_64__)
// Raw update (no inversions) with the crc32 instruction, one 8-byte word after the other.
__attribute__((target("sse4.2"))) std::uint64_t update_serial(std::uint64_t c, const unsigned char* p,
                                                              std::size_t size) {
  while (size >= 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
    p += 8;
    size -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (size > 0) {
    c32 = _mm_crc32_u8(c32, *p++);
    --size;
  }
  return c32;
}

__attribute__((target("sse4.2"))) std::uint32_t extend_sse42(std::uint32_t crc, const void* data,
                                                             std::size_t size) {
  return ~static_cast<std::uint32_t>(update_serial(~crc, static_cast<const unsigned char*>(data), size));
}

// Three lanes. The crc32 instruction takes 3 cycles and can start one per cycle, so one
// chain over a buffer runs at a third of the unit's speed; three independent chains over
// three thirds of it, joined at the end, run at nearly full speed. Joining: with R(c, D) the
// raw CRC register after D from register c, R(c, A|B|C) = S(R(c, A), 2L) ^ S(R(0, B), L) ^
// R(0, C) for thirds of L bytes, where S(x, n) = x * x^(8n) mod P shifts a register over n
// zero bytes. S is one carry-less multiplication by x^(8n - 33) mod P and one crc32 of the
// product (the product of two reflected 32-bit values comes out one bit up, and crc32 of a
// 64-bit word multiplies it by x^32 before it reduces: 1 + 32 = 33).
constexpr std::size_t kMaxLaneWords = 512;  // lanes of up to 4 KiB; longer buffers loop
constexpr std::size_t kMinLanedBytes = 96;  // below this, the join costs more than it saves

// kShift[m] = x^(64m - 33) mod P (reflected), the multiplier that shifts over 8m bytes.
struct ShiftTable {
  std::array<std::uint32_t, 2 * kMaxLaneWords + 1> k{};
  constexpr ShiftTable() {
    constexpr std::uint32_t kPoly = 0x82F63B78;  // P, reflected
    std::uint32_t v = 0x80000000u;               // x^0
    auto times_x = [&] { v = (v >> 1) ^ ((v & 1u) != 0 ? kPoly : 0u); };
    for (int i = 0; i < 64 - 33; ++i) times_x();  // x^31
    k[1] = v;
    for (std::size_t m = 2; m < k.size(); ++m) {
      for (int i = 0; i < 64; ++i) times_x();
      k[m] = v;
    }
  }
};
constexpr ShiftTable kShift;

__attribute__((target("sse4.2,pclmul"))) std::uint32_t shift(std::uint32_t c, std::uint32_t k) {
  const __m128i product = _mm_clmulepi64_si128(_mm_cvtsi32_si128(static_cast<int>(c)),
                                               _mm_cvtsi32_si128(static_cast<int>(k)), 0);
  return static_cast<std::uint32_t>(_mm_crc32_u64(0, static_cast<std::uint64_t>(_mm_cvtsi128_si64(product))));
}

__attribute__((target("sse4.2,pclmul"))) std::uint32_t extend_laned(std::uint32_t crc, const void* data,
                                                                    std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = ~crc;
  while (size >= kMinLanedBytes) {
    const std::size_t words = std::min(size / 24, kMaxLaneWords);
    const std::size_t lane = words * 8;
    std::uint64_t a = c;
    std::uint64_t b = 0;
    std::uint64_t d = 0;
    for (std::size_t i = 0; i < lane; i += 8) {
      std::uint64_t wa = 0;
      std::uint64_t wb = 0;
      std::uint64_t wd = 0;
      std::memcpy(&wa, p + i, 8);
      std::memcpy(&wb, p + lane + i, 8);
      std::memcpy(&wd, p + 2 * lane + i, 8);
      a = _mm_crc32_u64(a, wa);
      b = _mm_crc32_u64(b, wb);
      d = _mm_crc32_u64(d, wd);
    }
    c = shift(static_cast<std::uint32_t>(a), kShift.k[2 * words]) ^
        shift(static_cast<std::uint32_t>(b), kShift.k[words]) ^ static_cast<std::uint32_t>(d);
    p += 3 * lane;
    size -= 3 * lane;
  }
  return ~static_cast<std::uint32_t>(update_serial(c, p, size));
}
#endif

// Checked once at start-up: the crc32 instruction (SSE4.2), and PCLMUL to join lanes.
#if defined(__x86_64__)
const bool kHardware = __builtin_cpu_supports("sse4.2") != 0;
const bool kLaned = kHardware && __builtin_cpu_supports("pclmul") != 0;
#else
const bool kHardware = false;
#endif

}  // namespace

std::uint32_t crc32c_extend_portable(std::uint32_t crc, const void* data, std::size_t size) {
  // Boost takes the initial register unreflected, and a reflected CRC's register is the
  // bit-reversed one: resume from CRC, un-inverted and reversed back.
  std::uint32_t reg = crc ^ 0xFFFFFFFFu;
  std::uint32_t unreflected = 0;
  for (int i = 0; i < 32; ++i, reg >>= 1) unreflected = (unreflected << 1) | (reg & 1u);
  PortableCrc engine(unreflected);
  engine.process_bytes(data, size);
  return engine.checksum();
}

std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size) {
#if defined(__x86_64__)
  if (kLaned) return extend_laned(crc, data, size);
  if (kHardware) return extend_sse42(crc, data, size);
#endif
  return crc32c_extend_portable(crc, data, size);
}

std::uint32_t crc32c(const void* data, std::size_t size) { return crc32c_extend(0, data, size); }

bool crc32c_hardware() { return kHardware; }

}  // namespace tributary::buffer
