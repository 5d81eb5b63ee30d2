// The scenario-file parser (docs/scenarios.md). It resolves every name statically (processes,
// threads and their cores, regions, pins) so that the runner never meets bad input.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "mmusim/machine/machine_config.h"
#include "mmusim/mm/kernel.h"
#include "mmusim/testbench/scenario.h"

namespace mmusim::testbench {
namespace {

struct Token {
  std::string text;
  int column;
};

std::vector<Token> tokenize(const std::string& line) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < line.size()) {
    if (line[i] == '#') break;
    if (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
      ++i;
      continue;
    }
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '#') ++i;
    tokens.push_back({line.substr(start, i - start), static_cast<int>(start) + 1});
  }
  return tokens;
}

// What the parser knows of the names defined so far.
struct ParseState {
  std::set<std::string> procs;
  std::map<std::string, std::string> dead;      // process -> why it is gone
  std::map<std::string, std::uint64_t> regions;  // region -> pages
  std::map<std::string, CpuId> actors;           // "P" / "P.t2" -> cpu
  struct Pin {
    Actor actor;
    bool open = false;      // pin_begin without pin_end yet
    bool released = false;  // unpinned
    Location begun;         // the pin step
  };
  std::map<std::string, Pin> pins;
  std::map<std::string, Location> paused;  // actor -> its `fork ... pause` not yet resumed
  unsigned cores = 1;
  std::string known_bad;
};

// Parses one line's tokens against the state.
class LineParser {
 public:
  LineParser(const std::string& file, int line, std::vector<Token> tokens, ParseState& state)
      : file_(file), line_(line), tokens_(std::move(tokens)), st_(state) {}

  // nullopt for a directive that is not a step (known-bad).
  std::optional<Step> parse() {
    Step step;
    step.where = where(0);
    const std::string& op = tokens_[0].text;
    if (op == "known-bad") {
      if (tokens_.size() < 2) fail(0, "known-bad needs a description of the documented bad outcome");
      for (std::size_t i = 1; i < tokens_.size(); ++i) st_.known_bad += (i > 1 ? " " : "") + tokens_[i].text;
      return std::nullopt;
    }
    strip_expect_errno(step);
    if (op == "process") step.op = parse_process(step);
    else if (op == "thread") step.op = parse_thread(step);
    else if (op == "mmap") step.op = parse_mmap(step);
    else if (op == "read") step.op = parse_access(step, AccessStep::Kind::kRead);
    else if (op == "write") step.op = parse_access(step, AccessStep::Kind::kWrite);
    else if (op == "fetch") step.op = parse_access(step, AccessStep::Kind::kFetch);
    else if (op == "prefetch") step.op = parse_prefetch(step);
    else if (op == "fork") step.op = parse_fork(step);
    else if (op == "resume") step.op = parse_resume(step);
    else if (op == "clear_refs") step.op = parse_clear_refs(step);
    else if (op == "exit") step.op = parse_exit(step);
    else if (op == "munmap") step.op = parse_range(step, RangeStep::Kind::kMunmap);
    else if (op == "mprotect") step.op = parse_range(step, RangeStep::Kind::kMprotect);
    else if (op == "madvise") step.op = parse_range(step, RangeStep::Kind::kMadvise);
    else if (op == "numa_scan") step.op = parse_range(step, RangeStep::Kind::kNumaScan);
    else if (op == "swapout") step.op = parse_swapout(step);
    else if (op == "swapoff") step.op = parse_swap_device(step, SwapDeviceStep::Kind::kSwapoff);
    else if (op == "writeback_done") step.op = parse_swap_device(step, SwapDeviceStep::Kind::kWritebackDone);
    else if (op == "pin" || op == "get" || op == "pin_begin") step.op = parse_pin(step, op);
    else if (op == "pin_end") step.op = parse_pin_end(step);
    else if (op == "unpin") step.op = parse_unpin(step);
    else if (op == "dma_read" || op == "dma_write") step.op = parse_dma(op == "dma_write");
    else if (op == "fence") step.op = parse_fence(step);
    else if (op == "expect") step.op = parse_expect();
    else
      fail(0, fmt::format("unknown operation '{}' (process, thread, mmap, read, write, fetch, prefetch, fork, resume, exit, clear_refs, numa_scan, "
                          "munmap, mprotect, madvise, swapout, swapoff, writeback_done, pin, get, pin_begin, pin_end, unpin, dma_read, "
                          "dma_write, fence, expect, known-bad)",
                          op));
    // Nothing else runs on a core inside a GUP-fast section: interrupts (and so preemption) are
    // off there until its pin_end. The section's own thread may still load and store: those
    // accesses stand for what it did through its (possibly stale) translations in that window.
    if (step.cpu && !std::holds_alternative<PinEndStep>(step.op))
      for (const auto& [name, pin] : st_.pins) {
        if (!pin.open || st_.actors.at(pin.actor.str()) != *step.cpu) continue;
        if (std::holds_alternative<PinStep>(step.op) && std::get<PinStep>(step.op).name == name) continue;
        const auto* access = std::get_if<AccessStep>(&step.op);
        if (access && Actor{access->proc, access->thread}.str() == pin.actor.str()) continue;
        fail(0, fmt::format("cpu{} is inside {}'s GUP-fast section (pin_begin {} at line {}) until pin_end {}; "
                            "only {}'s own loads and stores may run there",
                            *step.cpu, pin.actor.str(), name, pin.begun.line, name, pin.actor.str()));
      }
    if (step.expect_errno && !returns_error(step))
      throw ScenarioError({file_, line_, errno_column_}, fmt::format("'{}' does not return an error to expect", op));
    return step;
  }

