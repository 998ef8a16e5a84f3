#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "config/diagnostics.h"
#include "config/key_template.h"
#include "config/values.h"

namespace tributary::config {

// Frozen, validated configuration. Built once by load_config(); read-only afterwards, so
// any thread may read it. Defaults and bounds live in options.cc, not here.

struct KafkaConfig {
  std::string brokers;
  std::string client_id;
  std::string compression;
  std::chrono::milliseconds linger{};
  std::uint64_t batch_size = 0;
  std::chrono::milliseconds delivery_timeout{};
  std::chrono::milliseconds drain_timeout{};
  std::chrono::milliseconds retry_backoff{};
  // How long a topic the cluster says it does not have is retried before its records count
  // as refused for good.
  std::chrono::milliseconds unknown_topic_timeout{60000};
  std::string dead_letter_topic;  // empty: none
  std::uint64_t max_drain_rate = 0;  // bytes per second; 0: no cap
  std::vector<std::pair<std::string, std::string>> properties;  // librdkafka pass-through
  // kafka.security, as librdkafka properties (security.protocol, sasl.*, ssl.*), secrets
  // already read from their files or the environment.
  std::vector<std::pair<std::string, std::string>> security;
};

struct LoggingConfig {
  std::string level = "info";
  std::string format = "keyvalue";  // keyvalue, json
  int per_event_limit = 10;         // lines per second per kind; 0: no limit
};

struct MetricsConfig {
  std::optional<HostPort> listen;  // nullopt: no admin listener
};

struct BufferConfig {
  std::string dir;
  std::uint64_t max_size = 0;
  std::uint64_t segment_size = 0;
  std::string fsync;  // always, interval, never
  std::chrono::milliseconds fsync_interval{};
  std::string when_full;
  std::uint64_t max_unwritten = 0;
  std::string stage;  // empty: no stage
  std::uint64_t stage_size = 0;
};

struct UdpSourceConfig {
  std::string topic;
  KeyTemplate key;
  std::uint64_t max_datagram = 0;
  std::string format = "raw";  // raw, json, ndjson, frame
  std::string readings = "json";  // format frame: json, frame
  std::uint64_t dedup_window = 1024;
  std::uint64_t max_devices = 100000;
  int threads = 1;
  int batch = 64;
  std::uint64_t receive_buffer = 4u << 20;
  bool gro = false;  // accept datagrams the kernel coalesced (UDP_GRO)
  std::vector<Network> allow;  // empty: any sender
  std::string dead_letter_topic;  // empty: malformed datagrams are dropped
};

struct HttpRouteConfig {
  std::string name;
  std::string topic;                     // empty: only topics from the path
  std::vector<std::string> path_topics;  // names or prefixes ending in '*' a path may name
  KeyTemplate key;
  // Webhook signature: "" (none), "github" or "hmac-sha256".
  std::string signature;
  std::string signature_header;  // the header carrying it (github: X-Hub-Signature-256)
  std::string signature_prefix;  // before the digest (github: "sha256=")
  bool signature_base64 = false; // else hex
  std::string secret;            // read from secret_file / secret_env at load
  std::string id_header;         // its value becomes the event id (github: X-GitHub-Delivery)
  std::string auth;              // "" (none), "bearer" or "api_key"
  std::string tokens_file;       // with auth
  std::string api_key_header;    // with auth: api_key
};

struct HttpSourceConfig {
  std::uint64_t max_body = 0;
  std::uint64_t max_header = 0;
  std::chrono::milliseconds request_timeout{};
  std::chrono::milliseconds idle_timeout{60000};  // a keep-alive connection between requests
  std::size_t max_connections = 1024;
  std::string tls_cert_file;       // with tls_key_file: HTTPS
  std::string tls_key_file;
  std::string tls_client_ca_file;  // mutual TLS: client certificates required
  std::chrono::milliseconds idempotency_window{};
  std::size_t idempotency_max_keys = 100000;
  std::vector<HttpRouteConfig> routes;
  std::vector<std::string> rest_proxy_topics;  // names or prefixes ending in '*'; empty: off
  HttpRouteConfig rest_proxy;  // the REST Proxy API as a route: name "rest-proxy", its auth
};

// One MQTT topic filter. FILTER as written ("sensors/{site}/+/#"); MQTT_FILTER as
// subscribed ("sensors/+/+/#"); LEVELS names each level of it ("" when not named).
struct MqttSubscriptionConfig {
  std::string filter;
  std::string mqtt_filter;
  std::vector<std::string> levels;
  int qos = 1;
  KeyTemplate topic;  // Kafka topic template
  KeyTemplate key;
};

struct MqttSourceConfig {
  std::string broker;   // tcp://host:port or ssl://host:port
  bool tls = false;
  std::string protocol;  // "5" or "3.1.1"
  std::string client_id;
  int clients = 1;
  std::string share_group;  // empty: not shared
  std::string username;
  std::string password;  // read from password_file / password_env at load
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  bool verify_hostname = true;
  std::chrono::milliseconds keep_alive{};
  std::chrono::milliseconds session_expiry{};
  std::chrono::milliseconds reconnect_min{};
  std::chrono::milliseconds reconnect_max{};
  std::string format;  // raw, json
  std::uint64_t max_message = 0;
  bool forward_retained = false;
  std::string dead_letter_topic;
  std::vector<MqttSubscriptionConfig> subscriptions;
};

struct SourceConfig {
  std::string name;
  std::string type;  // "udp", "http" or "mqtt"; matches the alternative held by settings
  HostPort listen;   // udp and http
  std::variant<UdpSourceConfig, HttpSourceConfig, MqttSourceConfig> settings;
};

struct AppConfig {
  std::string file;
  std::string node_id;
  LoggingConfig logging;
  MetricsConfig metrics;
  int io_threads = 0;
  BufferConfig buffer;
  KafkaConfig kafka;
  std::vector<SourceConfig> sources;
  // Every option's effective value (tributary check prints them; a reload compares them).
  std::vector<EffectiveValue> effective;
};

// The outcome of loading: a config, or every problem found (never both).
struct LoadResult {
  std::optional<AppConfig> config;
  Diagnostics diagnostics;
};

// Reads and validates FILE. I/O errors and YAML syntax errors are diagnostics too.
LoadResult load_config_file(const std::string& file);

// Same, from text already in memory; `file` is only used to name it in messages.
LoadResult load_config_text(const std::string& text, const std::string& file);

// librdkafka properties that Tributary sets itself or that would break the delivery contract.
bool is_reserved_kafka_property(std::string_view key, std::string* reason);

// The Markdown reference page for every option, generated from the option table.
std::string config_reference_markdown();

}  // namespace tributary::config
