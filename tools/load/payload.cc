#include "tools/load/payload.h"

#include <charconv>
#include <chrono>
#include <cstring>
#include <algorithm>
#include <random>

#include <xxhash.h>

namespace tributary::tools {
namespace {

constexpr std::string_view kMagic = "T1 ";
constexpr std::size_t kSumDigits = 16;

// Writes V as exactly WIDTH zero-padded decimal digits; false if it does not fit.
bool put_fixed(char*& p, std::uint64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  p += width;
  return v == 0;
}

void put_hex(char* p, std::uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    p[i] = kHex[v & 0xF];
    v >>= 4;
  }
}

}  // namespace

std::uint64_t payload_checksum(std::string_view data) {
  return XXH3_64bits(data.data(), data.size());
}

std::size_t encode_payload(const Payload& p, std::size_t min_size, char* out, std::size_t cap) {
  const std::size_t base = kMagic.size() + p.run_id.size() + 1 + 16 + 1 + 19 + 1 +
                           p.key.size() + 1 + 1 + kSumDigits;
  const std::size_t pad = min_size > base + 1 ? min_size - base : 1;  // at least one 'x'
  const std::size_t total = base + pad;
  if (total > cap) return 0;
  char* w = out;
  std::memcpy(w, kMagic.data(), kMagic.size());
  w += kMagic.size();
  std::memcpy(w, p.run_id.data(), p.run_id.size());
  w += p.run_id.size();
  *w++ = ' ';
  if (!put_fixed(w, p.seq, 16)) return 0;
  *w++ = ' ';
  if (!put_fixed(w, static_cast<std::uint64_t>(p.send_ns), 19)) return 0;
  *w++ = ' ';
  std::memcpy(w, p.key.data(), p.key.size());
  w += p.key.size();
  *w++ = ' ';
  std::memset(w, 'x', pad);
  w += pad;
  *w++ = ' ';
  put_hex(w, payload_checksum(std::string_view(out, static_cast<std::size_t>(w - out))));
  w += kSumDigits;
  return static_cast<std::size_t>(w - out);
}

void encode_payload(const Payload& p, std::size_t min_size, std::string& out) {
  out.resize(std::max<std::size_t>(min_size, 128) + p.run_id.size() + p.key.size() + 64);
  out.resize(encode_payload(p, min_size, out.data(), out.size()));
}

ParseOutcome parse_payload(std::string_view text, std::string_view run_id, PayloadView* out) {
  // Sent as a JSON string (UDP --format json, HTTP --ndjson): the same payload in quotes.
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text.remove_prefix(1);
    text.remove_suffix(1);
  }
  if (text.substr(0, kMagic.size()) != kMagic) return ParseOutcome::kForeign;
  text.remove_prefix(kMagic.size());
  const auto run_end = text.find(' ');
  if (run_end == std::string_view::npos) return ParseOutcome::kCorrupt;
  if (text.substr(0, run_end) != run_id) return ParseOutcome::kForeign;
  // From here on the payload claims to be ours: any defect is corruption.
  const std::string_view whole(text.data() - kMagic.size(), text.size() + kMagic.size());
  if (whole.size() < kSumDigits + 1 || whole[whole.size() - kSumDigits - 1] != ' ') {
    return ParseOutcome::kCorrupt;
  }
  const std::string_view body = whole.substr(0, whole.size() - kSumDigits);
  std::uint64_t sum = 0;
  const char* sum_begin = whole.data() + body.size();
  auto [sp, sec] = std::from_chars(sum_begin, sum_begin + kSumDigits, sum, 16);
  if (sec != std::errc() || sp != sum_begin + kSumDigits || sum != payload_checksum(body)) {
    return ParseOutcome::kCorrupt;
  }
  std::string_view rest = text.substr(run_end + 1);
  auto field = [&rest](std::string_view* f) {
    const auto sp2 = rest.find(' ');
    if (sp2 == std::string_view::npos) return false;
    *f = rest.substr(0, sp2);
    rest.remove_prefix(sp2 + 1);
    return true;
  };
  std::string_view seq, t, key;
  if (!field(&seq) || !field(&t) || !field(&key)) return ParseOutcome::kCorrupt;
  PayloadView p;
  if (std::from_chars(seq.data(), seq.data() + seq.size(), p.seq).ec != std::errc() ||
      std::from_chars(t.data(), t.data() + t.size(), p.send_ns).ec != std::errc()) {
    return ParseOutcome::kCorrupt;
  }
  p.key = key;
  *out = p;
  return ParseOutcome::kOk;
}

ParseOutcome parse_payload(std::string_view text, std::string_view run_id, Payload* out) {
  PayloadView view;
  const ParseOutcome outcome = parse_payload(text, run_id, &view);
  if (outcome == ParseOutcome::kOk) {
    *out = Payload{std::string(run_id), view.seq, view.send_ns, std::string(view.key)};
  }
  return outcome;
}

std::string new_run_id() {
  std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(12, '0');
  for (char& c : id) c = kHex[rng() & 0xF];
  return id;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace tributary::tools
