#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "buffer/record.h"

namespace tributary::buffer {

// A staging area for ring records that outlives the process: one file on a tmpfs, mapped
// once, its pages made resident when it is reset. Under fsync interval and never, the ring
// can count a record accepted once its frame is copied here (a memcpy: no system call, no
// page fault) and write it to a segment later, in a batch; if the process dies in between,
// the next start replays what the segments lack. A tmpfs does not survive a reboot or a
// power loss; neither does what the interval had not yet synced, so that is within policy.
//
// File layout, little-endian:
//
//   offset  0  8 bytes  magic "TRBSTG01"
//   offset  8  u64      size of the data area
//   offset 16  16 bytes the ring's id: a stage written for another ring is never replayed
//   offset 32  u64      written_pos: everything before this position is in the segments
//   offset 40  24 bytes reserved, zero
//   offset 64  the data area: the ring's own frames (record.h), back to back, circular
//
// Positions are logical and only grow; the byte of position P is at 64 + P % size. A frame
// never straddles the end of the area: fewer than 32 bytes left, or a header whose length
// is 0xFFFFFFFF, sends the reader to the start of the next lap. Bytes past the last frame
// are older laps' frames (lower sequence numbers) or zeros, so a reader stops at the first
// frame that is torn, corrupt or out of sequence.
//
// One ring per file: open() takes an exclusive flock. Threads: put() under the ring's
// append lock, written() from its writer thread, both serialised here; replay() and reset()
// from the owner before any put().
class Stage {
 public:
  static constexpr std::size_t kHeaderSize = 64;
  static constexpr std::size_t kRingIdSize = 16;

  // Opens PATH, creating it (empty, for RING_ID) if it is missing. An existing file keeps its
  // size and content until reset(), so that what it holds can be replayed first.
  static std::unique_ptr<Stage> open(const std::string& path, std::uint64_t data_bytes,
                                     std::string_view ring_id, std::string* error);
  ~Stage();
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;

  // Calls VISIT for every staged record numbered FROM or later, in order, while the numbers
  // run on from FROM and the frames are whole; a group (record.h, "continues") is visited
  // only once its last record is seen. Nothing when the file belongs to another ring.
  // Returns the number of records visited.
  std::uint64_t replay(std::uint64_t from, const std::function<void(const RecordView&)>& visit) const;

  // Empties the stage for this ring and this size (the replayed records must be in the
  // segments first) and touches every page, so later copies do not fault.
  bool reset(std::string* error);

  // Copies FRAMES (whole frames with consecutive sequence numbers, the last one NEXT_SEQ - 1)
  // in. False when there is no room: the caller waits for the segment write instead.
  bool put(std::string_view frames, std::uint64_t next_seq);

  // Every record numbered below NEXT_SEQ is in a segment file: its room may be reused.
  void written(std::uint64_t next_seq);

  std::uint64_t data_bytes() const { return data_bytes_; }
  std::uint64_t used_bytes() const;

 private:
  Stage(int fd, unsigned char* map, std::uint64_t data_bytes, std::uint64_t wanted_bytes,
        std::string ring_id, std::string path);
  bool foreign() const;  // the header is not this ring's
  bool remap(std::uint64_t data_bytes, std::string* error);

  int fd_;
  unsigned char* map_;
  std::uint64_t data_bytes_;
  const std::uint64_t wanted_bytes_;
  const std::string ring_id_;
  const std::string path_;

  mutable std::mutex mu_;
  std::uint64_t head_ = 0;     // the next frame goes here
  std::uint64_t written_ = 0;  // mirrors the header's written_pos
  // The end position of every put() not yet written, with the sequence number after it.
  std::deque<std::pair<std::uint64_t, std::uint64_t>> pending_;
};

}  // namespace tributary::buffer
