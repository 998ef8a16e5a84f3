#pragma once

#include <string>
#include <string_view>

#include "core/event.h"

namespace tributary {

// Encodes EVENT (already stamped) as the FlatBuffers envelope stored in the ring.
std::string encode_envelope(const Event& event);

// Verifies BYTES with the FlatBuffers verifier (the ring's bytes are checked by CRC, but a
// bug or a foreign file must not crash the forwarder) and fills *EVENT. false: not a valid
// envelope.
bool decode_envelope(std::string_view bytes, Event* event);

}  // namespace tributary
