// The progress line of long runs, on stderr only (stdout stays parseable): after `delay` host
// seconds, "[mmusim] step 1200/5000, 3.4M cycles, 12.1 s", rewritten in place with '\r' on a
// terminal, or (--progress=always on a pipe or file) a plain line every `interval` seconds.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "mmusim/arch/types.h"

namespace mmusim::testbench {

enum class ProgressMode { kAuto, kAlways, kNever };
// "auto", "always", "never"; nullopt otherwise.
std::optional<ProgressMode> progress_mode(const std::string& name);

struct ProgressTiming {
  double delay = 2.0;            // seconds before the first line
  double tty_interval = 0.25;    // between rewrites on a terminal
  double plain_interval = 10.0;  // between plain lines
};

class ProgressLine {
 public:
  using Timing = ProgressTiming;
  // `clock`: host seconds (steady); the default reads std::chrono::steady_clock.
  ProgressLine(ProgressMode mode, std::ostream& out, bool is_tty, Timing timing = Timing(),
               std::function<double()> clock = {});
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine() { finish(); }

  // Cheap when nothing is due: one clock read.
  void update(std::size_t step, std::size_t steps, Cycles cycles);
  // Ends a rewritten line with a newline, so that what follows starts on its own line.
  void finish();

  static std::string format(std::size_t step, std::size_t steps, Cycles cycles, double seconds);

 private:
  bool enabled_ = false;
  bool tty_ = false;
  std::ostream& out_;
  Timing timing_;
  std::function<double()> clock_;
  double start_ = 0;
  double last_ = -1;  // host time of the last line; < 0: none yet
  bool open_line_ = false;
};

}  // namespace mmusim::testbench