 private:
  static bool returns_error(const Step& s) {
    return std::holds_alternative<MmapStep>(s.op) || std::holds_alternative<RangeStep>(s.op) ||
           std::holds_alternative<SwapoutStep>(s.op) || std::holds_alternative<SwapDeviceStep>(s.op) ||
           std::holds_alternative<ClearRefsStep>(s.op) ||
           std::holds_alternative<PinStep>(s.op) ||
           std::holds_alternative<PinEndStep>(s.op) || std::holds_alternative<UnpinStep>(s.op) ||
           std::holds_alternative<ForkStep>(s.op);
  }

  Location where(std::size_t token) const {
    return {file_, line_, token < tokens_.size() ? tokens_[token].column : 1};
  }
  [[noreturn]] void fail(std::size_t token, const std::string& reason) const {
    throw ScenarioError(where(token), reason);
  }
  const std::string& tok(std::size_t i, const char* what) const {
    if (i >= tokens_.size())
      throw ScenarioError({file_, line_, tokens_.back().column + static_cast<int>(tokens_.back().text.size())},
                          fmt::format("missing {} after '{}'", what, tokens_.back().text));
    return tokens_[i].text;
  }
  void expect_count_at_most(std::size_t n) const {
    if (tokens_.size() > n) fail(n, fmt::format("unexpected '{}'", tokens_[n].text));
  }

  // A trailing "expect ENAME" (an errno) is taken off the token list.
  void strip_expect_errno(Step& step) {
    const std::size_t n = tokens_.size();
    if (n < 3 || tokens_[n - 2].text != "expect") return;
    const std::string& name = tokens_[n - 1].text;
    if (name.size() < 2 || name[0] != 'E' || !std::isupper(static_cast<unsigned char>(name[1]))) return;
    const auto err = errno_by_name(name);
    if (!err) fail(n - 1, fmt::format("unknown errno '{}'", name));
    step.expect_errno = *err;
    errno_column_ = tokens_[n - 2].column;
    tokens_.resize(n - 2);
  }

  static bool valid_name(const std::string& s) {
    if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    for (char c : s)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
    return true;
  }

