#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "config/config.h"
#include "config/section_reader.h"

namespace tributary::config {
namespace {

std::string host_name() {
  std::array<char, 256> buf{};
  if (gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return "tributary";
  return buf.data();
}

std::optional<std::string> read_secret(SectionReader& r, const std::string& file_key, const std::string& env_key);

void read_kafka_security(SectionReader& r, KafkaConfig& k) {
  const std::string protocol = r.choice("protocol");
  const bool sasl = protocol.starts_with("sasl_");
  const bool tls = protocol == "ssl" || protocol == "sasl_ssl";
  k.security.emplace_back("security.protocol", protocol);
  const std::string mechanism = r.choice("sasl_mechanism");
  const std::string username = r.string("username");
  const std::optional<std::string> password = read_secret(r, "password_file", "password_env");
  if (sasl) {
    k.security.emplace_back("sasl.mechanisms", mechanism);
    if (username.empty()) r.error("username", "protocol " + protocol + " needs a username");
    if (password && password->empty()) {
      r.error(r.has("password_file") ? "password_file" : r.has("password_env") ? "password_env" : "protocol",
              r.has("password_file") || r.has("password_env")
                  ? "the password is empty"
                  : "protocol " + protocol + " needs password_file or password_env");
    }
    k.security.emplace_back("sasl.username", username);
    k.security.emplace_back("sasl.password", password.value_or(""));
  } else {
    for (const std::string_view key : {"sasl_mechanism", "username", "password_file", "password_env"}) {
      if (r.has(key)) r.error(key, "applies only with protocol sasl_plaintext or sasl_ssl");
    }
  }
  const std::string ca = r.string("ca_file");
  const std::string cert = r.string("cert_file");
  const std::string key = r.string("key_file");
  const std::optional<std::string> key_password = read_secret(r, "key_password_file", "key_password_env");
  const bool verify = r.boolean("verify_hostname");
  if (tls) {
    if (!ca.empty()) k.security.emplace_back("ssl.ca.location", ca);
    if (!cert.empty()) k.security.emplace_back("ssl.certificate.location", cert);
    if (!key.empty()) k.security.emplace_back("ssl.key.location", key);
    if (key_password && !key_password->empty()) k.security.emplace_back("ssl.key.password", *key_password);
    k.security.emplace_back("ssl.endpoint.identification.algorithm", verify ? "https" : "none");
    if (cert.empty() != key.empty()) {
      r.error(cert.empty() ? "cert_file" : "key_file", "cert_file and key_file go together");
    }
  } else {
    for (const std::string_view key_name : {"ca_file", "cert_file", "key_file", "key_password_file",
                                            "key_password_env", "verify_hostname"}) {
      if (r.has(key_name)) r.error(key_name, "applies only with protocol ssl or sasl_ssl");
    }
  }
}

void read_kafka(SectionReader& r, KafkaConfig& k, Diagnostics& diag) {
  k.brokers = r.string("brokers");
  if (r.has("brokers") && k.brokers.empty()) r.error("brokers", "must not be empty");
  k.client_id = r.string("client_id");
  k.compression = r.choice("compression");
  k.linger = r.duration("linger");
  k.batch_size = r.size("batch_size");
  k.delivery_timeout = r.duration("delivery_timeout");
  k.drain_timeout = r.duration("drain_timeout");
  k.unknown_topic_timeout = r.duration("unknown_topic_timeout");
  k.retry_backoff = r.duration("retry_backoff");
  k.dead_letter_topic = r.topic("dead_letter_topic");
  k.max_drain_rate = r.size("max_drain_rate");
  if (k.linger >= k.delivery_timeout && k.delivery_timeout.count() > 0) {
    r.error("linger", "must be shorter than delivery_timeout (" +
                          std::to_string(k.delivery_timeout.count()) + " ms)");
  }
  {
    const YAML::Node node = r.has("security") ? r.section("security") : YAML::Node(YAML::NodeType::Map);
    SectionReader sr(node, kafka_security_options(), r.path_of("security"), diag, r.mark());
    if (sr.is_map()) read_kafka_security(sr, k);
  }
  k.properties = r.string_map("properties");
  // Each property is also set on a scratch librdkafka configuration, so that a misspelt
  // name or a value librdkafka refuses is reported here, with its place in the file, and
  // not only when the producer starts.
  rd_kafka_conf_t* scratch = rd_kafka_conf_new();
  for (const auto& [key, value] : k.properties) {
    std::string why;
    if (key == "max.in.flight" || key == "max.in.flight.requests.per.connection") {
      // The idempotent producer keeps order per partition with at most 5 requests in flight.
      if (value.empty() || value.size() > 1 || value[0] < '1' || value[0] > '5') {
        why = "must be 1 to 5: more requests in flight would break the order per key (delivery contract)";
      }
    } else if (!is_reserved_kafka_property(key, &why)) {
      std::array<char, 512> err{};
      if (rd_kafka_conf_set(scratch, key.c_str(), value.c_str(), err.data(), err.size()) != RD_KAFKA_CONF_OK) {
        why = "librdkafka refuses it: " + std::string(err.data());
      }
    }
    if (!why.empty()) {
      const YAML::Node props = r.section("properties");
      diag.add(mark_of(props[key]), r.path_of("properties") + "." + key, why);
    }
  }
  rd_kafka_conf_destroy(scratch);
}

void read_buffer(SectionReader& r, BufferConfig& b) {
  b.dir = r.string("dir");
  if (b.dir.empty()) r.error("dir", "must not be empty");
  b.max_size = r.size("max_size");
  b.segment_size = r.size("segment_size");
  if (b.segment_size > 0 && b.max_size < 2 * b.segment_size) {
    r.error("max_size", "must be at least twice segment_size (" +
                            std::to_string(b.segment_size) + " bytes): space is reclaimed a "
                            "whole segment at a time");
  }
  b.fsync = r.choice("fsync");
  b.fsync_interval = r.duration("fsync_interval");
  b.when_full = r.choice("when_full");
  b.max_unwritten = r.size("max_unwritten");
  b.stage = r.string("stage");
  b.stage_size = r.size("stage_size");
  if (!b.stage.empty() && b.fsync == "always") {
    r.error("stage", "cannot be used with fsync: always (an event is accepted only once synced)");
  }
  if (b.when_full == "drop_oldest" && b.segment_size > 0 && b.max_size < 4 * b.segment_size) {
    r.error("max_size", "must be at least four times segment_size (" +
                            std::to_string(b.segment_size) + " bytes) with when_full: drop_oldest: "
                            "one segment is being forwarded, one written, and whole older ones "
                            "are dropped");
  }
}

UdpSourceConfig read_udp(SectionReader& r) {
  UdpSourceConfig udp;
  udp.topic = r.topic("topic");
  udp.key = r.key_template("key");
  udp.max_datagram = r.size("max_datagram");
  udp.format = r.choice("format");
  udp.readings = r.choice("readings");
  udp.dedup_window = static_cast<std::uint64_t>(r.integer("dedup_window"));
  udp.max_devices = static_cast<std::uint64_t>(r.integer("max_devices"));
  udp.threads = static_cast<int>(r.integer("threads"));
  udp.batch = static_cast<int>(r.integer("batch"));
  udp.receive_buffer = r.size("receive_buffer");
  udp.gro = r.boolean("gro");
  udp.dead_letter_topic = r.topic("dead_letter_topic");
  const std::string allow = r.string("allow");
  std::string why;
  if (auto networks = parse_networks(allow, &why)) {
    udp.allow = std::move(*networks);
  } else {
    r.error("allow", why);
  }
  for (const auto& part : udp.key.parts()) {
    if (!part.variable) continue;
    if (part.text.starts_with("json:") && udp.format != "json" && udp.format != "ndjson") {
      r.error("key", "{" + part.text + "} needs format: json or ndjson (format is " + udp.format + ")");
    }
    if (part.text == "device_id" && udp.format != "frame") {
      r.error("key", "{device_id} needs format: frame (format is " + udp.format + ")");
    }
  }
  if (udp.format != "frame") {
    for (const std::string_view key : {"readings", "dedup_window", "max_devices"}) {
      if (r.has(key)) r.error(key, "applies only with format: frame (format is " + udp.format + ")");
    }
  }
  return udp;
}

// A tokens file must be readable and hold at least one token (non-blank, not a comment).
bool tokens_file_usable(const std::string& path, std::string* why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *why = "cannot read '" + path + "': " + std::strerror(errno);
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first != std::string::npos && line[first] != '#') return true;
  }
  *why = "'" + path + "' holds no token (one per line; '#' starts a comment)";
  return false;
}

// A comma-separated list of topic names or prefixes ending in '*' (`orders, telemetry.*`).
std::vector<std::string> read_topic_list(SectionReader& r, std::string_view key) {
  std::vector<std::string> topics;
  const std::string list = r.string(key);
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    std::string item = list.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) {
      std::string why;
      const std::string name = item.back() == '*' ? item.substr(0, item.size() - 1) : item;
      if (!name.empty() && !is_valid_topic(name, &why)) r.error(key, "'" + item + "': " + why);
      topics.push_back(item);
    }
    start = comma + 1;
  }
  return topics;
}

