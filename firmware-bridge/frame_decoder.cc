#include "firmware-bridge/frame_decoder.h"

#include <cmath>

#include <nlohmann/json.hpp>

namespace tributary::firmware {
namespace {

std::string_view view(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view() : std::string_view(s->c_str(), s->size());
}

}  // namespace

std::string device_time_text(std::int64_t ms) {
  constexpr std::int64_t kLimit = 253402300800000;  // 10000-01-01, in ms
  if (ms <= -62167219200000 || ms >= kLimit) return std::to_string(ms);
  const std::int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  const auto milli = static_cast<int>(ms - secs * 1000);
  const auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return std::to_string(ms);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", milli);
  return out + frac;
}

bool decode_frame(std::string_view bytes, DecodedFrame* out, std::string* why) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  if (bytes.size() < 8 || !frame::FrameBufferHasIdentifier(data)) {
    *why = "not a frame (no TRF1 identifier)";
    return false;
  }
  // Depth 4 and 4096 tables are far above what a valid frame needs (2 and 1 + readings).
  flatbuffers::Verifier verifier(data, bytes.size(), 4, 4096);
  if (!frame::VerifyFrameBuffer(verifier)) {
    *why = "frame failed verification (bounds, offsets or a required field)";
    return false;
  }
  const frame::Frame* f = frame::GetFrame(data);
  DecodedFrame d;
  d.device_id = view(f->device_id());
  if (d.device_id.empty()) {
    *why = "frame has an empty device_id";
    return false;
  }
  d.boot_id = f->boot_id();
  d.sequence = f->sequence();
  d.device_time_ms = f->device_time_ms();
  d.content_type = view(f->content_type());
  if (f->payload() != nullptr) {
    d.payload = std::string_view(reinterpret_cast<const char*>(f->payload()->data()), f->payload()->size());
  }
  d.readings = f->readings();
  if (d.readings != nullptr && d.readings->size() == 0) d.readings = nullptr;
  if (d.readings != nullptr && !d.payload.empty()) {
    *why = "frame has both a payload and readings";
    return false;
  }
  if (d.readings != nullptr) {
    for (const frame::Reading* r : *d.readings) {
      if (view(r->name()).empty()) {
        *why = "frame has a reading without a name";
        return false;
      }
      if (r->kind() > frame::ReadingKind::MAX) {
        *why = "frame has a reading of unknown kind " + std::to_string(static_cast<int>(r->kind()));
        return false;
      }
    }
  }
  *out = d;
  return true;
}

std::string readings_json(const DecodedFrame& frame) {
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  doc["device_id"] = frame.device_id;
  doc["boot_id"] = frame.boot_id;
  doc["sequence"] = frame.sequence;
  if (frame.device_time_ms != 0) doc["device_time"] = device_time_text(frame.device_time_ms);
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  if (frame.readings != nullptr) {
    for (const frame::Reading* r : *frame.readings) {
      nlohmann::ordered_json item = nlohmann::ordered_json::object();
      item["name"] = view(r->name());
      switch (r->kind()) {
        case frame::ReadingKind::Integer: item["value"] = r->integer(); break;
        case frame::ReadingKind::Boolean: item["value"] = r->value() != 0; break;
        case frame::ReadingKind::Number:
          item["value"] = std::isfinite(r->value()) ? nlohmann::ordered_json(r->value()) : nlohmann::ordered_json(nullptr);
          break;
      }
      if (r->unit() != nullptr) item["unit"] = view(r->unit());
      list.push_back(std::move(item));
    }
  }
  doc["readings"] = std::move(list);
  // Device strings are untrusted: invalid UTF-8 is replaced, never a throw.
  return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace tributary::firmware
