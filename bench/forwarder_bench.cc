// Forwarder benchmark: prints figures, asserts nothing. Needs a running Kafka
// (bench/forwarder.sh starts one).
//
//   build/release/bench/forwarder_bench BROKERS [DIR] [--records N] [--drain-only] [--bare-only]
//                                       [--latency-only RATE] [--fsync interval|always|never]
//                                       [--waiting-appends]
//
// 1. Drain: a ring pre-filled with N stamped 256-byte events (100 keys) is drained into
//    Kafka by the Forwarder and KafkaSink, as the appliance does; rate from the first offer
//    to the last delivery report.
// 2. Bare producer: the same N events, same keys, headers (ce_id too) and producer settings, produced
//    straight from memory with librdkafka (RD_KAFKA_MSG_F_COPY), as any client would.
// 3. Sustained rate: appending and forwarding at the same time (the two share this
//    machine's cores with Kafka), delivered events per second.
// 4. Latency: events appended to the ring at 70% of the sustained rate for 5 s, then at
//    10,000 events/s; time from the append's completion (acceptance) to Kafka's delivery
//    report, p50/p90/p99/max; and the same for the bare producer (produce call to report).
//    Both appending runs use the same pre-encoded envelopes, and by default nobody waits for
//    an append (see g_appender_waits); --fsync sets the ring's policy for all runs.

#include <librdkafka/rdkafka.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "buffer/ring.h"
#include "core/allocator.h"
#include "core/envelope.h"
#include "core/forwarder.h"
#include "core/kafka_sink.h"
#include "core/log.h"
#include "core/stamper.h"

namespace {

using namespace tributary;
using Clock = std::chrono::steady_clock;

config::KafkaConfig kafka_config(const std::string& brokers) {
  config::KafkaConfig k;
  k.brokers = brokers;
  k.client_id = "forwarder-bench";
  k.compression = "lz4";
  k.linger = std::chrono::milliseconds(5);
  k.delivery_timeout = std::chrono::milliseconds(0);
  k.drain_timeout = std::chrono::milliseconds(10000);
  return k;
}

std::size_t g_value_bytes = 256;  // --value-bytes

Event make_event(Stamper& stamper, const std::string& topic, std::uint64_t i) {
  Event e;
  e.topic = topic;
  e.key = "device-" + std::to_string(i % 100);
  e.payload = std::string(g_value_bytes, static_cast<char>('a' + i % 26));
  e.content_type = "application/octet-stream";
  e.origin = Origin{"udp", "bench", "", "127.0.0.1", 40000};
  e.ingest_time = std::chrono::system_clock::now();
  stamper.stamp(e);
  return e;
}

// E as the bare producer sends it: with the ce_id header the forwarder adds to each record
// (node id and sequence number), so both sides send the same headers.
Event bare_event(Stamper& stamper, const std::string& topic, std::uint64_t i) {
  Event e = make_event(stamper, topic, i);
  e.headers.push_back(Header{"ce_id", event_id("bench", i)});
  return e;
}

// The envelope the intakes would store for E: stamped, so the forwarder makes the common
// headers from its facts (the bare producer sends the same headers from E.headers).
std::string ring_envelope(const Event& e) {
  thread_local EnvelopeWriter writer;
  std::string_view traceparent;
  for (const Header& h : e.headers) {
    if (h.name == "traceparent") traceparent = h.value;
  }
  const EnvelopeStamp stamp{"bench", e.content_type, traceparent};
  return std::string(writer.finish(e.id, e.topic, e.key, e.payload, e.ingest_time, e.origin, &stamp));
}

buffer::FsyncPolicy g_fsync = buffer::FsyncPolicy::kInterval;  // --fsync
// Whether the appender of the sustained and latency runs waits for each append (as one HTTP
// request or MQTT QoS 1 message does: under interval it then writes each record itself, one
// pwrite per record) or not (as UDP datagrams, MQTT QoS 0 and NDJSON batches, the intakes
// that reach such rates: the ring's writer writes them in groups). --waiting-appends.
bool g_appender_waits = false;

std::unique_ptr<buffer::Ring> open_ring(buffer::FileIo& io, const std::string& dir) {
  buffer::RingOptions o;
  o.dir = dir;
  o.fsync = g_fsync;
  o.max_bytes = 4ull << 30;
  std::string error;
  auto ring = buffer::Ring::open(io, o, nullptr, &error);
  if (!ring) std::fprintf(stderr, "ring: %s\n", error.c_str());
  return ring;
}

void wait_until(const std::function<bool()>& done) {
  while (!done()) std::this_thread::sleep_for(std::chrono::microseconds(500));
}

// Produces one record and waits for it: the topic exists and its metadata is known before
// a clock starts. Its tag (2^62) is far beyond any sequence number the ring will reach.
void warm_up(KafkaSink& kafka, const std::string& topic) {
  static const std::string value = "warm-up";
  OutRecord r;
  r.topic = topic.c_str();
  r.value = value;
  const std::uint64_t before = kafka.delivered();
  kafka.produce(r, (1ull << 62));
  // A broker that never answers (a wrong address) ends the run instead of hanging it.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  wait_until([&] { return kafka.delivered() > before || std::chrono::steady_clock::now() > give_up; });
  if (kafka.delivered() == before) {
    std::fprintf(stderr, "forwarder_bench: no delivery to %s within 60 s; is Kafka there?\n", topic.c_str());
    std::exit(1);
  }
}

ForwarderOptions bench_options() {
  ForwarderOptions o;
  o.node_id = "bench";
  return o;  // the appliance's defaults otherwise
}

// This process's CPU seconds (all threads, user + system) and minor page faults so far.
std::pair<double, long> usage_now() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return {static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
              static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6,
          u.ru_minflt};
}

