#include "tests/support/net_client.h"

#include <netinet/udp.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>

namespace tributary::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

HttpResult http_request(const std::string& host, std::uint16_t port, const std::string& method,
                        const std::string& target, const std::string& body,
                        const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpResult result;
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  stream.expires_after(std::chrono::seconds(60));
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address(host), port), ec);
  if (ec) {
    result.error = "connect: " + ec.message();
    return result;
  }
  bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
  req.set(bhttp::field::host, host);
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  bhttp::write(stream, req, ec);
  // A server may answer and close before it read the whole body (413): still read the answer.
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  bhttp::read(stream, buffer, parser, ec);
  if (ec && !parser.is_header_done()) {
    result.error = "read: " + ec.message();
    return result;
  }
  const auto& res = parser.get();
  result.status = static_cast<int>(res.result_int());
  result.body = res.body();
  for (const auto& field : res) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    result.headers[name] = std::string(field.value());
  }
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  return result;
}

std::uint16_t send_datagrams(const std::string& host, std::uint16_t port,
                             const std::vector<std::string>& payloads) {
  asio::io_context io;
  const asio::ip::udp::endpoint to(asio::ip::make_address(host), port);
  asio::ip::udp::socket socket(io, to.protocol());
  socket.bind(asio::ip::udp::endpoint(to.protocol(), 0));
  for (const std::string& p : payloads) socket.send_to(asio::buffer(p), to);
  return socket.local_endpoint().port();
}

bool send_coalesced(const std::string& host, std::uint16_t port, const std::vector<std::string>& payloads) {
  if (payloads.empty()) return false;
  asio::io_context io;
  const asio::ip::udp::endpoint to(asio::ip::make_address(host), port);
  asio::ip::udp::socket socket(io, to.protocol());
  const int segment = static_cast<int>(payloads.front().size());
  if (::setsockopt(socket.native_handle(), SOL_UDP, UDP_SEGMENT, &segment, sizeof segment) != 0) return false;
  std::string buffer;
  for (const std::string& p : payloads) buffer += p;
  beast::error_code ec;
  socket.send_to(asio::buffer(buffer), to, 0, ec);
  return !ec;
}

std::uint16_t closed_tcp_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

bool has_ipv6_loopback() {
  asio::io_context io;
  asio::ip::udp::socket socket(io);
  beast::error_code ec;
  socket.open(asio::ip::udp::v6(), ec);
  if (!ec) socket.bind(asio::ip::udp::endpoint(asio::ip::make_address("::1"), 0), ec);
  return !ec;
}

std::string json_field(const std::string& json, const std::string& field) {
  const std::string needle = "\"" + field + "\":";
  auto pos = json.find(needle);
  if (pos == std::string::npos) return "";
  pos += needle.size();
  while (pos < json.size() && json[pos] == ' ') ++pos;
  if (pos < json.size() && json[pos] == '"') {
    const auto end = json.find('"', pos + 1);
    return json.substr(pos + 1, end - pos - 1);
  }
  const auto end = json.find_first_of(",}", pos);
  return json.substr(pos, end - pos);
}

}  // namespace tributary::testing
