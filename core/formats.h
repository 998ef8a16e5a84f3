#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tributary {

enum class Format : std::uint8_t { kRaw, kJson, kNdjson };
Format format_from_name(std::string_view name);  // "raw", "json", "ndjson"

// Payload formats shared by the intakes: a UDP datagram or an HTTP body holding one raw
// event, one JSON event, or NDJSON (one JSON event per line).
//
// The events in one datagram or body. Bodies point into it; DOCS (json and ndjson, when
// asked for) holds each body parsed, for key templates.
struct Datagram {
  std::vector<std::string_view> bodies;
  std::vector<nlohmann::json> docs;
};

// Splits and validates DATA under FORMAT. False when it is malformed (*why says where):
// then none of it may be taken. raw: the whole datagram, even empty. json: one JSON value.
// ndjson: one JSON value per line ("\n" or "\r\n"; empty lines are skipped; no line at all
// is malformed). WITH_DOCS false: JSON is validated without building documents (several
// times cheaper), for callers that do not look inside.
bool parse_datagram(Format format, std::string_view data, Datagram* out, std::string* why,
                    bool with_docs = true);

// The value at PATH ("device" or "meta.device") in DOC: strings as they are, other values
// as JSON text, "" when absent.
std::string json_field(const nlohmann::json& doc, std::string_view path);

// Parses TEXT as JSON, refusing documents nested deeper than kMaxJsonDepth (their values
// would be written back out recursively, and a hostile body can nest 100,000 levels).
// Discarded (is_discarded()) when invalid or too deep; *TOO_DEEP says which.
inline constexpr int kMaxJsonDepth = 64;
nlohmann::json parse_json_limited(std::string_view text, bool* too_deep);

// Where and why TEXT is not valid JSON, for an error answer: "line L, column C: <what the
// parser expected>" (L and C count from 1, C in bytes); "" when TEXT is valid JSON.
std::string json_error_position(std::string_view text);

// Strict base64 (standard alphabet, '=' padding only at the end, length a multiple of 4);
// nullopt when TEXT is not.
std::optional<std::string> decode_base64(std::string_view text);

// A key template variable served from DOC: "json:PATH" is json_field(DOC, PATH); any other
// name is "".
std::string json_variable(const nlohmann::json& doc, std::string_view name);

}  // namespace tributary
