#include "mmusim/testbench/progress.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <chrono>

namespace mmusim::testbench {

std::optional<ProgressMode> progress_mode(const std::string& name) {
  if (name == "auto") return ProgressMode::kAuto;
  if (name == "always") return ProgressMode::kAlways;
  if (name == "never") return ProgressMode::kNever;
  return std::nullopt;
}

namespace {
double steady_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}
}  // namespace

// auto: only on a terminal (a log file gets no progress); always: on a terminal or, as plain
// lines, anywhere else.
ProgressLine::ProgressLine(ProgressMode mode, std::ostream& out, bool is_tty, Timing timing,
                           std::function<double()> clock)
    : enabled_(mode == ProgressMode::kAlways || (mode == ProgressMode::kAuto && is_tty)),
      tty_(is_tty),
      out_(out),
      timing_(timing),
      clock_(clock ? std::move(clock) : steady_seconds),
      start_(clock_()) {}

std::string ProgressLine::format(std::size_t step, std::size_t steps, Cycles cycles, double seconds) {
  const double c = static_cast<double>(cycles);
  const std::string cyc = c >= 1e9   ? fmt::format("{:.1f}G", c / 1e9)
                          : c >= 1e6 ? fmt::format("{:.1f}M", c / 1e6)
                          : c >= 1e3 ? fmt::format("{:.1f}k", c / 1e3)
                                     : fmt::format("{}", cycles);
  return fmt::format("[mmusim] step {}/{}, {} cycles, {:.1f} s", step, steps, cyc, seconds);
}

void ProgressLine::update(std::size_t step, std::size_t steps, Cycles cycles) {
  if (!enabled_) return;
  const double now = clock_();
  const double elapsed = now - start_;
  if (elapsed < timing_.delay) return;
  if (last_ >= 0 && now - last_ < (tty_ ? timing_.tty_interval : timing_.plain_interval)) return;
  last_ = now;
  const std::string line = format(step, steps, cycles, elapsed);
  if (tty_) {
    fmt::print(out_, "\r{}\x1b[K", line);  // erase what a longer earlier line left
    open_line_ = true;
  } else {
    fmt::print(out_, "{}\n", line);
  }
  out_.flush();
}

void ProgressLine::finish() {
  if (!open_line_) return;
  fmt::print(out_, "\n");
  out_.flush();
  open_line_ = false;
}

}  // namespace mmusim::testbench
