#include "experiments/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace advlab {
namespace {

// 42 -> "0:42", 4000 -> "1:06:40".
std::string Clock(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  char buf[48];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

// 12345 -> "12.3k".
std::string Rate(double r) {
  char buf[48];
  if (r >= 1e6) std::snprintf(buf, sizeof buf, "%.1fM", r / 1e6);
  else if (r >= 1e4) std::snprintf(buf, sizeof buf, "%.1fk", r / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", r);
  return buf;
}

std::chrono::milliseconds PlainInterval() {
  if (const char* s = std::getenv("ADVLAB_PROGRESS_SECONDS")) {
    const double v = std::strtod(s, nullptr);
    if (v > 0 && v < 1e6) return std::chrono::milliseconds(std::lround(v * 1000));
  }
  return std::chrono::milliseconds(10000);
}

}  // namespace

std::string Progress::Line(uint64_t done, uint64_t total, uint64_t resumed, double rollouts,
                           double elapsed) {
  const uint64_t made = done - resumed;
  std::string line = "advlab: " + std::to_string(done) + "/" + std::to_string(total) + " runs";
  if (resumed > 0) line += " (" + std::to_string(resumed) + " resumed)";
  line += ", " + Rate(elapsed > 0 ? rollouts / elapsed : 0.0) + " rollouts/s, " +
          Clock(elapsed) + " elapsed, ETA ";
  line += made == 0 ? (done == total ? Clock(0) : std::string("?"))
                    : Clock(elapsed / static_cast<double>(made) *
                            static_cast<double>(total - done));
  return line;
}

Progress::Progress(uint64_t total, uint64_t resumed, bool quiet)
    : total_(total), resumed_(resumed), tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      every_(tty_ ? std::chrono::milliseconds(500) : PlainInterval()), done_(resumed) {
  // A log learns nothing from "0/1 runs": plain lines are for sweeps.
  if (!quiet && (tty_ || total > 1)) thread_ = std::thread([this] { Loop(); });
}

Progress::~Progress() { Stop(); }

void Progress::RunDone(double rollouts) {
  rollouts_.fetch_add(static_cast<uint64_t>(rollouts), std::memory_order_relaxed);
  done_.fetch_add(1, std::memory_order_relaxed);
}

void Progress::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (tty_) {
    Draw();
    std::fputs("\n", stderr);
  }
}

void Progress::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, every_, [this] { return stop_; })) Draw();
}

void Progress::Draw() {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::string line = Line(done_.load(), total_, resumed_,
                                static_cast<double>(rollouts_.load()), elapsed);
  // One fputs per line, so a line never interleaves with another message.
  std::fputs(tty_ ? ("\r" + line + "\033[K").c_str() : (line + "\n").c_str(), stderr);
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace advlab
