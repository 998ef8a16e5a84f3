#pragma once

#include <mqtt/message.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/intake.h"
#include "core/sink.h"
#include "core/stamper.h"

namespace tributary::transports::mqtt {

// Counters of one MQTT source (all its clients); read from any thread.
struct MqttCounters {
  std::atomic<std::uint64_t> received{0};           // messages the broker delivered
  std::atomic<std::uint64_t> accepted{0};           // in the ring (QoS 1/2: then acknowledged)
  std::atomic<std::uint64_t> received_bytes{0};     // payloads delivered by the broker
  std::atomic<std::uint64_t> accepted_bytes{0};     // payloads in the ring (dead letters not included)
  std::atomic<std::uint64_t> skipped_retained{0};   // retained replays, forward_retained off
  std::atomic<std::uint64_t> dropped_busy{0};       // QoS 0 while the ring was full
  std::atomic<std::uint64_t> waited_busy{0};        // QoS 1/2 held at the broker while the ring was full
  std::atomic<std::uint64_t> dropped_malformed{0};  // too large, not JSON, topic renders invalid
  std::atomic<std::uint64_t> dead_lettered{0};      // malformed, sent to dead_letter_topic
  std::atomic<std::uint64_t> dropped_rejected{0};   // the sink refused it for good
  std::atomic<std::uint64_t> connects{0};           // successful connections
  std::atomic<std::uint64_t> connect_failed{0};     // failed attempts (auth failures included)
  std::atomic<std::uint64_t> auth_failed{0};        // refused for credentials or authorisation
  std::atomic<std::uint64_t> connection_lost{0};
  std::atomic<std::uint64_t> broker_disconnects{0};  // MQTT 5 DISCONNECT from the broker
  std::atomic<std::uint64_t> subscribe_refused{0};  // filters the broker refused
};

// One MQTT source: `clients` Paho clients of the gateway's broker, each with a stable
// client id and a persistent session, subscribed to the source's filters (shared when more
// than one). A message is acknowledged to the broker only once it is in the ring under the
// fsync policy in force: Paho sends the PUBACK/PUBCOMP when the message callback returns,
// so the callback appends and waits for the ring's completion. While the ring is full
// (when_full: block), QoS 1/2 messages wait (the callback does not return, so the broker
// holds the rest); QoS 0 messages are dropped and counted.
// Each client has a control thread that connects, subscribes and reconnects with
// exponential backoff and jitter, logging and counting every failure with its reason.
class MqttIntake final : public Intake {
 public:
  MqttIntake(const config::SourceConfig& source, Sink& sink, Stamper& stamper, std::string persist_dir);
  ~MqttIntake() override;

  std::string_view name() const override { return name_; }
  // Starts the clients' control threads; connecting happens in the background (a broker
  // that is not up yet is retried, not fatal). Fails only on a client that cannot be created.
  Status start() override;
  void stop() override;
  void collect(metrics::Scrape& scrape) const override;
  // The subscriptions' topic and key templates change live (from the next message on).
  void reconfigure(const config::SourceConfig& source) override;

  const MqttCounters& counters() const { return counters_; }
  // True once every client has connected and subscribed at least once.
  bool subscribed() const;

 private:
  class Client;
  // The subscription TOPIC came in on, with the values of its levels; null when none matches.
  static const config::MqttSubscriptionConfig* match(const std::vector<config::MqttSubscriptionConfig>& subs,
                                                     std::string_view topic, std::vector<std::string_view>* levels);
  void on_message(Client& client, const ::mqtt::message& message);
  // Appends ENVELOPE; for QoS 1/2 waits until the ring has it (retrying while it is full).
  // False when it was not stored (QoS 0 while full, refused, or shutting down).
  bool store(Client& client, std::string_view envelope, std::int64_t time_ms, int qos);

  std::string name_;
  config::MqttSourceConfig settings_;
  Sink& sink_;
  Stamper& stamper_;
  std::string persist_dir_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> route_accepted_;  // per subscription, as listed
  // The subscriptions' Kafka topic and key templates, which a reload may change; taken per message.
  std::atomic<std::shared_ptr<const std::vector<config::MqttSubscriptionConfig>>> mappings_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_callbacks_{0};  // Paho callbacks running now; stop() waits for none
  bool started_ = false;
  MqttCounters counters_;
};

}  // namespace tributary::transports::mqtt
