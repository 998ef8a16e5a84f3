// Linked into every executable of the ThreadSanitizer build (TRIBUTARY_SANITIZE=thread).
//
// librdkafka starts its threads and takes its locks through the C11 threads API (thrd_create,
// mtx_lock, cnd_wait, ...). In glibc these call the pthread functions internally, past the
// interceptors of GCC 12's TSan runtime, which does not intercept the C11 names. A thread
// started that way has no TSan state and crashes in TSan's allocator on its first malloc, and
// locks taken that way are invisible, so TSan would report races between librdkafka's threads
// and ours that its mutexes actually order. These definitions take precedence over glibc's
// (the executable comes first in symbol lookup) and forward to the pthread functions, which
// TSan intercepts. Only the functions librdkafka imports are defined
// (`nm -D librdkafka.so.1 | grep -E ' U (thrd|mtx|cnd)_|call_once'`).
//
// librdkafka also counts references with atomic instructions TSan cannot see in a library
// built without it, so a buffer it frees on one of its threads after ours read it looks like
// a race. __tsan_default_options() below has TSan ignore the memory accesses of interceptors
// (free, memcpy, ...) called from such libraries; races between accesses in our own code are
// reported as before.
#include <pthread.h>
#include <threads.h>

#include <cerrno>
#include <cstdint>
#include <new>

namespace {

int from_errno(int rc) {
  switch (rc) {
    case 0:
      return thrd_success;
    case EBUSY:
      return thrd_busy;
    case ETIMEDOUT:
      return thrd_timedout;
    case ENOMEM:
      return thrd_nomem;
    default:
      return thrd_error;
  }
}

struct Start {
  thrd_start_t func;
  void* arg;
};

void* run(void* p) {
  const Start start = *static_cast<Start*>(p);
  delete static_cast<Start*>(p);
  // thrd_join reads the int back from the pointer, as glibc's own thrd_create arranges.
  return reinterpret_cast<void*>(static_cast<std::intptr_t>(start.func(start.arg)));
}

pthread_mutex_t* native(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* native(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }

}  // namespace

extern "C" {

const char* __tsan_default_options() { return "ignore_noninstrumented_modules=1"; }

int thrd_create(thrd_t* thread, thrd_start_t func, void* arg) {
  auto* start = new (std::nothrow) Start{func, arg};
  if (start == nullptr) return thrd_nomem;
  pthread_t id;
  const int rc = pthread_create(&id, nullptr, run, start);
  if (rc != 0) {
    delete start;
    return from_errno(rc);
  }
  *thread = id;
  return thrd_success;
}

int thrd_join(thrd_t thread, int* result) {
  void* value = nullptr;
  const int rc = pthread_join(thread, &value);
  if (rc == 0 && result != nullptr) *result = static_cast<int>(reinterpret_cast<std::intptr_t>(value));
  return from_errno(rc);
}

int mtx_init(mtx_t* mutex, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if ((type & mtx_recursive) != 0) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  const int rc = pthread_mutex_init(native(mutex), &attr);
  pthread_mutexattr_destroy(&attr);
  return from_errno(rc);
}

int mtx_lock(mtx_t* mutex) { return from_errno(pthread_mutex_lock(native(mutex))); }
int mtx_unlock(mtx_t* mutex) { return from_errno(pthread_mutex_unlock(native(mutex))); }
void mtx_destroy(mtx_t* mutex) { pthread_mutex_destroy(native(mutex)); }

int cnd_init(cnd_t* cond) { return from_errno(pthread_cond_init(native(cond), nullptr)); }
int cnd_signal(cnd_t* cond) { return from_errno(pthread_cond_signal(native(cond))); }
int cnd_broadcast(cnd_t* cond) { return from_errno(pthread_cond_broadcast(native(cond))); }
int cnd_wait(cnd_t* cond, mtx_t* mutex) { return from_errno(pthread_cond_wait(native(cond), native(mutex))); }
int cnd_timedwait(cnd_t* __restrict cond, mtx_t* __restrict mutex, const struct timespec* __restrict until) {
  return from_errno(pthread_cond_timedwait(native(cond), native(mutex), until));
}
void cnd_destroy(cnd_t* cond) { pthread_cond_destroy(native(cond)); }

void call_once(once_flag* flag, void (*func)()) { pthread_once(reinterpret_cast<pthread_once_t*>(flag), func); }

}  // extern "C"
