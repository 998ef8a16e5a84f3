#include "core/stamper.h"

#include <array>
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

std::string random_hex(std::size_t digits) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  out.reserve(digits);
  while (out.size() < digits) {
    std::uint64_t bits = rng();
    for (int i = 0; i < 16 && out.size() < digits; ++i, bits >>= 4) out += kHex[bits & 0xF];
  }
  return out;
}

}  // namespace

Stamper::Stamper(std::string node_id) : node_id_(std::move(node_id)) {}

std::string event_id(std::string_view node_id, std::uint64_t sequence) {
  std::string id;
  id.reserve(node_id.size() + 21);
  id.append(node_id);
  id.push_back('-');
  id.append(std::to_string(sequence));
  return id;
}

void Stamper::stamp(Event& event) const {
  const Origin& o = event.origin;
  auto& h = event.headers;
  h.reserve(h.size() + 8);
  h.push_back({"ce_specversion", "1.0"});
  h.push_back({"ce_source", "/tributary/" + node_id_ + "/" + o.transport + "/" + o.source});
  h.push_back({"ce_type", "io.tributary." + o.transport});
  h.push_back({"ce_time", rfc3339(event.ingest_time)});
  if (!event.content_type.empty()) h.push_back({"content-type", event.content_type});
  h.push_back({"traceparent",
               is_valid_traceparent(event.traceparent) ? event.traceparent : new_traceparent()});
  if (!o.remote_ip.empty()) h.push_back({"tributary_remote", o.remote_addr()});
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

std::string Stamper::new_traceparent() {
  std::string trace = random_hex(32);
  if (all_zero(trace)) trace[31] = '1';
  std::string parent = random_hex(16);
  if (all_zero(parent)) parent[15] = '1';
  return "00-" + trace + "-" + parent + "-01";
}

std::string Stamper::rfc3339(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const auto secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  // The date and time to the second change once a second: format them once per thread.
  thread_local std::time_t cached_secs = -1;
  thread_local std::string cached;
  if (secs != cached_secs) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::array<char, 32> buf{};
    const std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &tm);
    cached.assign(buf.data(), n);
    cached_secs = secs;
  }
  const auto milli = static_cast<int>(ms - static_cast<std::int64_t>(secs) * 1000);
  std::string out;
  out.reserve(cached.size() + 5);
  out += cached;
  out += '.';
  out += static_cast<char>('0' + milli / 100);
  out += static_cast<char>('0' + milli / 10 % 10);
  out += static_cast<char>('0' + milli % 10);
  out += 'Z';
  return out;
}

}  // namespace tributary
