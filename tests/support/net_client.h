#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tributary::testing {

struct HttpResult {
  int status = 0;  // 0: the request could not be sent or no answer came
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string error;
};

// One HTTP/1.1 request over a real TCP connection (Boost.Beast client), then close.
HttpResult http_request(const std::string& host, std::uint16_t port, const std::string& method,
                        const std::string& target, const std::string& body,
                        const std::vector<std::pair<std::string, std::string>>& headers = {});

// Sends PAYLOADS (all SEGMENT bytes long but the last, which may be shorter) to HOST:PORT as
// one UDP GSO send (UDP_SEGMENT): the kernel may hand them to a receiver that accepts
// coalesced datagrams (UDP_GRO) as one message. False when the kernel refused the send.
bool send_coalesced(const std::string& host, std::uint16_t port, const std::vector<std::string>& payloads);

// Sends one UDP datagram per payload to HOST:PORT from one socket; the sender's port.
std::uint16_t send_datagrams(const std::string& host, std::uint16_t port,
                             const std::vector<std::string>& payloads);

// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
std::uint16_t closed_tcp_port();

// Whether this machine can bind [::1].
bool has_ipv6_loopback();

// The JSON number or string value of FIELD in a flat JSON object ("" when absent).
std::string json_field(const std::string& json, const std::string& field);

}  // namespace tributary::testing