// A route's auth (PREFIX ""), or the REST Proxy API's (PREFIX "rest_proxy_"): PREFIXauth,
// PREFIXtokens_file, PREFIXapi_key_header.
void read_auth(SectionReader& r, const std::string& prefix, HttpRouteConfig& route) {
  const std::string auth_key = prefix + "auth";
  const std::string file_key = prefix + "tokens_file";
  const std::string header_key = prefix + "api_key_header";
  const std::string auth = r.choice(auth_key);
  route.auth = auth == "none" ? "" : auth;
  route.tokens_file = r.string(file_key);
  route.api_key_header = r.string(header_key);
  if (route.auth.empty()) {
    for (const std::string& key : {file_key, header_key}) {
      if (r.has(key)) r.error(key, "applies only with " + auth_key + ": bearer or api_key");
    }
  } else if (route.tokens_file.empty()) {
    r.error(auth_key, auth_key + ": " + route.auth + " needs " + file_key);
  } else if (std::string bad; !tokens_file_usable(route.tokens_file, &bad)) {
    r.error(file_key, bad);
  }
  if (route.auth == "bearer" && r.has(header_key)) r.error(header_key, "applies only with " + auth_key + ": api_key");
}

HttpSourceConfig read_http(SectionReader& r, Diagnostics& diag) {
  HttpSourceConfig http;
  http.max_body = r.size("max_body");
  http.max_header = r.size("max_header");
  http.request_timeout = r.duration("request_timeout");
  http.idle_timeout = r.duration("idle_timeout");
  http.max_connections = static_cast<std::size_t>(r.integer("max_connections"));
  http.tls_cert_file = r.string("tls_cert_file");
  http.tls_key_file = r.string("tls_key_file");
  http.tls_client_ca_file = r.string("tls_client_ca_file");
  if (http.tls_cert_file.empty() != http.tls_key_file.empty()) {
    r.error(http.tls_cert_file.empty() ? "tls_cert_file" : "tls_key_file", "tls_cert_file and tls_key_file go together");
  }
  if (!http.tls_client_ca_file.empty() && http.tls_cert_file.empty()) {
    r.error("tls_client_ca_file", "client certificates need TLS: set tls_cert_file and tls_key_file");
  }
  for (const std::string_view key : {"tls_cert_file", "tls_key_file", "tls_client_ca_file"}) {
    const std::string path = r.string(key);
    if (!path.empty() && ::access(path.c_str(), R_OK) != 0) {
      r.error(key, "cannot read '" + path + "': " + std::strerror(errno));
    }
  }
  http.idempotency_window = r.duration("idempotency_window");
  http.idempotency_max_keys = static_cast<std::size_t>(r.integer("idempotency_max_keys"));
  http.rest_proxy_topics = read_topic_list(r, "rest_proxy_topics");
  {
    // The REST Proxy API is checked like a route named "rest-proxy".
    HttpRouteConfig& rest = http.rest_proxy;
    rest.name = "rest-proxy";
    read_auth(r, "rest_proxy_", rest);
    if (!rest.auth.empty() && http.rest_proxy_topics.empty()) {
      r.error("rest_proxy_auth", "applies only with rest_proxy_topics");
    }
  }
  std::map<std::string, Mark> names;
  const std::vector<YAML::Node> routes = r.list("routes");
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const std::string path = r.path_of("routes") + "[" + std::to_string(i) + "]";
    SectionReader rr(routes[i], http_route_options(), path, diag, r.mark());
    if (!rr.is_map()) continue;
    HttpRouteConfig route;
    route.name = rr.string("name");
    std::string why;
    if (rr.has("name") && !is_valid_name(route.name, &why)) rr.error("name", why);
    if (!route.name.empty() && !names.emplace(route.name, rr.mark()).second) {
      rr.error("name", "route '" + route.name + "' is defined twice in this source");
    }
    route.topic = rr.topic("topic");
    route.path_topics = read_topic_list(rr, "path_topics");
    if (!rr.has("topic") && route.path_topics.empty()) {
      rr.error("topic", "a route needs a topic, or path_topics to take it from the path");
    }
    route.key = rr.key_template("key");
    read_auth(rr, "", route);
    const std::string signature = rr.choice("signature");
    route.signature = signature == "none" ? "" : signature;
    route.id_header = rr.string("id_header");
    if (route.signature == "github") {
      route.signature_header = "X-Hub-Signature-256";
      route.signature_prefix = "sha256=";
      if (route.id_header.empty()) route.id_header = "X-GitHub-Delivery";
      for (const std::string_view key : {"signature_header", "signature_prefix", "signature_encoding"}) {
        if (rr.has(key)) rr.error(key, "is fixed by signature: github");
      }
    } else if (route.signature == "hmac-sha256") {
      route.signature_header = rr.string("signature_header");
      route.signature_prefix = rr.string("signature_prefix");
      route.signature_base64 = rr.choice("signature_encoding") == "base64";
      if (route.signature_header.empty()) rr.error("signature", "hmac-sha256 needs signature_header");
    } else {
      for (const std::string_view key : {"signature_header", "signature_prefix", "signature_encoding",
                                         "secret_file", "secret_env"}) {
        if (rr.has(key)) rr.error(key, "applies only with a signature (github or hmac-sha256)");
      }
    }
    if (!route.signature.empty()) {
      if (auto secret = read_secret(rr, "secret_file", "secret_env")) {
        route.secret = *secret;
        if (route.secret.empty() && !rr.has("secret_file") && !rr.has("secret_env")) {
          rr.error("signature", "a signed route needs secret_file or secret_env");
        } else if (route.secret.empty()) {
          rr.error(rr.has("secret_file") ? "secret_file" : "secret_env", "the secret is empty");
        }
      }
    }
    http.routes.push_back(std::move(route));
  }
  // Tokens on the routes but none on the REST Proxy API would make it the way around them.
  const bool routes_need_tokens = std::any_of(http.routes.begin(), http.routes.end(),
                                              [](const HttpRouteConfig& route) { return !route.auth.empty(); });
  if (routes_need_tokens && !http.rest_proxy_topics.empty() && http.rest_proxy.auth.empty() &&
      http.tls_client_ca_file.empty()) {
    r.error("rest_proxy_topics", "routes of this source require tokens: set rest_proxy_auth (or "
                                 "tls_client_ca_file), or the REST Proxy API lets anyone in");
  }
  return http;
}