  std::uint64_t number(std::size_t i, const char* what) const { return parse_number(tok(i, what), i, what); }
  std::uint64_t parse_number(const std::string& s, std::size_t i, const char* what) const {
    const auto value = parse_u64(s);
    if (!value) fail(i, fmt::format("bad number '{}' for {} (decimal or 0x-hex, at most 64 bits)", s, what));
    return *value;
  }

  CpuId parse_cpu(const std::string& s, std::size_t i) {
    const std::uint64_t cpu = parse_number(s, i, "cpu");
    if (cpu >= machine::kMaxCores) fail(i, fmt::format("cpu={} is outside 0..{}", cpu, machine::kMaxCores - 1));
    st_.cores = std::max(st_.cores, static_cast<unsigned>(cpu) + 1);
    return static_cast<CpuId>(cpu);
  }

  // ACTOR := PROC | PROC.THREAD, alive and known.
  Actor actor(std::size_t i, Step& step) const {
    const std::string& s = tok(i, "process or thread name");
    Actor a;
    const auto dot = s.find('.');
    a.proc = s.substr(0, dot);
    if (dot != std::string::npos) a.thread = s.substr(dot + 1);
    if (!st_.procs.count(a.proc)) fail(i, fmt::format("undefined process '{}'", a.proc));
    if (auto it = st_.dead.find(a.proc); it != st_.dead.end())
      fail(i, fmt::format("process '{}' is no longer alive ({})", a.proc, it->second));
    auto it = st_.actors.find(s);
    if (it == st_.actors.end()) fail(i, fmt::format("undefined thread '{}' (declare it with: thread {} cpu=N)", s, s));
    step.cpu = it->second;
    return a;
  }
  std::string new_proc(std::size_t i) const {
    const std::string& name = tok(i, "process name");
    if (!valid_name(name)) fail(i, fmt::format("bad process name '{}' (letters, digits, _)", name));
    if (st_.procs.count(name)) fail(i, fmt::format("process '{}' is already defined", name));
    st_.procs.insert(name);
    return name;
  }

  // ADDR := REGION | REGION+OFFSET | REGION+Np | NUMBER
  AddrExpr addr(std::size_t i) const {
    const std::string& s = tok(i, "address");
    AddrExpr a;
    if (std::isdigit(static_cast<unsigned char>(s[0]))) {
      a.offset = parse_number(s, i, "address");
      return a;
    }
    const auto plus = s.find('+');
    a.region = s.substr(0, plus);
    if (!st_.regions.count(a.region)) fail(i, fmt::format("undefined region '{}'", a.region));
    if (plus != std::string::npos) {
      std::string off = s.substr(plus + 1);
      const bool pages = !off.empty() && off.back() == 'p';
      if (pages) off.pop_back();
      a.offset = parse_number(off, i, "region offset");
      if (pages) {
        if (a.offset > (UINT64_MAX >> kPageShift)) fail(i, fmt::format("offset '{}' is too large", s));
        a.offset <<= kPageShift;
      }
    }
    return a;
  }

  // Trailing words: key=value options and bare flags from `flags`.
  struct Options {
    std::map<std::string, std::pair<std::string, std::size_t>> values;
    std::set<std::string> flags;
  };
  Options options(std::size_t from, std::set<std::string> keys, std::set<std::string> flags = {}) const {
    Options out;
    for (std::size_t i = from; i < tokens_.size(); ++i) {
      const std::string& t = tokens_[i].text;
      const auto eq = t.find('=');
      if (eq == std::string::npos) {
        if (!flags.count(t)) fail(i, fmt::format("unexpected '{}'", t));
        if (!out.flags.insert(t).second) fail(i, fmt::format("'{}' given twice", t));
        continue;
      }
      const std::string key = t.substr(0, eq);
      if (!keys.count(key)) fail(i, fmt::format("unknown option '{}'", key));
      if (out.values.count(key)) fail(i, fmt::format("option '{}' given twice", key));
      out.values[key] = {t.substr(eq + 1), i};
    }
    return out;
  }

