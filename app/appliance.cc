#include "app/appliance.h"

#include <array>
#include <string_view>

#include "core/log.h"
#include "transports/http/http_intake.h"
#include "transports/udp/udp_intake.h"

namespace tributary::app {
namespace {

struct Wiring {
  Sink& sink;
  Stamper& stamper;
  IoContextPool& pool;
};

using Factory = std::unique_ptr<Intake> (*)(const config::SourceConfig&, Wiring&);

// The intake registry: a source's `type:` to the code that builds it. Adding a transport
// means one line here (and its option table in config/options.cc).
struct IntakeType {
  std::string_view type;
  Factory make;
};

constexpr std::array<IntakeType, 2> kIntakeTypes = {{
    {"udp",
     [](const config::SourceConfig& s, Wiring& w) -> std::unique_ptr<Intake> {
       return std::make_unique<transports::udp::UdpIntake>(s, w.sink, w.stamper, w.pool.next());
     }},
    {"http",
     [](const config::SourceConfig& s, Wiring& w) -> std::unique_ptr<Intake> {
       return std::make_unique<transports::http::HttpIntake>(s, w.sink, w.stamper, w.pool);
     }},
}};

}  // namespace

Appliance::Appliance(config::AppConfig config)
    : config_(std::move(config)),
      stamper_(config_.node_id),
      sink_(config_.kafka),
      pool_(static_cast<std::size_t>(config_.io_threads)) {}

Appliance::~Appliance() { stop(); }

Status Appliance::start() {
  Status s = sink_.start();
  if (!s.is_ok()) return s;
  running_ = true;
  pool_.start();
  Wiring wiring{sink_, stamper_, pool_};
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
  sink_.stop();
  pool_.shutdown();
  intakes_.clear();
  log::info("tributary stopped");
}

}  // namespace tributary::app
