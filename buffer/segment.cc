#include "buffer/segment.h"

#include <charconv>
#include <cstdio>
#include <cstring>

#include "buffer/crc32c.h"
#include "buffer/little_endian.h"

namespace tributary::buffer {
namespace {

constexpr std::string_view kMagic = "TRBSEG01";

}  // namespace

std::string segment_file_name(std::uint64_t first_seq) {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.seg", static_cast<unsigned long long>(first_seq));
  return name;
}

std::string dropped_file_name(std::uint64_t first_seq) {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.dropped", static_cast<unsigned long long>(first_seq));
  return name;
}

namespace {

bool parse_numbered_name(std::string_view name, std::string_view suffix, std::uint64_t* first_seq) {
  if (name.size() != 20 + suffix.size() || name.substr(20) != suffix) return false;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + 20, *first_seq);
  return ec == std::errc() && ptr == name.data() + 20;
}

}  // namespace

bool parse_segment_file_name(std::string_view name, std::uint64_t* first_seq) {
  return parse_numbered_name(name, ".seg", first_seq);
}

bool parse_dropped_file_name(std::string_view name, std::uint64_t* first_seq) {
  return parse_numbered_name(name, ".dropped", first_seq);
}

std::string encode_segment_header(std::uint64_t first_seq, std::int64_t created_ms) {
  std::string h(kSegmentHeaderSize, '\0');
  std::memcpy(h.data(), kMagic.data(), kMagic.size());
  put_le(h.data() + 8, kSegmentVersion);
  put_le(h.data() + 12, static_cast<std::uint32_t>(kSegmentHeaderSize));
  put_le(h.data() + 16, first_seq);
  put_le(h.data() + 24, created_ms);
  put_le(h.data() + 60, crc32c(h.data(), 60));
  return h;
}

HeaderStatus decode_segment_header(std::string_view data, std::uint64_t* first_seq) {
  if (data.size() < kSegmentHeaderSize) return HeaderStatus::kTruncated;
  if (data.substr(0, kMagic.size()) != kMagic) return HeaderStatus::kBadMagic;
  if (get_le<std::uint32_t>(data.data() + 60) != crc32c(data.data(), 60)) return HeaderStatus::kCorrupt;
  if (get_le<std::uint32_t>(data.data() + 8) != kSegmentVersion) return HeaderStatus::kUnknownVersion;
  *first_seq = get_le<std::uint64_t>(data.data() + 16);
  return HeaderStatus::kOk;
}

const char* header_status_text(HeaderStatus status) {
  switch (status) {
    case HeaderStatus::kOk: return "ok";
    case HeaderStatus::kTruncated: return "header truncated";
    case HeaderStatus::kBadMagic: return "not a segment file (bad magic)";
    case HeaderStatus::kUnknownVersion: return "unknown segment format version";
    case HeaderStatus::kCorrupt: return "segment header checksum mismatch";
  }
  return "?";
}

