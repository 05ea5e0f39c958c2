#include "experiments/mpi_sweep.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "experiments/mpi_protocol.h"
#include "sim/check.h"
#include "sim/error.h"

namespace advlab {
namespace mpi {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// Rank 0: hands out runs, makes some on its own threads, journals every
// record through RunSweepToFile's callback.

class Leader {
 public:
  Leader(const SweepPlan& plan, int size, int threads, const SweepFileOptions& opts)
      : plan_(plan), opts_(opts), threads_(std::max(threads, 1)),
        values_(SweepJournalHeader(plan).values_per_run), digest_(PlanDigest(plan)),
        host_(HostName()), peers_(static_cast<size_t>(size)) {
    peers_[0].state = Peer::kDone;  // rank 0 itself
  }
  ~Leader() { JoinLocal(); }

  void Execute(const std::vector<bool>& skip, const std::function<void(size_t, RunRecord&&)>& finished,
               const std::atomic<int>* stop);
  // After the sweep: stops the workers still going, waits for their kDone and
  // sends each its exit status.
  void Release(int status);
  bool dead() const { return !dead_.empty(); }

 private:
  struct Peer {
    enum State { kActive, kStopped, kDone, kDead } state = kActive;
    bool hello = false, same_host = false;
    int64_t pid = 0;
    std::set<size_t> out;  // handed to it, no record back yet
  };

  void Local();
  void Deliver(size_t k, RunRecord&& record);
  void Fail(std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(finished_mu_);
    if (!failure_) failure_ = e;
  }
  bool Failed() {
    std::lock_guard<std::mutex> lock(finished_mu_);
    return failure_ != nullptr;
  }
  void Handle(const Message& m);
  void Requeue(Peer* p);
  void StopAll();
  void CheckPeers();
  bool AllIn() const {
    for (const Peer& p : peers_)
      if (p.state == Peer::kActive || p.state == Peer::kStopped) return false;
    return true;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  void JoinLocal() {
    Close();
    for (std::thread& t : local_) t.join();
    local_.clear();
  }

  const SweepPlan& plan_;
  const SweepFileOptions& opts_;
  const int threads_;
  const size_t values_;  // per run
  const Sha256::Digest digest_;
  const std::string host_;
  std::vector<Peer> peers_;
  std::vector<std::string> dead_;  // "rank 2 (pid 123)"
  bool stopping_ = false;

  std::mutex mu_;  // the runs not handed out yet
  std::condition_variable cv_;
  std::deque<size_t> queue_;
  bool closed_ = false;

  std::mutex finished_mu_;  // one `finished` call at a time; the first failure
  const std::function<void(size_t, RunRecord&&)>* finished_ = nullptr;
  std::exception_ptr failure_;
  size_t todo_ = 0, skipped_ = 0;
  std::atomic<size_t> done_{0};
  std::vector<std::thread> local_;
  Outbox outbox_;  // kWork answers, sent without waiting for the worker
};

void Leader::Deliver(size_t k, RunRecord&& record) {
  std::lock_guard<std::mutex> lock(finished_mu_);
  if (failure_) return;
  try {
    (*finished_)(k, std::move(record));
    ++done_;
  } catch (...) {
    failure_ = std::current_exception();
  }
}

void Leader::Local() {
  for (;;) {
    size_t k;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return closed_ || !queue_.empty(); });
      if (closed_) return;
      k = queue_.front();
      queue_.pop_front();
    }
    try {
      Deliver(k, TrainRun(plan_.Run(k)));
    } catch (...) {
      Fail(std::current_exception());
      return;
    }
  }
}

void Leader::Requeue(Peer* p) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = p->out.rbegin(); it != p->out.rend(); ++it) queue_.push_front(*it);
  p->out.clear();
  cv_.notify_all();
}

void Leader::StopAll() {
  for (size_t r = 1; r < peers_.size(); ++r) {
    if (peers_[r].state != Peer::kActive) continue;
    Send(static_cast<int>(r), kStop);
    peers_[r].state = Peer::kStopped;
  }
}

void Leader::CheckPeers() {
  for (size_t r = 1; r < peers_.size(); ++r) {
    Peer& p = peers_[r];
    if (p.state == Peer::kDone || p.state == Peer::kDead || !p.same_host || !Gone(p.pid)) continue;
    p.state = Peer::kDead;
    Requeue(&p);
    dead_.push_back("rank " + std::to_string(r) + " (pid " + std::to_string(p.pid) + ")");
  }
}