// "sensors/{site}/+/#" -> the filter to subscribe and the level names; false with *why.
bool parse_filter(const std::string& text, MqttSubscriptionConfig* sub, std::string* why) {
  if (text.empty()) {
    *why = "the filter is empty";
    return false;
  }
  std::vector<std::string> levels;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = text.find('/', start);
    levels.push_back(text.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  std::string mqtt;
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const std::string& level = levels[i];
    std::string name;
    std::string subscribed = level;
    if (level.size() >= 2 && level.front() == '{' && level.back() == '}') {
      name = level.substr(1, level.size() - 2);
      const bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
      });
      if (!valid) {
        *why = "level '" + level + "' must be {NAME} with letters, digits and '_'";
        return false;
      }
      if (name == "mqtt_topic" || name == "source" || name == "node_id" ||
          std::find(sub->levels.begin(), sub->levels.end(), name) != sub->levels.end()) {
        *why = "level name '" + name + "' is used twice or is reserved";
        return false;
      }
      subscribed = "+";
    } else if (level == "#") {
      if (i + 1 != levels.size()) {
        *why = "'#' must be the last level";
        return false;
      }
    } else if (level.find_first_of("+#{}") != std::string::npos && level != "+") {
      *why = "level '" + level + "' mixes text with a wildcard or a brace";
      return false;
    }
    if (i == 0 && level.starts_with("$share")) {
      *why = "write the share group as share_group, not in the filter";
      return false;
    }
    sub->levels.push_back(name);
    mqtt += (i == 0 ? "" : "/") + subscribed;
  }
  sub->mqtt_filter = mqtt;
  return true;
}

