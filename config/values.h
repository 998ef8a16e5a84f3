#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::config {

// Parsers for the value syntaxes people write in config files. Each returns nullopt and
// sets *error to a specific sentence when the text is not valid.

// "64MiB", "512 KiB", "1GB", "1500" (bytes). Binary (KiB) and decimal (KB) units.
std::optional<std::uint64_t> parse_size(std::string_view text, std::string* error);

// "100ms", "30s", "5m", "1h". A bare number is refused: the unit must be explicit.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* error);

struct HostPort {
  std::string host;  // without brackets
  std::uint16_t port = 0;
  std::string text() const;  // "host:port" or "[v6]:port"
};

// "127.0.0.1:8080", "[::1]:0", "localhost:9000".
std::optional<HostPort> parse_host_port(std::string_view text, std::string* error);

// An IP network, "10.0.0.0/8" or "fd00::/8"; a bare address is the one host.
struct Network {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // the first 4 for IPv4
  int prefix = 0;
  // ADDRESS: 4 or 16 bytes; an IPv4-mapped IPv6 address counts as IPv4.
  bool contains(const std::uint8_t* address, bool address_v6) const;
};
std::optional<Network> parse_network(std::string_view text, std::string* error);
// "a, b, c" into networks; the first bad entry is an error.
std::optional<std::vector<Network>> parse_networks(std::string_view text, std::string* error);

// Kafka's own rule: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
bool is_valid_topic(std::string_view topic, std::string* error);

// Whether a pass-through property of this name may hold a credential (librdkafka's
// sasl.password, ssl.key.pem, ...): its value is never printed or logged.
bool is_secret_key(std::string_view name);

// Route and source names: 1..64 characters of [a-zA-Z0-9._-].
bool is_valid_name(std::string_view name, std::string* error);

}  // namespace tributary::config
