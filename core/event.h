#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tributary {

struct Header {
  std::string name;
  std::string value;
};

// Where an event came in. Filled by the intake; the forwarder sees only this metadata,
// never the transport itself.
struct Origin {
  std::string transport;   // "udp", "http"
  std::string source;      // the source's configured name
  std::string route;       // HTTP route name; empty for UDP
  std::string remote_ip;
  std::uint16_t remote_port = 0;

  // "ip:port", IPv6 in brackets: "[::1]:8080".
  std::string remote_addr() const {
    const bool v6 = remote_ip.find(':') != std::string::npos;
    return (v6 ? "[" + remote_ip + "]" : remote_ip) + ":" + std::to_string(remote_port);
  }
};

// One event on its way from an intake to Kafka. Moved, never copied, along the path.
struct Event {
  std::string topic;
  std::optional<std::string> key;  // nullopt: no key (Kafka null key)
  std::string payload;             // the bytes as the client sent them
  std::string content_type;        // empty when unknown
  std::string traceparent;         // W3C traceparent from the client, empty if none
  Origin origin;
  std::chrono::system_clock::time_point ingest_time;
  // Set by the Stamper: the Kafka headers (ce_*, traceparent, ...).
  std::string id;
  std::vector<Header> headers;
};

}  // namespace tributary
