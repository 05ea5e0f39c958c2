// The messages between the ranks of an MPI sweep (experiments/mpi_sweep.h),
// for mpi_sweep.cc (rank 0) and mpi_worker.cc (ranks > 0). Only the thread
// that initialised MPI calls these (MPI_THREAD_FUNNELED).
#ifndef ADVLAB_EXPERIMENTS_MPI_PROTOCOL_H_
#define ADVLAB_EXPERIMENTS_MPI_PROTOCOL_H_

// The C API only: Open MPI's and MPICH's mpi.h would pull in the C++ bindings.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <deque>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "experiments/resume.h"
#include "experiments/sha256.h"
#include "experiments/sweep.h"
#include "sim/error.h"

namespace advlab {
namespace mpi {

using Clock = std::chrono::steady_clock;

// Messages. A worker sends kHello once, then kRequest (how many runs it
// wants), kRecord (a run's index and values) and kFailed (a run threw), and
// kDone last; rank 0 answers every kRequest with kWork (run indices; none:
// ask again later), sends kStop once (make no new run) and, after kDone,
// kStatus (the exit status). Messages from one rank arrive in the order sent,
// so every record of a worker is in before its kDone.
enum Tag : int { kHello = 1, kRequest, kRecord, kFailed, kDone, kWork, kStop, kStatus };

inline void Check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw UserError(std::string("MPI: ") + what + " failed: " + std::string(text, len));
}

inline void Send(int to, int tag, const void* data = nullptr, size_t bytes = 0) {
  Check(MPI_Send(data, static_cast<int>(bytes), MPI_BYTE, to, tag, MPI_COMM_WORLD), "MPI_Send");
}

// Sends that do not wait for the receiver. Open MPI's MPI_Send of more than
// a few hundred bytes (btl_vader_max_inline_send) waits, spinning a core,
// until the other rank takes the message, and ranks poll only every 0.5-1 ms.
// Messages to a rank still arrive in the order they were posted.
class Outbox {
 public:
  Outbox() = default;
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;
  ~Outbox() {
    // Only on an error path: let MPI finish them; the buffers stay allocated.
    for (Pending& p : pending_) {
      MPI_Request_free(&p.request);
      new std::vector<char>(std::move(p.bytes));  // NOLINT: deliberately leaked
    }
  }

  void Send(int to, int tag, std::vector<char> bytes) {
    pending_.push_back({MPI_REQUEST_NULL, std::move(bytes)});
    Pending& p = pending_.back();
    Check(MPI_Isend(p.bytes.data(), static_cast<int>(p.bytes.size()), MPI_BYTE, to, tag,
                    MPI_COMM_WORLD, &p.request),
          "MPI_Isend");
  }
  // Forgets the sends that are done.
  void Progress() {
    while (!pending_.empty()) {
      int done = 0;
      Check(MPI_Test(&pending_.front().request, &done, MPI_STATUS_IGNORE), "MPI_Test");
      if (!done) return;
      pending_.pop_front();
    }
  }
  // Waits, sleeping between tests, until every send is done.
  void Drain() {
    for (Progress(); !pending_.empty(); Progress()) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

 private:
  struct Pending {
    MPI_Request request;
    std::vector<char> bytes;
  };
  std::deque<Pending> pending_;
};

struct Message {
  int source = -1, tag = 0;
  std::vector<char> bytes;
};

// The next message from `source` (MPI_ANY_SOURCE: any rank), if one is in.
inline bool Poll(int source, Message* m) {
  int flag = 0;
  MPI_Status st;
  Check(MPI_Iprobe(source, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st), "MPI_Iprobe");
  if (!flag) return false;
  int count = 0;
  Check(MPI_Get_count(&st, MPI_BYTE, &count), "MPI_Get_count");
  m->source = st.MPI_SOURCE;
  m->tag = st.MPI_TAG;
  m->bytes.resize(static_cast<size_t>(count));
  Check(MPI_Recv(m->bytes.data(), count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE),
        "MPI_Recv");
  return true;
}

// What a worker says first: the byte order and the plan it made, so that a
// rank with another advlab or other config files is refused before any run.
struct Hello {
  uint64_t order = 0x0102030405060708ull;
  double one_and_half = 1.5;
  int64_t pid = 0;
  char host[256] = {};
  Sha256::Digest plan{};
};

inline Sha256::Digest PlanDigest(const SweepPlan& plan) {
  const std::string d = SweepDescription(plan);
  Sha256 h;
  h.Bytes(d.data(), d.size());
  return h.Finish();
}

inline std::string HostName() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

// A process on this machine that is gone (reaped, or a zombie).
inline bool Gone(int64_t pid) {
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

// Ranks > 0: makes the runs rank 0 hands out (mpi_worker.cc); returns the
// job's exit status, or -1 - status when a rank died (no MPI_Finalize then).
int Work(const SweepPlan& plan, int threads);

}  // namespace mpi
}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_MPI_PROTOCOL_H_