// A secret from FILE_KEY (a file, trailing newline dropped) or ENV_KEY (an environment
// variable); "" when neither is set; nullopt (reported) when it cannot be read.
std::optional<std::string> read_secret(SectionReader& r, const std::string& file_key, const std::string& env_key) {
  if (r.has(file_key) && r.has(env_key)) {
    r.error(env_key, "set " + file_key + " or " + env_key + ", not both");
    return std::nullopt;
  }
  if (r.has(file_key)) {
    const std::string path = r.string(file_key);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      r.error(file_key, "cannot read '" + path + "': " + std::strerror(errno));
      return std::nullopt;
    }
    std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    return secret;
  }
  if (r.has(env_key)) {
    const std::string name = r.string(env_key);
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) {
      r.error(env_key, "environment variable '" + name + "' is not set");
      return std::nullopt;
    }
    return std::string(value);
  }
  return std::string();
}

MqttSourceConfig read_mqtt(SectionReader& r, const std::string& source, const std::string& node_id,
                           Diagnostics& diag) {
  MqttSourceConfig m;
  m.broker = r.string("broker");
  for (const auto& [scheme, tls] : {std::pair<std::string_view, bool>{"tcp://", false},
                                    {"mqtt://", false}, {"ssl://", true}, {"mqtts://", true}}) {
    if (m.broker.starts_with(scheme)) {
      m.tls = tls;
      const std::string rest = m.broker.substr(scheme.size());
      m.broker = (tls ? "ssl://" : "tcp://") + rest;
      const auto colon = rest.rfind(':');
      const std::string port = colon == std::string::npos ? "" : rest.substr(colon + 1);
      const bool port_ok = !port.empty() && port.size() <= 5 &&
                           std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                           std::stoi(port) > 0 && std::stoi(port) < 65536;
      if (colon == std::string::npos || colon == 0 || !port_ok) {
        r.error("broker", "expected " + std::string(scheme) + "host:port, got '" + r.string("broker") + "'");
      }
      break;
    }
  }
  if (r.has("broker") && !m.broker.starts_with("tcp://") && !m.broker.starts_with("ssl://")) {
    r.error("broker", "expected tcp://, ssl://, mqtt:// or mqtts:// and host:port, got '" + m.broker + "'");
  }
  m.protocol = r.choice("protocol");
  m.client_id = r.has("client_id") ? r.string("client_id") : "tributary-" + node_id + "-" + source;
  m.clients = static_cast<int>(r.integer("clients"));
  m.share_group = r.string("share_group");
  if (m.share_group.empty() && m.clients > 1) m.share_group = m.client_id;
  if (!m.share_group.empty() && m.share_group.find_first_of("/+#") != std::string::npos) {
    r.error("share_group", "must not contain '/', '+' or '#'");
  }
  if (!m.share_group.empty() && m.protocol != "5") {
    r.error(r.has("share_group") ? "share_group" : "clients",
            "shared subscriptions (share_group, or clients > 1) need protocol: 5");
  }
  m.username = r.string("username");
  if (auto secret = read_secret(r, "password_file", "password_env")) m.password = *secret;
  m.ca_file = r.string("ca_file");
  m.cert_file = r.string("cert_file");
  m.key_file = r.string("key_file");
  m.verify_hostname = r.boolean("verify_hostname");
  if (!m.tls) {
    for (const std::string_view key : {"ca_file", "cert_file", "key_file"}) {
      if (r.has(key)) r.error(key, "applies only to an ssl:// broker");
    }
  }
  if (r.has("cert_file") != r.has("key_file")) {
    r.error(r.has("cert_file") ? "key_file" : "cert_file", "cert_file and key_file go together");
  }
  m.keep_alive = r.duration("keep_alive");
  m.session_expiry = r.duration("session_expiry");
  m.reconnect_min = r.duration("reconnect_min");
  m.reconnect_max = r.duration("reconnect_max");
  if (m.reconnect_max < m.reconnect_min) r.error("reconnect_max", "must not be shorter than reconnect_min");
  m.format = r.choice("format");
  m.max_message = r.size("max_message");
  m.forward_retained = r.boolean("forward_retained");
  m.dead_letter_topic = r.topic("dead_letter_topic");
  const std::vector<YAML::Node> subs = r.list("subscriptions");
  for (std::size_t i = 0; i < subs.size(); ++i) {
    const std::string path = r.path_of("subscriptions") + "[" + std::to_string(i) + "]";
    SectionReader sr(subs[i], mqtt_subscription_options(), path, diag, r.mark());
    if (!sr.is_map()) continue;
    MqttSubscriptionConfig sub;
    sub.filter = sr.string("filter");
    std::string why;
    if (sr.has("filter") && !parse_filter(sub.filter, &sub, &why)) sr.error("filter", why);
    sub.qos = std::stoi(sr.choice("qos"));
    std::vector<std::string_view> vars = {"source", "node_id"};
    for (const std::string& level : sub.levels) {
      if (!level.empty()) vars.push_back(level);
    }
    const std::string topic_text = sr.string("topic");
    if (auto t = KeyTemplate::parse(topic_text, vars, &why)) {
      sub.topic = std::move(*t);
      for (const auto& part : sub.topic.parts()) {
        std::string bad;
        if (!part.variable && !part.text.empty() && !is_valid_topic(part.text, &bad)) {
          sr.error("topic", "'" + part.text + "' cannot be part of a Kafka topic: " + bad);
        }
      }
    } else if (sr.has("topic")) {
      sr.error("topic", why);
    }
    vars.push_back("mqtt_topic");
    if (m.format == "json") vars.push_back("json:");
    if (auto k = KeyTemplate::parse(sr.string("key"), vars, &why)) {
      sub.key = std::move(*k);
    } else {
      sr.error("key", why);
    }
    m.subscriptions.push_back(std::move(sub));
  }
  return m;
}

