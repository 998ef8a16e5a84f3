// libFuzzer target: the appliance-side frame decoder and sequence tracker on untrusted bytes.
// A crash, a sanitizer report, a view outside the input or readings JSON that does not parse
// back is a finding.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "firmware-bridge/frame_decoder.h"
#include "firmware-bridge/sequence_tracker.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static tributary::firmware::SequenceTracker tracker(64, 32);
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  tributary::firmware::DecodedFrame frame;
  std::string why;
  if (!tributary::firmware::decode_frame(bytes, &frame, &why)) {
    require(!why.empty());
    return 0;
  }
  require(!frame.device_id.empty());
  require(inside(frame.device_id, bytes) && inside(frame.content_type, bytes) && inside(frame.payload, bytes));
  const std::string json = tributary::firmware::readings_json(frame);
  require(nlohmann::json::accept(json));
  if (tracker.observe(frame.device_id, frame.boot_id, frame.sequence)) {
    tracker.forget(frame.device_id, frame.boot_id, frame.sequence);
  }
  return 0;
}
