#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace tributary::config {

enum class OptionType : std::uint8_t {
  kString,
  kInteger,
  kBool,
  kSize,       // "64MiB", "512KiB", "1500" (bytes)
  kDuration,   // "100ms", "30s", "5m"
  kEnum,       // one of OptionDef::choices
  kHostPort,   // "127.0.0.1:8080", "[::1]:8080", port 0 = any free port
  kTemplate,   // "{remote_ip}-{header:X-Device}"
  kTopic,      // a valid Kafka topic name
  kStringMap,  // a map of string to string
  kSection,    // a nested map with its own table
  kList,       // a list of sections
};

// One declaration per option: this table drives parsing, validation, the defaults and
// docs/config-reference.md (tributary config-reference). Nothing else declares an option.
struct OptionDef {
  std::string_view key;
  OptionType type;
  std::string_view default_text;  // parsed like a value from the file; empty = no default
  bool required = false;
  std::string_view help;
  std::int64_t min = 0;  // bounds for kInteger, kSize (bytes) and kDuration (ms); max 0 = none
  std::int64_t max = 0;
  std::span<const std::string_view> choices = {};  // kEnum values; kTemplate variables
};

// A documented group of options, e.g. the `kafka:` map or one entry of `sources:`.
struct SectionDef {
  std::string_view path;   // "kafka", "sources[] (type: udp)"
  std::string_view title;  // one line for the reference page
  std::span<const OptionDef> options;
};

std::span<const OptionDef> top_level_options();
std::span<const OptionDef> kafka_options();
std::span<const OptionDef> buffer_options();
std::span<const OptionDef> logging_options();
std::span<const OptionDef> metrics_options();
std::span<const OptionDef> kafka_security_options();
std::span<const OptionDef> source_common_options();
std::span<const OptionDef> udp_source_options();
std::span<const OptionDef> http_source_options();
std::span<const OptionDef> http_route_options();
std::span<const OptionDef> mqtt_source_options();
std::span<const OptionDef> mqtt_subscription_options();

// Every section, in the order the reference page lists them.
std::span<const SectionDef> all_sections();

std::string_view type_name(OptionType type);

}  // namespace tributary::config