  unsigned parse_prot(const std::string& s, std::size_t i) const {
    if (s == "none") return mm::kProtNone;
    if (s == "r") return mm::kProtRead;
    if (s == "rw") return mm::kProtRead | mm::kProtWrite;
    if (s == "rx") return mm::kProtRead | mm::kProtExec;
    if (s == "rwx") return mm::kProtRead | mm::kProtWrite | mm::kProtExec;
    fail(i, fmt::format("bad prot '{}' (none, r, rw, rx or rwx)", s));
  }

  // `expect V|SIGNAL|VERDICT` at `i`: returns the index after it.
  std::size_t access_expect(std::size_t i, bool value_allowed, bool signal_allowed, AccessExpect& kind,
                            std::uint64_t& expected, std::string& what) const {
    if (i >= tokens_.size() || tokens_[i].text != "expect") return i;
    const std::string& e = tok(i + 1, "expected value, signal or oracle verdict");
    if (e == "SIGSEGV" || e == "SIGBUS" || e == "OOM-kill") {
      if (!signal_allowed) fail(i + 1, "a device access cannot expect a signal");
      kind = AccessExpect::kSignal;
      what = e;
    } else if (e == "missed-COW" || e == "wrong-COW" || e == "lost-store") {
      if (!value_allowed) fail(i + 1, "only a read can expect an oracle verdict");
      kind = AccessExpect::kOracle;
      what = e == "missed-COW" ? "missed COW" : e == "wrong-COW" ? "wrong COW" : "lost store";
    } else if (!value_allowed) {
      fail(i + 1, "a write or fetch can only expect a signal (SIGSEGV, SIGBUS or OOM-kill)");
    } else {
      kind = AccessExpect::kValue;
      expected = number(i + 1, "expected value");
    }
    return i + 2;
  }

  unsigned parse_size(const Options& o) const {
    auto it = o.values.find("size");
    if (it == o.values.end()) return 8;
    const std::uint64_t size = parse_number(it->second.first, it->second.second, "size");
    if (size != 1 && size != 2 && size != 4 && size != 8) fail(it->second.second, "size must be 1, 2, 4 or 8");
    return static_cast<unsigned>(size);
  }

  ProcessStep parse_process(Step& step) {
    ProcessStep p{new_proc(1)};
    const Options o = options(2, {"cpu"});
    CpuId cpu = 0;
    if (auto it = o.values.find("cpu"); it != o.values.end()) cpu = parse_cpu(it->second.first, it->second.second);
    st_.actors[p.name] = cpu;
    step.cpu = cpu;
    return p;
  }

  ThreadStep parse_thread(Step& step) {
    const std::string& s = tok(1, "thread name (PROC.NAME)");
    const auto dot = s.find('.');
    if (dot == std::string::npos) fail(1, fmt::format("'{}' is not a thread name (PROC.NAME)", s));
    ThreadStep t;
    t.actor.proc = s.substr(0, dot);
    t.actor.thread = s.substr(dot + 1);
    if (!st_.procs.count(t.actor.proc)) fail(1, fmt::format("undefined process '{}'", t.actor.proc));
    if (auto it = st_.dead.find(t.actor.proc); it != st_.dead.end())
      fail(1, fmt::format("process '{}' is no longer alive ({})", t.actor.proc, it->second));
    if (!valid_name(t.actor.thread)) fail(1, fmt::format("bad thread name '{}'", t.actor.thread));
    if (st_.actors.count(s)) fail(1, fmt::format("thread '{}' is already defined", s));
    const Options o = options(2, {"cpu"});
    auto it = o.values.find("cpu");
    if (it == o.values.end()) fail(1, "a thread needs a core: thread PROC.NAME cpu=N");
    const CpuId cpu = parse_cpu(it->second.first, it->second.second);
    st_.actors[s] = cpu;
    step.cpu = cpu;
    return t;
  }

