#include "transports/http/rest_proxy.h"

#include <cctype>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "core/formats.h"
#include "transports/http/json.h"

namespace tributary::transports::http {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<EmbeddedFormat> rest_proxy_format(std::string_view content_type) {
  const std::string type = lower(content_type.substr(0, content_type.find(';')));
  std::string_view t = type;
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  if (t == "application/vnd.kafka.json.v2+json") return EmbeddedFormat::kJson;
  if (t == "application/vnd.kafka.binary.v2+json") return EmbeddedFormat::kBinary;
  return std::nullopt;
}

bool parse_rest_records(std::string_view body, EmbeddedFormat format, std::vector<RestRecord>* out,
                        RestError* error) {
  out->clear();
  std::vector<RestRecord> parsed;  // handed over only when every record is good
  std::vector<RestRecord>* records = &parsed;
  bool too_deep = false;
  const nlohmann::json doc = parse_json_limited(body, &too_deep);
  if (too_deep) {
    *error = {422, 42201, "the request body is nested deeper than " + std::to_string(kMaxJsonDepth) +
                              " levels; nothing was stored"};
    return false;
  }
  if (doc.is_discarded()) {
    *error = {400, 400, "the request body is not valid JSON (" + json_error_position(body) + "); nothing was stored"};
    return false;
  }
  if (!doc.is_object() || !doc.contains("records") || !doc["records"].is_array() || doc["records"].empty()) {
    *error = {422, 42201, "the request needs a non-empty \"records\" array; nothing was stored"};
    return false;
  }
  const auto& list = doc["records"];
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& r = list[i];
    const std::string where = "record " + std::to_string(i) + ": ";
    if (!r.is_object() || !r.contains("value")) {
      *error = {422, 42201, where + "each record is an object with a \"value\"; nothing was stored"};
      return false;
    }
    RestRecord record;
    if (r.contains("partition") && !r["partition"].is_null()) {
      const auto& p = r["partition"];
      if (!p.is_number_integer() || p.get<std::int64_t>() < 0 || p.get<std::int64_t>() > INT32_MAX) {
        *error = {422, 42201, where + "\"partition\" is a partition number (0 or more); nothing was stored"};
        return false;
      }
      record.partition = static_cast<std::int32_t>(p.get<std::int64_t>());
    }
    record.null_value = r["value"].is_null();
    const bool has_key = r.contains("key") && !r["key"].is_null();
    if (format == EmbeddedFormat::kJson) {
      if (!record.null_value) record.value = r["value"].dump();
      if (has_key) record.key = r["key"].dump();
    } else {
      if ((!record.null_value && !r["value"].is_string()) || (has_key && !r["key"].is_string())) {
        *error = {422, 42205, where + "binary keys and values are base64 strings; nothing was stored"};
        return false;
      }
      const auto value = record.null_value ? std::optional<std::string>("") : decode_base64(r["value"].get<std::string>());
      const auto key = has_key ? decode_base64(r["key"].get<std::string>()) : std::optional<std::string>("");
      if (!value || !key) {
        *error = {422, 42205, where + "not valid base64; nothing was stored"};
        return false;
      }
      record.value = *value;
      if (has_key) record.key = *key;
    }
    records->push_back(std::move(record));
  }
  out->swap(parsed);
  return true;
}

std::string rest_produce_response(std::size_t records, std::int32_t partition, std::int64_t first_offset) {
  std::string out = "{\"key_schema_id\":null,\"value_schema_id\":null,\"offsets\":[";
  for (std::size_t i = 0; i < records; ++i) {
    if (i > 0) out += ',';
    if (partition < 0) {
      out += "{\"partition\":null,\"offset\":null,\"error_code\":null,\"error\":null}";
    } else {
      out += "{\"partition\":" + std::to_string(partition) + ",\"offset\":" +
             std::to_string(first_offset + static_cast<std::int64_t>(i)) + ",\"error_code\":null,\"error\":null}";
    }
  }
  return out + "]}\n";
}

std::string rest_error_body(int error_code, std::string_view message) {
  return "{\"error_code\":" + std::to_string(error_code) + ",\"message\":" + json_string(message) + "}\n";
}

bool rest_topic_allowed(std::string_view topic, const std::vector<std::string>& patterns) {
  for (const std::string& p : patterns) {
    if (!p.empty() && p.back() == '*' ? topic.starts_with(std::string_view(p).substr(0, p.size() - 1)) : topic == p) {
      return true;
    }
  }
  return false;
}

}  // namespace tributary::transports::http
