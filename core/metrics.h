#pragma once

#include <prometheus/metric_family.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tributary::metrics {

using Label = std::pair<std::string_view, std::string_view>;
using Labels = std::initializer_list<Label>;

// One scrape in progress. Components add the current value of what they count; the
// result is a list of prometheus-cpp metric families (serialised by its TextSerializer).
// Values are read from the components' own atomics at scrape time, so counting costs the
// hot paths nothing beyond the relaxed increments they already do.
class Scrape {
 public:
  void counter(std::string_view name, std::string_view help, Labels labels, double value);
  void gauge(std::string_view name, std::string_view help, Labels labels, double value);
  // BOUNDS are the upper bounds of the buckets (without +Inf); COUNTS has one more entry
  // (the +Inf bucket) and is not cumulative.
  void histogram(std::string_view name, std::string_view help, Labels labels,
                 std::span<const double> bounds, std::span<const std::uint64_t> counts,
                 double sum);

  std::vector<prometheus::MetricFamily> take();

 private:
  prometheus::ClientMetric& add(std::string_view name, std::string_view help,
                                prometheus::MetricType type, Labels labels);

  std::vector<prometheus::MetricFamily> families_;
  std::map<std::string, std::size_t, std::less<>> index_;  // name -> families_ position
};

// A histogram with fixed buckets and lock-free observe(), for per-record latencies
// (prometheus-cpp's Histogram takes a mutex on every Observe). Any thread may observe.
class LatencyHistogram {
 public:
  explicit LatencyHistogram(std::vector<double> bounds_seconds);

  void observe(double seconds);
  void add_to(Scrape& scrape, std::string_view name, std::string_view help, Labels labels) const;

  // Buckets from 100 µs to 30 s, roughly ×2.5 apart: fsyncs and Kafka deliveries.
  static std::vector<double> default_bounds();

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1 (+Inf last)
  std::atomic<std::uint64_t> sum_ns_{0};
};

// The metrics every source has, named in one place (tributary_source_*).
void source_counts(Scrape& scrape, std::string_view source, std::string_view type, double received,
                   double received_bytes, double accepted, double accepted_bytes);
// Events (datagrams, messages, records) not taken, by REASON.
void source_dropped(Scrape& scrape, std::string_view source, std::string_view type,
                    std::string_view reason, double events);
// Requests answered with a refusal (HTTP), by REASON.
void source_rejected(Scrape& scrape, std::string_view source, std::string_view type,
                     std::string_view reason, double requests);
// Events accepted through one route of a source (an HTTP route, an MQTT filter).
void route_accepted(Scrape& scrape, std::string_view source, std::string_view route, double events);

// The process metrics every Prometheus client exports (process_cpu_seconds_total,
// process_resident_memory_bytes, ...), read from /proc/self.
void add_process_metrics(Scrape& scrape);

// Everything that contributes to /metrics, called in the order added on each scrape.
// add() during set-up; render() from any thread afterwards.
class Registry {
 public:
  using Provider = std::function<void(Scrape&)>;
  void add(Provider provider);
  // The Prometheus text exposition format (0.0.4).
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::vector<Provider> providers_;
};

}  // namespace tributary::metrics