// Keys that are common to every source are read against the common table plus the
// table of the source's own type, so an unknown key is reported once, with every valid key.
std::vector<OptionDef> source_table(std::string_view type) {
  std::vector<OptionDef> table(source_common_options().begin(), source_common_options().end());
  const auto own = type == "udp"    ? udp_source_options()
                   : type == "http" ? http_source_options()
                                    : mqtt_source_options();
  table.insert(table.end(), own.begin(), own.end());
  return table;
}

// For a source whose type is missing or unknown: the keys of every type, so only the type
// is reported, not each key that would have been right for the intended one.
std::vector<OptionDef> any_source_table() {
  std::vector<OptionDef> table(source_common_options().begin(), source_common_options().end());
  for (const auto own : {udp_source_options(), http_source_options(), mqtt_source_options()}) {
    for (const OptionDef& d : own) {
      const bool seen = std::any_of(table.begin(), table.end(), [&](const OptionDef& t) { return t.key == d.key; });
      if (!seen) {
        table.push_back(d);
        table.back().required = false;
      }
    }
  }
  return table;
}

void read_sources(SectionReader& top, AppConfig& cfg, Diagnostics& diag) {
  std::map<std::string, std::string> names;      // name -> path
  std::map<std::string, std::string> addresses;  // type/host:port -> path
  const std::vector<YAML::Node> entries = top.list("sources");
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string path = "sources[" + std::to_string(i) + "]";
    const YAML::Node type_node = entries[i].IsMap() ? entries[i]["type"] : YAML::Node();
    std::string type = type_node && type_node.IsScalar() ? type_node.Scalar() : "";
    if (type != "udp" && type != "http" && type != "mqtt") type = "";  // reported by the common table below
    const std::vector<OptionDef> table = type.empty() ? any_source_table() : source_table(type);
    SectionReader r(entries[i], table, path, diag, top.mark());
    if (!r.is_map()) continue;
    SourceConfig src;
    src.name = r.string("name");
    src.type = r.choice("type");
    if (type == "udp" || type == "http") src.listen = r.host_port("listen");
    std::string why;
    if (r.has("name") && !is_valid_name(src.name, &why)) r.error("name", why);
    if (!src.name.empty()) {
      auto [it, fresh] = names.emplace(src.name, path);
      if (!fresh) r.error("name", "source name '" + src.name + "' is already used by " + it->second);
    }
    if (type.empty()) continue;
    if (src.listen.port != 0) {
      auto [it, fresh] = addresses.emplace(type + "/" + src.listen.text(), path);
      if (!fresh) {
        r.error("listen", type + " address " + src.listen.text() + " is already used by " +
                              it->second);
      }
    }
    if (type == "udp") {
      src.settings = read_udp(r);
    } else if (type == "http") {
      src.settings = read_http(r, diag);
    } else {
      src.settings = read_mqtt(r, src.name, cfg.node_id, diag);
    }
    cfg.sources.push_back(std::move(src));
  }
}

}  // namespace

