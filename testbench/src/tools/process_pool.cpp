#include "mmusim/testbench/tools/process_pool.h"

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

extern char** environ;

namespace mmusim::testbench::tools {
namespace {

constexpr int kNotStarted = 127;

int status_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return kNotStarted;
}

// Starts argv with stdout and stderr to log_path (or inherited); -1 when it cannot start.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!log_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  }
  pid_t pid = -1;
  const int err = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return err == 0 ? pid : -1;
}

pid_t wait_child(int& wait_status) {
  for (;;) {
    const pid_t pid = waitpid(-1, &wait_status, 0);
    if (pid >= 0 || errno != EINTR) return pid;
  }
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::vector<int> run_jobs(const std::vector<Job>& jobs, unsigned parallel, const JobDone& on_done) {
  std::vector<int> statuses(jobs.size(), kNotStarted);
  std::map<pid_t, std::size_t> running;
  std::size_t next = 0;
  parallel = std::max(parallel, 1u);
  while (next < jobs.size() || !running.empty()) {
    while (next < jobs.size() && running.size() < parallel) {
      const std::size_t index = next++;
      const pid_t pid = spawn(jobs[index].argv, jobs[index].log_path);
      if (pid < 0) {
        if (on_done) on_done(index, kNotStarted);
        continue;
      }
      running[pid] = index;
    }
    if (running.empty()) continue;
    int wait_status = 0;
    const pid_t pid = wait_child(wait_status);
    if (pid < 0) break;  // no children left to wait for
    const auto it = running.find(pid);
    if (it == running.end()) continue;  // not one of ours
    const std::size_t index = it->second;
    running.erase(it);
    statuses[index] = status_of(wait_status);
    if (on_done) on_done(index, statuses[index]);
  }
  return statuses;
}

int run_command(const std::vector<std::string>& argv) {
  std::cout.flush();  // what we printed comes before what the child prints
  std::fflush(nullptr);
  const pid_t pid = spawn(argv, "");
  if (pid < 0) return kNotStarted;
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0)
    if (errno != EINTR) return kNotStarted;
  return status_of(wait_status);
}

unsigned available_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return static_cast<unsigned>(CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::string self_executable() {
  std::error_code ec;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : path.string();
}

Progress::Progress(std::string what, std::size_t total)
    : what_(std::move(what)), total_(total), tty_(isatty(STDERR_FILENO) != 0), start_(now_seconds()) {
  if (tty_) print(false);
}

void Progress::done(int status) {
  ++done_;
  if (status != 0) ++failed_;
  if (tty_) print(false);
}

void Progress::finish() { print(true); }

void Progress::print(bool final) {
  const std::string line = fmt::format("{}: {}/{} done, {} failed, {:.1f} s", what_, done_, total_, failed_,
                                       now_seconds() - start_);
  if (tty_)
    std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), final ? "\n" : "");
  else if (final)
    std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace mmusim::testbench::tools
