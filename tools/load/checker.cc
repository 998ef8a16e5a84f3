#include "tools/load/checker.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "tools/load/payload.h"

namespace tributary::tools {

Checker::Checker(const Obligations& obligations)
    : obligations_(obligations), latency_buckets_(kBuckets, 0) {
  const std::uint64_t end = obligations_.end_seq();
  expect_.assign(end, kNotSent);
  seen_.assign(end, 0);
  for (const ObligationRange& r : obligations_.ranges) {
    for (std::uint64_t s = r.first; s <= r.last; ++s) {
      if (expect_[s] == kNotSent) ++sent_;
      // A sequence number logged twice keeps its strongest promise.
      if (r.acknowledged) {
        if (expect_[s] != kAcked) ++acknowledged_;
        expect_[s] = kAcked;
      } else if (expect_[s] == kNotSent) {
        expect_[s] = kUnacked;
      }
    }
  }
}

void Checker::observe(const ObservedRecord& record) {
  ++records_read_;
  PayloadView p;
  switch (parse_payload(record.value, obligations_.run_id, &p)) {
    case ParseOutcome::kForeign: ++foreign_; return;
    case ParseOutcome::kCorrupt: ++corrupt_; return;
    case ParseOutcome::kOk: break;
  }
  if (p.seq >= expect_.size() || expect_[p.seq] == kNotSent) {
    ++phantoms_;
    return;
  }
  std::uint8_t& seen = seen_[p.seq];
  if (seen > 0) {
    ++duplicates_;
    if (seen < 255) ++seen;
    return;
  }
  seen = 1;
  ++delivered_;
  if (expect_[p.seq] == kAcked) ++acknowledged_seen_;

  // Per-key order: a key's first deliveries must come in send (sequence) order.
  if (auto it = last_seq_by_key_.find(p.key); it == last_seq_by_key_.end()) {
    last_seq_by_key_.emplace(std::string(p.key), p.seq);
  } else if (p.seq < it->second) {
    ++order_violations_;
  } else {
    it->second = p.seq;
  }

  if (record.timestamp_ms >= 0) {
    (record.log_append_time ? any_log_append_ : any_create_time_) = true;
    const double ms =
        std::max(0.0, static_cast<double>(record.timestamp_ms) - static_cast<double>(p.send_ns) / 1e6);
    const auto bucket = static_cast<std::size_t>(std::min(ms * 10.0, static_cast<double>(kBuckets - 1)));
    ++latency_buckets_[bucket];
    ++latency_count_;
    latency_max_ms_ = std::max(latency_max_ms_, ms);
  }
}

Report Checker::report() const {
  Report r;
  r.run_id = obligations_.run_id;
  r.topics = obligations_.topics;
  r.sent = sent_;
  r.acknowledged = acknowledged_;
  r.unacknowledged_by_reason = obligations_.unacknowledged_by_reason();
  r.records_read = records_read_;
  r.foreign = foreign_;
  r.delivered = delivered_;
  r.duplicates = duplicates_;
  r.corrupt = corrupt_;
  r.phantoms = phantoms_;
  r.order_violations = order_violations_;
  for (std::uint64_t s = 0; s < expect_.size(); ++s) {
    if (seen_[s] != 0) continue;
    if (expect_[s] == kAcked) {
      if (r.lost_acknowledged_sample.size() < 20) r.lost_acknowledged_sample.push_back(s);
      ++r.lost_acknowledged;
    } else if (expect_[s] == kUnacked) {
      ++r.lost_unacknowledged;
    }
  }
  LatencySummary& l = r.latency;
  l.count = latency_count_;
  l.clock = any_log_append_ ? (any_create_time_ ? "mixed" : "log_append_time")
                            : (any_create_time_ ? "create_time" : "none");
  l.max_ms = latency_max_ms_;
  const auto at = [this](double q) {
    const auto target = static_cast<std::uint64_t>(q * static_cast<double>(latency_count_ - 1)) + 1;
    std::uint64_t running = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) {
      running += latency_buckets_[b];
      if (running >= target) return static_cast<double>(b + 1) / 10.0;  // bucket's upper edge
    }
    return latency_max_ms_;
  };
  if (latency_count_ > 0) {
    l.p50_ms = std::min(at(0.50), l.max_ms);
    l.p90_ms = std::min(at(0.90), l.max_ms);
    l.p99_ms = std::min(at(0.99), l.max_ms);
    l.p999_ms = std::min(at(0.999), l.max_ms);
  }
  return r;
}

std::vector<std::string> Report::failures() const {
  std::vector<std::string> out;
  if (lost_acknowledged > 0) out.push_back(std::to_string(lost_acknowledged) + " acknowledged events lost");
  if (corrupt > 0) out.push_back(std::to_string(corrupt) + " corrupt payloads");
  if (phantoms > 0) out.push_back(std::to_string(phantoms) + " phantom events");
  if (order_violations > 0) out.push_back(std::to_string(order_violations) + " per-key order violations");
  if (faults_required > 0 && faults_landed.value_or(0) < faults_required) {
    out.push_back("only " + std::to_string(faults_landed.value_or(0)) + " of " +
                  std::to_string(faults_required) + " required faults happened: the run proves nothing");
  }
  if (sent == 0) out.push_back("nothing was sent: the run proves nothing");
  if (const std::uint64_t n = uncounted_loss(); n > 0) {
    out.push_back(std::to_string(n) + " unacknowledged events lost that Tributary counted under no drop reason");
  }
  return out;
}

