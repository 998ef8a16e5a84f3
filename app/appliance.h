#pragma once

#include <memory>
#include <vector>

#include "buffer/file_io.h"
#include "buffer/ring.h"
#include "config/config.h"
#include "core/intake.h"
#include "core/io_context_pool.h"
#include "core/forwarder.h"
#include "core/kafka_sink.h"
#include "core/ring_sink.h"
#include "core/stamper.h"

namespace tributary::app {

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

 private:
  Status open_ring();

  config::AppConfig config_;
  Stamper stamper_;
  buffer::PosixFileIo file_io_;
  std::unique_ptr<buffer::Ring> ring_;
  std::unique_ptr<RingSink> ring_sink_;
  KafkaSink kafka_;
  std::unique_ptr<Forwarder> forwarder_;
  IoContextPool pool_;
  std::vector<std::unique_ptr<Intake>> intakes_;
  bool running_ = false;
};

}  // namespace tributary::app
