// MQTT load: N Paho clients publish through the broker, one thread each, QoS 0, 1 or 2.
// An acknowledgement is the broker's PUBACK (QoS 1) or PUBCOMP (QoS 2); QoS 0 messages are
// logged as unacknowledged ("mqtt_qos0"). Each client keeps a window of publishes in flight
// and uses its own keys, so per-key send order is the client's publish order.
// The MQTT topic is a template: "{key}" is replaced by the event's key.

#include <mqtt/async_client.h>

#include <algorithm>
#include <deque>
#include <thread>
#include <vector>

#include "tools/load/generator.h"
#include "tools/load/obligations.h"
#include "tools/load/payload.h"

namespace tributary::tools {
namespace {

std::string topic_for(const std::string& pattern, const std::string& key) {
  std::string out = pattern;
  const auto at = out.find("{key}");
  if (at != std::string::npos) out.replace(at, 5, key);
  return out;
}

}  // namespace

LoadResult run_mqtt_load(const LoadOptions& options, LoadCounters& counters) {
  LoadResult result;
  if (options.qos < 0 || options.qos > 2) {
    result.error = "--qos is 0, 1 or 2";
    return result;
  }
  const unsigned connections = std::max(1u, options.connections);
  SequenceSource sequences(options);
  std::vector<std::vector<SendOutcome>> outcomes(connections);
  std::vector<std::string> errors(connections);
  std::vector<std::thread> threads;
  for (unsigned c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      try {
        mqtt::async_client client("tcp://" + options.target,
                                  "tributary-load-" + options.run_id + "-" + std::to_string(c),
                                  mqtt::create_options(MQTTVERSION_3_1_1, 1000));
        auto connect = mqtt::connect_options_builder().clean_session(true).max_inflight(1000).finalize();
        client.connect(connect)->wait_for(std::chrono::seconds(10));
        if (!client.is_connected()) {
          errors[c] = "cannot connect to the MQTT broker " + options.target;
          return;
        }
        Pacer pacer(options.rate / connections);
        std::deque<std::pair<std::uint64_t, mqtt::delivery_token_ptr>> window;
        auto settle_oldest = [&] {
          auto [seq, token] = window.front();
          window.pop_front();
          bool ok = false;
          try {
            ok = token->wait_for(std::chrono::seconds(30)) && token->get_return_code() == 0;
          } catch (const mqtt::exception&) {
            ok = false;
          }
          if (options.qos == 0) {
            outcomes[c].push_back({seq, "mqtt_qos0"});  // written to the socket; no acknowledgement
            return;
          }
          if (ok) counters.acknowledged.fetch_add(1, std::memory_order_relaxed);
          outcomes[c].push_back({seq, ok ? "" : "mqtt_no_ack"});
        };
        std::string body;
        for (std::uint64_t n = 0;; ++n) {
          pacer.wait_for(n);
          const auto next = sequences.next();
          if (!next) break;
          const std::uint64_t seq = *next;
          const std::string key = connection_key(c, n, options.keys);
          encode_payload(Payload{options.run_id, seq, now_ns(), key}, options.size, body);
          auto token = client.publish(topic_for(options.route, key), body.data(), body.size(), options.qos, false);
          counters.sent.fetch_add(1, std::memory_order_relaxed);
          // QoS 0 too: Paho buffers at most 1000 unsent messages, so wait for the oldest to
          // be written before publishing more.
          window.emplace_back(seq, std::move(token));
          if (window.size() >= 500) settle_oldest();
        }
        while (!window.empty()) settle_oldest();
        client.disconnect()->wait_for(std::chrono::seconds(10));
      } catch (const mqtt::exception& e) {
        errors[c] = std::string("mqtt: ") + e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - sequences.start()).count();
  for (const std::string& e : errors) {
    if (!e.empty() && result.error.empty()) result.error = e;
  }
  const std::vector<SendOutcome> all = merge_outcomes(outcomes);
  result.sent = all.size();
  const std::string log_error = write_outcomes(options, all, &result.acknowledged);
  if (result.error.empty()) result.error = log_error;
  return result;
}

}  // namespace tributary::tools
