#include "core/tcp_listener.h"

namespace tributary {

Status open_tcp_listener(boost::asio::ip::tcp::acceptor& acceptor, const config::HostPort& at,
                         const std::string& what, const std::string& kind) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(at.host, ec);
  if (ec) {
    return Status(StatusCode::kFailedPrecondition,
                  what + ": listen address '" + at.host + "' is not an IP address: " + ec.message());
  }
  const asio::ip::tcp::endpoint endpoint(address, at.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status(StatusCode::kFailedPrecondition,
                  what + ": cannot listen on " + kind + " " + at.text() + ": " + ec.message());
  }
  return Status::ok();
}

}  // namespace tributary
