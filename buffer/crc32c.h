#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tributary::buffer {

// CRC-32C (Castagnoli), as used by iSCSI, ext4 and Kafka's record batches. Uses the SSE4.2
// crc32 instruction when the CPU has it (checked once at start-up), Boost.CRC otherwise.
// EXTEND continues a CRC over more bytes: crc32c(ab) == crc32c_extend(crc32c(a), b).
std::uint32_t crc32c(const void* data, std::size_t size);
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size);
inline std::uint32_t crc32c(std::string_view s) { return crc32c(s.data(), s.size()); }

// Whether the hardware path is in use (for benchmarks and logs).
bool crc32c_hardware();

// The portable implementation, exposed so tests can compare both paths.
std::uint32_t crc32c_extend_portable(std::uint32_t crc, const void* data, std::size_t size);

}  // namespace tributary::buffer
