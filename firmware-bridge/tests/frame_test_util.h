#pragma once

#include <string>
#include <vector>

#include "firmware-bridge/frame_encoder.h"

namespace tributary::firmware::testing {

// Encodes IN with the device-side encoder into a string (the datagram's bytes).
inline std::string encode(const FrameIn& in) {
  std::vector<std::uint8_t> buffer(frame_bound(in) + 8);
  const std::uint8_t* bytes = nullptr;
  const std::size_t size = encode_frame(in, buffer.data(), buffer.size(), &bytes);
  return size == 0 ? std::string() : std::string(reinterpret_cast<const char*>(bytes), size);
}

}  // namespace tributary::firmware::testing
