#include "core/forwarder.h"

#include <flatbuffers/flatbuffers.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "core/envelope.h"
#include "core/log.h"
#include "core/stamper.h"
#include "envelope_generated.h"

namespace tributary {
namespace {

// Tags of dead-letter produces carry this bit; the rest is the ring sequence number.
constexpr std::uint64_t kDeadLetterTag = 1ull << 63;
// When records trickle in faster than this apart, the reader waits this long for more of
// them before reading (unless kGatherRecords are already there).
constexpr std::chrono::microseconds kGather{1000};
constexpr std::uint64_t kGatherRecords = 64;
// Records in flight while librdkafka reports every broker down (max_in_flight otherwise).
constexpr std::size_t kOutageInFlight = 1000;

}  // namespace

Forwarder::Forwarder(buffer::Ring& ring, KafkaSink& kafka, ForwarderOptions options)
    : ring_(ring), kafka_(kafka), options_(std::move(options)) {
  kafka_.set_delivery_handler([this](const DeliveryReport& report) { on_delivery(report); });
}

Forwarder::~Forwarder() { stop(); }

void Forwarder::start() {
  tokens_at_ = std::chrono::steady_clock::now();
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "forwarder");
    loop();
  });
}

bool Forwarder::drain(std::chrono::steady_clock::time_point deadline) {
  if (!thread_.joinable()) return false;
  for (;;) {
    if (ring_.cursor() >= ring_.stats().next_seq) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Forwarder::stop() {
  stopping_ = true;
  // Idempotent without touching the ring again: the destructor calls this too, and by then
  // the owner may have destroyed the ring (it outlives only the running forwarder).
  if (!thread_.joinable()) return;
  ring_.interrupt_wait();  // the loop sees it at once, or within one poll (at most 50 ms)
  thread_.join();
}

void Forwarder::finished_one() { in_flight_.fetch_sub(1); }

void Forwarder::hold(const std::shared_ptr<const std::string>& owner, std::uint64_t sequence) {
  if (held_.empty() || held_.back().owner != owner) {
    held_.push_back(Held{owner, sequence});
    held_bytes_ += owner->size();
  } else {
    held_.back().last = std::max(held_.back().last, sequence);
  }
}

// A buffer can go once every record taken from it is acknowledged: its delivery report
// has come (librdkafka is done with the value) or it was given up on. Records are produced
// only while unacknowledged, so an acknowledged one has no copy left in flight.
void Forwarder::release_held() {
  const std::uint64_t cursor = ring_.cursor();
  while (!held_.empty() && held_.front().last < cursor) {
    held_bytes_ -= held_.front().owner->size();
    held_.pop_front();
  }
}

// Drain cap: a token bucket of max_bytes_per_second, holding at most one second's worth.
void Forwarder::throttle(std::size_t bytes) {
  if (options_.max_bytes_per_second == 0) return;
  const auto rate = static_cast<double>(options_.max_bytes_per_second);
  while (!stopping_.load()) {
    const auto now = std::chrono::steady_clock::now();
    tokens_ = std::min(rate, tokens_ + rate * std::chrono::duration<double>(now - tokens_at_).count());
    tokens_at_ = now;
    if (tokens_ >= static_cast<double>(bytes) || tokens_ >= rate) {
      tokens_ -= static_cast<double>(bytes);
      return;
    }
    // Reports are served meanwhile (this thread serves them): a long throttled read must
    // not hold the acks, and so the cursor and segment reclaim, back.
    const double wait = (static_cast<double>(bytes) - tokens_) / rate;
    kafka_.poll(std::chrono::milliseconds(std::clamp<long>(std::lround(wait * 1000.0), 1, 50)));
  }
}

// Runs on the forwarder thread, which also serves librdkafka's delivery reports (it took
// polling over from the sink's poll thread): librdkafka then frees each record's memory on
// the thread that allocated it, instead of fighting this one for the allocator's lock from
// another thread (about a tenth of this thread's time under load). Every wait below is
// therefore a poll, or a wait for the ring that a report arriving interrupts.
void Forwarder::loop() {
  kafka_.take_over_polling([this] { ring_.interrupt_wait(); });
  auto last_read = std::chrono::steady_clock::now();  // the last read that found records
  std::uint64_t next = ring_.cursor();
  while (!stopping_.load()) {
    kafka_.poll(std::chrono::milliseconds(0));
    release_held();
    if (rewind_to_.load() != UINT64_MAX) {
      // Let everything in flight report, then go back to the first failed record.
      if (in_flight_.load() > 0) {
        kafka_.poll(std::chrono::milliseconds(10));
        continue;
      }
      reread_below_ = std::max(reread_below_, next);
      next = std::max(rewind_to_.exchange(UINT64_MAX), ring_.cursor());
      {
        // Reads start again at NEXT: drop the entries from there on, keep the one that
        // holds the cursor (its age is what an outage makes grow).
        std::lock_guard<std::mutex> lock(read_times_mutex_);
        while (!read_times_.empty() && read_times_.back().first >= next) read_times_.pop_back();
      }
      log::warn("kafka delivery failed; sending again from the ring after a back-off")
          .kv("from_sequence", next)
          .kv("backoff_ms", options_.retry_backoff.count());
      const auto until = std::chrono::steady_clock::now() + options_.retry_backoff;
      while (!stopping_.load() && std::chrono::steady_clock::now() < until) {
        kafka_.poll(std::chrono::milliseconds(10));
      }
      continue;
    }
    // While no broker is up, little is handed over: librdkafka could only hold it (about a
    // kilobyte of memory per record with its headers), and the CPU it takes is the intakes'.
    // The ring keeps the rest; the first successful delivery opens the window again.
    const std::size_t window = kafka_.brokers_up() == 0 ? std::min(options_.max_in_flight, kOutageInFlight)
                                                        : options_.max_in_flight;
    const auto room = static_cast<std::int64_t>(window) - in_flight_.load();
    // With a drain cap, at most about one second's worth waits in librdkafka's queue, so
    // what queued up during an outage does not leave in one burst when Kafka returns.
    const bool bytes_full = options_.max_bytes_per_second > 0 &&
                            in_flight_bytes_.load() >= static_cast<std::int64_t>(options_.max_bytes_per_second);
    if (room <= 0 || bytes_full) {
      kafka_.poll(std::chrono::milliseconds(bytes_full ? 5 : 10));
      continue;
    }
    if (held_bytes_ > kMaxHeldBytes) {
      // The read buffers still referenced by records in flight are at their cap: wait for
      // deliveries to release some.
      kafka_.poll(std::chrono::milliseconds(5));
      continue;
    }
    bool full = false;
    bool first = true;
    const std::uint64_t after = ring_.read_shared(
        next, static_cast<std::size_t>(std::min<std::int64_t>(room, 4096)),
        [&](const buffer::RecordView& record, const std::shared_ptr<const std::string>& owner) {
          // After a rewind, records Kafka already confirmed are not sent again: a second copy
          // in flight would outlive the buffer once the cursor passed it. Only records read
          // before can have been confirmed (nothing above the cursor is acknowledged at start).
          if (record.sequence < reread_below_ && ring_.is_acked(record.sequence)) return true;
          if (first) {
            first = false;
            std::lock_guard<std::mutex> lock(read_times_mutex_);
            const std::uint64_t cursor = ring_.cursor();
            while (read_times_.size() > 1 && read_times_[1].first <= cursor) read_times_.pop_front();
            read_times_.emplace_back(record.sequence, record.time_ms);
            // At most one entry per record in flight (max_in_flight); the cap is a backstop.
            if (read_times_.size() > (1u << 17)) read_times_.pop_front();
          }
          hold(owner, record.sequence);
          if (send(record) == Sent::kFull) {
            full = true;
            return false;  // the ring gives this record again on the next read
          }
          return true;
        });
    if (full) {
      next = after;
      kafka_.poll(std::chrono::milliseconds(1));
      continue;
    }
    if (after == next) {
      // Nothing new: wait for the ring, or for a delivery report (it interrupts the wait).
      ring_.wait_readable(next, std::chrono::milliseconds(in_flight_.load() > 0 ? 10 : 50));
      const std::uint64_t ready = ring_.written_seq() - next;  // 0: a report woke the wait
      const auto since_read = std::chrono::steady_clock::now() - last_read;
      if (ready > 0 && ready < kGatherRecords && since_read < kGather) {
        // Records arrive one by one, less than kGather apart (an MQTT client waiting for each
        // one): let a few gather instead of waking for every one. This adds at most kGather
        // to their way to Kafka, where librdkafka holds them for linger.ms anyway.
        kafka_.poll(std::chrono::milliseconds(1));
      }
      continue;
    }
    last_read = std::chrono::steady_clock::now();
    next = after;
  }
  kafka_.give_back_polling();
}

double Forwarder::oldest_unacked_age_seconds(std::int64_t now_ms) const {
  const std::uint64_t cursor = ring_.cursor();
  if (cursor >= ring_.written_seq()) return 0;  // nothing waits
  std::lock_guard<std::mutex> lock(read_times_mutex_);
  // Drop reads wholly below the cursor: the next read starts at or below it.
  while (read_times_.size() > 1 && read_times_[1].first <= cursor) read_times_.pop_front();
  if (read_times_.empty() || read_times_.front().first > cursor) return 0;  // not read yet
  // The first record of the read that holds the cursor: at most one read's span older.
  return std::max<double>(0, static_cast<double>(now_ms - read_times_.front().second) / 1000.0);
}

Forwarder::Sent Forwarder::send(const buffer::RecordView& record) {
  const std::uint64_t seq = record.sequence;
  flatbuffers::Verifier verifier(reinterpret_cast<const std::uint8_t*>(record.body.data()),
                                 record.body.size());
  if (!fb::VerifyEnvelopeBuffer(verifier)) {
    // CRC-verified bytes that are no envelope: our bug or a foreign file. Skip it, loudly,
    // rather than wedge every record behind it.
    undecodable_.fetch_add(1);
    log::error("ring record is not a valid envelope; skipped").kv("sequence", seq);
    ring_.ack(seq);
    return Sent::kDone;
  }
  const fb::Envelope* e = fb::GetEnvelope(record.body.data());
  headers_.clear();
  bool has_id = false;
  envelope_headers(*e, header_text_, [this, &has_id](std::string_view name, std::string_view value) {
    headers_.emplace_back(name, value);
    has_id = has_id || name == "ce_id";
  });
  if (!has_id) {
    const std::string_view explicit_id = fb_view(e->id());
    if (explicit_id.empty()) {
      assign_event_id(id_, options_.node_id, seq);  // in place: no allocation per record
    } else {
      id_.assign(explicit_id);
    }
    headers_.emplace_back("ce_id", id_);
  }
  OutRecord out;
  out.topic = e->topic() != nullptr ? e->topic()->c_str() : "";
  if (e->has_key()) out.key = fb_view(e->key());
  out.value = fb_view(e->payload());
  out.null_value = e->null_value();
  out.partition = e->partition();
  out.headers = headers_;
  throttle(out.value.size());
  const auto bytes = static_cast<std::int64_t>(out.value.size());
  in_flight_.fetch_add(1);
  in_flight_bytes_.fetch_add(bytes);
  std::string why;
  switch (kafka_.produce(out, seq, &why)) {
    case KafkaSink::Produce::kQueued:
      forwarded_.fetch_add(1);
      return Sent::kQueued;
    case KafkaSink::Produce::kFull:
      in_flight_.fetch_sub(1);
      in_flight_bytes_.fetch_sub(bytes);
      return Sent::kFull;
    case KafkaSink::Produce::kRefused:
      break;
  }
  // Refused before it left: nothing librdkafka could ever send (an invalid topic, one it
  // knows Kafka refuses or does not have, a record too large).
  in_flight_.fetch_sub(1);
  in_flight_bytes_.fetch_sub(bytes);
  if (options_.dead_letter_topic.empty()) {
    give_up(seq, out.topic, why);
    return Sent::kDone;
  }
  const std::string error = why.substr(0, why.find(':'));  // the code's name, as in a report
  return dead_letter(seq, out, error, why) == DeadLetter::kLater ? Sent::kFull : Sent::kDone;
}

// A record that can never be produced to its topic and has no dead-letter topic (or the
// dead-letter topic refused it too): logged, counted, acknowledged.
// Logged at most once a second, with the number of such records not logged in between.
void Forwarder::give_up(std::uint64_t sequence, const std::string& topic, const std::string& reason) {
  rejected_.fetch_add(1);
  {
    std::lock_guard<std::mutex> lock(give_up_log_mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_give_up_log_ >= std::chrono::seconds(1)) {
      log::limited(log::Level::kError, "kafka refused a record for good; dropped")
          .kv("sequence", sequence)
          .kv("topic", topic)
          .kv("reason", reason)
          .kv("more_not_logged", give_up_not_logged_);
      last_give_up_log_ = now;
      give_up_not_logged_ = 0;
    } else {
      ++give_up_not_logged_;
    }
  }
  ring_.ack(sequence);
}

// Produces ORIGINAL (key, value, headers) to the dead-letter topic with headers naming the
// reason and the error. Must not wait: it runs on the forwarder thread, while reading the ring
// or serving a delivery report. kLater: it could not be queued right now (librdkafka's queue
// is full), the record must come round again; kGaveUp: the dead-letter topic refused it too.
Forwarder::DeadLetter Forwarder::dead_letter(std::uint64_t sequence, const OutRecord& original,
                                             const std::string& error, const std::string& reason) {
  std::vector<HeaderView> headers(original.headers.begin(), original.headers.end());
  headers.emplace_back("tributary_dlq_reason", reason);
  headers.emplace_back("tributary_dlq_error", error);
  headers.emplace_back("tributary_dlq_topic", original.topic);
  OutRecord out = original;
  out.topic = options_.dead_letter_topic.c_str();
  out.partition = -1;  // the original's partition number means nothing in the dead-letter topic
  out.headers = headers;
  in_flight_.fetch_add(1);
  in_flight_bytes_.fetch_add(static_cast<std::int64_t>(out.value.size()));
  std::string why;
  const KafkaSink::Produce produced = kafka_.produce(out, sequence | kDeadLetterTag, &why);
  if (produced == KafkaSink::Produce::kQueued) {
    log::limited(log::Level::kWarn, "record sent to the dead-letter topic")
        .kv("sequence", sequence)
        .kv("topic", original.topic)
        .kv("dead_letter_topic", options_.dead_letter_topic)
        .kv("reason", reason);
    return DeadLetter::kQueued;
  }
  in_flight_.fetch_sub(1);
  in_flight_bytes_.fetch_sub(static_cast<std::int64_t>(out.value.size()));
  if (produced == KafkaSink::Produce::kRefused) {
    give_up(sequence, original.topic, reason + "; the dead-letter topic refused it too: " + why);
    return DeadLetter::kGaveUp;
  }
  return DeadLetter::kLater;
}

Forwarder::DeadLetter Forwarder::dead_letter(std::uint64_t sequence, const rd_kafka_message_t& original,
                                             const std::string& reason) {
  std::vector<HeaderView> headers;
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(&original, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    for (std::size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
      headers.emplace_back(name, std::string_view(static_cast<const char*>(value), size));
    }
  }
  OutRecord out;
  out.topic = rd_kafka_topic_name(original.rkt);
  if (original.key != nullptr) out.key = std::string_view(static_cast<const char*>(original.key), original.key_len);
  out.value = std::string_view(static_cast<const char*>(original.payload), original.len);
  out.null_value = original.payload == nullptr;
  out.headers = headers;
  return dead_letter(sequence, out, rd_kafka_err2name(original.err), reason);
}

// Returns true for the first failure since the last rewind (the one worth a log line).
bool Forwarder::retry_from(std::uint64_t sequence) {
  retried_.fetch_add(1);
  std::uint64_t current = rewind_to_.load();
  const bool first = current == UINT64_MAX;
  while (sequence < current && !rewind_to_.compare_exchange_weak(current, sequence)) {
  }
  return first;
}

void Forwarder::on_delivery(const DeliveryReport& report) {
  if (report.message != nullptr) in_flight_bytes_.fetch_sub(static_cast<std::int64_t>(report.message->len));
  const bool to_dead_letter = (report.tag & kDeadLetterTag) != 0;
  const std::uint64_t seq = report.tag & ~kDeadLetterTag;
  if (report.error == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (to_dead_letter) {
      dead_lettered_.fetch_add(1);
    } else {
      delivered_.fetch_add(1);
    }
    ring_.ack(seq);
    if (observer_ && !to_dead_letter) {
      observer_(seq, report.message != nullptr ? rd_kafka_message_latency(report.message) : -1);
    }
  } else if (to_dead_letter && report.permanent) {
    // The dead-letter topic refused it for good too: never loop on such a record.
    const std::string topic = report.message != nullptr ? rd_kafka_topic_name(report.message->rkt) : "";
    give_up(seq, topic, std::string("the dead-letter topic refused it too: ") + rd_kafka_err2str(report.error));
  } else if (to_dead_letter) {
    // The dead-letter topic failed for a reason worth retrying (a timeout, a broker down):
    // the record is still in the ring; it comes round again, is refused again by its own
    // topic and goes to the dead-letter topic once that works.
    if (retry_from(seq)) {
      log::limited(log::Level::kWarn, "dead-letter delivery failed; will retry")
          .kv("sequence", seq)
          .kv("code", rd_kafka_err2name(report.error))
          .kv("reason", rd_kafka_err2str(report.error));
    }
  } else if (report.permanent) {
    const std::string reason = rd_kafka_err2str(report.error);
    const std::string topic = report.message != nullptr ? rd_kafka_topic_name(report.message->rkt) : "";
    if (options_.dead_letter_topic.empty() || report.message == nullptr) {
      give_up(seq, topic, reason);
    } else if (dead_letter(seq, *report.message, reason) == DeadLetter::kLater) {
      retry_from(seq);  // could not queue it now: the record comes round again
    }
  } else if (retry_from(seq)) {
    log::limited(log::Level::kWarn, "kafka delivery failed; will retry")
        .kv("sequence", seq)
        .kv("code", rd_kafka_err2name(report.error))
        .kv("reason", rd_kafka_err2str(report.error));
  }
  finished_one();
}

}  // namespace tributary
