#include "core/envelope.h"

#include <flatbuffers/flatbuffers.h>

#include <vector>

#include "envelope_generated.h"

namespace tributary {
namespace {

std::string to_string(const flatbuffers::String* s) {
  return s == nullptr ? std::string() : std::string(s->c_str(), s->size());
}

std::string to_string(const flatbuffers::Vector<std::uint8_t>* v) {
  return v == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(v->data()), v->size());
}

flatbuffers::Offset<flatbuffers::Vector<std::uint8_t>> bytes(flatbuffers::FlatBufferBuilder& b,
                                                             std::string_view s) {
  return b.CreateVector(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

}  // namespace

std::string encode_envelope(const Event& event) {
  flatbuffers::FlatBufferBuilder b(256 + event.payload.size());
  std::vector<flatbuffers::Offset<fb::Header>> headers;
  headers.reserve(event.headers.size());
  for (const Header& h : event.headers) {
    headers.push_back(fb::CreateHeader(b, b.CreateString(h.name), bytes(b, h.value)));
  }
  const auto envelope = fb::CreateEnvelope(
      b, b.CreateString(event.id), b.CreateString(event.topic), event.key.has_value(),
      event.key ? bytes(b, *event.key) : 0, bytes(b, event.payload), b.CreateVector(headers),
      std::chrono::duration_cast<std::chrono::milliseconds>(event.ingest_time.time_since_epoch()).count(),
      b.CreateString(event.origin.transport), b.CreateString(event.origin.source),
      b.CreateString(event.origin.route), b.CreateString(event.origin.remote_ip),
      event.origin.remote_port);
  b.Finish(envelope, fb::EnvelopeIdentifier());
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

bool decode_envelope(std::string_view data, Event* event) {
  flatbuffers::Verifier verifier(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  if (!fb::VerifyEnvelopeBuffer(verifier)) return false;
  const fb::Envelope* e = fb::GetEnvelope(data.data());
  Event out;
  out.id = to_string(e->id());
  out.topic = to_string(e->topic());
  if (e->has_key()) out.key = to_string(e->key());
  out.payload = to_string(e->payload());
  if (e->headers() != nullptr) {
    for (const fb::Header* h : *e->headers()) {
      out.headers.push_back(Header{to_string(h->name()), to_string(h->value())});
    }
  }
  out.ingest_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(e->ingest_time_ms()));
  out.origin.transport = to_string(e->transport());
  out.origin.source = to_string(e->source());
  out.origin.route = to_string(e->route());
  out.origin.remote_ip = to_string(e->remote_ip());
  out.origin.remote_port = e->remote_port();
  *event = std::move(out);
  return true;
}

}  // namespace tributary
