#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "frame_generated.h"

namespace tributary::firmware {

// Appliance side: one frame read from untrusted bytes. Views point into the bytes.
struct DecodedFrame {
  std::string_view device_id;
  std::uint32_t boot_id = 0;
  std::uint32_t sequence = 0;
  std::int64_t device_time_ms = 0;  // 0: the device did not say
  std::string_view content_type;
  std::string_view payload;
  const flatbuffers::Vector<flatbuffers::Offset<frame::Reading>>* readings = nullptr;  // null: none
};

// Verifies BYTES with the FlatBuffers verifier (identifier "TRF1", bounds, depth, table
// count) and the frame's own rules (a non-empty device id, not both payload and readings,
// every reading named). False, with *why saying what is wrong, when any check fails: then
// nothing of it may be used.
bool decode_frame(std::string_view bytes, DecodedFrame* out, std::string* why);

// The frame's readings as one JSON object, the record value for frames that carry readings:
//   {"device_id":"m-1","boot_id":7,"sequence":42,"device_time":"2026-...Z",
//    "readings":[{"name":"temp","value":21.5,"unit":"C"},{"name":"on","value":true}]}
// device_time is left out when the device did not send one. Non-finite numbers become null.
std::string readings_json(const DecodedFrame& frame);

// A device time (milliseconds since the Unix epoch) as RFC 3339 UTC with milliseconds; a
// time outside the years 0000..9999 stays a number of milliseconds.
std::string device_time_text(std::int64_t ms);

}  // namespace tributary::firmware