SegmentScan scan_segment(FileIo& io, const std::string& path, const RecordVisitor& visit,
                         std::uint64_t start_offset, std::uint64_t start_seq) {
  SegmentScan scan;
  int fd = -1;
  if ((scan.io_error = io.open(path, false, &fd))) return scan;
  std::string header(kSegmentHeaderSize, '\0');
  std::string data;
  std::uint64_t size = 0;
  std::size_t header_got = 0;
  // BASE: the file offset of data[0]. The header is read on its own; the records from BASE.
  std::uint64_t base = kSegmentHeaderSize;
  if (!(scan.io_error = io.file_size(fd, &size))) {
    scan.io_error = read_fully(io, fd, header.data(), header.size(), 0, &header_got);
    header.resize(header_got);
  }
  if (!scan.io_error) {
    if (start_offset > kSegmentHeaderSize && start_offset <= size) base = start_offset;
    if (size > base) {
      data.resize(size - base);
      std::size_t got = 0;
      scan.io_error = read_fully(io, fd, data.data(), data.size(), base, &got);
      data.resize(got);
    }
  }
  io.close(fd);
  if (scan.io_error) return scan;
  scan.file_size = std::max<std::uint64_t>(header.size(), base + data.size());
  scan.header = decode_segment_header(header, &scan.first_seq);
  if (scan.header != HeaderStatus::kOk) return scan;

  const std::string_view all(data);
  std::size_t pos = 0;
  scan.scanned_from = base;
  scan.next_seq = base > kSegmentHeaderSize ? start_seq : scan.first_seq;
  scan.valid_end = base;
  scan.group_end = base;
  scan.group_next_seq = scan.next_seq;
  while (true) {
    RecordView record;
    std::size_t frame = 0;
    const DecodeStatus status = decode_record(all.substr(pos), &record, &frame);
    if (status == DecodeStatus::kOk && record.sequence == scan.next_seq) {
      if (visit) visit(record, base + pos);
      if (scan.first_time_ms < 0) scan.first_time_ms = record.time_ms;
      scan.last_time_ms = record.time_ms;
      ++scan.records;
      ++scan.next_seq;
      pos += frame;
      scan.valid_end = base + pos;
      if (!record.continues) {
        scan.group_end = scan.valid_end;
        scan.group_next_seq = scan.next_seq;
      }
      continue;
    }
    if (status == DecodeStatus::kOk && record.sequence > scan.next_seq) {
      // A verified record further on in the sequence: the ones in between are gone.
      scan.corrupt_skipped += record.sequence - scan.next_seq;
      scan.next_seq = record.sequence;
      continue;
    }
    if (status == DecodeStatus::kEnd) {
      const bool zeros = all.find_first_not_of('\0', pos) == std::string_view::npos;
      if (pos == all.size()) {
        scan.tail = SegmentScan::Tail::kClean;
        break;
      }
      if (zeros) {
        scan.tail = SegmentScan::Tail::kZeroFilled;
        break;
      }
      // Zeros then data: a hole inside the segment; look for records after it.
    }
    if (status == DecodeStatus::kTruncated) {
      scan.tail = SegmentScan::Tail::kTorn;
      break;
    }
    // Corrupt, a wrong sequence number, or a hole: resynchronise on the next record that
    // verifies and continues the sequence.
    std::size_t next = std::string_view::npos;
    RecordView found;
    for (std::size_t p = pos + 1; p + kRecordHeaderSize <= all.size(); ++p) {
      std::size_t f = 0;
      if (decode_record(all.substr(p), &found, &f) == DecodeStatus::kOk &&
          found.sequence > scan.next_seq) {
        next = p;
        break;
      }
    }
    if (next == std::string_view::npos) {
      scan.tail = SegmentScan::Tail::kCorrupt;
      break;
    }
    scan.corrupt_skipped += found.sequence - scan.next_seq;
    scan.next_seq = found.sequence;
    pos = next;
  }
  return scan;
}

SegmentWriter::~SegmentWriter() {
  if (fd_ >= 0) io_.close(fd_);
}

std::error_code SegmentWriter::create(std::uint64_t first_seq, std::int64_t now_ms) {
  const std::string name = segment_file_name(first_seq);
  const std::string path = dir_ + "/" + name;
  if (auto ec = io_.open(path, true, &fd_)) {
    fd_ = -1;
    return ec;
  }
  const std::string header = encode_segment_header(first_seq, now_ms);
  std::error_code ec = io_.truncate(fd_, 0);
  if (!ec) ec = write_fully(io_, fd_, header.data(), header.size(), 0);
  if (!ec) ec = io_.datasync(fd_);
  if (!ec) ec = io_.sync_dir(dir_);  // the new name must survive a power loss too
  if (ec) {
    io_.close(fd_);
    fd_ = -1;
    io_.remove(path);
    return ec;
  }
  name_ = name;
  first_seq_ = next_seq_ = written_seq_ = synced_seq_ = first_seq;
  written_ = synced_ = writeback_from_ = kSegmentHeaderSize;
  failed_ = false;
  drop_buffered();
  return {};
}