// CPU seconds per thread name (all threads of this process, user + system) so far.
std::map<std::string, double> thread_cpu() {
  std::map<std::string, double> cpu;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14 and 15: utime, stime
      if (i == 14) utime = std::stod(field);
      if (i == 15) stime = std::stod(field);
    }
    cpu[stat.substr(open + 1, close - open - 1)] += (utime + stime) / tick;
  }
  return cpu;
}

// "name 1.23 µs, ..." per event for the threads that used CPU between BEFORE and AFTER.
void print_thread_cpu(const std::map<std::string, double>& before, const std::map<std::string, double>& after,
                      std::uint64_t events) {
  std::printf("  (CPU per event by thread:");
  for (const auto& [name, secs] : after) {
    const auto was = before.find(name);
    const double used = secs - (was == before.end() ? 0.0 : was->second);
    if (used > 0) std::printf(" %s %.0f ns", name.c_str(), used * 1e9 / static_cast<double>(events));
  }
  std::printf(")\n");
}

double drain(const std::string& brokers, const std::string& dir, std::uint64_t records,
             const std::string& topic) {
  std::filesystem::remove_all(dir);
  buffer::PosixFileIo io;
  auto ring = open_ring(io, dir);
  if (!ring) return 0;
  Stamper stamper("bench");
  for (std::uint64_t i = 0; i < records; ++i) {
    const Event e = make_event(stamper, topic, i);
    while (ring->append(0, ring_envelope(e), {}) != buffer::Ring::Append::kQueued) {
      std::this_thread::yield();
    }
  }
  wait_until([&] { return ring->written_seq() >= records; });
  KafkaSink kafka(kafka_config(brokers));
  Forwarder forwarder(*ring, kafka, bench_options());
  if (!kafka.start().is_ok()) return 0;
  warm_up(kafka, topic);
  const auto before = usage_now();
  const auto threads_before = thread_cpu();
  const auto start = Clock::now();
  forwarder.start();
  wait_until([&] { return ring->cursor() >= records; });
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  const auto after = usage_now();
  print_thread_cpu(threads_before, thread_cpu(), records);
  std::printf("  (forwarder: %.0f ns of CPU per event, %ld minor faults)\n",
              (after.first - before.first) * 1e9 / static_cast<double>(records), after.second - before.second);
  forwarder.stop();
  kafka.stop();
  ring.reset();
  std::filesystem::remove_all(dir);
  return static_cast<double>(records) / secs;
}