std::uint64_t Report::uncounted_loss() const {
  if (!tributary_dropped) return 0;
  std::uint64_t counted = 0;
  for (const auto& [reason, n] : *tributary_dropped) counted += n;
  return lost_unacknowledged > counted ? lost_unacknowledged - counted : 0;
}

std::map<std::string, std::uint64_t> dropped_by_reason(std::string_view page,
                                                       const std::vector<std::string>& sources) {
  constexpr std::string_view kName = "tributary_source_dropped_events_total{";
  std::map<std::string, std::uint64_t> out;
  const auto label = [](std::string_view labels, std::string_view name) -> std::string_view {
    const std::string key = std::string(name) + "=\"";
    const auto at = labels.find(key);
    if (at == std::string_view::npos) return {};
    const auto start = at + key.size();
    return labels.substr(start, labels.find('"', start) - start);
  };
  std::size_t pos = 0;
  while (pos < page.size()) {
    const std::size_t eol = std::min(page.find('\n', pos), page.size());
    const std::string_view line = page.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.starts_with(kName)) continue;
    const auto close = line.find('}');
    if (close == std::string_view::npos) continue;
    const std::string_view labels = line.substr(kName.size(), close - kName.size());
    const std::string source(label(labels, "source"));
    if (!sources.empty() && std::find(sources.begin(), sources.end(), source) == sources.end()) continue;
    const double value = std::strtod(std::string(line.substr(close + 1)).c_str(), nullptr);
    out[std::string(label(labels, "reason"))] += static_cast<std::uint64_t>(value);
  }
  return out;
}

namespace {

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string fixed2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

}  // namespace

std::string Report::to_json() const {
  std::ostringstream o;
  o << "{\n  \"run_id\": " << quoted(run_id) << ",\n  \"topics\": [";
  for (std::size_t i = 0; i < topics.size(); ++i) o << (i ? ", " : "") << quoted(topics[i]);
  o << "],\n  \"verdict\": " << quoted(passed() ? "pass" : "fail") << ",\n  \"failures\": [";
  const auto f = failures();
  for (std::size_t i = 0; i < f.size(); ++i) o << (i ? ", " : "") << quoted(f[i]);
  o << "],\n  \"sent\": " << sent << ",\n  \"acknowledged\": " << acknowledged
    << ",\n  \"unacknowledged_by_reason\": {";
  bool first = true;
  for (const auto& [reason, n] : unacknowledged_by_reason) {
    o << (first ? "" : ", ") << quoted(reason) << ": " << n;
    first = false;
  }
  o << "},\n  \"records_read\": " << records_read << ",\n  \"foreign\": " << foreign
    << ",\n  \"delivered\": " << delivered << ",\n  \"lost_acknowledged\": " << lost_acknowledged
    << ",\n  \"lost_acknowledged_sample\": [";
  for (std::size_t i = 0; i < lost_acknowledged_sample.size(); ++i) {
    o << (i ? ", " : "") << lost_acknowledged_sample[i];
  }
  o << "],\n  \"lost_unacknowledged\": " << lost_unacknowledged << ",\n  \"duplicates\": "
    << duplicates << ",\n  \"replay_observed\": " << (replay_observed() ? "true" : "false")
    << ",\n  \"corrupt\": " << corrupt << ",\n  \"phantoms\": " << phantoms
    << ",\n  \"order_violations\": " << order_violations << ",\n  \"faults_landed\": "
    << (faults_landed ? std::to_string(*faults_landed) : "null")
    << ",\n  \"faults_required\": " << faults_required << ",\n  \"latency_ms\": {\"clock\": "
    << quoted(latency.clock) << ", \"count\": " << latency.count
    << ", \"p50\": " << fixed2(latency.p50_ms) << ", \"p90\": " << fixed2(latency.p90_ms)
    << ", \"p99\": " << fixed2(latency.p99_ms) << ", \"p999\": " << fixed2(latency.p999_ms)
    << ", \"max\": " << fixed2(latency.max_ms) << "}";
  if (tributary_dropped) {
    o << ",\n  \"tributary_dropped\": {";
    bool first_reason = true;
    for (const auto& [reason, n] : *tributary_dropped) {
      o << (first_reason ? "" : ", ") << quoted(reason) << ": " << n;
      first_reason = false;
    }
    o << "},\n  \"uncounted_loss\": " << uncounted_loss();
  }
  o << "\n}\n";
  return o.str();
}

std::string Report::summary_line() const {
  std::ostringstream o;
  o << (passed() ? "PASS" : "FAIL") << " run=" << run_id << " sent=" << sent
    << " acked=" << acknowledged << " delivered=" << delivered
    << " lost_acked=" << lost_acknowledged << " lost_unacked=" << lost_unacknowledged
    << " dup=" << duplicates << " corrupt=" << corrupt << " phantom=" << phantoms
    << " order=" << order_violations << " p50=" << fixed2(latency.p50_ms)
    << "ms p99=" << fixed2(latency.p99_ms) << "ms (" << latency.clock << ")";
  return o.str();
}

}  // namespace tributary::tools
