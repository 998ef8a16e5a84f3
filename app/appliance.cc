#include "app/appliance.h"

#include <boost/asio/post.hpp>

#include <array>
#include <map>
#include <thread>
#include <string_view>

#include "core/log.h"
#include "transports/http/http_intake.h"
#include "transports/mqtt/mqtt_intake.h"
#include "transports/udp/udp_intake.h"

namespace tributary::app {
namespace {

struct Wiring {
  Sink& sink;
  Stamper& stamper;
  IoContextPool& pool;
  const std::string& state_dir;  // the buffer directory: intakes keep their own state under it
  ReadinessCheck ready;          // GET /readyz on HTTP listeners
};

using Factory = std::unique_ptr<Intake> (*)(const config::SourceConfig&, Wiring&);

// The intake registry: a source's `type:` to the code that builds it. Adding a transport
// means one line here (and its option table in config/options.cc).
struct IntakeType {
  std::string_view type;
  Factory make;
};

constexpr std::array<IntakeType, 3> kIntakeTypes = {{
    {"udp",
     [](const config::SourceConfig& s, Wiring& w) -> std::unique_ptr<Intake> {
       return std::make_unique<transports::udp::UdpIntake>(s, w.sink, w.stamper, w.pool);
     }},
    {"http",
     [](const config::SourceConfig& s, Wiring& w) -> std::unique_ptr<Intake> {
       auto http = std::make_unique<transports::http::HttpIntake>(s, w.sink, w.stamper, w.pool);
       http->set_readiness(w.ready);
       return http;
     }},
    {"mqtt",
     [](const config::SourceConfig& s, Wiring& w) -> std::unique_ptr<Intake> {
       // Paho's own persistence (QoS 2 messages between PUBREC and PUBREL) beside the ring.
       return std::make_unique<transports::mqtt::MqttIntake>(s, w.sink, w.stamper, w.state_dir + "/mqtt");
     }},
}};

// The ring counts as having room for /readyz while below this share of buffer.max_size.
constexpr double kRoomThreshold = 0.9;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "sources[2].routes[0].topic" -> 2 and "routes[0].topic"; false for other paths.
bool split_source_path(std::string_view path, std::size_t* index, std::string_view* rest) {
  constexpr std::string_view kPrefix = "sources[";
  if (!path.starts_with(kPrefix)) return false;
  const std::size_t close = path.find("].", kPrefix.size());
  if (close == std::string_view::npos) return false;
  *index = static_cast<std::size_t>(std::stoul(std::string(path.substr(kPrefix.size(), close - kPrefix.size()))));
  *rest = path.substr(close + 2);
  return true;
}

// Whether a change of option PATH can be applied to the running appliance.
bool applies_live(std::string_view path, const config::AppConfig& running) {
  if (path.starts_with("logging.")) return true;
  std::size_t index = 0;
  std::string_view rest;
  if (!split_source_path(path, &index, &rest) || index >= running.sources.size()) return false;
  const std::string& type = running.sources[index].type;
  if (type == "udp") return rest == "topic" || rest == "key" || rest == "allow" || rest == "dead_letter_topic";
  if (type == "mqtt") {
    // subscriptions[N].topic or .key: the Kafka side of a filter (the filter itself is the
    // broker-side subscription and needs a restart).
    const std::size_t close = rest.find("].");
    return rest.starts_with("subscriptions[") && close != std::string_view::npos &&
           (rest.substr(close + 2) == "topic" || rest.substr(close + 2) == "key");
  }
  if (type != "http") return false;
  for (const std::string_view key : {"routes", "max_body", "max_header", "request_timeout", "idle_timeout", "max_connections",
                                     "rest_proxy_topics", "rest_proxy_auth", "rest_proxy_tokens_file",
                                     "rest_proxy_api_key_header"}) {
    if (rest == key || rest.starts_with(std::string(key) + ".") || rest.starts_with(std::string(key) + "[")) {
      return true;
    }
  }
  return false;
}

void apply_logging(const config::LoggingConfig& logging) {
  log::Level level = log::Level::kInfo;
  log::parse_level(logging.level, &level);
  log::set_level(level);
  log::set_format(logging.format == "json" ? log::Format::kJson : log::Format::kKeyValue);
  log::set_per_event_limit(logging.per_event_limit);
}

}  // namespace

std::error_code MeasuredFileIo::datasync(int fd) {
  const auto start = std::chrono::steady_clock::now();
  const std::error_code ec = buffer::PosixFileIo::datasync(fd);
  sync_latency_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return ec;
}

Appliance::Appliance(config::AppConfig config)
    : config_(std::move(config)),
      stamper_(config_.node_id),
      kafka_(config_.kafka),
      pool_(IoContextPool::resolve(config_.io_threads)) {
  apply_logging(config_.logging);
  registry_.add([this](metrics::Scrape& scrape) { collect(scrape); });
}

Appliance::~Appliance() { stop(); }

Status Appliance::open_ring() {
  const config::BufferConfig& b = config_.buffer;
  buffer::RingOptions options;
  options.dir = b.dir;
  options.max_bytes = b.max_size;
  options.max_unwritten_bytes = b.max_unwritten;
  options.segment_bytes = b.segment_size;
  options.fsync = b.fsync == "always"  ? buffer::FsyncPolicy::kAlways
                  : b.fsync == "never" ? buffer::FsyncPolicy::kNever
                                       : buffer::FsyncPolicy::kInterval;
  options.fsync_interval = b.fsync_interval;
  options.when_full = b.when_full == "drop_oldest" ? buffer::WhenFull::kDropOldest
                                                   : buffer::WhenFull::kBlock;
  options.stage_path = b.stage;
  options.stage_bytes = b.stage_size;
  buffer::RecoveryReport report;
  std::string error;
  ring_ = buffer::Ring::open(file_io_, options, &report, &error);
  if (!ring_) return Status(StatusCode::kFailedPrecondition, "buffer: " + error);
  auto line = report.torn_records + report.corrupt_records + report.quarantined_segments > 0 ||
                      report.checkpoint_corrupt
                  ? log::warn("buffer recovered with damage")
                  : log::info("buffer recovered");
  line.kv("dir", b.dir)
      .kv("segments", report.segments)
      .kv("stage", b.stage.empty() ? std::string("off") : b.stage)
      .kv("staged_records", report.staged_records)
      .kv("backlog", report.next_seq - report.cursor)
      .kv("cursor", report.cursor)
      .kv("next_seq", report.next_seq)
      .kv("torn_records", report.torn_records)
      .kv("unfinished_group_records", report.unfinished_group_records)
      .kv("corrupt_records", report.corrupt_records)
      .kv("quarantined_segments", report.quarantined_segments)
      .kv("checkpoint_corrupt", report.checkpoint_corrupt ? "true" : "false")
      .kv("recovery_us", report.duration.count());
  ring_sink_ = std::make_unique<RingSink>(*ring_, config_.node_id);
  return Status::ok();
}

Status Appliance::start() {
  Status s = open_ring();
  if (!s.is_ok()) return s;
  ForwarderOptions forwarding;
  forwarding.node_id = config_.node_id;
  forwarding.dead_letter_topic = config_.kafka.dead_letter_topic;
  forwarding.max_bytes_per_second = config_.kafka.max_drain_rate;
  forwarding.retry_backoff = config_.kafka.retry_backoff;
  // Before the producer starts: the forwarder receives its delivery reports.
  forwarder_ = std::make_unique<Forwarder>(*ring_, kafka_, forwarding);
  s = kafka_.start();
  if (!s.is_ok()) return s;
  running_ = true;
  forwarder_->start();
  pool_.start();
  Wiring wiring{*ring_sink_, stamper_, pool_, config_.buffer.dir, [this] { return readiness(); }};
  for (const config::SourceConfig& source : config_.sources) {
    for (const IntakeType& t : kIntakeTypes) {
      if (t.type == source.type) intakes_.push_back(t.make(source, wiring));
    }
  }
  for (auto& intake : intakes_) {
    s = intake->start();
    if (!s.is_ok()) {
      stop();
      return s;
    }
  }
  // Last: a scrape walks intakes_, which is complete from here on.
  if (config_.metrics.listen) {
    admin_ = std::make_unique<AdminServer>(pool_.at(0), *config_.metrics.listen, registry_,
                                           [this] { return readiness(); });
    s = admin_->start();
    if (!s.is_ok()) {
      stop();
      return s;
    }
  }
  log::info("tributary started")
      .kv("node_id", config_.node_id)
      .kv("sources", config_.sources.size())
      .kv("io_threads", pool_.size());
  return Status::ok();
}

void Appliance::stop() {
  if (!running_.exchange(false)) return;
  for (auto& intake : intakes_) intake->stop();
  if (admin_) admin_->stop();
  // The grace period: what the ring holds is forwarded until Kafka has it all or the time
  // is up; whatever is left stays in the ring for the next start.
  const auto deadline = std::chrono::steady_clock::now() + config_.kafka.drain_timeout;
  if (forwarder_) {
    const buffer::RingStats before = ring_->stats();
    if (before.next_seq > before.cursor) {
      log::info("forwarding the ring's backlog before stopping")
          .kv("backlog", before.next_seq - before.cursor)
          .kv("drain_timeout_ms", config_.kafka.drain_timeout.count());
    }
    if (!forwarder_->drain(deadline)) {
      const buffer::RingStats after = ring_->stats();
      log::warn("drain_timeout is up; what Kafka has not acknowledged stays in the ring for the next start")
          .kv("backlog", after.next_seq - after.cursor);
    }
    forwarder_->stop();
  }
  kafka_.stop(deadline);
  // Closing refuses further appends (a request already read answers 503) but keeps the
  // ring object alive until the io threads are gone, so no late offer touches freed memory.
  ring_->close();
  const buffer::RingStats rs = ring_->stats();
  pool_.shutdown();
  intakes_.clear();
  admin_.reset();
  ring_sink_.reset();
  ring_.reset();
  log::info("tributary stopped")
      .kv("forwarded", forwarder_ ? forwarder_->forwarded() : 0)
      .kv("delivered", forwarder_ ? forwarder_->delivered() : 0)
      .kv("retried", forwarder_ ? forwarder_->retried() : 0)
      .kv("dead_lettered", forwarder_ ? forwarder_->dead_lettered() : 0)
      .kv("rejected", forwarder_ ? forwarder_->rejected() : 0)
      .kv("dropped_when_full", rs.dropped_records)
      .kv("backlog", rs.next_seq - rs.cursor);
}

Readiness Appliance::readiness() const {
  Readiness r;
  if (!running_.load()) {
    r.ready = false;
    r.problems.push_back("stopping");
    return r;
  }
  const buffer::RingStats rs = ring_->stats();
  if (rs.disk_full) {
    r.problems.push_back("ring: cannot write (disk full or a write error); events are refused");
  }
  const bool room = static_cast<double>(rs.disk_bytes) < kRoomThreshold * static_cast<double>(config_.buffer.max_size);
  const int up = kafka_.brokers_up();
  if (up == 0 && !room) {
    r.problems.push_back("kafka: no broker reachable and the ring is over " +
                         std::to_string(static_cast<int>(kRoomThreshold * 100)) + "% full");
  }
  r.ready = r.problems.empty();
  return r;
}

bool Appliance::io_alive(std::chrono::milliseconds timeout) {
  if (!running_.load()) return false;
  auto left = std::make_shared<std::atomic<std::size_t>>(pool_.size());
  for (std::size_t i = 0; i < pool_.size(); ++i) {
    boost::asio::post(pool_.at(i), [left] { left->fetch_sub(1); });
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (left->load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return left->load() == 0;
}

void Appliance::collect(metrics::Scrape& scrape) const {
  scrape.gauge("tributary_build_info", "Tributary's version and node id; always 1.",
               {{"version", TRIBUTARY_VERSION}, {"node_id", config_.node_id}}, 1);
  scrape.gauge("tributary_ready", "1 when /readyz answers 200.", {}, readiness().ready ? 1 : 0);
  if (running_.load()) {
    for (const auto& intake : intakes_) intake->collect(scrape);
  }
  if (ring_) {
    const buffer::RingStats rs = ring_->stats();
    const auto d = [](std::uint64_t v) { return static_cast<double>(v); };
    scrape.gauge("tributary_ring_size_bytes", "Bytes of all segment files of the ring.", {}, d(rs.disk_bytes));
    scrape.gauge("tributary_ring_capacity_bytes", "buffer.max_size.", {}, d(config_.buffer.max_size));
    scrape.gauge("tributary_ring_segments", "Segment files of the ring.", {}, d(rs.segments));
    scrape.gauge("tributary_ring_backlog_events", "Events in the ring not yet acknowledged by Kafka.", {},
                 d(rs.next_seq - std::min(rs.cursor, rs.next_seq)));
    scrape.gauge("tributary_ring_backlog_bytes",
                 "Bytes of segment files holding unacknowledged events (whole segments).", {},
                 d(rs.next_seq > rs.cursor ? rs.disk_bytes : 0));
    scrape.gauge("tributary_ring_oldest_unacked_age_seconds",
                 "Age of the oldest event not yet acknowledged by Kafka (from its ingestion time).", {},
                 forwarder_ ? forwarder_->oldest_unacked_age_seconds(now_ms()) : 0);
    scrape.counter("tributary_ring_appended_events_total", "Events appended to the ring.", {}, d(rs.next_seq));
    scrape.counter("tributary_ring_corrupt_records_total", "Corrupt records found and skipped by readers.", {},
                   d(rs.corrupt_skipped));
    scrape.counter("tributary_ring_dropped_events_total",
                   "Unsent events discarded under when_full: drop_oldest.", {}, d(rs.dropped_records));
    scrape.counter("tributary_ring_refused_appends_total",
                   "Appends refused: reason full (the ring or the disk was full) or unwritten "
                   "(buffer.max_unwritten already held in memory for the disk).",
                   {{"reason", "full"}}, d(rs.refused_full));
    scrape.counter("tributary_ring_refused_appends_total", "", {{"reason", "unwritten"}},
                   d(rs.refused_unwritten));
    scrape.gauge("tributary_ring_unwritten_bytes",
                 "Accepted bytes held in memory for the disk: not yet written to a segment file, "
                 "or written and not yet synced.", {},
                 d(rs.unwritten_bytes));
    scrape.counter("tributary_ring_write_errors_total", "Failed writes to segment files.", {}, d(rs.write_errors));
    scrape.counter("tributary_ring_sync_errors_total", "Failed fdatasync calls (the segment is rewritten).", {},
                   d(rs.sync_errors));
    scrape.gauge("tributary_ring_writable", "0 while the ring cannot write (disk full or a write error).", {},
                 rs.disk_full ? 0 : 1);
    if (!config_.buffer.stage.empty() && config_.buffer.fsync != "always") {
      scrape.gauge("tributary_ring_stage_capacity_bytes", "buffer.stage_size.", {}, d(config_.buffer.stage_size));
      scrape.gauge("tributary_ring_stage_used_bytes",
                   "Bytes in the stage accepted and not yet written to a segment file.", {},
                   d(rs.stage_used_bytes));
      scrape.counter("tributary_ring_staged_events_total", "Events copied into the stage.", {},
                     d(rs.staged_records));
      scrape.counter("tributary_ring_stage_full_total",
                     "Times an append found the stage full (staging pauses until the writer has written past it).",
                     {}, d(rs.stage_full));
    }
  }
  file_io_.sync_latency().add_to(scrape, "tributary_ring_fsync_duration_seconds",
                                 "Time of each fdatasync of a ring segment.", {});
  if (forwarder_) {
    const auto d = [](std::uint64_t v) { return static_cast<double>(v); };
    scrape.counter("tributary_kafka_produced_total", "Records handed to the Kafka producer.", {},
                   d(forwarder_->forwarded()));
    scrape.counter("tributary_kafka_delivered_total", "Records Kafka confirmed (each acknowledges the ring).", {},
                   d(forwarder_->delivered()));
    scrape.counter("tributary_kafka_retried_total", "Records produced again after a failed delivery.", {},
                   d(forwarder_->retried()));
    scrape.counter("tributary_kafka_dead_lettered_total", "Records Kafka refused for good, sent to the dead-letter topic.",
                   {}, d(forwarder_->dead_lettered()));
    scrape.counter("tributary_kafka_rejected_total",
                   "Records Kafka refused for good with no dead-letter topic (logged and dropped).", {},
                   d(forwarder_->rejected()));
    scrape.counter("tributary_kafka_undecodable_total", "Ring records that were no valid envelope (skipped).", {},
                   d(forwarder_->undecodable()));
    scrape.gauge("tributary_kafka_in_flight_events", "Records handed to Kafka whose delivery report is pending.", {},
                 static_cast<double>(forwarder_->in_flight()));
  }
  kafka_.delivery_latency().add_to(scrape, "tributary_kafka_delivery_latency_seconds",
                                   "Time from produce to Kafka's delivery report (successful deliveries).", {});
  scrape.gauge("tributary_kafka_brokers_up", "Brokers whose connection is up (librdkafka statistics; 0 once all are reported down, at least 1 after a delivery; -1: not known yet).",
               {}, kafka_.brokers_up());
  scrape.gauge("tributary_kafka_brokers_known", "Brokers known from the cluster metadata.", {},
               kafka_.brokers_known());
  metrics::add_process_metrics(scrape);
}

Status Appliance::reload(config::AppConfig next) {
  std::map<std::string, std::string> before;
  std::map<std::string, std::string> after;
  for (const config::EffectiveValue& v : config_.effective) before[v.path] = v.value;
  for (const config::EffectiveValue& v : next.effective) after[v.path] = v.value;
  std::vector<std::string> changed;
  std::vector<std::string> restart;
  const auto consider = [&](const std::string& path) {
    changed.push_back(path);
    if (!applies_live(path, config_)) restart.push_back(path);
  };
  for (const auto& [path, value] : before) {
    const auto it = after.find(path);
    if (it == after.end() || it->second != value) consider(path);
  }
  for (const auto& [path, value] : after) {
    if (!before.contains(path)) consider(path);
  }
  if (!restart.empty()) {
    std::string list;
    for (std::size_t i = 0; i < restart.size() && i < 8; ++i) list += (i ? ", " : "") + restart[i];
    if (restart.size() > 8) list += ", ... (" + std::to_string(restart.size()) + " in all)";
    return Status(StatusCode::kFailedPrecondition,
                  "the new config changes what only a restart can change (" + list +
                      "); nothing was applied, the running config stays");
  }
  // Secrets are read at load: a rotated webhook secret file changes no option's text, so
  // HTTP sources are always given their new settings.
  apply_logging(next.logging);
  for (std::size_t i = 0; i < intakes_.size() && i < next.sources.size(); ++i) {
    intakes_[i]->reconfigure(next.sources[i]);
  }
  const std::size_t count = changed.size();
  config_.logging = next.logging;
  for (std::size_t i = 0; i < config_.sources.size() && i < next.sources.size(); ++i) {
    config_.sources[i].settings = next.sources[i].settings;
  }
  config_.effective = std::move(next.effective);
  log::info("config reloaded").kv("changed_options", count);
  return Status::ok();
}

}  // namespace tributary::app
