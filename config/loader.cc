#include <unistd.h>

#include <array>
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

void read_kafka(SectionReader& r, KafkaConfig& k, Diagnostics& diag) {
  k.brokers = r.string("brokers");
  if (r.has("brokers") && k.brokers.empty()) r.error("brokers", "must not be empty");
  k.client_id = r.string("client_id");
  k.compression = r.choice("compression");
  k.linger = r.duration("linger");
  k.batch_size = r.size("batch_size");
  k.delivery_timeout = r.duration("delivery_timeout");
  k.drain_timeout = r.duration("drain_timeout");
  k.retry_backoff = r.duration("retry_backoff");
  k.dead_letter_topic = r.topic("dead_letter_topic");
  k.max_drain_rate = r.size("max_drain_rate");
  if (k.linger >= k.delivery_timeout && k.delivery_timeout.count() > 0) {
    r.error("linger", "must be shorter than delivery_timeout (" +
                          std::to_string(k.delivery_timeout.count()) + " ms)");
  }
  k.properties = r.string_map("properties");
  for (const auto& [key, value] : k.properties) {
    std::string why;
    if (is_reserved_kafka_property(key, &why)) {
      const YAML::Node props = r.section("properties");
      diag.add(mark_of(props[key]), r.path_of("properties") + "." + key, why);
    }
  }
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

HttpSourceConfig read_http(SectionReader& r, Diagnostics& diag) {
  HttpSourceConfig http;
  http.max_body = r.size("max_body");
  http.max_header = r.size("max_header");
  http.request_timeout = r.duration("request_timeout");
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
    route.key = rr.key_template("key");
    http.routes.push_back(std::move(route));
  }
  return http;
}

// Keys that are common to every source are read against the common table plus the
// table of the source's own type, so an unknown key is reported once, with every valid key.
std::vector<OptionDef> source_table(std::string_view type) {
  std::vector<OptionDef> table(source_common_options().begin(), source_common_options().end());
  const auto own = type == "udp" ? udp_source_options() : http_source_options();
  table.insert(table.end(), own.begin(), own.end());
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
    if (type != "udp" && type != "http") type = "";  // reported by the common table below
    const std::vector<OptionDef> table =
        type.empty() ? std::vector<OptionDef>(source_common_options().begin(),
                                              source_common_options().end())
                     : source_table(type);
    SectionReader r(entries[i], table, path, diag, top.mark());
    if (!r.is_map()) continue;
    SourceConfig src;
    src.name = r.string("name");
    src.type = r.choice("type");
    src.listen = r.host_port("listen");
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
    } else {
      src.settings = read_http(r, diag);
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
  static constexpr std::array<Reserved, 15> kReserved = {{
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
  cfg.log_level = top.choice("log_level");
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