std::error_code SegmentWriter::reopen(const std::string& name, std::uint64_t first_seq,
                                      std::uint64_t valid_end, std::uint64_t next_seq) {
  name_ = name;
  if (auto ec = io_.open(dir_ + "/" + name_, false, &fd_)) return ec;
  std::error_code ec = io_.truncate(fd_, valid_end);  // drop a torn or corrupt tail
  if (!ec) ec = io_.datasync(fd_);
  if (ec) {
    io_.close(fd_);
    fd_ = -1;
    return ec;
  }
  first_seq_ = first_seq;
  next_seq_ = written_seq_ = synced_seq_ = next_seq;
  written_ = synced_ = writeback_from_ = valid_end;
  failed_ = false;
  drop_buffered();
  return {};
}

void SegmentWriter::append(std::int64_t time_ms, std::string_view body) {
  encode_record(next_seq_++, time_ms, RecordType::kEvent, body, buffer_);
  ++buffer_records_;
}

void SegmentWriter::append_framed(std::string_view frames, std::uint64_t records) {
  buffer_.append(frames);
  buffer_records_ += records;
  next_seq_ += records;
}

void SegmentWriter::append_shared(std::shared_ptr<const std::string> owner, std::string_view frames,
                                  std::uint64_t records) {
  seal_buffer();  // keep the order
  pending_.push_back(Chunk{std::move(owner), frames, records});
  pending_bytes_ += frames.size();
  next_seq_ += records;
}

// Turns what append() framed into a chunk of its own, behind the chunks before it.
void SegmentWriter::seal_buffer() {
  if (buffer_.empty()) return;
  auto owner = std::make_shared<const std::string>(std::move(buffer_));
  pending_.push_back(Chunk{owner, *owner, buffer_records_});
  pending_bytes_ += owner->size();
  buffer_.clear();
  buffer_records_ = 0;
}

std::error_code SegmentWriter::flush() {
  if (failed_) return std::make_error_code(std::errc::io_error);
  seal_buffer();
  std::size_t written_chunks = 0;
  std::error_code error;
  for (Chunk& chunk : pending_) {
    std::size_t done = 0;
    if (auto ec = write_fully(io_, fd_, chunk.frames.data(), chunk.frames.size(), written_, &done)) {
      // Keep the file as it was: a retry rewrites the same bytes at the same offset.
      if (done > 0) io_.truncate(fd_, written_);
      error = ec;
      break;
    }
    written_ += chunk.frames.size();
    written_seq_ += chunk.records;
    pending_bytes_ -= chunk.frames.size();
    if (keep_unsynced_) keep_written(std::move(chunk));
    ++written_chunks;
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(written_chunks));
  if (writeback_bytes_ > 0 && written_ - writeback_from_ >= writeback_bytes_) {
    // A hint: a failure here changes nothing, the sync reports what matters.
    io_.start_writeback(fd_, writeback_from_, written_ - writeback_from_);
    writeback_from_ = written_;
  }
  return error;
}

void SegmentWriter::keep_written(Chunk chunk) {
  constexpr std::size_t kCopyBelow = 16u << 10;
  unsynced_bytes_.fetch_add(chunk.frames.size(), std::memory_order_relaxed);
  if (chunk.frames.size() >= kCopyBelow) {
    unsynced_.push_back(std::move(chunk));
    return;
  }
  if (!unsynced_.empty() && !unsynced_.back().owner && !copy_sealed_) {
    unsynced_.back().copy_len += chunk.frames.size();  // continues the copy before it
  } else {
    unsynced_.push_back(Chunk{nullptr, {}, 0, unsynced_copy_.size(), chunk.frames.size()});
  }
  unsynced_.back().records += chunk.records;
  unsynced_copy_.append(chunk.frames);
  copy_sealed_ = false;
}