bool is_reserved_kafka_property(std::string_view key, std::string* reason) {
  struct Reserved {
    std::string_view key;
    std::string_view why;
  };
  static constexpr std::array<Reserved, 20> kReserved = {{
      {"security.protocol", "set kafka.security.protocol instead"},
      {"sasl.mechanisms", "set kafka.security.sasl_mechanism instead"},
      {"sasl.mechanism", "set kafka.security.sasl_mechanism instead"},
      {"sasl.username", "set kafka.security.username instead"},
      {"sasl.password", "set kafka.security.password_file or password_env instead (no secrets in the config)"},
      {"bootstrap.servers", "set kafka.brokers instead"},
      {"metadata.broker.list", "set kafka.brokers instead"},
      {"client.id", "set kafka.client_id instead"},
      {"compression.type", "set kafka.compression instead"},
      {"compression.codec", "set kafka.compression instead"},
      {"acks", "Tributary always produces with acks=all (delivery contract)"},
      {"request.required.acks", "Tributary always produces with acks=all (delivery contract)"},
      {"enable.idempotence", "idempotence is always on (delivery contract)"},
      {"message.timeout.ms", "set kafka.delivery_timeout instead"},
      {"delivery.timeout.ms", "set kafka.delivery_timeout instead"},
      {"linger.ms", "set kafka.linger instead"},
      {"queue.buffering.max.ms", "set kafka.linger instead"},
      {"batch.size", "set kafka.batch_size instead"},
      {"delivery.report.only.error",
       "Tributary needs every delivery report: only they acknowledge records in the ring"},
      {"partitioner",
       "keys are partitioned like the Java client (murmur2), so they land where Java "
       "producers put them"},
  }};
  for (const Reserved& r : kReserved) {
    if (r.key == key) {
      *reason = "librdkafka property '" + std::string(key) + "' is managed by Tributary: " +
                std::string(r.why);
      return true;
    }
  }
  return false;
}

