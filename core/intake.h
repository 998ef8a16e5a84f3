#pragma once

#include <string_view>

#include "config/config.h"
#include "core/metrics.h"
#include "core/status.h"

namespace tributary {

// One intake (a UDP listener, an HTTP server, ...). It owns its sockets, turns input into
// Events and offers them to a Sink; the Sink's answer is its backpressure signal.
// start() and stop() are called from the main thread.
class Intake {
 public:
  virtual ~Intake() = default;
  virtual std::string_view name() const = 0;
  // Binds or connects; fails fast with a clear message. After success, the bound address
  // has been logged (msg=listening) so tools can find a port chosen by the OS.
  virtual Status start() = 0;
  // Stops taking new input. Idempotent. Events already offered still complete.
  virtual void stop() = 0;
  // Adds this intake's counters to a metrics scrape. Any thread, any time.
  virtual void collect(metrics::Scrape& scrape) const = 0;
  // Takes the settings of SOURCE that can change while running (a config reload); the
  // caller has checked that nothing else changed. Any thread; sockets stay open.
  virtual void reconfigure(const config::SourceConfig& /*source*/) {}
};

}  // namespace tributary
