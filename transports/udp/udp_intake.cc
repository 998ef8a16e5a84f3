#include "transports/udp/udp_intake.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>

#include <future>

#include "core/key_render.h"
#include "core/log.h"

namespace tributary::transports::udp {

namespace asio = boost::asio;
using boost::system::error_code;

UdpIntake::UdpIntake(const config::SourceConfig& source, Sink& sink, Stamper& stamper,
                     asio::io_context& io)
    : name_(source.name),
      settings_(std::get<config::UdpSourceConfig>(source.settings)),
      listen_(source.listen),
      sink_(sink),
      stamper_(stamper),
      io_(io),
      socket_(io),
      buffer_(settings_.max_datagram + 1) {}

Status UdpIntake::start() {
  error_code ec;
  const auto address = asio::ip::make_address(listen_.host, ec);
  if (ec) {
    return Status(StatusCode::kFailedPrecondition,
                  "source '" + name_ + "': listen address '" + listen_.host +
                      "' is not an IP address: " + ec.message());
  }
  const asio::ip::udp::endpoint endpoint(address, listen_.port);
  if (socket_.open(endpoint.protocol(), ec); !ec) socket_.bind(endpoint, ec);
  if (ec) {
    return Status(StatusCode::kFailedPrecondition,
                  "source '" + name_ + "': cannot bind UDP " + listen_.text() + ": " +
                      ec.message());
  }
  const auto bound = socket_.local_endpoint(ec);
  bound_port_ = bound.port();
  log::info("listening")
      .kv("source", name_)
      .kv("transport", "udp")
      .kv("address", config::HostPort{bound.address().to_string(), bound.port()}.text());
  started_ = true;
  asio::dispatch(io_, [this] { receive(); });
  return Status::ok();
}

void UdpIntake::stop() {
  if (!started_.exchange(false)) return;
  std::promise<void> closed;
  asio::dispatch(io_, [this, &closed] {
    error_code ignored;
    socket_.close(ignored);
    closed.set_value();
  });
  closed.get_future().wait();
  log::info("udp source stopped")
      .kv("source", name_)
      .kv("received", counters_.received.load())
      .kv("accepted", counters_.accepted.load())
      .kv("dropped_oversize", counters_.dropped_oversize.load())
      .kv("dropped_busy", counters_.dropped_busy.load());
}

void UdpIntake::receive() {
  socket_.async_receive_from(asio::buffer(buffer_), sender_,
                             [this](const error_code& ec, std::size_t bytes) {
                               if (ec == asio::error::operation_aborted || !socket_.is_open()) {
                                 return;
                               }
                               if (ec) {
                                 log::warn("udp receive failed")
                                     .kv("source", name_)
                                     .kv("error", ec.message());
                               } else {
                                 on_receive(bytes);
                               }
                               receive();
                             });
}

void UdpIntake::on_receive(std::size_t bytes) {
  counters_.received.fetch_add(1, std::memory_order_relaxed);
  if (bytes > settings_.max_datagram) {
    counters_.dropped_oversize.fetch_add(1, std::memory_order_relaxed);
    log::debug("udp datagram dropped: oversized").kv("source", name_).kv("limit",
                                                                        settings_.max_datagram);
    return;
  }
  Event event;
  event.origin.transport = "udp";
  event.origin.source = name_;
  event.origin.remote_ip = sender_.address().to_string();
  event.origin.remote_port = sender_.port();
  event.topic = settings_.topic;
  event.key = render_key(settings_.key, stamper_.node_id(), event.origin, nullptr);
  event.payload.assign(buffer_.data(), bytes);
  event.ingest_time = std::chrono::system_clock::now();
  stamper_.stamp(event);
  UdpCounters* counters = &counters_;
  const Offer offer = sink_.offer(std::move(event), [counters](const Status& s, const Delivery&) {
    (s.is_ok() ? counters->delivered : counters->delivery_failed)
        .fetch_add(1, std::memory_order_relaxed);
  });
  switch (offer) {
    case Offer::kAccepted: counters_.accepted.fetch_add(1, std::memory_order_relaxed); break;
    case Offer::kBusy: counters_.dropped_busy.fetch_add(1, std::memory_order_relaxed); break;
    case Offer::kRejected: counters_.dropped_rejected.fetch_add(1, std::memory_order_relaxed); break;
  }
}

}  // namespace tributary::transports::udp