LoadResult load_config_text(const std::string& text, const std::string& file) {
  LoadResult result{std::nullopt, Diagnostics(file)};
  Diagnostics& diag = result.diagnostics;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    diag.add(Mark{e.mark.line + 1, e.mark.column + 1}, "", "YAML syntax error: " + e.msg);
    return result;
  }
  if (!root || root.IsNull()) {
    diag.add(Mark{1, 1}, "", "the file is empty; it needs at least `kafka:` and `sources:`");
    return result;
  }
  AppConfig cfg;
  cfg.file = file;
  SectionReader top(root, top_level_options(), "", diag, Mark{1, 1});
  if (!top.is_map()) return result;
  cfg.node_id = top.has("node_id") ? top.string("node_id") : host_name();
  std::string why;
  if (top.has("node_id") && !is_valid_name(cfg.node_id, &why)) top.error("node_id", why);
  {
    const YAML::Node node = top.has("logging") ? top.section("logging") : YAML::Node(YAML::NodeType::Map);
    SectionReader lr(node, logging_options(), "logging", diag, top.mark());
    if (lr.is_map()) {
      cfg.logging.level = lr.choice("level");
      cfg.logging.format = lr.choice("format");
      cfg.logging.per_event_limit = static_cast<int>(lr.integer("per_event_limit"));
    }
  }
  {
    const YAML::Node node = top.has("metrics") ? top.section("metrics") : YAML::Node(YAML::NodeType::Map);
    SectionReader mr(node, metrics_options(), "metrics", diag, top.mark());
    if (mr.is_map() && mr.has("listen") && !mr.string("listen").empty()) {
      std::string bad;
      if (auto hp = parse_host_port(mr.string("listen"), &bad)) {
        cfg.metrics.listen = *hp;
      } else {
        mr.error("listen", bad);
      }
    }
  }
  cfg.io_threads = static_cast<int>(top.integer("io_threads"));
  {
    // An absent `buffer:` means every default; read through the table all the same.
    const YAML::Node node = top.has("buffer") ? top.section("buffer") : YAML::Node(YAML::NodeType::Map);
    SectionReader br(node, buffer_options(), "buffer", diag, top.mark());
    if (br.is_map()) read_buffer(br, cfg.buffer);
  }
  if (top.has("kafka")) {
    SectionReader kr(top.section("kafka"), kafka_options(), "kafka", diag, top.mark());
    if (kr.is_map()) read_kafka(kr, cfg.kafka, diag);
  }
  read_sources(top, cfg, diag);
  cfg.effective = diag.effective();
  if (diag.empty()) result.config = std::move(cfg);
  return result;
}

LoadResult load_config_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    LoadResult result{std::nullopt, Diagnostics(file)};
    result.diagnostics.add(Mark{}, "", "cannot open the file for reading");
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_config_text(text.str(), file);
}

}  // namespace tributary::config