  MmapStep parse_mmap(Step& step) {
    MmapStep m;
    m.proc = actor(1, step).proc;
    m.region = tok(2, "region name");
    if (!valid_name(m.region)) fail(2, fmt::format("bad region name '{}' (letters, digits, _)", m.region));
    if (st_.regions.count(m.region)) fail(2, fmt::format("region '{}' is already defined", m.region));
    m.pages = number(3, "page count");
    if (m.pages == 0 || m.pages > (1ull << 35)) fail(3, "page count must be between 1 and 2^35");
    m.prot = mm::kProtRead | mm::kProtWrite;
    for (auto& [key, v] : options(4, {"prot", "at"}).values) {
      if (key == "prot") {
        m.prot = parse_prot(v.first, v.second);
      } else {
        m.at = parse_number(v.first, v.second, "at");
        if (*m.at % kPageSize) fail(v.second, "at= must be page-aligned");
      }
    }
    st_.regions[m.region] = m.pages;
    return m;
  }

  AccessStep parse_prefetch(Step& step) {
    AccessStep a;
    a.kind = AccessStep::Kind::kPrefetch;
    const Actor who = actor(1, step);
    a.proc = who.proc;
    a.thread = who.thread;
    a.addr = addr(2);
    expect_count_at_most(3);
    return a;
  }

  AccessStep parse_access(Step& step, AccessStep::Kind kind) {
    AccessStep a;
    a.kind = kind;
    a.is_write = kind == AccessStep::Kind::kWrite;
    const Actor who = actor(1, step);
    a.proc = who.proc;
    a.thread = who.thread;
    a.addr = addr(2);
    std::size_t next = 3;
    if (a.is_write) a.value = number(next++, "value");
    if (a.is_write && next < tokens_.size() && tokens_[next].text == "buffered") {
      a.buffered = true;
      ++next;
    }
    // `expect ...` may also follow the options (read P A pages=8 expect 0): take it first.
    for (std::size_t i = next + 1; i + 1 < tokens_.size(); ++i)
      if (tokens_[i].text == "expect") {
        std::rotate(tokens_.begin() + static_cast<long>(next), tokens_.begin() + static_cast<long>(i),
                    tokens_.begin() + static_cast<long>(i) + 2);
        break;
      }
    next = access_expect(next, kind == AccessStep::Kind::kRead, true, a.expect, a.expected, a.signal);
    if (a.expect == AccessExpect::kSignal)
      st_.dead[a.proc] = fmt::format("killed by the expected {} at line {}", a.signal, line_);
    const Options o = kind == AccessStep::Kind::kFetch ? options(next, {"size"}) : options(next, {"size", "pages"});
    a.size = parse_size(o);
    if (kind == AccessStep::Kind::kFetch && a.size != 8) fail(next, "a fetch has no size");
    if (auto it = o.values.find("pages"); it != o.values.end()) a.pages = parse_access_pages(a, it->second);
    if (a.size < 8) {
      const std::uint64_t limit = 1ull << (8 * a.size);
      if (a.value >= limit) fail(3, fmt::format("value {} does not fit in {} bytes", a.value, a.size));
      if (a.expect == AccessExpect::kValue && a.expected >= limit)
        fail(4, fmt::format("expected value {} does not fit in {} bytes", a.expected, a.size));
    }
    if (a.addr.offset % kPageSize + a.size > kPageSize) fail(2, "access crosses a page boundary");
    if (a.addr.offset % a.size) fail(2, fmt::format("address is not {}-byte aligned", a.size));
    return a;
  }

