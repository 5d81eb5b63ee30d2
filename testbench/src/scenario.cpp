#include "mmusim/testbench/scenario.h"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "mmusim/mm/kernel.h"

namespace mmusim::testbench {

std::string Location::str() const {
  return line > 0 ? fmt::format("{}:{}:{}", file, line, column) : file;
}

ScenarioError::ScenarioError(const Location& where, const std::string& reason)
    : std::runtime_error(fmt::format("{}: error: {}", where.str(), reason)) {}

std::string AddrExpr::str() const {
  if (region.empty()) return fmt::format("{:#x}", offset);
  return offset ? fmt::format("{}+{:#x}", region, offset) : region;
}

const char* compare_symbol(Compare cmp) {
  switch (cmp) {
    case Compare::kEq: return "==";
    case Compare::kNe: return "!=";
    case Compare::kLt: return "<";
    case Compare::kLe: return "<=";
    case Compare::kGt: return ">";
    case Compare::kGe: return ">=";
  }
  return "?";
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  std::uint64_t value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    first += 2;
    base = 16;
  }
  auto [ptr, ec] = std::from_chars(first, last, value, base);
  if (first == last || ec != std::errc() || ptr != last) return std::nullopt;
  return value;
}

bool compare(double lhs, Compare cmp, double rhs) {
  switch (cmp) {
    case Compare::kEq: return lhs == rhs;
    case Compare::kNe: return lhs != rhs;
    case Compare::kLt: return lhs < rhs;
    case Compare::kLe: return lhs <= rhs;
    case Compare::kGt: return lhs > rhs;
    case Compare::kGe: return lhs >= rhs;
  }
  return false;
}

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

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Parses one line's tokens; keeps the static state that makes names checkable.
class LineParser {
 public:
  LineParser(const std::string& file, int line, std::vector<Token> tokens, std::set<std::string>& procs,
             std::map<std::string, std::string>& dead, std::set<std::string>& regions)
      : file_(file), line_(line), tokens_(std::move(tokens)), procs_(procs), dead_(dead), regions_(regions) {}

  Step parse() {
    Step step;
    step.where = where(0);
    const std::string& op = tokens_[0].text;
    if (op == "process") step.op = parse_process();
    else if (op == "mmap") step.op = parse_mmap();
    else if (op == "read") step.op = parse_access(false);
    else if (op == "write") step.op = parse_access(true);
    else if (op == "fork") step.op = parse_fork();
    else if (op == "exit") step.op = parse_exit();
    else if (op == "expect") step.op = parse_expect();
    else
      fail(0, fmt::format("unknown operation '{}' (expected process, mmap, read, write, fork, exit or "
                          "expect)", op));
    return step;
  }

 private:
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

  static bool valid_name(const std::string& s) {
    if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    for (char c : s)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
    return true;
  }

  std::uint64_t number(std::size_t i, const char* what) const {
    return parse_number(tok(i, what), i, what);
  }
  std::uint64_t parse_number(const std::string& s, std::size_t i, const char* what) const {
    const auto value = parse_u64(s);
    if (!value) fail(i, fmt::format("bad number '{}' for {} (decimal or 0x-hex, at most 64 bits)", s, what));
    return *value;
  }

