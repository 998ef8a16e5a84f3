#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/intake.h"
#include "core/sink.h"
#include "core/stamper.h"

namespace tributary::transports::udp {

// Counters of one UDP listener; read from any thread.
struct UdpCounters {
  std::atomic<std::uint64_t> received{0};          // datagrams read from the socket
  std::atomic<std::uint64_t> accepted{0};          // offered and taken by the sink
  std::atomic<std::uint64_t> delivered{0};         // completion fired ok
  std::atomic<std::uint64_t> dropped_oversize{0};  // larger than max_datagram
  std::atomic<std::uint64_t> dropped_busy{0};      // sink had no room
  std::atomic<std::uint64_t> dropped_rejected{0};  // sink refused the event
  std::atomic<std::uint64_t> delivery_failed{0};   // completion fired with an error
};

// One UDP listener: each datagram is one event. UDP has no acknowledgement, so every
// datagram that is not accepted is counted by reason.
// Threads: all socket work runs on the io_context given at construction; start() and
// stop() are called from the main thread while that io_context is running.
class UdpIntake final : public Intake {
 public:
  UdpIntake(const config::SourceConfig& source, Sink& sink, Stamper& stamper,
            boost::asio::io_context& io);

  std::string_view name() const override { return name_; }
  Status start() override;
  void stop() override;

  const UdpCounters& counters() const { return counters_; }
  // The bound port (useful with port 0); 0 before start().
  std::uint16_t local_port() const { return bound_port_; }

 private:
  void receive();
  void on_receive(std::size_t bytes);

  std::string name_;
  config::UdpSourceConfig settings_;
  config::HostPort listen_;
  Sink& sink_;
  Stamper& stamper_;
  boost::asio::io_context& io_;
  boost::asio::ip::udp::socket socket_;
  boost::asio::ip::udp::endpoint sender_;
  std::vector<char> buffer_;  // max_datagram + 1, so an oversized datagram is detectable
  std::atomic<bool> started_{false};
  std::uint16_t bound_port_ = 0;
  UdpCounters counters_;
};

}  // namespace tributary::transports::udp
