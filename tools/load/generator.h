#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tributary::tools {

// What every generator is told. count == 0 means "run for duration".
struct LoadOptions {
  std::string target;          // host:port (UDP, HTTP) or bootstrap brokers (kafka)
  std::string topic;           // Kafka topic the events should land on (for the checker)
  std::string route;           // HTTP route (POST /v1/events/{route}); MQTT topic template
  int qos = 1;                 // MQTT QoS
  std::string run_id;
  std::uint64_t first_seq = 0;  // so several generators can share one run id
  std::string obligation_log;  // path
  std::uint64_t count = 0;
  std::chrono::milliseconds duration{0};
  double rate = 0;             // events per second over all connections; 0 = as fast as possible
  std::size_t size = 128;      // payload bytes (minimum; the fixed fields need about 90)
  unsigned connections = 1;    // HTTP connections, one thread each
  unsigned keys = 16;          // distinct keys (per connection for HTTP)
  unsigned threads = 1;        // UDP sending threads, one socket each
  unsigned batch = 1024;       // UDP datagrams per sendmmsg call
  bool gso = true;             // UDP: let the kernel segment (UDP_SEGMENT) when it can
  bool json = false;           // UDP --format json: each payload sent as a JSON string
  unsigned ndjson = 0;         // HTTP --ndjson N: N events per request, one JSON line each
};

// Live counters, read by the progress printer.
struct LoadCounters {
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> acknowledged{0};
  std::atomic<std::uint64_t> refused{0};
};

// One event's outcome, for generators that learn it per event (HTTP, MQTT).
struct SendOutcome {
  std::uint64_t seq;
  std::string reason;  // empty: acknowledged
};

// All connections' outcomes in one list, sorted by sequence number.
std::vector<SendOutcome> merge_outcomes(std::vector<std::vector<SendOutcome>>& per_connection);

// Writes OUTCOMES (sorted by seq) to the obligation log, if one is configured; counts the
// acknowledged ones into *ACKNOWLEDGED. Returns an error message, empty on success.
std::string write_outcomes(const LoadOptions& options, const std::vector<SendOutcome>& outcomes,
                           std::uint64_t* acknowledged);

struct LoadResult {
  std::uint64_t sent = 0;
  std::uint64_t acknowledged = 0;
  double seconds = 0;
  std::string error;  // empty on success
};

LoadResult run_udp_load(const LoadOptions& options, LoadCounters& counters);
LoadResult run_http_load(const LoadOptions& options, LoadCounters& counters);
LoadResult run_mqtt_load(const LoadOptions& options, LoadCounters& counters);
// Produces straight to Kafka: the baseline without Tributary, and a fast way to fill a
// topic for the checker's benchmark. Acknowledged = delivery report ok.
LoadResult run_kafka_load(const LoadOptions& options, LoadCounters& counters);

// Counts datagrams arriving on LISTEN until DURATION passes. With GRO the kernel may hand
// over coalesced datagrams, which are counted by segment.
struct SinkResult {
  std::uint64_t datagrams = 0;  // read by the sink
  std::uint64_t dropped = 0;    // reached the socket but found its buffer full (SO_RXQ_OVFL)
  std::uint64_t bytes = 0;
  double seconds = 0;
  std::string error;
};
SinkResult run_udp_sink(const std::string& listen, std::chrono::milliseconds duration, bool gro);

// Paces a loop to RATE events per second (no pacing when rate is 0). One per thread.
class Pacer {
 public:
  explicit Pacer(double rate);
  // Blocks until event number N (0-based, of this pacer) may be sent.
  void wait_for(std::uint64_t n);

 private:
  double rate_;
  std::chrono::steady_clock::time_point start_;
};

// Hands out sequence numbers (from options.first_seq on) to the sending threads of one
// run until it is over, by count or by duration. Thread-safe.
class SequenceSource {
 public:
  explicit SequenceSource(const LoadOptions& options)
      : options_(options), start_(std::chrono::steady_clock::now()) {}
  // The next sequence number, or nullopt once the run is over.
  std::optional<std::uint64_t> next();
  std::chrono::steady_clock::time_point start() const { return start_; }

 private:
  const LoadOptions& options_;
  const std::chrono::steady_clock::time_point start_;
  std::atomic<std::uint64_t> claimed_{0};
};

// The key of the Nth event of CONNECTION: each connection has its own KEYS keys, so a
// key's events are sent one after another and their order is well defined.
std::string connection_key(unsigned connection, std::uint64_t n, unsigned keys);

// Whether the run should go on after SENT events: by count, or by duration since START.
bool keep_going(const LoadOptions& options, std::uint64_t sent,
                std::chrono::steady_clock::time_point start);

// Splits "host:port" (IPv6 as [addr]:port). false when malformed.
bool split_host_port(const std::string& text, std::string* host, std::uint16_t* port);

}  // namespace tributary::tools
