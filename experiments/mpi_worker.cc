// Ranks > 0 of an MPI sweep (experiments/mpi_sweep.h): ask rank 0 for runs,
// make them on --threads threads, send back their values.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "experiments/mpi_protocol.h"
#include "sim/check.h"

namespace advlab {
namespace mpi {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// The first SIGINT/SIGTERM (mpirun passes one on as SIGTERM to every rank):
// no new run starts here; rank 0 decides the rest. A second one exits at once.
std::atomic<int> g_worker_signal{0};
extern "C" void OnWorkerSignal(int sig) {
  if (g_worker_signal.exchange(sig) != 0) _exit(128 + sig);
}

class Worker {
 public:
  Worker(const SweepPlan& plan, int threads) : plan_(plan), threads_(std::max(threads, 1)) {}
  int Run();

 private:
  void Compute();

  const SweepPlan& plan_;
  const int threads_;
  std::mutex mu_;
  std::condition_variable work_cv_, main_cv_;
  std::deque<size_t> queue_;
  int busy_ = 0;
  std::vector<std::pair<size_t, RunRecord>> outbox_;
  std::vector<std::string> errors_;
  bool closed_ = false;
  double run_seconds_ = 0;  // compute time of the runs made so far
  size_t runs_ = 0;
};

void Worker::Compute() {
  for (;;) {
    size_t k;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return closed_ || !queue_.empty(); });
      if (closed_) return;
      k = queue_.front();
      queue_.pop_front();
      ++busy_;
    }
    RunRecord record;
    std::string error;
    const auto start = Clock::now();
    try {
      record = TrainRun(plan_.Run(k));
    } catch (const std::bad_alloc&) {
      error = "out of memory in run " + std::to_string(k) + "; use fewer --threads";
    } catch (const std::exception& e) {
      error = "run " + std::to_string(k) + ": " + e.what();
    }
    std::lock_guard<std::mutex> lock(mu_);
    --busy_;
    run_seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
    ++runs_;
    if (error.empty()) outbox_.emplace_back(k, std::move(record));
    else errors_.push_back(error);
    main_cv_.notify_one();
  }
}

int Worker::Run() {
  struct sigaction sa, old_int, old_term;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = OnWorkerSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);

  Hello hello;
  hello.pid = getpid();
  const std::string host = HostName();
  std::strncpy(hello.host, host.c_str(), sizeof hello.host - 1);
  hello.plan = PlanDigest(plan_);
  Send(0, kHello, &hello, sizeof hello);

  std::vector<std::thread> pool;
  struct JoinPool {  // also when an MPI call fails: no thread may outlive Run
    Worker* w;
    std::vector<std::thread>* pool;
    ~JoinPool() {
      {
        std::lock_guard<std::mutex> lock(w->mu_);
        w->closed_ = true;
        w->work_cv_.notify_all();
      }
      for (std::thread& t : *pool) t.join();
    }
  } join_pool{this, &pool};
  for (int i = 0; i < threads_; ++i) pool.emplace_back([this] { Compute(); });
  const size_t V = SweepJournalHeader(plan_).values_per_run;
  const size_t T = static_cast<size_t>(threads_);
  bool stopped = false, asked = false;
  auto retry = Clock::now();
  Outbox outbox;  // the records, sent without waiting for rank 0
  for (;;) {
    std::vector<std::pair<size_t, RunRecord>> out;
    std::vector<std::string> errors;
    size_t pending, ahead;
    {
      std::lock_guard<std::mutex> lock(mu_);
      out.swap(outbox_);
      errors.swap(errors_);
      pending = queue_.size() + static_cast<size_t>(busy_);
      // Runs to hold, queued or running: one per thread, and for short runs
      // about 3 ms of them queued, so that a thread never waits for rank 0's
      // answer (it polls every 0.25-1 ms). Long runs are not queued: a run
      // held here is one that another rank may lack at the end of the sweep.
      const double mean = runs_ > 0 ? run_seconds_ / static_cast<double>(runs_) : 0.0;
      size_t queued = 0;
      if (mean > 0 && mean < 0.05) {
        queued = T * std::clamp<size_t>(static_cast<size_t>(std::ceil(0.003 / mean)), 1, 16);
      }
      ahead = T + queued;
    }
    for (auto& [k, record] : out) {
      ADVLAB_CHECK_EQ(record.values.size(), V);
      std::vector<char> bytes(8 + 8 * V);
      const uint64_t k64 = k;
      std::memcpy(bytes.data(), &k64, 8);
      std::memcpy(bytes.data() + 8, record.values.data(), 8 * V);
      outbox.Send(0, kRecord, std::move(bytes));
    }
    outbox.Progress();
    for (const std::string& e : errors) Send(0, kFailed, e.data(), e.size());
    for (Message m; Poll(0, &m);) {
      if (m.tag == kWork) {
        asked = false;
        const size_t n = m.bytes.size() / sizeof(uint64_t);
        if (n == 0) retry = Clock::now() + milliseconds(20);  // none now: runs may come back
        std::lock_guard<std::mutex> lock(mu_);
        for (size_t i = 0; i < n && !stopped; ++i) {
          uint64_t k;
          std::memcpy(&k, m.bytes.data() + i * sizeof k, sizeof k);
          queue_.push_back(k);
        }
        pending = queue_.size() + static_cast<size_t>(busy_);
        work_cv_.notify_all();
      } else if (m.tag == kStop) {
        stopped = true;
      }
    }
    if (!errors.empty() || g_worker_signal.load() != 0) stopped = true;
    if (stopped) {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.clear();  // not started: rank 0 hands them out again or a resume makes them
      pending = static_cast<size_t>(busy_) + outbox_.size() + errors_.size();
    }
    if (stopped && !asked && pending == 0) break;
    if (!stopped && !asked && pending < ahead && Clock::now() >= retry) {
      const int64_t want = static_cast<int64_t>(ahead - pending);
      Send(0, kRequest, &want, sizeof want);
      asked = true;
    }
    // A run that finishes wakes this thread; else poll rank 0 every 2 ms (for
    // kStop), or every 0.1 ms while a thread has no run (MPI's blocking calls
    // would spin).
    const microseconds nap(pending < T ? 100 : 2000);
    std::unique_lock<std::mutex> lock(mu_);
    main_cv_.wait_for(lock, nap, [&] { return !outbox_.empty() || !errors_.empty(); });
  }
  Send(0, kDone);  // after the records: messages to a rank keep their order
  outbox.Drain();
  int32_t status[2] = {1, 0};
  for (Message m;;) {  // rank 0 writes the file meanwhile; MPI's blocking receive would spin
    if (Poll(0, &m)) {
      if (m.tag == kStatus && m.bytes.size() == sizeof status) {
        std::memcpy(status, m.bytes.data(), sizeof status);
        break;
      }
      continue;
    }
    std::this_thread::sleep_for(milliseconds(2));
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return status[1] != 0 ? -status[0] - 1 : status[0];
}

}  // namespace

int Work(const SweepPlan& plan, int threads) { return Worker(plan, threads).Run(); }

}  // namespace mpi
}  // namespace advlab