// A bare librdkafka producer with the forwarder's settings; delivery reports count into
// *DELIVERED and, when TIMES is set, stamp TIMES[tag] (ns since START).
struct BareProducer {
  std::atomic<std::uint64_t> delivered{0};
  std::vector<std::atomic<std::int64_t>>* times = nullptr;
  Clock::time_point start;
  rd_kafka_t* rk = nullptr;

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<BareProducer*>(opaque);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) return;
    self->delivered.fetch_add(1);
    const auto tag = reinterpret_cast<std::uintptr_t>(m->_private);
    if (self->times != nullptr && tag < self->times->size()) {
      (*self->times)[tag] =
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - self->start).count();
    }
  }

  explicit BareProducer(const std::string& brokers) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    const std::string max_message = std::to_string(KafkaSink::kMessageMaxBytes);
    const std::pair<const char*, const char*> settings[] = {
        {"bootstrap.servers", brokers.c_str()}, {"acks", "all"}, {"enable.idempotence", "true"},
        {"compression.type", "lz4"}, {"linger.ms", "5"}, {"message.timeout.ms", "0"},
        {"partitioner", "murmur2_random"},
        // As KafkaSink sets them too:
        {"message.max.bytes", max_message.c_str()}, {"statistics.interval.ms", "5000"}};
    for (const auto& [k, v] : settings) rd_kafka_conf_set(conf, k, v, err, sizeof err);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, this);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  }
  ~BareProducer() {
    if (rk != nullptr) rd_kafka_destroy(rk);
  }

  void produce(const Event& e, std::uintptr_t tag) {
    rd_kafka_headers_t* headers = rd_kafka_headers_new(e.headers.size());
    for (const Header& h : e.headers) {
      rd_kafka_header_add(headers, h.name.data(), static_cast<ssize_t>(h.name.size()), h.value.data(),
                          static_cast<ssize_t>(h.value.size()));
    }
    rd_kafka_vu_t vu[6] = {};
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = e.topic.c_str();
    vu[1].vtype = RD_KAFKA_VTYPE_KEY;
    vu[1].u.mem = {const_cast<char*>(e.key->data()), e.key->size()};
    vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[2].u.mem = {const_cast<char*>(e.payload.data()), e.payload.size()};
    vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[3].u.i = RD_KAFKA_MSG_F_COPY;
    vu[4].vtype = RD_KAFKA_VTYPE_HEADERS;
    vu[4].u.headers = headers;
    vu[5].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu[5].u.ptr = reinterpret_cast<void*>(tag);
    while (true) {
      rd_kafka_error_t* error = rd_kafka_produceva(rk, vu, 6);
      if (error == nullptr) return;
      const bool full = rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL;
      rd_kafka_error_destroy(error);
      if (!full) {
        rd_kafka_headers_destroy(headers);
        return;
      }
      rd_kafka_poll(rk, 1);
    }
  }
};

double bare_producer(const std::string& brokers, std::uint64_t records, const std::string& topic) {
  BareProducer bare(brokers);
  if (bare.rk == nullptr) return 0;
  Stamper stamper("bench");
  std::vector<Event> events;
  events.reserve(records);
  for (std::uint64_t i = 0; i < records; ++i) events.push_back(bare_event(stamper, topic, i));
  bare.produce(events[0], UINTPTR_MAX);  // warm up, as for the forwarder
  while (bare.delivered.load() < 1) rd_kafka_poll(bare.rk, 10);
  const auto before = usage_now();
  const auto threads_before = thread_cpu();
  const auto start = Clock::now();
  for (const Event& e : events) {
    bare.produce(e, UINTPTR_MAX);
    rd_kafka_poll(bare.rk, 0);
  }
  while (bare.delivered.load() < records + 1) rd_kafka_poll(bare.rk, 10);
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  const auto after = usage_now();
  print_thread_cpu(threads_before, thread_cpu(), records);
  std::printf("  (bare producer: %.0f ns of CPU per event, %ld minor faults)\n",
              (after.first - before.first) * 1e9 / static_cast<double>(records), after.second - before.second);
  return static_cast<double>(records) / secs;
}

