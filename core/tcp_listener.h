#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <string>

#include "config/values.h"
#include "core/status.h"

namespace tributary {

// Opens, binds (SO_REUSEADDR) and listens ACCEPTOR on AT. Errors read "WHAT: ...", e.g.
// "source 'api': cannot listen on HTTP 127.0.0.1:8080: Address already in use".
Status open_tcp_listener(boost::asio::ip::tcp::acceptor& acceptor, const config::HostPort& at,
                         const std::string& what, const std::string& kind);

}  // namespace tributary
