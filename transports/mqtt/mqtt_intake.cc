#include "transports/mqtt/mqtt_intake.h"

#include <mqtt/async_client.h>

#include <algorithm>
#include <climits>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "config/values.h"
#include "core/envelope.h"
#include "core/formats.h"
#include "core/key_render.h"
#include "core/log.h"

namespace tributary::transports::mqtt {

using namespace std::chrono_literals;

namespace {

constexpr auto kConnectTimeout = 10s;
constexpr auto kDisconnectTimeout = 5s;

// MQTT 3.1.1 CONNACK 4 and 5, MQTT 5 reason codes 0x86 and 0x87: credentials or permission.
// Paho reports the CONNACK code as the return code (MQTT 5 too) or as the reason code.
bool is_auth_failure(int return_code, int reason_code) {
  for (const int code : {return_code, reason_code}) {
    if (code == 4 || code == 5 || code == 0x86 || code == 0x87) return true;
  }
  return false;
}

std::vector<std::string_view> split_levels(std::string_view topic) {
  std::vector<std::string_view> levels;
  while (true) {
    const std::size_t slash = topic.find('/');
    levels.push_back(topic.substr(0, slash));
    if (slash == std::string_view::npos) break;
    topic.remove_prefix(slash + 1);
  }
  return levels;
}

// What the ring says about one QoS 1/2 message, for the callback that waits for it.
struct StoreResult {
  std::mutex mu;
  std::condition_variable ready;
  std::optional<Status> status;
};

}  // namespace

// One Paho client and the thread that keeps it connected and subscribed.
class MqttIntake::Client final : public ::mqtt::callback {
 public:
  Client(MqttIntake& owner, std::string id, const std::string& persist_dir)
      : owner_(owner),
        id_(std::move(id)),
        paho_(owner.settings_.broker, id_,
              ::mqtt::create_options(owner.settings_.protocol == "5" ? MQTTVERSION_5 : MQTTVERSION_3_1_1),
              persist_dir) {
    paho_.set_callback(*this);
    // MQTT 5: a broker that ends the connection says why (session taken over, server
    // shutting down, ...). Paho reports the loss itself without the reason.
    paho_.set_disconnected_handler([this](const ::mqtt::properties& props, ::mqtt::ReasonCode code) {
      on_disconnect(props, code);
    });
  }

  ~Client() override { join(); }

  void start() { thread_ = std::thread([this] { run(); }); }

  // Wakes the control thread (stopping_ is already set) and waits for it.
  void stop() {
    {
      std::lock_guard lock(mu_);
      wake_ = true;
    }
    cv_.notify_all();
    join();
  }

  bool subscribed() const { return subscribed_.load(); }
  bool connected() { return paho_.is_connected(); }
  const std::string& id() const { return id_; }
  EnvelopeWriter& writer() { return writer_; }

  void connection_lost(const std::string& cause) override {
    owner_.counters_.connection_lost.fetch_add(1, std::memory_order_relaxed);
    log::warn("mqtt connection lost")
        .kv("source", owner_.name_)
        .kv("client", id_)
        .kv("cause", cause.empty() ? "unknown" : cause);
    reconnect();
  }

  void on_disconnect(const ::mqtt::properties& props, ::mqtt::ReasonCode code) {
    owner_.counters_.broker_disconnects.fetch_add(1, std::memory_order_relaxed);
    const int value = static_cast<int>(code);
    std::string why;
    if (props.contains(::mqtt::property::REASON_STRING)) why = ::mqtt::get<std::string>(props, ::mqtt::property::REASON_STRING);
    log::warn("mqtt broker closed the connection")
        .kv("source", owner_.name_)
        .kv("client", id_)
        .kv("reason_code", value)
        .kv("reason", MQTTReasonCode_toString(static_cast<MQTTReasonCodes>(value)))
        .kv("reason_string", why);
    reconnect();
  }

