#include "core/envelope.h"

#include <flatbuffers/flatbuffers.h>

#include <vector>

#include "envelope_generated.h"

namespace tributary {
namespace {

flatbuffers::Offset<flatbuffers::Vector<std::uint8_t>> bytes(flatbuffers::FlatBufferBuilder& b,
                                                             std::string_view s) {
  return b.CreateVector(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

}  // namespace

void EnvelopeWriter::add_header(std::string_view name, std::string_view value) {
  if (finished_) {
    builder_.Clear();
    headers_.clear();
    finished_ = false;
  }
  headers_.push_back(fb::CreateHeader(builder_, builder_.CreateString(name.data(), name.size()),
                                      bytes(builder_, value)).o);
}

std::string_view EnvelopeWriter::finish(std::string_view id, std::string_view topic,
                                        const std::optional<std::string_view>& key,
                                        std::string_view payload,
                                        std::chrono::system_clock::time_point ingest_time,
                                        const Origin& origin, const EnvelopeStamp* stamp,
                                        KafkaPlacement placement) {
  if (finished_) {  // no headers this time
    builder_.Clear();
    headers_.clear();
  }
  flatbuffers::FlatBufferBuilder& b = builder_;
  b.StartVector(headers_.size(), sizeof(flatbuffers::uoffset_t));
  for (auto i = headers_.size(); i > 0;) {
    b.PushElement(flatbuffers::Offset<fb::Header>(headers_[--i]));
  }
  const flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::Header>>> headers(
      b.EndVector(headers_.size()));
  auto text = [&b](std::string_view s) { return b.CreateString(s.data(), s.size()); };
  // Empty strings are left out (a missing field reads as empty): fewer bytes per event.
  auto optional_text = [&b](std::string_view s) {
    return s.empty() ? flatbuffers::Offset<flatbuffers::String>() : b.CreateString(s.data(), s.size());
  };
  const auto envelope = fb::CreateEnvelope(
      b, optional_text(id), text(topic), key.has_value(), key ? bytes(b, *key) : 0, bytes(b, payload), headers,
      std::chrono::duration_cast<std::chrono::milliseconds>(ingest_time.time_since_epoch()).count(),
      text(origin.transport), text(origin.source), optional_text(origin.route), optional_text(origin.remote_ip),
      origin.remote_port, stamp != nullptr, stamp ? optional_text(stamp->node_id) : 0,
      stamp ? optional_text(stamp->content_type) : 0, stamp ? optional_text(stamp->traceparent) : 0,
      placement.partition, placement.null_value);
  b.Finish(envelope, fb::EnvelopeIdentifier());
  finished_ = true;
  return std::string_view(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

void envelope_headers(const fb::Envelope& e, CommonHeaderText& text, const AddHeader& add) {
  if (e.stamped()) {
    const StampFacts facts{fb_view(e.node_id()),      fb_view(e.transport()),    fb_view(e.source()),
                           e.ingest_time_ms(),        fb_view(e.content_type()), fb_view(e.traceparent()),
                           fb_view(e.remote_ip()),    e.remote_port()};
    render_common_headers(facts, text, add);
  }
  if (e.headers() == nullptr) return;
  for (const fb::Header* h : *e.headers()) {
    add(fb_view(h->name()), fb_view(h->value()));
  }
}

std::string encode_envelope(const Event& event) {
  EnvelopeWriter w;
  for (const Header& h : event.headers) w.add_header(h.name, h.value);
  std::optional<std::string_view> key;
  if (event.key) key = *event.key;
  return std::string(w.finish(event.id, event.topic, key, event.payload, event.ingest_time, event.origin));
}

bool decode_envelope(std::string_view data, Event* event) {
  flatbuffers::Verifier verifier(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  if (!fb::VerifyEnvelopeBuffer(verifier)) return false;
  const fb::Envelope* e = fb::GetEnvelope(data.data());
  Event out;
  out.id = std::string(fb_view(e->id()));
  out.topic = std::string(fb_view(e->topic()));
  if (e->has_key()) out.key = std::string(fb_view(e->key()));
  out.payload = std::string(fb_view(e->payload()));
  CommonHeaderText text;
  envelope_headers(*e, text, [&out](std::string_view name, std::string_view value) {
    out.headers.push_back(Header{std::string(name), std::string(value)});
  });
  if (e->stamped()) {
    out.content_type = std::string(fb_view(e->content_type()));
    out.traceparent = std::string(fb_view(e->traceparent()));
  }
  out.ingest_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(e->ingest_time_ms()));
  out.origin.transport = std::string(fb_view(e->transport()));
  out.origin.source = std::string(fb_view(e->source()));
  out.origin.route = std::string(fb_view(e->route()));
  out.origin.remote_ip = std::string(fb_view(e->remote_ip()));
  out.origin.remote_port = e->remote_port();
  *event = std::move(out);
  return true;
}

}  // namespace tributary