void Leader::Handle(const Message& m) {
  Peer& p = peers_[static_cast<size_t>(m.source)];
  const std::string who = "rank " + std::to_string(m.source);
  switch (m.tag) {
    case kHello: {
      Hello h;
      if (m.bytes.size() != sizeof h) throw UserError("MPI: " + who + " sent a malformed hello");
      std::memcpy(&h, m.bytes.data(), sizeof h);
      p.hello = true;
      p.pid = h.pid;
      h.host[sizeof h.host - 1] = '\0';
      p.same_host = host_ == h.host;
      if (h.order != Hello().order || h.one_and_half != 1.5) {
        Fail(std::make_exception_ptr(UserError(who + " on " + PrintableInput(h.host, 80) +
                                               " stores numbers in another byte order than rank 0")));
      } else if (h.plan != digest_) {
        Fail(std::make_exception_ptr(UserError(
            who + " on " + PrintableInput(h.host, 80) + " planned another sweep than rank 0 (another " +
            "advlab version, or other config files on its machine); every rank must run the same " +
            "advlab on the same files")));
      }
      return;
    }
    case kRequest: {
      int64_t want = 0;
      if (m.bytes.size() == sizeof want) std::memcpy(&want, m.bytes.data(), sizeof want);
      std::vector<uint64_t> runs;
      if (p.state == Peer::kActive && p.hello && !Failed()) {
        std::lock_guard<std::mutex> lock(mu_);
        // Smaller pieces towards the end, so the ranks finish together.
        const size_t slots = static_cast<size_t>(threads_) * peers_.size();
        const size_t n = std::min<size_t>(std::clamp<int64_t>(want, 1, 1 << 20),
                                          std::max<size_t>(1, queue_.size() / (2 * slots)));
        while (runs.size() < n && !queue_.empty()) {
          runs.push_back(queue_.front());
          p.out.insert(queue_.front());
          queue_.pop_front();
        }
      }
      std::vector<char> bytes(runs.size() * sizeof(uint64_t));
      if (!runs.empty()) std::memcpy(bytes.data(), runs.data(), bytes.size());
      outbox_.Send(m.source, kWork, std::move(bytes));
      return;
    }
    case kRecord: {
      const size_t V = values_;
      uint64_t k = 0;
      if (m.bytes.size() == 8 + 8 * V) std::memcpy(&k, m.bytes.data(), 8);
      if (m.bytes.size() != 8 + 8 * V || p.out.erase(k) != 1) {
        throw UserError("MPI: " + who + " sent a record of a run not handed to it");
      }
      RunRecord record;
      record.values.resize(V);
      std::memcpy(record.values.data(), m.bytes.data() + 8, 8 * V);
      Deliver(k, std::move(record));
      return;
    }
    case kFailed:
      Fail(std::make_exception_ptr(UserError(who + ": " + std::string(m.bytes.begin(), m.bytes.end()))));
      return;
    case kDone:
      p.state = Peer::kDone;
      Requeue(&p);  // runs it dropped (it was stopped, or stopped itself on a signal)
      return;
    default:
      throw UserError("MPI: " + who + " sent an unknown message (tag " + std::to_string(m.tag) + ")");
  }
}

void Leader::Execute(const std::vector<bool>& skip,
                     const std::function<void(size_t, RunRecord&&)>& finished,
                     const std::atomic<int>* stop) {
  finished_ = &finished;
  for (size_t k = 0; k < plan_.num_runs(); ++k) {
    if (skip.empty() || !skip[k]) queue_.push_back(k);
  }
  todo_ = queue_.size();
  skipped_ = plan_.num_runs() - todo_;
  for (int i = 0; i < threads_; ++i) local_.emplace_back([this] { Local(); });
  auto checked = Clock::now();
  microseconds nap(250);
  for (;;) {
    bool any = false;
    for (Message m; Poll(MPI_ANY_SOURCE, &m);) {
      Handle(m);
      any = true;
    }
    outbox_.Progress();
    if (!stopping_ && (Failed() || (stop != nullptr && stop->load() != 0) || !dead_.empty() ||
                       done_.load() == todo_)) {
      stopping_ = true;  // no run starts any more; the ones in flight come in
      Close();
      StopAll();
    }
    if (Clock::now() - checked > (stopping_ ? milliseconds(50) : milliseconds(500))) {
      CheckPeers();
      checked = Clock::now();
    }
    if (stopping_ && AllIn()) break;
    // Poll every 0.25 ms while messages come, up to every 1 ms when none do:
    // workers of short runs hold about 3 ms of them, and a worker of long
    // runs waits at most 1 ms of one. MPI's own blocking waits would spin.
    nap = any ? microseconds(250) : std::min(nap * 2, microseconds(1000));
    std::this_thread::sleep_for(nap);
  }
  JoinLocal();
  if (failure_) std::rethrow_exception(failure_);
  if (!dead_.empty()) {
    std::string who;
    for (const std::string& d : dead_) who += (who.empty() ? "" : ", ") + d;
    const size_t kept = skipped_ + done_.load();
    throw UserError(who + " died; " + std::to_string(kept) + " of " +
                    std::to_string(plan_.num_runs()) + " runs done, kept in " +
                    JournalPath(opts_.out) + "; resume with: " + opts_.resume_command);
  }
}

