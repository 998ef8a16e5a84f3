#include "buffer/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace tributary::buffer {
namespace {

std::error_code last_error() { return {errno, std::generic_category()}; }

}  // namespace

std::error_code PosixFileIo::open(const std::string& path, bool create, int* fd) {
  const int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
  do {
    *fd = ::open(path.c_str(), flags, 0640);
  } while (*fd < 0 && errno == EINTR);
  return *fd < 0 ? last_error() : std::error_code();
}

std::error_code PosixFileIo::close(int fd) {
  // Linux releases the descriptor even when close fails; never retry it.
  return ::close(fd) != 0 && errno != EINTR ? last_error() : std::error_code();
}

std::error_code PosixFileIo::pwrite(int fd, const void* data, std::size_t size,
                                    std::uint64_t offset, std::size_t* written) {
  ssize_t n = 0;
  do {
    n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
  } while (n < 0 && errno == EINTR);
  *written = n > 0 ? static_cast<std::size_t>(n) : 0;
  return n < 0 ? last_error() : std::error_code();
}

std::error_code PosixFileIo::pread(int fd, void* data, std::size_t size, std::uint64_t offset,
                                   std::size_t* read) {
  ssize_t n = 0;
  do {
    n = ::pread(fd, data, size, static_cast<off_t>(offset));
  } while (n < 0 && errno == EINTR);
  *read = n > 0 ? static_cast<std::size_t>(n) : 0;
  return n < 0 ? last_error() : std::error_code();
}

std::error_code PosixFileIo::datasync(int fd) {
  // No retry on EINTR or anything else: after a failed fdatasync the kernel may already
  // have dropped the dirty pages, so the data must be treated as not on disk.
  return ::fdatasync(fd) != 0 ? last_error() : std::error_code();
}

std::error_code PosixFileIo::start_writeback(int fd, std::uint64_t offset, std::uint64_t size) {
  // SYNC_FILE_RANGE_WRITE alone: queue the dirty pages for writing and return; durability
  // still comes only from datasync.
  return ::sync_file_range(fd, static_cast<off_t>(offset), static_cast<off_t>(size), SYNC_FILE_RANGE_WRITE) != 0
             ? last_error()
             : std::error_code();
}

std::error_code PosixFileIo::truncate(int fd, std::uint64_t size) {
  return ::ftruncate(fd, static_cast<off_t>(size)) != 0 ? last_error() : std::error_code();
}

std::error_code PosixFileIo::file_size(int fd, std::uint64_t* size) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return last_error();
  *size = static_cast<std::uint64_t>(st.st_size);
  return {};
}

std::error_code PosixFileIo::rename(const std::string& from, const std::string& to) {
  return ::rename(from.c_str(), to.c_str()) != 0 ? last_error() : std::error_code();
}

std::error_code PosixFileIo::remove(const std::string& path) {
  return ::unlink(path.c_str()) != 0 ? last_error() : std::error_code();
}

std::error_code PosixFileIo::sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return last_error();
  const std::error_code ec = ::fsync(fd) != 0 ? last_error() : std::error_code();
  ::close(fd);
  return ec;
}

std::error_code PosixFileIo::list_dir(const std::string& dir, std::vector<std::string>* names) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return last_error();
  names->clear();
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names->push_back(name);
  }
  ::closedir(d);
  return {};
}

std::error_code PosixFileIo::make_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) return last_error();
  return {};
}

std::error_code FaultyFileIo::pwrite(int fd, const void* data, std::size_t size,
                                     std::uint64_t offset, std::size_t* written) {
  ++writes_;
  *written = 0;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    wait_while_held(lock, holding_writes_, writes_held_);
  }
  if (disk_full_) {
    std::uint64_t current = 0;
    if (real_.file_size(fd, &current) || offset + size > current) {
      return std::make_error_code(std::errc::no_space_on_device);
    }
  }
  if (const int e = write_error_.exchange(0); e != 0) {
    return std::make_error_code(static_cast<std::errc>(e));
  }
  if (const std::size_t s = short_write_.exchange(0); s > 0 && s < size) size = s;
  return real_.pwrite(fd, data, size, offset, written);
}

std::error_code FaultyFileIo::open(const std::string& path, bool create, int* fd) {
  const std::error_code ec = real_.open(path, create, fd);
  if (!ec) {
    std::lock_guard<std::mutex> lock(mutex_);
    paths_[*fd] = path;
  }
  return ec;
}

std::error_code FaultyFileIo::close(int fd) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    paths_.erase(fd);
  }
  return real_.close(fd);
}

void FaultyFileIo::wait_while_held(std::unique_lock<std::mutex>& lock, const bool& holding,
                                   std::atomic<int>& held) {
  if (!holding) return;
  ++held;
  released_.wait(lock, [&holding] { return !holding; });
  --held;
}

std::error_code FaultyFileIo::remove(const std::string& path) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    wait_while_held(lock, holding_removes_, removes_held_);
  }
  return real_.remove(path);
}

std::error_code FaultyFileIo::truncate(int fd, std::uint64_t size) {
  std::uint64_t current = 0;
  if (size == 0 && !real_.file_size(fd, &current) && current > 0) {
    std::unique_lock<std::mutex> lock(mutex_);
    wait_while_held(lock, holding_removes_, removes_held_);
  }
  return real_.truncate(fd, size);
}

std::error_code FaultyFileIo::datasync(int fd) {
  ++syncs_;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (holding_ && paths_[fd].ends_with(hold_suffix_)) wait_while_held(lock, holding_, held_);
  }
  if (fail_sync_.load()) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (paths_[fd].ends_with(fail_sync_suffix_) && fail_sync_.exchange(false)) {
      return std::make_error_code(std::errc::io_error);
    }
  }
  return real_.datasync(fd);
}

std::error_code write_fully(FileIo& io, int fd, const void* data, std::size_t size,
                            std::uint64_t offset, std::size_t* written) {
  std::size_t done = 0;
  std::error_code ec;
  while (done < size) {
    std::size_t n = 0;
    ec = io.pwrite(fd, static_cast<const char*>(data) + done, size - done, offset + done, &n);
    done += n;
    if (ec) break;
    if (n == 0) {
      ec = std::make_error_code(std::errc::io_error);  // no progress: do not spin
      break;
    }
  }
  if (written != nullptr) *written = done;
  return ec;
}

std::error_code read_fully(FileIo& io, int fd, void* data, std::size_t size, std::uint64_t offset,
                           std::size_t* read) {
  std::size_t done = 0;
  while (done < size) {
    std::size_t n = 0;
    const std::error_code ec = io.pread(fd, static_cast<char*>(data) + done, size - done, offset + done, &n);
    if (ec) {
      *read = done;
      return ec;
    }
    if (n == 0) break;  // end of file
    done += n;
  }
  *read = done;
  return {};
}

}  // namespace tributary::buffer
