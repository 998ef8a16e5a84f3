#pragma once

#include <flatbuffers/flatbuffers.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/stamper.h"

namespace tributary {
namespace fb {
struct Envelope;
}

// What a stamped envelope stores to make its common headers from (with its ingest time,
// transport, source and remote address): see StampFacts.
struct EnvelopeStamp {
  std::string_view node_id;
  std::string_view content_type;
  std::string_view traceparent;  // a valid one (Stamper::traceparent)
};

// Where and how a record goes to Kafka beyond its topic and key, for the REST Proxy API:
// an explicit partition, a null value (tombstone). The defaults: partitioned by key (as the
// Java client does), the payload as the value.
struct KafkaPlacement {
  std::int32_t partition = -1;
  bool null_value = false;
};

// Builds envelopes one after another with one reused builder: no allocation per envelope
// once its buffers have grown. Headers first (add_header), then finish(). Not thread-safe:
// one per thread.
class EnvelopeWriter {
 public:
  EnvelopeWriter() : builder_(1024) {}

  void add_header(std::string_view name, std::string_view value);
  // The envelope's bytes, valid until the next add_header() or finish(). ID empty: the
  // forwarder names the event by node and ring sequence. With STAMP, a stamped envelope:
  // the headers added are what comes after the common ones, which are made at produce
  // time. Without, the headers added are all of them.
  std::string_view finish(std::string_view id, std::string_view topic,
                          const std::optional<std::string_view>& key, std::string_view payload,
                          std::chrono::system_clock::time_point ingest_time, const Origin& origin,
                          const EnvelopeStamp* stamp = nullptr, KafkaPlacement placement = {});

 private:
  flatbuffers::FlatBufferBuilder builder_;
  std::vector<flatbuffers::uoffset_t> headers_;  // offsets of the fb::Header tables
  bool finished_ = false;
};

// The bytes of a FlatBuffers string or byte vector of a verified buffer, as a view into it;
// empty for an absent field.
inline std::string_view fb_view(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view() : std::string_view(s->c_str(), s->size());
}
inline std::string_view fb_view(const flatbuffers::Vector<std::uint8_t>* v) {
  return v == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(v->data()), v->size());
}

// The Kafka headers of a verified envelope, in order: the common ones made from its facts
// (stamped envelopes), then the stored ones. Views point into the envelope or TEXT.
void envelope_headers(const fb::Envelope& envelope, CommonHeaderText& text, const AddHeader& add);

// Encodes EVENT (already stamped: its headers are all of them) as an unstamped envelope.
std::string encode_envelope(const Event& event);

// Verifies BYTES with the FlatBuffers verifier (the ring's bytes are checked by CRC, but a
// bug or a foreign file must not crash the forwarder) and fills *EVENT. false: not a valid
// envelope.
bool decode_envelope(std::string_view bytes, Event* event);

}  // namespace tributary