  // pages=N of a read or write: N >= 1, inside ADDR's region (an absolute address is not checked:
  // the kernel decides, as for any access).
  std::uint64_t parse_access_pages(const AccessStep& a, const std::pair<std::string, std::size_t>& v) const {
    const std::uint64_t pages = parse_number(v.first, v.second, "pages");
    if (pages == 0) fail(v.second, "pages must be at least 1");
    if (pages > (1ull << 35)) fail(v.second, "pages must be at most 2^35");
    if (a.buffered && pages > 1) fail(v.second, "a buffered write takes one page (drop pages= or buffered)");
    if (!a.addr.region.empty()) {
      const std::uint64_t region_pages = st_.regions.at(a.addr.region);
      const std::uint64_t first = a.addr.offset >> kPageShift;
      if (first >= region_pages || pages > region_pages - first)
        fail(v.second, fmt::format("pages={} from {} goes beyond region {} ({} pages)", pages, a.addr.str(),
                                   a.addr.region, region_pages));
    }
    return pages;
  }

  ForkStep parse_fork(Step& step) {
    ForkStep f;
    const Actor who = actor(1, step);
    f.parent = who.proc;
    f.thread = who.thread;
    f.child = new_proc(2);
    const Options o = options(3, {"cpu"}, {"pause"});
    CpuId cpu = *step.cpu;
    if (auto it = o.values.find("cpu"); it != o.values.end()) cpu = parse_cpu(it->second.first, it->second.second);
    st_.actors[f.child] = cpu;
    f.pause = o.flags.count("pause");
    if (f.pause) st_.paused[who.str()] = where(0);
    return f;
  }

  ClearRefsStep parse_clear_refs(Step& step) {
    ClearRefsStep c{actor(1, step)};
    expect_count_at_most(2);
    return c;
  }

  ResumeStep parse_resume(Step& step) {
    ResumeStep r;
    r.actor = actor(1, step);
    expect_count_at_most(2);
    if (!st_.paused.erase(r.actor.str()))
      fail(1, fmt::format("{} has no paused fork or swapout to resume (... pause)", r.actor.str()));
    r.cpu = *step.cpu;
    step.cpu.reset();  // instant: it runs while the fork holds the core
    return r;
  }

  ExitStep parse_exit(Step& step) {
    const Actor who = actor(1, step);
    if (!who.thread.empty()) fail(1, "exit takes a process (the whole thread group exits)");
    ExitStep e{who.proc};
    expect_count_at_most(2);
    st_.dead[e.proc] = fmt::format("exited at line {}", line_);
    return e;
  }

  RangeStep parse_range(Step& step, RangeStep::Kind kind) {
    RangeStep r;
    r.kind = kind;
    r.actor = actor(1, step);
    r.addr = addr(2);
    if (r.addr.offset % kPageSize) fail(2, "the range must start page-aligned");
    std::size_t next = 3;
    if (kind == RangeStep::Kind::kMadvise) {
      r.advice = tok(3, "advice (dontneed, dontfork, dofork, wipeonfork, keeponfork)");
      static const std::set<std::string> kAdvice = {"dontneed", "dontfork", "dofork", "wipeonfork", "keeponfork"};
      if (!kAdvice.count(r.advice))
        fail(3, fmt::format("unknown advice '{}' (dontneed, dontfork, dofork, wipeonfork, keeponfork)", r.advice));
      next = 4;
    }
    const Options o = options(next, kind == RangeStep::Kind::kMprotect ? std::set<std::string>{"pages", "prot"}
                                                                         : std::set<std::string>{"pages"});
    if (kind == RangeStep::Kind::kMprotect) {
      auto it = o.values.find("prot");
      if (it == o.values.end()) fail(0, "mprotect needs prot=none|r|rw|rx|rwx");
      r.prot = parse_prot(it->second.first, it->second.second);
    }
    if (auto it = o.values.find("pages"); it != o.values.end()) {
      r.pages = parse_number(it->second.first, it->second.second, "pages");
      if (r.pages == 0) fail(it->second.second, "pages must be nonzero");
    } else if (!r.addr.region.empty()) {
      const std::uint64_t region_pages = st_.regions.at(r.addr.region);
      const std::uint64_t first = r.addr.offset >> kPageShift;
      if (first >= region_pages) fail(2, "the address is beyond its region; give pages=N");
      r.pages = region_pages - first;
    } else {
      fail(2, "an absolute address needs pages=N");
    }
    return r;
  }

