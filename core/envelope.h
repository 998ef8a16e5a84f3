#pragma once

#include <flatbuffers/flatbuffers.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"

namespace tributary {

// Builds envelopes one after another with one reused builder: no allocation per envelope
// once its buffers have grown. Headers first (add_header), then finish(). Not thread-safe:
// one per thread.
class EnvelopeWriter {
 public:
  EnvelopeWriter() : builder_(1024) {}

  void add_header(std::string_view name, std::string_view value);
  // The envelope's bytes, valid until the next add_header() or finish(). ID empty: the
  // forwarder names the event by node and ring sequence.
  std::string_view finish(std::string_view id, std::string_view topic,
                          const std::optional<std::string_view>& key, std::string_view payload,
                          std::chrono::system_clock::time_point ingest_time, const Origin& origin);

 private:
  flatbuffers::FlatBufferBuilder builder_;
  std::vector<flatbuffers::uoffset_t> headers_;  // offsets of the fb::Header tables
  bool finished_ = false;
};

// Encodes EVENT (already stamped) as the FlatBuffers envelope stored in the ring.
std::string encode_envelope(const Event& event);

// Verifies BYTES with the FlatBuffers verifier (the ring's bytes are checked by CRC, but a
// bug or a foreign file must not crash the forwarder) and fills *EVENT. false: not a valid
// envelope.
bool decode_envelope(std::string_view bytes, Event* event);

}  // namespace tributary