// Forgets the first BYTES of what is kept unsynced, if they end between two kept chunks
// (begin_sync() keeps later writes out of the chunks it covers); the rest moves to the
// front. False (nothing forgotten) otherwise.
bool SegmentWriter::forget_unsynced_prefix(std::uint64_t bytes) {
  std::size_t chunks = 0;
  std::size_t copied = 0;  // bytes of unsynced_copy_ the forgotten chunks used
  while (chunks < unsynced_.size() && bytes > 0) {
    const Chunk& chunk = unsynced_[chunks];
    const std::uint64_t size = chunk.owner ? chunk.frames.size() : chunk.copy_len;
    if (size > bytes) break;
    if (!chunk.owner) copied = chunk.copy_at + chunk.copy_len;
    bytes -= size;
    ++chunks;
  }
  if (bytes > 0) return false;
  std::uint64_t forgotten = 0;
  for (std::size_t i = 0; i < chunks; ++i) {
    forgotten += unsynced_[i].owner ? unsynced_[i].frames.size() : unsynced_[i].copy_len;
  }
  unsynced_bytes_.fetch_sub(forgotten, std::memory_order_relaxed);
  unsynced_.erase(unsynced_.begin(), unsynced_.begin() + static_cast<std::ptrdiff_t>(chunks));
  unsynced_copy_.erase(0, copied);
  for (Chunk& chunk : unsynced_) {
    if (!chunk.owner) chunk.copy_at -= copied;
  }
  return true;
}

void SegmentWriter::forget_unsynced() {
  copy_sealed_ = false;
  unsynced_.clear();
  unsynced_bytes_.store(0, std::memory_order_relaxed);
  // Give back a large copy buffer only when this interval used little of it, so that a
  // steady rate does not free and grow it again at every sync.
  const bool mostly_unused = unsynced_copy_.size() * 4 < unsynced_copy_.capacity();
  unsynced_copy_.clear();
  if (unsynced_copy_.capacity() > (8u << 20) && mostly_unused) unsynced_copy_.shrink_to_fit();
}

std::error_code SegmentWriter::sync() {
  if (failed_) return std::make_error_code(std::errc::io_error);
  const std::optional<SyncMark> mark = begin_sync();
  if (!mark) return {};
  return finish_sync(*mark, io_.datasync(mark->fd));
}

std::optional<SegmentWriter::SyncMark> SegmentWriter::begin_sync() {
  if (failed_ || fd_ < 0 || synced_ == written_) return std::nullopt;
  copy_sealed_ = true;  // what is written from now on is kept apart from what this sync covers
  return SyncMark{fd_, first_seq_, written_, written_seq_};
}

std::error_code SegmentWriter::finish_sync(const SyncMark& mark, std::error_code result) {
  if (mark.fd != fd_ || mark.first_seq != first_seq_) return {};  // another segment's (closed since)
  if (result) {
    failed_ = true;  // never assume that what failed to sync is on disk
    return result;
  }
  if (failed_) return std::make_error_code(std::errc::io_error);
  if (mark.bytes <= synced_) return {};
  if (mark.bytes == written_) {
    forget_unsynced();
  } else if (!forget_unsynced_prefix(mark.bytes - synced_)) {
    return {};  // the mark is not between two kept chunks: claim nothing, the next sync will
  }
  synced_ = mark.bytes;
  synced_seq_ = mark.seq;
  return {};
}

std::string SegmentWriter::take_unsynced() {
  seal_buffer();
  std::string out;
  for (const Chunk& chunk : unsynced_) {
    out.append(chunk.owner ? chunk.frames : std::string_view(unsynced_copy_).substr(chunk.copy_at, chunk.copy_len));
  }
  for (const Chunk& chunk : pending_) out.append(chunk.frames);
  drop_buffered();
  return out;
}

// Forgets every record not yet known durable (framed, pending or written but unsynced).
void SegmentWriter::drop_buffered() {
  buffer_.clear();
  buffer_records_ = 0;
  pending_.clear();
  pending_bytes_ = 0;
  forget_unsynced();
}

std::error_code SegmentWriter::close() {
  if (fd_ < 0) return {};
  const std::error_code ec = io_.close(fd_);
  fd_ = -1;
  return ec;
}

}  // namespace tributary::buffer