  SwapoutStep parse_swapout(Step& step) {
    SwapoutStep s;
    s.actor = actor(1, step);
    s.addr = addr(2);
    const Options o = options(3, {}, {"async", "arch_fail", "pause"});
    s.async_writeback = o.flags.count("async");
    s.arch_unmap_fails = o.flags.count("arch_fail");
    s.pause = o.flags.count("pause");
    if (s.pause) st_.paused[s.actor.str()] = where(0);
    return s;
  }

  SwapDeviceStep parse_swap_device(Step& step, SwapDeviceStep::Kind kind) {
    SwapDeviceStep s;
    s.kind = kind;
    s.actor = actor(1, step);
    expect_count_at_most(2);
    return s;
  }

  PinStep parse_pin(Step& step, const std::string& op) {
    PinStep p;
    p.actor = actor(1, step);
    p.addr = addr(2);
    if (tok(3, "'as NAME'") != "as") fail(3, fmt::format("expected 'as NAME', got '{}'", tokens_[3].text));
    p.name = tok(4, "pin name");
    if (!valid_name(p.name)) fail(4, fmt::format("bad pin name '{}' (letters, digits, _)", p.name));
    if (st_.pins.count(p.name)) fail(4, fmt::format("pin '{}' is already defined", p.name));
    p.get = op == "get";
    std::set<std::string> flags = {"rw"};
    if (op == "pin") flags.insert({"longterm", "force", "slow"});
    if (op == "get") flags.insert("slow");
    if (op == "pin_begin") flags.insert("longterm");
    const Options o = options(5, {}, flags);
    p.write = o.flags.count("rw");
    p.longterm = o.flags.count("longterm");
    p.force = o.flags.count("force");
    p.mode = op == "pin_begin" ? PinStep::Mode::kBegin : o.flags.count("slow") ? PinStep::Mode::kSlow
                                                                                : PinStep::Mode::kFast;
    st_.pins[p.name] = {p.actor, p.mode == PinStep::Mode::kBegin, false, where(0)};
    return p;
  }

  const ParseState::Pin& known_pin(std::size_t i) const {
    const std::string& name = tok(i, "pin name");
    auto it = st_.pins.find(name);
    if (it == st_.pins.end()) fail(i, fmt::format("undefined pin '{}'", name));
    return it->second;
  }

  PinEndStep parse_pin_end(Step& step) {
    const ParseState::Pin& pin = known_pin(1);
    if (!pin.open) fail(1, fmt::format("'{}' was not started by pin_begin, or has ended", tokens_[1].text));
    if (st_.dead.count(pin.actor.proc)) fail(1, fmt::format("process '{}' is no longer alive", pin.actor.proc));
    expect_count_at_most(2);
    st_.pins[tokens_[1].text].open = false;
    step.cpu = st_.actors.at(pin.actor.str());
    return {tokens_[1].text, pin.actor};
  }

  UnpinStep parse_unpin(Step& step) {
    const ParseState::Pin& pin = known_pin(1);
    if (pin.open) fail(1, fmt::format("pin '{}' is still being taken (pin_end first)", tokens_[1].text));
    if (pin.released) fail(1, fmt::format("pin '{}' was already released", tokens_[1].text));
    expect_count_at_most(2);
    st_.pins[tokens_[1].text].released = true;
    // The driver releases the pin on the pinning thread's core, even after that process exited.
    step.cpu = st_.actors.at(pin.actor.str());
    return {tokens_[1].text, pin.actor};
  }

