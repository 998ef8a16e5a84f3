#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::transports::http {

// The Confluent REST Proxy v2 produce API: POST /topics/{topic} with
// application/vnd.kafka.json.v2+json or application/vnd.kafka.binary.v2+json bodies
//   {"records":[{"key":..., "value":...}, ...]}
// json: key and value are JSON values, stored as their JSON text (a string key "a" is the
// bytes "a" in quotes, as the REST Proxy's JSON serializer writes it); binary: base64
// strings, stored decoded.

enum class EmbeddedFormat : std::uint8_t { kJson, kBinary };

// The format a Content-Type names; nullopt for any other type.
std::optional<EmbeddedFormat> rest_proxy_format(std::string_view content_type);

struct RestRecord {
  std::optional<std::string> key;  // nullopt: no key (absent or null)
  std::string value;
  bool null_value = false;      // "value": null, a tombstone (VALUE is empty)
  std::int32_t partition = -1;  // "partition": N; -1 when absent or null (by key)
};

// An error the REST Proxy would answer: HTTP status, its error_code and message.
struct RestError {
  int status = 0;
  int error_code = 0;
  std::string message;
};

// Decodes BODY; all records or none. On failure returns false and fills *error.
bool parse_rest_records(std::string_view body, EmbeddedFormat format, std::vector<RestRecord>* records,
                        RestError* error);

// The response body once the records are stored: one entry per record, in order. Without
// Kafka's partition and offset (PARTITION < 0, the records are in Tributary's ring, not yet
// in Kafka) both are null — never invented.
std::string rest_produce_response(std::size_t records, std::int32_t partition, std::int64_t first_offset);

// {"error_code":N,"message":"..."}
std::string rest_error_body(int error_code, std::string_view message);

// Whether TOPIC may be produced to under PATTERNS (names, or prefixes ending in '*').
bool rest_topic_allowed(std::string_view topic, const std::vector<std::string>& patterns);

}  // namespace tributary::transports::http
