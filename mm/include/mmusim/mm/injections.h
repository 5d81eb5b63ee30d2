// Fault injection: switches that each remove one rule of mm-semantics.md, so that a test (or a
// user of the testbench) can watch an oracle catch what the rule prevents (architecture.md §3).
//
// Every switch is off by default. Each is named after what it removes; injection_table() lists
// them with the rule they break and the visible effect, and is what testbench/ turns into its
// `--set inject.<name>=1` parameters and their documentation.
#pragma once

#include <vector>

namespace mmusim::mm {

struct Injections {
  bool break_cow = false;                 // I5: do_wp_page reuses possibly-shared pages
  bool skip_cow_flush = false;            // R1: wp_page_copy installs without clear+flush
  bool early_cow_unmap = false;           // R2: old mapcount/ref dropped before the flush
  bool skip_fork_flush = false;           // R3: no whole-mm flush at the end of fork
  bool skip_swapout_flush = false;        // R4/R10: exclusive swap-out flush after writeback
  bool skip_reclaim_batch_flush = false;  // R9: reclaim's batched flush never completed
  bool plain_pte_clear = false;           // HW3: entry clears are plain stores (store_pte)
  bool skip_mprotect_flush = false;       // R5: mprotect returns without its range flush
  bool free_before_flush = false;         // R6: zap frees pages before the TLB flush
  bool skip_pgtable_flush = false;        // R11: page tables freed without a PWC-dropping flush
  bool skip_nested_flush = false;         // R6: parallel zaps do not force a whole-mm flush
  bool skip_fork_seqcount = false;        // R13: fork leaves write_protect_seq alone
  bool skip_fork_seq_fence = false;       // R13/§4.4 (b): no fence after fork's seq increment
  bool skip_unshare = false;              // I2: R/O pins never unshare (pre-series GUP, B07)
  bool no_eager_fork_copy = false;        // I3/I5: fork shares maybe-pinned exclusive pages
};

// One row of injection_table().
struct InjectionInfo {
  const char* name;    // the field's name, e.g. "skip_cow_flush"
  const char* rule;    // the rule or invariant it breaks, e.g. "R1"
  const char* effect;  // what the model does differently, and what goes wrong
  bool Injections::*field;
};

// Every Injections field, in declaration order.
const std::vector<InjectionInfo>& injection_table();

}  // namespace mmusim::mm
