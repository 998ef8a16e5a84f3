#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include "buffer/file_io.h"
#include "buffer/ring.h"
#include "config/config.h"
#include "core/admin_server.h"
#include "core/health.h"
#include "core/intake.h"
#include "core/metrics.h"
#include "core/io_context_pool.h"
#include "core/forwarder.h"
#include "core/kafka_sink.h"
#include "core/ring_sink.h"
#include "core/stamper.h"

namespace tributary::app {

// The ring's file I/O with every fdatasync timed for tributary_ring_fsync_duration_seconds.
class MeasuredFileIo final : public buffer::PosixFileIo {
 public:
  std::error_code datasync(int fd) override;
  const metrics::LatencyHistogram& sync_latency() const { return sync_latency_; }

 private:
  metrics::LatencyHistogram sync_latency_{metrics::LatencyHistogram::default_bounds()};
};

// The whole process wired together: intakes -> RingSink -> disk ring -> Forwarder ->
// KafkaSink -> Kafka. The only place that knows every module. Owned and driven by main's
// thread.
class Appliance {
 public:
  explicit Appliance(config::AppConfig config);
  ~Appliance();

  // Opens (and recovers) the ring, starts Kafka, the forwarder, the io threads and every
  // intake; on failure everything started so far is stopped again and the error returned.
  Status start();
  // Stop order: intakes (no new input) -> forwarder (no new reads) -> Kafka drain (acks
  // reach the ring) -> ring closed (last appends written, checkpoint) -> io threads
  // (they finish writing the answers).
  void stop();

  // Applies a new config (SIGHUP) without dropping sockets or events: logging; HTTP
  // routes, auth and limits; a UDP source's topic, key, allow list and dead-letter topic;
  // an MQTT subscription's Kafka topic and key. A config that changes anything else (a
  // listener, the buffer, Kafka, a source's format, an MQTT filter) is refused as a whole,
  // naming what would need a restart; the running config stays.
  Status reload(config::AppConfig next);

  // GET /readyz: the ring can take writes, and Kafka is reachable or the ring has room.
  Readiness readiness() const;
  // Whether every io thread still runs handlers (for the systemd watchdog); waits up to TIMEOUT.
  bool io_alive(std::chrono::milliseconds timeout);
  // The /metrics text (also what the admin listener serves).
  std::string metrics_text() const { return registry_.render(); }
  // The admin listener's bound port; 0 without one.
  std::uint16_t admin_port() const { return admin_ ? admin_->local_port() : 0; }

 private:
  Status open_ring();
  void collect(metrics::Scrape& scrape) const;

  config::AppConfig config_;
  Stamper stamper_;
  MeasuredFileIo file_io_;
  std::unique_ptr<buffer::Ring> ring_;
  std::unique_ptr<RingSink> ring_sink_;
  KafkaSink kafka_;
  std::unique_ptr<Forwarder> forwarder_;
  IoContextPool pool_;
  std::vector<std::unique_ptr<Intake>> intakes_;  // in config_.sources order
  metrics::Registry registry_;
  std::unique_ptr<AdminServer> admin_;
  std::atomic<bool> running_{false};
};

}  // namespace tributary::app