  DmaStep parse_dma(bool is_write) {
    DmaStep d;
    d.is_write = is_write;
    const ParseState::Pin& pin = known_pin(1);
    if (pin.open) fail(1, fmt::format("pin '{}' is still being taken (pin_end first)", tokens_[1].text));
    if (pin.released) fail(1, fmt::format("pin '{}' was released", tokens_[1].text));
    d.name = tokens_[1].text;
    std::size_t next = 2;
    if (is_write) d.value = number(next++, "value");
    next = access_expect(next, !is_write, false, d.expect, d.expected, d.verdict);
    const Options o = options(next, {"size", "offset"});
    d.size = parse_size(o);
    if (auto it = o.values.find("offset"); it != o.values.end())
      d.offset = parse_number(it->second.first, it->second.second, "offset");
    if (d.offset % d.size || d.offset + d.size > kPageSize)
      fail(1, "the device access must be aligned to its size and stay within the page");
    if (d.size < 8 && d.value >> (8 * d.size)) fail(2, fmt::format("value does not fit in {} bytes", d.size));
    return d;
  }

  FenceStep parse_fence(Step& step) {
    FenceStep f{actor(1, step)};
    expect_count_at_most(2);
    return f;
  }

  std::variant<ProcessStep, ThreadStep, MmapStep, AccessStep, ForkStep, ExitStep, RangeStep, SwapoutStep, SwapDeviceStep, ResumeStep, ClearRefsStep,
               PinStep, PinEndStep, UnpinStep, DmaStep, FenceStep, ExpectStep, ExpectPinStep>
  parse_expect() {
    if (tok(1, "statistic name") == "pin") {
      ExpectPinStep e;
      known_pin(2);
      e.name = tokens_[2].text;
      const std::string& what = tok(3, "consistent or inconsistent");
      if (what != "consistent" && what != "inconsistent")
        fail(3, fmt::format("expected consistent or inconsistent, got '{}'", what));
      e.consistent = what == "consistent";
      expect_count_at_most(4);
      return e;
    }
    ExpectStep e;
    e.stat = tok(1, "statistic name");
    const std::string& op = tok(2, "comparison (==, !=, <, <=, >, >=)");
    static const std::map<std::string, Compare> kOps = {{"==", Compare::kEq}, {"!=", Compare::kNe},
                                                        {"<", Compare::kLt},  {"<=", Compare::kLe},
                                                        {">", Compare::kGt},  {">=", Compare::kGe}};
    auto it = kOps.find(op);
    if (it == kOps.end()) fail(2, fmt::format("bad comparison '{}' (==, !=, <, <=, >, >=)", op));
    e.cmp = it->second;
    e.number = static_cast<double>(number(3, "number"));
    expect_count_at_most(4);
    return e;
  }

  const std::string& file_;
  int line_;
  std::vector<Token> tokens_;
  ParseState& st_;
  int errno_column_ = 1;
};

}  // namespace

Scenario parse_scenario(const std::string& text, const std::string& file_name) {
  Scenario scenario;
  scenario.name = file_name;
  ParseState state;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    auto tokens = tokenize(line);
    if (tokens.empty()) continue;
    std::string source = trim_blanks(line.substr(0, line.find('#')));
    std::optional<Step> step = LineParser(file_name, number, std::move(tokens), state).parse();
    if (!step) continue;
    step->text = std::move(source);
    scenario.steps.push_back(std::move(*step));
  }
  // A GUP-fast section left open would keep its core's interrupts disabled to the end, and any
  // shootdown to that core would wait forever.
  for (const auto& [name, pin] : state.pins)
    if (pin.open)
      throw ScenarioError(pin.begun, fmt::format("pin_begin of '{}' has no pin_end: {}'s core would keep its "
                                                 "interrupts disabled",
                                                 name, pin.actor.str()));
  for (const auto& [actor, at] : state.paused)
    throw ScenarioError(at, fmt::format("the pause of {} has no resume: the operation would wait forever", actor));
  scenario.cores = state.cores;
  scenario.known_bad = state.known_bad;
  return scenario;
}

Scenario load_scenario(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ScenarioError({path, 0, 0}, "cannot open scenario file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_scenario(text.str(), path);
}

}  // namespace mmusim::testbench
