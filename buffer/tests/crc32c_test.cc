#include "buffer/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace tributary::buffer {
namespace {

TEST(Crc32c, MatchesTheStandardCheckValue) {
  // The CRC-32C check value from the catalogue of parametrised CRC algorithms.
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c_extend_portable(0, "123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
}

TEST(Crc32c, RfcTestVectors) {
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, of 0xFF, and an incrementing pattern.
  std::string zeros(32, '\0');
  std::string ones(32, '\xff');
  std::string incrementing;
  for (int i = 0; i < 32; ++i) incrementing += static_cast<char>(i);
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
  EXPECT_EQ(crc32c(incrementing), 0x46DD794Eu);
}

TEST(Crc32c, HardwareAndPortablePathsAgreeAndExtendComposes) {
  std::mt19937 rng(7);
  for (std::size_t size : {1u, 7u, 8u, 9u, 63u, 64u, 1000u, 4099u}) {
    std::string data(size, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    const std::uint32_t whole = crc32c(data);
    EXPECT_EQ(whole, crc32c_extend_portable(0, data.data(), data.size())) << size;
    const std::size_t half = size / 2;
    EXPECT_EQ(whole, crc32c_extend(crc32c(data.data(), half), data.data() + half, size - half));
  }
}

TEST(Crc32c, EverySizeAndAlignmentAgreesWithThePortablePath) {
  // The hardware path joins three lanes for 96 bytes and more, in blocks of up to 12 KiB:
  // every size around those edges, at every alignment, against Boost's table-driven CRC.
  std::mt19937 rng(11);
  std::string data(40000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  std::vector<std::size_t> sizes;
  for (std::size_t s = 0; s <= 600; ++s) sizes.push_back(s);
  for (std::size_t s : {12287u, 12288u, 12289u, 12383u, 12384u, 24576u, 24600u, 36863u, 39992u}) {
    sizes.push_back(s);
  }
  for (std::size_t size : sizes) {
    for (std::size_t offset = 0; offset < 8; ++offset) {
      const char* p = data.data() + offset;
      const std::uint32_t seed = static_cast<std::uint32_t>(rng());
      ASSERT_EQ(crc32c_extend(seed, p, size), crc32c_extend_portable(seed, p, size))
          << "size " << size << " offset " << offset;
    }
  }
}

}  // namespace
}  // namespace tributary::buffer
