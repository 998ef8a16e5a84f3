#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tributary::tools {

// The load generator's event payload: one line of fixed-width fields, so the sender can
// write it fast and the checker can tell a corrupt payload from a foreign one.
//
//   T1 <run id> <seq, 16 digits> <send time ns, 19 digits> <key> <padding> <xxh3-64, 16 hex>
//
// The checksum covers everything before it. A payload of another run is "foreign"; one of
// this run whose checksum or layout is wrong is "corrupt".
struct Payload {
  std::string run_id;
  std::uint64_t seq = 0;
  std::int64_t send_ns = 0;  // system clock, nanoseconds since the epoch
  std::string key;
};

// Writes the payload for P, padded with 'x' to at least MIN_SIZE bytes, into OUT.
void encode_payload(const Payload& p, std::size_t min_size, std::string& out);

// Same, into a caller's buffer (the UDP hot path). Returns the length written, or 0 when
// the buffer is too small.
std::size_t encode_payload(const Payload& p, std::size_t min_size, char* out, std::size_t cap);

enum class ParseOutcome : std::uint8_t { kOk, kForeign, kCorrupt };

// A parsed payload that points into the text it was parsed from (the checker's hot path).
struct PayloadView {
  std::uint64_t seq = 0;
  std::int64_t send_ns = 0;
  std::string_view key;
};

// Parses TEXT; a payload of a run other than RUN_ID is kForeign.
ParseOutcome parse_payload(std::string_view text, std::string_view run_id, PayloadView* out);
ParseOutcome parse_payload(std::string_view text, std::string_view run_id, Payload* out);

// The payload checksum (XXH3, 64 bits).
std::uint64_t payload_checksum(std::string_view data);

// A run id: 12 lower-case hex characters, random.
std::string new_run_id();

std::int64_t now_ns();

}  // namespace tributary::tools
