// The progress of a sweep on stderr, never in the results file. On a terminal
// one line redrawn in place twice a second; elsewhere (a log file, a job
// array) a plain line every 10 seconds (ADVLAB_PROGRESS_SECONDS=S changes
// that, for tests), for sweeps of more than one run. Each line: runs done / total, rollouts per second, time
// elapsed and the ETA, the last two from the runs this process made.
#ifndef ADVLAB_EXPERIMENTS_PROGRESS_H_
#define ADVLAB_EXPERIMENTS_PROGRESS_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace advlab {

class Progress {
 public:
  // `total` runs, `resumed` of them done before this process started; `quiet`
  // prints nothing.
  Progress(uint64_t total, uint64_t resumed, bool quiet);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // A run finished that made `rollouts` rollouts. Thread-safe, lock-free.
  void RunDone(double rollouts);
  // Stops reporting; on a terminal redraws the line a last time and ends it.
  void Stop();

  // The line (without "\r" or a newline) at `elapsed` seconds; for tests.
  static std::string Line(uint64_t done, uint64_t total, uint64_t resumed, double rollouts,
                          double elapsed);

 private:
  void Loop();
  void Draw();

  const uint64_t total_, resumed_;
  const bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::milliseconds every_;
  std::atomic<uint64_t> done_{0};
  std::atomic<uint64_t> rollouts_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool drawn_ = false;
  std::thread thread_;
};

}  // namespace advlab

#endif  // ADVLAB_EXPERIMENTS_PROGRESS_H_
