#include "config/values.h"

#include <arpa/inet.h>

#include <algorithm>

#include <array>
#include <charconv>
#include <limits>

namespace tributary::config {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits "123unit" into the number and the unit text.
bool split_number(std::string_view text, std::uint64_t* number, std::string_view* unit) {
  text = trim(text);
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *number);
  if (ec != std::errc() || ptr == text.data()) return false;
  *unit = trim(std::string_view(ptr, static_cast<std::size_t>(end - ptr)));
  return true;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text, std::string* error) {
  struct Unit {
    std::string_view name;
    std::uint64_t factor;
  };
  static constexpr std::array<Unit, 8> kUnits = {{{"", 1},
                                                  {"B", 1},
                                                  {"KiB", 1ULL << 10},
                                                  {"MiB", 1ULL << 20},
                                                  {"GiB", 1ULL << 30},
                                                  {"KB", 1000},
                                                  {"MB", 1000 * 1000},
                                                  {"GB", 1000 * 1000 * 1000}}};
  std::uint64_t number = 0;
  std::string_view unit;
  if (!split_number(text, &number, &unit)) {
    *error = "expected a size such as 1500, 64KiB or 16MiB, got '" + std::string(text) + "'";
    return std::nullopt;
  }
  for (const Unit& u : kUnits) {
    if (u.name != unit) continue;
    if (number > std::numeric_limits<std::uint64_t>::max() / u.factor) {
      *error = "size '" + std::string(text) + "' is too large";
      return std::nullopt;
    }
    return number * u.factor;
  }
  *error = "unknown size unit '" + std::string(unit) + "' (use B, KiB, MiB, GiB, KB, MB or GB)";
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                        std::string* error) {
  std::uint64_t number = 0;
  std::string_view unit;
  if (!split_number(text, &number, &unit)) {
    *error = "expected a duration such as 100ms, 30s or 5m, got '" + std::string(text) + "'";
    return std::nullopt;
  }
  std::uint64_t factor = 0;
  if (unit == "ms") factor = 1;
  else if (unit == "s") factor = 1000;
  else if (unit == "m") factor = 60'000;
  else if (unit == "h") factor = 3'600'000;
  else if (unit == "d") factor = 86'400'000;
  if (factor == 0) {
    *error = unit.empty() ? "duration '" + std::string(text) + "' needs a unit (ms, s, m, h or d)"
                          : "unknown duration unit '" + std::string(unit) + "' (use ms, s, m, h or d)";
    return std::nullopt;
  }
  if (number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / factor) {
    *error = "duration '" + std::string(text) + "' is too large";
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(number * factor));
}

std::string HostPort::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<HostPort> parse_host_port(std::string_view text, std::string* error) {
  const std::string shown(text);
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      *error = "expected [IPv6]:port, got '" + shown + "'";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      *error = "expected host:port (IPv6 as [addr]:port), got '" + shown + "'";
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) {
    *error = "missing host in '" + shown + "' (use 0.0.0.0 or [::] for every interface)";
    return std::nullopt;
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value > 65535) {
    *error = "port must be a number from 0 to 65535, got '" + std::string(port) + "'";
    return std::nullopt;
  }
  return HostPort{std::string(host), static_cast<std::uint16_t>(value)};
}

bool is_secret_key(std::string_view name) {
  for (std::string_view marker : {"password", "secret", "key.pem", "token", "oauthbearer"}) {
    if (name.find(marker) != std::string_view::npos) return true;
  }
  return false;
}

bool is_valid_topic(std::string_view topic, std::string* error) {
  if (topic.empty() || topic.size() > 249) {
    *error = "a Kafka topic name has 1 to 249 characters";
    return false;
  }
  if (topic == "." || topic == "..") {
    *error = "'" + std::string(topic) + "' is not a valid Kafka topic name";
    return false;
  }
  for (char c : topic) {
    if (!is_name_char(c)) {
      *error = "Kafka topic names use only letters, digits, '.', '_' and '-'; '" +
               std::string(topic) + "' does not";
      return false;
    }
  }
  return true;
}

bool is_valid_name(std::string_view name, std::string* error) {
  if (name.empty() || name.size() > 64) {
    *error = "a name has 1 to 64 characters";
    return false;
  }
  for (char c : name) {
    if (!is_name_char(c)) {
      *error = "names use only letters, digits, '.', '_' and '-'; '" + std::string(name) +
               "' does not";
      return false;
    }
  }
  return true;
}

bool Network::contains(const std::uint8_t* address, bool address_v6) const {
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address it maps.
  static constexpr std::array<std::uint8_t, 12> kMapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (address_v6 && !v6 && std::equal(kMapped.begin(), kMapped.end(), address)) {
    address += 12;
    address_v6 = false;
  }
  if (address_v6 != v6) return false;
  int bits = prefix;
  for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
    const auto mask = static_cast<std::uint8_t>(bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff);
    if ((address[i] & mask) != (bytes[i] & mask)) return false;
  }
  return true;
}

std::optional<Network> parse_network(std::string_view text, std::string* error) {
  Network n;
  const std::size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  n.v6 = address.find(':') != std::string::npos;
  if (inet_pton(n.v6 ? AF_INET6 : AF_INET, address.c_str(), n.bytes.data()) != 1) {
    *error = "'" + address + "' is not an IPv4 or IPv6 address";
    return std::nullopt;
  }
  const int max = n.v6 ? 128 : 32;
  n.prefix = max;
  if (slash != std::string_view::npos) {
    const std::string_view bits = text.substr(slash + 1);
    int prefix = -1;
    auto [ptr, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
    if (ec != std::errc() || ptr != bits.data() + bits.size() || prefix < 0 || prefix > max) {
      *error = "'" + std::string(bits) + "' is not a prefix length from 0 to " + std::to_string(max);
      return std::nullopt;
    }
    n.prefix = prefix;
  }
  return n;
}

std::optional<std::vector<Network>> parse_networks(std::string_view text, std::string* error) {
  std::vector<Network> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) {
      *error = "an empty entry in the list of networks";
      return std::nullopt;
    }
    auto n = parse_network(item, error);
    if (!n) return std::nullopt;
    out.push_back(*n);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace tributary::config