struct Percentiles {
  std::size_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

// Of the events whose FROM time is at or after SINCE_NS (ns since the run's start).
Percentiles percentiles(const std::vector<std::atomic<std::int64_t>>& from,
                        const std::vector<std::atomic<std::int64_t>>& to, std::int64_t since_ns = 0) {
  std::vector<double> ms;
  for (std::size_t i = 0; i < from.size(); ++i) {
    if (to[i] > 0 && from[i] > 0 && from[i] >= since_ns) ms.push_back(static_cast<double>(to[i] - from[i]) / 1e6);
  }
  std::sort(ms.begin(), ms.end());
  Percentiles p;
  p.count = ms.size();
  if (ms.empty()) return p;
  auto at = [&](double q) { return ms[static_cast<std::size_t>(q * static_cast<double>(ms.size() - 1))]; };
  p.p50 = at(0.5);
  p.p90 = at(0.9);
  p.p99 = at(0.99);
  p.max = ms.back();
  return p;
}

// The latency runs also print the p99 of the events accepted (or produced) after their first
// second: the forwarder's run starts with a few hundred milliseconds of slow deliveries that
// the bare producer's does not have (bench/README.md, session 17), and this shows the rest.
constexpr std::int64_t kWarmNs = 1'000'000'000;

// Calls EMIT(i) for i in [0, TOTAL) at RATE per second, paced in 1 ms ticks (sleeping, not
// spinning: the machine has two cores to share with Kafka).
void paced(std::uint64_t total, double rate, Clock::time_point start,
           const std::function<void(std::uint64_t)>& emit) {
  std::uint64_t done = 0;
  auto tick = start;
  while (done < total) {
    tick += std::chrono::milliseconds(1);
    std::this_thread::sleep_until(tick);
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const auto due = std::min<std::uint64_t>(total, static_cast<std::uint64_t>(elapsed * rate));
    for (; done < due; ++done) emit(done);
  }
}

void bare_latency(const std::string& brokers, double rate, const std::string& topic) {
  BareProducer bare(brokers);
  if (bare.rk == nullptr) return;
  Stamper stamper("bench");
  const auto total = static_cast<std::uint64_t>(rate * 5);
  std::vector<std::atomic<std::int64_t>> sent(total);
  std::vector<std::atomic<std::int64_t>> delivered(total);
  bare.produce(bare_event(stamper, topic, 0), UINTPTR_MAX);
  while (bare.delivered.load() < 1) rd_kafka_poll(bare.rk, 10);
  std::atomic<bool> done{false};
  std::thread poller([&] {
    while (!done.load()) rd_kafka_poll(bare.rk, 100);
  });
  // Events made beforehand, as for the ring side: the pacing thread only produces.
  std::vector<Event> events;
  for (std::uint64_t i = 0; i < 1000; ++i) events.push_back(bare_event(stamper, topic, i));
  bare.times = &delivered;
  bare.start = Clock::now();
  paced(total, rate, bare.start, [&](std::uint64_t i) {
    sent[i] = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - bare.start).count();
    bare.produce(events[i % events.size()], i);
  });
  wait_until([&] { return bare.delivered.load() >= total + 1; });
  done = true;
  poller.join();
  const Percentiles p = percentiles(sent, delivered);
  const Percentiles later = percentiles(sent, delivered, kWarmNs);
  std::printf("  bare producer at %.0f/s: produce call -> delivery report p50 %.2f ms, p90 %.2f ms, "
              "p99 %.2f ms, max %.2f ms; after the first second p99 %.2f ms\n",
              rate, p.p50, p.p90, p.p99, p.max, later.p99);
}

