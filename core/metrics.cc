#include "core/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <prometheus/text_serializer.h>

#include <cmath>
#include <fstream>
#include <sstream>

namespace tributary::metrics {

prometheus::ClientMetric& Scrape::add(std::string_view name, std::string_view help,
                                      prometheus::MetricType type, Labels labels) {
  auto it = index_.find(name);
  if (it == index_.end()) {
    prometheus::MetricFamily family;
    family.name = std::string(name);
    family.help = std::string(help);
    family.type = type;
    families_.push_back(std::move(family));
    it = index_.emplace(std::string(name), families_.size() - 1).first;
  }
  prometheus::MetricFamily& family = families_[it->second];
  prometheus::ClientMetric& metric = family.metric.emplace_back();
  for (const auto& [key, value] : labels) metric.label.push_back({std::string(key), std::string(value)});
  return metric;
}

void Scrape::counter(std::string_view name, std::string_view help, Labels labels, double value) {
  add(name, help, prometheus::MetricType::Counter, labels).counter.value = value;
}

void Scrape::gauge(std::string_view name, std::string_view help, Labels labels, double value) {
  add(name, help, prometheus::MetricType::Gauge, labels).gauge.value = value;
}

void Scrape::histogram(std::string_view name, std::string_view help, Labels labels,
                       std::span<const double> bounds, std::span<const std::uint64_t> counts,
                       double sum) {
  prometheus::ClientMetric& metric = add(name, help, prometheus::MetricType::Histogram, labels);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    const double bound = i < bounds.size() ? bounds[i] : INFINITY;
    metric.histogram.bucket.push_back({cumulative, bound});
  }
  metric.histogram.sample_count = cumulative;
  metric.histogram.sample_sum = sum;
}

std::vector<prometheus::MetricFamily> Scrape::take() {
  index_.clear();
  return std::move(families_);
}

LatencyHistogram::LatencyHistogram(std::vector<double> bounds_seconds)
    : bounds_(std::move(bounds_seconds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

std::vector<double> LatencyHistogram::default_bounds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0, 30.0};
}

void LatencyHistogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  const double ns = seconds > 0 ? seconds * 1e9 : 0;
  sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
}

void LatencyHistogram::add_to(Scrape& scrape, std::string_view name, std::string_view help,
                              Labels labels) const {
  std::vector<std::uint64_t> counts(bounds_.size() + 1);
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = counts_[i].load(std::memory_order_relaxed);
  scrape.histogram(name, help, labels, bounds_, counts,
                   static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9);
}

void source_counts(Scrape& scrape, std::string_view source, std::string_view type, double received,
                   double received_bytes, double accepted, double accepted_bytes) {
  const Labels labels = {{"source", source}, {"type", type}};
  scrape.counter("tributary_source_received_events_total",
                 "Events (datagrams, messages, requests' events) a source received.", labels, received);
  scrape.counter("tributary_source_received_bytes_total", "Payload bytes a source received.", labels,
                 received_bytes);
  scrape.counter("tributary_source_accepted_events_total", "Events a source stored in the ring.", labels,
                 accepted);
  scrape.counter("tributary_source_accepted_bytes_total", "Payload bytes a source stored in the ring.",
                 labels, accepted_bytes);
}

void source_dropped(Scrape& scrape, std::string_view source, std::string_view type,
                    std::string_view reason, double events) {
  scrape.counter("tributary_source_dropped_events_total",
                 "Events a source received but did not store, by reason.",
                 {{"source", source}, {"type", type}, {"reason", reason}}, events);
}

void source_rejected(Scrape& scrape, std::string_view source, std::string_view type,
                     std::string_view reason, double requests) {
  scrape.counter("tributary_source_rejected_requests_total",
                 "Requests a source answered with a refusal (nothing stored), by reason.",
                 {{"source", source}, {"type", type}, {"reason", reason}}, requests);
}

void route_accepted(Scrape& scrape, std::string_view source, std::string_view route, double events) {
  scrape.counter("tributary_route_accepted_events_total", "Events stored through one route of a source.",
                 {{"source", source}, {"route", route}}, events);
}

namespace {

// Fields of /proc/self/stat after the command name (which may hold spaces): field 3 is
// the state, so index 0 here is field 3.
std::vector<std::string> proc_stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  const std::size_t paren = line.rfind(')');
  std::vector<std::string> fields;
  if (paren == std::string::npos) return fields;
  std::istringstream rest(line.substr(paren + 1));
  std::string field;
  while (rest >> field) fields.push_back(field);
  return fields;
}

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

double open_fds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double n = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;  // the directory stream's own descriptor
}

}  // namespace

void add_process_metrics(Scrape& scrape) {
  const std::vector<std::string> f = proc_stat_fields();
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // utime 14, stime 15, starttime 22, vsize 23, rss 24 (fields of proc(5), 1-based).
  if (f.size() > 21 && ticks > 0) {
    scrape.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", {},
                   (std::stod(f[11]) + std::stod(f[12])) / ticks);
    scrape.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                 {}, boot_time_seconds() + std::stod(f[19]) / ticks);
    scrape.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", {}, std::stod(f[20]));
    scrape.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", {},
                 std::stod(f[21]) * page);
  }
  scrape.gauge("process_open_fds", "Number of open file descriptors.", {}, open_fds());
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    scrape.gauge("process_max_fds", "Maximum number of open file descriptors.", {},
                 limit.rlim_cur == RLIM_INFINITY ? INFINITY : static_cast<double>(limit.rlim_cur));
  }
}

void Registry::add(Provider provider) {
  std::lock_guard<std::mutex> lock(mutex_);
  providers_.push_back(std::move(provider));
}

std::string Registry::render() const {
  Scrape scrape;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Provider& p : providers_) p(scrape);
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, scrape.take());
  return out.str();
}

}  // namespace tributary::metrics