  void reconnect() {
    {
      std::lock_guard lock(mu_);
      lost_ = true;
    }
    cv_.notify_all();
  }

  void message_arrived(::mqtt::const_message_ptr message) override {
    owner_.active_callbacks_.fetch_add(1);
    try {
      owner_.on_message(*this, *message);
    } catch (const std::exception& e) {
      // Paho C++ lets an exception through C frames (terminate): log it instead. Returning
      // acknowledges the message; this is reached only on an internal error (out of memory).
      log::error("mqtt message failed").kv("source", owner_.name_).kv("client", id_).kv("error", e.what());
    }
    owner_.active_callbacks_.fetch_sub(1);
  }

  // Asks the broker to end the session now (does not wait): a callback still waiting for room
  // in the ring then returns without its acknowledgement reaching the broker.
  ::mqtt::token_ptr begin_disconnect() {
    try {
      if (paho_.is_connected()) return paho_.disconnect();
    } catch (const ::mqtt::exception& e) {
      log::warn("mqtt disconnect failed").kv("source", owner_.name_).kv("client", id_).kv("error", e.what());
    }
    return nullptr;
  }

 private:
  void join() {
    if (thread_.joinable()) thread_.join();
  }

  ::mqtt::connect_options options() const {
    const config::MqttSourceConfig& s = owner_.settings_;
    ::mqtt::connect_options o;
    const bool v5 = s.protocol == "5";
    o.set_mqtt_version(v5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    if (v5) {
      // A persistent session: kept by the broker for session_expiry while we are away.
      o.set_clean_start(false);
      ::mqtt::properties props;
      const auto expiry = std::chrono::duration_cast<std::chrono::seconds>(s.session_expiry).count();
      props.add(::mqtt::property(::mqtt::property::SESSION_EXPIRY_INTERVAL,
                                 static_cast<std::int32_t>(std::min<std::int64_t>(expiry, INT32_MAX))));
      o.set_properties(props);
    } else {
      o.set_clean_session(false);
    }
    o.set_keep_alive_interval(std::chrono::duration_cast<std::chrono::seconds>(s.keep_alive));
    o.set_connect_timeout(kConnectTimeout);
    o.set_automatic_reconnect(false);  // ours: with jitter, counted, resubscribing
    if (!s.username.empty()) o.set_user_name(s.username);
    if (!s.password.empty()) o.set_password(s.password);
    if (s.tls) {
      ::mqtt::ssl_options ssl;
      if (!s.ca_file.empty()) ssl.set_trust_store(s.ca_file);
      if (!s.cert_file.empty()) ssl.set_key_store(s.cert_file);
      if (!s.key_file.empty()) ssl.set_private_key(s.key_file);
      ssl.set_enable_server_cert_auth(true);
      ssl.set_verify(s.verify_hostname);  // Paho's default is off: on unless the config says not
      // No ssl_options error handler: Paho C++ 1.2 keeps a pointer to the ssl_options object
      // it was set on, which does not survive being copied into the connect options (a
      // crash on the first TLS error). A failed handshake fails the connect, logged below.
      o.set_ssl(std::move(ssl));
    }
    return o;
  }

  // One connection attempt and the subscriptions; false (logged and counted) on failure.
  bool connect_and_subscribe() {
    MqttCounters& c = owner_.counters_;
    try {
      auto token = paho_.connect(options());
      if (!token->wait_for(kConnectTimeout + 1s)) {
        c.connect_failed.fetch_add(1, std::memory_order_relaxed);
        log::warn("mqtt connect timed out").kv("source", owner_.name_).kv("client", id_);
        return false;
      }
    } catch (const ::mqtt::exception& e) {
      c.connect_failed.fetch_add(1, std::memory_order_relaxed);
      const bool auth = is_auth_failure(e.get_return_code(), e.get_reason_code());
      if (auth) c.auth_failed.fetch_add(1, std::memory_order_relaxed);
      auto line = log::warn(auth ? "mqtt connect refused: not authorised" : "mqtt connect failed");
      line.kv("source", owner_.name_)
          .kv("client", id_)
          .kv("broker", owner_.settings_.broker)
          .kv("return_code", e.get_return_code())
          .kv("reason_code", e.get_reason_code())
          .kv("error", e.what());
      if (owner_.settings_.tls && e.get_return_code() == -1) {
        // Paho does not say why a handshake failed; these are the usual reasons.
        line.kv("hint", "TLS: is the broker's certificate signed by ca_file, does it name the host "
                        "(verify_hostname), are cert_file and key_file a pair?");
      }
      return false;
    }
    c.connects.fetch_add(1, std::memory_order_relaxed);
    bool all = true;
    for (const config::MqttSubscriptionConfig& sub : owner_.settings_.subscriptions) {
      const std::string filter = owner_.settings_.share_group.empty()
                                     ? sub.mqtt_filter
                                     : "$share/" + owner_.settings_.share_group + "/" + sub.mqtt_filter;
      int code = 0x80;
      try {
        auto token = paho_.subscribe(filter, sub.qos);
        if (token->wait_for(kConnectTimeout)) {
          const auto codes = token->get_subscribe_response().get_reason_codes();
          code = codes.empty() ? 0x80 : static_cast<int>(codes.front());
        }
      } catch (const ::mqtt::exception& e) {
        code = e.get_reason_code() != 0 ? e.get_reason_code() : 0x80;
      }
      if (code >= 0x80) {
        all = false;
        c.subscribe_refused.fetch_add(1, std::memory_order_relaxed);
        log::warn("mqtt subscription refused")
            .kv("source", owner_.name_)
            .kv("client", id_)
            .kv("filter", filter)
            .kv("reason_code", code);
      }
    }
    subscribed_ = true;
    log::info("mqtt subscribed")
        .kv("source", owner_.name_)
        .kv("client", id_)
        .kv("broker", owner_.settings_.broker)
        .kv("filters", owner_.settings_.subscriptions.size())
        .kv("all_granted", all ? "true" : "false");
    return true;
  }

  void run() {
    const config::MqttSourceConfig& s = owner_.settings_;
    std::mt19937_64 rng{std::random_device{}()};
    auto backoff = s.reconnect_min;
    std::unique_lock lock(mu_);
    while (!owner_.stopping_) {
      // A loss reported before this attempt is behind us (Paho may report one loss twice:
      // the broker's DISCONNECT, then the connection lost); one during it is not.
      lost_ = false;
      lock.unlock();
      const bool up = connect_and_subscribe();
      lock.lock();
      if (up) {
        backoff = s.reconnect_min;
        cv_.wait(lock, [this] { return lost_ || wake_; });
        if (owner_.stopping_) break;
      }
      // Jitter: somewhere in the upper half of the backoff, so clients that lost the broker
      // together do not come back together.
      std::uniform_int_distribution<std::int64_t> jitter(backoff.count() / 2, backoff.count());
      const std::chrono::milliseconds wait(jitter(rng));
      log::info("mqtt reconnecting").kv("source", owner_.name_).kv("client", id_).kv("in_ms", wait.count());
      cv_.wait_for(lock, wait, [this] { return wake_; });
      backoff = std::min(backoff * 2, s.reconnect_max);
    }
  }

  MqttIntake& owner_;
  std::string id_;
  ::mqtt::async_client paho_;
  EnvelopeWriter writer_;  // used only by Paho's callback thread for this client
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool lost_ = false;
  bool wake_ = false;
  std::atomic<bool> subscribed_{false};
};

MqttIntake::MqttIntake(const config::SourceConfig& source, Sink& sink, Stamper& stamper,
                       std::string persist_dir)
    : name_(source.name),
      settings_(std::get<config::MqttSourceConfig>(source.settings)),
      sink_(sink),
      stamper_(stamper),
      persist_dir_(std::move(persist_dir)),
      route_accepted_(std::make_unique<std::atomic<std::uint64_t>[]>(settings_.subscriptions.size())) {
  mappings_.store(std::make_shared<const std::vector<config::MqttSubscriptionConfig>>(settings_.subscriptions));
}

void MqttIntake::reconfigure(const config::SourceConfig& source) {
  // Only the Kafka topic and key templates differ (the filters, and so the subscriptions,
  // are the same: the caller checked).
  mappings_.store(std::make_shared<const std::vector<config::MqttSubscriptionConfig>>(
      std::get<config::MqttSourceConfig>(source.settings).subscriptions));
}

void MqttIntake::collect(metrics::Scrape& scrape) const {
  const MqttCounters& c = counters_;
  const auto v = [](const std::atomic<std::uint64_t>& a) { return static_cast<double>(a.load(std::memory_order_relaxed)); };
  metrics::source_counts(scrape, name_, "mqtt", v(c.received), v(c.received_bytes), v(c.accepted),
                         v(c.accepted_bytes));
  for (const auto& [reason, counter] : {std::pair<std::string_view, const std::atomic<std::uint64_t>*>{
                                            "retained_skipped", &c.skipped_retained},
                                        {"ring_full", &c.dropped_busy},
                                        {"malformed", &c.dropped_malformed},
                                        {"rejected", &c.dropped_rejected}}) {
    metrics::source_dropped(scrape, name_, "mqtt", reason, v(*counter));
  }
  const metrics::Labels labels = {{"source", name_}, {"type", "mqtt"}};
  scrape.counter("tributary_source_dead_lettered_events_total",
                 "Malformed events a source sent to its dead-letter topic.", labels, v(c.dead_lettered));
  scrape.counter("tributary_mqtt_held_at_broker_total",
                 "QoS 1/2 messages left unacknowledged at the broker while the ring was full.", labels,
                 v(c.waited_busy));
  scrape.counter("tributary_mqtt_connects_total", "Successful connections to the broker.", labels, v(c.connects));
  scrape.counter("tributary_mqtt_connect_failures_total", "Failed connection attempts (auth failures included).",
                 labels, v(c.connect_failed));
  scrape.counter("tributary_mqtt_auth_failures_total", "Connections refused for credentials or authorisation.",
                 labels, v(c.auth_failed));
  scrape.counter("tributary_mqtt_connections_lost_total", "Connections to the broker that were lost.", labels,
                 v(c.connection_lost));
  scrape.counter("tributary_mqtt_broker_disconnects_total",
                 "Connections the broker closed with an MQTT 5 DISCONNECT (the reason code is logged).", labels,
                 v(c.broker_disconnects));
  scrape.counter("tributary_mqtt_subscriptions_refused_total", "Topic filters the broker refused.", labels,
                 v(c.subscribe_refused));
  for (std::size_t i = 0; i < settings_.subscriptions.size(); ++i) {
    metrics::route_accepted(scrape, name_, settings_.subscriptions[i].filter, v(route_accepted_[i]));
  }
}

MqttIntake::~MqttIntake() { stop(); }

Status MqttIntake::start() {
  std::error_code ec;
  std::filesystem::create_directories(persist_dir_, ec);
  if (ec) {
    return Status(StatusCode::kFailedPrecondition,
                  "source '" + name_ + "': cannot create " + persist_dir_ + ": " + ec.message());
  }
  try {
    for (int i = 0; i < settings_.clients; ++i) {
      const std::string id = settings_.clients == 1 ? settings_.client_id
                                                     : settings_.client_id + "-" + std::to_string(i + 1);
      clients_.push_back(std::make_unique<Client>(*this, id, persist_dir_));
    }
  } catch (const ::mqtt::exception& e) {
    clients_.clear();
    return Status(StatusCode::kFailedPrecondition,
                  "source '" + name_ + "': cannot create an MQTT client for " + settings_.broker + ": " + e.what());
  }
  started_ = true;
  log::info("mqtt bridge starting")
      .kv("source", name_)
      .kv("broker", settings_.broker)
      .kv("clients", clients_.size())
      .kv("protocol", settings_.protocol)
      .kv("share_group", settings_.share_group);
  for (auto& c : clients_) c->start();
  return Status::ok();
}

void MqttIntake::stop() {
  if (!started_ || stopping_.exchange(true)) return;
  // Disconnect every client first: a callback waiting for room in a full ring returns only
  // once its client is disconnected (so its acknowledgement cannot reach the broker), and
  // Paho's one receive thread serves all clients.
  std::vector<::mqtt::token_ptr> disconnects;
  for (auto& c : clients_) disconnects.push_back(c->begin_disconnect());
  for (auto& c : clients_) c->stop();
  for (auto& t : disconnects) {
    try {
      if (t) t->wait_for(kDisconnectTimeout);
    } catch (const ::mqtt::exception&) {
    }
  }
  for (auto& c : clients_) {  // a reconnect that raced the stop
    if (auto t = c->begin_disconnect()) {
      try {
        t->wait_for(kDisconnectTimeout);
      } catch (const ::mqtt::exception&) {
      }
    }
  }
  // No callback may outlive the clients it uses.
  while (active_callbacks_.load() > 0) std::this_thread::sleep_for(10ms);
  const MqttCounters& c = counters_;
  log::info("mqtt source stopped")
      .kv("source", name_)
      .kv("received", c.received.load())
      .kv("accepted", c.accepted.load())
      .kv("skipped_retained", c.skipped_retained.load())
      .kv("dropped_busy", c.dropped_busy.load())
      .kv("waited_busy", c.waited_busy.load())
      .kv("dropped_malformed", c.dropped_malformed.load())
      .kv("dead_lettered", c.dead_lettered.load())
      .kv("dropped_rejected", c.dropped_rejected.load())
      .kv("connects", c.connects.load())
      .kv("connect_failed", c.connect_failed.load())
      .kv("auth_failed", c.auth_failed.load())
      .kv("connection_lost", c.connection_lost.load())
      .kv("broker_disconnects", c.broker_disconnects.load())
      .kv("subscribe_refused", c.subscribe_refused.load());
}

bool MqttIntake::subscribed() const {
  return !clients_.empty() &&
         std::all_of(clients_.begin(), clients_.end(), [](const auto& c) { return c->subscribed(); });
}

const config::MqttSubscriptionConfig* MqttIntake::match(const std::vector<config::MqttSubscriptionConfig>& subs,
                                                       std::string_view topic,
                                                       std::vector<std::string_view>* levels) {
  const std::vector<std::string_view> parts = split_levels(topic);
  for (const config::MqttSubscriptionConfig& sub : subs) {
    const std::vector<std::string_view> filter = split_levels(sub.mqtt_filter);
    bool ok = true;
    std::size_t i = 0;
    for (; i < filter.size() && ok; ++i) {
      if (filter[i] == "#") break;  // the rest, even nothing ("a/#" matches "a")
      ok = i < parts.size() && (filter[i] == "+" || filter[i] == parts[i]);
    }
    if (!ok || (i == filter.size() && parts.size() != filter.size())) continue;
    levels->assign(parts.begin(), parts.begin() + static_cast<std::ptrdiff_t>(std::min(parts.size(), filter.size())));
    return &sub;
  }
  return nullptr;
}

void MqttIntake::on_message(Client& client, const ::mqtt::message& m) {
  counters_.received.fetch_add(1, std::memory_order_relaxed);
  counters_.received_bytes.fetch_add(m.get_payload_ref().size(), std::memory_order_relaxed);
  if (m.is_retained() && !settings_.forward_retained) {
    counters_.skipped_retained.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::string& topic = m.get_topic();
  const std::string_view payload(m.get_payload_ref().data(), m.get_payload_ref().size());
  const int qos = m.get_qos();
  std::vector<std::string_view> values;
  const auto mappings = mappings_.load();  // a reload applies from the next message on
  const config::MqttSubscriptionConfig* sub = match(*mappings, topic, &values);
  std::string why;
  Datagram parsed;
  std::string kafka_topic;
  std::optional<std::string> key;
  Origin origin;
  origin.transport = "mqtt";
  origin.source = name_;
  if (sub == nullptr) {
    why = "no subscription matches topic '" + topic + "'";
  } else {
    origin.route = sub->filter;
    if (payload.size() > settings_.max_message) {
      why = "message of " + std::to_string(payload.size()) + " bytes is larger than max_message (" +
            std::to_string(settings_.max_message) + ")";
    } else if (settings_.format == "json" && !parse_datagram(Format::kJson, payload, &parsed, &why, true)) {
      // why says it
    } else {
      const HeaderLookup fields = [&](std::string_view name) -> std::string {
        if (name == "mqtt_topic") return topic;
        if (name.starts_with("json:")) return parsed.docs.empty() ? std::string() : json_variable(parsed.docs[0], name);
        for (std::size_t i = 0; i < sub->levels.size() && i < values.size(); ++i) {
          if (sub->levels[i] == name) return std::string(values[i]);
        }
        return std::string();
      };
      kafka_topic = render_key(sub->topic, stamper_.node_id(), origin, nullptr, &fields).value_or("");
      std::string bad;
      if (!config::is_valid_topic(kafka_topic, &bad)) {
        why = "topic '" + topic + "' maps to '" + kafka_topic + "', not a valid Kafka topic: " + bad;
      }
      key = render_key(sub->key, stamper_.node_id(), origin, nullptr, &fields);
    }
  }
  const bool malformed = !why.empty();
  if (malformed && settings_.dead_letter_topic.empty()) {
    counters_.dropped_malformed.fetch_add(1, std::memory_order_relaxed);
    log::limited(log::Level::kWarn, "mqtt message dropped: malformed").kv("source", name_).kv("reason", why);
    return;  // acknowledged: a malformed message never stops the bridge
  }

  // Headers: the common stamp, then what MQTT says about the message.
  std::string content_type;
  std::string traceparent;
  const ::mqtt::properties& props = m.get_properties();
  if (props.contains(::mqtt::property::CONTENT_TYPE)) {
    content_type = ::mqtt::get<std::string>(props, ::mqtt::property::CONTENT_TYPE);
  }
  std::vector<std::pair<std::string, std::string>> user;
  for (std::size_t i = 0; i < props.count(::mqtt::property::USER_PROPERTY); ++i) {
    auto pair = ::mqtt::get<::mqtt::string_pair>(props, ::mqtt::property::USER_PROPERTY, i);
    if (std::get<0>(pair) == "traceparent") traceparent = std::get<1>(pair);
    user.emplace_back(std::move(std::get<0>(pair)), std::move(std::get<1>(pair)));
  }
  if (content_type.empty() && settings_.format == "json" && !malformed) content_type = "application/json";
  const auto now = std::chrono::system_clock::now();
  EnvelopeWriter& w = client.writer();
  w.add_header("mqtt_topic", topic);
  const char qos_text[2] = {static_cast<char>('0' + qos), '\0'};
  w.add_header("mqtt_qos", qos_text);
  w.add_header("mqtt_retained", m.is_retained() ? "true" : "false");
  for (const auto& [name, value] : user) {
    if (!is_stamped_header_name(name)) {
      w.add_header(name, value);
    } else if (name != "traceparent") {
      log::limited(log::Level::kWarn, "mqtt user property not copied: Tributary sets that header")
          .kv("source", name_)
          .kv("property", name);
    }
  }
  if (malformed) {
    w.add_header("tributary_dlq_reason", why);
    w.add_header("tributary_dlq_topic", topic);
  }
  std::optional<std::string_view> key_view;
  if (key && !malformed) key_view = *key;
  std::array<char, 55> trace;
  const EnvelopeStamp stamp{stamper_.node_id(), content_type, Stamper::traceparent(traceparent, trace)};
  const std::string_view envelope =
      w.finish({}, malformed ? settings_.dead_letter_topic : kafka_topic, key_view, payload, now, origin, &stamp);
  const auto time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  if (store(client, envelope, time_ms, qos)) {
    (malformed ? counters_.dead_lettered : counters_.accepted).fetch_add(1, std::memory_order_relaxed);
    if (!malformed) {
      counters_.accepted_bytes.fetch_add(payload.size(), std::memory_order_relaxed);
      route_accepted_[static_cast<std::size_t>(sub - mappings->data())].fetch_add(
          1, std::memory_order_relaxed);
    }
  }
}

bool MqttIntake::store(Client& client, std::string_view envelope, std::int64_t time_ms, int qos) {
  bool waited = false;
  auto pause = 5ms;
  while (true) {
    const std::string_view one[1] = {envelope};
    if (qos == 0) {  // no acknowledgement to hold back: nobody waits for the ring
      const Offer offer = sink_.offer_encoded(time_ms, one, [](const Status&, const Delivery&) {}, Waiting::kNo);
      if (offer == Offer::kAccepted) return true;
      if (offer == Offer::kRejected) {
        counters_.dropped_rejected.fetch_add(1, std::memory_order_relaxed);
      } else {
        counters_.dropped_busy.fetch_add(1, std::memory_order_relaxed);
      }
      return false;
    }
    // Not a std::promise: its set_value makes a futex system call every time (call_once),
    // one per message on Paho's receive thread. The ring usually completes the append before
    // offer_encoded returns, and then nothing here sleeps or wakes anyone.
    auto stored = std::make_shared<StoreResult>();
    const Offer offer = sink_.offer_encoded(time_ms, one, [stored](const Status& status, const Delivery&) {
      {
        std::lock_guard lock(stored->mu);
        stored->status = status;
      }
      stored->ready.notify_one();
    }, Waiting::kYes);
    if (offer == Offer::kAccepted) {
      // Returning from Paho's callback sends the PUBACK/PUBCOMP: only once the ring has it.
      std::unique_lock lock(stored->mu);
      while (!stored->ready.wait_for(lock, 50ms, [&] { return stored->status.has_value(); })) {
        if (stopping_ && !client.connected()) {
          // The ring has not confirmed it (a stalled disk) and we are stopping: the session
          // is closed, so returning sends no acknowledgement; the broker keeps the message.
          log::warn("mqtt message left with the broker at shutdown (not confirmed by the ring)")
              .kv("source", name_);
          return false;
        }
      }
      const Status status = *stored->status;
      lock.unlock();
      if (status.is_ok()) return true;
      log::limited(log::Level::kWarn, "mqtt message not stored, retrying").kv("source", name_).kv("error", status.message());
    } else if (offer == Offer::kRejected) {
      counters_.dropped_rejected.fetch_add(1, std::memory_order_relaxed);
      return false;
    } else if (!waited) {
      waited = true;
      counters_.waited_busy.fetch_add(1, std::memory_order_relaxed);
    }
    if (stopping_) {
      // Shutting down with the ring full: do not return (that would acknowledge) while the
      // client is connected; stop() disconnects it, and the broker keeps the message.
      while (client.connected()) std::this_thread::sleep_for(10ms);
      log::warn("mqtt message left with the broker at shutdown (the ring is full)").kv("source", name_);
      return false;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(200));
  }
}

}  // namespace tributary::transports::mqtt
