#include "tools/load/generator.h"

#include <algorithm>
#include <charconv>
#include <iterator>

#include "tools/load/obligations.h"
#include <thread>

namespace tributary::tools {

Pacer::Pacer(double rate) : rate_(rate), start_(std::chrono::steady_clock::now()) {}

void Pacer::wait_for(std::uint64_t n) {
  if (rate_ <= 0) return;
  const auto due = start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::duration<double>(static_cast<double>(n) / rate_));
  std::this_thread::sleep_until(due);
}

std::optional<std::uint64_t> SequenceSource::next() {
  if (!keep_going(options_, claimed_.load(), start_)) return std::nullopt;
  const std::uint64_t n = claimed_.fetch_add(1);
  if (options_.count > 0 && n >= options_.count) return std::nullopt;
  return options_.first_seq + n;
}

std::string connection_key(unsigned connection, std::uint64_t n, unsigned keys) {
  return "c" + std::to_string(connection) + "-k" + std::to_string(n % std::max(1u, keys));
}

bool keep_going(const LoadOptions& options, std::uint64_t sent,
                std::chrono::steady_clock::time_point start) {
  if (options.count > 0) return sent < options.count;
  return std::chrono::steady_clock::now() - start < options.duration;
}

std::vector<SendOutcome> merge_outcomes(std::vector<std::vector<SendOutcome>>& per_connection) {
  std::vector<SendOutcome> all;
  for (auto& v : per_connection) {
    all.insert(all.end(), std::make_move_iterator(v.begin()), std::make_move_iterator(v.end()));
  }
  std::sort(all.begin(), all.end(),
            [](const SendOutcome& a, const SendOutcome& b) { return a.seq < b.seq; });
  return all;
}

std::string write_outcomes(const LoadOptions& options, const std::vector<SendOutcome>& outcomes,
                           std::uint64_t* acknowledged) {
  ObligationWriter log;
  const bool logging = !options.obligation_log.empty();
  if (logging && !log.open(options.obligation_log, options.run_id, options.topic)) {
    return "cannot write " + options.obligation_log;
  }
  for (const SendOutcome& o : outcomes) {
    if (o.reason.empty()) ++*acknowledged;
    if (!logging) continue;
    if (o.reason.empty()) {
      log.acknowledged(o.seq);
    } else {
      log.unacknowledged(o.seq, o.reason);
    }
  }
  return "";
}

bool split_host_port(const std::string& text, std::string* host, std::uint16_t* port) {
  std::string h;
  std::string p;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("]:");
    if (close == std::string::npos) return false;
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return false;
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (h.empty() || ec != std::errc() || ptr != p.data() + p.size() || value > 65535) return false;
  *host = h;
  *port = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace tributary::tools
