#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/intake.h"
#include "core/io_context_pool.h"
#include "core/sink.h"
#include "core/stamper.h"
#include "core/formats.h"
#include "firmware-bridge/frame_decoder.h"
#include "firmware-bridge/sequence_tracker.h"

namespace tributary::transports::udp {

// Counters of one UDP listener (all its sockets); read from any thread. Every datagram
// that is not taken is counted under exactly one dropped_* reason.
struct UdpCounters {
  std::atomic<std::uint64_t> received{0};             // datagrams read from the sockets
  std::atomic<std::uint64_t> accepted{0};             // events taken by the sink
  std::atomic<std::uint64_t> received_bytes{0};       // of the datagrams read
  std::atomic<std::uint64_t> coalesced{0};            // messages that held several datagrams (UDP_GRO)
  std::atomic<std::uint64_t> accepted_bytes{0};       // of the datagrams taken (dead letters included)
  std::atomic<std::uint64_t> delivered{0};            // events whose completion fired ok
  std::atomic<std::uint64_t> delivery_failed{0};      // completion fired with an error
  std::atomic<std::uint64_t> dropped_kernel{0};       // lost in the socket's receive buffer (SO_MEMINFO)
  std::atomic<std::uint64_t> dropped_oversize{0};     // larger than max_datagram
  std::atomic<std::uint64_t> dropped_malformed{0};    // not valid under the source's format
  std::atomic<std::uint64_t> dead_lettered{0};        // malformed, sent to dead_letter_topic
  std::atomic<std::uint64_t> dropped_not_allowed{0};  // sender outside the allow-list
  std::atomic<std::uint64_t> dropped_busy{0};         // the ring was full
  std::atomic<std::uint64_t> dropped_rejected{0};     // the sink refused the events
  std::atomic<std::uint64_t> dropped_duplicate{0};    // format frame: seen before (sequence tracking)
};

// One UDP listener. Each of its `threads` sockets (SO_REUSEPORT on the same address) lives
// on its own io_context and reads in batches with recvmmsg. A datagram is one event (raw,
// json, frame) or several (ndjson), taken whole or not at all; the datagrams of one recvmmsg call
// are offered to the ring together. UDP has no acknowledgement, so
// every datagram that is not taken is counted by reason, including those the kernel
// dropped before we could read them.
// Threads: socket work runs on the sockets' io_contexts; start() and stop() are called
// from the main thread while those run.
class UdpIntake final : public Intake {
 public:
  UdpIntake(const config::SourceConfig& source, Sink& sink, Stamper& stamper, IoContextPool& pool);
  ~UdpIntake() override;

  std::string_view name() const override { return name_; }
  Status start() override;
  void stop() override;
  void collect(metrics::Scrape& scrape) const override;
  // topic, key, allow and dead_letter_topic change live (from the next batch on).
  void reconfigure(const config::SourceConfig& source) override;

  const UdpCounters& counters() const { return counters_; }
  // The bound port (useful with port 0); 0 before start().
  std::uint16_t local_port() const { return bound_port_; }
  // Format frame: the per-device sequence counters (gaps, duplicates, ...); null otherwise.
  const firmware::SequenceCounters* sequence_counters() const {
    return tracker_ ? &tracker_->counters() : nullptr;
  }

 private:
  struct Socket;
  void wait_readable(Socket& s);
  void read_batches(Socket& s);
  void count_kernel_drops(Socket& s);  // on the socket's io thread
  // DATA: one datagram of message INDEX (all of it, or one of the datagrams the kernel
  // coalesced into it); TRUNCATED: the kernel cut it to fit; NOW: when its batch was read.
  void on_datagram(Socket& s, std::size_t index, std::string_view data, bool truncated,
                   std::chrono::system_clock::time_point now);
  void on_frame(Socket& s, const firmware::DecodedFrame& frame, std::string_view data,
                std::chrono::system_clock::time_point now);
  void add_envelope(Socket& s, std::string_view topic, const std::optional<std::string>& key,
                    std::string_view payload, std::string_view content_type,
                    std::chrono::system_clock::time_point now,
                    std::span<const std::pair<std::string_view, std::string_view>> extra);
  void offer_batch(Socket& s);
  // What a reload may change while the sockets stay open: where events go and who may send.
  // The socket threads take the current one per recvmmsg batch.
  struct Route {
    std::string topic;
    config::KeyTemplate key;
    bool key_uses_json = false;  // documents are parsed only when the key looks inside
    std::vector<config::Network> allow;  // empty: any sender
    std::string dead_letter_topic;
  };
  static std::shared_ptr<const Route> make_route(const config::UdpSourceConfig& settings);
  bool allowed(const Route& route, const sockaddr_storage& from) const;

  std::string name_;
  config::UdpSourceConfig settings_;
  config::HostPort listen_;
  Format format_;
  std::unique_ptr<firmware::SequenceTracker> tracker_;  // format frame only
  Sink& sink_;
  Stamper& stamper_;
  std::atomic<std::shared_ptr<const Route>> route_;
  std::vector<std::unique_ptr<Socket>> sockets_;
  std::vector<ino_t> socket_inodes_;  // set by start(): their drop counts in /proc/net/udp
  std::atomic<bool> started_{false};
  std::uint16_t bound_port_ = 0;
  UdpCounters counters_;
};

}  // namespace tributary::transports::udp
