#include "core/stamper.h"

#include <array>
#include <charconv>
#include <cstring>
#include <ctime>
#include <random>

namespace tributary {
namespace {

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool all_zero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

// A byte as two lower-case hex digits.
constexpr std::array<std::array<char, 2>, 256> kHexPairs = [] {
  constexpr std::string_view digits = "0123456789abcdef";
  std::array<std::array<char, 2>, 256> pairs{};
  for (std::size_t b = 0; b < 256; ++b) pairs[b] = {digits[b >> 4], digits[b & 0xF]};
  return pairs;
}();

// DIGITS (a multiple of 16) random lower-case hex digits into OUT. Trace ids need to be
// unique, not secret: SplitMix64 (one add and three multiply-xorshifts per 64 bits, full
// period, seeded per thread from the system's random source) rather than a Mersenne
// Twister, which cost as much as the rest of a UDP datagram's stamping.
void random_hex(char* out, std::size_t digits) {
  thread_local std::uint64_t state = (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^
                                     std::random_device{}();
  for (std::size_t i = 0; i < digits; i += 16) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (std::size_t n = 0; n < 8; ++n, z >>= 8) std::memcpy(out + i + 2 * n, kHexPairs[z & 0xFF].data(), 2);
  }
}

}  // namespace

Stamper::Stamper(std::string node_id) : node_id_(std::move(node_id)) {}

std::string event_id(std::string_view node_id, std::uint64_t sequence) {
  std::string id;
  assign_event_id(id, node_id, sequence);
  return id;
}

void assign_event_id(std::string& out, std::string_view node_id, std::uint64_t sequence) {
  std::array<char, 20> digits;  // 2^64 - 1 has 20
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), sequence).ptr;
  out.assign(node_id);
  out.push_back('-');
  out.append(digits.data(), static_cast<std::size_t>(end - digits.data()));
}

void Stamper::stamp(Event& event) const {
  auto& h = event.headers;
  h.reserve(h.size() + 7);
  stamp_headers(event.origin, event.ingest_time, event.content_type, event.traceparent,
                [&h](std::string_view name, std::string_view value) {
                  h.push_back({std::string(name), std::string(value)});
                });
}

void render_common_headers(const StampFacts& f, CommonHeaderText& text, const AddHeader& add) {
  add("ce_specversion", "1.0");
  text.source.assign("/tributary/").append(f.node_id).append("/").append(f.transport).append("/").append(f.source);
  add("ce_source", text.source);
  text.type.assign("io.tributary.").append(f.transport);
  add("ce_type", text.type);
  add("ce_time", Stamper::rfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(f.ingest_time_ms)),
                                  text.time));
  if (!f.content_type.empty()) add("content-type", f.content_type);
  add("traceparent", f.traceparent);
  if (!f.remote_ip.empty()) {
    const bool v6 = f.remote_ip.find(':') != std::string_view::npos;
    text.remote.clear();
    if (v6) text.remote.push_back('[');
    text.remote.append(f.remote_ip);
    if (v6) text.remote.push_back(']');
    text.remote.push_back(':');
    char port[8];
    const auto end = std::to_chars(port, port + sizeof port, f.remote_port).ptr;
    text.remote.append(port, static_cast<std::size_t>(end - port));
    add("tributary_remote", text.remote);
  }
}

bool is_stamped_header_name(std::string_view name) {
  const auto starts = [name](std::string_view prefix) {
    if (name.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      const char c = name[i];
      if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != prefix[i]) return false;
    }
    return true;
  };
  const auto is = [&](std::string_view whole) { return name.size() == whole.size() && starts(whole); };
  return starts("ce_") || starts("tributary_") || starts("mqtt_") || is("content-type") || is("traceparent");
}

std::string_view Stamper::traceparent(std::string_view incoming, std::array<char, 55>& out) {
  return is_valid_traceparent(incoming) ? incoming : new_traceparent(out);
}

void Stamper::stamp_headers(const Origin& o, std::chrono::system_clock::time_point ingest_time,
                            std::string_view content_type, std::string_view traceparent,
                            const AddHeader& add) const {
  // Built in reused per-thread buffers: no allocation per event once they have grown.
  thread_local CommonHeaderText text;
  std::array<char, 55> trace;
  const StampFacts facts{node_id_,
                         o.transport,
                         o.source,
                         std::chrono::duration_cast<std::chrono::milliseconds>(ingest_time.time_since_epoch()).count(),
                         content_type,
                         Stamper::traceparent(traceparent, trace),
                         o.remote_ip,
                         o.remote_port};
  render_common_headers(facts, text, add);
}

bool Stamper::is_valid_traceparent(std::string_view v) {
  // version(2) '-' trace-id(32) '-' parent-id(16) '-' flags(2); version 00 only, as
  // higher versions may change the layout.
  if (v.size() != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  const std::string_view version = v.substr(0, 2);
  const std::string_view trace = v.substr(3, 32);
  const std::string_view parent = v.substr(36, 16);
  const std::string_view flags = v.substr(53, 2);
  return version == "00" && is_lower_hex(trace) && is_lower_hex(parent) && is_lower_hex(flags) &&
         !all_zero(trace) && !all_zero(parent);
}

std::string_view Stamper::new_traceparent(std::array<char, 55>& out) {
  // "00-" trace-id(32) "-" parent-id(16) "-01"; neither id may be all zeros.
  std::memcpy(out.data(), "00-", 3);
  random_hex(out.data() + 3, 32);
  if (all_zero(std::string_view(out.data() + 3, 32))) out[34] = '1';
  out[35] = '-';
  random_hex(out.data() + 36, 16);
  if (all_zero(std::string_view(out.data() + 36, 16))) out[51] = '1';
  std::memcpy(out.data() + 52, "-01", 3);
  return std::string_view(out.data(), out.size());
}

std::string Stamper::new_traceparent() {
  std::array<char, 55> out;
  return std::string(new_traceparent(out));
}

std::string_view Stamper::rfc3339(std::chrono::system_clock::time_point t, std::array<char, 32>& out) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const auto secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  // The date and time to the second change once a second: format them once per thread.
  thread_local std::time_t cached_secs = -1;
  thread_local std::array<char, 24> cached{};
  thread_local std::size_t cached_size = 0;
  if (secs != cached_secs) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    cached_size = std::strftime(cached.data(), cached.size(), "%Y-%m-%dT%H:%M:%S", &tm);
    cached_secs = secs;
  }
  const auto milli = static_cast<int>(ms - static_cast<std::int64_t>(secs) * 1000);
  std::memcpy(out.data(), cached.data(), cached_size);
  std::size_t n = cached_size;
  out[n++] = '.';
  out[n++] = static_cast<char>('0' + milli / 100);
  out[n++] = static_cast<char>('0' + milli / 10 % 10);
  out[n++] = static_cast<char>('0' + milli % 10);
  out[n++] = 'Z';
  return std::string_view(out.data(), n);
}

std::string Stamper::rfc3339(std::chrono::system_clock::time_point t) {
  std::array<char, 32> out;
  return std::string(rfc3339(t, out));
}

}  // namespace tributary