// The most events per second the ring and the forwarder carry end to end, appending and
// forwarding at the same time on the same cores: one appender as fast as the ring takes
// events (pre-encoded envelopes), for 4 s; delivered per second over the last 3 s.
double end_to_end_max(const std::string& brokers, const std::string& dir, const std::string& topic) {
  std::filesystem::remove_all(dir);
  buffer::PosixFileIo io;
  auto ring = open_ring(io, dir);
  if (!ring) return 0;
  KafkaSink kafka(kafka_config(brokers));
  Forwarder forwarder(*ring, kafka, bench_options());
  if (!kafka.start().is_ok()) return 0;
  warm_up(kafka, topic);
  Stamper stamper("bench");
  std::vector<std::string> envelopes;
  for (std::uint64_t i = 0; i < 1000; ++i) envelopes.push_back(ring_envelope(make_event(stamper, topic, i)));
  forwarder.start();
  const auto start = Clock::now();
  std::uint64_t at_one_second = 0;
  bool marked = false;
  for (std::uint64_t i = 0; Clock::now() - start < std::chrono::seconds(4); ++i) {
    if (!marked && Clock::now() - start >= std::chrono::seconds(1)) {
      at_one_second = forwarder.delivered();
      marked = true;
    }
    // Do not let the backlog grow without bound: this measures a sustained rate.
    while (ring->stats().next_seq > ring->cursor() + 200'000) std::this_thread::sleep_for(std::chrono::microseconds(200));
    while (ring->append(0, envelopes[i % envelopes.size()], {}, g_appender_waits) != buffer::Ring::Append::kQueued) {
      std::this_thread::yield();
    }
  }
  const double rate = static_cast<double>(forwarder.delivered() - at_one_second) / 3.0;
  forwarder.stop();
  kafka.stop();
  ring.reset();
  std::filesystem::remove_all(dir);
  return rate;
}

void latency(const std::string& brokers, const std::string& dir, double rate, const std::string& topic) {
  std::filesystem::remove_all(dir);
  buffer::PosixFileIo io;
  auto ring = open_ring(io, dir);
  if (!ring) return;
  KafkaSink kafka(kafka_config(brokers));
  Forwarder forwarder(*ring, kafka, bench_options());
  Stamper stamper("bench");
  const auto duration = std::chrono::seconds(5);
  const auto total = static_cast<std::uint64_t>(rate * 5);
  // Acceptance and delivery times per sequence number, in ns since START.
  std::vector<std::atomic<std::int64_t>> accepted(total);
  std::vector<std::atomic<std::int64_t>> delivered(total);
  std::vector<std::atomic<std::int64_t>> produced(total);  // the produce call, from librdkafka's measure
  // Set once Kafka is warm and the forwarder runs, as for the bare producer: pacing from an
  // earlier start would append the events of the set-up time in one burst.
  Clock::time_point start;
  auto since_start = [&] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
  };
  forwarder.set_delivery_observer([&](std::uint64_t seq, std::int64_t produce_to_report_us) {
    if (seq >= total) return;
    delivered[seq] = since_start();
    if (produce_to_report_us >= 0) produced[seq] = delivered[seq] - produce_to_report_us * 1000;
  });
  if (!kafka.start().is_ok()) return;
  warm_up(kafka, topic);
  // Envelopes encoded beforehand, as for the sustained rate this one is 70% of: encoding
  // each on the pacing thread made the appending side heavier here than there.
  std::vector<std::string> envelopes;
  for (std::uint64_t i = 0; i < 1000; ++i) envelopes.push_back(ring_envelope(make_event(stamper, topic, i)));
  forwarder.start();
  start = Clock::now();
  paced(total, rate, start, [&](std::uint64_t i) {
    const std::string& envelope = envelopes[i % envelopes.size()];
    while (ring->append(0, envelope, [&](std::error_code ec, std::uint64_t seq) {
             if (!ec && seq < total) accepted[seq] = since_start();
           }, g_appender_waits) != buffer::Ring::Append::kQueued) {
      std::this_thread::yield();
    }
  });
  wait_until([&] { return ring->cursor() >= total || Clock::now() - start > duration * 4; });
  forwarder.stop();
  kafka.stop();
  const Percentiles p = percentiles(accepted, delivered);
  const Percentiles later = percentiles(accepted, delivered, kWarmNs);
  std::printf("latency at %.0f events/s (%llu events, %zu delivered): acceptance -> delivery report "
              "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms; after the first second p99 %.2f ms\n",
              rate, static_cast<unsigned long long>(total), p.count, p.p50, p.p90, p.p99, p.max, later.p99);
  // The two parts: acceptance to the produce call (the ring and the forwarder), and the
  // produce call to the report (librdkafka, linger.ms and the broker).
  const Percentiles ours = percentiles(accepted, produced);
  const Percentiles theirs = percentiles(produced, delivered);
  std::printf("  acceptance -> produce call p50 %.2f ms, p99 %.2f ms, max %.2f ms; produce call -> report "
              "p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              ours.p50, ours.p99, ours.max, theirs.p50, theirs.p99, theirs.max);
  // Where in the run the slow ones were: a start-up transient, a periodic stall, or spread.
  std::vector<double> worst(20, 0.0);
  std::vector<double> worst_ours(20, 0.0);
  for (std::size_t i = 0; i < total; ++i) {
    if (accepted[i] <= 0 || delivered[i] <= 0) continue;
    const auto bucket = std::min<std::size_t>(worst.size() - 1, static_cast<std::size_t>(accepted[i] / 250'000'000));
    worst[bucket] = std::max(worst[bucket], static_cast<double>(delivered[i] - accepted[i]) / 1e6);
    if (produced[i] > 0) {
      worst_ours[bucket] = std::max(worst_ours[bucket], static_cast<double>(produced[i] - accepted[i]) / 1e6);
    }
  }
  std::printf("  slowest per 250 ms of acceptance time (ms):");
  for (const double w : worst) std::printf(" %.0f", w);
  std::printf("\n    of which to the produce call:          ");
  for (const double w : worst_ours) std::printf(" %.0f", w);
  std::printf("\n");
  ring.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  tributary::tune_allocator();  // as the appliance does (app/main.cc)
  constexpr const char* kUsage =
      "usage: forwarder_bench BROKERS [DIR] [--records N] [--drain-only] [--bare-only]\n"
      "                       [--latency-only RATE]\n"
      "                       [--fsync interval|always|never] [--waiting-appends]\n";
  if (argc < 2 || argv[1][0] == '-') {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string brokers = argv[1];
  std::string dir = "/tmp/tributary-forwarder-bench";
  std::uint64_t records = 1'000'000;
  bool drain_only = false;  // for a profiler
  bool bare_only = false;   // the bare producer's drain alone (for a profiler)
  double latency_only = 0;  // > 0: only the latency run at this rate (for a profiler)
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--drain-only") {
      drain_only = true;
    } else if (a == "--value-bytes" && i + 1 < argc) {
      g_value_bytes = std::stoull(argv[++i]);
    } else if (a == "--bare-only") {
      bare_only = true;
    } else if (a == "--latency-only" && i + 1 < argc) {
      latency_only = std::stod(argv[++i]);
    } else if (a == "--waiting-appends") {
      g_appender_waits = true;
    } else if (a == "--fsync" && i + 1 < argc) {
      const std::string policy = argv[++i];
      if (policy == "always") {
        g_fsync = buffer::FsyncPolicy::kAlways;
      } else if (policy == "never") {
        g_fsync = buffer::FsyncPolicy::kNever;
      } else if (policy != "interval") {
        std::fprintf(stderr, "forwarder_bench: --fsync takes interval, always or never\n");
        return 2;
      }
    } else if (a == "--records" && i + 1 < argc) {
      records = std::stoull(argv[++i]);
    } else if (a.starts_with('-')) {
      std::fprintf(stderr, "forwarder_bench: unknown option or missing value: %s\n", a.c_str());
      std::fputs(kUsage, stderr);
      return 2;
    } else {
      dir = a;
    }
  }
  log::set_level(log::Level::kWarn);
  const std::string run = std::to_string(::getpid());
  std::printf("forwarder_bench: %llu events of %zu bytes, 100 keys, lz4, linger 5 ms, acks=all, "
              "idempotent; ring fsync: %s; appends %s\n", static_cast<unsigned long long>(records), g_value_bytes,
              g_fsync == buffer::FsyncPolicy::kAlways ? "always"
              : g_fsync == buffer::FsyncPolicy::kNever ? "never" : "interval",
              g_appender_waits ? "waited for one by one" : "not waited for (written in groups)");
  // Three rounds, forwarder and bare producer in turn: Kafka shares this machine's cores,
  // so single runs vary; the medians are compared. Kafka's first seconds are slow (its JIT
  // warms up), and the rates rose from round to round, so a warm-up produce that is not
  // measured comes first, and the order alternates (round 2 starts with the bare producer):
  // neither side always gets the colder slot.
  if (bare_only) {
    std::printf("bare librdkafka producer: %.0f events/s\n", bare_producer(brokers, records, "bench.bare." + run));
    return 0;
  }
  if (latency_only > 0) {
    // Kafka warmed up as in the full run (its JIT; with 300,000 events the first latency run
    // still met a broker compiling, p99 130-330 ms in its first second): else the first side
    // meets a cold broker.
    const double warm = bare_producer(brokers, records, "bench.warm." + run);
    std::printf("warm-up (not counted): bare producer %.0f events/s\n", warm);
    latency(brokers, dir, latency_only, "bench.latency." + run);
    bare_latency(brokers, latency_only, "bench.bare-latency." + run);
    return 0;
  }
  std::vector<double> forwarder_rates;
  std::vector<double> bare_rates;
  if (!drain_only) {
    const double warm = bare_producer(brokers, records, "bench.warm." + run);
    std::printf("warm-up (not counted): bare producer %.0f events/s\n", warm);
  }
  for (int round = 0; round < (drain_only ? 1 : 3); ++round) {
    const std::string r = run + "." + std::to_string(round);
    const auto forwarder_round = [&] {
      forwarder_rates.push_back(drain(brokers, dir, records, "bench.forwarder." + r));
      std::printf("round %d: forwarder drain from the ring: %.0f events/s\n", round + 1, forwarder_rates.back());
    };
    const auto bare_round = [&] {
      bare_rates.push_back(bare_producer(brokers, records, "bench.bare." + r));
      std::printf("round %d: bare librdkafka producer:      %.0f events/s\n", round + 1, bare_rates.back());
    };
    if (drain_only) {
      forwarder_round();
      return 0;
    }
    if (round % 2 == 0) {
      forwarder_round();
      bare_round();
    } else {
      bare_round();
      forwarder_round();
    }
  }
  // Per round too (the two sides of a round ran back to back, under the same conditions).
  std::vector<double> ratios;
  std::printf("forwarder / bare per round:");
  for (std::size_t i = 0; i < forwarder_rates.size(); ++i) {
    ratios.push_back(bare_rates[i] > 0 ? 100.0 * forwarder_rates[i] / bare_rates[i] : 0.0);
    std::printf(" %.0f%%", ratios.back());
  }
  std::sort(ratios.begin(), ratios.end());
  std::printf("; median %.0f%%\n", ratios[ratios.size() / 2]);
  std::sort(forwarder_rates.begin(), forwarder_rates.end());
  std::sort(bare_rates.begin(), bare_rates.end());
  const double forwarder = forwarder_rates[1];
  const double bare = bare_rates[1];
  std::printf("median: forwarder %.0f events/s, bare producer %.0f events/s: forwarder / bare = %.0f%%\n",
              forwarder, bare, bare > 0 ? 100.0 * forwarder / bare : 0.0);
  const double sustained = end_to_end_max(brokers, dir, "bench.e2e." + run);
  std::printf("sustained end to end (appending and forwarding together): %.0f events/s\n", sustained);
  for (const double rate : {0.7 * sustained, 10'000.0}) {
    latency(brokers, dir, rate, "bench.latency." + run);
    bare_latency(brokers, rate, "bench.bare-latency." + run);
  }
  return 0;
}