  std::string live_proc(std::size_t i) const {
    const std::string& name = tok(i, "process name");
    if (!procs_.count(name)) fail(i, fmt::format("undefined process '{}'", name));
    if (auto it = dead_.find(name); it != dead_.end())
      fail(i, fmt::format("process '{}' is no longer alive ({})", name, it->second));
    return name;
  }
  std::string new_proc(std::size_t i) const {
    const std::string& name = tok(i, "process name");
    if (!valid_name(name)) fail(i, fmt::format("bad process name '{}' (letters, digits, _)", name));
    if (procs_.count(name)) fail(i, fmt::format("process '{}' is already defined", name));
    procs_.insert(name);
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
    if (!regions_.count(a.region)) fail(i, fmt::format("undefined region '{}'", a.region));
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

  // Trailing key=value options; returns the value for `key` if present.
  std::map<std::string, std::pair<std::string, std::size_t>> options(std::size_t from,
                                                                     std::set<std::string> allowed) const {
    std::map<std::string, std::pair<std::string, std::size_t>> out;
    for (std::size_t i = from; i < tokens_.size(); ++i) {
      const std::string& t = tokens_[i].text;
      const auto eq = t.find('=');
      if (eq == std::string::npos) fail(i, fmt::format("unexpected '{}' (options are key=value)", t));
      const std::string key = t.substr(0, eq);
      if (!allowed.count(key)) fail(i, fmt::format("unknown option '{}'", key));
      if (out.count(key)) fail(i, fmt::format("option '{}' given twice", key));
      out[key] = {t.substr(eq + 1), i};
    }
    return out;
  }

  ProcessStep parse_process() {
    ProcessStep p{new_proc(1)};
    expect_count_at_most(2);
    return p;
  }

  MmapStep parse_mmap() {
    MmapStep m;
    m.proc = live_proc(1);
    m.region = tok(2, "region name");
    if (!valid_name(m.region)) fail(2, fmt::format("bad region name '{}' (letters, digits, _)", m.region));
    if (regions_.count(m.region)) fail(2, fmt::format("region '{}' is already defined", m.region));
    m.pages = number(3, "page count");
    if (m.pages == 0 || m.pages > (1ull << 35)) fail(3, "page count must be between 1 and 2^35");
    m.prot = mm::kProtRead | mm::kProtWrite;
    for (auto& [key, v] : options(4, {"prot", "at"})) {
      if (key == "prot") {
        const std::string& s = v.first;
        if (s == "none") m.prot = mm::kProtNone;
        else if (s == "r") m.prot = mm::kProtRead;
        else if (s == "rw") m.prot = mm::kProtRead | mm::kProtWrite;
        else if (s == "rx") m.prot = mm::kProtRead | mm::kProtExec;
        else if (s == "rwx") m.prot = mm::kProtRead | mm::kProtWrite | mm::kProtExec;
        else fail(v.second, fmt::format("bad prot '{}' (none, r, rw, rx or rwx)", s));
      } else {
        m.at = parse_number(v.first, v.second, "at");
        if (*m.at % kPageSize) fail(v.second, "at= must be page-aligned");
      }
    }
    regions_.insert(m.region);
    return m;
  }

  AccessStep parse_access(bool is_write) {
    AccessStep a;
    a.is_write = is_write;
    a.proc = live_proc(1);
    a.addr = addr(2);
    std::size_t next = 3;
    if (is_write) a.value = number(next++, "value");
    if (next < tokens_.size() && tokens_[next].text == "expect") {
      const std::string& e = tok(next + 1, "expected value or signal");
      if (e == "SIGSEGV" || e == "SIGBUS" || e == "OOM-kill") {
        a.expect = AccessExpect::kSignal;
        a.signal = e;
        dead_[a.proc] = fmt::format("killed by the expected {} at line {}", e, line_);
      } else if (is_write) {
        fail(next + 1, "a write can only expect a signal (SIGSEGV, SIGBUS or OOM-kill)");
      } else {
        a.expect = AccessExpect::kValue;
        a.expected = number(next + 1, "expected value");
      }
      next += 2;
    }
    for (auto& [key, v] : options(next, {"size"})) {
      const std::uint64_t size = parse_number(v.first, v.second, "size");
      if (size != 1 && size != 2 && size != 4 && size != 8) fail(v.second, "size must be 1, 2, 4 or 8");
      a.size = static_cast<unsigned>(size);
    }
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

  ForkStep parse_fork() {
    ForkStep f;
    f.parent = live_proc(1);
    f.child = new_proc(2);
    expect_count_at_most(3);
    return f;
  }

  ExitStep parse_exit() {
    ExitStep e{live_proc(1)};
    expect_count_at_most(2);
    dead_[e.proc] = fmt::format("exited at line {}", line_);
    return e;
  }

  ExpectStep parse_expect() {
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
  std::set<std::string>& procs_;
  std::map<std::string, std::string>& dead_;
  std::set<std::string>& regions_;
};

}  // namespace

Scenario parse_scenario(const std::string& text, const std::string& file_name) {
  Scenario scenario;
  scenario.name = file_name;
  std::set<std::string> procs;
  std::map<std::string, std::string> dead;
  std::set<std::string> regions;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    auto tokens = tokenize(line);
    if (tokens.empty()) continue;
    std::string source = trim(line.substr(0, line.find('#')));
    Step step = LineParser(file_name, number, std::move(tokens), procs, dead, regions).parse();
    step.text = std::move(source);
    scenario.steps.push_back(std::move(step));
  }
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
