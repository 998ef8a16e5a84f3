#include "app/appliance.h"

#include <array>
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
       return std::make_unique<transports::http::HttpIntake>(s, w.sink, w.stamper, w.pool);
     }},
    {"mqtt",
     [](const config::SourceConfig& s, Wiring& w) -> std::unique_ptr<Intake> {
       // Paho's own persistence (QoS 2 messages between PUBREC and PUBREL) beside the ring.
       return std::make_unique<transports::mqtt::MqttIntake>(s, w.sink, w.stamper, w.state_dir + "/mqtt");
     }},
}};

}  // namespace

Appliance::Appliance(config::AppConfig config)
    : config_(std::move(config)),
      stamper_(config_.node_id),
      kafka_(config_.kafka),
      pool_(static_cast<std::size_t>(config_.io_threads)) {}

Appliance::~Appliance() { stop(); }

Status Appliance::open_ring() {
  const config::BufferConfig& b = config_.buffer;
  buffer::RingOptions options;
  options.dir = b.dir;
  options.max_bytes = b.max_size;
  options.segment_bytes = b.segment_size;
  options.fsync = b.fsync == "always"  ? buffer::FsyncPolicy::kAlways
                  : b.fsync == "never" ? buffer::FsyncPolicy::kNever
                                       : buffer::FsyncPolicy::kInterval;
  options.fsync_interval = b.fsync_interval;
  options.when_full = b.when_full == "drop_oldest" ? buffer::WhenFull::kDropOldest
                                                   : buffer::WhenFull::kBlock;
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
      .kv("backlog", report.next_seq - report.cursor)
      .kv("cursor", report.cursor)
      .kv("next_seq", report.next_seq)
      .kv("torn_records", report.torn_records)
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
  Wiring wiring{*ring_sink_, stamper_, pool_, config_.buffer.dir};
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
  log::info("tributary started")
      .kv("node_id", config_.node_id)
      .kv("sources", config_.sources.size())
      .kv("io_threads", pool_.size());
  return Status::ok();
}

void Appliance::stop() {
  if (!running_) return;
  running_ = false;
  for (auto& intake : intakes_) intake->stop();
  if (forwarder_) forwarder_->stop();
  kafka_.stop();
  // Closing refuses further appends (a request already read answers 503) but keeps the
  // ring object alive until the io threads are gone, so no late offer touches freed memory.
  ring_->close();
  const buffer::RingStats rs = ring_->stats();
  pool_.shutdown();
  intakes_.clear();
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

}  // namespace tributary::app
