// Runs commands as child processes (posix_spawn), at most `parallel` at a time: the engine of
// `mmusim sweep` and `mmusim cow`. Each child's stdout and stderr go to its log file.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace mmusim::testbench::tools {

struct Job {
  std::vector<std::string> argv;  // argv[0] is the program's path
  std::string log_path;           // stdout and stderr; empty: inherit the parent's
};

// The exit status of a finished child: its exit code, 128 + the signal that killed it, or 127
// when it could not be started.
using JobDone = std::function<void(std::size_t index, int status)>;

// Runs every job and returns their statuses in job order. on_done is called in the parent as
// each job finishes (in completion order).
std::vector<int> run_jobs(const std::vector<Job>& jobs, unsigned parallel, const JobDone& on_done = {});

// Runs one command in the foreground (stdout and stderr inherited) and returns its status.
int run_command(const std::vector<std::string>& argv);

// The number of CPUs this process may use (at least 1).
unsigned available_cpus();

// The absolute path of the running executable (/proc/self/exe).
std::string self_executable();

// "points done/total, failed" on stderr: rewritten in place on a terminal, otherwise one line
// when everything is done. Host times appear only here.
class Progress {
 public:
  Progress(std::string what, std::size_t total);
  void done(int status);
  void finish();

 private:
  void print(bool final);
  std::string what_;
  std::size_t total_;
  std::size_t done_ = 0;
  std::size_t failed_ = 0;
  bool tty_;
  double start_;
};

}  // namespace mmusim::testbench::tools