void Leader::Release(int status) {
  JoinLocal();
  StopAll();
  auto checked = Clock::now();
  while (!AllIn()) {
    Message m;
    if (Poll(MPI_ANY_SOURCE, &m)) {
      Peer& p = peers_[static_cast<size_t>(m.source)];
      if (m.tag == kRequest) outbox_.Send(m.source, kWork, {});
      if (m.tag == kDone) p.state = Peer::kDone;
      continue;
    }
    if (Clock::now() - checked > milliseconds(50)) {
      CheckPeers();
      checked = Clock::now();
    }
    std::this_thread::sleep_for(milliseconds(1));
  }
  outbox_.Drain();
  const int32_t msg[2] = {status, dead() ? 1 : 0};
  for (size_t r = 1; r < peers_.size(); ++r) {
    if (peers_[r].state == Peer::kDone) Send(static_cast<int>(r), kStatus, msg, sizeof msg);
  }
}

}  // namespace mpi

namespace {
// The ranks the launcher started, as its environment says (0: it does not).
int LauncherSize() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    const char* v = std::getenv(name);
    if (v != nullptr) return std::atoi(v);
  }
  return 0;
}
}  // namespace

bool LaunchedAsMpiJob() {
  return LauncherSize() > 1 || (LauncherSize() == 0 && std::getenv("PMIX_RANK") != nullptr);
}

MpiJob::MpiJob() {
  // Open MPI's shared-memory transport copies large messages across processes
  // with process_vm_readv, which containers often forbid (it then fails on a
  // record of some kB); ours are few and small: plain copies do. The user's
  // setting wins.
  setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", /*overwrite=*/0);
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    throw UserError("MPI: MPI_Init_thread failed");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  if (LauncherSize() > 1 && size_ == 1) {
    setup_error_ = "MPI: started as one of " + std::to_string(LauncherSize()) + " ranks, but " +
                    "MPI sees this process alone: an mpirun of another MPI than the one advlab " +
                    "was built with (Open MPI)?";
  } else if (provided < MPI_THREAD_FUNNELED) {
    setup_error_ = "MPI: the MPI library offers no MPI_THREAD_FUNNELED (threads that leave MPI "
                    "calls to the main thread); advlab needs it for --threads";
  }
}

MpiJob::~MpiJob() {
  try {
    Finish(2);  // when an exception skipped it
  } catch (...) {
  }
  if (!broken_) MPI_Finalize();
}

int MpiJob::FirstFailure(bool failed) {
  int mine = failed ? rank_ : size_, first = size_;
  mpi::Check(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
  return first < size_ ? first : -1;
}

void MpiJob::Barrier() { mpi::Check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

SweepFileResult MpiJob::Lead(const SweepPlan& plan, int threads, const SweepFileOptions& opts) {
  leader_ = std::make_unique<mpi::Leader>(plan, size_, threads, opts);
  return RunSweepToFile(
      plan,
      [&](const std::vector<bool>& skip, const std::function<void(size_t, RunRecord&&)>& finished,
          const std::atomic<int>* stop) { leader_->Execute(skip, finished, stop); },
      opts);
}

void MpiJob::Finish(int status) {
  if (leader_ == nullptr) return;
  try {
    leader_->Release(status);
    broken_ = leader_->dead();
  } catch (...) {
    broken_ = true;  // MPI itself failed: finalizing would wait
    leader_.reset();
    throw;
  }
  leader_.reset();
}

int MpiJob::Work(const SweepPlan& plan, int threads) {
  const int status = mpi::Work(plan, threads);
  if (status < 0) {  // a rank died: finalizing would wait for it
    broken_ = true;
    return -status - 1;
  }
  return status;
}

}  // namespace advlab
